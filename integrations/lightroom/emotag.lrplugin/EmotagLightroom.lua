--[[----------------------------------------------------------------------------
EmotagLightroom.lua
The menu commands: run emotag on the target photos through LrTasks.execute, then add its keywords under the
Emotion parent in the catalog, or select the photos that show an emotion most.
------------------------------------------------------------------------------]]

local LrApplication = import "LrApplication"
local LrBinding = import "LrBinding"
local LrDialogs = import "LrDialogs"
local LrFileUtils = import "LrFileUtils"
local LrFunctionContext = import "LrFunctionContext"
local LrPathUtils = import "LrPathUtils"
local LrPrefs = import "LrPrefs"
local LrProgressScope = import "LrProgressScope"
local LrTasks = import "LrTasks"
local LrView = import "LrView"

local EmotagCommand = require "EmotagCommand"

local EmotagLightroom = {}

local INSTALL_HELP = "Install emotag (pipx install emotag, or see integrations/README.md in emotag's sources), " ..
  "then give its full path in File > Plug-in Manager > emotag."
local FILES_CHANGED_HELP = "emotag also wrote the keywords into the files (raw files: into their .xmp sidecar). " ..
  "Lightroom may mark those files as changed on disk; their keywords are already in the catalog. For photos you " ..
  "tag with emotag outside Lightroom, select them and choose Metadata > Read Metadata from Files."

local function platform()
  if WIN_ENV then return "windows" end
  if MAC_ENV then return "mac" end
  return "posix"
end

local function settings()
  local prefs = LrPrefs.prefsForPlugin()
  local emotag = prefs.emotagPath
  if emotag == nil or emotag == "" then emotag = "emotag" end
  return emotag, tonumber(prefs.minConfidence) or 0
end

-- run emotag; returns its stdout, whether it exited with 0, and its complaint if it made one
local function run(words)
  local temp = LrPathUtils.getStandardFilePath("temp")
  local output = LrFileUtils.chooseUniqueFileName(LrPathUtils.child(temp, "emotag-output.jsonl"))
  local errors = LrFileUtils.chooseUniqueFileName(LrPathUtils.child(temp, "emotag-errors.txt"))
  local status = LrTasks.execute(EmotagCommand.shellLine(words, output, errors, platform()))
  local outputText = LrFileUtils.exists(output) and LrFileUtils.readFile(output) or ""
  local errorsText = LrFileUtils.exists(errors) and LrFileUtils.readFile(errors) or ""
  LrFileUtils.delete(output)
  LrFileUtils.delete(errors)
  return outputText, status == 0, EmotagCommand.complaint(errorsText)
end

-- emotag's keyword root, or nil (and the user told how to install emotag) when emotag does not run
local function checkInstalled(emotag)
  local configText, ok = run(EmotagCommand.configWords(emotag))
  if not ok then
    LrDialogs.message("emotag is not installed or not found", INSTALL_HELP, "critical")
    return nil
  end
  return EmotagCommand.root(configText)
end

local function targetPhotos(catalog)
  local photos = catalog:getTargetPhotos()
  if #photos == 0 then
    LrDialogs.message("emotag", "Select the photos to tag first.", "info")
  end
  return photos
end

-- emotag's labels for one photo and its closed-eyes keyword (nil when none), asking `emotag show` for photos
-- it had already tagged
local function labelsOf(emotag, path, result)
  local labels = EmotagCommand.labels(result)
  if labels then return labels, EmotagCommand.eyesTag(result) end
  local shown = EmotagCommand.resultsByPath((run(EmotagCommand.showWords(emotag, path))))[path]
  if not shown or shown.error then return {}, nil end
  return shown.tags or {}, EmotagCommand.eyesTag(shown)
end

-- the closed-eyes keyword ("Eyes closed", or levels joined by "|"): a keyword of its own, not under the root
local function eyesKeyword(catalog, eyesTag, made)
  if not made[eyesTag] then
    local parent = nil
    for level in string.gmatch(eyesTag, "[^|]+") do
      parent = catalog:createKeyword(level, {}, true, parent, true)
    end
    made[eyesTag] = parent
  end
  return made[eyesTag]
end

local function addKeywords(catalog, root, plan)
  catalog:withWriteAccessDo("Add emotion keywords", function()
    local parent = catalog:createKeyword(root, {}, true, nil, true)
    local keywords, eyes = {}, {}
    for _, item in ipairs(plan) do
      for _, label in ipairs(item.labels) do
        keywords[label] = keywords[label] or catalog:createKeyword(label, {}, true, parent, true)
        item.photo:addKeyword(keywords[label])
      end
      if item.eyesTag then item.photo:addKeyword(eyesKeyword(catalog, item.eyesTag, eyes)) end
    end
  end, { timeout = 30 })
end

