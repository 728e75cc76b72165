--[[----------------------------------------------------------------------------
Info.lua
emotag for Lightroom Classic: reads the expressions on faces and adds them as keywords under "Emotion".
------------------------------------------------------------------------------]]

return {
  LrSdkVersion = 10.0,
  LrSdkMinimumVersion = 6.0,
  LrToolkitIdentifier = "org.emotag.lightroom",
  LrPluginName = "emotag",
  LrPluginInfoUrl = "https://github.com/emotag/emotag/blob/main/integrations/README.md",
  LrPluginInfoProvider = "PluginInfoProvider.lua",

  LrLibraryMenuItems = {
    {
      title = "Tag emotions of selected photos",
      file = "TagSelected.lua",
      enabledWhen = "photosSelected",
    },
    {
      title = "Tag emotions of selected photos (dry run)",
      file = "TagSelectedDryRun.lua",
      enabledWhen = "photosSelected",
    },
    {
      title = "Select the top N by emotion...",
      file = "SelectTop.lua",
      enabledWhen = "anythingSelected",
    },
  },

  VERSION = { major = 0, minor = 1, revision = 0 },
}
