--[[ Library > Plug-in Extras > Tag emotions of selected photos (dry run): shows what it would do, writes nothing ]]

local LrTasks = import "LrTasks"
local EmotagLightroom = require "EmotagLightroom"

LrTasks.startAsyncTask(function() EmotagLightroom.tagSelected(true) end)
