--[[----------------------------------------------------------------------------
EmotagJson.lua
Reads the JSON lines emotag prints. Lightroom's Lua (5.1) has no JSON reader.
------------------------------------------------------------------------------]]

local EmotagJson = {}

local escapes = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

-- UTF-8 bytes of a code point (Lua 5.1 has no utf8 library)
local function utf8_char(code)
  if code < 0x80 then
    return string.char(code)
  elseif code < 0x800 then
    return string.char(0xC0 + math.floor(code / 0x40), 0x80 + code % 0x40)
  elseif code < 0x10000 then
    return string.char(0xE0 + math.floor(code / 0x1000), 0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
  end
  return string.char(0xF0 + math.floor(code / 0x40000), 0x80 + math.floor(code / 0x1000) % 0x40,
    0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
end

-- the value in `text`, one JSON document; raises an error naming the place it is malformed
function EmotagJson.decode(text)
  local pos = 1

  local function fail(what)
    error(string.format("bad JSON at character %d: %s", pos, what), 0)
  end

  local function skipSpace()
    pos = string.find(text, "[^ \t\r\n]", pos) or #text + 1
  end

  local function readString()
    local parts = {}
    pos = pos + 1
    while true do
      local stop = string.find(text, '["\\]', pos)
      if not stop then fail("unterminated string") end
      parts[#parts + 1] = string.sub(text, pos, stop - 1)
      if string.sub(text, stop, stop) == '"' then
        pos = stop + 1
        return table.concat(parts)
      end
      local kind = string.sub(text, stop + 1, stop + 1)
      if kind == "u" then
        local code = tonumber(string.sub(text, stop + 2, stop + 5), 16) or fail("bad \\u escape")
        pos = stop + 6
        local low = string.match(text, "^\\u(%x%x%x%x)", pos)
        if code >= 0xD800 and code <= 0xDBFF and low and tonumber(low, 16) >= 0xDC00 then
          code = 0x10000 + (code - 0xD800) * 0x400 + (tonumber(low, 16) - 0xDC00)
          pos = pos + 6
        end
        parts[#parts + 1] = utf8_char(code)
      else
        parts[#parts + 1] = escapes[kind] or fail("bad escape")
        pos = stop + 2
      end
    end
  end

  local readValue

  local function readItems(close, readItem)
    pos = pos + 1
    skipSpace()
    if string.sub(text, pos, pos) == close then
      pos = pos + 1
      return
    end
    while true do
      readItem()
      skipSpace()
      local char = string.sub(text, pos, pos)
      pos = pos + 1
      if char == close then return end
      if char ~= "," then fail("expected ',' or '" .. close .. "'") end
    end
  end

  local function readObject()
    local object = {}
    readItems("}", function()
      skipSpace()
      if string.sub(text, pos, pos) ~= '"' then fail("expected a key") end
      local key = readString()
      skipSpace()
      if string.sub(text, pos, pos) ~= ":" then fail("expected ':'") end
      pos = pos + 1
      object[key] = readValue()
    end)
    return object
  end

  local function readArray()
    local array = {}
    readItems("]", function() array[#array + 1] = readValue() end)
    return array
  end

  readValue = function()
    skipSpace()
    local char = string.sub(text, pos, pos)
    if char == "{" then return readObject() end
    if char == "[" then return readArray() end
    if char == '"' then return readString() end
    local number = string.match(text, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
    if number then
      pos = pos + #number
      return tonumber(number) or fail("bad number")
    end
    if string.sub(text, pos, pos + 3) == "true" then
      pos = pos + 4
      return true
    end
    if string.sub(text, pos, pos + 4) == "false" then
      pos = pos + 5
      return false
    end
    if string.sub(text, pos, pos + 3) == "null" then
      pos = pos + 4
      return nil
    end
    fail("unexpected '" .. char .. "'")
  end

  local value = readValue()
  skipSpace()
  if pos <= #text then fail("trailing characters") end
  return value
end

-- every object in JSON Lines text; lines that are not JSON objects are counted, not fatal
function EmotagJson.decodeLines(text)
  local objects, bad = {}, 0
  for line in string.gmatch(text or "", "[^\r\n]+") do
    local ok, value = pcall(EmotagJson.decode, line)
    if ok and type(value) == "table" then
      objects[#objects + 1] = value
    else
      bad = bad + 1
    end
  end
  return objects, bad
end

return EmotagJson
