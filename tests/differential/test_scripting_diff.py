"""Lua scripting against Redis 7.0: a corpus of scripts, replies compared byte for byte in RESP2
and RESP3 (conversions, errors, pcall, the sandbox, cjson, cmsgpack, struct, bit, math.random,
shebang flags, SCRIPT and FUNCTION commands).

Two pieces of server state outlive a script in Redis and are mirrored here: the generator behind
math.random (scripts that use it seed it first) and cjson's configuration (scripts that change
it put it back).
"""

from __future__ import annotations

import pytest

from .harness import Pair, parse, serialize


def ev(script: str, *args: str | int, keys: int = 0) -> tuple:
    return ("EVAL", script, keys, *args)


def _sorted_listing(node: tuple) -> tuple:
    """FUNCTION LIST in a canonical order: Redis walks its dicts in hash order."""
    t, libs = node
    if not isinstance(libs, list):
        return node
    out = []
    for lib in libs:
        lt, fields = lib
        fields = list(fields)
        for i in range(0, len(fields), 2):
            if fields[i] == ("$", b"functions") and isinstance(fields[i + 1][1], list):
                ft, funcs = fields[i + 1]
                fields[i + 1] = (ft, sorted(funcs, key=serialize))
        out.append((lt, fields))
    return (t, sorted(out, key=serialize))


def run_cmd(p: Pair, cmd: tuple) -> bytes:
    if len(cmd) >= 2 and str(cmd[0]).upper() == "FUNCTION" and str(cmd[1]).upper() == "LIST":
        a, b = p.both(*cmd)
        if a != b and a[:1] != b"-" and b[:1] != b"-":
            assert _sorted_listing(parse(a)) == _sorted_listing(parse(b)), (cmd, a, b)
        else:
            p.compare(cmd, a, b)
        p.history.append(cmd)
        return a
    return p.run(*cmd)


def run_all(p: Pair, cmds: list) -> None:
    p.reset()
    p.both("SCRIPT", "FLUSH")
    for cmd in cmds:
        run_cmd(p, ev(cmd) if isinstance(cmd, str) else cmd)


# ---------------------------------------------------------------------------
# Lua -> RESP conversions

CONVERSIONS = [
    "return 1",
    "return 1.9",
    "return -1.9",
    "return 0.5",
    "return -0.5",
    "return 1e20",
    "return -1e20",
    "return 2^53",
    "return 2^63",
    "return -2^63",
    "return 0/0",
    "return 1/0",
    "return -1/0",
    "return true",
    "return false",
    "return nil",
    "return",
    "return 'hello'",
    "return ''",
    "return '\\0a\\255'",
    "return {}",
    "return {1, 2, 3, 'ciao', {1, 2}}",
    "return {1, 2, nil, 4}",
    "return {1, 2.5, 'x', true, false, {}, nil, 3}",
    "return {false}",
    "return {true, false, true}",
    "return {{}, {{}}, {{{}}}}",
    "return {1, n = 2}",
    "return {[2] = 1}",
    "return {[1] = 1, [2] = 2, [4] = 4}",
    "return function() end",
    "return coroutine.create(function() end)",
    "return {ok = 'fine'}",
    "return {ok = 'a\\r\\nb'}",
    "return {ok = ''}",
    "return {ok = 1}",
    "return {ok = {}}",
    "return {err = 'this is an error'}",
    "return {err = 'MYCODE my message'}",
    "return {err = ''}",
    "return {err = 'x\\r\\ny'}",
    "return {err = 1}",
    "return {ok = 'a', err = 'b'}",
    "return {1, {ok = 'a'}, {err = 'E x'}}",
    "return {double = 1.5}",
    "return {double = 3}",
    "return {double = 0.1}",
    "return {double = 1/3}",
    "return {double = -0.0}",
    "return {double = 1e300}",
    "return {double = 1/0}",
    "return {double = -1/0}",
    "return {double = 0/0}",
    "return {double = '1.5'}",
    "return {big_number = '123456789012345678901234567890'}",
    "return {big_number = '12\\r\\n3'}",
    "return {big_number = 123}",
    "return {verbatim_string = {format = 'txt', string = 'hello'}}",
    "return {verbatim_string = {format = 'markdown', string = 'x'}}",
    "return {verbatim_string = {format = 'ab', string = 'x'}}",
    "return {verbatim_string = {format = 'txt'}}",
    "return {map = {a = 1, b = {1, 2}, c = true, d = false}}",
    "return {map = {}}",
    "return {map = {[1] = 'x', [2.5] = 'y'}}",
    "return {map = {[true] = 1}}",
    "return {map = 1}",
    "return {set = {a = true, b = true}}",
    "return {set = {}}",
    "return {set = {1, 2}}",
    "return {set = {[{}] = true}}",
    "return {{map = {x = {set = {y = true}}}}, {double = 2.5}}",
    "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2]}",
    "return {#KEYS, #ARGV}",
    "return redis.call('ping')",
    "redis.setresp(3) return true",
    "redis.setresp(3) return false",
    "redis.setresp(3) return {true, false, nil, 1}",
    "redis.setresp(3) return nil",
    "redis.setresp(2) return false",
    "redis.setresp('3') return true",
    "redis.setresp(2.5) return false",
]


def test_conversions(p: Pair) -> None:
    cmds = []
    for s in CONVERSIONS:
        if "KEYS" in s:
            cmds.append(ev(s, "a{t}", "b{t}", "c", "d", keys=2))
        else:
            cmds.append(ev(s))
    run_all(p, cmds)


# ---------------------------------------------------------------------------
# RESP -> Lua conversions (redis.call replies)

REPLIES = [
    ("SET", "str", "value"),
    ("RPUSH", "list", "a", "b", "c"),
    ("HSET", "hash", "f1", "v1", "f2", "v2"),
    ("SADD", "set", "m1"),
    ("ZADD", "zset", "1.5", "a", "2", "b"),
    "local v = redis.call('get', 'str') return {type(v), v}",
    "local v = redis.call('get', 'nokey') return {type(v), tostring(v)}",
    "local v = redis.call('incr', 'counter') return {type(v), v}",
    "local v = redis.call('lrange', 'list', 0, -1) return {type(v), #v, v[1], v[3]}",
    "local v = redis.call('lrange', 'nolist', 0, -1) return {type(v), #v}",
    "local v = redis.call('set', 'x', 'y') return {type(v), v.ok}",
    "local v = redis.pcall('incr', 'str') return {type(v), v.err}",
    "local v = redis.pcall('lpush', 'str', 'x') return v.err",
    "return redis.call('hgetall', 'hash')",
    "return redis.call('zrange', 'zset', 0, -1, 'withscores')",
    "return redis.call('zscore', 'zset', 'a')",
    "return redis.call('smembers', 'set')",
    "return redis.call('exists', 'str', 'nokey')",
    "return redis.call('lpop', 'nolist')",
    "return redis.call('get', 'nokey')",
    "redis.setresp(3) return redis.call('hgetall', 'hash')",
    "redis.setresp(3) local r = redis.call('hgetall', 'hash') return {type(r), type(r.map), r.map.f1}",
    "redis.setresp(3) return redis.call('zscore', 'zset', 'a')",
    "redis.setresp(3) local r = redis.call('zscore', 'zset', 'a') return {type(r), tostring(r.double)}",
    "redis.setresp(3) return redis.call('zrange', 'zset', 0, -1, 'withscores')",
    "redis.setresp(3) return redis.call('smembers', 'set')",
    "redis.setresp(3) local r = redis.call('smembers', 'set') return {type(r.set), r.set.m1}",
    "redis.setresp(3) local r = redis.call('get', 'nokey') return {type(r)}",
    "redis.setresp(3) return redis.call('get', 'nokey')",
    "redis.setresp(3) return redis.call('lpop', 'nolist')",
    "redis.setresp(3) return redis.call('hgetall', 'nohash')",
    "redis.setresp(3) return redis.call('zscore', 'zset', 'nomember')",
    "return redis.call('set', 'n', 3.5) and redis.call('get', 'n')",
    "return redis.call('set', 'n', 0.1) and redis.call('get', 'n')",
    "return redis.call('set', 'n', 1e20) and redis.call('get', 'n')",
    "return redis.call('set', 'n', 12345678901234567890) and redis.call('get', 'n')",
    "return redis.call('set', 'n', 2^53) and redis.call('get', 'n')",
    "return redis.call('set', 'n', 1/0) and redis.call('get', 'n')",
    "return redis.call('set', 'n', 0/0) and redis.call('get', 'n')",
    "return redis.call('set', 'n', 100) and redis.call('get', 'n')",
    "return redis.call('set', 'n', 1e-7) and redis.call('get', 'n')",
    "return redis.call('SET', 'upper', 'x')",
    "return redis.call('Get', 'upper')",
    "return redis.call('object', 'encoding', 'list')",
    "return redis.call('select', 1) and redis.call('set', 'indb1', 'x')",
    ("GET", "indb1"),
    ("SELECT", "1"),
    ("GET", "indb1"),
    ("SELECT", "0"),
    "redis.call('randomkey') return redis.call('set', 'rk', 'x')",
    "return redis.call('publish', 'ch', 'm')",
    "return #redis.call('time')",
]


