"""MULTI/EXEC/WATCH: differential against a real redis-server, plus engine-level propagation."""

from __future__ import annotations

import time

import pytest

from respdb.config import Config
from respdb.engine import Engine
from tests.conftest import RawConn

SEQUENCES = [
    # plain transaction, replies of every kind inside EXEC
    [["MULTI"], ["SET", "a", "1"], ["INCR", "a"], ["GET", "a"], ["EXEC"]],
    # runtime error inside EXEC does not abort the rest
    [["SET", "s", "x"], ["MULTI"], ["INCR", "s"], ["SET", "t", "1"], ["EXEC"], ["GET", "t"]],
    # queue-time errors abort with EXECABORT
    [["MULTI"], ["SET", "a", "1"], ["GET"], ["EXEC"], ["GET", "a"]],
    [["MULTI"], ["NOSUCHCMD", "x"], ["EXEC"]],
    # nested MULTI and WATCH inside MULTI are errors that do not abort
    [["MULTI"], ["MULTI"], ["WATCH", "a"], ["SET", "a", "2"], ["EXEC"]],
    [["EXEC"], ["DISCARD"], ["MULTI"], ["DISCARD"], ["EXEC"]],
    # NO_MULTI commands are refused inside a transaction
    [["MULTI"], ["SHUTDOWN"], ["EXEC"]],
    # empty transaction, RESP3 inside
    [["MULTI"], ["EXEC"]],
    [["HELLO", "3"], ["MULTI"], ["SET", "a", "1"], ["GET", "nope"], ["EXEC"]],
    # WATCH without interference
    [["SET", "w", "1"], ["WATCH", "w"], ["GET", "w"], ["MULTI"], ["SET", "w", "2"], ["EXEC"]],
    # WATCH, then our own change before MULTI aborts
    [["WATCH", "w"], ["SET", "w", "3"], ["MULTI"], ["GET", "w"], ["EXEC"]],
    # UNWATCH clears it
    [["WATCH", "w"], ["SET", "w", "3"], ["UNWATCH"], ["MULTI"], ["GET", "w"], ["EXEC"]],
    # FLUSHDB of a watched existing key aborts, of a missing key does not
    [["SET", "f", "1"], ["WATCH", "f"], ["FLUSHDB"], ["MULTI"], ["PING"], ["EXEC"]],
    [["WATCH", "nokey"], ["FLUSHDB"], ["MULTI"], ["PING"], ["EXEC"]],
    # SWAPDB bringing in a watched key aborts
    [
        ["SELECT", "1"],
        ["SET", "sw", "1"],
        ["SELECT", "0"],
        ["WATCH", "sw"],
        ["SWAPDB", "0", "1"],
        ["MULTI"],
        ["PING"],
        ["EXEC"],
        ["SWAPDB", "0", "1"],
    ],  # fmt: skip
    # RENAME onto a watched key aborts
    [["SET", "src", "1"], ["WATCH", "dst"], ["RENAME", "src", "dst"], ["MULTI"], ["PING"], ["EXEC"]],
    # MULTI state survives errors; DISCARD clears watches
    [["WATCH", "a"], ["MULTI"], ["DISCARD"], ["SET", "a", "9"], ["MULTI"], ["GET", "a"], ["EXEC"]],
]


def _run(conn: RawConn, seq: list[list[str]]) -> list[bytes]:
    out = []
    for cmd in seq:
        reply = conn.cmd(*cmd)
        # HELLO's reply carries the connection id, which differs between servers.
        out.append(reply.split(b"id\r\n")[0] if cmd[0] == "HELLO" else reply)
    return out


@pytest.mark.parametrize("seq", SEQUENCES, ids=[" ".join(" ".join(c) for c in s)[:60] for s in SEQUENCES])
def test_transaction_sequences_match_redis(seq, respdb_server, redis_server):
    a = RawConn(respdb_server.port)
    b = RawConn(redis_server.port)
    try:
        a.cmd("FLUSHALL")
        b.cmd("FLUSHALL")
        assert _run(a, seq) == _run(b, seq)
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("port_of", ["respdb", "redis"])
def test_write_from_another_client_aborts(port_of, respdb_server, redis_server):
    port = respdb_server.port if port_of == "respdb" else redis_server.port
    a, b = RawConn(port), RawConn(port)
    try:
        a.cmd("FLUSHALL")
        a.cmd("SET", "k", "1")
        assert a.cmd("WATCH", "k") == b"+OK\r\n"
        b.cmd("GET", "k")  # a read does not touch
        a.cmd("MULTI")
        a.cmd("INCR", "k")
        assert a.cmd("EXEC") == b"*1\r\n:2\r\n"
        a.cmd("WATCH", "k")
        b.cmd("SET", "k", "5")
        a.cmd("MULTI")
        a.cmd("INCR", "k")
        assert a.cmd("EXEC") == b"*-1\r\n"
        assert a.cmd("GET", "k") == b"$1\r\n5\r\n"
    finally:
        a.close()
        b.close()


def test_watched_key_expiring_aborts(respdb_server, redis_server):
    for port in (respdb_server.port, redis_server.port):
        a = RawConn(port)
        try:
            a.cmd("FLUSHALL")
            a.cmd("SET", "k", "1", "PX", "100")
            a.cmd("WATCH", "k")
            time.sleep(0.25)
            a.cmd("MULTI")
            a.cmd("PING")
            assert a.cmd("EXEC") == b"*-1\r\n", port
        finally:
            a.close()


@pytest.mark.parametrize("move", [("LMOVE", "src", "dst", "LEFT", "RIGHT"), ("RPOPLPUSH", "src", "dst")])
def test_list_move_touches_the_watched_source(respdb_server, redis_server, move):
    """The key a list move pops from is modified too: WATCH on it aborts EXEC, as in Redis."""
    got = []
    for port in (redis_server.port, respdb_server.port):
        a, b = RawConn(port), RawConn(port)
        try:
            a.cmd("FLUSHALL")
            a.cmd("RPUSH", "src", "x", "y")
            a.cmd("WATCH", "src")
            b.cmd(*move)
            a.cmd("MULTI")
            a.cmd("PING")
            got.append(a.cmd("EXEC"))
        finally:
            a.close()
            b.close()
    assert got == [b"*-1\r\n", b"*-1\r\n"]


def test_exec_propagates_wrapped_in_multi():
    cfg = Config()
    e = Engine(cfg)
    c = e.new_client()
    log: list[list[bytes]] = []
    e.propagators.append(lambda dbid, argv: log.append(argv))
    for cmd in ([b"MULTI"], [b"SET", b"a", b"1"], [b"GET", b"a"], [b"INCR", b"a"], [b"EXEC"]):
        e.execute(c, cmd)
    assert log == [[b"MULTI"], [b"SET", b"a", b"1"], [b"INCR", b"a"], [b"EXEC"]]
    log.clear()
    for cmd in ([b"MULTI"], [b"GET", b"a"], [b"EXEC"]):
        e.execute(c, cmd)
    assert log == []  # a read-only transaction propagates nothing


def test_transaction_is_atomic_for_other_clients(r, respdb_server):
    import redis

    other = redis.Redis(port=respdb_server.port)
    with r.pipeline(transaction=True) as p:
        p.set("x", 1)
        p.incr("x")
        p.get("x")
        assert p.execute() == [True, 2, b"2"]
    assert other.get("x") == b"2"
    other.close()
