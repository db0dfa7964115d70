-- The `bit` library (LuaBitOp's API) for a Lua 5.1 without it.
--
-- Numbers become 32-bit values the way LuaBitOp does it: the argument is rounded to an
-- integer (round half to even, like adding 2^52+2^51) and its low 32 bits are kept.
-- Results are signed 32-bit numbers. Bitwise operations work 4 bits at a time on
-- non-negative doubles, which represent every 32-bit value exactly.

local aux = ...

local type, select, error, tonumber, floor = type, select, error, tonumber, math.floor
local frexp, sformat, ssub, tconcat = math.frexp, string.format, string.sub, table.concat

local TWO32, TWO31 = 4294967296, 2147483648
local MAGIC = 6755399441055744 -- 2^52 + 2^51

local function argname(n, i, v)
  if i > n then
    return "no value"
  end
  return type(v)
end

-- The unsigned 32-bit value of argument i (barg): non-numbers fail as luaL_typerror does,
-- blaming the caller of the library function (`depth` frames up from here).
local function barg(n, i, v, fname, depth)
  local x = tonumber(v)
  if x == nil or (type(v) ~= "number" and type(v) ~= "string") then
    depth = depth or 3
    error(aux.argmsg(depth - 1, i, "number expected, got " .. argname(n, i, v)), depth)
  end
  if x ~= x or x == 1 / 0 or x == -1 / 0 then
    return 0
  end
  local s = x + MAGIC
  if s >= 4503599627370496 and s < 9007199254740992 then
    -- the usual case: s is an integer whose low 32 bits are the result
    return s % TWO32
  end
  -- other magnitudes: the low 32 bits of the mantissa field of s
  local m = frexp(s < 0 and -s or s)
  return (m * 9007199254740992) % TWO32
end

local function signed(b)
  if b >= TWO31 then
    return b - TWO32
  end
  return b
end

-- 4-bit operation tables: T[op][a * 16 + b].
local AND, OR, XOR = {}, {}, {}
for a = 0, 15 do
  for b = 0, 15 do
    local r_and, r_or, r_xor, bitv = 0, 0, 0, 1
    local x, y = a, b
    for _ = 1, 4 do
      local xa, yb = x % 2, y % 2
      if xa == 1 and yb == 1 then
        r_and = r_and + bitv
      end
      if xa == 1 or yb == 1 then
        r_or = r_or + bitv
      end
      if xa ~= yb then
        r_xor = r_xor + bitv
      end
      x, y, bitv = (x - xa) / 2, (y - yb) / 2, bitv * 2
    end
    AND[a * 16 + b], OR[a * 16 + b], XOR[a * 16 + b] = r_and, r_or, r_xor
  end
end

local function op(tbl, a, b)
  local r, p = 0, 1
  for _ = 1, 8 do
    local na, nb = a % 16, b % 16
    r = r + tbl[na * 16 + nb] * p
    a, b, p = (a - na) / 16, (b - nb) / 16, p * 16
  end
  return r
end

local function fold(tbl, fname, ...)
  local n = select("#", ...)
  local args = { ... }
  local b = barg(n, 1, args[1], fname, 4)
  for i = n, 2, -1 do
    b = op(tbl, b, barg(n, i, args[i], fname, 4))
  end
  return signed(b)
end

local M = {}

function M.tobit(...)
  return signed(barg(select("#", ...), 1, (...), "tobit"))
end

function M.bnot(...)
  return signed(TWO32 - 1 - barg(select("#", ...), 1, (...), "bnot"))
end

function M.band(...)
  local r = fold(AND, "band", ...)
  return r
end

function M.bor(...)
  local r = fold(OR, "bor", ...)
  return r
end

function M.bxor(...)
  local r = fold(XOR, "bxor", ...)
  return r
end

local function shift_args(fname, ...)
  local n = select("#", ...)
  local x, s = ...
  local b = barg(n, 1, x, fname, 4)
  return b, barg(n, 2, s, fname, 4) % 32
end

local function lshift(b, s)
  return (b * 2 ^ s) % TWO32
end

local function rshift(b, s)
  return floor(b / 2 ^ s)
end

function M.lshift(...)
  local b, s = shift_args("lshift", ...)
  return signed(lshift(b, s))
end

function M.rshift(...)
  local b, s = shift_args("rshift", ...)
  return signed(rshift(b, s))
end

function M.arshift(...)
  local b, s = shift_args("arshift", ...)
  local r = rshift(b, s)
  if b >= TWO31 then
    r = r + (TWO32 - 2 ^ (32 - s))
  end
  return signed(r)
end

-- The two halves of a rotation never overlap (a zero count leaves the value as it is).
function M.rol(...)
  local b, s = shift_args("rol", ...)
  if s == 0 then
    return signed(b)
  end
  return signed(lshift(b, s) + rshift(b, 32 - s))
end

function M.ror(...)
  local b, s = shift_args("ror", ...)
  if s == 0 then
    return signed(b)
  end
  return signed(rshift(b, s) + lshift(b, 32 - s))
end

function M.bswap(...)
  local b = barg(select("#", ...), 1, (...), "bswap")
  local b0 = b % 256
  local b1 = floor(b / 256) % 256
  local b2 = floor(b / 65536) % 256
  local b3 = floor(b / 16777216)
  return signed(((b0 * 256 + b1) * 256 + b2) * 256 + b3)
end

local HEX_LOWER, HEX_UPPER = "0123456789abcdef", "0123456789ABCDEF"

function M.tohex(...)
  local n = select("#", ...)
  local x, w = ...
  local b = barg(n, 1, x, "tohex")
  local digits = 8
  if n >= 2 then
    digits = signed(barg(n, 2, w, "tohex"))
  end
  local hex = HEX_LOWER
  if digits < 0 then
    digits = -digits
    hex = HEX_UPPER
  end
  if digits > 8 then
    digits = 8
  end
  local out = {}
  for i = digits, 1, -1 do
    local d = b % 16
    out[i] = ssub(hex, d + 1, d + 1)
    b = (b - d) / 16
  end
  return tconcat(out, "", 1, digits)
end

return M
