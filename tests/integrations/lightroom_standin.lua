--[[
    A stand-in for Lightroom Classic, enough to run emotag.lrplugin's menu commands under plain Lua 5.1 (the
    Lua Lightroom embeds). LrTasks.execute really runs its command line, so the real emotag tags real files;
    the catalog, dialogs and preferences are small tables that record what the plug-in does with them.

    Run as `lua5.1 lightroom_standin.lua`, with:
      EMOTAG_LR_PLUGIN  the emotag.lrplugin folder
      EMOTAG_LR_STEPS   a Lua chunk called with the helpers below
      EMOTAG_LR_PHOTOS  the catalog's photos, one path a line
      EMOTAG_LR_TEMP    Lightroom's temporary folder
      EMOTAG_LR_REPORT  where the report goes: one tab-separated line per fact
    Helpers (t): t.photos, t.prefs, t.answers (the values a modal dialog returns), t.select(paths),
      t.menu(file) runs a menu item's script, t.emit(...), t.emit_keywords(), t.emit_selection()
]]

local plugin = assert(os.getenv("EMOTAG_LR_PLUGIN"), "EMOTAG_LR_PLUGIN is not set")
local report = assert(io.open(assert(os.getenv("EMOTAG_LR_REPORT")), "w"))

local function emit(...)
  local words = {}
  for i = 1, select("#", ...) do
    words[i] = string.gsub(tostring(select(i, ...)), "[\t\n]", " ")
  end
  report:write(table.concat(words, "\t"), "\n")
  report:flush()
end

local function leafName(path)
  return string.match(path, "[^/\\]+$") or path
end

local function fileExists(path)
  local file = io.open(path, "r")
  if file then file:close() end
  return file ~= nil
end

-- - - - the catalog - - -

local catalog = { photos = {}, selected = {}, writing = false, keywords = {} }

local function newPhoto(path)
  local photo = { path = path, keywords = {} }
  function photo:getRawMetadata(key)
    assert(key == "path", "stand-in knows only the path, not " .. tostring(key))
    return self.path
  end
  function photo:addKeyword(keyword)
    assert(catalog.writing, "photo:addKeyword outside catalog:withWriteAccessDo")
    self.keywords[#self.keywords + 1] = keyword
  end
  return photo
end

function catalog:getTargetPhotos()
  return #self.selected > 0 and self.selected or {}
end

function catalog:getMultipleSelectedOrAllPhotos()
  return #self.selected > 1 and self.selected or self.photos
end

function catalog:withWriteAccessDo(name, func, timeoutParams)
  assert(type(name) == "string" and type(func) == "function", "withWriteAccessDo(name, func)")
  assert(not self.writing, "nested withWriteAccessDo")
  self.writing = true
  local ok, failure = pcall(func, {})
  self.writing = false
  if not ok then error(failure, 0) end
  emit("write_access", name)
  return "executed"
end

function catalog:createKeyword(name, synonyms, includeOnExport, parent, returnExisting)
  assert(self.writing, "catalog:createKeyword outside catalog:withWriteAccessDo")
  assert(type(synonyms) == "table", "synonyms must be a table")
  local path = parent and (parent.path .. "|" .. name) or name
  if self.keywords[path] then
    return returnExisting and self.keywords[path] or false
  end
  local keyword = { name = name, path = path, parent = parent }
  self.keywords[path] = keyword
  return keyword
end

function catalog:setSelectedPhotos(activePhoto, others)
  assert(activePhoto, "setSelectedPhotos needs an active photo")
  self.selected = others
  emit("active", leafName(activePhoto.path))
end

-- - - - the Lr modules - - -

local lastPropertyTable
local t = { photos = {}, prefs = {}, answers = {} }

local Lr = {}

Lr.LrApplication = { activeCatalog = function() return catalog end }
Lr.LrBinding = {
  makePropertyTable = function(context)
    lastPropertyTable = {}
    return lastPropertyTable
  end,
}
Lr.LrDialogs = {
  message = function(title, text, kind) emit("message", title, text or "", kind or "info") end,
  showBezel = function(text) emit("bezel", text) end,
  presentModalDialog = function(args)
    assert(args.title and args.contents, "presentModalDialog needs a title and contents")
    for key, value in pairs(t.answers) do lastPropertyTable[key] = value end
    return t.answers.button or "ok"
  end,
}
Lr.LrFileUtils = {
  exists = function(path) return fileExists(path) and "file" or false end,
  readFile = function(path)
    local file = assert(io.open(path, "rb"))
    local text = file:read("*a")
    file:close()
    return text
  end,
  delete = function(path) return os.remove(path) ~= nil end,
  chooseUniqueFileName = function(path)
    local stem, extension = string.match(path, "^(.-)(%.[^./]*)$")
    local candidate, n = path, 0
    while fileExists(candidate) do
      n = n + 1
      candidate = (stem or path) .. "-" .. n .. (extension or "")
    end
    return candidate
  end,
}
Lr.LrFunctionContext = {
  callWithContext = function(name, func, ...)
    return func({ addCleanupHandler = function() end, addFailureHandler = function() end }, ...)
  end,
}
Lr.LrPathUtils = {
  getStandardFilePath = function(kind)
    assert(kind == "temp", "stand-in knows only the temp folder")
    return assert(os.getenv("EMOTAG_LR_TEMP"))
  end,
  child = function(folder, name) return folder .. "/" .. name end,
  leafName = leafName,
}
Lr.LrPrefs = { prefsForPlugin = function() return t.prefs end }
Lr.LrProgressScope = setmetatable({}, {
  __call = function(_, args)
    assert(args.title, "LrProgressScope needs a title")
    return {
      setPortionComplete = function(self, done, total) emit("progress", done, total) end,
      setCaption = function() end,
      isCanceled = function() return false end,
      done = function() end,
    }
  end,
})
Lr.LrTasks = {
  startAsyncTask = function(func) func() end,
  execute = function(line)
    emit("execute", line)
    return os.execute(line)
  end,
}
Lr.LrView = {
  osFactory = function()
    return setmetatable({ control_spacing = function() return 8 end },
      { __index = function(_, kind) return function(_, args) args.kind = kind; return args end end })
  end,
  bind = function(key) return { bind = key } end,
  share = function(key) return { share = key } end,
}

function import(name) -- luacheck: ignore (Lightroom's global)
  return Lr[name] or error("the stand-in has no " .. name)
end

function LOC(text) -- luacheck: ignore (Lightroom's global)
  return string.match(text, "=(.*)$") or text
end

WIN_ENV, MAC_ENV = false, false
package.path = plugin .. "/?.lua;" .. package.path

-- - - - helpers for the steps - - -

for path in string.gmatch(os.getenv("EMOTAG_LR_PHOTOS") or "", "[^\n]+") do
  t.photos[#t.photos + 1] = newPhoto(path)
end
catalog.photos = t.photos

function t.select(photos) catalog.selected = photos end
function t.menu(file) dofile(plugin .. "/" .. file) end
t.emit = emit

function t.emit_keywords()
  for _, photo in ipairs(t.photos) do
    for _, keyword in ipairs(photo.keywords) do emit("keyword", leafName(photo.path), keyword.path) end
  end
end

function t.emit_selection()
  for _, photo in ipairs(catalog.selected) do emit("selected", leafName(photo.path)) end
end

local ok, failure = xpcall(function()
  local steps = assert(loadfile(assert(os.getenv("EMOTAG_LR_STEPS"))))
  steps(t)
end, debug.traceback)
emit(ok and "done" or "failure", ok and "" or failure)
report:close()
os.exit(ok and 0 or 1)
