--[[----------------------------------------------------------------------------
PluginInfoProvider.lua
File > Plug-in Manager > emotag: where emotag is, and the confidence a face needs for a keyword.
------------------------------------------------------------------------------]]

local LrPrefs = import "LrPrefs"
local LrView = import "LrView"

local function sectionsForTopOfDialog(f, _)
  local prefs = LrPrefs.prefsForPlugin()
  if prefs.minConfidence == nil then prefs.minConfidence = 0 end
  return {
    {
      title = "emotag",
      bind_to_object = prefs,
      f:row {
        f:static_text { title = "emotag command:", width = LrView.share("label") },
        f:edit_field {
          value = LrView.bind("emotagPath"),
          width_in_chars = 40,
          tooltip = "Full path of the emotag program; empty to find it on the PATH",
        },
      },
      f:row {
        f:static_text { title = "Minimum confidence:", width = LrView.share("label") },
        f:slider { value = LrView.bind("minConfidence"), min = 0, max = 1, integral = false },
        f:edit_field { value = LrView.bind("minConfidence"), min = 0, max = 1, precision = 2, width_in_digits = 4 },
      },
      f:static_text {
        title = "A face gets an emotion keyword when emotag reads it with at least this confidence (0: each emotion's own).",
      },
    },
  }
end

return { sectionsForTopOfDialog = sectionsForTopOfDialog }
