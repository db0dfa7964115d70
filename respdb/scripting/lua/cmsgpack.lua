-- The `cmsgpack` library (lua-cmsgpack 0.4.0, as Redis ships it) for a Lua 5.1 without it.

local ieee, aux = ...

local type, select, error, tonumber, tostring, pcall = type, select, error, tonumber, tostring, pcall
local raw_next, unpack = next, unpack
local floor, huge = math.floor, math.huge
local sbyte, schar, ssub, sformat = string.byte, string.char, string.sub, string.format
local tconcat = table.concat

local TWO32 = 4294967296
local MAX_NESTING = 16
local INT_MAX = 2147483647

local FAIL = {}
local argmsg = aux.argmsg

local function fail(msg)
  error({ FAIL, msg }, 0)
end

local u32 = ieee.u32

local function u16(v)
  return schar(floor(v / 256), v % 256)
end

local function encode_int(n, out, k)
  k = k + 1
  if n >= 0 then
    if n <= 127 then
      out[k] = schar(n)
    elseif n <= 0xff then
      out[k] = "\204" .. schar(n)
    elseif n <= 0xffff then
      out[k] = "\205" .. u16(n)
    elseif n <= 0xffffffff then
      out[k] = "\206" .. u32(n)
    else
      local hi, lo = ieee.int64_halves(n)
      out[k] = "\207" .. u32(hi) .. u32(lo)
    end
  else
    if n >= -32 then
      out[k] = schar(256 + n)
    elseif n >= -128 then
      out[k] = "\208" .. schar(256 + n)
    elseif n >= -32768 then
      out[k] = "\209" .. u16(65536 + n)
    elseif n >= -2147483648 then
      out[k] = "\210" .. u32(TWO32 + n)
    else
      local hi, lo = ieee.int64_halves(n)
      out[k] = "\211" .. u32(hi) .. u32(lo)
    end
  end
  return k
end

local function encode_double(d, out, k)
  k = k + 1
  local f, exact = ieee.float_be(d)
  if exact and d == d then
    out[k] = "\202" .. f
  else
    out[k] = "\203" .. ieee.double_be(d)
  end
  return k
end

local function encode_string(s, out, k)
  local len = #s
  k = k + 1
  if len < 32 then
    out[k] = schar(0xa0 + len)
  elseif len <= 0xff then
    out[k] = "\217" .. schar(len)
  elseif len <= 0xffff then
    out[k] = "\218" .. u16(len)
  else
    out[k] = "\219" .. u32(len)
  end
  k = k + 1
  out[k] = s
  return k
end

-- Keys 1..n and nothing else (keys must be numbers that fit a C int).
local function table_is_an_array(t)
  local count, max = 0, 0
  for key in raw_next, t do
    if type(key) ~= "number" or key <= 0 or key ~= floor(key) or key > INT_MAX then
      return false
    end
    if key > max then
      max = key
    end
    count = count + 1
  end
  return max == count
end

local encode

local function encode_table(t, out, k, level)
  if table_is_an_array(t) then
    local len = #t
    k = k + 1
    if len <= 15 then
      out[k] = schar(0x90 + len)
    elseif len <= 65535 then
      out[k] = "\220" .. u16(len)
    else
      out[k] = "\221" .. u32(len)
    end
    for j = 1, len do
      k = encode(t[j], out, k, level + 1)
    end
    return k
  end
  local len = 0
  for _ in raw_next, t do
    len = len + 1
  end
  k = k + 1
  if len <= 15 then
    out[k] = schar(0x80 + len)
  elseif len <= 65535 then
    out[k] = "\222" .. u16(len)
  else
    out[k] = "\223" .. u32(len)
  end
  for key, v in raw_next, t do
    k = encode(key, out, k, level + 1)
    k = encode(v, out, k, level + 1)
  end
  return k
end

encode = function(v, out, k, level)
  local t = type(v)
  if t == "table" and level == MAX_NESTING then
    t = "nil"
  end
  if t == "string" then
    return encode_string(v, out, k)
  elseif t == "boolean" then
    k = k + 1
    out[k] = v and "\195" or "\194"
    return k
  elseif t == "number" then
    if v ~= huge and v ~= -huge and v == v and v >= -9223372036854775808 and v < 9223372036854775808 and
      floor(v) == v then
      return encode_int(v, out, k)
    end
    return encode_double(v, out, k)
  elseif t == "table" then
    return encode_table(v, out, k, level)
  end
  k = k + 1
  out[k] = "\192"
  return k
