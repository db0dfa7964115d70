"""The Lua debugger (SCRIPT DEBUG SYNC|YES) against Redis: the same session, byte for byte.

Each step sends one request on the debugging connection and reads one reply (the debugger's
log array, or the EVAL reply at the end), as redis-cli --ldb does.
"""

from __future__ import annotations

from conftest import RawConn, encode, start_redis, start_respdb

SCRIPT = """local a = 1
local t = {1, 2, "x", {k = true}}
redis.call("set", KEYS[1], a)
redis.debug(t, a, ARGV[1])
local s = redis.pcall("nosuch")
redis.breakpoint()
local n = redis.call("incr", KEYS[1])
return {n, redis.call("get", KEYS[1])}
"""

STEPS = [
    ("s",), ("step",), ("p",), ("p", "t"), ("p", "ARGV"), ("p", "nope"), ("r", "set", "other", "v"),
    ("redis", "get", "other"), ("l",), ("l", "1", "1"), ("w",), ("b", "7"), ("b",), ("b", "-7"), ("b", "99"),
    ("b", "x"), ("b", "7"), ("t",), ("e", "1+2"), ("e", "redis.call('ping')"), ("e", "error('boom')"),
    ("e", "return"), ("m",), ("m", "10"), ("r", "get", "other"), ("m", "0"), ("h",), ("hello\0world",),
    ("nosuch",), ("s",), ("s",), ("c",), ("b", "0"), ("c",),
]  # fmt: skip


def _session(port: int, mode: str) -> tuple[list[bytes], bytes, bytes]:
    c = RawConn(port)
    other = RawConn(port)
    try:
        c.cmd("DEL", "k", "other")
        out = [c.cmd("SCRIPT", "DEBUG", mode)]
        out.append(c.cmd("EVAL", SCRIPT, "1", "k", "arg\r\nwith newline"))
        for step in STEPS:
            c.send(encode(*step))
            out.append(c.read_reply())
            if out[-1].startswith(b"*1\r\n+<endsession>") or not out[-1].startswith(b"*"):
                break
        while not c.closed(2):  # the EVAL reply, then the server closes the connection
            pass
        return out, c.buf, other.cmd("MGET", "k", "other")
    finally:
        c.close()
        other.close()


def _compare(mode: str) -> list[bytes]:
    got = {}
    for who, start in (("redis", start_redis), ("respdb", start_respdb)):
        s = start()
        try:
            got[who] = _session(s.port, mode)
        finally:
            s.stop()
    for i, (a, b) in enumerate(zip(got["redis"][0], got["respdb"][0], strict=True)):
        assert a == b, (i, a, b)
    assert got["respdb"][1:] == got["redis"][1:]
    return got["respdb"][0]


def test_sync_session_like_redis():
    out = _compare("sync")
    assert out[1] == b"*2\r\n+* Stopped at 1, stop reason = step over\r\n+-> 1   local a = 1\r\n"


def test_forked_session_like_redis():
    _compare("yes")  # the changes go with the child: MGET shows none of them


def test_evalsha_refused_and_debug_no(respdb_server):
    c = RawConn(respdb_server.port)
    try:
        sha = c.cmd("SCRIPT", "LOAD", "return 1")[5:-2].decode()
        assert c.cmd("SCRIPT", "DEBUG", "sync") == b"+OK\r\n"
        assert c.cmd("EVALSHA", sha, "0") == b"-ERR Please use EVAL instead of EVALSHA for debugging\r\n"
        assert c.cmd("SCRIPT", "DEBUG", "no") == b"+OK\r\n"
        assert c.cmd("EVAL", "return 1", "0") == b":1\r\n"  # not debugged any more
        assert c.cmd("SCRIPT", "DEBUG", "maybe") == b"-ERR Use SCRIPT DEBUG YES/SYNC/NO\r\n"
    finally:
        c.close()


def test_client_gone_lets_the_script_finish(respdb_server):
    c = RawConn(respdb_server.port)
    other = RawConn(respdb_server.port)
    try:
        c.cmd("SCRIPT", "DEBUG", "sync")
        c.send_cmd("EVAL", "redis.call('set', 'gone', 'yes')\nreturn 1", "0")
        assert c.read_reply().startswith(b"*2\r\n+* Stopped at 1")
        c.close()
        assert other.cmd("GET", "gone") == b"$3\r\nyes\r\n"  # ran to the end without its client
    finally:
        other.close()
