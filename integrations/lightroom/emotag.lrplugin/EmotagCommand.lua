--[[----------------------------------------------------------------------------
EmotagCommand.lua
The emotag command lines the plug-in runs, and what their output means for the catalog.
No Lightroom module here: this is the part tested under plain Lua.
------------------------------------------------------------------------------]]

local EmotagJson = require "EmotagJson"

local EmotagCommand = {}

EmotagCommand.EMOTIONS = { "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral" }
EmotagCommand.DEFAULT_ROOT = "Emotion"
EmotagCommand.PATHS_PER_RUN = 100 -- keeps a command line under Windows' 8191 characters for usual paths

-- Lightroom started from the Dock or Start menu has a bare PATH: emotag and ExifTool live in these
local MAC_PATH = "/opt/homebrew/bin:/usr/local/bin:$HOME/.local/bin:$PATH"

-- one shell word holding `text`, whatever characters it has
function EmotagCommand.quote(text, platform)
  if platform == "windows" then
    return '"' .. string.gsub(text, '"', '\\"') .. '"'
  end
  return "'" .. string.gsub(text, "'", "'\\''") .. "'"
end

-- the line for LrTasks.execute: the words, stdout and stderr into files
function EmotagCommand.shellLine(words, output, errors, platform)
  local quoted = {}
  for i, word in ipairs(words) do
    quoted[i] = EmotagCommand.quote(word, platform)
  end
  local line = table.concat(quoted, " ") .. " > " .. EmotagCommand.quote(output, platform) ..
    " 2> " .. EmotagCommand.quote(errors, platform)
  if platform == "windows" then
    return '"' .. line .. '"' -- cmd.exe drops the outer quotes LrTasks.execute's line needs
  end
  if platform == "mac" then
    return 'PATH="' .. MAC_PATH .. '" ' .. line
  end
  return line
end

local function withPaths(words, paths)
  words[#words + 1] = "--"
  for _, path in ipairs(paths) do
    words[#words + 1] = path
  end
  return words
end

-- `emotag tag`: Lightroom's sidecar name for raw files (IMG.xmp); a dry run writes nothing
function EmotagCommand.tagWords(emotag, paths, options)
  local words = { emotag, "tag", "--json", "--sidecar", "lightroom" }
  if options.dryRun then words[#words + 1] = "--dry-run" end
  if options.minConfidence and options.minConfidence > 0 then
    words[#words + 1] = string.format("--min-confidence=%.2f", options.minConfidence)
  end
  return withPaths(words, paths)
end

function EmotagCommand.showWords(emotag, path)
  return withPaths({ emotag, "show", "--json" }, { path })
end

function EmotagCommand.topWords(emotag, emotion, count, paths)
  return withPaths({ emotag, "top", emotion, "-n", tostring(count), "--json" }, paths)
end

function EmotagCommand.configWords(emotag)
  return { emotag, "config" }
end

-- the keyword root in `emotag config`'s output ("Emotion" unless the user changed it)
function EmotagCommand.root(configText)
  for line in string.gmatch(configText or "", "[^\r\n]+") do
    local root = string.match(line, '^root%s*=%s*"(.-)"')
    if root and root ~= "" then return root end
  end
  return EmotagCommand.DEFAULT_ROOT
end

-- emotag's own complaint in its stderr: the last "emotag: ..." (or usage error) line
function EmotagCommand.complaint(errorsText)
  local last
  for line in string.gmatch(errorsText or "", "[^\r\n]+") do
    if string.find(line, "^emotag: ") or string.find(line, "^Error") then
      last = line
    end
  end
  return last
end

-- emotag's answers, one per photo, by path
function EmotagCommand.resultsByPath(outputText)
  local byPath = {}
  for _, result in ipairs((EmotagJson.decodeLines(outputText))) do
    if result.path then byPath[result.path] = result end
  end
  return byPath
end

-- the emotion labels a result gives a photo; nil when emotag has to be asked again (`emotag show`),
-- because an "unchanged" photo's tags are not reliably in `emotag tag`'s answer
function EmotagCommand.labels(result)
  if result.status == "tagged" or result.status == "updated" then return result.tags or {} end
  if result.status == "unchanged" then return nil end
  return {}
end

-- the closed-eyes keyword a result gives a photo, or nil (JSON null comes back as a sentinel, not nil)
function EmotagCommand.eyesTag(result)
  if type(result.eyes_tag) == "string" and result.eyes_tag ~= "" then return result.eyes_tag end
  return nil
end

-- the best `count` {path, score} of several `emotag top` runs, each over part of the photos
function EmotagCommand.best(outputs, count)
  local all = {}
  for _, outputText in ipairs(outputs) do
    for _, item in ipairs((EmotagJson.decodeLines(outputText))) do
      if item.path and item.score then all[#all + 1] = item end
    end
  end
  table.sort(all, function(a, b) return a.score > b.score end)
  local best = {}
  for i = 1, math.min(count, #all) do
    best[i] = all[i]
  end
  return best
end

-- photos in groups small enough for one command line
function EmotagCommand.chunks(items, size)
  local chunks = {}
  for first = 1, #items, size do
    local chunk = {}
    for i = first, math.min(first + size - 1, #items) do
      chunk[#chunk + 1] = items[i]
    end
    chunks[#chunks + 1] = chunk
  end
  return chunks
end

-- what the run did, in a sentence for the user
function EmotagCommand.summary(counts, total, dryRun)
  local verb = dryRun and "would get" or "got"
  return string.format("%d photos: %d %s emotion keywords, %d without (no face, faces too small or below " ..
    "the confidence), %d errors.", total, counts.tagged, verb, total - counts.tagged - counts.error, counts.error)
end

return EmotagCommand