def test_call_replies(p: Pair) -> None:
    run_all(p, REPLIES)


# ---------------------------------------------------------------------------
# errors

ERRORS = [
    "error('x')",
    "error('x\\r\\ny')",
    "error()",
    "error(nil)",
    "error(12)",
    "error(true)",
    "error('x', 0)",
    "error('x', 2)",
    "error({err = 'FOO bar'})",
    "error({err = 'x'}, 2)",
    "error(redis.error_reply('X y'))",
    "local function f() error('deep') end f()",
    "local function f() error('lvl2', 2) end f()",
    "local t = nil return t.x",
    "return 1 + {}",
    "return #nil",
    "return nosuch()",
    "return redis.nosuch()",
    "return ('x'):nosuch()",
    "return (",
    "return 'unfinished",
    "\nreturn (",
    "local x = 1\n\nerror('line three')",
    "x = 1",
    "return y",
    "return redis.error_reply('FOO x')",
    "return redis.error_reply('-FOO x')",
    "return redis.error_reply('foo')",
    "return redis.error_reply('')",
    "return redis.error_reply('-')",
    "return redis.error_reply(1)",
    "return redis.error_reply()",
    "return redis.status_reply('x')",
    "return redis.status_reply(1)",
    "return redis.status_reply()",
    "return redis.status_reply('a', 'b')",
    "return redis.call()",
    "return redis.pcall()",
    "return redis.call('nosuch')",
    "return redis.pcall('nosuch')",
    "return redis.call('get')",
    "return redis.call('get', 'a', 'b')",
    "return redis.call('set', 'k')",
    "return redis.call('object')",
    "return redis.call('object', 'nosuch')",
    "return redis.call('config')",
    "return redis.call('config', 'nosub')",
    "return redis.call('get', {})",
    "return redis.call('get', nil)",
    "return redis.call('get', true)",
    "return redis.pcall('get', true)",
    "return redis.call('blpop', 'l', 0)",
    "return redis.call('brpoplpush', 'l', 'l2', 0)",
    "return redis.call('subscribe', 'ch')",
    "return redis.call('psubscribe', 'ch')",
    "return redis.call('eval', 'return 1', 0)",
    "return redis.call('multi')",
    "return redis.call('exec')",
    "return redis.call('watch', 'x')",
    "return redis.call('script', 'load', 'return 1')",
    "return redis.call('function', 'list')",
    "return redis.call('fcall', 'x', 0)",
    "return redis.call('client', 'list')",
    "return redis.call('config', 'get', 'maxmemory')",
    "return redis.call('shutdown')",
    "return redis.call('auth', 'x')",
    "return redis.call('hello')",
    "return redis.call('wait', 0, 0)",
    "return redis.call('save')",
    "return redis.call('quit')",
    "return redis.call('reset')",
    "redis.call('set', 'str', 'v') return redis.call('incr', 'str')",
    "redis.call('set', 'str', 'v') return redis.call('lpush', 'str', 'x')",
    "return redis.call('get', 'str', 'x', 'y')",
    "local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), e}",
    "local ok, e = pcall(redis.call, 'incr', 'str') return {tostring(ok), e}",
    "return {pcall(redis.call, 'nosuch')}",
    "local ok, e = pcall(function() error({err = 'X y'}) end) return {type(e), e}",
    "local ok, e = pcall(function() error({}) end) return {type(e)}",
    "local ok, e = pcall(function() error({err = 5}) end) return {type(e), e}",
    "local ok, e = pcall(error) return {tostring(ok), tostring(e)}",
    "local ok, e = pcall(error, 'msg') return {tostring(ok), e}",
    "local ok, e = pcall(error, 'msg', 0) return {tostring(ok), e}",
    "return {pcall(function() return 1, 2 end)}",
    "return {pcall(function(...) return select('#', ...) end, nil, nil)}",
    "return {xpcall(redis.call, function(e) return type(e) end, 'nosuch')}",
    "return {xpcall(function() redis.call('nosuch') end, function(e) return type(e) end)}",
    "return {xpcall(function() error('x') end, function(e) return e end)}",
    "local co = coroutine.create(function() error('in co') end) return {coroutine.resume(co)}",
    "local co = coroutine.create(function() x = 1 end) return {coroutine.resume(co)}",
    "return coroutine.wrap(function() error('in co') end)()",
    "return coroutine.wrap(function() error({err = 'E co'}) end)()",
    "return redis.sha1hex()",
    "return redis.sha1hex(1, 2)",
    "redis.log(1)",
    "redis.log('x', 1)",
    "redis.log(5, 1)",
    "redis.log(-1, 'x')",
    "redis.log(3.9, 'x') return 2",
    "redis.log('3', 'hello', 1, nil, {}, 'x') return 1",
    "redis.setresp(4)",
    "redis.setresp()",
    "redis.set_repl()",
    "redis.set_repl(8)",
    "redis.set_repl(-1)",
    "redis.set_repl('1') return 1",
    "redis.set_repl(redis.REPL_NONE) return 1",
    "return redis.acl_check_cmd('get', 'x')",
    "return redis.acl_check_cmd('nosuch')",
    "return redis.acl_check_cmd()",
    "return pairs()",
    "return pairs(nil)",
    "return next({}, 'nokey')",
    "return rawget()",
    "return rawset({}, 1)",
    "return setmetatable(1, {})",
    "return setmetatable({}, 1)",
    "local t = setmetatable({}, {__metatable = 1}) return setmetatable(t, {})",
    "return getmetatable()",
    "return string.format('%s', nil)",
    "return string.rep()",
    "return ('x'):rep(-1)",
    "return tonumber()",
    "return math.floor('x')",
    "return table.concat({1, {}, 3})",
    "return unpack()",
]


def test_errors(p: Pair) -> None:
    run_all(p, ERRORS)


def test_numkeys_and_evalsha_errors(p: Pair) -> None:
    run_all(
        p,
        [
            ("EVAL", "return 1", -1),
            ("EVAL", "return 1", 2, "a"),
            ("EVAL", "return 1", "x"),
            ("EVAL", "return 1", "1.5"),
            ("EVAL", "return 1", ""),
            ("EVAL", "return 1", "99999999999999999999"),
            ("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", 0),
            ("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", -1),
            ("EVALSHA", "fff", 0),
            ("EVALSHA", "fff", -1),
            ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 0),
            ("EVAL", "return 1", 0),
            ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 0),
            ("EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", 0),
            ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", -1),
            ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 1),
            ("EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 0),
            ("EVAL",),
            ("EVAL", "return 1"),
            ("EVALSHA", "x"),
            ("EVAL_RO", "return redis.call('set', 'a', 'b')", 0),
            ("EVAL_RO", "return redis.call('get', 'a')", 0),
            ("EVALSHA_RO", "ffffffffffffffffffffffffffffffffffffffff", 0),
        ],
    )


# ---------------------------------------------------------------------------
# shebang flags

SHEBANGS = [
    "#!lua\nreturn 1",
    "#!lua flags=no-writes\nreturn 1",
    "#!lua flags=no-writes,allow-oom\nreturn 1",
    "#!lua flags=allow-cross-slot-keys\nreturn 1",
    "#!lua flags=no-cluster\nreturn 1",
    "#!lua flags=allow-stale\nreturn 1",
    "#!lua flags=\nreturn 1",
    "#!lua  flags=no-writes  \nreturn 2",
    "#!lua flags=no-writes flags=allow-oom\nreturn 2",
    '#!lua flags="no-writes"\nreturn 3',
    "#!lua flags=bad\nreturn 1",
    "#!lua flags=NO-WRITES\nreturn 1",
    "#!lua flags=no-writes,,allow-oom\nreturn 2",
    "#!lua flags=no-writes, allow-oom\nreturn 2",
    "#!lua name=x\nreturn 1",
    "#!lu\nreturn 1",
    "#!luax\nreturn 1",
    "#!python\nreturn 1",
    "#! lua\nreturn 1",
    "#!lua",
    "#!lua flags=no-writes",
    "#!lua\treturn 1",
    " #!lua\nreturn 1",
    "#!lua flags=no-writes\nreturn redis.call('set', 'x', 'y')",
    "#!lua\nreturn redis.call('set', 'x', 'y')",
    "#!lua\nreturn redis.call('get', KEYS[1])",
    "#!lua\nerror('line two')",
    "#!lua\n\nreturn (",
]


def test_shebang(p: Pair) -> None:
    cmds: list = [ev(s) for s in SHEBANGS]
    cmds += [
        ("EVAL_RO", "#!lua\nreturn 1", 0),
        ("EVAL_RO", "#!lua flags=no-writes\nreturn 1", 0),
        ("EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')", 0),
        ("EVAL_RO", "return 1", 0),
    ]
    run_all(p, cmds)