end

-- decoding: decode(s, pos, last) returns the value at pos and the position after it;
-- `last` is the index of the last byte of the input.

local function missing()
  fail("Missing bytes in input.")
end

local function be(s, i, n)
  local v = 0
  for j = i, i + n - 1 do
    v = v * 256 + sbyte(s, j)
  end
  return v
end

local decode

local function decode_array(s, pos, last, len)
  local t = {}
  local v
  for i = 1, len do
    v, pos = decode(s, pos, last)
    t[i] = v
  end
  return t, pos
end

local function decode_map(s, pos, last, len)
  local t = {}
  local key, v
  for _ = 1, len do
    key, pos = decode(s, pos, last)
    v, pos = decode(s, pos, last)
    if key == nil or key ~= key then
      -- lua_settable's own error, raised in C (so without a position)
      error({ FAIL, key == nil and "table index is nil" or "table index is NaN", nil, nil, true }, 0)
    end
    t[key] = v
  end
  return t, pos
end

decode = function(s, p, last)
  if p > last then
    missing()
  end
  local b = sbyte(s, p)
  if b < 0x80 then -- positive fixnum
    return b, p + 1
  elseif b >= 0xe0 then -- negative fixnum
    return b - 256, p + 1
  elseif b >= 0xa0 and b < 0xc0 then -- fix raw
    local e = p + b - 0xa0
    if e > last then
      missing()
    end
    return ssub(s, p + 1, e), e + 1
  elseif b >= 0x90 and b < 0xa0 then -- fix array
    return decode_array(s, p + 1, last, b - 0x90)
  elseif b < 0x90 then -- fix map
    return decode_map(s, p + 1, last, b - 0x80)
  elseif b == 0xc0 then
    return nil, p + 1
  elseif b == 0xc3 then
    return true, p + 1
  elseif b == 0xc2 then
    return false, p + 1
  elseif b == 0xcc then
    if p + 1 > last then
      missing()
    end
    return sbyte(s, p + 1), p + 2
  elseif b == 0xd0 then
    if p + 1 > last then
      missing()
    end
    local v = sbyte(s, p + 1)
    return v >= 128 and v - 256 or v, p + 2
  elseif b == 0xcd then
    if p + 2 > last then
      missing()
    end
    return be(s, p + 1, 2), p + 3
  elseif b == 0xd1 then
    if p + 2 > last then
      missing()
    end
    local v = be(s, p + 1, 2)
    return v >= 32768 and v - 65536 or v, p + 3
  elseif b == 0xce then
    if p + 4 > last then
      missing()
    end
    return be(s, p + 1, 4), p + 5
  elseif b == 0xd2 then
    if p + 4 > last then
      missing()
    end
    local v = be(s, p + 1, 4)
    return v >= 2147483648 and v - TWO32 or v, p + 5
  elseif b == 0xcf or b == 0xd3 then
    if p + 8 > last then
      missing()
    end
    return ieee.from_halves(be(s, p + 1, 4), be(s, p + 5, 4), true), p + 9
  elseif b == 0xca then
    if p + 4 > last then
      missing()
    end
    return ieee.read_float_be(s, p + 1), p + 5
  elseif b == 0xcb then
    if p + 8 > last then
      missing()
    end
    return ieee.read_double_be(s, p + 1), p + 9
  elseif b == 0xd9 then
    if p + 1 > last then
      missing()
    end
    local e = p + 1 + sbyte(s, p + 1)
    if e > last then
      missing()
    end
    return ssub(s, p + 2, e), e + 1
  elseif b == 0xda then
    if p + 2 > last then
      missing()
    end
    local e = p + 2 + be(s, p + 1, 2)
    if e > last then
      missing()
    end
    return ssub(s, p + 3, e), e + 1
  elseif b == 0xdb then
    if p + 4 > last then
      missing()
    end
    local e = p + 4 + be(s, p + 1, 4)
    if e > last then
      missing()
    end
    return ssub(s, p + 5, e), e + 1
  elseif b == 0xdc then
    if p + 2 > last then
      missing()
    end
    return decode_array(s, p + 3, last, be(s, p + 1, 2))
  elseif b == 0xdd then
    if p + 4 > last then
      missing()
    end
    return decode_array(s, p + 5, last, be(s, p + 1, 4))
  elseif b == 0xde then
    if p + 2 > last then
      missing()
    end
    return decode_map(s, p + 3, last, be(s, p + 1, 2))
  elseif b == 0xdf then
    if p + 4 > last then
      missing()
    end
    return decode_map(s, p + 5, last, be(s, p + 1, 4))
  end
  fail("Bad data format in input.")
