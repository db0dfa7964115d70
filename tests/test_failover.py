"""FAILOVER (coordinated failover to a replica), run against respdb and a real redis-server alike
(Redis's integration/failover cases, and its error replies compared byte for byte)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from conftest import STARTERS, RawConn, start_redis, start_respdb
from test_replica import _follow
from test_replication import _info, _wait


class Group:
    """A master and two replicas of one kind, in sync."""

    def __init__(self, kind: str) -> None:
        self.servers = [STARTERS[kind]("--repl-diskless-sync-delay", "0") for _ in range(3)]
        self.conns = [RawConn(s.port) for s in self.servers]
        self.stopped: set[int] = set()
        for c in self.conns[1:]:
            self.follow(c, 0)
        self.conns[0].cmd("SET", "k", "1")
        self.in_sync(0)

    def follow(self, c: RawConn, master: int) -> None:
        _follow(c, self.servers[master])

    def in_sync(self, master: int) -> None:
        m = self.conns[master]

        def acked() -> bool:
            info = _info(m, "replication")
            want = "offset=%s," % info["master_repl_offset"]
            return all(want in info.get("slave%d" % i, "") + "," for i in range(int(info["connected_slaves"])))

        _wait(acked, what="the replicas' ACKs")

    def state(self, i: int) -> str:
        return _info(self.conns[i], "replication")["master_failover_state"]

    def role(self, i: int) -> str:
        return _info(self.conns[i], "replication")["role"]

    def stop(self, i: int) -> None:
        os.kill(self.servers[i].proc.pid, signal.SIGSTOP)
        self.stopped.add(i)

    def resume(self, i: int) -> None:
        os.kill(self.servers[i].proc.pid, signal.SIGCONT)
        self.stopped.discard(i)

    def log(self, i: int) -> str:
        return Path(self.servers[i].log).read_text(errors="replace")

    def close(self) -> None:
        for i in list(self.stopped):
            self.resume(i)
        for s in self.servers:
            s.stop()


@pytest.fixture
def group(kind: str):
    g = Group(kind)
    yield g
    g.close()


def test_errors_match_redis() -> None:
    servers = [start_respdb(), start_redis()]
    try:
        for s in servers:
            c = RawConn(s.port)
            assert c.cmd("FAILOVER") == b"-ERR FAILOVER requires connected replicas.\r\n"
            assert c.cmd("FAILOVER", "ABORT") == b"-ERR No failover in progress.\r\n"
            assert c.cmd("FAILOVER", "TIMEOUT", "0") == b"-ERR FAILOVER timeout must be greater than 0\r\n"
            assert c.cmd("FAILOVER", "TO", "h", "x").startswith(b"-ERR value is not an integer")
            assert c.cmd("FAILOVER", "FORCE", "FORCE") == b"-ERR syntax error\r\n"
            assert c.cmd("INFO", "replication").count(b"master_failover_state:no-failover") == 1
    finally:
        for s in servers:
            s.stop()


def test_refusals_with_replicas(group: Group) -> None:
    m, r1 = group.conns[0], group.conns[1]
    p1 = group.servers[1].port
    assert (
        m.cmd("FAILOVER", "TO", "invalidhost", str(p1)) == b"-ERR FAILOVER target HOST and PORT is not a replica.\r\n"
    )
    assert m.cmd("FAILOVER", "FORCE", "TIMEOUT", "100") == (
        b"-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n"
    )
    assert m.cmd("FAILOVER", "TO", "127.0.0.1", str(p1), "FORCE") == (
        b"-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n"
    )
    assert r1.cmd("FAILOVER", "TO", "127.0.0.1", str(p1)) == b"-ERR FAILOVER is not valid when server is a replica.\r\n"


def test_failover_to_a_replica(group: Group) -> None:
    m = group.conns[0]
    for i in range(50):
        m.cmd("SET", "key%d" % i, str(i))
    assert m.cmd("FAILOVER", "TO", "127.0.0.1", str(group.servers[1].port)) == b"+OK\r\n"
    _wait(lambda: group.state(0) == "no-failover", what="the failover")
    assert group.role(0) == "slave" and group.role(1) == "master"
    group.follow(group.conns[2], 1)
    group.in_sync(1)
    digests = {c.cmd("DEBUG", "DIGEST") for c in group.conns}
    assert len(digests) == 1
    assert group.conns[1].cmd("GET", "key49") == b"$2\r\n49\r\n"
    assert "is synced, failing over." in group.log(0)
    assert "MASTER MODE enabled (failover request from 'id=" in group.log(1)
    # the old master continued the new one's history: no full sync
    assert _info(group.conns[1], "stats")["sync_full"] == "0"


def test_abort_releases_the_paused_writes(group: Group) -> None:
    m = group.conns[0]
    group.stop(1)
    m.cmd("SET", "case", "2")
    assert m.cmd("FAILOVER", "TO", "127.0.0.1", str(group.servers[1].port), "TIMEOUT", "60000") == b"+OK\r\n"
    assert group.state(0) == "waiting-for-sync"
    assert m.cmd("GET", "case") == b"$1\r\n2\r\n"  # reads go on
    writer = RawConn(group.servers[0].port)
    writer.send_cmd("SET", "foo", "bar")
    assert writer.silent(0.3)  # writes wait
    assert m.cmd("FAILOVER", "ABORT") == b"+OK\r\n"
    assert writer.read_reply() == b"+OK\r\n"
    assert group.state(0) == "no-failover" and group.role(0) == "master"
    assert "aborted: Failover manually aborted" in group.log(0)


def test_timeout_without_force_aborts(group: Group) -> None:
    m = group.conns[0]
    group.stop(1)
    m.cmd("SET", "case", "1")
    assert m.cmd("FAILOVER", "TO", "127.0.0.1", str(group.servers[1].port), "TIMEOUT", "300") == b"+OK\r\n"
    _wait(lambda: group.state(0) == "no-failover", what="the timeout")
    assert group.role(0) == "master"
    assert "aborted: Replica never caught up before timeout" in group.log(0)
    assert m.cmd("SET", "after", "1") == b"+OK\r\n"


def test_a_broken_full_sync_keeps_the_sub_replicas_and_the_history(kind: str) -> None:
    # integration/replication "Don't disconnect with replicas before loading transferred RDB
    # when full sync" and "Discard cache master before loading transferred RDB when full sync"
    master1 = STARTERS[kind]("--repl-diskless-sync-delay", "0")
    master2 = STARTERS[kind]("--repl-diskless-sync-delay", "0")
    replica = STARTERS[kind]("--repl-diskless-sync-delay", "0")
    sub = STARTERS[kind]()
    servers = [sub, replica, master2, master1]
    try:
        m1, m2, r, s = (RawConn(x.port) for x in (master1, master2, replica, sub))
        m1.cmd("SET", "a", "b")
        m2.cmd("DEBUG", "POPULATE", "10", "master2", "10")
        m2.cmd("CONFIG", "SET", "rdb-key-save-delay", "1000000")  # a snapshot that takes 10 s
        for c, up in ((r, master1), (s, replica)):
            _follow(c, up)
        _wait(lambda: s.cmd("GET", "a") == b"$1\r\nb\r\n", what="the data downstream")
        r.cmd("REPLICAOF", "127.0.0.1", str(master2.port))
        _wait(lambda: "slave0" in _info(m2, "replication"), what="the full sync to start")
        try:
            m2.cmd("SHUTDOWN", "NOSAVE")
        except ConnectionError:
            pass
        master2.proc.wait(10)
        replid = _info(m1, "replication")["master_replid"]
        assert _info(r, "replication")["master_replid"] == replid
        assert _info(s, "replication")["master_replid"] == replid
        full, partial = (_info(m1, "stats")[k] for k in ("sync_full", "sync_partial_ok"))
        _follow(r, master1)  # back to master1
        assert _info(m1, "stats")["sync_full"] == full
        assert int(_info(m1, "stats")["sync_partial_ok"]) == int(partial) + 1
        assert "Connection with master lost" not in Path(sub.log).read_text(errors="replace")
        assert (_info(r, "stats")["sync_full"], _info(r, "stats")["sync_partial_ok"]) == ("1", "0")
    finally:
        for x in servers:
            x.stop()