# ---------------------------------------------------------------------------
# the sandbox

SANDBOX = [
    "local t = {} for k in pairs(_G) do t[#t + 1] = k end table.sort(t) return t",
    "local t = {} for k, v in pairs(redis) do t[#t + 1] = k .. '=' .. type(v) end table.sort(t) return t",
    "local t = {} for k, v in pairs(string) do t[#t + 1] = k end table.sort(t) return t",
    "local t = {} for k, v in pairs(math) do t[#t + 1] = k end table.sort(t) return t",
    "local t = {} for k, v in pairs(table) do t[#t + 1] = k end table.sort(t) return t",
    "local t = {} for k, v in pairs(coroutine) do t[#t + 1] = k end table.sort(t) return t",
    "local t = {} for k, v in pairs(cjson) do t[#t + 1] = k .. '=' .. type(v) end table.sort(t) return t",
    "local t = {} for k, v in pairs(cmsgpack) do t[#t + 1] = k .. '=' .. type(v) end table.sort(t) return t",
    "local t = {} for k, v in pairs(bit) do t[#t + 1] = k end table.sort(t) return t",
    "local t = {} for k, v in pairs(struct) do t[#t + 1] = k end table.sort(t) return t",
    "local n = 0 for k, v in next, redis do n = n + 1 end return n",
    "return rawget(string, 'format') ~= nil",
    "return rawget(_G, 'redis') ~= nil",
    "x = 1",
    "redis = 1",
    "_G.x = 1",
    "_G._G = 1",
    "string.foo = 1",
    "string.format = nil",
    "redis.call = function() end",
    "cjson.null = 2",
    "math.pi = 3",
    "bit.band = nil",
    "struct.pack = nil",
    "cmsgpack.pack = nil",
    "coroutine.create = nil",
    "table.insert = nil",
    "local t = redis; t.x = 1",
    "rawset(_G, 'x', 1)",
    "rawset(string, 'x', 1)",
    "rawset(redis, 'call', 1)",
    "setmetatable(_G, {})",
    "setmetatable(string, {})",
    "table.insert(redis, 1) return 1",
    "table.insert(_G, 1) return 1",
    "table.sort(string) return 1",
    "table.remove(redis) return 1",
    "getmetatable('').__index = 1",
    "getmetatable('').x = 1 return 1",
    "return getmetatable('').x",
    "return tostring(getmetatable('').__index == string)",
    "return tostring(getmetatable(redis))",
    "return tostring(getmetatable(string))",
    "return tostring(getmetatable(cjson.null))",
    "return tostring(_G._G == _G)",
    "return tostring(_G.redis == redis)",
    "return #redis",
    "return x",
    "return _G.nosuch",
    "return print",
    "return os",
    "return io",
    "return debug",
    "return require",
    "return module",
    "return dofile",
    "return loadfile",
    "return getfenv",
    "return setfenv",
    "return newproxy",
    "return package",
    "return type(loadstring)",
    "return type(load)",
    "return type(gcinfo)",
    "return type(collectgarbage)",
    "return _VERSION",
    "return type(__redis__err__handler)",
    "local f = loadstring('return 7') return f()",
    "local f, e = loadstring('return (') return e",
    "local f = loadstring('x = 1') f() return 1",
    "return pcall(loadstring('x = 1'))",
    "local f = loadstring('return redis.call(\"ping\")') return f()",
    "return loadstring(string.dump(function() return 1 end))()",
    "local f = loadstring('return pairs(nil)') return f()",
    "local parts = {'return ', '42'} local i = 0 return load(function() i = i + 1 return parts[i] end)()",
    "local t = setmetatable({}, {__index = function(t, k) return k .. '!' end}) return t.foo",
    "local t = setmetatable({}, {__index = string}) return t.upper('a')",
    "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) return {co(1), co(10)}",
    "return ('abc'):upper()",
    "local s = 0 for i, v in ipairs({5, 6, 7}) do s = s + i * v end return s",
    "return select('#', 1, nil, 3)",
    "return {unpack({1, 2, 3})}",
    "return {rawequal(redis, redis), rawequal({}, {})}",
    "return type(redis.call)",
    "return redis.REDIS_VERSION",
    "return redis.REDIS_VERSION_NUM",
    "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}",
    "return redis.breakpoint()",
    "return redis.debug('x')",
    "return redis.replicate_commands()",
    "return redis.sha1hex('')",
    "return redis.sha1hex('Pizza & Mandolino')",
    "return redis.sha1hex(nil)",
    "return redis.sha1hex({})",
    "return redis.sha1hex(12)",
]


def test_sandbox(p: Pair) -> None:
    run_all(p, SANDBOX)


# ---------------------------------------------------------------------------
# Lua 5.1 itself (numbers, strings, tables)

LUA51 = [
    "return tostring(1e15)",
    "return tostring(1e16)",
    "return tostring(0.1)",
    "return tostring(-0)",
    "return tostring(1/3)",
    "return 3.14159265358979 .. ''",
    "return string.format('%5.2f|%d|%s|%q|%x|%g|%e', 3.14159, 42, 'hi', 'a\\nb\\0c', 255, 1e20, 12345.678)",
    "return string.format('%d', 3.7)",
    "return string.format('%d', -3.7)",
    "return string.format('%.3s|%-5s|%5s', 'abcdef', 'ab', 'ab')",
    "return string.format('%c%c', 72, 105)",
    "return #'abc'",
    "local t = {1, 2, 3, nil, 5} return #t",
    "local t = {} t[1] = 1 t[2] = 2 t[4] = 4 return #t",
    "local t = {nil, nil, 3} return #t",
    "return tonumber('0x10')",
    "return tonumber('  12  ')",
    "return tonumber('1e2')",
    "return tonumber('z', 36)",
    "return tonumber('10', 2)",
    "return tostring(tonumber('abc'))",
    "return math.floor(-3.5)",
    "return math.fmod(7, 3)",
    "return 7 % -3",
    "return -7 % 3",
    "return math.max(1, 5, 3)",
    "return math.huge > 1e308",
    "return tostring(math.huge)",
    "return tostring(-math.huge)",
    "return math.pi",
    "return tostring(math.pi)",
    "return tostring(math.sqrt(2))",
    "return {math.modf(3.7)}",
    "return tostring(select(2, math.frexp(1024)))",
    "return string.byte('ABC', 1, 3)",
    "return {string.byte('ABC', 1, 3)}",
    "return {string.find('hello', 'l+')}",
    "return {string.find('a.b', '.', 1, true)}",
    "return {string.match('key:123', '(%a+):(%d+)')}",
    "return {string.gsub('hello world', 'o', '0')}",
    "return string.gsub('abc', '%w', '%0%0')",
    "local t = {} for w in string.gmatch('one two three', '%a+') do t[#t + 1] = w end return t",
    "return string.rep('ab', 3, ',')",
    "return string.reverse('abc')",
    "return string.sub('hello', -3)",
    "return string.lower('ABC') .. string.upper('def')",
    "return string.len('\\0\\0')",
    "return table.concat({1, 2, 3}, ',')",
    "return table.concat({}, ',')",
    "local t = {3, 1, 2} table.sort(t) return t",
    "local t = {3, 1, 2} table.sort(t, function(a, b) return a > b end) return t",
    "local t = {1, 2} table.insert(t, 3) table.insert(t, 1, 0) return t",
    "local t = {1, 2, 3} table.remove(t, 1) return t",
    "return table.getn({1, 2, 3})",
    "return table.maxn({1, 2, [10] = 3})",
    "return gcinfo() > 0",
    "return collectgarbage('count') > 0",
    "return tostring(nil) .. tostring(true) .. tostring(12)",
    "return 10 / 4",
    "return 2 ^ 10",
    "return 'abc' < 'abd'",
    "return 1 == 1.0",
    "return '10' + 5",
    "return 10 .. 20",
    "local a <const> = 1 return a",
]


def test_lua51(p: Pair) -> None:
    run_all(p, LUA51)


# ---------------------------------------------------------------------------
# cjson

