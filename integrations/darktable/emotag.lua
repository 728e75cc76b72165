--[[
    emotag: tag the emotions on the faces in your photos, from darktable
    copyright (c) 2026 the emotag authors

    This script is free software under the MIT licence, like emotag itself.
]]

--[[
    emotag reads the expressions on the faces in photos and writes them as
    keywords (Emotion|Happy, Emotion|Neutral, ...) into the photos' XMP and
    IPTC metadata. This script runs emotag on darktable's images and attaches
    the same tags in darktable's library, so they show at once, without
    re-reading any sidecar.

    ADDITIONAL SOFTWARE NEEDED FOR THIS SCRIPT
    * emotag, with ExifTool: see integrations/README.md in emotag's sources

    USAGE
    * copy this file to ~/.config/darktable/lua/contrib/emotag.lua and add
        require "contrib/emotag"
      to ~/.config/darktable/luarc (or start it from the script manager)
    * select images in the lighttable and press "tag emotions" in the
      selected images module, or give "tag emotions" a key in
      preferences > shortcuts > lua
    * preferences > lua options:
      - emotag: command, when emotag is not on darktable's PATH
      - emotag: minimum confidence for a tag (0.5)
      - emotag: tag images on import (off)

    Images emotag cannot read itself (formats it does not know, raw files
    without a preview) are exported as a small JPEG and read from that; their
    tags then live in darktable's library and sidecar only.

    Other scripts may call the returned table's tag_images(images): it returns
    a count of outcomes ({tagged = n, no_faces = n, ...}).
]]

local dt = require "darktable"

local MODULE = "emotag"
local MIN_API_MAJOR = 7
local PATHS_PER_RUN = 200 -- one emotag process (and one model load) per this many images
local IMPORT_SETTLE_MS = 1500 -- wait for the rest of an import before tagging it in one go
local PREVIEW_SIDE = 1600 -- emotag reads faces at this size anyway

if dt.configuration.api_version_major < MIN_API_MAJOR then
  dt.print_error(MODULE .. ": needs darktable 3.8 or newer (Lua API " .. MIN_API_MAJOR .. ")")
  return
end

local gettext = dt.gettext.gettext

local function _(msgid)
  return gettext(msgid)
end

local script_data = {}

script_data.metadata = {
  name = "emotag",
  purpose = _("tag the emotions on the faces in images"),
  author = "the emotag authors",
  help = "https://github.com/emotag/emotag/blob/main/integrations/README.md",
}

script_data.destroy = nil
script_data.destroy_method = nil
script_data.restart = nil
script_data.show = nil

local windows = dt.configuration.running_os == "windows"
local PS = windows and "\\" or "/"

-- - - - - - - - - - - - - - - - - - - - - - - -
-- P R E F E R E N C E S
-- - - - - - - - - - - - - - - - - - - - - - - -

dt.preferences.register(MODULE, "command", "file",
  _("emotag: command"),
  _("the emotag program; leave empty to find it on the PATH"),
  "")

dt.preferences.register(MODULE, "min_confidence", "float",
  _("emotag: minimum confidence"),
  _("tag an emotion only when a face shows it with at least this confidence (0 to 1); 0: each emotion's own threshold"),
  0.0, 0.0, 1.0, 0.05)

dt.preferences.register(MODULE, "tag_on_import", "bool",
  _("emotag: tag images on import"),
  _("read the faces of newly imported images and attach their Emotion tags"),
  false)

-- - - - - - - - - - - - - - - - - - - - - - - -
-- H E L P E R S
-- - - - - - - - - - - - - - - - - - - - - - - -

-- one argument for the shell, whatever characters the file name holds
local function quote(text)
  if windows then
    return '"' .. text:gsub('"', '\\"') .. '"'
  end
  return "'" .. text:gsub("'", "'\\''") .. "'"
end

local function image_path(image)
  return image.path .. PS .. image.filename
end

local function remove_file(path)
  if path then os.remove(path) end
end

local function read_file(path)
  local file = io.open(path, "r")
  if not file then return "" end
  local text = file:read("a")
  file:close()
  return text
end