-- what emotag makes of each photo: the plan of keywords, the counts, and the problems met
local function readPhotos(emotag, photos, dryRun, minConfidence, progress)
  local plan, counts, problems = {}, { tagged = 0, error = 0 }, {}
  local chunks = EmotagCommand.chunks(photos, EmotagCommand.PATHS_PER_RUN)
  for number, chunk in ipairs(chunks) do
    if progress:isCanceled() then break end
    local paths, present = {}, {}
    for i, photo in ipairs(chunk) do
      paths[i] = photo:getRawMetadata("path")
      -- a missing file (an offline drive) is a usage error for emotag: leave it out of the run
      if LrFileUtils.exists(paths[i]) then present[#present + 1] = paths[i] end
    end
    local results, complaint = {}, nil
    if #present > 0 then
      local outputText, _, said = run(EmotagCommand.tagWords(emotag, present,
        { dryRun = dryRun, minConfidence = minConfidence }))
      results, complaint = EmotagCommand.resultsByPath(outputText), said
    end
    for i, photo in ipairs(chunk) do
      local result = results[paths[i]]
      if not result or result.status == "error" then
        counts.error = counts.error + 1
        local missing = not LrFileUtils.exists(paths[i]) and "the file is missing (offline?)"
        problems[#problems + 1] = paths[i] .. ": " .. ((result and result.error) or missing or complaint or "no answer")
      else
        local labels, eyesTag = labelsOf(emotag, paths[i], result)
        if #labels > 0 or eyesTag then
          counts.tagged = counts.tagged + 1
          plan[#plan + 1] = { photo = photo, path = paths[i], labels = labels, eyesTag = eyesTag }
        end
      end
    end
    progress:setPortionComplete(number, #chunks)
  end
  return plan, counts, problems
end

local function report(plan, counts, problems, total, dryRun, root)
  local lines = { EmotagCommand.summary(counts, total, dryRun) }
  if dryRun then
    for i, item in ipairs(plan) do
      if i > 20 then
        lines[#lines + 1] = string.format("... and %d more", #plan - 20)
        break
      end
      local eyes = item.eyesTag and ("; " .. item.eyesTag) or ""
      lines[#lines + 1] = LrPathUtils.leafName(item.path) .. ": " .. root .. " > " .. table.concat(item.labels, ", ")
        .. eyes
    end
    lines[#lines + 1] = "Dry run: nothing was written, to the files or to the catalog."
  elseif counts.tagged > 0 then
    lines[#lines + 1] = FILES_CHANGED_HELP
  end
  for i = 1, math.min(#problems, 5) do
    lines[#lines + 1] = problems[i]
  end
  local kind = (#problems > 0) and "warning" or "info"
  LrDialogs.message(dryRun and "emotag (dry run)" or "emotag", table.concat(lines, "\n"), kind)
end

-- Library > Plug-in Extras > Tag emotions of selected photos (dryRun: only show what it would do)
function EmotagLightroom.tagSelected(dryRun)
  LrFunctionContext.callWithContext("emotag", function(context)
    local catalog = LrApplication.activeCatalog()
    local photos = targetPhotos(catalog)
    if #photos == 0 then return end
    local emotag, minConfidence = settings()
    local root = checkInstalled(emotag)
    if not root then return end
    local progress = LrProgressScope { title = "Reading the expressions on faces", functionContext = context }
    local plan, counts, problems = readPhotos(emotag, photos, dryRun, minConfidence, progress)
    if not dryRun and #plan > 0 then addKeywords(catalog, root, plan) end
    progress:done()
    report(plan, counts, problems, #photos, dryRun, root)
  end)
end

-- which emotion and how many: nil when the user cancels
local function askEmotionAndCount(context)
  local f = LrView.osFactory()
  local choice = LrBinding.makePropertyTable(context)
  choice.emotion = "happy"
  choice.count = 10
  local items = {}
  for i, emotion in ipairs(EmotagCommand.EMOTIONS) do
    items[i] = { title = emotion, value = emotion }
  end
  local contents = f:column {
    bind_to_object = choice,
    spacing = f:control_spacing(),
    f:row { f:static_text { title = "Emotion:" }, f:popup_menu { value = LrView.bind("emotion"), items = items } },
    f:row {
      f:static_text { title = "How many photos:" },
      f:edit_field { value = LrView.bind("count"), min = 1, max = 10000, precision = 0, width_in_digits = 6 },
    },
  }
  local answer = LrDialogs.presentModalDialog { title = "Select the top N by emotion", contents = contents }
  if answer ~= "ok" then return nil end
  return choice.emotion, math.max(1, math.floor(tonumber(choice.count) or 10))
end

-- Library > Plug-in Extras > Select the top N by emotion, among the selected photos (or all shown)
function EmotagLightroom.selectTop()
  LrFunctionContext.callWithContext("emotag", function(context)
    local catalog = LrApplication.activeCatalog()
    local photos = catalog:getMultipleSelectedOrAllPhotos()
    local emotag = settings()
    if not checkInstalled(emotag) then return end
    local emotion, count = askEmotionAndCount(context)
    if not emotion then return end
    local byPath, outputs, complaint = {}, {}, nil
    for _, chunk in ipairs(EmotagCommand.chunks(photos, EmotagCommand.PATHS_PER_RUN)) do
      local paths = {}
      for i, photo in ipairs(chunk) do
        paths[i] = photo:getRawMetadata("path")
        byPath[paths[i]] = photo
      end
      local outputText, _, said = run(EmotagCommand.topWords(emotag, emotion, count, paths))
      outputs[#outputs + 1] = outputText
      complaint = complaint or said
    end
    local best = EmotagCommand.best(outputs, count)
    local selected = {}
    for _, item in ipairs(best) do
      selected[#selected + 1] = byPath[item.path]
    end
    if #selected == 0 then
      LrDialogs.message("emotag", "No photo among these shows a face emotag can read." ..
        (complaint and ("\n" .. complaint) or ""), "info")
      return
    end
    catalog:setSelectedPhotos(selected[1], selected)
    LrDialogs.showBezel(string.format("Selected the %d most %s photos", #selected, emotion))
  end)
end

return EmotagLightroom
