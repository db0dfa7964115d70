"""The master side of replication over TCP: a real redis-server replicating from respdb, and the
SYNC command stream compared with Redis's own.
"""

from __future__ import annotations

import re
import time

import pytest
from conftest import RawConn, ServerProc, start_redis, start_respdb


def _info(conn: RawConn, section: str) -> dict[str, str]:
    reply = conn.cmd("INFO", section)
    body = reply.split(b"\r\n", 1)[1]
    out = {}
    for line in body.decode().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def _wait(cond, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def master() -> ServerProc:
    s = start_respdb()
    yield s
    s.stop()


# a bit of everything: types, expiry (relative, rewritten to absolute), several databases, a
# transaction, a script, deletions, a flush and a swap
WRITES = [
    ("SET", "s", "v"), ("SET", "e", "x", "EX", "1000"), ("set", "pa", "x", "pxat", "99999999999999"), ("INCRBY", "n", "5"), ("APPEND", "s", "w"),
    ("HSET", "h", "f1", "v1", "f2", "v2"), ("RPUSH", "l", "a", "b", "c"), ("LPOP", "l"),
    ("SADD", "set", "m1", "m2", "3"), ("ZADD", "z", "1", "a", "2.5", "b"), ("XADD", "st", "1-1", "f", "v"),
    ("PFADD", "hll", "a", "b"), ("SETBIT", "bits", "7", "1"), ("EXPIRE", "h", "5000"),
    ("SELECT", "3"), ("SET", "k3", "in-db-3"), ("MULTI",), ("INCR", "c"), ("SET", "t", "x", "PX", "100000"), ("EXEC",),
    ("EVAL", "redis.call('set', KEYS[1], ARGV[1]); return redis.call('incr', KEYS[2])", "2", "lk", "lc", "lv"),
    ("SELECT", "0"), ("DEL", "s"), ("SET", "gone", "1"), ("UNLINK", "gone"),
    ("SELECT", "5"), ("SET", "x", "1"), ("FLUSHDB",), ("SET", "y", "2"), ("SELECT", "0"),
    # one write in a transaction or a script goes alone; several in MULTI/EXEC (MULTI with the
    # first command's database, EXEC with the last one's)
    ("MULTI",), ("SET", "one", "1"), ("EXEC",), ("EVAL", "return redis.call('set', 'two', '2')", "0"),
    ("EVAL", "redis.call('set','x','0'); redis.call('select', 3); redis.call('set','x','3'); return 1", "0"),
    ("MULTI",), ("SELECT", "2"), ("SET", "y", "1"), ("SELECT", "4"), ("SET", "z", "1"), ("EXEC",), ("SELECT", "0"),
    ("MULTI",), ("GET", "one"), ("EXEC",),
    # PUBLISH goes to replicas (their subscribers), alone or in a transaction
    ("PUBLISH", "ch", "m"), ("MULTI",), ("PUBLISH", "bla", "bla"), ("EXEC",), ("SPUBLISH", "sch", "m"),
    ("SWAPDB", "5", "6"),
]  # fmt: skip


def test_a_real_redis_replica_follows_respdb(master: ServerProc) -> None:
    m = RawConn(master.port)
    m.cmd("SET", "before", "sync")  # in the snapshot
    replica = start_redis("--replicaof", "127.0.0.1", str(master.port))
    try:
        rc = RawConn(replica.port)
        _wait(lambda: _info(rc, "replication").get("master_link_status") == "up", what="replica link up")
        for cmd in WRITES:  # after the sync: through the command stream
            m.cmd(*cmd)
        mi = _info(m, "replication")
        assert mi["connected_slaves"] == "1"
        assert re.fullmatch(r"ip=127\.0\.0\.1,port=%d,state=online,offset=\d+,lag=\d+" % replica.port, mi["slave0"])
        target = int(mi["master_repl_offset"])
        assert target > 0
        _wait(lambda: int(_info(rc, "replication")["slave_repl_offset"]) >= target, what="replica to catch up")
        for db in (0, 3, 5, 6):
            m.cmd("SELECT", str(db))
            rc.cmd("SELECT", str(db))
            assert rc.cmd("DEBUG", "DIGEST") == m.cmd("DEBUG", "DIGEST"), db
        m.cmd("SELECT", "0")
        rc.cmd("SELECT", "0")
        assert rc.cmd("GET", "before") == b"$4\r\nsync\r\n"
        assert 900 < int(rc.cmd("TTL", "e")[1:-2]) <= 1000
        # ROLE names the replica with its listening port and the offset it acknowledged
        _wait(lambda: b"$%d\r\n%d\r\n" % (len(str(replica.port)), replica.port) in m.cmd("ROLE"), what="ROLE")
        assert m.cmd("ROLE").startswith(b"*3\r\n$6\r\nmaster\r\n:%d\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n" % target)
        # an acknowledging replica counts for min-replicas-to-write
        m.cmd("CONFIG", "SET", "min-replicas-to-write", "1")
        assert m.cmd("SET", "guarded", "1") == b"+OK\r\n"
        # the replica goes away: respdb forgets it, and writes need one again
        rc.cmd("REPLICAOF", "NO", "ONE")
        _wait(lambda: _info(m, "replication")["connected_slaves"] == "0", what="replica to be dropped")
        assert m.cmd("ROLE") == b"*3\r\n$6\r\nmaster\r\n:%d\r\n*0\r\n" % int(
            _info(m, "replication")["master_repl_offset"]
        )
        assert m.cmd("SET", "guarded", "2") == b"-NOREPLICAS Not enough good replicas to write.\r\n"
    finally:
        replica.stop()


def _sync(port: int) -> RawConn:
    """Attach like Redis's test suite does: SYNC, skip newlines, read past the RDB payload."""
    c = RawConn(port)
    c.send(b"SYNC\r\n")
    while True:
        line = c._line()
        if line.strip():
            break
    assert line.startswith(b"$"), line
    n = int(line[1:-2])
    while len(c.buf) < n:
        c._fill()
    payload, c.buf = c.buf[:n], c.buf[n:]
    assert payload.startswith(b"REDIS") and payload[-9:-8] == b"\xff"
    return c


def _stream(conn: RawConn, count: int) -> list[list[bytes]]:
    out = []
    for _ in range(count):
        reply = conn.read_reply()
        parts = reply.split(b"\r\n")
        args = [parts[i] for i in range(2, len(parts) - 1, 2)]
        out.append(args)
    return out


def _normalized(cmds: list[list[bytes]]) -> list[list[bytes]]:
    """Absolute times (PXAT, PEXPIREAT) differ by the milliseconds between the two servers."""
    out = []
    for args in cmds:
        args = list(args)
        for i in range(2, len(args)):
            if args[i - 1].upper() == b"PXAT" or (i == 2 and args[0].upper() == b"PEXPIREAT"):
                args[i] = b"<ms>"
        out.append(args)
    return out


def test_sync_stream_matches_redis(master: ServerProc) -> None:
    redis = start_redis("--repl-diskless-sync", "no", "--repl-ping-replica-period", "3600")
    try:
        streams = []
        for port in (redis.port, master.port):
            c = RawConn(port)
            c.cmd("CONFIG", "SET", "repl-ping-replica-period", "3600")
            c.cmd("SET", "before", "sync")
            s = _sync(port)
            replies = [c.cmd(*cmd) for cmd in WRITES]
            # how many commands the stream holds: read until the last write's SWAPDB
            got: list[list[bytes]] = []
            while not got or got[-1][0].upper() != b"SWAPDB":
                got += _stream(s, 1)
            streams.append((replies, got))
            s.close()
            c.close()
        (r_replies, r_stream), (d_replies, d_stream) = streams
        assert d_replies == r_replies
        assert _normalized(d_stream) == _normalized(r_stream)
        assert [b"select", b"3"] in [[a[0].lower(), a[1]] for a in d_stream if len(a) == 2]
    finally:
        redis.stop()


def test_flushall_of_nothing_is_propagated(master: ServerProc) -> None:
    # unit/type/list expects FLUSHALL in the stream even when there was nothing to flush
    c = RawConn(master.port)
    s = _sync(master.port)
    c.cmd("FLUSHALL")
    c.cmd("FLUSHDB")
    c.cmd("FLUSHALL", "ASYNC")
    assert _stream(s, 4) == [[b"SELECT", b"0"], [b"FLUSHALL"], [b"FLUSHDB"], [b"FLUSHALL", b"ASYNC"]]


def test_sync_snapshot_and_pings(master: ServerProc) -> None:
    c = RawConn(master.port)
    c.cmd("CONFIG", "SET", "repl-ping-replica-period", "1")
    s = _sync(master.port)
    pings = _stream(s, 1)  # within a second
    assert pings == [[b"PING"]]
    c.cmd("SET", "a", "1")
    assert _stream(s, 2) == [[b"SELECT", b"0"], [b"SET", b"a", b"1"]]
    # a second SYNC on the same connection is ignored; PSYNC answers FULLRESYNC with the offset
    p = RawConn(master.port)
    assert p.cmd("PSYNC", "?", "x") == b"-ERR value is not an integer or out of range\r\n"
    p.send(b"PSYNC ? -1\r\n")
    line = p._line()
    offset = int(_info(c, "replication")["master_repl_offset"])
    assert re.fullmatch(rb"\+FULLRESYNC [0-9a-f]{40} %d\r\n" % offset, line)
    assert _info(c, "replication")["connected_slaves"] == "2"
    assert b"flags=S" in c.cmd("CLIENT", "LIST")


def test_replconf(master: ServerProc) -> None:
    c = RawConn(master.port)
    assert c.cmd("REPLCONF", "listening-port", "1234", "capa", "eof", "capa", "psync2") == b"+OK\r\n"
    assert c.cmd("REPLCONF", "listening-port") == b"-ERR syntax error\r\n"
    assert c.cmd("REPLCONF", "nope", "1") == b"-ERR Unrecognized REPLCONF option: nope\r\n"
    assert c.cmd("REPLCONF", "rdb-filter-only", "") == b"+OK\r\n"
    assert c.cmd("REPLCONF", "rdb-filter-only", "data") == b"-ERR Unsupported rdb-filter-only option: data\r\n"
    # ACK is never answered
    c.send(b"REPLCONF ACK 10\r\nPING\r\n")
    assert c.read_reply() == b"+PONG\r\n"


def test_replication_buffers_are_shared_not_summed() -> None:
    """INFO mem_total_replication_buffers: one buffer for the backlog and all replicas (Redis
    7.0), so two replicas holding the same pending data count it once."""
    from types import SimpleNamespace

    from respdb.engine import Engine

    e = Engine()
    repl = e.replication
    repl.backlog = bytearray(b"x" * 100)
    chunk = [b"y" * 5000]
    for rid in (1, 2):
        repl.replicas[rid] = SimpleNamespace(pending=list(chunk), pending_size=5000, client=SimpleNamespace(conn=None))
    assert repl.shared_buffer_bytes() == 5000
    del repl.replicas[1]
    assert repl.shared_buffer_bytes() == 5000  # the other replica still holds it
    repl.replicas.clear()
    assert repl.shared_buffer_bytes() == 100  # the backlog alone


def _fullresync(port: int) -> tuple[RawConn, str, int]:
    """A replica that asks for a full resync and then reads nothing: (conn, replid, offset)."""
    c = RawConn(port)
    assert c.cmd("REPLCONF", "capa", "eof", "capa", "psync2") == b"+OK\r\n"
    c.send(b"PSYNC ? -1\r\n")
    line = c._line()
    while not line.strip():
        line = c._line()
    _, replid, offset = line.split()
    return c, replid.decode(), int(offset)


def test_backlog_keeps_what_a_waiting_replica_needs(master: ServerProc) -> None:
    """Redis 7.0's backlog and replica outputs share one buffer: while a replica waits for its
    snapshot the backlog outgrows repl-backlog-size, another replica can continue from that
    far back, and once nobody needs the bytes the backlog is trimmed again."""
    m = RawConn(master.port)
    assert m.cmd("CONFIG", "SET", "repl-backlog-size", "16384") == b"+OK\r\n"
    assert m.cmd("CONFIG", "SET", "rdb-key-save-delay", "500000") == b"+OK\r\n"  # 0.5 s a key
    m.cmd("DEBUG", "POPULATE", "20")
    waiting, replid, offset = _fullresync(master.port)
    _wait(lambda: _info(m, "persistence")["rdb_bgsave_in_progress"] == "1", what="the snapshot")
    value = b"v" * 10_000
    for i in range(20):
        m.cmd("SET", "big:%d" % i, value)
    info = _info(m, "replication")
    first = int(info["repl_backlog_first_byte_offset"])
    assert int(info["repl_backlog_histlen"]) > 180_000  # the stream since the snapshot began
    assert first < offset + 20_000
    assert int(_info(m, "memory")["mem_total_replication_buffers"]) > 180_000

    other = RawConn(master.port)
    assert other.cmd("REPLCONF", "capa", "psync2") == b"+OK\r\n"
    other.send(b"PSYNC %s %d\r\n" % (replid.encode(), first))
    assert other._line() == b"+CONTINUE %s\r\n" % replid.encode()
    assert int(_info(m, "stats")["sync_partial_ok"]) == 1

    waiting.close()
    other.close()
    _wait(lambda: _info(m, "replication")["connected_slaves"] == "0", what="the replicas to go")
    _wait(lambda: int(_info(m, "replication")["repl_backlog_histlen"]) <= 16384, what="the backlog's trim")
    late = RawConn(master.port)
    late.send(b"PSYNC %s %d\r\n" % (replid.encode(), first))
    assert late._line().startswith(b"+FULLRESYNC ")  # those bytes are gone now
    late.close()


def test_replica_hard_limit_is_at_least_the_backlog_size() -> None:
    """client-output-buffer-limit's replica hard limit counts as repl-backlog-size when lower
    (Redis 7.0): a replica may be sent the whole backlog after a partial resync."""
    from types import SimpleNamespace

    from respdb.engine import Engine

    e = Engine()
    e.config.set("client-output-buffer-limit", "replica 512kb 0 0")
    e.obuf_limits.configure()
    e.config.set("repl-backlog-size", "1mb")
    c = e.new_client()
    out = SimpleNamespace(size=900_000)
    c.conn = SimpleNamespace(output_size=lambda: out.size)
    r = SimpleNamespace(state="online", limits_armed=True, client=c, pending_size=0)
    assert not e.obuf_limits.replica_over(r)
    out.size = 1_100_000
    assert e.obuf_limits.replica_over(r)
    e.config.set("repl-backlog-size", "16kb")
    out.size = 600_000
    assert e.obuf_limits.replica_over(r)  # over the configured 512kb