-- emotag's own complaint: the last "emotag: ..." line it wrote to stderr
local function complaint(stderr_text)
  local last
  for line in stderr_text:gmatch("[^\r\n]+") do
    if line:find("^emotag: ") or line:find("^Error") or line:find("^Usage") then
      last = line
    end
  end
  return last
end

local json_null = {}

-- a JSON decoder for emotag's output lines (objects, arrays, strings, numbers, literals)
local function decode_json(text)
  local pos = 1

  local function fail(what)
    error(string.format("bad JSON at character %d: %s", pos, what), 0)
  end

  local function skip_space()
    pos = text:find("[^ \t\r\n]", pos) or #text + 1
  end

  local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

  local function read_string()
    local parts = {}
    pos = pos + 1
    while true do
      local stop = text:find('["\\]', pos)
      if not stop then fail("unterminated string") end
      parts[#parts + 1] = text:sub(pos, stop - 1)
      if text:sub(stop, stop) == '"' then
        pos = stop + 1
        return table.concat(parts)
      end
      local kind = text:sub(stop + 1, stop + 1)
      if kind == "u" then
        local code = tonumber(text:sub(stop + 2, stop + 5), 16) or fail("bad \\u escape")
        pos = stop + 6
        local low = text:match("^\\u(%x%x%x%x)", pos)
        if code >= 0xD800 and code <= 0xDBFF and low and tonumber(low, 16) >= 0xDC00 then
          code = 0x10000 + (code - 0xD800) * 0x400 + (tonumber(low, 16) - 0xDC00)
          pos = pos + 6
        end
        parts[#parts + 1] = utf8.char(code)
      else
        parts[#parts + 1] = escapes[kind] or fail("bad escape")
        pos = stop + 2
      end
    end
  end

  local read_value

  local function read_list(close, read_item)
    pos = pos + 1
    skip_space()
    if text:sub(pos, pos) == close then
      pos = pos + 1
      return
    end
    while true do
      read_item()
      skip_space()
      local char = text:sub(pos, pos)
      pos = pos + 1
      if char == close then return end
      if char ~= "," then fail("expected ',' or '" .. close .. "'") end
    end
  end

  local function read_object()
    local object = {}
    read_list("}", function()
      skip_space()
      if text:sub(pos, pos) ~= '"' then fail("expected a key") end
      local key = read_string()
      skip_space()
      if text:sub(pos, pos) ~= ":" then fail("expected ':'") end
      pos = pos + 1
      object[key] = read_value()
    end)
    return object
  end

  local function read_array()
    local array = {}
    read_list("]", function() array[#array + 1] = read_value() end)
    return array
  end

  read_value = function()
    skip_space()
    local char = text:sub(pos, pos)
    if char == "{" then return read_object() end
    if char == "[" then return read_array() end
    if char == '"' then return read_string() end
    local number = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if number and #number > 0 then
      pos = pos + #number
      return tonumber(number) or fail("bad number")
    end
    for word, value in pairs({ ["true"] = true, ["false"] = false, ["null"] = json_null }) do
      if text:sub(pos, pos + #word - 1) == word then
        pos = pos + #word
        if value == json_null then return nil end
        return value
      end
    end
    fail("unexpected '" .. char .. "'")
  end

  local value = read_value()
  skip_space()
  if pos <= #text then fail("trailing characters") end
  return value
end

-- a program's output lines, and whether it exited with 0
local function run_command(command)
  local pipe = io.popen(command, "r")
  if not pipe then return {}, false end
  local lines = {}
  for line in pipe:lines() do
    lines[#lines + 1] = line
  end
  local ok = pipe:close()
  return lines, ok == true
end

local function file_exists(path)
  local file = path ~= "" and io.open(path, "r")
  if not file then return false end
  file:close()
  return true
end

-- the emotag program: the preference, else the PATH, else pipx's usual place
local function find_emotag()
  local configured = dt.preferences.read(MODULE, "command", "file")
  if configured and configured ~= "" then
    return file_exists(configured) and configured or nil
  end
  local lookup = windows and "where emotag 2>NUL" or "command -v emotag 2>/dev/null"
  local found = run_command(lookup)[1]
  if found and found ~= "" then return found end
  local home = os.getenv("HOME")
  if home and file_exists(home .. "/.local/bin/emotag") then
    return home .. "/.local/bin/emotag"
  end
  return nil
end

local function say_not_installed()
  local message = _("emotag is not installed or not found: install it (pipx install emotag, " ..
    "see emotag's integrations/README.md), then set preferences > lua options > emotag: command")
  dt.print(message)
  dt.print_error(message)
end

-- the keyword root emotag is configured with ("Emotion" unless the user changed it)
local function tag_root(emotag)
  local lines = run_command(quote(emotag) .. " config 2>" .. (windows and "NUL" or "/dev/null"))
  for i, line in ipairs(lines) do
    local root = line:match('^root%s*=%s*"(.-)"')
    if root and root ~= "" then return root end
  end
  return "Emotion"
end

-- - - - - - - - - - - - - - - - - - - - - - - -
-- R U N N I N G   E M O T A G
-- - - - - - - - - - - - - - - - - - - - - - - -

-- emotag's answer for each photo, by path; or nil and what went wrong
local function run_emotag(emotag, subcommand, options, paths)
  local stderr_file = os.tmpname()
  local words = { quote(emotag), subcommand, "--json" }
  for i, option in ipairs(options) do words[#words + 1] = option end
  words[#words + 1] = "--"
  for i, path in ipairs(paths) do words[#words + 1] = quote(path) end
  local command = table.concat(words, " ") .. " 2>" .. quote(stderr_file)
  dt.print_log(MODULE .. ": " .. command)

  local lines, ok = run_command(command)
  local stderr_text = read_file(stderr_file)
  remove_file(stderr_file)

  local results = {}
  for i, line in ipairs(lines) do
    local parsed, result = pcall(decode_json, line)
    if parsed and type(result) == "table" and result.path then
      results[result.path] = result
    end
  end
  if not ok and next(results) == nil then
    return nil, complaint(stderr_text) or _("emotag failed, see darktable's log (darktable -d lua)")
  end
  return results
end

local function confidence_option()
  local confidence = dt.preferences.read(MODULE, "min_confidence", "float")
  if confidence <= 0 then return nil end  -- emotag's own threshold for each emotion
  return string.format("--min-confidence=%.2f", confidence)
end

-- the tags of a photo emotag had already done: `emotag show` reads them back from the file
local function tags_already_written(emotag, path)
  local shown = run_emotag(emotag, "show", {}, { path })
  local result = shown and shown[path]
  if not result or result.error then return {}, nil end
  return result.tags or {}, result.eyes_tag
end

-- a small JPEG of what darktable sees, for images emotag cannot read itself
local function export_preview(image)
  local file = os.tmpname() .. ".jpg"
  local format = dt.new_format("jpeg")
  format.max_width = PREVIEW_SIDE
  format.max_height = PREVIEW_SIDE
  format.quality = 90
  format:write_image(image, file)
  if file_exists(file) then return file end
  return nil
end

local function read_preview(emotag, image)
  local preview = export_preview(image)
  if not preview then return nil end
  local results = run_emotag(emotag, "tag", { "--dry-run", confidence_option() }, { preview })
  local result = results and results[preview]
  remove_file(preview)
  if result then result.path = image_path(image) end
  return result
end

local function attach_emotions(image, root, labels)
  if #labels == 0 then return end
  dt.tags.attach(dt.tags.create(root), image)
  for i, label in ipairs(labels) do
    dt.tags.attach(dt.tags.create(root .. "|" .. label), image)
  end
end

-- - - - - - - - - - - - - - - - - - - - - - - -
-- T A G G I N G
-- - - - - - - - - - - - - - - - - - - - - - - -

local function tag_chunk(emotag, root, images, counts)
  local paths, present = {}, {}
  for i, image in ipairs(images) do
    paths[i] = image_path(image)
    -- a missing file (an offline drive) is a usage error for emotag: leave it out, read its preview below
    if file_exists(paths[i]) then present[#present + 1] = paths[i] end
  end
  local results, failure = {}, nil
  if #present > 0 then results, failure = run_emotag(emotag, "tag", { confidence_option() }, present) end
  if not results then
    counts.error = counts.error + #images
    counts.problems[#counts.problems + 1] = failure
    return
  end
  for i, image in ipairs(images) do
    local result = results[paths[i]]
    if not result or result.status == "error" then
      local problem = result and result.error
        or (file_exists(paths[i]) and _("no answer from emotag") or _("the file is missing (offline?)"))
      result = read_preview(emotag, image)
      if not result or result.status == "error" then
        result = { status = "error" }
        counts.problems[#counts.problems + 1] = image.filename .. ": " .. problem
      end
    end
    local labels, eyes_tag = result.tags or {}, result.eyes_tag
    if result.status == "unchanged" then
      labels, eyes_tag = tags_already_written(emotag, paths[i])
    end
    attach_emotions(image, root, labels)
    -- the closed-eyes keyword is a tag of its own (darktable's "|" makes its levels), not under the root
    if type(eyes_tag) == "string" and eyes_tag ~= "" then
      dt.tags.attach(dt.tags.create(eyes_tag), image)
    end
    local status = result.status
    if status == "tagged" or status == "unchanged" or status == "updated" then
      status = #labels > 0 and "tagged" or "below_confidence"
    end
    counts[status] = (counts[status] or 0) + 1
  end
end

local function report(counts, total)
  local message = string.format(_("emotag: %d images: %d tagged, %d without emotion tags, %d errors"),
    total, counts.tagged, total - counts.tagged - counts.error, counts.error)
  dt.print(message)
  for i, problem in ipairs(counts.problems) do
    dt.print_error(MODULE .. ": " .. problem)
  end
  if #counts.problems > 0 then
    dt.print(MODULE .. ": " .. counts.problems[1])
  end
end

-- run emotag on the images and attach their Emotion tags; returns the count of each outcome
local function tag_images(images)
  local counts = { tagged = 0, error = 0, problems = {} }
  if not images or #images == 0 then
    dt.print(_("emotag: select the images to tag first"))
    return counts
  end
  local emotag = find_emotag()
  if not emotag then
    say_not_installed()
    counts.error = #images
    return counts
  end
  local root = tag_root(emotag)
  local job = dt.gui.create_job(_("tagging emotions"), true)
  for first = 1, #images, PATHS_PER_RUN do
    tag_chunk(emotag, root, { table.unpack(images, first, math.min(first + PATHS_PER_RUN - 1, #images)) }, counts)
    job.percent = math.min(first + PATHS_PER_RUN - 1, #images) / #images
  end
  job.valid = false
  report(counts, #images)
  return counts
end

-- - - - - - - - - - - - - - - - - - - - - - - -
-- T A G   O N   I M P O R T
-- - - - - - - - - - - - - - - - - - - - - - - -

local imported = {}
local waiting_for_import = false

-- images arrive one event each: gather an import's images, then tag them with one emotag run
local function on_import(event, image)
  if not dt.preferences.read(MODULE, "tag_on_import", "bool") then return end
  imported[#imported + 1] = image
  if waiting_for_import then return end
  waiting_for_import = true
  dt.control.sleep(IMPORT_SETTLE_MS)
  local batch = imported
  imported = {}
  waiting_for_import = false
  tag_images(batch)
end

-- - - - - - - - - - - - - - - - - - - - - - - -
-- D A R K T A B L E   I N T E G R A T I O N
-- - - - - - - - - - - - - - - - - - - - - - - -

local function register()
  dt.gui.libs.image.register_action(MODULE, _("tag emotions"),
    function(event, images) tag_images(images) end,
    _("read the expressions on the faces in the selected images and attach Emotion tags"))
  dt.register_event(MODULE, "shortcut",
    function(event, shortcut) tag_images(dt.gui.action_images) end,
    _("tag emotions"))
  dt.register_event(MODULE, "post-import-image", on_import)
end

local function destroy()
  dt.gui.libs.image.destroy_action(MODULE)
  dt.destroy_event(MODULE, "shortcut")
  dt.destroy_event(MODULE, "post-import-image")
end

register()
if not find_emotag() then
  dt.print_log(MODULE .. ": emotag not found; set preferences > lua options > emotag: command")
end

script_data.destroy = destroy
script_data.restart = register
script_data.tag_images = tag_images
script_data.decode_json = decode_json

return script_data
