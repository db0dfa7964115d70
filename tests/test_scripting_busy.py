"""Busy scripts over TCP: once a script runs past busy-reply-threshold, other clients get -BUSY,
SCRIPT KILL / FUNCTION KILL stop a script that did not write, a script that wrote is UNKILLABLE
and only SHUTDOWN NOSAVE ends it. The scenarios run on respdb and, where they compare, on a real
Redis 7.0 too; each server is started for this module (SHUTDOWN NOSAVE ends one of them).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from conftest import RawConn, ServerProc, redis_server_path, start_redis, start_respdb

THRESHOLD_MS = 100

# Busy for ARGV[1] milliseconds of server time, without writing.
SPIN = (
    "local function now() local t = redis.call('time') return t[1] * 1000 + math.floor(t[2] / 1000) end "
    "local start = now() while now() - start < tonumber(ARGV[1]) do end return 'done'"
)
FOREVER = "local i = 0 while true do i = i + 1 end"
FOREVER_PCALL = "while true do pcall(function() while true do end end) end"
WRITE_THEN_FOREVER = "redis.call('set', 'w', '1') while true do end"
LIB = (
    "#!lua name=busy\n"
    "redis.register_function('forever', function(keys, args) while true do end end)\n"
    "redis.register_function('forever_write', function(keys, args) redis.call('set', 'fw', 1) while true do end end)"
)


def _start(kind: str) -> ServerProc:
    if kind == "redis":
        if redis_server_path() is None:
            pytest.skip("redis-server is not installed")
        return start_redis()
    return start_respdb()


@pytest.fixture(params=["respdb", "redis"])
def server(request) -> Iterator[ServerProc]:
    s = _start(request.param)
    c = RawConn(s.port)
    assert c.cmd("CONFIG", "SET", "busy-reply-threshold", str(THRESHOLD_MS)) == b"+OK\r\n"
    c.close()
    yield s
    s.stop()


def conn(s: ServerProc, timeout: float = 20.0) -> RawConn:
    c = RawConn(s.port)
    c.sock.settimeout(timeout)
    return c


def send(c: RawConn, *args: str | bytes) -> None:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode() if isinstance(a, str) else a
        parts.append(b"$%d\r\n%b\r\n" % (len(b), b))
    c.send(b"".join(parts))


def wait_busy(c: RawConn, deadline: float = 10.0) -> bytes:
    """PING until the server answers BUSY; returns that reply."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        r = c.cmd("PING")
        if r.startswith(b"-BUSY"):
            return r
        time.sleep(0.02)
    raise AssertionError("the server never became busy")


BUSY_EVAL = b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
BUSY_FUNCTION = b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
UNKILLABLE = (
    b"-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait "
    b"the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.\r\n"
)


