--[[ Library > Plug-in Extras > Select the top N by emotion ]]

local LrTasks = import "LrTasks"
local EmotagLightroom = require "EmotagLightroom"

LrTasks.startAsyncTask(function() EmotagLightroom.selectTop() end)
