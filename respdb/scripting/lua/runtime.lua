-- The scripting environment of one Lua state, built once when the state is created.
--
-- Called with (host, libs, mode): `host` holds the Python callbacks, `libs` the library
-- tables already loaded (cjson, cmsgpack, struct, bit), `mode` is "eval" or "function".
-- Returns the entry points Python uses (compile, run, load, ...).
--
-- Redis runs scripts with read-only globals and read-only library tables (it patched its
-- Lua for that). Stock Lua 5.1 has no such tables, so every table a script can reach from
-- its globals is an empty proxy here: reads fall through to the real table, writes raise
-- Redis's error. The builtins that bypass metamethods (rawset, rawget, next, pairs,
-- setmetatable, getmetatable, table.insert) are replaced by versions that see through
-- the proxies, with the same error texts as the C originals.
--
-- Frames of internal code stand in for Redis's C functions: the error handler skips them
-- when it looks for the script line an error belongs to.

local host, libs, mode = ...

local type, select, error, tostring, tonumber = type, select, error, tostring, tonumber
local raw_get, raw_set, raw_next = rawget, rawset, next
local raw_setmt, raw_getmt = setmetatable, getmetatable
local raw_pcall, xpcall, unpack = pcall, xpcall, unpack
local raw_loadstring, raw_load, setfenv = loadstring, load, setfenv
local newproxy = newproxy
local sfind, ssub, sbyte, sformat, sgsub, slower = string.find, string.sub, string.byte, string.format, string.gsub,
  string.lower
local tconcat, raw_tinsert, table_maxn = table.concat, table.insert, table.maxn
local floor = math.floor
local getinfo, sethook, debug_getmt = debug.getinfo, debug.sethook, debug.getmetatable
local cocreate, coresume, costatus = coroutine.create, coroutine.resume, coroutine.status

local host_call, host_log, host_hook = host.call, host.log, host.hook
local host_call_table = host.call_table
local host_sha1, host_rand, host_srand, host_acl = host.sha1hex, host.rand, host.srand, host.acl
local host_patch = host.patch
local host_ldb_send, host_ldb_read, host_ldb_timeout = host.ldb_send, host.ldb_read, host.ldb_timeout
local sdump = string.dump

local HOOK_COUNT = 100000 -- instructions between two calls of the busy-script hook

-- Sources of internal chunks: the error handler does not report lines in them.
local INTERNAL = { ["=[respdb]"] = true }
for _, name in raw_next, libs.sources do
  INTERNAL[name] = true
end

-- ---------------------------------------------------------------------------
-- argument checks with the texts of lauxlib

local function argname(n, i, v)
  if i > n then
    return "no value"
  end
  return type(v)
end

-- argerror blames the caller of a wrapper (called by the wrapper itself); the check_*
-- helpers are one level deeper. User code is compiled without tail calls (bytecode.py),
-- so that caller is always on the stack; wrappers must not tail-call anything that raises.
local argmsg = libs.aux.argmsg

local function argerror(i, fname, msg, depth)
  depth = depth or 3
  error(argmsg(depth - 1, i, msg), depth)
end

local function check_table(n, i, v, fname)
  if type(v) ~= "table" then
    argerror(i, fname, "table expected, got " .. argname(n, i, v), 4)
  end
end

local function check_any(n, i, fname)
  if i > n then
    argerror(i, fname, "value expected", 4)
  end
end

-- luaL_checkint: a number (or numeric string) truncated to lua_Integer, then to a C int.
local TWO32, TWO31, TWO63 = 4294967296, 2147483648, 9223372036854775808
local function toint(x)
  if x ~= x or x >= TWO63 or x < -TWO63 then
    return 0 -- (int)LLONG_MIN
  end
  if x >= 0 then
    x = floor(x)
  else
    x = -floor(-x)
  end
  x = x % TWO32
  if x >= TWO31 then
    x = x - TWO32
  end
  return x
end

local function check_int(n, i, v, fname)
  local x = tonumber(v)
  if x == nil or (type(v) ~= "number" and type(v) ~= "string") then
    argerror(i, fname, "number expected, got " .. argname(n, i, v), 4)
  end
  return toint(x)
end

-- ---------------------------------------------------------------------------
-- read-only proxies

local REAL = {} -- proxy -> the table it stands for
local RO = {} -- tables (proxies) that refuse writes
local HIDDEN = libs.hidden -- __metatable of proxies: getmetatable() answers nil for them
local RO_MSG = "Attempt to modify a readonly table"

local function ro_newindex()
  error(RO_MSG, 2)
end

local function protect(t, shown)
  local p = {}
  raw_setmt(p, { __index = t, __newindex = ro_newindex, __metatable = shown or HIDDEN })
  REAL[p] = t
  RO[p] = true
  return p
end

-- ---------------------------------------------------------------------------
-- errors as Redis builds them (luaPushErrorBuff)

local function trim_crlf(s)
  local a, b = 1, #s
  while a <= b do
    local c = sbyte(s, a)
    if c ~= 13 and c ~= 10 then
      break
    end
    a = a + 1
  end
  while b >= a do
    local c = sbyte(s, b)
    if c ~= 13 and c ~= 10 then
      break
    end
    b = b - 1
  end
  return ssub(s, a, b)
end

-- "-CODE message" keeps its code, anything else gets the generic ERR code.
local function error_table(s, ignore_stats)
  local code, msg
  if sbyte(s, 1) == 45 then
    local sp = sfind(s, " ", 2, true)
    if sp then
      code, msg = ssub(s, 2, sp - 1), ssub(s, sp + 1)
    else
      code, msg = "ERR", ssub(s, 2)
    end
  else
    code, msg = "ERR", s
  end
  local t = { err = code .. " " .. trim_crlf(msg) }
  if ignore_stats then
    t.ignore_error_stats_update = true
  end
  return t
end

-- The handler given to xpcall: the error becomes a table with the script line attached.
local function err_handler(err)
  local level = 2
  local info = getinfo(level, "nSl")
  if info and info.what == "C" then
    level = level + 1
    info = getinfo(level, "nSl")
  end
  while info and (INTERNAL[info.source] or info.what == "tail") do
    level = level + 1
    info = getinfo(level, "nSl")
  end
  if type(err) ~= "table" then
    err = { err = "ERR " .. tostring(err) }
  end
  if info then
    err.source = info.source
    err.line = info.currentline
  end
  return err
end

-- ---------------------------------------------------------------------------
-- replies of redis.call: RESP bytes -> Lua values (redisProtocolToLuaType)

local parse
local function line_end(s, pos)
  return sfind(s, "\r\n", pos, true)
end