CJSON = [
    "return cjson.encode({1, 2, 3})",
    "return cjson.encode({})",
    "return cjson.encode({a = 1})",
    "return cjson.encode({a = 1, b = 2, c = 3, d = 4, e = 5})",
    "return cjson.encode({x = {1, 2}, y = 'z'})",
    "return cjson.encode({[1] = 1, [2] = 2, [4] = 4})",
    "return cjson.encode({[1] = 1, [3] = 3})",
    "return cjson.encode({[1] = 1, [10] = 3})",
    "return cjson.encode({[1] = 1, [11] = 3})",
    "return cjson.encode({[1] = 1, [20] = 3})",
    "return cjson.encode({[2] = 1})",
    "return cjson.encode({[0] = 1})",
    "return cjson.encode({[-1] = 1})",
    "return cjson.encode({[1.5] = 1})",
    "return cjson.encode({1, a = 2})",
    "return cjson.encode({1, 2, nil, 4})",
    "return cjson.encode({[1] = 1, [2] = 2, [3] = 3, [5] = 5})",
    "return cjson.encode({['1'] = 1})",
    "return cjson.encode({[true] = 1})",
    "return cjson.encode({[1/0] = 1})",
    "return cjson.encode({a = {b = {c = {}}}})",
    "return cjson.encode('a\"b\\\\c/d\\n\\r\\t\\b\\f\\0e\\1')",
    "return cjson.encode('\\127\\128\\255')",
    "return cjson.encode('\\31 \\226\\130\\172')",
    "return cjson.encode({['a b'] = '\\0'})",
    "return cjson.encode(0.1)",
    "return cjson.encode(1/3)",
    "return cjson.encode(1e100)",
    "return cjson.encode(-0)",
    "return cjson.encode(123456789012345)",
    "return cjson.encode(3)",
    "return cjson.encode(-3.25)",
    "return cjson.encode(1e15)",
    "return cjson.encode(1e16)",
    "return cjson.encode(2^53)",
    "return cjson.encode(0.1 + 0.2)",
    "return cjson.encode(1e-5)",
    "return cjson.encode(1/0)",
    "return cjson.encode(-1/0)",
    "return cjson.encode(0/0)",
    "return cjson.encode(true)",
    "return cjson.encode(false)",
    "return cjson.encode(nil)",
    "return cjson.encode(cjson.null)",
    "return cjson.encode({cjson.null, 1})",
    "return cjson.encode(function() end)",
    "return cjson.encode({f = function() end})",
    "return cjson.encode(coroutine.create(function() end))",
    "return cjson.encode()",
    "return cjson.encode(1, 2)",
    "local t = {} t[1] = t return cjson.encode(t)",
    "local t = {} local c = t for i = 1, 1100 do c[1] = {} c = c[1] end return cjson.encode(t)",
    "local t = {} local c = t for i = 1, 999 do c[1] = {} c = c[1] end return #cjson.encode(t)",
    "return cjson.decode('[1,2,3]')[3]",
    "return cjson.decode('{\"a\":1}').a",
    "return tostring(cjson.decode('1.5'))",
    "return tostring(cjson.decode('1e400'))",
    "return tostring(cjson.decode('-0'))",
    "return cjson.decode('\"\\\\u00e9\"')",
    "return cjson.decode('\"\\\\ud83d\\\\ude00\"')",
    "return cjson.decode('\"\\\\ud83d\"')",
    "return cjson.decode('\"\\\\ude00\"')",
    "return cjson.decode('\"\\\\ud83dx\"')",
    "return cjson.decode('\"\\\\u12\"')",
    "return cjson.decode('\"\\\\u0000\"')",
    'return cjson.decode(\'"\\\\/\\\\b\\\\f\\\\n\\\\r\\\\t\\\\\\\\\\\\""\')',
    "return cjson.decode('\"\\\\x\"')",
    "return cjson.decode('\"a\\nb\"')",
    "return cjson.decode('{')",
    "return cjson.decode('[1,]')",
    "return cjson.decode('')",
    "return cjson.decode('   ')",
    "return cjson.decode('nul')",
    "return cjson.decode('[1] x')",
    "return cjson.decode('\"abc')",
    "return cjson.decode(' true ')",
    "return cjson.decode('false')",
    "return cjson.decode('TRUE')",
    "return tostring(cjson.decode('null'))",
    "return cjson.decode('null') == cjson.null",
    "return type(cjson.decode('[null]')[1])",
    "return cjson.decode('0x10')",
    "return cjson.decode('01')",
    "return cjson.decode('+1')",
    "return cjson.decode('1.')",
    "return cjson.decode('.5')",
    "return cjson.decode('1e')",
    "return cjson.decode('1e+2')",
    "return cjson.decode('- 1')",
    "return cjson.decode('-')",
    "return cjson.decode('[1,2')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('{1:2}')",
    "return cjson.decode('{\"a\":1,}')",
    'return cjson.decode(\'{"a":1 "b":2}\')',
    "return cjson.decode('[1 2]')",
    "return cjson.decode('nan')",
    "return tostring(cjson.decode('NaN'))",
    "return tostring(cjson.decode('Infinity'))",
    "return tostring(cjson.decode('-Infinity'))",
    "return tostring(cjson.decode('inf'))",
    "return tostring(cjson.decode('-inf'))",
    "return cjson.decode()",
    "return cjson.decode(12)",
    "return cjson.decode({})",
    "return cjson.decode(nil)",
    "return cjson.decode('[1,2,3]', 1)",
    'return cjson.decode(\'{"a":1,"a":2}\').a',
    "return cjson.decode('[[[[[[[[[[1]]]]]]]]]]')[1][1][1][1][1][1][1][1][1][1]",
    "return cjson.decode(string.rep('[', 1100) .. string.rep(']', 1100))",
    "return cjson.decode(string.rep('{\"a\":', 1001))",
    "return cjson.decode('a\\0b')",
    'return cjson.encode(cjson.decode(\'{"a":[1,2,{"b":null}],"c":"d"}\'))',
    "return cjson.encode(cjson.decode('[1.5, -2, 3e10, \"s\", true, false, null, {}, []]'))",
    "return {cjson.encode_sparse_array()}",
    "return {cjson.encode_max_depth()}",
    "return {cjson.decode_max_depth()}",
    "return {cjson.encode_number_precision()}",
    "return {cjson.encode_keep_buffer()}",
    "return {cjson.encode_invalid_numbers()}",
    "return {cjson.decode_invalid_numbers()}",
    "return cjson.encode_number_precision(0)",
    "return cjson.encode_number_precision(15)",
    "return cjson.encode_number_precision('x')",
    "return cjson.encode_number_precision(1, 2)",
    "return cjson.encode_sparse_array('x')",
    "return cjson.encode_max_depth(0)",
    "return cjson.encode_invalid_numbers('maybe')",
    "return cjson._NAME .. ' ' .. cjson._VERSION",
    "return type(cjson.new)",
    "local c = cjson.new() return c.encode({1, {a = 2}})",
    "local c = cjson.new() c.encode_number_precision(3) return {c.encode(1/3), cjson.encode(1/3)}",
    "local c = cjson.new() return {c.encode_sparse_array(true, 2, 3)}",
    "local c = cjson.new() c.encode_sparse_array(true) return c.encode({[1] = 1, [20] = 2})",
    "local c = cjson.new() c.encode_invalid_numbers(true) return c.encode({1/0, -1/0})",
    "local c = cjson.new() c.encode_invalid_numbers('null') return c.encode({1/0, 0/0})",
    "local c = cjson.new() c.decode_invalid_numbers(false) return c.decode('0x10')",
    "local c = cjson.new() c.decode_invalid_numbers(false) return c.decode('[1, nan]')",
    "local c = cjson.new() c.encode_max_depth(2) return c.encode({{{1}}})",
    "local c = cjson.new() c.decode_max_depth(2) return c.decode('[[[1]]]')",
    "local c = cjson.new() return c.encode_keep_buffer(false)",
]


def test_cjson(p: Pair) -> None:
    run_all(p, CJSON)


def test_cjson_settings_persist(p: Pair) -> None:
    """Like Redis, cjson's settings outlive the script that changed them (and SCRIPT FLUSH resets them)."""
    try:
        run_all(
            p,
            [
                "return cjson.encode_number_precision(3)",
                "return cjson.encode(1/3)",
                "return {cjson.encode_sparse_array(true, 3, 5)}",
                "return cjson.encode({[1] = 1, [20] = 2})",
                ("SCRIPT", "FLUSH"),
                "return cjson.encode(1/3)",
                "return cjson.encode({[1] = 1, [20] = 2})",
            ],
        )
    finally:
        p.both("SCRIPT", "FLUSH")


# ---------------------------------------------------------------------------
# cmsgpack (packed data is returned as hex)

HEX = "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end "

