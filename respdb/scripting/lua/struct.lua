-- The `struct` library (Roberto Ierusalimschy's struct 1.4, as Redis ships it) for a
-- Lua 5.1 without it, on an x86-64 Linux layout: little endian, short 2, int 4, long 8,
-- size_t 8, maximum alignment 8.

local ieee, aux = ...

local type, select, error, tonumber, tostring = type, select, error, tonumber, tostring
local floor = math.floor
local sbyte, schar, ssub, sfind, sformat, srep, sreverse = string.byte, string.char, string.sub, string.find,
  string.format, string.rep, string.reverse
local tconcat, unpack, pcall = table.concat, unpack, pcall

local TWO32 = 4294967296
local MAXINTSIZE = 32
local MAXALIGN = 8
local INT_MAX = 2147483647

local FAIL = {}
local argmsg = aux.argmsg -- marks errors raised by the implementation

local function fail(msg)
  error({ FAIL, msg }, 0)
end

local function argname(n, i, v)
  if i > n then
    return "no value"
  end
  return type(v)
end

-- An argument error: the text is made where the function's name is known (rethrow).
local function argerror(fname, i, msg)
  error({ FAIL, fname, i, msg }, 0)
end

local function checkstring(fname, n, i, v)
  if type(v) == "number" then
    return tostring(v)
  end
  if type(v) ~= "string" then
    argerror(fname, i, "string expected, got " .. argname(n, i, v))
  end
  return v
end

local function checknumber(fname, n, i, v)
  local x = tonumber(v)
  if x == nil or (type(v) ~= "number" and type(v) ~= "string") then
    argerror(fname, i, "number expected, got " .. argname(n, i, v))
  end
  return x
end

-- struct.pack pushes a nil after its arguments before it reads them: one missing
-- argument is "nil" rather than "no value".
local function pack_n(n)
  return n + 1
end

local function isdigit(c)
  return c and c >= 48 and c <= 57
end

-- A format is walked with a cursor {fmt, pos}.
local function getnum(cur, default)
  local c = sbyte(cur.fmt, cur.pos)
  if not isdigit(c) then
    return default
  end
  local a = 0
  repeat
    local d = c - 48
    if a > floor(INT_MAX / 10) or a * 10 > INT_MAX - d then
      fail("integral size overflow")
    end
    a = a * 10 + d
    cur.pos = cur.pos + 1
    c = sbyte(cur.fmt, cur.pos)
  until not isdigit(c)
  return a
end

local function isp2(x)
  if x <= 0 then
    return false
  end
  while x % 2 == 0 do
    x = x / 2
  end
  return x == 1
end

local SIZES = { b = 1, B = 1, h = 2, H = 2, l = 8, L = 8, T = 8, f = 4, d = 8, x = 1 }

local function optsize(opt, cur)
  local s = SIZES[opt]
  if s then
    return s
  end
  if opt == "c" then
    return getnum(cur, 1)
  end
  if opt == "i" or opt == "I" then
    local sz = getnum(cur, 4)
    if sz > MAXINTSIZE then
      fail(sformat("integral size %d is larger than limit of %d", sz, MAXINTSIZE))
    end
    return sz
  end
  return 0
end

local function gettoalign(len, h, opt, size)
  if size == 0 or opt == "c" then
    return 0
  end
  if size > h.align then
    size = h.align
  end
  return (size - (len % size)) % size
end

local function controloptions(fname, opt, cur, h)
  if opt == " " then
    return
  elseif opt == ">" then
    h.little = false
  elseif opt == "<" then
    h.little = true
  elseif opt == "!" then
    local a = getnum(cur, MAXALIGN)
    if not isp2(a) then
      fail(sformat("alignment %d is not a power of 2", a))
    end
    h.align = a
  else
    argerror(fname, 1, sformat("invalid format option '%s'", opt))
  end
end

local function halves_le_bytes(hi, lo, size)
  local bytes = {}
  for i = 1, size do
    if i <= 4 then
      local b = lo % 256
      bytes[i] = b
      lo = (lo - b) / 256
    elseif i <= 8 then
      local b = hi % 256
      bytes[i] = b
      hi = (hi - b) / 256
    else
      bytes[i] = 0
    end
  end
  return bytes
end

-- The bytes of an integer field: (unsigned long)n, or (unsigned long)(long)n if negative.
local function putinteger(n, little, size)
  local hi, lo
  if n < 0 then
    hi, lo = ieee.int64_halves(n)
  else
    local v = floor(n)
    if v ~= v or v >= 18446744073709551616 then
      hi, lo = 0, 0
    else
      hi = floor(v / TWO32)
      lo = v - hi * TWO32
    end
  end
  local bytes = halves_le_bytes(hi, lo, size)
  local s = schar(unpack(bytes, 1, size))
  if not little then
    s = sreverse(s)
  end
  return s
end

local function getinteger(s, pos, little, signed, size)
  local hi, lo = 0, 0
  -- the value keeps the low 64 bits of the field
  for k = 0, size - 1 do
    local byte
    if little then
      byte = sbyte(s, pos + size - 1 - k)
    else
      byte = sbyte(s, pos + k)
    end
    local carry = floor(lo / 16777216)
    lo = (lo - carry * 16777216) * 256 + byte
    hi = (hi % 16777216) * 256 + carry
  end
  if not signed then
    return ieee.from_halves(hi, lo, false)
  end
  local bit = (size * 8 - 1) % 64
  if bit >= 32 then
    local p = 2 ^ (bit - 32)
    if floor(hi / p) % 2 == 1 then
      hi = (hi % p) + (TWO32 - p)
    end
  else
    local p = 2 ^ bit
    if floor(lo / p) % 2 == 1 then
      lo = (lo % p) + (TWO32 - p)
      hi = TWO32 - 1
    end
  end
  return ieee.from_halves(hi, lo, true)
end

local function native_float(x, little)
  local s = ieee.float_be(x)
  if little then
    s = sreverse(s)
  end
  return s
end

local function native_double(x, little)
  local s = ieee.double_be(x)
  if little then
    s = sreverse(s)
  end
  return s
end

local function pack(...)
  local n = select("#", ...)
  local args = { ... }
  local fmt = checkstring("pack", n, 1, args[1])
  n = pack_n(n)
  local h = { little = true, align = 1 }
  local cur = { fmt = fmt, pos = 1 }
  local out, k = {}, 0
  local arg = 2
  local totalsize = 0
  local flen = #fmt
  while cur.pos <= flen do
    local c = sbyte(fmt, cur.pos)
    if c == 0 then
      break
    end
    local opt = schar(c)
    cur.pos = cur.pos + 1
    local size = optsize(opt, cur)
    local toalign = gettoalign(totalsize, h, opt, size)
    totalsize = totalsize + toalign
    if toalign > 0 then
      k = k + 1
      out[k] = srep("\0", toalign)
    end
    if opt == "b" or opt == "B" or opt == "h" or opt == "H" or opt == "l" or opt == "L" or opt == "T" or opt == "i"
      or opt == "I" then
      local v = checknumber("pack", n, arg, args[arg])
      arg = arg + 1
      k = k + 1
      out[k] = putinteger(v, h.little, size)
    elseif opt == "x" then
      k = k + 1
      out[k] = "\0"
    elseif opt == "f" then
      local v = checknumber("pack", n, arg, args[arg])
      arg = arg + 1
      k = k + 1
      out[k] = native_float(v, h.little)
    elseif opt == "d" then
      local v = checknumber("pack", n, arg, args[arg])
      arg = arg + 1
      k = k + 1
      out[k] = native_double(v, h.little)
    elseif opt == "c" or opt == "s" then
      local s = checkstring("pack", n, arg, args[arg])
      arg = arg + 1
      local l = #s
      if size == 0 then
        size = l
      end
      if l < size then
        argerror("pack", arg, "string too short")
      end
      k = k + 1
      out[k] = ssub(s, 1, size)
      if opt == "s" then
        k = k + 1
        out[k] = "\0"
        size = size + 1
      end
    else
      controloptions("pack", opt, cur, h)
    end
    totalsize = totalsize + size
  end
  return tconcat(out, "", 1, k)
end

local function unpack_(...)
  local n = select("#", ...)
  local args = { ... }
  local fmt = checkstring("unpack", n, 1, args[1])
  local data = checkstring("unpack", n, 2, args[2])
  local ld = #data
  local start = 1
  if n >= 3 and args[3] ~= nil then
    start = checknumber("unpack", n, 3, args[3])
    if start >= 0 then
      start = floor(start)
    else
      start = -floor(-start)
    end
  end
  local pos = start - 1
  if pos < 0 then
    argerror("unpack", 3, "offset must be 1 or greater")
  end
  local h = { little = true, align = 1 }
  local cur = { fmt = fmt, pos = 1 }
  local res, r = {}, 0
  local flen = #fmt
  while cur.pos <= flen do
    local c = sbyte(fmt, cur.pos)
    if c == 0 then
      break
    end
    local opt = schar(c)
    cur.pos = cur.pos + 1
    local size = optsize(opt, cur)
    pos = pos + gettoalign(pos, h, opt, size)
    if not (size <= ld and pos <= ld - size) then
      argerror("unpack", 2, "data string too short")
    end
    if opt == "b" or opt == "B" or opt == "h" or opt == "H" or opt == "l" or opt == "L" or opt == "T" or opt == "i"
      or opt == "I" then
      local lower = opt == "b" or opt == "h" or opt == "l" or opt == "i"
      r = r + 1
      res[r] = getinteger(data, pos + 1, h.little, lower, size)
    elseif opt == "x" then
      -- padding
    elseif opt == "f" then
      local s = ssub(data, pos + 1, pos + 4)
      if h.little then
        s = sreverse(s)
      end
      r = r + 1
      res[r] = ieee.read_float_be(s, 1)
    elseif opt == "d" then
      local s = ssub(data, pos + 1, pos + 8)
      if h.little then
        s = sreverse(s)
      end
      r = r + 1
      res[r] = ieee.read_double_be(s, 1)
    elseif opt == "c" then
      if size == 0 then
        local prev = res[r]
        if r == 0 or tonumber(prev) == nil or (type(prev) ~= "number" and type(prev) ~= "string") then
          fail("format 'c0' needs a previous size")
        end
        size = tonumber(prev)
        if size < 0 or size ~= size then
          argerror("unpack", 2, "data string too short")
        end
        size = floor(size)
        res[r] = nil
        r = r - 1
        if not (size <= ld and pos <= ld - size) then
          argerror("unpack", 2, "data string too short")
        end
      end
      r = r + 1
      res[r] = ssub(data, pos + 1, pos + size)
    elseif opt == "s" then
      local e = sfind(data, "\0", pos + 1, true)
      if not e then
        fail("unfinished string in data")
      end
      size = e - pos
      r = r + 1
      res[r] = ssub(data, pos + 1, e - 1)
    else
      controloptions("unpack", opt, cur, h)
    end
    pos = pos + size
  end
  r = r + 1
  res[r] = pos + 1
  return res, r
end

local function size_(...)
  local n = select("#", ...)
  local fmt = checkstring("size", n, 1, (...))
  local h = { little = true, align = 1 }
  local cur = { fmt = fmt, pos = 1 }
  local pos = 0
  local flen = #fmt
  while cur.pos <= flen do
    local c = sbyte(fmt, cur.pos)
    if c == 0 then
      break
    end
    local opt = schar(c)
    cur.pos = cur.pos + 1
    local size = optsize(opt, cur)
    pos = pos + gettoalign(pos, h, opt, size)
    if opt == "s" then
      argerror("size", 1, "option 's' has no fixed size")
    elseif opt == "c" and size == 0 then
      argerror("size", 1, "option 'c0' has no fixed size")
    end
    if not sfind(opt, "^%w") then
      controloptions("size", opt, cur, h)
    end
    pos = pos + size
  end
  return pos
end

-- Failures of the implementation are raised again so that they blame the script line.
local function rethrow(ok, a, b)
  if ok then
    return a, b
  end
  if type(a) == "table" and a[1] == FAIL then
    if a[3] then
      error(argmsg(2, a[3], a[4]), 3)
    end
    error(a[2], 3)
  end
  error(a, 0)
end

local M = {}

function M.pack(...)
  local s = rethrow(pcall(pack, ...))
  return s
end

function M.unpack(...)
  local res, r = rethrow(pcall(unpack_, ...))
  return unpack(res, 1, r)
end

function M.size(...)
  local s = rethrow(pcall(size_, ...))
  return s
end

return M
