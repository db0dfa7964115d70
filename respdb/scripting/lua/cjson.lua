-- The `cjson` library (lua-cjson 2.1.0 with Redis's settings) for a Lua 5.1 without it.
--
-- Encoding follows lua-cjson: numbers with %.14g, a table is an array when all its keys
-- are integers >= 1 (holes become null, excessively sparse arrays are refused), and an
-- object otherwise; the empty table is {}. Decoding is its tokenizer: numbers are read
-- with strtod's syntax (so hex, inf and nan pass, as in Redis), JSON null is cjson.null,
-- and errors name the token and the character position.

local null, aux = ...

local type, select, error, tostring, tonumber, pcall = type, select, error, tostring, tonumber, pcall
local raw_next, raw_get, ipairs = next, rawget, ipairs
local floor, huge = math.floor, math.huge
local sbyte, schar, ssub, sfind, sformat, sgsub, slower = string.byte, string.char, string.sub, string.find,
  string.format, string.gsub, string.lower
local tconcat = table.concat

local FAIL = {}
local argmsg = aux.argmsg

local function fail(msg)
  error({ FAIL, msg }, 0)
end

local INT_MAX = 2147483647

-- ---------------------------------------------------------------------------
-- encoding

local ESCAPES = {}
for i = 0, 31 do
  ESCAPES[schar(i)] = sformat("\\u%04x", i)
end
ESCAPES["\b"] = "\\b"
ESCAPES["\t"] = "\\t"
ESCAPES["\n"] = "\\n"
ESCAPES["\f"] = "\\f"
ESCAPES["\r"] = "\\r"
ESCAPES['"'] = '\\"'
ESCAPES["\\"] = "\\\\"
ESCAPES["/"] = "\\/"
ESCAPES["\127"] = "\\u007f"

local function encode_string(s)
  return '"' .. sgsub(s, '[%z\1-\31"\\/\127]', ESCAPES) .. '"'
end

local TYPE_NAMES = { ["nil"] = "nil" }

local function encode_error(v, reason)
  fail(sformat("Cannot serialise %s: %s", TYPE_NAMES[type(v)] or type(v), reason))
end

local function encode_number(cfg, n)
  if n ~= n or n == huge or n == -huge then
    if cfg.encode_invalid_numbers == 0 then
      encode_error(n, "must not be NaN or Inf")
    elseif cfg.encode_invalid_numbers == 1 then
      if n ~= n then
        return "nan"
      end
    else
      return "null"
    end
  end
  return sformat(cfg.number_fmt, n)
end

-- lua_array_length: the array size, or -1 for an object.
local function array_length(cfg, t)
  local max, items = 0, 0
  for k in raw_next, t do
    if type(k) == "number" and k ~= 0 and floor(k) == k and k >= 1 then
      if k > max then
        max = k <= INT_MAX and k or -2147483648 -- stored in a C int
      end
      items = items + 1
    else
      return -1
    end
  end
  if cfg.encode_sparse_ratio > 0 and max > items * cfg.encode_sparse_ratio and max > cfg.encode_sparse_safe then
    if cfg.encode_sparse_convert == 0 then
      encode_error(t, "excessively sparse array")
    end
    return -1
  end
  return max
end

local encode_value

local function encode_table(cfg, t, depth, out, n)
  depth = depth + 1
  if depth > cfg.encode_max_depth then
    fail(sformat("Cannot serialise, excessive nesting (%d)", depth))
  end
  local len = array_length(cfg, t)
  if len > 0 then
    n = n + 1
    out[n] = "["
    for i = 1, len do
      if i > 1 then
        n = n + 1
        out[n] = ","
      end
      n = encode_value(cfg, raw_get(t, i), depth, out, n)
    end
    n = n + 1
    out[n] = "]"
    return n
  end
  n = n + 1
  out[n] = "{"
  local first = true
  for k, v in raw_next, t do
    n = n + 1
    local sep = first and "" or ","
    first = false
    local tk = type(k)
    if tk == "number" then
      out[n] = sep .. '"' .. encode_number(cfg, k) .. '":'
    elseif tk == "string" then
      out[n] = sep .. encode_string(k) .. ":"
    else
      encode_error(k, "table key must be a number or string")
    end
    n = encode_value(cfg, v, depth, out, n)
  end
  n = n + 1
  out[n] = "}"
  return n
end

encode_value = function(cfg, v, depth, out, n)
  local t = type(v)
  if t == "string" then
    n = n + 1
    out[n] = encode_string(v)
  elseif t == "number" then
    n = n + 1
    out[n] = encode_number(cfg, v)
  elseif t == "boolean" then
    n = n + 1
    out[n] = v and "true" or "false"
  elseif t == "table" then
    return encode_table(cfg, v, depth, out, n)
  elseif t == "nil" or v == null then
    n = n + 1
    out[n] = "null"
  else
    encode_error(v, "type not supported")
  end
  return n
end

-- ---------------------------------------------------------------------------
-- decoding

local T_OBJ_BEGIN, T_OBJ_END, T_ARR_BEGIN, T_ARR_END = "T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END"
local T_STRING, T_NUMBER, T_BOOLEAN, T_NULL = "T_STRING", "T_NUMBER", "T_BOOLEAN", "T_NULL"
local T_COLON, T_COMMA, T_END, T_ERROR = "T_COLON", "T_COMMA", "T_END", "T_ERROR"

local SIMPLE = {
  [123] = T_OBJ_BEGIN,
  [125] = T_OBJ_END,
  [91] = T_ARR_BEGIN,
  [93] = T_ARR_END,
  [44] = T_COMMA,
  [58] = T_COLON,
}
local WHITESPACE = { [32] = true, [9] = true, [10] = true, [13] = true }
local UNKNOWN = { [102] = true, [105] = true, [73] = true, [110] = true, [78] = true, [116] = true, [34] = true,
  [43] = true, [45] = true }
for c = 48, 57 do
  UNKNOWN[c] = true
end

local ESCAPE_CHARS = { [34] = '"', [92] = "\\", [47] = "/", [98] = "\b", [116] = "\t", [110] = "\n", [102] = "\f",
  [114] = "\r" }

local function hex4(s, i)
  local h = ssub(s, i, i + 3)
  if #h ~= 4 or sfind(h, "[^%x]") then
    return nil
  end
  return tonumber(h, 16)
end

local function utf8(cp)
  if cp <= 0x7f then
    return schar(cp)
  elseif cp <= 0x7ff then
    return schar(0xc0 + floor(cp / 64), 0x80 + cp % 64)
  elseif cp <= 0xffff then
    return schar(0xe0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return schar(0xf0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

-- The text strtod would accept at position i (the longest prefix), or nil.
local function strtod_prefix(s, i)
  local j = i
  local c = sbyte(s, j)
  if c == 43 or c == 45 then
    j = j + 1
  end
  local rest = ssub(s, j, j + 7)
  local lrest = slower(rest)
  if ssub(lrest, 1, 8) == "infinity" then
    return ssub(s, i, j + 7)
  elseif ssub(lrest, 1, 3) == "inf" then
    return ssub(s, i, j + 2)
  elseif ssub(lrest, 1, 3) == "nan" then
    local e = j + 3
    if sbyte(s, e) == 40 then
      local close = sfind(s, "^[%w_]*%)", e + 1)
      if close then
        local _, ce = sfind(s, "^[%w_]*%)", e + 1)
        e = ce + 1
      end
    end
    return ssub(s, i, e - 1)
  end
  if sfind(s, "^0[xX]", j) then
    local _, e = sfind(s, "^%x*", j + 2)
    local digits = e - (j + 1)
    local e2 = e
    if sbyte(s, e + 1) == 46 then
      local _, f = sfind(s, "^%x*", e + 2)
      digits = digits + (f - (e + 1))
      e2 = f
    end
    if digits > 0 then
      local _, pe = sfind(s, "^[pP][+-]?%d+", e2 + 1)
      return ssub(s, i, pe or e2)
    end
    return ssub(s, i, j) -- just the 0
  end
  local _, e = sfind(s, "^%d*", j)
  local digits = e - j + 1
  local last = e
  if sbyte(s, e + 1) == 46 then
    local _, f = sfind(s, "^%d*", e + 2)
    digits = digits + (f - (e + 1))
    last = f
  end
  if digits == 0 then
    return nil
  end
  local _, xe = sfind(s, "^[eE][+-]?%d+", last + 1)
  return ssub(s, i, xe or last)
end

local function is_invalid_number(s, i)
  local c = sbyte(s, i)
  if c == 43 then
    return true
  end
  if c == 45 then
    i = i + 1
    c = sbyte(s, i)
  end
  if c == 48 then
    local c2 = sbyte(s, i + 1) or 0
    if c2 == 120 or c2 == 88 or (c2 >= 48 and c2 <= 57) then
      return true
    end
    return false
  elseif c == nil or c <= 57 then
    return false
  end
  local w = slower(ssub(s, i, i + 2))
  return w == "inf" or w == "nan"
end

-- Returns the token type, its value and the 0-based index of where it starts;
-- the parser state p = {s, pos} advances past it.
local function next_token(cfg, p)
  local s = p.s
  local pos = p.pos
  local c = sbyte(s, pos)
  while c and WHITESPACE[c] do
    pos = pos + 1
    c = sbyte(s, pos)
  end
  p.pos = pos
  local index = pos - 1
  if c == nil or c == 0 then
    return T_END, nil, index
  end
  local simple = SIMPLE[c]
  if simple then
    p.pos = pos + 1
    return simple, nil, index
  end
  if not UNKNOWN[c] then
    return T_ERROR, "invalid token", index
  end
  if c == 34 then -- string
    local buf, k = {}, 0
    local i = pos + 1
    while true do
      local e = sfind(s, '[%z"\\]', i)
      if not e then
        p.pos = #s + 1
        return T_ERROR, "unexpected end of string", #s
      end
      if e > i then
        k = k + 1
        buf[k] = ssub(s, i, e - 1)
      end
      local ch = sbyte(s, e)
      if ch == 34 then
        p.pos = e + 1
        return T_STRING, tconcat(buf, "", 1, k), index
      elseif ch == 0 then
        p.pos = e
        return T_ERROR, "unexpected end of string", e - 1
      end
      -- escape
      local esc = sbyte(s, e + 1)
      if esc == 117 then -- \u
        local cp = hex4(s, e + 2)
        local len = 6
        if cp and cp >= 0xd800 and cp <= 0xdfff then
          if cp >= 0xdc00 then
            cp = nil
          elseif ssub(s, e + 6, e + 7) ~= "\\u" then
            cp = nil
          else
            local low = hex4(s, e + 8)
            if not low or low < 0xdc00 or low > 0xdfff then
              cp = nil
            else
              cp = (cp - 0xd800) * 1024 + (low - 0xdc00) + 0x10000
              len = 12
            end
          end
        end
        if not cp then
          p.pos = e
          return T_ERROR, "invalid unicode escape code", e - 1
        end
        k = k + 1
        buf[k] = utf8(cp)
        i = e + len
      else
        local r = esc and ESCAPE_CHARS[esc]
        if not r then
          p.pos = e
          return T_ERROR, "invalid escape code", e - 1
        end
        k = k + 1
        buf[k] = r
        i = e + 2
      end
    end
  end
  if c == 45 or (c >= 48 and c <= 57) then
    if cfg.decode_invalid_numbers == 0 and is_invalid_number(s, pos) then
      return T_ERROR, "invalid number", index
    end
  elseif ssub(s, pos, pos + 3) == "true" then
    p.pos = pos + 4
    return T_BOOLEAN, true, index
  elseif ssub(s, pos, pos + 4) == "false" then
    p.pos = pos + 5
    return T_BOOLEAN, false, index
  elseif ssub(s, pos, pos + 3) == "null" then
    p.pos = pos + 4
    return T_NULL, nil, index
  elseif not (cfg.decode_invalid_numbers ~= 0 and is_invalid_number(s, pos)) then
    return T_ERROR, "invalid token", index
  end
  local text = strtod_prefix(s, pos)
  if not text then
    return T_ERROR, "invalid number", index
  end
  p.pos = pos + #text
  return T_NUMBER, tonumber(text), index
end

local function parse_error(expected, ttype, tvalue, index)
  local found = ttype == T_ERROR and tvalue or ttype
  fail(sformat("Expected %s but found %s at character %d", expected, found, index + 1))
end

local process_value

local function descend(cfg, p)
  p.depth = p.depth + 1
  if p.depth > cfg.decode_max_depth then
    fail(sformat("Found too many nested data structures (%d) at character %d", p.depth, p.pos - 1))
  end
end

local function parse_object(cfg, p)
  descend(cfg, p)
  local t = {}
  local tt, tv, ti = next_token(cfg, p)
  if tt == T_OBJ_END then
    p.depth = p.depth - 1
    return t
  end
  while true do
    if tt ~= T_STRING then
      parse_error("object key string", tt, tv, ti)
    end
    local key = tv
    tt, tv, ti = next_token(cfg, p)
    if tt ~= T_COLON then
      parse_error("colon", tt, tv, ti)
    end
    tt, tv, ti = next_token(cfg, p)
    t[key] = process_value(cfg, p, tt, tv, ti)
    tt, tv, ti = next_token(cfg, p)
    if tt == T_OBJ_END then
      p.depth = p.depth - 1
      return t
    end
    if tt ~= T_COMMA then
      parse_error("comma or object end", tt, tv, ti)
    end
    tt, tv, ti = next_token(cfg, p)
  end
end

local function parse_array(cfg, p)
  descend(cfg, p)
  local t = {}
  local tt, tv, ti = next_token(cfg, p)
  if tt == T_ARR_END then
    p.depth = p.depth - 1
    return t
  end
  local i = 1
  while true do
    t[i] = process_value(cfg, p, tt, tv, ti)
    tt, tv, ti = next_token(cfg, p)
    if tt == T_ARR_END then
      p.depth = p.depth - 1
      return t
    end
    if tt ~= T_COMMA then
      parse_error("comma or array end", tt, tv, ti)
    end
    tt, tv, ti = next_token(cfg, p)
    i = i + 1
  end
end

process_value = function(cfg, p, tt, tv, ti)
  if tt == T_STRING or tt == T_NUMBER or tt == T_BOOLEAN then
    return tv
  elseif tt == T_OBJ_BEGIN then
    return parse_object(cfg, p)
  elseif tt == T_ARR_BEGIN then
    return parse_array(cfg, p)
  elseif tt == T_NULL then
    return null
  end
  parse_error("value", tt, tv, ti)
end

-- ---------------------------------------------------------------------------
-- fast decoding of ordinary JSON
--
-- The tokenizer above is exact but slow. Most input is plain JSON: this parser takes it in
-- larger steps and gives up (BAIL) on anything else (errors, unusual numbers, NUL bytes,
-- depth limits), in which case the exact parser runs from the start and has the last word.

local BAIL = {}
local fast_value

local function fast_ws(s, pos)
  return sfind(s, "[^ \t\n\r]", pos) or #s + 1
end

local function fast_string(s, pos) -- pos at the opening quote; returns value, next pos
  local i = pos + 1
  local e = sfind(s, '["\\%z]', i)
  if not e then
    return BAIL
  end
  if sbyte(s, e) == 34 then
    return ssub(s, i, e - 1), e + 1
  end
  local buf, k = {}, 0
  while true do
    local ch = sbyte(s, e)
    if ch == 34 then
      k = k + 1
      buf[k] = ssub(s, i, e - 1)
      return tconcat(buf, "", 1, k), e + 1
    elseif ch ~= 92 then
      return BAIL
    end
    k = k + 1
    buf[k] = ssub(s, i, e - 1)
    local esc = sbyte(s, e + 1)
    if esc == 117 then
      local cp = hex4(s, e + 2)
      if not cp or (cp >= 0xd800 and cp <= 0xdfff) then
        return BAIL
      end
      k = k + 1
      buf[k] = utf8(cp)
      i = e + 6
    else
      local r = esc and ESCAPE_CHARS[esc]
      if not r then
        return BAIL
      end
      k = k + 1
      buf[k] = r
      i = e + 2
    end
    e = sfind(s, '["\\%z]', i)
    if not e then
      return BAIL
    end
  end
end

local NUMBER_END = { [44] = true, [93] = true, [125] = true, [32] = true, [9] = true, [10] = true, [13] = true }

local function fast_number(s, pos)
  local _, e = sfind(s, "^-?%d+%.?%d*", pos)
  if not e then
    return BAIL
  end
  local _, x = sfind(s, "^[eE][-+]?%d+", e + 1)
  if x then
    e = x
  end
  local nxt = sbyte(s, e + 1)
  if nxt and not NUMBER_END[nxt] then
    return BAIL
  end
  return tonumber(ssub(s, pos, e)), e + 1
end

fast_value = function(cfg, s, pos, depth)
  local c = sbyte(s, pos)
  if c == 34 then
    return fast_string(s, pos)
  elseif c == 123 then
    if depth >= cfg.decode_max_depth then
      return BAIL
    end
    local t = {}
    pos = fast_ws(s, pos + 1)
    if sbyte(s, pos) == 125 then
      return t, pos + 1
    end
    while true do
      if sbyte(s, pos) ~= 34 then
        return BAIL
      end
      local key, v
      key, pos = fast_string(s, pos)
      if key == BAIL then
        return BAIL
      end
      pos = fast_ws(s, pos)
      if sbyte(s, pos) ~= 58 then
        return BAIL
      end
      v, pos = fast_value(cfg, s, fast_ws(s, pos + 1), depth + 1)
      if v == BAIL then
        return BAIL
      end
      t[key] = v
      pos = fast_ws(s, pos)
      c = sbyte(s, pos)
      if c == 125 then
        return t, pos + 1
      elseif c ~= 44 then
        return BAIL
      end
      pos = fast_ws(s, pos + 1)
    end
  elseif c == 91 then
    if depth >= cfg.decode_max_depth then
      return BAIL
    end
    local t = {}
    pos = fast_ws(s, pos + 1)
    if sbyte(s, pos) == 93 then
      return t, pos + 1
    end
    local i = 1
    while true do
      local v
      v, pos = fast_value(cfg, s, pos, depth + 1)
      if v == BAIL then
        return BAIL
      end
      t[i] = v
      i = i + 1
      pos = fast_ws(s, pos)
      c = sbyte(s, pos)
      if c == 93 then
        return t, pos + 1
      elseif c ~= 44 then
        return BAIL
      end
      pos = fast_ws(s, pos + 1)
    end
  elseif c == 45 or (c and c >= 48 and c <= 57) then
    return fast_number(s, pos)
  elseif c == 116 and ssub(s, pos, pos + 3) == "true" then
    return true, pos + 4
  elseif c == 102 and ssub(s, pos, pos + 4) == "false" then
    return false, pos + 5
  elseif c == 110 and ssub(s, pos, pos + 3) == "null" then
    return null, pos + 4
  end
  return BAIL
end

local function fast_decode(cfg, s)
  if cfg.decode_invalid_numbers == 0 then
    return BAIL -- leading zeros and the like are refused then: leave it to the tokenizer
  end
  local v, pos = fast_value(cfg, s, fast_ws(s, 1), 0)
  if v == BAIL or fast_ws(s, pos) <= #s then
    return BAIL
  end
  return v
end

-- ---------------------------------------------------------------------------
-- the module

local function argname(n, i, v)
  if i > n then
    return "no value"
  end
  return type(v)
end

-- An argument error: the text is made where the function's name is known (rethrow).
local function argerror(i, fname, msg)
  error({ FAIL, fname, i, msg }, 0)
end

local function rethrow(ok, a, ...)
  if ok then
    return a, ...
  end
  if type(a) == "table" and a[1] == FAIL then
    if a[3] then
      error(argmsg(2, a[3], a[4]), 3)
    end
    error(a[2], 3)
  end
  error(a, 0)
end

local new

-- The option setters of lua-cjson 2.1.0 (json_arg_init, json_enum_option,
-- json_integer_option), returning the settings they leave.
local function options(fname, nmax, ...)
  local n = select("#", ...)
  if n > nmax then
    argerror(nmax + 1, fname, "found too many arguments")
  end
  return n, { ... }
end

local BOOL_OPTIONS = { "off", "on" }

local function enum_option(fname, args, n, i, current, names, bool_true)
  local v = args[i]
  if i <= n and v ~= nil then
    if bool_true and type(v) == "boolean" then
      current = v and bool_true or 0
    else
      if type(v) ~= "string" and type(v) ~= "number" then
        argerror(i, fname, "string expected, got " .. argname(n, i, v))
      end
      local found
      for idx, name in ipairs(names) do
        if name == tostring(v) then
          found = idx - 1
        end
      end
      if not found then
        argerror(i, fname, "invalid option '" .. tostring(v) .. "'")
      end
      current = found
    end
  end
  return current
end

local function enum_result(current, names, bool_true)
  if bool_true and (current == 0 or current == bool_true) then
    return current ~= 0
  end
  return names[current + 1]
end

local function integer_option(fname, args, n, i, current, min, max)
  local v = args[i]
  if i <= n and v ~= nil then
    local x = tonumber(v)
    if x == nil or (type(v) ~= "number" and type(v) ~= "string") then
      argerror(i, fname, "number expected, got " .. argname(n, i, v))
    end
    if x ~= x or x >= 9223372036854775808 or x < -9223372036854775808 then
      x = -9223372036854775808
    end
    x = x >= 0 and floor(x) or -floor(-x)
    x = x % 4294967296
    if x >= 2147483648 then
      x = x - 4294967296
    end
    if not (min <= x and x <= max) then
      argerror(1, fname, sformat("expected integer between %d and %d", min, max))
    end
    current = x
  end
  return current
end

new = function()
  local cfg = {
    encode_sparse_convert = 0,
    encode_sparse_ratio = 2,
    encode_sparse_safe = 10,
    encode_max_depth = 1000,
    decode_max_depth = 1000,
    encode_invalid_numbers = 0,
    decode_invalid_numbers = 1,
    encode_keep_buffer = 1,
    encode_number_precision = 14,
    number_fmt = "%.14g",
  }

  local function encode(...)
    if select("#", ...) ~= 1 then
      argerror(1, "encode", "expected 1 argument")
    end
    local out = {}
    local n = encode_value(cfg, (...), 0, out, 0)
    return tconcat(out, "", 1, n)
  end

  local function decode(...)
    local n = select("#", ...)
    if n ~= 1 then
      argerror(1, "decode", "expected 1 argument")
    end
    local s = ...
    if type(s) == "number" then
      s = tostring(s)
    elseif type(s) ~= "string" then
      argerror(1, "decode", "string expected, got " .. argname(n, 1, s))
    end
    if #s >= 2 and (sbyte(s, 1) == 0 or sbyte(s, 2) == 0) then
      fail("JSON parser does not support UTF-16 or UTF-32")
    end
    local fast = fast_decode(cfg, s)
    if fast ~= BAIL then
      return fast
    end
    local p = { s = s, pos = 1, depth = 0 }
    local tt, tv, ti = next_token(cfg, p)
    local value = process_value(cfg, p, tt, tv, ti)
    tt, tv, ti = next_token(cfg, p)
    if tt ~= T_END then
      parse_error("the end", tt, tv, ti)
    end
    return value
  end

  local function encode_sparse_array(...)
    local n, args = options("encode_sparse_array", 3, ...)
    cfg.encode_sparse_convert = enum_option("encode_sparse_array", args, n, 1, cfg.encode_sparse_convert,
      BOOL_OPTIONS, 1)
    cfg.encode_sparse_ratio = integer_option("encode_sparse_array", args, n, 2, cfg.encode_sparse_ratio, 0, INT_MAX)
    cfg.encode_sparse_safe = integer_option("encode_sparse_array", args, n, 3, cfg.encode_sparse_safe, 0, INT_MAX)
    return enum_result(cfg.encode_sparse_convert, BOOL_OPTIONS, 1), cfg.encode_sparse_ratio, cfg.encode_sparse_safe
  end

  local function int_setter(fname, field, min, max)
    return function(...)
      local n, args = options(fname, 1, ...)
      cfg[field] = integer_option(fname, args, n, 1, cfg[field], min, max)
      if field == "encode_number_precision" then
        cfg.number_fmt = "%." .. cfg[field] .. "g"
      end
      return cfg[field]
    end
  end

  local function enum_setter(fname, field, names, bool_true)
    return function(...)
      local n, args = options(fname, 1, ...)
      cfg[field] = enum_option(fname, args, n, 1, cfg[field], names, bool_true)
      return enum_result(cfg[field], names, bool_true)
    end
  end

  local impl = {
    encode = encode,
    decode = decode,
    encode_sparse_array = encode_sparse_array,
    encode_max_depth = int_setter("encode_max_depth", "encode_max_depth", 1, INT_MAX),
    decode_max_depth = int_setter("decode_max_depth", "decode_max_depth", 1, INT_MAX),
    encode_number_precision = int_setter("encode_number_precision", "encode_number_precision", 1, 14),
    encode_keep_buffer = enum_setter("encode_keep_buffer", "encode_keep_buffer", BOOL_OPTIONS, 1),
    encode_invalid_numbers = enum_setter("encode_invalid_numbers", "encode_invalid_numbers", { "off", "on", "null" },
      1),
    decode_invalid_numbers = enum_setter("decode_invalid_numbers", "decode_invalid_numbers", BOOL_OPTIONS, 1),
  }

  local M = { _NAME = "cjson", _VERSION = "2.1.0", null = null, new = new }
  for name, f in raw_next, impl do
    if name == "encode_sparse_array" then
      M[name] = function(...)
        local a, b, c = rethrow(pcall(f, ...))
        return a, b, c
      end
    else
      M[name] = function(...)
        local a = rethrow(pcall(f, ...))
        return a
      end
    end
  end
  return M
end

return new()
