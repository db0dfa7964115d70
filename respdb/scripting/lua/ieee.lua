-- IEEE-754 helpers for struct and cmsgpack: the byte images of doubles and floats, and
-- 64-bit integers as two 32-bit halves, all with exact double arithmetic.

local floor, frexp, ldexp, huge = math.floor, math.frexp, math.ldexp, math.huge
local schar, sbyte, sformat, ssub = string.char, string.byte, string.format, string.sub

local TWO32 = 4294967296
local TWO63 = 9223372036854775808
local NEG_ZERO = -1 / huge
local NAN_NEG = 0 / 0 -- on x86 this is the negative quiet NaN, as in C
local NAN_POS = -(0 / 0)

local M = {}

local function is_negative(x)
  if x ~= x then
    return ssub(sformat("%f", x), 1, 1) == "-"
  end
  return x < 0 or (x == 0 and 1 / x < 0)
end

local function round_even(q)
  local r = floor(q)
  local d = q - r
  if d > 0.5 or (d == 0.5 and r % 2 == 1) then
    r = r + 1
  end
  return r
end

-- Big-endian bytes of a 32-bit unsigned value.
local function u32(v)
  local b3 = v % 256
  v = (v - b3) / 256
  local b2 = v % 256
  v = (v - b2) / 256
  local b1 = v % 256
  return schar((v - b1) / 256, b1, b2, b3)
end
M.u32 = u32

-- Big-endian image of a double.
function M.double_be(x)
  local sign = is_negative(x) and 2147483648 or 0
  local hi, lo
  if x ~= x then
    hi, lo = 0x7FF80000, 0
  elseif x == huge or x == -huge then
    hi, lo = 0x7FF00000, 0
  elseif x == 0 then
    hi, lo = 0, 0
  else
    if x < 0 then
      x = -x
    end
    local m, e = frexp(x) -- x = m * 2^e, 0.5 <= m < 1
    local exp, mant = e + 1022, nil
    if exp <= 0 then -- subnormal
      exp = 0
      mant = ldexp(x, 1074)
    else
      mant = (m * 2 - 1) * 4503599627370496 -- 52 fraction bits
    end
    local mhi = floor(mant / TWO32)
    lo = mant - mhi * TWO32
    hi = exp * 1048576 + mhi
  end
  return u32(sign + hi) .. u32(lo)
end

-- The float nearest to x (round half to even), as the big-endian image of a float.
-- Returns the image and whether the conversion was exact.
function M.float_be(x)
  local sign = is_negative(x) and 2147483648 or 0
  if x ~= x then
    return u32(sign + 0x7FC00000), false
  end
  if x == huge or x == -huge then
    return u32(sign + 0x7F800000), true
  end
  if x == 0 then
    return u32(sign), true
  end
  local ax = x < 0 and -x or x
  local m, e = frexp(ax)
  local exp = e + 126
  local bits, exact
  if exp <= 0 then -- subnormal float
    local q = ldexp(ax, 149)
    local k = round_even(q)
    exact = (k == q)
    bits = k -- k == 2^23 rolls over into the smallest normal, as it should
  else
    local q = m * 16777216 -- 24 significant bits
    local k = round_even(q)
    exact = (k == q)
    if k == 16777216 then
      k = 8388608
      exp = exp + 1
    end
    if exp >= 255 then
      return u32(sign + 0x7F800000), false
    end
    bits = exp * 8388608 + (k - 8388608)
  end
  return u32(sign + bits), exact
end

local function be_u32(s, i)
  local a, b, c, d = sbyte(s, i, i + 3)
  return ((a * 256 + b) * 256 + c) * 256 + d
end
M.be_u32 = be_u32

function M.read_double_be(s, i)
  local hi, lo = be_u32(s, i), be_u32(s, i + 4)
  local neg = hi >= 2147483648
  if neg then
    hi = hi - 2147483648
  end
  local exp = floor(hi / 1048576)
  local mhi = hi - exp * 1048576
  local v
  if exp == 2047 then
    if mhi == 0 and lo == 0 then
      v = huge
    else
      return neg and NAN_NEG or NAN_POS
    end
  elseif exp == 0 then
    v = ldexp(mhi * TWO32 + lo, -1074)
  else
    v = ldexp(4503599627370496 + mhi * TWO32 + lo, exp - 1075)
  end
  if neg then
    if v == 0 then
      return NEG_ZERO
    end
    return -v
  end
  return v
end

function M.read_float_be(s, i)
  local bits = be_u32(s, i)
  local neg = bits >= 2147483648
  if neg then
    bits = bits - 2147483648
  end
  local exp = floor(bits / 8388608)
  local mant = bits - exp * 8388608
  local v
  if exp == 255 then
    if mant == 0 then
      v = huge
    else
      return neg and NAN_NEG or NAN_POS
    end
  elseif exp == 0 then
    v = ldexp(mant, -149)
  else
    v = ldexp(8388608 + mant, exp - 150)
  end
  if neg then
    if v == 0 then
      return NEG_ZERO
    end
    return -v
  end
  return v
end

-- (int64_t)x as C computes it on x86: truncation, NaN and out-of-range give INT64_MIN.
-- Returned as the two 32-bit halves of its two's complement image.
function M.int64_halves(x)
  if x ~= x or x >= TWO63 or x < -TWO63 then
    return 2147483648, 0
  end
  if x >= 0 then
    x = floor(x)
  else
    x = -floor(-x)
  end
  local hi = floor(x / TWO32)
  local lo = x - hi * TWO32
  return hi % TWO32, lo
end

-- A 64-bit two's complement image back to a number (rounded like C's conversions).
function M.from_halves(hi, lo, signed)
  if signed and hi >= 2147483648 then
    return (hi - TWO32) * TWO32 + lo
  end
  return hi * TWO32 + lo
end

M.is_negative = is_negative
return M