CMSGPACK = [
    "return hex(cmsgpack.pack(0.1))",
    "return hex(cmsgpack.pack(-1099511627776))",
    "return hex(cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296))",
    "return hex(cmsgpack.pack(-32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649))",
    "return hex(cmsgpack.pack(2^53, -2^53, 2^63, -2^63, 2^64))",
    "return hex(cmsgpack.pack(1.5, -1.5, 0.25, 1e300, 1e-300, 3.4028234663852886e38, 1e-45))",
    "return hex(cmsgpack.pack(1/0, -1/0, 0/0, -0.0))",
    "return hex(cmsgpack.pack(true, false, nil))",
    "return hex(cmsgpack.pack('', 'a', string.rep('x', 31), string.rep('x', 32)))",
    "return #cmsgpack.pack(string.rep('x', 255)) .. ' ' .. #cmsgpack.pack(string.rep('x', 256))",
    "return hex(cmsgpack.pack(string.rep('x', 65536)):sub(1, 12)",
    "return hex(cmsgpack.pack({}))",
    "return hex(cmsgpack.pack({1, 2, 3}))",
    "return hex(cmsgpack.pack({a = 1}))",
    "return hex(cmsgpack.pack({1, 2, nil, 4}))",
    "return hex(cmsgpack.pack({[2] = 1}))",
    "return hex(cmsgpack.pack({[1.5] = 1}))",
    "local t = {} for i = 1, 20 do t[i] = i end return hex(cmsgpack.pack(t))",
    "local t = {} for i = 1, 20 do t['k' .. i] = i end return #cmsgpack.pack(t)",
    "return hex(cmsgpack.pack(function() end, cjson.null))",
    "local a = {x = nil, y = 5} local b = {x = a} a['x'] = b return hex(cmsgpack.pack(a))",
    "return cmsgpack.pack()",
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3}, true))}",
    "local t = cmsgpack.unpack(cmsgpack.pack({a = {b = {1, 2, 3}}})) return t.a.b",
    "return {cmsgpack.unpack('\\147\\1\\2\\3')}",
    "return {cmsgpack.unpack('\\129\\161a\\1')}",
    "return tostring(cmsgpack.unpack('\\203\\63\\185\\153\\153\\153\\153\\153\\154'))",
    "return tostring(cmsgpack.unpack('\\202\\63\\192\\0\\0'))",
    "return {cmsgpack.unpack('\\208\\255\\209\\255\\254\\210\\255\\255\\255\\253')}",
    "return {cmsgpack.unpack('\\204\\200\\205\\1\\0\\206\\0\\1\\0\\0')}",
    "return tostring(cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255'))",
    "return tostring(cmsgpack.unpack('\\211\\128\\0\\0\\0\\0\\0\\0\\0'))",
    "return {cmsgpack.unpack('\\217\\3abc\\218\\0\\2de\\219\\0\\0\\0\\1f')}",
    "return {cmsgpack.unpack('\\220\\0\\2\\1\\2')}",
    "return {cmsgpack.unpack('\\222\\0\\1\\1\\2')}[1][1]",
    "return {cmsgpack.unpack('\\192\\195\\194')}",
    "return cmsgpack.unpack('')",
    "return cmsgpack.unpack('\\196')",
    "return cmsgpack.unpack('\\193')",
    "return cmsgpack.unpack('\\205\\1')",
    "return cmsgpack.unpack('\\147\\1')",
    "return cmsgpack.unpack('\\165abc')",
    "return cmsgpack.unpack()",
    "return cmsgpack.unpack({})",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 4)}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1), -1)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 1)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3))}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1)}",
    "return hex(cmsgpack.pack(cmsgpack.unpack(cmsgpack.pack({1, {2, {3}}, {x = 'y'}}))))",
]


def test_cmsgpack(p: Pair) -> None:
    run_all(p, [HEX + s for s in CMSGPACK])


# ---------------------------------------------------------------------------
# struct

STRUCT = [
    "return hex(struct.pack('>I2', 258))",
    "return hex(struct.pack('<I2', 258))",
    "return hex(struct.pack('bBhHiIlL', -1, 255, -2, 65535, -3, 4294967295, -4, 5))",
    "return hex(struct.pack('>i4i8', -1, -1))",
    "return hex(struct.pack('>I3I5I16', 1, 2, 3))",
    "return hex(struct.pack('>i3', -1))",
    "return hex(struct.pack('<d>d', 1.5, -0.25))",
    "return hex(struct.pack('<f>f', 1.5, 0.1))",
    "return hex(struct.pack('c3c0s', 'abcdef', 'xy', 'zz'))",
    "return hex(struct.pack('xbx', 7))",
    "return hex(struct.pack('!4bi', 1, 2))",
    "return hex(struct.pack('!bd', 1, 2))",
    "return hex(struct.pack('!2bi', 1, 2))",
    "return hex(struct.pack(' < I2 ', 1))",
    "return hex(struct.pack('>I8', 2^63))",
    "return hex(struct.pack('>i8', -2^63))",
    "return hex(struct.pack('>I4', 4294967296 + 5))",
    "return hex(struct.pack('>I2', 1.9))",
    "return hex(struct.pack('>i2', -1.9))",
    "return hex(struct.pack('>I2', '300'))",
    "return struct.pack('z')",
    "return struct.pack('i33')",
    "return struct.pack('!3i', 1)",
    "return struct.pack('i99999999999', 1)",
    "return struct.pack('c5', 'ab')",
    "return struct.pack('i')",
    "return struct.pack('i', 'x')",
    "return struct.pack()",
    "return struct.pack('s', {})",
    "return {struct.unpack('>I2', '\\1\\2')}",
    "return {struct.unpack('<I2', '\\1\\2')}",
    "return {struct.unpack('bBhH', '\\255\\255\\254\\255\\255\\255')}",
    "return {struct.unpack('>i4>I4', '\\255\\255\\255\\255\\255\\255\\255\\255')}",
    "return {struct.unpack('>i8', '\\255\\255\\255\\255\\255\\255\\255\\254')}",
    "return {struct.unpack('>I8', '\\255\\255\\255\\255\\255\\255\\255\\254')}",
    "return {struct.unpack('>i3', '\\255\\255\\254')}",
    "return {tostring(struct.unpack('<d', struct.pack('<d', 0.1)))}",
    "return {tostring(struct.unpack('<f', struct.pack('<f', 0.1)))}",
    "return {struct.unpack('c2c0', '\\2ab')}",
    "return {struct.unpack('b c0', '\\3abcd')}",
    "return {struct.unpack('s s', 'ab\\0cd\\0ef')}",
    "return {struct.unpack('s', 'abc')}",
    "return {struct.unpack('c0', 'abc')}",
    "return {struct.unpack('>I2', '\\1')}",
    "return {struct.unpack('>I2', '\\0\\1\\0\\2', 3)}",
    "return {struct.unpack('>I2', '\\0\\1', 0)}",
    "return {struct.unpack('>I2', '\\0\\1', 5)}",
    "return {struct.unpack('x>I2', '\\9\\0\\1')}",
    "return {struct.unpack('!4bi', struct.pack('!4bi', 1, 2))}",
    "return {struct.unpack('z', 'a')}",
    "return {struct.unpack('i', nil)}",
    "return {struct.size('i')}",
    "return {struct.size('bhilfdcx')}",
    "return {struct.size('!8bd')}",
    "return {struct.size('c10')}",
    "return {struct.size('s')}",
    "return {struct.size('c0')}",
    "return {struct.size('z')}",
    "return {struct.size('<>! ')}",
]


def test_struct(p: Pair) -> None:
    run_all(p, [HEX + s for s in STRUCT])


# ---------------------------------------------------------------------------
# bit

BIT = [
    "return {bit.tobit(1), bit.tobit(2^32 + 1), bit.tobit(0xffffffff), bit.tobit(-1)}",
    "return {bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5), bit.tobit(-2.5), bit.tobit(0.49999)}",
    "return {bit.tobit(2^52), bit.tobit(2^53 + 2), bit.tobit(2^60 + 5), bit.tobit(-2^60 + 3), bit.tobit(1e300)}",
    "return {bit.tobit(1/0), bit.tobit(-1/0), bit.tobit(0/0), bit.tobit('12'), bit.tobit('0x10')}",
    "return {bit.bnot(0), bit.bnot(-1), bit.bnot(0x12345678)}",
    "return {bit.band(0xff, 0x0f), bit.band(-1, 0xff), bit.band(1), bit.band(7, 3, 1)}",
    "return {bit.bor(1, 2), bit.bor(1, 2, 4, 8, 16, 32, 64, 128), bit.bor(-1, 0)}",
    "return {bit.bxor(1, 2), bit.bxor(5, 3), bit.bxor(-1, 1), bit.bxor(1, 1, 1)}",
    "return {bit.lshift(1, 0), bit.lshift(1, 31), bit.lshift(1, 32), bit.lshift(1, 33), bit.lshift(-1, 4)}",
    "return {bit.rshift(-1, 28), bit.rshift(256, 4), bit.rshift(1, 32), bit.rshift(-1, 0)}",
    "return {bit.arshift(-256, 4), bit.arshift(256, 4), bit.arshift(-1, 31), bit.arshift(-2^31, 1)}",
    "return {bit.rol(0x12345678, 8), bit.rol(0x12345678, 0), bit.rol(-1, 5), bit.rol(0x80000000, 1)}",
    "return {bit.ror(0x12345678, 8), bit.ror(0x12345678, 32), bit.ror(1, 1)}",
    "return {bit.bswap(0x12345678), bit.bswap(-1), bit.bswap(1)}",
    "return {bit.tohex(255), bit.tohex(-1), bit.tohex(255, -4), bit.tohex(1, 20), bit.tohex(0x1234abcd, 2)}",
    "return {bit.tohex(255, 0), bit.tohex(255, -20)}",
    "return bit.band('x')",
    "return bit.band(1, 'x')",
    "return bit.band(1, nil, 2)",
    "return bit.tobit({})",
    "return bit.tobit()",
    "return bit.lshift(1)",
    "return bit.tohex()",
    "assert(0x7fffffff == 2147483647) return bit.tobit(0x7fffffff + 1)",
]


