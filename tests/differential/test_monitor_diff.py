"""MONITOR against the real redis-server: the same commands on both, the monitor streams compared.

Timestamps and client ports differ between servers, so lines are normalized first: the
timestamp must have Redis's shape (seconds, a dot, six digits) and be close to now, and each
client address becomes the index of its connection in the test.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import time

import pytest
from conftest import RawConn, start_redis, start_respdb

LINE = re.compile(rb"^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]*)\] (.*)\r\n$", re.S)
END = ("ECHO", "--end-of-test--")


def read_lines(mon: RawConn, until: bytes = b'"--end-of-test--"') -> list[bytes]:
    out = []
    while True:
        line = mon._line()
        out.append(line)
        if line.rstrip(b"\r\n").endswith(until):
            return out


def drain(conn: RawConn, quiet: float = 0.1) -> bytes:
    """Everything that arrives until the connection stays quiet for `quiet` seconds."""
    data, conn.buf = conn.buf, b""
    conn.sock.settimeout(quiet)
    try:
        while True:
            chunk = conn.sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    finally:
        conn.sock.settimeout(5)
    return data


def normalize(lines: list[bytes], addrs: dict[bytes, str]) -> list[str]:
    """Check each line's shape and timestamp; replace addresses by the names in `addrs`."""
    out = []
    now = time.time()
    for raw in lines:
        m = LINE.match(raw)
        assert m, raw
        assert abs(int(m.group(1)) - now) < 60, raw
        origin = m.group(4)
        if origin.startswith(b"unix:"):
            name = "unix"
        else:
            name = addrs.get(origin, "lua" if origin == b"lua" else "?" + origin.decode())
        out.append("[%s %s] %s" % (m.group(3).decode(), name, m.group(5).decode("latin-1")))
    return out


def addr_of(conn: RawConn) -> bytes:
    host, port = conn.sock.getsockname()[:2]
    return b"%s:%d" % (host.encode(), port)


def run_session(port: int, commands: list[tuple], proto: int = 2) -> tuple[list[bytes], list[str]]:
    """A monitor on `port` watching one client run `commands`: (client replies, monitor lines)."""
    mon = RawConn(port, proto=proto)
    assert mon.cmd("MONITOR") == b"+OK\r\n"
    a = RawConn(port)
    replies = [a.cmd(*cmd) for cmd in commands]
    a.cmd(*END)
    lines = normalize(read_lines(mon), {addr_of(a): "a", addr_of(mon): "mon"})
    a.sock.close()
    mon.sock.close()
    return replies, lines


COMMANDS = [
    ("SET", "foo", "bar"),
    ("GET", "foo"),
    ("SET", "esc", b'q"b\\s\n\r\t\x07\x08\x00\x7f\xff \xc3\xa9~'),
    ("SET", "n", "12345", "EX", "100"),
    ("NOSUCHCOMMAND", "x"),  # rejected before call(): not shown
    ("GET",),  # wrong arity: not shown
    ("CONFIG", "GET", "maxmemory"),  # admin: not shown
    ("DEBUG", "SLEEP", "0"),
    ("CLIENT", "LIST"),
    ("CLIENT", "SETNAME", "conn-a"),
    ("CLIENT", "ID"),
    ("AUTH", "pw"),
    ("AUTH", "user", "pw"),
    ("AUTH", "a", "b", "c"),
    ("HELLO", "2", "AUTH", "default", "pw"),
    ("HELLO", "3", "SETNAME", "x", "AUTH", "default", "pw"),
    ("HELLO", "4", "AUTH", "default", "pw"),
    ("HELLO", "2", "BOGUS", "AUTH", "default", "pw"),
    ("HELLO", "2", "AUTH", "default"),
    ("HELLO", "2"),
    ("MULTI",),
    ("SET", "a", "1"),
    ("INCR", "a"),
    ("EXEC",),
    ("MULTI",),
    ("NOSUCH",),
    ("EXEC",),
    ("MULTI",),
    ("DISCARD",),
    ("EVAL", "redis.call('set','x','y') return redis.call('get','x')", "0"),
    ("EVAL", "return redis.call('nosuch')", "0"),
    ("EVAL", "return 1", "notanumber"),
    ("EVALSHA", "abc", "0"),
    (
        "FUNCTION",
        "LOAD",
        "REPLACE",
        "#!lua name=mlib\nredis.register_function('f', function() return redis.call('set','k','v') end)",
    ),
    ("FCALL", "f", "0"),
    ("SELECT", "3"),
    ("SET", "x", "1"),
    ("SELECT", "nope"),
    ("SELECT", "0"),
    ("LPUSH", "l", "1"),
    ("BLPOP", "l", "0"),
    ("INFO", "server"),
    ("SLOWLOG", "GET"),
    ("SAVE",),
    ("OBJECT", "ENCODING", "foo"),
    ("PING",),
    ("FLUSHALL",),
    ("RESET",),
]


