"""Scripting at engine level (propagation, isolation, the function registry) and over TCP with
redis-py: its Lock (SET NX PX plus Lua release/extend/reacquire) and a token-bucket limiter."""

from __future__ import annotations

import hashlib
import time

import pytest

from respdb import scripting
from respdb.config import Config
from respdb.engine import Engine


@pytest.fixture
def eng():
    cfg = Config()
    cfg.set("enable-debug-command", "yes")
    return Engine(cfg)


@pytest.fixture
def c(eng):
    return eng.new_client()


@pytest.fixture
def props(eng):
    out: list[tuple[int, list[bytes]]] = []
    eng.propagators.append(lambda dbid, argv: out.append((dbid, list(argv))))
    return out


def run(eng, c, *args):
    return eng.execute(c, [a.encode() if isinstance(a, str) else a for a in args])


# -- propagation -----------------------------------------------------------


def test_script_effects_propagated_in_multi_exec(eng, c, props):
    script = "redis.call('set', KEYS[1], ARGV[1]) redis.call('incr', 'n') redis.call('get', KEYS[1]) return 1"
    assert run(eng, c, "EVAL", script, "1", "k", "v") == b":1\r\n"
    assert props == [(0, [b"MULTI"]), (0, [b"set", b"k", b"v"]), (0, [b"incr", b"n"]), (0, [b"EXEC"])]


def test_read_only_script_propagates_nothing(eng, c, props):
    run(eng, c, "SET", "k", "v")
    props.clear()
    assert run(eng, c, "EVAL", "return redis.call('get', 'k')", "0") == b"$1\r\nv\r\n"
    assert run(eng, c, "EVAL", "return redis.pcall('incr', 'k')", "0").startswith(b"-ERR value is not")
    assert props == []


def test_writes_before_an_error_are_propagated(eng, c, props):
    reply = run(eng, c, "EVAL", "redis.call('set', 'a', '1') return redis.call('nosuch')", "0")
    assert reply.startswith(b"-ERR Unknown Redis command called from script")
    assert props == [(0, [b"set", b"a", b"1"])]  # one command: no MULTI/EXEC around it (as Redis 7.0)


def test_set_repl_none_suppresses_propagation(eng, c, props):
    script = (
        "redis.call('set', 'a', '1') redis.set_repl(redis.REPL_NONE) redis.call('set', 'b', '2') "
        "redis.set_repl(redis.REPL_ALL) redis.call('set', 'c', '3')"
    )
    run(eng, c, "EVAL", script, "0")
    assert props == [(0, [b"MULTI"]), (0, [b"set", b"a", b"1"]), (0, [b"set", b"c", b"3"]), (0, [b"EXEC"])]
    assert run(eng, c, "MGET", "a", "b", "c") == b"*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"


def test_select_inside_script(eng, c, props):
    script = "redis.call('set', 'x', '0') redis.call('select', 3) redis.call('set', 'x', '3') return 1"
    run(eng, c, "EVAL", script, "0")
    # MULTI with the first command's database, EXEC with the last one's (Redis's stream)
    assert props == [(0, [b"MULTI"]), (0, [b"set", b"x", b"0"]), (3, [b"set", b"x", b"3"]), (3, [b"EXEC"])]
    # the caller stays on its database; the next script starts on it again
    assert run(eng, c, "GET", "x") == b"$1\r\n0\r\n"
    assert run(eng, c, "EVAL", "return redis.call('get', 'x')", "0") == b"$1\r\n0\r\n"


def test_script_inside_exec_single_transaction(eng, c, props):
    run(eng, c, "MULTI")
    run(eng, c, "SET", "a", "1")
    run(eng, c, "EVAL", "redis.call('set', 'b', '2') redis.call('set', 'c', '3')", "0")
    assert run(eng, c, "EXEC") == b"*2\r\n+OK\r\n$-1\r\n"
    assert [a[0] for _, a in props] == [b"MULTI", b"SET", b"set", b"set", b"EXEC"]


def test_function_load_and_fcall_propagation(eng, c, props):
    code = "#!lua name=lib\nredis.register_function('f', function(k, a) return redis.call('set', k[1], a[1]) end)"
    assert run(eng, c, "FUNCTION", "LOAD", code) == b"$3\r\nlib\r\n"
    assert run(eng, c, "FCALL", "f", "1", "k", "v") == b"+OK\r\n"
    assert run(eng, c, "FUNCTION", "DELETE", "lib") == b"+OK\r\n"
    assert props == [
        (0, [b"FUNCTION", b"LOAD", code.encode()]),
        (0, [b"set", b"k", b"v"]),
        (0, [b"FUNCTION", b"DELETE", b"lib"]),
    ]


# -- isolation and state -----------------------------------------------------