def test_bit(p: Pair) -> None:
    run_all(p, [HEX + s for s in BIT])


# ---------------------------------------------------------------------------
# math.random: Redis's own generator, shared by all scripts, seeded by math.randomseed

RANDOM = [
    "math.randomseed(0) return {math.random(1000000), tostring(math.random())}",
    "math.randomseed(7) return {math.random(1000000), math.random(10, 20), tostring(math.random())}",
    "math.randomseed(42) return {math.random(1, 1000), math.random(1, 1000)}",
    "math.randomseed(-1) return {math.random(1000000)}",
    "math.randomseed(2^40) return {math.random(1000000)}",
    "math.randomseed(3.9) return {math.random(1000000)}",
    "math.randomseed('5') return {math.random(1000000)}",
    "math.randomseed(1) return {math.random(-5, 5), math.random(3.7), tostring(math.random(2.5, 4.9))}",
    "math.randomseed(1) return {math.random(2^32 + 5)}",
    "math.randomseed(1) return math.random(0)",
    "math.randomseed(1) return math.random(5, 1)",
    "math.randomseed(1) return math.random(1, 2, 3)",
    "math.randomseed(1) return math.random('a')",
    "math.randomseed(1) return math.random(2^31)",
    "return math.randomseed('x')",
    "return math.randomseed()",
    "math.randomseed(9) local t = {} for i = 1, 20 do t[i] = math.random(100) end return t",
]


def test_random(p: Pair) -> None:
    run_all(p, RANDOM)


def test_random_state_continues_across_scripts(p: Pair) -> None:
    run_all(
        p,
        [
            "math.randomseed(11) return math.random(1000)",
            "return math.random(1000)",
            ("FCALL", "nosuch", 0),
            "return {math.random(1000), math.random(1000)}",
        ],
    )


# ---------------------------------------------------------------------------
# SCRIPT

SCRIPT_HELP_AND_CACHE = [
    ("SCRIPT", "HELP"),
    ("SCRIPT", "LOAD", "return 1"),
    ("SCRIPT", "LOAD", "return 1"),
    ("SCRIPT", "LOAD", "return ("),
    ("SCRIPT", "LOAD", "#!lua flags=bad\nreturn 1"),
    ("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn 1"),
    ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "x"),
    ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 0),
    ("SCRIPT", "FLUSH", "BAD"),
    ("SCRIPT", "FLUSH", "ASYNC", "SYNC"),
    ("SCRIPT", "FLUSH", "SYNC"),
    ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
    ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 0),
    ("EVAL", "return 1", 0),
    ("SCRIPT", "FLUSH", "ASYNC"),
    ("SCRIPT", "FLUSH"),
    ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
    ("SCRIPT", "KILL"),
    ("SCRIPT", "KILL", "x"),
    ("SCRIPT", "NOSUCH"),
    ("SCRIPT",),
    ("SCRIPT", "DEBUG", "no"),
    ("SCRIPT", "LOAD"),
    ("SCRIPT", "EXISTS"),
]


def test_script_command(p: Pair) -> None:
    run_all(p, SCRIPT_HELP_AND_CACHE)


# ---------------------------------------------------------------------------
# FUNCTION and FCALL

LIB = (
    "#!lua name=mylib\n"
    "redis.register_function('f1', function(keys, args) return {keys, args} end)\n"
    "redis.register_function{function_name='f2', callback=function(k, a) return redis.call('set', k[1], a[1]) end,"
    " flags={'no-writes'}, description='desc'}\n"
    "redis.register_function('f3', function(k, a) return redis.call('set', k[1], a[1]) end)"
)


def _lib(name: str, body: str) -> str:
    return "#!lua name=%s\n%s" % (name, body)


FUNCTION_LOAD = [
    "return 1",
    "#!lua\nreturn 1",
    "#!lua name=\nreturn 1",
    "#!lua name=a b\n",
    "#!lua name=x\n",
    "#!lua name=x\nreturn 1",
    "#!lua name=a-b\nredis.register_function('f', function() return 1 end)",
    "#!lua name=x engine=foo\nreturn 1",
    "#!lua name=x name=y\nredis.register_function('nf', function() return 1 end)",
    "#!lua name=x flags=no-writes\nreturn 1",
    "#!luaa name=x\nreturn 1",
    "#!\nredis.register_function('g5', function(k, a) return 1 end)",
    "#!lua name=x \"unbalanced\nredis.register_function('g5', function(k, a) return 1 end)",
    "#!lua name=x",
    "#!lua name=x\nreturn (",
    _lib("x", "redis.register_function('f', function() return 1 end)\nredis.register_function('f', function() end)"),
    _lib("x", "redis.register_function('f!', function() return 1 end)"),
    _lib("x", "redis.register_function('', function() return 1 end)"),
    _lib("x", "redis.register_function('f')"),
    _lib("x", "redis.register_function('f', 1)"),
    _lib("x", "redis.register_function(nil, function() end)"),
    _lib("x", "redis.register_function()"),
    _lib("x", "redis.register_function('f', function() end, 1)"),
    _lib("x", "redis.register_function{function_name='f'}"),
    _lib("x", "redis.register_function{callback=function() end}"),
    _lib("x", "redis.register_function{function_name='f', callback=function() end, flags='no-writes'}"),
    _lib("x", "redis.register_function{function_name='f', callback=function() end, flags={'bad'}}"),
    _lib("x", "redis.register_function{function_name='f', callback=function() end, flags={1}}"),
    _lib("x", "redis.register_function{function_name='f', callback=function() end, bad=1}"),
    _lib("x", "redis.register_function{function_name='f', callback=1}"),
    _lib("x", "redis.register_function{'f', function() end}"),
    _lib("x", "redis.call('ping')"),
    _lib("x", "return redis.pcall('ping')"),
    _lib("x", "error('boom')"),
    _lib("x", "error({err='X boom'})"),
    _lib("x", "x = 1"),
    _lib("x", "return y"),
    _lib("x", "local a = math.random()"),
    _lib("x", "redis.setresp(3)"),
    _lib("x", "local z = string.format('%d', 3)"),
    _lib("x", "return redis.sha1hex('a')"),
    _lib("x", "local t = {} for k in pairs(redis) do end"),
    _lib("x", "return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM"),
]

FUNCTION_LOAD_OK = [
    _lib("x", "redis.register_function(1, function() end)"),
    _lib("x", "redis.register_function{function_name=1, callback=function() end}"),
    _lib("x", "redis.register_function{function_name='f', callback=function() end, description=1}"),
    _lib("x", "redis.register_function{function_name='f', callback=function() end, flags={}}"),
    _lib(
        "x",
        "redis.register_function{function_name='f', callback=function() end,"
        " flags={'no-writes','allow-oom','allow-stale','no-cluster','allow-cross-slot-keys'}}",
    ),
    _lib("x", "redis.register_function{function_name='f', callback=function() end, flags={'NO-WRITES', 'no-writes'}}"),
    _lib("x", "redis.register_function('f', function() end) return 5"),
    _lib("x", "local function f() return 1 end redis.register_function('f', f) redis.register_function('f2', f)"),
    _lib("x", "redis.log(redis.LOG_WARNING, 'loading') redis.register_function('f', function() return 1 end)"),
    "#!LUA name=x\nredis.register_function('f', function() return 1 end)",
    "#!lua   name=x  \nredis.register_function('f', function() return 1 end)",
    '#!lua name="x"\nredis.register_function("f", function() return 1 end)',
    "#!lua NAME=x\nredis.register_function('f', function() return 1 end)",
    "#!lua name=x\r\nredis.register_function('f', function() return 1 end)",
]


def test_function_load(p: Pair) -> None:
    cmds: list = []
    for code in FUNCTION_LOAD + FUNCTION_LOAD_OK:
        cmds.append(("FUNCTION", "FLUSH"))
        cmds.append(("FUNCTION", "LOAD", code))
        cmds.append(("FUNCTION", "LIST", "WITHCODE"))
    try:
        run_all(p, cmds)
    finally:
        p.both("FUNCTION", "FLUSH")


