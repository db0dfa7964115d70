"""Blocking list commands over TCP with several clients.

Every scenario runs against respdb and against a real redis-server with the same
expectations, so the expected replies are Redis's own behaviour, not our guess.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from conftest import RawConn

Conn = RawConn  # shared helpers live in conftest


def info_field(conn: Conn, section: str, field: str) -> str:
    info = conn.cmd("INFO", section)
    for line in info.split(b"\r\n"):
        if line.startswith(field.encode() + b":"):
            return line.split(b":", 1)[1].decode()
    raise AssertionError(f"{field} not in INFO {section}")


def wait_blocked(ctl: Conn, n: int, timeout: float = 5.0) -> None:
    """Wait until exactly `n` clients are blocked (blocking is asynchronous to the sender)."""
    deadline = time.monotonic() + timeout
    while True:
        got = int(info_field(ctl, "clients", "blocked_clients"))
        if got == n:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"blocked_clients={got}, expected {n}")
        time.sleep(0.005)


@pytest.fixture(params=["respdb", "redis"])
def server(request):
    return request.getfixturevalue(request.param + "_server")


@pytest.fixture
def conns(server) -> Iterator:
    opened: list[Conn] = []

    def make(proto: int = 2) -> Conn:
        c = Conn(server.port, proto)
        opened.append(c)
        return c

    ctl = make()
    ctl.cmd("FLUSHALL")
    ctl.cmd("CONFIG", "SET", "list-max-listpack-size", "-2")
    yield make
    for c in opened:
        c.close()
    # Nobody may stay blocked once the connections are gone.
    wait_blocked(Conn(server.port), 0)


def b(*parts: str) -> bytes:
    """A RESP2 array of bulk strings."""
    out = b"*%d\r\n" % len(parts)
    for p in parts:
        out += b"$%d\r\n%s\r\n" % (len(p), p.encode())
    return out


def test_fifo_across_clients(conns):
    ctl = conns()
    waiters = []
    for i in range(4):
        w = conns()
        w.send_cmd("BLPOP", "q", "0")
        wait_blocked(ctl, i + 1)
        waiters.append(w)
    assert ctl.cmd("RPUSH", "q", "a", "b") == b":2\r\n"
    assert waiters[0].read_reply() == b("q", "a")
    assert waiters[1].read_reply() == b("q", "b")
    assert waiters[2].silent() and waiters[3].silent()
    wait_blocked(ctl, 2)
    assert ctl.cmd("LPUSH", "q", "c") == b":1\r\n"
    assert waiters[2].read_reply() == b("q", "c")
    assert ctl.cmd("RPUSH", "q", "d", "e", "f") == b":3\r\n"
    assert waiters[3].read_reply() == b("q", "d")
    assert ctl.cmd("LRANGE", "q", "0", "-1") == b("e", "f")
    wait_blocked(ctl, 0)


def test_multi_key_waiters_and_brpop(conns):
    ctl, w1, w2 = conns(), conns(), conns()
    w1.send_cmd("BLPOP", "k1", "k2", "0")
    wait_blocked(ctl, 1)
    w2.send_cmd("BRPOP", "k2", "0")
    wait_blocked(ctl, 2)
    ctl.cmd("RPUSH", "k2", "x", "y", "z")
    assert w1.read_reply() == b("k2", "x")  # first blocked, first served, from the head
    assert w2.read_reply() == b("k2", "z")  # then BRPOP from the tail
    assert ctl.cmd("LRANGE", "k2", "0", "-1") == b("y")


def test_served_from_the_key_that_became_ready_first(conns):
    """A waiter on k1 k2 is served from whichever key got data first (here inside one EXEC)."""
    ctl, w = conns(), conns()
    w.send_cmd("BLPOP", "k1", "k2", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("MULTI")
    ctl.cmd("RPUSH", "k2", "from-k2")
    ctl.cmd("RPUSH", "k1", "from-k1")
    assert ctl.cmd("EXEC") == b"*2\r\n:1\r\n:1\r\n"
    assert w.read_reply() == b("k2", "from-k2")
    assert ctl.cmd("LRANGE", "k1", "0", "-1") == b("from-k1")


def test_push_and_pop_in_one_exec_serves_nobody(conns):
    ctl, w = conns(), conns()
    w.send_cmd("BLPOP", "k", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("MULTI")
    ctl.cmd("RPUSH", "k", "v")
    ctl.cmd("LPOP", "k")
    assert ctl.cmd("EXEC") == b"*2\r\n:1\r\n$1\r\nv\r\n"
    assert w.silent(0.2)
    wait_blocked(ctl, 1)
    ctl.cmd("RPUSH", "k", "w")
    assert w.read_reply() == b("k", "w")


@pytest.mark.parametrize("proto", [2, 3])
def test_sub_second_timeouts(conns, proto):
    ctl = conns()
    expected = b"*-1\r\n" if proto == 2 else b"_\r\n"
    for cmd in (
        ("BLPOP", "nokey", "0.15"),
        ("BRPOP", "nokey", "other", "0.15"),
        ("BLMOVE", "nokey", "dst", "LEFT", "RIGHT", "0.15"),
        ("BRPOPLPUSH", "nokey", "dst", "0.15"),
        ("BLMPOP", "0.15", "1", "nokey", "LEFT"),
    ):
        w = conns(proto)
        t0 = time.monotonic()
        assert w.cmd(*cmd) == expected, cmd
        elapsed = time.monotonic() - t0
        assert 0.14 <= elapsed < 1.0, (cmd, elapsed)
    wait_blocked(ctl, 0)
    assert ctl.cmd("EXISTS", "dst") == b":0\r\n"


def test_timeouts_in_deadline_order(conns):
    ctl = conns()
    late, early = conns(), conns()
    late.send_cmd("BLPOP", "k", "0.4")
    early.send_cmd("BLPOP", "k", "0.1")
    wait_blocked(ctl, 2)
    assert early.read_reply() == b"*-1\r\n"
    assert late.silent(0.1)
    assert late.read_reply() == b"*-1\r\n"
    # A served waiter gets no second (timeout) reply later.
    w = conns()
    w.send_cmd("BLPOP", "k", "0.2")
    wait_blocked(ctl, 1)
    ctl.cmd("RPUSH", "k", "v")
    assert w.read_reply() == b("k", "v")
    assert w.silent(0.35)
    assert w.cmd("PING") == b"+PONG\r\n"


def test_blmove_push_wakes_the_next_waiter(conns):
    ctl, mover, popper = conns(), conns(), conns()
    mover.send_cmd("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
    wait_blocked(ctl, 1)
    popper.send_cmd("BLPOP", "dst", "0")
    wait_blocked(ctl, 2)
    assert ctl.cmd("RPUSH", "src", "item") == b":1\r\n"
    assert mover.read_reply() == b"$4\r\nitem\r\n"
    assert popper.read_reply() == b("dst", "item")
    assert ctl.cmd("EXISTS", "src", "dst") == b":0\r\n"
    wait_blocked(ctl, 0)


def test_brpoplpush_chain(conns):
    ctl, w1, w2, w3 = conns(), conns(), conns(), conns()
    w1.send_cmd("BRPOPLPUSH", "a", "b", "0")
    wait_blocked(ctl, 1)
    w2.send_cmd("BRPOPLPUSH", "b", "c", "0")
    wait_blocked(ctl, 2)
    w3.send_cmd("BLMPOP", "0", "2", "x", "c", "RIGHT", "COUNT", "5")
    wait_blocked(ctl, 3)
    ctl.cmd("LPUSH", "a", "v")
    assert w1.read_reply() == b"$1\r\nv\r\n"
    assert w2.read_reply() == b"$1\r\nv\r\n"
    assert w3.read_reply() == b"*2\r\n$1\r\nc\r\n*1\r\n$1\r\nv\r\n"
    assert ctl.cmd("EXISTS", "a", "b", "c") == b":0\r\n"


def test_blmove_to_itself_rotates_for_the_waiter(conns):
    ctl, w = conns(), conns()
    w.send_cmd("BLMOVE", "r", "r", "RIGHT", "LEFT", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("RPUSH", "r", "a")
    assert w.read_reply() == b"$1\r\na\r\n"
    assert ctl.cmd("LRANGE", "r", "0", "-1") == b("a")


def test_blmpop_served_with_count(conns):
    ctl, w = conns(), conns()
    w.send_cmd("BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2")
    wait_blocked(ctl, 1)
    ctl.cmd("RPUSH", "b", "x", "y", "z")
    assert w.read_reply() == b"*2\r\n$1\r\nb\r\n*2\r\n$1\r\nz\r\n$1\r\ny\r\n"
    assert ctl.cmd("LRANGE", "b", "0", "-1") == b("x")


def test_pipelined_commands_wait_for_the_blocked_one(conns):
    ctl, w = conns(), conns()
    w.send(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nLLEN\r\n$1\r\nk\r\n")
    wait_blocked(ctl, 1)
    assert w.silent(0.2)  # PING is not answered while BLPOP waits
    ctl.cmd("RPUSH", "k", "v1", "v2")
    assert w.read_reply() == b("k", "v1")
    assert w.read_reply() == b"+PONG\r\n"
    assert w.read_reply() == b":1\r\n"
    # A second blocking command in the same pipeline blocks in its turn.
    w.send_cmd("BLPOP", "k", "0")
    assert w.read_reply() == b("k", "v2")
    w.send(
        b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n"
    )
    wait_blocked(ctl, 1)
    ctl.cmd("RPUSH", "k", "a")
    assert w.read_reply() == b("k", "a")
    wait_blocked(ctl, 1)
    assert w.silent(0.1)
    ctl.cmd("RPUSH", "k", "b")
    assert w.read_reply() == b("k", "b")
    assert w.read_reply() == b"+PONG\r\n"


def test_disconnect_while_blocked_leaves_no_trace(conns):
    ctl = conns()
    stay = [conns() for _ in range(3)]
    for w in stay:
        w.send_cmd("BLPOP", "k", "k2", "0")
    wait_blocked(ctl, 3)
    gone = [conns() for _ in range(2)]
    for w in gone:
        w.send_cmd("BRPOPLPUSH", "k", "d", "0.5")
    wait_blocked(ctl, 5)
    for w in gone:
        w.sock.shutdown(socket.SHUT_RDWR)
        w.close()
    wait_blocked(ctl, 3)
    last = conns()
    last.send_cmd("BLPOP", "k", "0")
    wait_blocked(ctl, 4)
    time.sleep(0.6)  # past the closed clients' timeouts: nothing may fire for them
    ctl.cmd("RPUSH", "k", "a", "b", "c", "d")
    assert [w.read_reply() for w in stay] == [b("k", "a"), b("k", "b"), b("k", "c")]
    assert last.read_reply() == b("k", "d")
    wait_blocked(ctl, 0)
    assert ctl.cmd("EXISTS", "k", "d") == b":0\r\n"


def test_killed_blocked_client(conns):
    ctl, w = conns(), conns()
    wid = w.client_id()
    w.send_cmd("BLPOP", "k", "0")
    wait_blocked(ctl, 1)
    assert ctl.cmd("CLIENT", "KILL", "ID", str(wid)) == b":1\r\n"
    assert w.closed()
    wait_blocked(ctl, 0)
    ctl.cmd("RPUSH", "k", "v")
    assert ctl.cmd("LLEN", "k") == b":1\r\n"


@pytest.mark.parametrize("proto", [2, 3])
def test_client_unblock(conns, proto):
    ctl, w = conns(), conns(proto)
    wid = w.client_id()
    assert ctl.cmd("CLIENT", "UNBLOCK", str(wid)) == b":0\r\n"  # not blocked
    for cmd, timeout_reply in (
        (("BLPOP", "k", "0"), b"*-1\r\n" if proto == 2 else b"_\r\n"),
        (("BLMOVE", "k", "d", "LEFT", "LEFT", "0"), b"*-1\r\n" if proto == 2 else b"_\r\n"),
        (("BLMPOP", "0", "1", "k", "LEFT"), b"*-1\r\n" if proto == 2 else b"_\r\n"),
    ):
        w.send_cmd(*cmd)
        wait_blocked(ctl, 1)
        assert ctl.cmd("CLIENT", "UNBLOCK", str(wid), "TIMEOUT") == b":1\r\n"
        assert w.read_reply() == timeout_reply
        w.send_cmd(*cmd)
        wait_blocked(ctl, 1)
        assert ctl.cmd("CLIENT", "UNBLOCK", str(wid), "ERROR") == b":1\r\n"
        assert w.read_reply() == b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
        w.send_cmd(*cmd)
        wait_blocked(ctl, 1)
        assert ctl.cmd("CLIENT", "UNBLOCK", str(wid)) == b":1\r\n"
        assert w.read_reply() == timeout_reply
    assert ctl.cmd("CLIENT", "UNBLOCK", str(wid), "FOO").startswith(b"-ERR CLIENT UNBLOCK reason should be")
    assert ctl.cmd("CLIENT", "UNBLOCK", "abc") == b"-ERR value is not an integer or out of range\r\n"
    assert w.cmd("PING") == (b"+PONG\r\n")


def test_client_list_flags_and_info(conns):
    ctl, w = conns(), conns()
    wid = w.client_id()
    w.send_cmd("BLPOP", "k", "0")
    wait_blocked(ctl, 1)
    line = ctl.cmd("CLIENT", "LIST", "ID", str(wid))
    assert b" flags=b " in line and b" cmd=blpop " in line
    ctl.cmd("RPUSH", "k", "v")
    assert w.read_reply() == b("k", "v")
    line = ctl.cmd("CLIENT", "LIST", "ID", str(wid))
    assert b" flags=N " in line
    assert info_field(ctl, "clients", "blocked_clients") == "0"


def test_commandstats_count_timeouts_and_unblocks(conns):
    ctl, w = conns(), conns()
    ctl.cmd("CONFIG", "RESETSTAT")
    assert w.cmd("BLPOP", "k", "0.01") == b"*-1\r\n"
    wid = w.client_id()
    w.send_cmd("BRPOP", "k", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("CLIENT", "UNBLOCK", str(wid), "ERROR")
    w.read_reply()
    w.send_cmd("BLPOP", "k", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("RPUSH", "k", "v")
    w.read_reply()
    stats = ctl.cmd("INFO", "commandstats").decode()
    assert "cmdstat_blpop:calls=2," in stats
    assert "cmdstat_brpop:calls=1," in stats and "failed_calls=1" in stats.split("cmdstat_brpop:")[1].split("\r\n")[0]


def test_wrong_type_while_blocked(conns):
    """Redis 7.0 keeps a list waiter blocked when the key becomes another type."""
    ctl, w = conns(), conns()
    w.send_cmd("BLPOP", "k", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("SET", "k", "string")
    assert w.silent(0.15)
    ctl.cmd("DEL", "k")
    ctl.cmd("RPUSH", "k", "v")
    assert w.read_reply() == b("k", "v")


def test_blmove_served_into_wrong_type_destination(conns):
    ctl, w = conns(), conns()
    w.send_cmd("BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("SET", "dst", "string")
    ctl.cmd("RPUSH", "src", "v")
    assert w.read_reply() == b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    wait_blocked(ctl, 0)
    assert ctl.cmd("LRANGE", "src", "0", "-1") == b("v")


def test_waiters_in_other_databases(conns):
    ctl, w = conns(), conns()
    w.cmd("SELECT", "1")
    w.send_cmd("BLPOP", "k", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("RPUSH", "k", "db0")
    assert w.silent(0.1)
    ctl.cmd("SELECT", "1")
    ctl.cmd("RPUSH", "k", "db1")
    assert w.read_reply() == b("k", "db1")
    assert w.cmd("LLEN", "k") == b":0\r\n"  # still in db 1
    ctl.cmd("SELECT", "0")
    ctl.cmd("DEL", "k")


def test_rename_move_copy_swapdb_wake_waiters(conns):
    ctl, w = conns(), conns()
    w.send_cmd("BLPOP", "dst", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("RPUSH", "src", "renamed")
    assert ctl.cmd("RENAME", "src", "dst") == b"+OK\r\n"
    assert w.read_reply() == b("dst", "renamed")

    w.send_cmd("BLPOP", "dst", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("RPUSH", "src", "copied")
    assert ctl.cmd("COPY", "src", "dst") == b":1\r\n"
    assert w.read_reply() == b("dst", "copied")

    w.send_cmd("BLPOP", "src", "0")  # src holds "copied": served at once
    assert w.read_reply() == b("src", "copied")

    w.send_cmd("BLPOP", "dst", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("SELECT", "2")
    ctl.cmd("RPUSH", "dst", "moved")
    assert ctl.cmd("MOVE", "dst", "0") == b":1\r\n"
    assert w.read_reply() == b("dst", "moved")

    w.send_cmd("BLPOP", "dst", "0")
    wait_blocked(ctl, 1)
    ctl.cmd("RPUSH", "dst", "swapped")
    assert ctl.cmd("SWAPDB", "0", "2") == b"+OK\r\n"
    assert w.read_reply() == b("dst", "swapped")
    ctl.cmd("SELECT", "0")


def test_many_waiters_one_push_each(conns):
    ctl = conns()
    ws = [conns() for _ in range(20)]
    for i, w in enumerate(ws):
        w.send_cmd("BRPOP", "k%d" % (i % 3), "shared", "0")
    wait_blocked(ctl, 20)
    ctl.cmd("RPUSH", "shared", *[str(i) for i in range(25)])
    for i, w in enumerate(ws):
        assert w.read_reply() == b("shared", str(24 - i))
    assert ctl.cmd("LLEN", "shared") == b":5\r\n"