def test_keys_and_argv_per_call(eng, c):
    assert run(eng, c, "EVAL", "return {#KEYS, #ARGV}", "2", "a", "b", "c") == b"*2\r\n:2\r\n:1\r\n"
    assert run(eng, c, "EVAL", "return {#KEYS, #ARGV}", "0") == b"*2\r\n:0\r\n:0\r\n"


def test_scripts_cannot_leave_state_behind(eng, c):
    for script in ("x = 1", "redis.call = nil", "string.format = nil", "rawset(_G, 'x', 1)", "table.insert(_G, 1)"):
        assert b"Attempt to modify a readonly table" in run(eng, c, "EVAL", script, "0")
    assert run(eng, c, "EVAL", "return redis.call('ping')", "0") == b"+PONG\r\n"
    assert run(eng, c, "EVAL", "return string.format('%d', 7)", "0") == b"$1\r\n7\r\n"


def test_math_random_sequence_of_a_fresh_server(eng, c):
    # values from a freshly started redis-server 7.0.15; FCALL continues the same generator
    reply = run(eng, c, "EVAL", "return {math.random(1000000), math.random(1000000), tostring(math.random())}", "0")
    assert reply == b"*3\r\n:396465\r\n:840486\r\n$16\r\n0.35333609737146\r\n"
    run(
        eng,
        c,
        "FUNCTION",
        "LOAD",
        "#!lua name=r\nredis.register_function('r', function() return math.random(1000000) end)",
    )
    assert run(eng, c, "FCALL", "r", "0") == b":446584\r\n"


def test_script_flush_resets_the_lua_state(eng, c):
    run(eng, c, "EVAL", "cjson.encode_number_precision(3)", "0")
    assert run(eng, c, "EVAL", "return cjson.encode(1/3)", "0") == b"$5\r\n0.333\r\n"
    run(eng, c, "SCRIPT", "FLUSH")
    assert run(eng, c, "EVAL", "return cjson.encode(1/3)", "0") == b"$16\r\n0.33333333333333\r\n"


def test_blocking_commands_do_not_block_in_scripts(eng, c):
    if eng.table.get("blmpop").handler is None:
        pytest.skip("BLMPOP not implemented")
    assert run(eng, c, "EVAL", "return redis.call('blmpop', 0, 1, 'nolist', 'LEFT')", "0") == b"$-1\r\n"
    assert c.bstate is None


def test_watch_invalidated_by_script_write(eng, c):
    other = eng.new_client()
    run(eng, c, "WATCH", "k")
    run(eng, other, "EVAL", "redis.call('set', 'k', 'v')", "0")
    run(eng, c, "MULTI")
    run(eng, c, "GET", "k")
    assert run(eng, c, "EXEC") == b"*-1\r\n"


def test_function_registry_for_persistence(eng, c):
    """What the RDB function opcode needs: each library's code; loading it back restores it."""
    code = b"#!lua name=lib1\nredis.register_function{function_name='f', callback=function() return 7 end, flags={'no-writes'}}"
    run(eng, c, "FUNCTION", "LOAD", code)
    funcs = scripting.get(eng).functions
    assert [(lib.name, lib.engine, lib.code) for lib in funcs.libraries.values()] == [(b"lib1", b"LUA", code)]
    dumped = run(eng, c, "FUNCTION", "DUMP")
    other = Engine(Config())
    oc = other.new_client()
    assert run(other, oc, "FUNCTION", "RESTORE", dumped.split(b"\r\n", 1)[1][:-2]) == b"+OK\r\n"
    assert run(other, oc, "FCALL_RO", "f", "0") == b":7\r\n"
    scripting.get(other).functions.restore([code.replace(b"lib1", b"lib2").replace(b"'f'", b"'g'")], "append")
    assert run(other, oc, "FCALL", "g", "0") == b":7\r\n"


def test_busy_gate_only_while_busy(eng, c):
    assert eng.busy_script is None
    assert run(eng, c, "EVAL", "local i = 0 for j = 1, 200000 do i = i + 1 end return i", "0") == b":200000\r\n"
    assert eng.busy_script is None


# -- redis-py over TCP ---------------------------------------------------------


def test_redis_py_lock(r):
    lock = r.lock("resource", timeout=5, blocking=False)
    assert lock.acquire()
    assert r.get("resource") == lock.local.token
    other = r.lock("resource", timeout=5, blocking=False)
    assert not other.acquire()
    assert lock.extend(10)
    assert 9000 < r.pttl("resource") <= 15000
    assert lock.reacquire()
    assert 4000 < r.pttl("resource") <= 5000
    assert lock.owned()
    assert not other.owned()
    lock.release()
    assert r.get("resource") is None
    with pytest.raises(Exception, match="Cannot release"):
        lock.release()
    with r.lock("resource", timeout=5, blocking_timeout=1):
        assert r.exists("resource") == 1
    assert r.exists("resource") == 0