def test_function_commands(p: Pair) -> None:
    cmds: list = [
        ("FUNCTION", "FLUSH"),
        ("FUNCTION", "HELP"),
        ("FUNCTION", "LOAD", LIB),
        ("FUNCTION", "LOAD", LIB),
        ("FUNCTION", "LOAD", "REPLACE", LIB),
        ("FUNCTION", "LOAD", "replace", LIB),
        ("FUNCTION", "LOAD", "BAD", LIB),
        ("FUNCTION", "LOAD", LIB, "extra"),
        ("FUNCTION", "LOAD"),
        ("FUNCTION", "LOAD", "REPLACE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "mylib"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "MY*"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "x"),
        ("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "my?ib"),
        ("FUNCTION", "LIST", "LIBRARYNAME"),
        ("FUNCTION", "LIST", "bad"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"),
        ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"),
        ("FCALL", "f1", 2, "a", "b", "c", "d"),
        ("FCALL", "F1", 1, "a"),
        ("FCALL", "f1", 0),
        ("FCALL_RO", "f1", 0),
        ("FCALL", "f2", 1, "k", "v"),
        ("FCALL_RO", "f2", 1, "k", "v"),
        ("FCALL", "f3", 1, "k", "v"),
        ("FCALL_RO", "f3", 1, "k", "v"),
        ("GET", "k"),
        ("FCALL", "nosuch", 0),
        ("FCALL", "f1", 3, "a"),
        ("FCALL", "f1", -1),
        ("FCALL", "f1", "x"),
        ("FCALL", "f1", "1.5"),
        ("FCALL",),
        ("FCALL", "f1"),
        ("FUNCTION", "STATS"),
        ("FUNCTION", "LOAD", _lib("lib2", "redis.register_function('f1', function() return 2 end)")),
        ("FUNCTION", "LOAD", "REPLACE", _lib("lib2", "redis.register_function('F1', function() return 2 end)")),
        ("FUNCTION", "LOAD", _lib("lib2", "redis.register_function('g1', function() return 2 end)")),
        ("FUNCTION", "LOAD", _lib("LIB2", "redis.register_function('G1', function() return 2 end)")),
        ("FUNCTION", "STATS"),
        ("FUNCTION", "DELETE", "LIB2"),
        ("FUNCTION", "DELETE", "lib2"),
        ("FUNCTION", "DELETE", "lib2"),
        ("FUNCTION", "DELETE"),
        ("FUNCTION", "DELETE", "a", "b"),
        ("FUNCTION", "STATS", "x"),
        ("FUNCTION", "KILL"),
        ("FUNCTION", "KILL", "x"),
        ("FUNCTION", "FLUSH", "BAD"),
        ("FUNCTION", "FLUSH", "SYNC", "x"),
        ("FUNCTION", "RESTORE", "x", "APPEND", "extra"),
        ("FUNCTION", "RESTORE", "garbage"),
        ("FUNCTION", "NOSUCH"),
        ("FUNCTION",),
        ("FUNCTION", "FLUSH", "ASYNC"),
        ("FUNCTION", "STATS"),
        ("FUNCTION", "LIST"),
        ("FUNCTION", "DUMP"),
    ]
    try:
        run_all(p, cmds)
    finally:
        p.both("FUNCTION", "FLUSH")


FUNCTION_RUNTIME = [
    "redis.register_function('e1', function(k, a) error('boom') end)",
    "redis.register_function('e2', function(k, a) return redis.call('nosuch') end)",
    "redis.register_function('e3', function(k, a) return x end)",
    "redis.register_function('e4', function(k, a) return {KEYS, ARGV} end)",
    "redis.register_function('e5', function(k, a) y = 1 end)",
    "redis.register_function('e6', function(k, a) return redis.call('get', 'a', 'b') end)",
    "redis.register_function('e7', function(k, a) local t = nil return t.x end)",
    "redis.register_function('ok1', function(k, a) return {#k, #a, k[1], a[1]} end)",
    "redis.register_function('ok2', function(k, a) redis.setresp(3) return redis.call('hgetall', k[1]) end)",
    "redis.register_function('ok3', function(k, a) return redis.register_function end)",
    "redis.register_function('ok4', function(k, a) return cjson.encode({a = a}) end)",
    "redis.register_function('ok5', function(k, a) return type(_G) end)",
]


def test_fcall_runtime(p: Pair) -> None:
    code = "#!lua name=rt\n" + "\n".join(FUNCTION_RUNTIME)
    cmds: list = [("FUNCTION", "FLUSH"), ("FUNCTION", "LOAD", code), ("HSET", "h", "a", "1")]
    for i in range(1, 8):
        cmds.append(("FCALL", "e%d" % i, 0))
    for i in range(1, 6):
        cmds.append(("FCALL", "ok%d" % i, 1, "h", "arg"))
    try:
        run_all(p, cmds)
    finally:
        p.both("FUNCTION", "FLUSH")


def test_function_dump_restore(p: Pair) -> None:
    small = _lib("s", "redis.register_function('short', function() return 1 end)")
    big = LIB
    cmds: list = [
        ("FUNCTION", "FLUSH"),
        ("FUNCTION", "DUMP"),
        ("FUNCTION", "LOAD", small),
        ("FUNCTION", "DUMP"),
        ("FUNCTION", "FLUSH"),
        ("FUNCTION", "LOAD", big),
        ("FUNCTION", "DUMP"),
    ]
    try:
        run_all(p, cmds)
        dumped = parse(p.run("FUNCTION", "DUMP"))[1]
        p.run("FUNCTION", "RESTORE", dumped)
        p.run("FUNCTION", "RESTORE", dumped, "REPLACE")
        p.run("FUNCTION", "RESTORE", dumped, "APPEND")
        p.run("FUNCTION", "RESTORE", dumped, "BAD")
        p.run("FUNCTION", "FLUSH")
        p.run("FUNCTION", "RESTORE", dumped)
        p.run("FCALL", "f1", 1, "k", "v")
        p.run("FUNCTION", "RESTORE", dumped, "FLUSH")
        p.run("FUNCTION", "RESTORE", dumped[:-1] + bytes([dumped[-1] ^ 1]))
        p.run("FUNCTION", "RESTORE", dumped[:-10] + b"\x0b\x00" + dumped[-8:])
        run_cmd(p, ("FUNCTION", "LIST", "WITHCODE"))
    finally:
        p.both("FUNCTION", "FLUSH")


def test_function_list_sorted(p: Pair) -> None:
    """Several libraries: Redis lists them in hash order, so compare the sorted elements."""
    p.reset()
    p.both("FUNCTION", "FLUSH")
    try:
        for name in ("alpha", "beta", "gamma"):
            p.run("FUNCTION", "LOAD", _lib(name, "redis.register_function('%s_f', function() return 1 end)" % name))
        a, b = p.both("FUNCTION", "LIST")
        ta, va = parse(a)
        tb, vb = parse(b)
        assert ta == tb
        assert sorted(map(serialize, va)) == sorted(map(serialize, vb))
    finally:
        p.both("FUNCTION", "FLUSH")


def test_script_effects_and_keys(p: Pair) -> None:
    run_all(
        p,
        [
            ev("return redis.call('set', KEYS[1], ARGV[1])", "k1", "v1", keys=1),
            ("GET", "k1"),
            ev("redis.call('del', KEYS[1]) return redis.call('exists', KEYS[1])", "k1", keys=1),
            ev("for i = 1, 10 do redis.call('rpush', 'l', i) end return redis.call('lrange', 'l', 0, -1)"),
            ev(
                "local current = redis.call('get', KEYS[1]) if not current then return nil end "
                "if current > ARGV[1] then return redis.call('decr', KEYS[1]) end return current",
                "cnt",
                "2",
                keys=1,
            ),
            ("SET", "cnt", "5"),
            ev(
                "local current = redis.call('get', KEYS[1]) if not current then return nil end "
                "if current > ARGV[1] then return redis.call('decr', KEYS[1]) end return current",
                "cnt",
                "2",
                keys=1,
            ),
            ("GET", "cnt"),
            ("DBSIZE",),
        ],
    )


def test_big_argument_lists(p: Pair) -> None:
    args = ["a%d" % i for i in range(300)]
    run_all(
        p,
        [
            ev("return {#KEYS, #ARGV, KEYS[1], KEYS[150], ARGV[1], ARGV[150]}", *args, keys=150),
            ev("return redis.call('rpush', 'big', unpack(ARGV))", *args),
            ("LLEN", "big"),
            ("EVAL", "return #KEYS", 0, *args[:5]),
        ],
    )


@pytest.mark.parametrize("threshold", [0, 1])
def test_fast_script_with_busy_threshold_settings(p: Pair, threshold: int) -> None:
    """busy-reply-threshold 0 disables the busy machinery; replies are the same either way."""
    p.both("CONFIG", "SET", "busy-reply-threshold", threshold)
    try:
        run_all(p, ["local i = 0 for j = 1, 300000 do i = i + j end return i"])
    finally:
        p.both("CONFIG", "SET", "busy-reply-threshold", 5000)


def test_function_load_timeout(pair2: Pair) -> None:
    """Library code runs at most 500 ms at FUNCTION LOAD; pcall does not stop the timeout."""
    try:
        run_all(
            pair2,
            [
                ("FUNCTION", "FLUSH"),
                ("FUNCTION", "LOAD", "#!lua name=x\nwhile true do end"),
                ("FUNCTION", "LOAD", _lib("x", "local i = 0 while true do i = i + 1 end")),
                ("FUNCTION", "LOAD", _lib("x", "redis.register_function('f', function() return 1 end)")),
                ("FCALL", "f", 0),
                "return 1",
            ],
        )
    finally:
        pair2.both("FUNCTION", "FLUSH")


STATS_SCRIPTS = [
    "return redis.call('incr', 'str')",
    "error('x')",
    "return redis.pcall('incr', 'str')",
    "return redis.error_reply('MY x')",
    "return {redis.error_reply('NEST x'), redis.pcall('incr', 'str')}",
    "return redis.call('nosuch')",
    "return redis.pcall('subscribe', 'x')",
    "return {redis.pcall('incr', 'str'), redis.pcall('incr', 'str')}",
    "return {{err = 'A b'}, {err = 'C d'}}",
    "return redis.pcall('nosuch')",
    "return 'fine'",
]


def _stat_lines(info: bytes, prefixes: tuple[bytes, ...]) -> list[bytes]:
    out = []
    for line in parse(info)[1].split(b"\r\n"):
        if line.startswith(prefixes):
            # calls and error counters, not the timings
            out.append(b",".join(f for f in line.split(b",") if not f.startswith((b"usec", b"usec_per_call"))))
    return out


def test_error_stats(pair2: Pair) -> None:
    """Errors raised by scripts are counted once, like Redis: where the failing command ran,
    or when the script's reply carries them (nested ones too); EVAL counts as failed."""
    p = pair2
    p.reset()
    p.both("CONFIG", "RESETSTAT")
    p.run("SET", "str", "v")
    for s in STATS_SCRIPTS:
        p.run(*ev(s))
    a, b = p.both("INFO", "errorstats")
    assert _stat_lines(a, (b"errorstat_",)) == _stat_lines(b, (b"errorstat_",))
    a, b = p.both("INFO", "stats")
    assert _stat_lines(a, (b"total_error_replies",)) == _stat_lines(b, (b"total_error_replies",))
    a, b = p.both("INFO", "commandstats")
    keep = (b"cmdstat_eval", b"cmdstat_incr", b"cmdstat_subscribe")
    assert sorted(_stat_lines(a, keep)) == sorted(_stat_lines(b, keep))


# ---------------------------------------------------------------------------
# generated values: Lua literals for cjson/cmsgpack, random input for the decoders and struct

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def lua_string(b: bytes) -> str:
    return '"' + "".join("\\%d" % c for c in b) + '"'


def lua_number(x: float | int) -> str:
    if isinstance(x, int):
        return "%d" % x
    if x != x:
        return "(0/0)"
    if x in (float("inf"), float("-inf")):
        return "(1/0)" if x > 0 else "(-1/0)"
    return "(%r)" % x


_scalars = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64).map(lua_number),
    st.floats(allow_nan=True, allow_infinity=True).map(lua_number),
    st.binary(max_size=40).map(lua_string),
    st.sampled_from(["true", "false", "nil", "cjson.null"]),
)


def _table(children):
    keys = st.one_of(
        st.integers(min_value=-3, max_value=40).map(lua_number),
        st.binary(min_size=1, max_size=6).map(lua_string),
        st.sampled_from(["1.5", "true"]),
    )
    array = st.lists(children, max_size=6).map(lambda items: "{" + ", ".join(items) + "}")
    hashed = st.lists(st.tuples(keys, children), max_size=5).map(
        lambda pairs: "{" + ", ".join("[%s] = %s" % kv for kv in pairs) + "}"
    )
    return st.one_of(array, hashed)


lua_values = st.recursive(_scalars, _table, max_leaves=12)

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(value=lua_values)
def test_generated_encodings(pair2: Pair, value: str) -> None:
    pair2.check(
        [
            ev("return cjson.encode(%s)" % value),
            ev(HEX + "return hex(cmsgpack.pack(%s))" % value),
            ev("local t = {cmsgpack.unpack(cmsgpack.pack(%s))} return cjson.encode(t)" % value),
        ]
    )


_json_alphabet = st.sampled_from(
    list('{}[],:"\\ ') + ["true", "false", "null", "nan", "-inf", "1", "-2.5e3", "0x1F", "01", "\\u00e9", "\\ud83d",
                          "\\ude00", "a", "\x00", "\x7f", "\xff"]
)  # fmt: skip


@FUZZ
@given(text=st.lists(_json_alphabet, max_size=20).map("".join))
def test_generated_json_decoding(pair2: Pair, text: str) -> None:
    s = text.encode("latin-1")
    pair2.check([ev("return {pcall(function() return cjson.encode(cjson.decode(%s)) end)}" % lua_string(s))])


@FUZZ
@given(data=st.binary(max_size=24))
def test_generated_msgpack_decoding(pair2: Pair, data: bytes) -> None:
    script = (
        "local r = {pcall(cmsgpack.unpack, %s)} for i = 2, #r do "
        "r[i] = type(r[i]) == 'table' and hex(cmsgpack.pack(r[i])) or tostring(r[i]) end return r"
    )
    pair2.check([ev(HEX + script % lua_string(data))])


_struct_fmt = st.lists(
    st.sampled_from(
        ["<", ">", "!", "!4", "b", "B", "h", "H", "i", "I", "i3", "I5", "l", "L", "f", "d", "x", "c2", "s"]
    ),
    max_size=5,
).map("".join)


@FUZZ
@given(fmt=_struct_fmt, numbers=st.lists(st.integers(min_value=-(2**40), max_value=2**40), min_size=5, max_size=5))
def test_generated_struct(pair2: Pair, fmt: str, numbers: list[int]) -> None:
    args = ", ".join(["%d" % n if i % 3 else '"abcdef"' for i, n in enumerate(numbers)])
    script = (
        "local ok, s = pcall(struct.pack, '%s', %s) if not ok then return s end "
        "local r = {pcall(struct.unpack, '%s', s)} for i = 2, #r do r[i] = tostring(r[i]) end "
        "return {hex(s), r, struct.size('%s')}"
    )
    pair2.check([ev(HEX + script % (fmt, args, fmt, fmt.replace("s", "")))])


def test_keys_do_not_expire_during_a_script(pair2: Pair) -> None:
    """Expiry checks inside a script see the time the script started."""
    spin = (
        "local a = redis.call('get', 'k') local t0 = redis.call('time') local s = t0[1] * 1000000 + t0[2] "
        "while true do local t = redis.call('time') if t[1] * 1000000 + t[2] - s > 300000 then break end end "
        "return {a, redis.call('get', 'k'), redis.call('pttl', 'k'), redis.call('exists', 'k')}"
    )
    p = pair2
    p.reset()
    p.run("SET", "k", "v", "PX", "150")
    p.run(*ev(spin))
    p.run("GET", "k")


def _raw_eval(conn, body: bytes) -> bytes:
    """EVAL a script whose reply is too deep for a recursive reader; read up to its last error."""
    conn.send(b"*3\r\n$4\r\nEVAL\r\n$%d\r\n%b\r\n$1\r\n0\r\n" % (len(body), body))
    buf = conn.buf
    while not buf.endswith(b"reached lua stack limit\r\n"):
        buf += conn.sock.recv(65536)
    conn.buf = b""
    return buf


@pytest.mark.parametrize(
    "body",
    [
        b"local a = {}; local b = {a}; a[1] = b; return a",
        b"local a = {}; a[1] = a; return {map = {x = a}}",
        b"local a = {}; a.map = {x = a} return a",
        b"local a = {}; a.set = {} a.set[a] = true return a",
    ],
    ids=["array", "array-in-map", "map", "set"],
)
def test_self_referencing_result(pair2: Pair, body: bytes) -> None:
    """A table that contains itself: nested replies until Redis's Lua stack limit, then an error
    in place of the next value; the connection stays usable."""
    pair2.reset()
    assert _raw_eval(pair2.redis, body) == _raw_eval(pair2.respdb, body)
    pair2.run("PING")


def test_many_arguments_to_redis_call(p: Pair) -> None:
    run_all(
        p,
        [
            "local a = {} for i = 1, 7999 do a[i] = i end return redis.call('lpush', 'l1', unpack(a))",
            "local a = {} for i = 1, 7999 do a[i] = 'x' end return redis.call('lpush', 'l2', unpack(a))",
            "local a = {} for i = 1, 300 do a[i] = i * 1.5 end return redis.call('rpush', 'l3', unpack(a))",
            ("LRANGE", "l3", 0, 5),
            ("LLEN", "l1"),
            "local a = {} for i = 1, 300 do a[i] = 'k' .. i end return #redis.call('mget', unpack(a))",
            "local a = {} for i = 1, 300 do a[i] = {} end return redis.pcall('mget', unpack(a))",
        ],
    )