@pytest.mark.parametrize("script", [FOREVER, FOREVER_PCALL], ids=["loop", "loop-in-pcall"])
def test_script_kill(server: ServerProc, script: str) -> None:
    a, b = conn(server), conn(server)
    send(a, "EVAL", script, "0")
    assert wait_busy(b) == BUSY_EVAL
    assert b.cmd("GET", "x") == BUSY_EVAL
    assert b.cmd("FUNCTION", "STATS") == BUSY_EVAL
    assert b.cmd("FUNCTION", "KILL") == BUSY_EVAL
    assert b.cmd("SHUTDOWN") == BUSY_EVAL
    assert b.cmd("SCRIPT", "KILL") == b"+OK\r\n"
    reply = a.read_reply()
    assert reply.startswith(b"-ERR Script killed by user with SCRIPT KILL... script: ")
    assert reply.endswith(b", on @user_script:1.\r\n")
    assert b.cmd("PING") == b"+PONG\r\n"
    assert a.cmd("PING") == b"+PONG\r\n"
    assert b.cmd("SCRIPT", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"


def test_transaction_refused_while_busy(server: ServerProc) -> None:
    a, b = conn(server), conn(server)
    send(a, "EVAL", FOREVER, "0")
    wait_busy(b)
    assert b.cmd("MULTI") == b"+OK\r\n"
    assert b.cmd("GET", "x") == BUSY_EVAL
    assert b.cmd("EXEC") == b"-EXECABORT Transaction discarded because of: " + BUSY_EVAL[1:]
    assert b.cmd("SCRIPT", "KILL") == b"+OK\r\n"
    a.read_reply()
    assert b.cmd("EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_new_connections_answered_while_busy(server: ServerProc) -> None:
    a, b = conn(server), conn(server)
    send(a, "EVAL", FOREVER, "0")
    wait_busy(b)
    for _ in range(3):
        c = conn(server)
        assert c.cmd("PING") == BUSY_EVAL
        assert c.cmd("HELLO", "2").startswith(b"*")  # HELLO may run while a script is busy
        c.close()
    assert b.cmd("SCRIPT", "KILL") == b"+OK\r\n"
    a.read_reply()


def test_function_kill(server: ServerProc) -> None:
    a, b = conn(server), conn(server)
    assert b.cmd("FUNCTION", "LOAD", LIB) == b"$4\r\nbusy\r\n"
    send(a, "FCALL", "forever", "0")
    assert wait_busy(b) == BUSY_FUNCTION
    stats = b.cmd("FUNCTION", "STATS")
    assert stats.startswith(
        b"*4\r\n$14\r\nrunning_script\r\n*6\r\n$4\r\nname\r\n$7\r\nforever\r\n$7\r\ncommand\r\n"
        b"*3\r\n$5\r\nFCALL\r\n$7\r\nforever\r\n$1\r\n0\r\n$11\r\nduration_ms\r\n:"
    )
    assert stats.endswith(
        b"$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n"
    )
    assert b.cmd("SCRIPT", "KILL") == BUSY_FUNCTION
    assert b.cmd("FUNCTION", "KILL") == b"+OK\r\n"
    reply = a.read_reply()
    assert reply == b"-ERR Script killed by user with SCRIPT KILL... script: forever, on @user_function:2.\r\n"
    assert b.cmd("FUNCTION", "STATS").startswith(b"*4\r\n$14\r\nrunning_script\r\n$-1\r\n")


def test_script_finishing_by_itself(server: ServerProc) -> None:
    """A script past the threshold that ends on its own: its reply arrives, then the caller's
    pipelined commands, in order; meanwhile the others got BUSY."""
    a, b = conn(server), conn(server)
    a.send(
        b"*4\r\n$4\r\nEVAL\r\n$%d\r\n%b\r\n$1\r\n0\r\n$3\r\n600\r\n" % (len(SPIN), SPIN.encode())
        + b"*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n*1\r\n$4\r\nPING\r\n"
    )
    assert wait_busy(b) == BUSY_EVAL
    assert b.cmd("GET", "after") == BUSY_EVAL
    assert a.read_reply() == b"$4\r\ndone\r\n"
    assert a.read_reply() == b"+OK\r\n"
    assert a.read_reply() == b"+PONG\r\n"
    assert b.cmd("GET", "after") == b"$1\r\n1\r\n"


def test_blocked_clients_served_after_the_script(server: ServerProc) -> None:
    """A key the busy script pushes to does not wake a BLPOP until the script is over."""
    a, b, c = conn(server), conn(server), conn(server)
    send(c, "BLPOP", "q", "0")
    time.sleep(0.2)
    script = "redis.call('rpush', KEYS[1], 'x') " + SPIN.replace("tonumber(ARGV[1])", "600")
    send(a, "EVAL", script, "1", "q")
    wait_busy(b)
    c.sock.settimeout(0.2)
    with pytest.raises(socket.timeout):
        c.read_reply()
    c.sock.settimeout(20)
    assert a.read_reply() == b"$4\r\ndone\r\n"
    assert c.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n"


def test_unkillable_then_shutdown_nosave(server: ServerProc) -> None:
    a, b = conn(server), conn(server)
    send(a, "EVAL", WRITE_THEN_FOREVER, "0")
    assert wait_busy(b) == BUSY_EVAL
    assert b.cmd("SCRIPT", "KILL") == UNKILLABLE
    assert b.cmd("FUNCTION", "KILL") == UNKILLABLE
    assert b.cmd("SHUTDOWN") == BUSY_EVAL
    send(b, "SHUTDOWN", "NOSAVE")
    assert b.closed(timeout=10)
    assert server.proc.wait(timeout=10) is not None


def test_unkillable_function(server: ServerProc) -> None:
    a, b = conn(server), conn(server)
    assert b.cmd("FUNCTION", "LOAD", LIB) == b"$4\r\nbusy\r\n"
    send(a, "FCALL", "forever_write", "0")
    assert wait_busy(b) == BUSY_FUNCTION
    assert b.cmd("FUNCTION", "KILL") == UNKILLABLE
    assert b.cmd("SCRIPT", "KILL") == UNKILLABLE
    send(b, "SHUTDOWN", "NOSAVE")
    assert b.closed(timeout=10)


def test_threshold_zero_never_busy(server: ServerProc) -> None:
    """busy-reply-threshold 0: a long script is never interrupted (other clients wait)."""
    a, b = conn(server), conn(server)
    assert b.cmd("CONFIG", "SET", "busy-reply-threshold", "0") == b"+OK\r\n"
    send(a, "EVAL", SPIN, "0", "400")
    time.sleep(0.1)
    t0 = time.monotonic()
    assert b.cmd("PING") == b"+PONG\r\n"
    assert time.monotonic() - t0 > 0.1  # answered only once the script was over
    assert a.read_reply() == b"$4\r\ndone\r\n"


def test_kill_inside_coroutines(server: ServerProc) -> None:
    """Coroutines get the busy hook too; a kill inside coroutine.resume is an ordinary error
    there, inside coroutine.wrap it ends the script."""
    a, b = conn(server), conn(server)
    send(a, "EVAL", "local co = coroutine.wrap(function() while true do end end) co()", "0")
    wait_busy(b)
    assert b.cmd("SCRIPT", "KILL") == b"+OK\r\n"
    assert a.read_reply().startswith(b"-ERR Script killed by user with SCRIPT KILL... script: ")
    send(a, "EVAL", "local co = coroutine.create(function() while true do end end) coroutine.resume(co)", "0")
    wait_busy(b)
    assert b.cmd("SCRIPT", "KILL") == b"+OK\r\n"
    assert a.read_reply() == b"$-1\r\n"
    assert b.cmd("PING") == b"+PONG\r\n"