def test_redis_py_lock_released_by_another_owner_fails(r):
    lock = r.lock("res2", timeout=5)
    assert lock.acquire(blocking=False)
    r.set("res2", "someone-else")
    from redis.exceptions import LockNotOwnedError

    with pytest.raises(LockNotOwnedError):
        lock.release()
    assert r.get("res2") == b"someone-else"


TOKEN_BUCKET = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local requested = tonumber(ARGV[4])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= requested then
  tokens = tokens - requested
  allowed = 1
end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000))
return {allowed, tostring(tokens)}
"""


def test_token_bucket_rate_limiter(r):
    limiter = r.register_script(TOKEN_BUCKET)
    now = 1000.0
    results = [limiter(keys=["bucket"], args=[5, 1, now, 1]) for _ in range(7)]
    assert [a for a, _ in results] == [1, 1, 1, 1, 1, 0, 0]
    assert [t for _, t in results][-1] == b"0"
    # two seconds later two tokens are back
    assert limiter(keys=["bucket"], args=[5, 1, now + 2, 1]) == [1, b"1"]
    assert limiter(keys=["bucket"], args=[5, 1, now + 2, 1]) == [1, b"0"]
    assert limiter(keys=["bucket"], args=[5, 1, now + 2, 1]) == [0, b"0"]
    assert r.pttl("bucket") > 0
    # registered once, then run by EVALSHA
    assert r.script_exists(limiter.sha) == [True]


def test_redis_py_scripts_and_functions_resp3(r3):
    assert r3.eval("return {map={a=1}}", 0) == {b"a": 1}
    assert r3.eval("redis.setresp(3) return redis.call('hgetall', KEYS[1])", 1, "nohash") == {}
    assert r3.eval("return {double=1.5}", 0) == 1.5
    assert r3.eval("redis.setresp(3) return {true, false}", 0) == [True, False]
    r3.function_load("#!lua name=lib3\nredis.register_function('echo', function(k, a) return a[1] end)", replace=True)
    assert r3.fcall("echo", 0, "hi") == b"hi"
    from redis.exceptions import ResponseError

    with pytest.raises(ResponseError, match="write flag using \\*_ro"):
        r3.fcall_ro("echo", 0, "hi")
    r3.function_delete("lib3")


def test_evalsha_benchmark_shape(r):
    """Not a benchmark (see benchmarks/scripting.py): the cached-script path works over TCP."""
    sha = r.script_load("redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])")
    t0 = time.perf_counter()
    for i in range(200):
        assert r.evalsha(sha, 1, "bk", i) == str(i).encode()
    assert time.perf_counter() - t0 < 10


def test_persistence_helpers_and_info_fields(eng, c):
    assert scripting.function_codes(eng) == []
    fields = dict(scripting.info_memory(eng))
    assert fields["number_of_cached_scripts"] == "0" and fields["used_memory_lua"] == "32768"
    code = b"#!lua name=p\nredis.register_function('pf', function() return 'p' end)"
    assert scripting.load_function(eng, code) == b"p"
    assert scripting.function_codes(eng) == [code]
    assert run(eng, c, "FCALL", "pf", "0") == b"$1\r\np\r\n"
    run(eng, c, "SCRIPT", "LOAD", "return 1")
    fields = dict(scripting.info_memory(eng))
    assert (fields["number_of_cached_scripts"], fields["number_of_functions"], fields["number_of_libraries"]) == (
        "1",
        "1",
        "1",
    )


def test_scripts_and_disk_errors(eng, c):
    """After a failed background save, writes from scripts get MISCONF; reads still work."""
    eng.disk_error = True
    try:
        script = b"return redis.call('set', 'k', 'v')"
        reply = run(eng, c, "EVAL", script, "0")
        assert reply.startswith(b"-MISCONF Redis is configured to save RDB snapshots")
        sha = hashlib.sha1(script).hexdigest().encode()
        assert reply.endswith(b" script: %b, on @user_script:1.\r\n" % sha)
        assert run(eng, c, "EVAL", "return redis.call('get', 'k')", "0") == b"$-1\r\n"
        assert run(eng, c, "EVAL", "#!lua\nreturn 1", "0").startswith(b"-MISCONF")
        assert run(eng, c, "EVAL", "#!lua flags=no-writes\nreturn 1", "0") == b":1\r\n"
    finally:
        eng.disk_error = False


def test_lua_memory_does_not_grow_with_evals(eng, c):
    run(eng, c, "SET", "x", "0")
    for _ in range(10000):
        run(eng, c, "EVAL", "return redis.call('incr', KEYS[1])", "1", "x")
    assert run(eng, c, "GET", "x") == b"$5\r\n10000\r\n"
    assert int(dict(scripting.info_memory(eng))["used_memory_lua"]) < 1024 * 100
