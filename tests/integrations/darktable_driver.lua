--[[
    Runs one test's steps inside a real darktable (started with --luacmd) and writes what happened, one
    tab-separated line per fact, to $EMOTAG_DT_REPORT. Then it ends darktable, whatever happened.

    The steps ($EMOTAG_DT_STEPS) are a Lua chunk called with a table of helpers:
      t.dt             darktable's Lua API
      t.photos         the paths in $EMOTAG_DT_PHOTOS (one per line)
      t.import(paths)  imports each file, returns the images
      t.emit(...)      writes one line to the report
      t.emit_tags(images)  writes "tag <file name> <tag>" for each tag but darktable's own
      t.load_script()  loads integrations/darktable/emotag.lua ($EMOTAG_DT_SCRIPT) and returns its table
    Messages the script shows the user (dt.print, dt.print_error) are reported as "print" and "print_error".
]]

local dt = require "darktable"

local report = assert(io.open(os.getenv("EMOTAG_DT_REPORT"), "w"))

local function emit(...)
  local words = {}
  for i = 1, select("#", ...) do
    words[i] = tostring(select(i, ...)):gsub("[\t\n]", " ")
  end
  report:write(table.concat(words, "\t"), "\n")
  report:flush()
end

dt.print = function(message) emit("print", message) end
dt.print_error = function(message) emit("print_error", message) end

local function lines(text)
  local found = {}
  for line in (text or ""):gmatch("[^\n]+") do found[#found + 1] = line end
  return found
end

local t = { dt = dt, emit = emit, photos = lines(os.getenv("EMOTAG_DT_PHOTOS")) }

function t.import(paths)
  local images = {}
  for _, path in ipairs(paths) do
    images[#images + 1] = assert(dt.database.import(path), "darktable did not import " .. path)
  end
  return images
end

function t.emit_tags(images)
  for _, image in ipairs(images) do
    for _, tag in ipairs(dt.tags.get_tags(image)) do
      if not tag.name:find("^darktable|") then emit("tag", image.filename, tag.name) end
    end
  end
end

function t.load_script()
  return dofile(os.getenv("EMOTAG_DT_SCRIPT"))
end

local ok, failure = xpcall(function()
  local steps = assert(loadfile(os.getenv("EMOTAG_DT_STEPS")))
  steps(t)
end, debug.traceback)
emit(ok and "done" or "failure", ok and "" or failure)
report:close()
os.exit(ok and 0 or 1)
