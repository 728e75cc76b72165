--[[ Library > Plug-in Extras > Tag emotions of selected photos ]]

local LrTasks = import "LrTasks"
local EmotagLightroom = require "EmotagLightroom"

LrTasks.startAsyncTask(function() EmotagLightroom.tagSelected(false) end)