end

local function argname(n, i, v)
  if i > n then
    return "no value"
  end
  return type(v)
end

local function checkstring(fname, n, i, v)
  if type(v) == "number" then
    return tostring(v)
  end
  if type(v) ~= "string" then
    error({ FAIL, fname, i, "string expected, got " .. argname(n, i, v) }, 0)
  end
  return v
end

local function checkinteger(fname, n, i, v)
  local x = tonumber(v)
  if x == nil or (type(v) ~= "number" and type(v) ~= "string") then
    error({ FAIL, fname, i, "number expected, got " .. argname(n, i, v) }, 0)
  end
  if x ~= x or x >= 9223372036854775808 or x < -9223372036854775808 then
    return -9223372036854775808
  end
  return x >= 0 and floor(x) or -floor(-x)
end

-- mp_unpack_full: all values (limit and offset 0), or up to `limit` values from `offset`
-- preceded by the offset to continue from (-1 once the input is used up).
local function unpack_full(s, limit, offset)
  local len = #s
  local decode_all = limit == 0 and offset == 0
  if offset < 0 or limit < 0 then
    fail(sformat("Invalid request to unpack with offset of %d and limit of %d.", offset, len))
  elseif offset > len then
    fail(sformat("Start offset %d greater than input length %d.", offset, len))
  end
  if decode_all then
    limit = INT_MAX
  end
  local pos = offset + 1
  local res, n = {}, 0
  local v
  while pos <= len and n < limit do
    n = n + 1
    v, pos = decode(s, pos, len)
    res[n] = v
  end
  if not decode_all then
    local out = { pos > len and -1 or pos - 1 }
    for i = 1, n do
      out[i + 1] = res[i]
    end
    return out, n + 1
  end
  return res, n
end

local function pack(...)
  local n = select("#", ...)
  if n == 0 then
    error({ FAIL, "pack", 0, "MessagePack pack needs input." }, 0)
  end
  local args = { ... }
  local out, k = {}, 0
  for i = 1, n do
    k = encode(args[i], out, k, 0)
  end
  return tconcat(out, "", 1, k)
end

local function unpack_all(...)
  local n = select("#", ...)
  return unpack_full(checkstring("unpack", n, 1, (...)), 0, 0)
end

local function unpack_one(...)
  local n = select("#", ...)
  local s, offset = ...
  local off = 0
  if n >= 2 and offset ~= nil then
    off = checkinteger("unpack_one", n, 2, offset)
  end
  return unpack_full(checkstring("unpack_one", n, 1, s), 1, off)
end

local function unpack_limit(...)
  local n = select("#", ...)
  local s, limit, offset = ...
  local lim = checkinteger("unpack_limit", n, 2, limit)
  local off = 0
  if n >= 3 and offset ~= nil then
    off = checkinteger("unpack_limit", n, 3, offset)
  end
  return unpack_full(checkstring("unpack_limit", n, 1, s), lim, off)
end

local function rethrow(ok, a, b)
  if ok then
    return a, b
  end
  if type(a) == "table" and a[1] == FAIL then
    if a[3] then
      error(argmsg(2, a[3], a[4]), 3)
    end
    error(a[2], a[5] and 0 or 3)
  end
  error(a, 0)
end

local M = {
  _NAME = "cmsgpack",
  _VERSION = "lua-cmsgpack 0.4.0",
  _COPYRIGHT = "Copyright (C) 2012, Salvatore Sanfilippo",
  _DESCRIPTION = "MessagePack C implementation for Lua",
}

function M.pack(...)
  local s = rethrow(pcall(pack, ...))
  return s
end

function M.unpack(...)
  local res, n = rethrow(pcall(unpack_all, ...))
  return unpack(res, 1, n)
end

function M.unpack_one(...)
  local res, n = rethrow(pcall(unpack_one, ...))
  return unpack(res, 1, n)
end

function M.unpack_limit(...)
  local res, n = rethrow(pcall(unpack_limit, ...))
  return unpack(res, 1, n)
end

return M