parse = function(s, pos)
  local t = sbyte(s, pos)
  local e = line_end(s, pos)
  if t == 36 then -- $ bulk string
    local n = tonumber(ssub(s, pos + 1, e - 1))
    if n < 0 then
      return false, e + 2
    end
    return ssub(s, e + 2, e + 1 + n), e + 4 + n
  elseif t == 58 then -- : integer
    return tonumber(ssub(s, pos + 1, e - 1)), e + 2
  elseif t == 43 then -- + status
    return { ok = ssub(s, pos + 1, e - 1) }, e + 2
  elseif t == 45 then -- - error
    return error_table(ssub(s, pos, e - 1), true), e + 2
  elseif t == 42 or t == 62 then -- * array, > push
    local n = tonumber(ssub(s, pos + 1, e - 1))
    if n < 0 then
      return false, e + 2
    end
    local arr, v = {}, nil
    pos = e + 2
    for i = 1, n do
      v, pos = parse(s, pos)
      arr[i] = v
    end
    return arr, pos
  elseif t == 37 then -- % map
    local n = tonumber(ssub(s, pos + 1, e - 1))
    local m, k, v = {}, nil, nil
    pos = e + 2
    for _ = 1, n do
      k, pos = parse(s, pos)
      v, pos = parse(s, pos)
      m[k] = v
    end
    return { map = m }, pos
  elseif t == 126 then -- ~ set
    local n = tonumber(ssub(s, pos + 1, e - 1))
    local m, k = {}, nil
    pos = e + 2
    for _ = 1, n do
      k, pos = parse(s, pos)
      m[k] = true
    end
    return { set = m }, pos
  elseif t == 95 then -- _ null
    return nil, e + 2
  elseif t == 35 then -- # boolean
    return sbyte(s, pos + 1) == 116, e + 2
  elseif t == 44 then -- , double
    return { double = tonumber(ssub(s, pos + 1, e - 1)) }, e + 2
  elseif t == 40 then -- ( big number
    return { big_number = ssub(s, pos + 1, e - 1) }, e + 2
  elseif t == 61 then -- = verbatim string: "fmt:text"
    local n = tonumber(ssub(s, pos + 1, e - 1))
    local body = ssub(s, e + 2, e + 1 + n)
    return { verbatim_string = { string = ssub(body, 5), format = ssub(body, 1, 3) } }, e + 4 + n
  elseif t == 124 then -- | attribute: skipped, the reply follows
    local n = tonumber(ssub(s, pos + 1, e - 1))
    pos = e + 2
    for _ = 1, 2 * n do
      local _v
      _v, pos = parse(s, pos)
    end
    return parse(s, pos)
  end
  return nil, e + 2
end

-- ---------------------------------------------------------------------------
-- script results: Lua values -> RESP bytes (luaReplyToRedisReply)

local NULLS = { [2] = "$-1\r\n", [3] = "_\r\n" }

local function mapcrlf(s)
  return (sgsub(s, "[\r\n]", " "))
end

local function bulk(s)
  return "$" .. #s .. "\r\n" .. s .. "\r\n"
end

local function double_reply(d, proto)
  local s
  if d == 1 / 0 then
    s = "inf"
  elseif d == -1 / 0 then
    s = "-inf"
  else
    s = sformat("%.17g", d)
  end
  if proto == 2 then
    return bulk(s)
  end
  return "," .. s .. "\r\n"
end

-- Error replies inside a result (Redis counts each in the error stats, unless it came from
-- a failed redis.call, already counted when the command ran).
local nested_counted, nested_ignored = nil, 0

-- Appends the reply for `v` to out[n+1..]; returns the new n. `proto` is the caller's
-- protocol, `sresp` the one the script chose with redis.setresp (booleans depend on it).
--
-- `u` mirrors the Lua stack slots Redis's recursive C converter has in use when it reaches
-- this value (2 at the top; an array element 1 more than its array, a map value 3 more, a
-- map key or set member 4 and 3 more): past 7996 lua_checkstack fails and Redis answers
-- "reached lua stack limit" in place of the value, which is how a self-referencing table
-- ends up being returned.
local STACK_LIMIT = 7996
local encode
encode = function(v, out, n, proto, sresp, u)
  local t = type(v)
  n = n + 1
  if u > STACK_LIMIT then
    out[n] = "-ERR reached lua stack limit\r\n"
    nested_counted = nested_counted or {}
    nested_counted[#nested_counted + 1] = "ERR reached lua stack limit"
    return n
  end
  if t == "string" then
    out[n] = bulk(v)
  elseif t == "number" then
    out[n] = sformat(":%d\r\n", v)
  elseif t == "boolean" then
    if sresp == 2 then
      out[n] = v and ":1\r\n" or NULLS[proto]
    elseif proto == 2 then
      out[n] = v and ":1\r\n" or ":0\r\n"
    else
      out[n] = v and "#t\r\n" or "#f\r\n"
    end
  elseif t == "table" then
    local f = raw_get(v, "err")
    if type(f) == "string" then
      f = mapcrlf(f)
      out[n] = "-" .. f .. "\r\n"
      if raw_get(v, "ignore_error_stats_update") == true then
        nested_ignored = nested_ignored + 1
      else
        nested_counted = nested_counted or {}
        nested_counted[#nested_counted + 1] = f
      end
      return n
    end
    f = raw_get(v, "ok")
    if type(f) == "string" then
      out[n] = "+" .. mapcrlf(f) .. "\r\n"
      return n
    end
    f = raw_get(v, "double")
    if type(f) == "number" then
      out[n] = double_reply(f, proto)
      return n
    end
    f = raw_get(v, "big_number")
    if type(f) == "string" then
      f = mapcrlf(f)
      out[n] = proto == 2 and bulk(f) or "(" .. f .. "\r\n"
      return n
    end
    f = raw_get(v, "verbatim_string")
    if type(f) == "table" then
      local fmt, s = raw_get(f, "format"), raw_get(f, "string")
      if type(fmt) == "string" and type(s) == "string" then
        if proto == 2 then
          out[n] = bulk(s)
        else
          out[n] = "=" .. (#s + 4) .. "\r\n" .. ssub(fmt .. "   ", 1, 3) .. ":" .. s .. "\r\n"
        end
        return n
      end
    end
    f = raw_get(v, "map")
    if type(f) == "table" then
      local head, count = n, 0
      for k, val in raw_next, f do
        n = encode(k, out, n, proto, sresp, u + 4)
        n = encode(val, out, n, proto, sresp, u + 3)
        count = count + 1
      end
      out[head] = proto == 2 and "*" .. (2 * count) .. "\r\n" or "%" .. count .. "\r\n"
      return n
    end
    f = raw_get(v, "set")
    if type(f) == "table" then
      local head, count = n, 0
      for k in raw_next, f do
        n = encode(k, out, n, proto, sresp, u + 3)
        count = count + 1
      end
      out[head] = (proto == 2 and "*" or "~") .. count .. "\r\n"
      return n
    end
    local head, j = n, 1
    while true do
      local item = raw_get(v, j)
      if item == nil then
        break
      end
      n = encode(item, out, n, proto, sresp, u + 1)
      j = j + 1
    end
    out[head] = "*" .. (j - 1) .. "\r\n"
  else
    out[n] = NULLS[proto]
  end
  return n
end

-- ---------------------------------------------------------------------------
-- the redis API

local resp, repl = 2, 3 -- of the running script: redis.setresp(), redis.set_repl()
local running = false

local function raise(t)
  error(t)
end

-- ---------------------------------------------------------------------------
-- the Lua debugger's log (SCRIPT DEBUG; the session itself is further below)

-- The running debugging session: nil, or { step, luabp, bps (lines in the order set),
-- maxlen, hint (the trimming hint was given), logs, nlogs, src (lines), currentline }.
local ldb = nil

local function ldb_log(entry)
  ldb.nlogs = ldb.nlogs + 1
  ldb.logs[ldb.nlogs] = entry
end

-- ldbLogWithMaxLen: Redis replies and Lua values are cut at `maxlen` bytes.
local function ldb_log_maxlen(entry)
  local trimmed = false
  if ldb.maxlen > 0 and #entry > ldb.maxlen then
    entry = ssub(entry, 1, ldb.maxlen) .. " ..."
    trimmed = true
  end
  ldb_log(entry)
  if trimmed and not ldb.hint then
    ldb.hint = true
    ldb_log("<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.")
  end
end

local function ldb_send()
  host_ldb_send(ldb.logs, ldb.nlogs)
  ldb.logs, ldb.nlogs = {}, 0
end

local REPR_ESCAPES = { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
  ["\a"] = "\\a", ["\b"] = "\\b" }  -- stylua: ignore

-- sdscatrepr: a quoted string with C escapes, other unprintable bytes as \xHH.
local function repr(str)
  return '"' .. sgsub(str, '[%c\\"\128-\255]', function(ch)
    return REPR_ESCAPES[ch] or sformat("\\x%02x", sbyte(ch))
  end) .. '"'
end

-- ldbCatStackValueRec: a Lua value as the debugger shows it.
local function value_repr(v, level)
  if level == 10 then
    return "<max recursion level reached! Nested table?>"
  end
  level = level + 1
  local t = type(v)
  if t == "string" then
    return repr(v)
  elseif t == "boolean" then
    return v and "true" or "false"
  elseif t == "number" then
    return sformat("%g", v)
  elseif t == "nil" then
    return "nil"
  elseif t == "table" then
    local expected, is_array = 1, true
    local as_array, as_map = {}, {}
    for k, x in raw_next, v do
      if is_array and (type(k) ~= "number" or k ~= expected) then
        is_array = false
      end
      as_array[#as_array + 1] = value_repr(x, level)
      as_map[#as_map + 1] = "[" .. value_repr(k, level) .. "]=" .. value_repr(x, level)
      expected = expected + 1
    end
    return "{" .. tconcat(is_array and as_array or as_map, "; ") .. "}"
  end
  local address = sfind(tostring(v), "0x", 1, true)
  address = address and ssub(tostring(v), address) or "0x0"
  local name = t == "userdata" and "userdata" or t == "thread" and "thread" or t == "function" and "function"
    or "unknown"
  return sformat('"%s@%s"', name, address)
end

-- ldbRedisProtocolToHuman: a RESP reply as the debugger shows it; returns it and the
-- position after it.
local function reply_repr(r, pos)
  local t = ssub(r, pos, pos)
  local eol = sfind(r, "\r", pos + 1, true) or #r + 1
  local head = ssub(r, pos + 1, eol - 1)
  local nxt = eol + 2
  if t == ":" then
    return head, nxt
  elseif t == "$" then
    local len = tonumber(head)
    if len == -1 then
      return "NULL", nxt
    end
    return repr(ssub(r, nxt, nxt + len - 1)), nxt + len + 2
  elseif t == "+" or t == "-" then
    return repr(ssub(r, pos, eol - 1)), nxt
  elseif t == "*" or t == "~" or t == "%" then
    local n = tonumber(head)
    if t == "*" and n == -1 then
      return "NULL", nxt
    end
    local parts, p = {}, nxt
    for i = 1, n do
      local a
      a, p = reply_repr(r, p)
      if t == "%" then
        local b
        b, p = reply_repr(r, p)
        a = a .. " => " .. b
      end
      parts[i] = a
    end
    local open, close = "[", "]"
    if t == "~" then
      open, close = "~(", ")"
    elseif t == "%" then
      open, close = "{", "}"
    end
    return open .. tconcat(parts, ",") .. close, p
  elseif t == "_" then
    return "(null)", nxt
  elseif t == "#" then
    return ssub(r, pos + 1, pos + 1) == "t" and "#true" or "#false", nxt
  elseif t == "," then
    return "(double) " .. head, nxt
  end
  return "", nxt
end

-- luaArgsToRedisArgv: strings as they are, numbers as %.17g, anything else refused.
local function to_argv(...)
  local n = select("#", ...)
  if n == 0 then
    return nil, error_table("Please specify at least one argument for this redis lib call")
  end
  local argv = { ... }
  for i = 1, n do
    local v = argv[i]
    local tv = type(v)
    if tv == "number" then
      argv[i] = sformat("%.17g", v)
    elseif tv ~= "string" then
      return nil, error_table("Lua redis lib command arguments must be strings or integers")
    end
  end
  return argv, n
end

local function all_strings(n, ...)
  if n > 8 then
    return false
  end
  for i = 1, n do
    if type((select(i, ...))) ~= "string" then
      return false
    end
  end
  return n > 0
end

-- What redis.call does with a command and its reply while the debugger steps.
local function ldb_log_command(...)
  local n = select("#", ...)
  local parts = { "<redis>" }
  for j = 1, n do
    if j == 11 then
      parts[#parts + 1] = sformat("... (%d more)", n - j)
      break
    end
    parts[#parts + 1] = tostring((select(j, ...)))
  end
  ldb_log(tconcat(parts, " "))
end

local function ldb_log_reply(reply)
  if sbyte(reply, 1) == 45 and sfind(reply, "from script", 1, true) then
    -- refused before running (unknown command, arity...): Redis logs it as an error
    local msg = ssub(reply, 2, -3)
    if ssub(msg, 1, 4) == "ERR " then
      msg = ssub(msg, 5)
    end
    ldb_log("<error> " .. msg)
  else
    ldb_log_maxlen("<reply> " .. (reply_repr(reply, 1)))
  end
end

local function command(raise_error, ...)
  local reply
  local logging = ldb and ldb.step
  if logging then
    ldb_log_command(...)
  end
  if all_strings(select("#", ...), ...) then
    reply = host_call(resp, repl, ...)
  else
    local argv, n = to_argv(...)
    if not argv then
      if raise_error then
        raise(n)
      end
      return n
    end
    if n > 250 then -- more values than Lua's C stack takes: Python reads the table
      reply = host_call_table(resp, repl, argv, n)
    else
      reply = host_call(resp, repl, unpack(argv, 1, n))
    end
  end
  if logging then
    ldb_log_reply(reply)
  end
  local t = sbyte(reply, 1)
  if t == 36 then
    if sbyte(reply, 2) == 45 then
      return false
    end
    return ssub(reply, sfind(reply, "\r\n", 2, true) + 2, -3)
  elseif t == 43 then
    return { ok = ssub(reply, 2, -3) }
  elseif t == 58 then
    return tonumber(ssub(reply, 2, -3))
  elseif t == 45 then
    local e = error_table(ssub(reply, 1, -3), true)
    if raise_error then
      raise(e)
    end
    return e
  end
  return (parse(reply, 1))
end

local R = {}

R.call = function(...)
  return command(true, ...)
end

R.pcall = function(...)
  return command(false, ...)
end

R.sha1hex = function(...)
  if select("#", ...) ~= 1 then
    raise(error_table("wrong number of arguments"))
  end
  local s = ...
  if type(s) == "number" then
    s = tostring(s)
  elseif type(s) ~= "string" then
    s = ""
  end
  return host_sha1(s)
end

R.error_reply = function(...)
  local s = ...
  if select("#", ...) ~= 1 or type(s) ~= "string" then
    return error_table("wrong number or type of arguments")
  end
  if sbyte(s, 1) ~= 45 then
    s = "-" .. s
  end
  return error_table(s)
end

R.status_reply = function(...)
  local s = ...
  if select("#", ...) ~= 1 or type(s) ~= "string" then
    return error_table("wrong number or type of arguments")
  end
  return { ok = s }
end

local function redis_log(...)
  local n = select("#", ...)
  if n < 2 then
    raise(error_table("redis.log() requires two arguments or more."))
  end
  local level = ...
  if tonumber(level) == nil or (type(level) ~= "number" and type(level) ~= "string") then
    raise(error_table("First argument must be a number (log level)."))
  end
  level = toint(tonumber(level))
  if level < 0 or level > 3 then
    raise(error_table("Invalid debug level."))
  end
  local parts, k = {}, 0
  local args = { ... }
  for j = 2, n do
    local s = args[j]
    local ts = type(s)
    if ts == "number" then
      s = tostring(s)
      ts = "string"
    end
    if ts == "string" then
      if j ~= 2 then
        k = k + 1
        parts[k] = " "
      end
      k = k + 1
      parts[k] = s
    end
  end
  host_log(level, tconcat(parts, "", 1, k))
end

R.log = redis_log
R.LOG_DEBUG, R.LOG_VERBOSE, R.LOG_NOTICE, R.LOG_WARNING = 0, 1, 2, 3

R.setresp = function(...)
  if select("#", ...) ~= 1 then
    raise(error_table("redis.setresp() requires one argument."))
  end
  local v = toint(tonumber((...)) or 0)
  if v ~= 2 and v ~= 3 then
    raise(error_table("RESP version must be 2 or 3."))
  end
  resp = v
end

R.set_repl = function(...)
  if select("#", ...) ~= 1 then
    raise(error_table("redis.set_repl() requires two arguments."))
  end
  local v = toint(tonumber((...)) or 0)
  if v < 0 or v > 3 then
    raise(error_table("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."))
  end
  repl = v
end
R.REPL_NONE, R.REPL_AOF, R.REPL_SLAVE, R.REPL_REPLICA, R.REPL_ALL = 0, 1, 2, 2, 3

R.replicate_commands = function()
  return true
end

R.breakpoint = function()
  if ldb then
    ldb.luabp = true
    return true
  end
  return false
end

R.debug = function(...)
  if ldb then
    local parts = {}
    for i = 1, select("#", ...) do
      parts[i] = value_repr((select(i, ...)), 0)
    end
    ldb_log(sformat("<debug> line %d: ", ldb.currentline) .. tconcat(parts, ", "))
  end
end

R.acl_check_cmd = function(...)
  local argv, n = to_argv(...)
  if not argv then
    raise(n)
  end
  local ok = host_acl(unpack(argv, 1, n)) -- the whole call: keys and channels count too
  if ok == nil then
    raise(error_table("Invalid command passed to redis.acl_check_cmd()"))
  end
  return ok
end

R.REDIS_VERSION = host.version
R.REDIS_VERSION_NUM = host.version_num

-- ---------------------------------------------------------------------------
-- math.random as Redis provides it: Lua's algorithm on Redis's own 48-bit generator,
-- whose state is shared by every script and function of the server.

local RAND_MAX = 2147483647

local function redis_random(...)
  local n = select("#", ...)
  local r = (host_rand() % RAND_MAX) / RAND_MAX
  if n == 0 then
    return r
  end
  local a, b = ...
  if n == 1 then
    local u = check_int(n, 1, a, "random")
    if u < 1 then
      argerror(1, "random", "interval is empty")
    end
    return floor(r * u) + 1
  elseif n == 2 then
    local l = check_int(n, 1, a, "random")
    local u = check_int(n, 2, b, "random")
    if l > u then
      argerror(2, "random", "interval is empty")
    end
    return floor(r * (u - l + 1)) + l
  end
  error("wrong number of arguments", 2)
end

local function redis_randomseed(...)
  local seed = check_int(select("#", ...), 1, (...), "randomseed")
  host_srand(seed)
end

-- ---------------------------------------------------------------------------
-- builtins that must see through the proxies

local ENV = {} -- what scripts see as their globals (set up below)

-- Compiled user code: reloaded without tail calls, run in the read-only globals.
local function prepare(f)
  f = raw_loadstring(host_patch(sdump(f)))
  setfenv(f, ENV)
  return f
end

local function w_next(...)
  local n = select("#", ...)
  local t, k = ...
  check_table(n, 1, t, "next")
  return raw_next(REAL[t] or t, k)
end

local function w_pairs(...)
  local t = ...
  check_table(select("#", ...), 1, t, "pairs")
  return w_next, t, nil
end

local function w_rawget(...)
  local n = select("#", ...)
  local t, k = ...
  check_table(n, 1, t, "rawget")
  check_any(n, 2, "rawget")
  return raw_get(REAL[t] or t, k)
end

local function w_rawset(...)
  local n = select("#", ...)
  local t, k, v = ...
  check_table(n, 1, t, "rawset")
  check_any(n, 2, "rawset")
  check_any(n, 3, "rawset")
  if RO[t] then
    error(RO_MSG, 0)
  end
  return raw_set(t, k, v)
end

local function w_getmetatable(...)
  if select("#", ...) == 0 then
    argerror(1, "getmetatable", "value expected")
  end
  local mt = raw_getmt((...))
  if mt == HIDDEN then
    return nil
  end
  return mt
end

local function w_setmetatable(...)
  local n = select("#", ...)
  local t, mt = ...
  check_table(n, 1, t, "setmetatable")
  if mt ~= nil and type(mt) ~= "table" then
    argerror(2, "setmetatable", "nil or table expected")
  end
  if RO[t] then
    error(RO_MSG, 0)
  end
  local old = debug_getmt(t)
  if old ~= nil and raw_get(old, "__metatable") ~= nil then
    error("cannot change a protected metatable", 2)
  end
  return raw_setmt(t, mt)
end

local function w_tinsert(...)
  local n = select("#", ...)
  local t = ...
  check_table(n, 1, t, "insert")
  if n ~= 2 and n ~= 3 then
    error("wrong number of arguments to 'insert'", 2)
  end
  if n == 3 then
    check_int(n, 2, select(2, ...), "insert")
  end
  if RO[t] then
    error(RO_MSG, 0)
  end
  return raw_tinsert(...)
end

-- Redis's pcall hands back the message of an error table rather than the table.
local function pcall_result(ok, ...)
  if ok then
    return ok, ...
  end
  local e = ...
  if type(e) == "table" then
    local m = e.err
    if type(m) == "string" or type(m) == "number" then
      e = m
    end
  end
  return false, e
end

local function w_pcall(...)
  if select("#", ...) == 0 then
    return false, "attempt to call a boolean value"
  end
  return pcall_result(raw_pcall(...))
end

-- Precompiled (binary) chunks are refused, as in Redis. Code loaded at run time gets the
-- read-only globals (the state's own globals table stays internal: lupa needs it).
local function w_loadstring(...)
  local n = select("#", ...)
  local s, name = ...
  if type(s) ~= "string" and type(s) ~= "number" then
    argerror(1, "loadstring", "string expected, got " .. argname(n, 1, s))
  end
  s = tostring(s)
  if sbyte(s, 1) == 27 then
    return nil, "attempt to load a binary chunk"
  end
  local f, err = raw_loadstring(s, name)
  if not f then
    return nil, err
  end
  return prepare(f)
end

local function w_load(...)
  local n = select("#", ...)
  local f, name = ...
  if type(f) ~= "function" then
    argerror(1, "load", "function expected, got " .. argname(n, 1, f))
  end
  local parts, k = {}, 0
  while true do
    local piece = f()
    if piece == nil or piece == "" then
      break
    end
    if type(piece) ~= "string" then
      return nil, "reader function must return a string"
    end
    k = k + 1
    parts[k] = piece
  end
  local s = tconcat(parts, "", 1, k)
  if sbyte(s, 1) == 27 then
    return nil, "attempt to load a binary chunk"
  end
  local fn, err = raw_loadstring(s, name or "=(load)")
  if not fn then
    return nil, err
  end
  return prepare(fn)
end

-- Coroutines get the busy-script hook too (a Lua hook is per thread).
local hook

local function w_cocreate(...)
  local f = ...
  if type(f) ~= "function" then
    argerror(1, "create", "Lua function expected")
  end
  local co = cocreate(f)
  sethook(co, hook, "", HOOK_COUNT)
  return co
end

local function wrap_error(e)
  if type(e) == "string" then
    error(e, 3)
  end
  error(e, 0)
end

local function w_cowrap(...)
  local f = ...
  if type(f) ~= "function" then
    argerror(1, "wrap", "Lua function expected")
  end
  local co = cocreate(f)
  sethook(co, hook, "", HOOK_COUNT)
  return function(...)
    local res = { coresume(co, ...) }
    if not res[1] then
      wrap_error(res[2])
    end
    return unpack(res, 2, table_maxn(res))
  end
end

-- ---------------------------------------------------------------------------
-- the globals scripts see

local function missing_global(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

local function copy(t)
  local c = {}
  for k, v in raw_next, t do
    c[k] = v
  end
  return c
end

local string_lib = copy(string)
local math_lib = copy(math)
math_lib.random = redis_random
math_lib.randomseed = redis_randomseed
local table_lib = copy(table)
table_lib.insert = w_tinsert
local coroutine_lib = copy(coroutine)
coroutine_lib.create = w_cocreate
coroutine_lib.wrap = w_cowrap

local STRING = protect(string_lib)

local RUN = {
  xpcall = xpcall,
  tostring = tostring,
  setmetatable = w_setmetatable,
  next = w_next,
  assert = assert,
  tonumber = tonumber,
  rawequal = rawequal,
  collectgarbage = collectgarbage,
  getmetatable = w_getmetatable,
  rawset = w_rawset,
  pcall = w_pcall,
  coroutine = protect(coroutine_lib),
  type = type,
  select = select,
  unpack = unpack,
  gcinfo = gcinfo,
  pairs = w_pairs,
  rawget = w_rawget,
  loadstring = w_loadstring,
  ipairs = ipairs,
  _VERSION = _VERSION,
  load = w_load,
  error = error,
  string = STRING,
  table = protect(table_lib),
  math = protect(math_lib),
  cjson = protect(libs.cjson),
  bit = protect(libs.bit),
  struct = protect(libs.struct),
  cmsgpack = protect(libs.cmsgpack),
  redis = protect(R),
}
raw_setmt(RUN, { __index = missing_global, __metatable = HIDDEN })

local ENV_MT = { __index = RUN, __newindex = ro_newindex }
-- getmetatable(_G): what Redis shows, a read-only table whose __index is the function that
-- refuses unknown globals
ENV_MT.__metatable = protect({ __index = missing_global, __newindex = ro_newindex })
raw_setmt(ENV, ENV_MT)
RUN._G = ENV
RO[ENV] = true
REAL[ENV] = RUN

-- The string metatable is read-only too; method calls go through the proxy.
local SM = raw_getmt("")
SM.__index = STRING
SM.__metatable = protect(SM)

-- Library tables reach scripts only through their proxies.
if mode == "eval" then
  RUN.__redis__err__handler = err_handler
end

-- What FUNCTION LOAD code sees: redis.register_function, redis.log and the versions.
local LOADING = {}
local load_ctx = nil -- the library being loaded

local function valid_name(s)
  return #s > 0 and not sfind(s, "[^%w_]")
end

local function isstring(v)
  return type(v) == "string" or type(v) == "number"
end

local FLAG_NAMES = { "no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys" }
local FLAG_BITS = {}
for i, name in ipairs(FLAG_NAMES) do
  FLAG_BITS[name] = 2 ^ (i - 1)
end

local function read_flags(t)
  local flags, j = 0, 1
  local seen = {}
  while true do
    local v = t[j]
    if v == nil then
      return flags
    end
    if not isstring(v) then
      return nil
    end
    local bit = FLAG_BITS[slower(tostring(v))]
    if not bit then
      return nil
    end
    if not seen[bit] then
      seen[bit] = true
      flags = flags + bit
    end
    j = j + 1
  end
end

local function register_error(msg)
  raise(error_table(msg))
end

local function register_function(...)
  local ctx = load_ctx
  if not ctx then
    register_error("redis.register_function can only be called on FUNCTION LOAD command")
  end
  local n = select("#", ...)
  if n < 1 or n > 2 then
    register_error("wrong number of arguments to redis.register_function")
  end
  local name, callback, flags, desc = nil, nil, 0, nil
  if n == 1 then
    local args = ...
    if type(args) ~= "table" then
      register_error(
        "calling redis.register_function with a single argument is only applicable to Lua table "
          .. "(representing named arguments)."
      )
    end
    for k, v in raw_next, REAL[args] or args do
      if not isstring(k) then
        register_error("named argument key given to redis.register_function is not a string")
      end
      local key = slower(tostring(k))
      if key == "function_name" then
        if not isstring(v) then
          register_error("function_name argument given to redis.register_function must be a string")
        end
        name = tostring(v)
      elseif key == "description" then
        if not isstring(v) then
          register_error("description argument given to redis.register_function must be a string")
        end
        desc = tostring(v)
      elseif key == "callback" then
        if type(v) ~= "function" then
          register_error("callback argument given to redis.register_function must be a function")
        end
        callback = v
      elseif key == "flags" then
        if type(v) ~= "table" then
          register_error("flags argument to redis.register_function must be a table representing function flags")
        end
        flags = read_flags(v)
        if not flags then
          register_error("unknown flag given")
        end
      else
        register_error("unknown argument given to redis.register_function")
      end
    end
    if not name then
      register_error("redis.register_function must get a function name argument")
    end
    if not callback then
      register_error("redis.register_function must get a callback argument")
    end
  else
    local a, b = ...
    if not isstring(a) then
      register_error("first argument to redis.register_function must be a string")
    end
    if type(b) ~= "function" then
      register_error("second argument to redis.register_function must be a function")
    end
    name, callback = tostring(a), b
  end
  if not valid_name(name) then
    register_error(
      "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
    )
  end
  if ctx.seen[name] then
    register_error("Function already exists in the library")
  end
  ctx.seen[name] = true
  ctx.n = ctx.n + 1
  ctx.functions[ctx.n] = { name, callback, flags, desc }
end

if mode == "function" then
  local LR = {
    register_function = register_function,
    log = redis_log,
    LOG_DEBUG = 0,
    LOG_VERBOSE = 1,
    LOG_NOTICE = 2,
    LOG_WARNING = 3,
    REDIS_VERSION = host.version,
    REDIS_VERSION_NUM = host.version_num,
  }
  raw_setmt(LR, { __index = missing_global, __metatable = HIDDEN })
  LOADING.redis = protect(LR)
  raw_setmt(LOADING, { __index = missing_global, __metatable = HIDDEN })
end

-- ---------------------------------------------------------------------------
-- running scripts

local KILLED = "Script killed by user with SCRIPT KILL..."
local stop_message = KILLED -- what stopping the running code means (a kill, a load timeout)
local stopped = false -- the hook fires on every line once the code is stopped

local function kill_hook()
  if running then
    raise(error_table(stop_message))
  end
end

-- Called every HOOK_COUNT instructions (the hook stays installed): while code runs it lets
-- Python check the time, serve other clients when the script is busy, and stop it. Once
-- stopped, the hook fires on every line so that pcall cannot swallow the error.
hook = function()
  if running and host_hook() then
    stopped = true
    sethook(kill_hook, "l")
    raise(error_table(stop_message))
  end
end

-- After a run (on the line of its pcall, before any other line can fire the line hook):
--   running = false if stopped then stopped = false sethook(hook, "", HOOK_COUNT) end

-- The error message of a script that raised: "<msg> script: <name>, on <source>:<line>."
local function script_error(err, funcname)
  if type(err) ~= "table" then
    return 1, "ERR Error running script " .. funcname .. ", " .. ssub(tostring(err), 1, 100)
  end
  local msg = err.err
  if type(msg) == "number" then
    msg = tostring(msg)
  elseif type(msg) ~= "string" then
    msg = "ERR (null)"
  end
  local source, line = err.source, err.line
  if isstring(source) and isstring(line) then
    msg = msg .. " script: " .. funcname .. ", on " .. tostring(source) .. ":" .. tostring(line) .. "."
  end
  return err.ignore_error_stats_update == true and 2 or 1, mapcrlf(msg)
end

-- Status codes for Python: 0 reply, 1 error reply (counted in the error stats),
-- 2 error reply already counted when the failing command ran. A reply (0) also comes with
-- the error replies nested in it: the messages to count, and how many were counted already.
local function finish(ok, res, proto, funcname)
  if not ok then
    return script_error(res, funcname)
  end
  local t = type(res)
  if t == "string" then
    return 0, "$" .. #res .. "\r\n" .. res .. "\r\n"
  elseif t == "number" then
    return 0, sformat(":%d\r\n", res)
  end
  if t == "table" and type(raw_get(res, "err")) == "string" then
    local status = raw_get(res, "ignore_error_stats_update") == true and 2 or 1
    return status, mapcrlf(raw_get(res, "err"))
  end
  local out = {}
  nested_counted, nested_ignored = nil, 0
  local n = encode(res, out, 0, proto, resp, 2)
  local counted, ignored = nested_counted, nested_ignored
  nested_counted = nil
  return 0, tconcat(out, "", 1, n), counted, ignored
end

local function args_tables(nkeys, keys, argv, ...)
  if nkeys < 0 then
    return keys, argv
  end
  if nkeys == 0 then
    return {}, { ... }
  end
  local n = select("#", ...)
  if nkeys == n then
    return { ... }, {}
  end
  local all = { ... }
  return { unpack(all, 1, nkeys) }, { unpack(all, nkeys + 1, n) }
end

local current_fn, current_keys, current_argv
local gc_runs = 0
local collectgarbage = collectgarbage

local function call_function()
  return current_fn(current_keys, current_argv)
end

-- run(fn, proto, funcname, is_eval, nkeys, keys, argv, ...): keys and argv come either as
-- the tables (nkeys < 0) or as the values after them.
local function run(fn, proto, funcname, is_eval, nkeys, keys, argv, ...)
  resp, repl = 2, 3
  keys, argv = args_tables(nkeys, keys, argv, ...)
  local target = fn
  if is_eval then
    RUN.KEYS, RUN.ARGV = keys, argv
  else
    current_fn, current_keys, current_argv = fn, keys, argv
    target = call_function
  end
  stop_message = KILLED
  running = true
  -- stylua: ignore
  local ok, res = xpcall(target, err_handler) running = false if stopped then stopped = false sethook(hook, "", HOOK_COUNT) end
  current_fn, current_keys, current_argv = nil, nil, nil
  -- Like Redis, some garbage collection every 50 runs rather than a full cycle now and then.
  gc_runs = gc_runs + 1
  if gc_runs == 50 then
    gc_runs = 0
    collectgarbage("step", 50)
  end
  return finish(ok, res, proto, funcname)
end

-- ---------------------------------------------------------------------------
-- the Lua debugger (SCRIPT DEBUG YES|SYNC), after Redis's ldb: a line hook stops the script
-- and runs a read-eval-print loop over the client's connection (host.ldb_read/ldb_send do
-- the blocking I/O); the commands and their outputs are Redis's.

local function source_line(n)
  return ldb.src[n] or "<out of range source code line>"
end

local function is_bp(line)
  for _, l in ipairs(ldb.bps) do
    if l == line then
      return true
    end
  end
  return false
end

local function log_source_line(n)
  local current, bp = ldb.currentline == n, is_bp(n)
  local prefix = (current and bp) and "->#" or current and "-> " or bp and "  #" or "   "
  ldb_log(sformat("%s%-3d %s", prefix, n, source_line(n)))
end

local function ldb_list(around, ctx)
  for j = 1, #ldb.src do
    if around == 0 or math.abs(around - j) <= ctx then
      log_source_line(j)
    end
  end
end

-- The stack level of the script's running function as seen from the caller of this function
-- (getinfo(level + 1) here is getinfo(level) there).
local function script_level()
  local level = 2
  while true do
    local info = getinfo(level + 1, "S")
    if not info then
      return nil
    end
    if sfind(info.short_src, "user_script", 1, true) then
      return level
    end
    level = level + 1
  end
end

-- The local variables of the function at `level` (as getlocal numbers them), in order.
local function frame_locals(level)
  local names, values = {}, {}
  local i = 1
  while true do
    local k, v = debug.getlocal(level + 1, i)
    if k == nil then
      return names, values
    end
    names[i], values[i] = k, v
    i = i + 1
  end
end

local function ldb_print(name)
  local level = script_level()
  while level and getinfo(level, "S") do
    local names, values = frame_locals(level)
    for i = 1, #names do
      if names[i] == name then
        ldb_log_maxlen("<value> " .. value_repr(values[i], 0))
        return
      end
    end
    level = level + 1
  end
  if name == "ARGV" or name == "KEYS" then
    ldb_log_maxlen("<value> " .. value_repr(RUN[name], 0))
  else
    ldb_log("No such variable.")
  end
end

local function ldb_print_all()
  local level, vars = script_level(), 0
  if level then
    local names, values = frame_locals(level)
    for i = 1, #names do
      if not sfind(names[i], "(*temporary)", 1, true) then
        ldb_log_maxlen("<value> " .. names[i] .. " = " .. value_repr(values[i], 0))
        vars = vars + 1
      end
    end
  end
  if vars == 0 then
    ldb_log("No local variables in the current context.")
  end
end

local function ldb_trace()
  local level, first = script_level(), true
  if not level then
    ldb_log("<error> Can't retrieve Lua stack.")
    return
  end
  while true do
    local info = getinfo(level, "Snl")
    if not info then
      break
    end
    if sfind(info.short_src, "user_script", 1, true) then
      ldb_log(sformat("%s %s:", first and "In" or "From", info.name or "top level"))
      log_source_line(info.currentline)
    end
    first = false
    level = level + 1
  end
end

local function ldb_break(argv, argc)
  if argc == 1 then
    if #ldb.bps == 0 then
      ldb_log("No breakpoints set. Use 'b <line>' to add one.")
    else
      ldb_log(sformat("%d breakpoints set:", #ldb.bps))
      for _, l in ipairs(ldb.bps) do
        log_source_line(l)
      end
    end
    return
  end
  for j = 2, argc do
    local arg = argv[j]
    local line = sfind(arg, "^%-?%d+$") and tonumber(arg) or nil
    if not line then
      ldb_log(sformat("Invalid argument:'%s'", arg))
    elseif line == 0 then
      ldb.bps = {}
      ldb_log("All breakpoints removed.")
    elseif line > 0 then
      if #ldb.bps == 64 then
        ldb_log("Too many breakpoints set.")
      elseif line <= #ldb.src and not is_bp(line) then
        ldb.bps[#ldb.bps + 1] = line
        ldb_list(line, 1)
      else
        ldb_log("Wrong line number.")
      end
    else
      local found = false
      for i, l in ipairs(ldb.bps) do
        if l == -line then
          table.remove(ldb.bps, i)
          found = true
          break
        end
      end
      ldb_log(found and "Breakpoint removed." or "No breakpoint in the specified line.")
    end
  end
end

local function ldb_eval(argv, argc)
  local code = tconcat(argv, " ", 2, argc)
  local f = raw_loadstring("return " .. code, "@ldb_eval")
  if not f then
    local err
    f, err = raw_loadstring(code, "@ldb_eval")
    if not f then
      ldb_log("<error> " .. err)
      return
    end
  end
  setfenv(f, ENV)
  local ok, res = raw_pcall(f)
  if not ok then
    ldb_log("<error> " .. (type(res) == "table" and tostring(res.err) or tostring(res)))
    return
  end
  ldb_log_maxlen("<retval> " .. value_repr(res, 0))
end

local function ldb_maxlen(argv, argc)
  if argc == 2 then
    local n = tonumber(sfind(argv[2], "^%s*[-+]?%d+") and argv[2]:match("^%s*([-+]?%d+)")) or 0
    ldb.hint = true
    if n ~= 0 and n <= 60 then
      n = 60
    end
    ldb.maxlen = n
  end
  if ldb.maxlen > 0 then
    ldb_log(sformat("<value> replies are truncated at %d bytes.", ldb.maxlen))
  else
    ldb_log("<value> replies are unlimited.")
  end
end

local LDB_HELP = {
  "Redis Lua debugger help:",
  "[h]elp               Show this help.",
  "[s]tep               Run current line and stop again.",
  "[n]ext               Alias for step.",
  "[c]ontinue           Run till next breakpoint.",
  "[l]ist               List source code around current line.",
  "[l]ist [line]        List source code around [line].",
  "                     line = 0 means: current position.",
  "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
  "                     to show before/after [line].",
  "[w]hole              List all source code. Alias for 'list 1 1000000'.",
  "[p]rint              Show all the local variables.",
  "[p]rint <var>        Show the value of the specified variable.",
  "                     Can also show global vars KEYS and ARGV.",
  "[b]reak              Show all breakpoints.",
  "[b]reak <line>       Add a breakpoint to the specified line.",
  "[b]reak -<line>      Remove breakpoint from the specified line.",
  "[b]reak 0            Remove all breakpoints.",
  "[t]race              Show a backtrace.",
  "[e]val <code>        Execute some Lua code (in a different callframe).",
  "[r]edis <cmd>        Execute a Redis command.",
  "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
  "                     Specifying zero as <len> means unlimited.",
  "[a]bort              Stop the execution of the script. In sync",
  "                     mode dataset changes will be retained.",
  "",
  "Debugger functions you can call from Lua scripts:",
  "redis.debug()        Produce logs in the debugger console.",
  "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
  "                     next line of code.",
}

-- ldbRepl: debugger commands until one resumes the script; false when the client is gone.
local function ldb_repl()
  while true do
    local argv, argc = host_ldb_read()
    if argv == nil then
      ldb.step = false -- no client: the script runs on without stopping
      ldb.bps = {}
      return false
    elseif type(argv) == "string" then
      raise(error_table(argv))
    end
    -- strcasecmp on C strings: a name ends at a NUL byte
    local name = slower((sgsub(argv[1], "%z.*", "")))
    if name == "h" or name == "help" then
      for _, line in ipairs(LDB_HELP) do
        ldb_log(line)
      end
      ldb_send()
    elseif name == "s" or name == "step" or name == "n" or name == "next" then
      ldb.step = true
      return true
    elseif name == "c" or name == "continue" then
      return true
    elseif name == "t" or name == "trace" then
      ldb_trace()
      ldb_send()
    elseif name == "m" or name == "maxlen" then
      ldb_maxlen(argv, argc)
      ldb_send()
    elseif name == "b" or name == "break" then
      ldb_break(argv, argc)
      ldb_send()
    elseif name == "e" or name == "eval" then
      ldb_eval(argv, argc)
      ldb_send()
    elseif name == "a" or name == "abort" then
      raise(error_table("script aborted for user request"))
    elseif argc > 1 and (name == "r" or name == "redis") then
      ldb.step = true -- so that redis.call logs the command and its reply
      raw_pcall(R.call, unpack(argv, 2, argc))
      ldb.step = false
      ldb_send()
    elseif name == "p" or name == "print" then
      if argc == 2 then
        ldb_print(argv[2])
      else
        ldb_print_all()
      end
      ldb_send()
    elseif name == "l" or name == "list" then
      local around, ctx = ldb.currentline, 5
      if argc > 1 then
        local n = tonumber(argv[2]:match("^%s*([-+]?%d+)") or "0")
        if n > 0 then
          around = n
        end
      end
      if argc > 2 then
        ctx = tonumber(argv[3]:match("^%s*([-+]?%d+)") or "0")
      end
      ldb_list(around, ctx)
      ldb_send()
    elseif name == "w" or name == "whole" then
      ldb_list(1, 1000000)
      ldb_send()
    else
      ldb_log("<error> Unknown Redis Lua debugger command or wrong number of arguments.")
      ldb_send()
    end
  end
end

-- luaLdbLineHook: on each line of the script (and every HOOK_COUNT instructions, for the
-- timeout), stop when stepping, at a breakpoint or after redis.breakpoint().
local function ldb_hook(event)
  local info = getinfo(2, "Sl")
  if not info or not sfind(info.short_src, "user_script", 1, true) then
    return
  end
  ldb.currentline = info.currentline
  local bp = is_bp(ldb.currentline) or ldb.luabp
  local timeout = false
  if event == "count" and not ldb.step and not bp then
    if not host_ldb_timeout(false) then
      return
    end
    timeout = true
    ldb.step = true
  end
  if ldb.step or bp then
    local reason = "step over"
    if bp then
      reason = ldb.luabp and "redis.breakpoint() called" or "break point"
    elseif timeout then
      reason = "timeout reached, infinite loop?"
    end
    ldb.step, ldb.luabp = false, false
    ldb_log(sformat("* Stopped at %d, stop reason = %s", ldb.currentline, reason))
    log_source_line(ldb.currentline)
    ldb_send()
    if not ldb_repl() and timeout then
      raise(error_table("timeout during Lua debugging with client closing connection"))
    end
    host_ldb_timeout(true) -- (the time limit counts again from here)
  end
end

-- run() under the debugger; `src` is the script's lines. The remaining logs and an
-- <endsession> mark are sent before the reply.
local function debug_run(src, ...)
  ldb = { step = true, luabp = false, bps = {}, maxlen = 256, hint = false, logs = {}, nlogs = 0, src = src,
    currentline = -1 }  -- stylua: ignore
  sethook(ldb_hook, "l", HOOK_COUNT)
  local ok, a, b, c, d = raw_pcall(run, ...)
  sethook(hook, "", HOOK_COUNT)
  ldb_log("<endsession>")
  ldb_send()
  ldb = nil
  if not ok then
    error(a)
  end
  return a, b, c, d
end

-- EVAL bodies: compiled as a chunk named @user_script, run in the read-only globals.
local function compile(body, chunkname)
  local f, err = raw_loadstring(body, chunkname)
  if not f then
    return nil, err
  end
  return prepare(f)
end

-- FUNCTION LOAD: run the library code with the loading globals; returns the functions it
-- registered as a list of {name, callback, flags, description}, or nil and the error.
local function load_library(code)
  local f, err = raw_loadstring(code, "@user_function")
  if not f then
    return nil, "Error compiling function: " .. err
  end
  f = prepare(f)
  local ctx = { functions = {}, seen = {}, n = 0 }
  load_ctx = ctx
  ENV_MT.__index = LOADING
  stop_message = "FUNCTION LOAD timeout"
  running = true
  -- stylua: ignore
  local ok, res = raw_pcall(f) running = false if stopped then stopped = false sethook(hook, "", HOOK_COUNT) end
  ENV_MT.__index = RUN
  load_ctx = nil
  if not ok then
    local msg
    if type(res) == "table" and isstring(res.err) then
      msg = tostring(res.err)
    elseif isstring(res) then
      msg = "ERR " .. tostring(res)
    else
      msg = "ERR (null)"
    end
    return nil, "Error registering functions: " .. msg
  end
  return ctx.functions, ctx.n
end

sethook(hook, "", HOOK_COUNT)

return {
  compile = compile,
  run = run,
  debug_run = debug_run,
  load_library = load_library,
}