@pytest.mark.parametrize("proto", [2, 3])
def test_monitor_stream_matches_redis(redis_server, respdb_server, proto):
    ra, rl = run_session(redis_server.port, COMMANDS, proto)
    ba, bl = run_session(respdb_server.port, COMMANDS, proto)
    assert bl == rl
    assert len(rl) > 30 and any("(redacted)" in x for x in rl) and any("[0 lua]" in x for x in rl)
    # the commands' own replies are not the point here, but the ones that matter for the
    # monitor (errors that stop redaction, EXECABORT) must agree too
    for cmd, x, y in zip(COMMANDS, ra, ba, strict=True):
        if cmd[0] in ("AUTH", "EXEC", "SELECT", "EVAL", "EVALSHA", "FCALL", "SET", "GET"):
            assert y == x, cmd


def test_blocked_command_shown_once(redis_server, respdb_server):
    def session(port):
        mon = RawConn(port)
        mon.cmd("MONITOR")
        a, b = RawConn(port), RawConn(port)
        a.cmd("DEL", "q")
        b.send_cmd("BLPOP", "q", "0")
        time.sleep(0.1)
        a.cmd("RPUSH", "q", "v")
        assert b.read_reply() == b"*2\r\n$1\r\nq\r\n$1\r\nv\r\n"
        a.cmd(*END)
        return normalize(read_lines(mon), {addr_of(a): "a", addr_of(b): "b"})

    assert session(respdb_server.port) == session(redis_server.port)


def test_monitor_own_commands(redis_server, respdb_server):
    """What a monitor itself may run, and where its own lines go (after its replies)."""
    script = [
        ("PING",),
        ("GET", "x"),
        ("DBSIZE",),
        ("PUBLISH", "c", "m"),
        ("EVAL", "return 1", "0"),
        ("CLIENT", "SETNAME", "watcher"),
        ("SELECT", "1"),
        ("MULTI",),
        ("GET", "x"),
        ("PING",),
        ("EXEC",),
        ("SUBSCRIBE", "ch"),
        ("UNSUBSCRIBE",),
        ("MONITOR",),  # ignored: no reply at all
        ("ECHO", "hi"),
    ]

    def session(port):
        mon = RawConn(port)
        mon.cmd("MONITOR")
        out = []
        for cmd in script:
            mon.send_cmd(*cmd)
            time.sleep(0.02)
            data = drain(mon)
            if not data:
                out.append("(nothing)")
                continue
            out.append(re.sub(rb"\+\d+\.\d{6} \[(\d+) [^\]]*\]", rb"+TS [\1 ADDR]", data).decode("latin-1"))
        assert mon.cmd("RESET") == b"+RESET\r\n"
        other = RawConn(port)
        other.cmd("PING")
        assert mon.silent(0.1)  # no longer a monitor
        assert mon.cmd("GET", "x") == b"$-1\r\n"
        return out

    assert session(respdb_server.port) == session(redis_server.port)


def test_monitor_inside_multi_refused(redis_server, respdb_server):
    for port in (redis_server.port, respdb_server.port):
        c = RawConn(port)
        assert c.cmd("MULTI") == b"+OK\r\n"
        assert c.cmd("MONITOR") == b"+QUEUED\r\n"
        assert c.cmd("EXEC") == b"*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n"
        assert c.cmd("EVAL", "return redis.call('monitor')", "0").startswith(b"-ERR This Redis command is not allowed")


def test_client_list_flag_and_quit(respdb_server):
    mon = RawConn(respdb_server.port)
    mon.cmd("CLIENT", "SETNAME", "watcher")
    mon.cmd("MONITOR")
    a = RawConn(respdb_server.port)
    listing = a.cmd("CLIENT", "LIST").decode()
    line = [x for x in listing.split("\n") if "name=watcher" in x][0]
    assert " flags=O " in line
    assert mon.cmd("QUIT") == b"+OK\r\n"
    assert mon.closed()
    a.cmd("PING")
    assert "name=watcher" not in a.cmd("CLIENT", "LIST").decode()


@pytest.fixture(scope="module")
def unix_pair():
    d = tempfile.mkdtemp(prefix="mon-unix-")
    rs = start_redis("--unixsocket", os.path.join(d, "redis.sock"))
    bs = start_respdb("--unixsocket", os.path.join(d, "respdb.sock"))
    yield (rs, os.path.join(d, "redis.sock")), (bs, os.path.join(d, "respdb.sock"))
    rs.stop()
    bs.stop()


def test_unix_socket_origin(unix_pair):
    out = []
    for srv, path in unix_pair:
        mon = RawConn(srv.port)
        mon.cmd("MONITOR")
        u = socket.socket(socket.AF_UNIX)
        u.connect(path)
        u.sendall(b"*2\r\n$4\r\nECHO\r\n$15\r\n--end-of-test--\r\n")
        u.recv(100)
        lines = read_lines(mon)
        assert lines[0].split(b"] ")[0].endswith(b"[0 unix:" + path.encode())
        out.append(normalize(lines, {}))
        u.close()
    assert out[0] == out[1]
