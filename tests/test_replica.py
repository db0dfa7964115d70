"""The replica side of replication over TCP: respdb following a real redis-server and another
respdb (REPLICAOF), partial resynchronization after a broken link, promotion, WAIT, and the
replica's rules (READONLY, expiry decided by the master).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from conftest import RawConn, ServerProc, start_redis, start_respdb
from test_replication import WRITES, _info, _wait


def _follow(replica: RawConn, master: ServerProc) -> None:
    assert replica.cmd("REPLICAOF", "127.0.0.1", str(master.port)) == b"+OK\r\n"
    _wait(lambda: _info(replica, "replication").get("master_link_status") == "up", what="link up")


def _caught_up(replica: RawConn, master: RawConn) -> None:
    target = int(_info(master, "replication")["master_repl_offset"])
    _wait(lambda: int(_info(replica, "replication")["slave_repl_offset"]) >= target, what="replica to catch up")


def _same_data(a: RawConn, b: RawConn, dbs=(0, 3, 5, 6)) -> None:
    for db in dbs:
        a.cmd("SELECT", str(db))
        b.cmd("SELECT", str(db))
        assert a.cmd("DEBUG", "DIGEST") == b.cmd("DEBUG", "DIGEST"), db
    a.cmd("SELECT", "0")
    b.cmd("SELECT", "0")


@pytest.fixture
def redis_master() -> ServerProc:
    s = start_redis("--repl-diskless-sync-delay", "0")
    yield s
    s.stop()


@pytest.fixture
def replica() -> ServerProc:
    s = start_respdb()
    yield s
    s.stop()


def test_respdb_follows_a_real_redis_master(redis_master: ServerProc, replica: ServerProc) -> None:
    m, r = RawConn(redis_master.port), RawConn(replica.port)
    m.cmd("SET", "before", "sync")
    m.cmd("SELECT", "3")
    m.cmd("RPUSH", "l", "a", "b")
    m.cmd("SELECT", "0")
    m.cmd("FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function{function_name='f', "
          "callback=function() return 1 end, flags={'no-writes'}}")  # fmt: skip
    r.cmd("SET", "mine", "gone after the sync")
    _follow(r, redis_master)
    assert r.cmd("GET", "mine") == b"$-1\r\n"  # the snapshot replaced our data
    assert r.cmd("FCALL", "f", "0") == b":1\r\n"  # and our functions
    for cmd in WRITES:
        m.cmd(*cmd)
    _caught_up(r, m)
    _same_data(m, r)
    # ROLE and INFO as a replica
    role = r.cmd("ROLE")
    assert re.fullmatch(rb"\*5\r\n\$5\r\nslave\r\n\$9\r\n127\.0\.0\.1\r\n:%d\r\n\$9\r\nconnected\r\n:\d+\r\n"
                        % redis_master.port, role), role  # fmt: skip
    info = _info(r, "replication")
    assert info["role"] == "slave" and info["master_port"] == str(redis_master.port)
    assert info["master_replid"] == _info(m, "replication")["master_replid"]
    assert info["master_repl_offset"] == info["slave_repl_offset"] == _info(m, "replication")["master_repl_offset"]
    # the master lists us with our listening port; WAIT counts our acknowledgement
    _wait(lambda: "port=%d" % replica.port in _info(m, "replication").get("slave0", ""), what="slave0")
    m.cmd("SET", "acked", "1")
    assert m.cmd("WAIT", "1", "2000") == b":1\r\n"
    # no writes but the master's; reads and the master client in CLIENT LIST
    assert r.cmd("SET", "x", "1") == b"-READONLY You can't write against a read only replica.\r\n"
    assert r.cmd("EVAL", "return redis.call('set', 'x', '1')", "0").startswith(b"-READONLY You can't write")
    assert r.cmd("GET", "acked") == b"$1\r\n1\r\n"
    assert b" flags=M " in r.cmd("CLIENT", "LIST", "TYPE", "master")
    assert r.cmd("WAIT", "0", "0").startswith(b"-ERR WAIT cannot be used with replica instances.")
    assert r.cmd("REPLICAOF", "127.0.0.1", str(redis_master.port)) == b"+OK Already connected to specified master\r\n"
    assert r.cmd("REPLICAOF", "127.0.0.1", "port") == b"-ERR value is not an integer or out of range\r\n"


def test_expiry_is_the_masters(redis_master: ServerProc, replica: ServerProc) -> None:
    m, r = RawConn(redis_master.port), RawConn(replica.port)
    _follow(r, redis_master)
    m.cmd("SET", "warm", "up")  # (Redis starts the stream at the replica's first ACK after the sync)
    _caught_up(r, m)
    m.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0")  # the master won't delete it on its own
    m.cmd("SET", "k", "v", "PX", "1000")
    _caught_up(r, m)
    assert r.cmd("GET", "k") == b"$1\r\nv\r\n", (r.cmd("PTTL", "k"), r.cmd("DBSIZE"), m.cmd("PTTL", "k"))
    time.sleep(1.1)
    # expired: invisible to our clients, but not deleted (the master sends the DEL)
    assert r.cmd("GET", "k") == b"$-1\r\n"
    assert r.cmd("DBSIZE") == b":2\r\n"
    # the master's own commands still see the key (Redis's expireIfNeeded for the master client)
    m.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    _wait(lambda: r.cmd("DBSIZE") == b":1\r\n", what="the master's DEL")


def test_a_respdb_master_and_a_chain(replica: ServerProc) -> None:
    master = start_respdb()
    chained = start_redis()
    try:
        m, r, c = RawConn(master.port), RawConn(replica.port), RawConn(chained.port)
        m.cmd("SET", "before", "sync")
        _follow(r, master)
        # a real redis-server replicating from our replica gets the master's stream through us
        _follow(c, replica)
        for cmd in WRITES:
            m.cmd(*cmd)
        _caught_up(r, m)
        _caught_up(c, m)
        _same_data(m, r)
        _same_data(m, c)
        assert _info(c, "replication")["master_replid"] == _info(m, "replication")["master_replid"]
    finally:
        master.stop()
        chained.stop()


@pytest.mark.parametrize("kind", ["redis", "respdb"])
def test_partial_resync_after_a_broken_link(kind: str, replica: ServerProc) -> None:
    master = start_redis("--repl-diskless-sync-delay", "0") if kind == "redis" else start_respdb()
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        _follow(r, master)
        m.cmd("SET", "a", "1")
        _caught_up(r, m)
        full = int(_info(m, "stats")["sync_full"])
        assert r.cmd("CLIENT", "KILL", "TYPE", "master") == b":1\r\n"
        m.cmd("SET", "b", "2")  # written while the link is down: comes from the backlog
        m.cmd("INCR", "a")
        _wait(lambda: _info(r, "replication").get("master_link_status") == "up", what="link up again")
        _caught_up(r, m)
        assert r.cmd("MGET", "a", "b") == b"*2\r\n$1\r\n2\r\n$1\r\n2\r\n"
        stats = _info(m, "stats")
        assert int(stats["sync_full"]) == full and int(stats["sync_partial_ok"]) >= 1
        _same_data(m, r, dbs=(0,))
    finally:
        master.stop()


def test_promotion_keeps_data_and_history(replica: ServerProc) -> None:
    master = start_respdb()
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        _follow(r, master)
        m.cmd("SET", "a", "1")
        _caught_up(r, m)
        old_id = _info(m, "replication")["master_replid"]
        offset = int(_info(m, "replication")["master_repl_offset"])
        assert r.cmd("REPLICAOF", "NO", "ONE") == b"+OK\r\n"
        info = _info(r, "replication")
        assert info["role"] == "master"
        assert info["master_replid2"] == old_id and info["second_repl_offset"] == str(offset + 1)
        assert info["master_replid"] != old_id
        assert r.cmd("SET", "b", "2") == b"+OK\r\n"
        assert r.cmd("GET", "a") == b"$1\r\n1\r\n"
        # the old master follows the new one and continues from the shared history
        _follow(m, replica)
        _caught_up(m, r)
        assert m.cmd("GET", "b") == b"$1\r\n2\r\n"
        assert int(_info(r, "stats")["sync_partial_ok"]) == 1
        assert int(_info(r, "stats")["sync_full"]) == 0
    finally:
        master.stop()


def test_wait_with_a_real_redis_replica() -> None:
    master = start_respdb()
    rep = start_redis()
    try:
        m, c = RawConn(master.port), RawConn(rep.port)
        assert m.cmd("WAIT", "0", "0") == b":0\r\n"
        t0 = time.monotonic()
        assert m.cmd("WAIT", "1", "200") == b":0\r\n"  # no replica: the timeout
        assert time.monotonic() - t0 >= 0.19
        _follow(c, master)
        m.cmd("SET", "k", "v")
        assert m.cmd("WAIT", "1", "5000") == b":1\r\n"
        assert c.cmd("GET", "k") == b"$1\r\nv\r\n"
    finally:
        rep.stop()
        master.stop()


def test_stale_data_refused_when_asked(replica: ServerProc) -> None:
    r = RawConn(replica.port)
    r.cmd("CONFIG", "SET", "replica-serve-stale-data", "no")
    r.cmd("REPLICAOF", "127.0.0.1", "1")  # nobody there: the link stays down
    assert r.cmd("GET", "x") == (
        b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
    )
    assert r.cmd("PING").startswith(b"-MASTERDOWN")  # (as Redis: PING is not a STALE command)
    assert r.cmd("INFO", "replication").startswith(b"$")  # INFO is
    assert r.cmd("ROLE").startswith(b"*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:1\r\n")
    assert r.cmd("REPLICAOF", "NO", "ONE") == b"+OK\r\n"
    assert r.cmd("GET", "x") == b"$-1\r\n"


def test_writable_replica_expires_its_own_keys(redis_master: ServerProc, replica: ServerProc) -> None:
    r = RawConn(replica.port)
    _follow(r, redis_master)
    assert r.cmd("CONFIG", "SET", "replica-read-only", "no") == b"+OK\r\n"
    before = int(_info(r, "stats")["expired_keys"])
    assert r.cmd("SET", "mine", "v", "PX", "1") == b"+OK\r\n"  # the master knows nothing of it
    _wait(lambda: int(_info(r, "stats")["expired_keys"]) == before + 1, what="our key to expire")
    assert r.cmd("DBSIZE") == b":0\r\n"
    # a transaction refused for the replica's state is aborted (EXECABORT), as in Redis
    r.cmd("CONFIG", "SET", "replica-serve-stale-data", "no")
    other = RawConn(replica.port)
    assert r.cmd("MULTI") == b"+OK\r\n" and r.cmd("GET", "x") == b"+QUEUED\r\n"
    other.cmd("REPLICAOF", "127.0.0.1", "1")
    assert r.cmd("EXEC") == (
        b"-EXECABORT Transaction discarded because of: MASTERDOWN Link with MASTER is down and "
        b"replica-serve-stale-data is set to 'no'.\r\n"
    )


def test_snapshot_for_replicas_comes_from_a_child(replica: ServerProc) -> None:
    """The master forks the snapshot into a pipe: it keeps answering meanwhile; a diskless
    transfer waits repl-diskless-sync-delay; a transfer nobody waits for any more is killed."""
    master = start_respdb()
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        m.cmd("DEBUG", "POPULATE", "200")
        m.cmd("CONFIG", "SET", "repl-diskless-sync-delay", "1")
        m.cmd("CONFIG", "SET", "rdb-key-save-delay", "10000")  # 10 ms a key: about 2 s
        r.cmd("REPLICAOF", "127.0.0.1", str(master.port))
        _wait(lambda: "state=wait_bgsave" in _info(m, "replication").get("slave0", ""), what="a waiting replica")
        assert r.cmd("ROLE").split(b"\r\n")[7] == b"handshake"  # no +FULLRESYNC before the delay
        _wait(lambda: "Background RDB transfer started by pid" in Path(master.log).read_text(), what="the child")
        t0 = time.monotonic()
        assert m.cmd("PING") == b"+PONG\r\n" and m.cmd("SET", "during", "transfer") == b"+OK\r\n"
        assert time.monotonic() - t0 < 0.5  # not blocked by the snapshot
        assert b"rdb_bgsave_in_progress:1\r\n" in m.cmd("INFO", "persistence")  # as Redis
        _wait(lambda: _info(r, "replication").get("master_link_status") == "up", timeout=20, what="link up")
        _caught_up(r, m)
        assert r.cmd("DBSIZE") == b":201\r\n" and r.cmd("GET", "during") == b"$8\r\ntransfer\r\n"
        # a replica that goes away during a transfer: the child is killed
        r.cmd("REPLICAOF", "NO", "ONE")
        r.cmd("REPLICAOF", "127.0.0.1", str(master.port))
        _wait(lambda: Path(master.log).read_text().count("Background RDB transfer started by pid") == 2, what="child 2")
        r.cmd("REPLICAOF", "NO", "ONE")
        _wait(lambda: "last replica dropped, killing fork child" in Path(master.log).read_text(), what="the kill")
        assert m.cmd("PING") == b"+PONG\r\n"
    finally:
        master.stop()


def test_divergence_is_logged_and_min_slaves_aliases(replica: ServerProc) -> None:
    # integration/replication-4: DEBUG REPLICATE reaches replicas only; an error the master's
    # stream causes is logged as CRITICAL; min-slaves-* are aliases of min-replicas-*
    master = start_respdb("--repl-diskless-sync-delay", "0")
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        _follow(r, master)
        m.cmd("SET", "warm", "up")
        _caught_up(r, m)
        assert m.cmd("CONFIG", "SET", "min-slaves-max-lag", "3") == b"+OK\r\n"
        assert m.cmd("CONFIG", "SET", "min-slaves-to-write", "2") == b"+OK\r\n"
        assert m.cmd("CONFIG", "GET", "min-replicas-to-write") == b"*2\r\n$21\r\nmin-replicas-to-write\r\n$1\r\n2\r\n"
        assert m.cmd("SET", "foo", "1") == b"-NOREPLICAS Not enough good replicas to write.\r\n"
        m.cmd("CONFIG", "SET", "min-slaves-to-write", "0")
        assert m.cmd("DEBUG", "REPLICATE", "fake-command-1") == b"+OK\r\n"
        m.cmd("SET", "foo", "bar2")
        assert m.cmd("WAIT", "1", "2000") == b":1\r\n"
        log = Path(replica.log).read_text()
        assert log.count("== CRITICAL ==") == 1 and "fake-command-1" in log
        r.cmd("CONFIG", "SET", "replica-read-only", "no")
        r.cmd("SET", "number2", "foo")
        m.cmd("INCRBY", "number2", "1")
        assert m.cmd("WAIT", "1", "2000") == b":1\r\n"
        assert r.cmd("GET", "number2") == b"$3\r\nfoo\r\n"
        assert "after processing the command 'incrby'" in Path(replica.log).read_text()
    finally:
        master.stop()


def test_diskless_load_swapdb_loads_during_the_transfer(replica: ServerProc) -> None:
    # integration/replication "Diskless load swapdb": the replica is loading (-LOADING) while
    # the snapshot comes; if the transfer breaks off, the old data is still there
    master = start_respdb("--repl-diskless-sync-delay", "0")
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        r.cmd("CONFIG", "SET", "repl-diskless-load", "swapdb")
        r.cmd("DEBUG", "POPULATE", "200", "slave", "10")
        r.cmd("SET", "mykey", "myvalue")
        m.cmd("DEBUG", "POPULATE", "300", "master", "100")
        m.cmd("CONFIG", "SET", "rdb-key-save-delay", "10000")  # 3 s of transfer
        r.cmd("REPLICAOF", "127.0.0.1", str(master.port))
        _wait(lambda: _info(r, "persistence")["loading"] == "1", what="loading")
        assert _info(r, "persistence")["async_loading"] == "0"
        assert r.cmd("GET", "mykey").startswith(b"-LOADING")
        assert m.cmd("CLIENT", "KILL", "TYPE", "replica") == b":1\r\n"
        m.cmd("CONFIG", "SET", "repl-diskless-sync-delay", "5")  # no new transfer right away
        _wait(lambda: _info(r, "persistence")["loading"] == "0", what="loading to stop")
        assert r.cmd("GET", "mykey") == b"$7\r\nmyvalue\r\n"
        assert r.cmd("DBSIZE") == b":201\r\n"
        m.cmd("CONFIG", "SET", "rdb-key-save-delay", "0")
        _wait(lambda: _info(r, "replication")["master_link_status"] == "up", timeout=20, what="the sync")
        assert r.cmd("DBSIZE") == b":300\r\n" and r.cmd("GET", "mykey") == b"$-1\r\n"
    finally:
        master.stop()


def test_master_drops_a_replica_that_stops_acknowledging(replica: ServerProc) -> None:
    import os
    import signal

    master = start_respdb("--repl-diskless-sync-delay", "0")
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        _follow(r, master)
        m.cmd("SET", "a", "1")
        _caught_up(r, m)
        m.cmd("CONFIG", "SET", "repl-timeout", "2")
        os.kill(replica.proc.pid, signal.SIGSTOP)
        try:
            _wait(lambda: _info(m, "replication")["connected_slaves"] == "0", what="the timeout")
        finally:
            os.kill(replica.proc.pid, signal.SIGCONT)
        assert "Disconnecting timedout replica (streaming sync)" in Path(master.log).read_text()
    finally:
        master.stop()


def test_writable_replica_write_meets_an_expired_key(redis_master: ServerProc, replica: ServerProc) -> None:
    # integration/replication-3 "Writable replica doesn't return expired keys" and
    # replication-2 "min-slaves-to-write is ignored by slaves"
    m, r = RawConn(redis_master.port), RawConn(replica.port)
    _follow(r, redis_master)
    m.cmd("SET", "warm", "up")
    _caught_up(r, m)
    r.cmd("CONFIG", "SET", "min-slaves-to-write", "1")
    r.cmd("CONFIG", "SET", "min-slaves-max-lag", "10")
    m.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    m.cmd("SET", "key1", "5", "PX", "10")
    m.cmd("SET", "key2", "5", "PX", "10")
    _caught_up(r, m)
    time.sleep(0.05)
    assert r.cmd("DBSIZE") == b":3\r\n" and r.cmd("EXISTS", "key1", "key2") == b":0\r\n"
    r.cmd("CONFIG", "SET", "replica-read-only", "no")
    assert r.cmd("INCR", "key1") == b":1\r\n"  # the expired key is deleted, then created anew
    assert r.cmd("TTL", "key1") == b":-1\r\n"
    assert r.cmd("GET", "key2") == b"$-1\r\n"  # a read leaves it to the master
    assert r.cmd("DBSIZE") == b":3\r\n"
    m.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_scripts_on_a_stale_replica(replica: ServerProc) -> None:
    # unit/functions "FUNCTION - allow stale"
    r = RawConn(replica.port)
    lib = "\n".join([
        "#!lua name=stale",
        "redis.register_function{function_name='f1', callback=function() return 'hello' end, flags={'no-writes'}}",
        "redis.register_function{function_name='f2', callback=function() return 'hello' end, "
        "flags={'allow-stale', 'no-writes'}}",
        "redis.register_function{function_name='f3', callback=function() return redis.call('get', 'x') end, "
        "flags={'allow-stale', 'no-writes'}}",
    ])  # fmt: skip
    assert r.cmd("FUNCTION", "LOAD", lib) == b"$5\r\nstale\r\n"
    r.cmd("CONFIG", "SET", "replica-serve-stale-data", "no")
    r.cmd("REPLICAOF", "127.0.0.1", "1")
    assert r.cmd("FCALL", "f1", "0").startswith(b"-MASTERDOWN ")
    assert r.cmd("FCALL", "f2", "0") == b"$5\r\nhello\r\n"
    assert r.cmd("FCALL", "f3", "0").startswith(b"-ERR Can not execute the command on a stale replica")
    assert r.cmd("REPLICAOF", "NO", "ONE") == b"+OK\r\n"


def test_script_set_repl_targets(replica: ServerProc) -> None:
    # unit/scripting "Test selective replication of certain Redis commands from Lua"
    master = start_respdb("--repl-diskless-sync-delay", "0", "--appendonly", "yes")
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        _follow(r, master)
        script = (
            "redis.call('set','a','1'); redis.set_repl(redis.REPL_NONE); redis.call('set','b','2'); "
            "redis.set_repl(redis.REPL_AOF); redis.call('set','c','3'); redis.set_repl(redis.REPL_ALL); "
            "redis.call('set','d','4')"
        )
        m.cmd("EVAL", script, "0")
        nil = b"$-1\r\n"
        _wait(lambda: r.cmd("MGET", "a", "b", "c", "d") == b"*4\r\n$1\r\n1\r\n" + nil + nil + b"$1\r\n4\r\n",
              what="a and d on the replica")  # fmt: skip
        assert m.cmd("DEBUG", "LOADAOF") == b"+OK\r\n"
        assert m.cmd("MGET", "a", "b", "c", "d") == b"*4\r\n$1\r\n1\r\n" + nil + b"$1\r\n3\r\n$1\r\n4\r\n"
    finally:
        master.stop()


def test_switching_masters_continues_with_a_partial_resync(replica: ServerProc) -> None:
    # integration/psync2: a replica moved to a sibling of its master continues the history
    master = start_respdb("--repl-diskless-sync-delay", "0")
    sibling = start_respdb("--repl-diskless-sync-delay", "0")
    try:
        m, r, s = RawConn(master.port), RawConn(replica.port), RawConn(sibling.port)
        _follow(r, master)
        _follow(s, master)
        m.cmd("SET", "a", "1")
        _caught_up(r, m)
        _caught_up(s, m)
        assert s.cmd("REPLICAOF", "NO", "ONE") == b"+OK\r\n"  # the sibling is promoted
        s.cmd("SET", "b", "2")
        _follow(r, sibling)
        _caught_up(r, s)
        assert r.cmd("MGET", "a", "b") == b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
        assert _info(s, "stats")["sync_partial_ok"] == "1" and _info(s, "stats")["sync_full"] == "0"
    finally:
        master.stop()
        sibling.stop()


def test_partial_resync_after_restarts() -> None:
    # integration/psync2-master-restart and psync2 "Partial resync after restart using RDB aux
    # fields": an RDB keeps repl-id/repl-offset, so a restarted master or replica continues
    import subprocess
    import sys

    from conftest import start_respdb as start
    from conftest import wait_port

    def restart(s: ServerProc, *args: str) -> ServerProc:
        try:
            RawConn(s.port).cmd("SHUTDOWN", "SAVE")
        except ConnectionError:
            pass  # (SHUTDOWN answers by closing)
        s.proc.wait(10)
        cmd = [sys.executable, "-m", "respdb", "--port", str(s.port), "--bind", "127.0.0.1", "--dir", s.workdir,
               "--enable-debug-command", "yes", *args]  # fmt: skip
        with open(s.log, "a") as logf:
            proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, cwd=s.workdir)
        wait_port(s.port, proc)
        _wait(lambda: b"loading:0\r\n" in RawConn(s.port).cmd("INFO", "persistence"), what="the load")
        return ServerProc(proc, s.port, s.workdir, s.log)

    master = start("--repl-diskless-sync-delay", "0", "--save", "")
    replica = start()
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        _follow(r, master)
        m.cmd("SET", "a", "1")
        _caught_up(r, m)
        # the master has heard the replica acknowledge everything: SHUTDOWN does not have to ask
        # (its REPLCONF GETACK would be in the stream, and the offset one command further)
        _wait(lambda: f"offset={_info(m, 'replication')['master_repl_offset']}," in _info(m, "replication")["slave0"] + ",",
              what="the replica's ACK")  # fmt: skip
        old = _info(m, "replication")
        master = restart(master, "--repl-diskless-sync-delay", "0")
        m = RawConn(master.port)
        info = _info(m, "replication")
        assert info["master_replid2"] == old["master_replid"]
        assert info["master_repl_offset"] == old["master_repl_offset"]
        _wait(lambda: _info(r, "replication").get("master_link_status") == "up", timeout=20, what="back")
        m.cmd("SET", "b", "2")
        _caught_up(r, m)
        assert r.cmd("GET", "b") == b"$1\r\n2\r\n"
        stats = _info(m, "stats")
        assert stats["sync_full"] == "0" and stats["sync_partial_ok"] == "1"
        # the replica restarts too, and continues as well
        replica = restart(replica, "--replicaof", "127.0.0.1", str(master.port))
        r = RawConn(replica.port)
        _wait(lambda: _info(r, "replication").get("master_link_status") == "up", timeout=20, what="replica back")
        assert _info(m, "stats")["sync_full"] == "0" and _info(m, "stats")["sync_partial_ok"] == "2"
        assert r.cmd("MGET", "a", "b") == b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    finally:
        master.stop()
        replica.stop()


def test_writes_while_a_replica_waits_for_its_snapshot(replica: ServerProc) -> None:
    # integration/replication "Connect multiple replicas at the same time": what is written
    # while a replica waits for the delayed snapshot is in the snapshot, not sent again
    master = start_respdb("--repl-diskless-sync-delay", "2")
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        r.cmd("REPLICAOF", "127.0.0.1", str(master.port))
        for _i in range(50):
            m.cmd("INCR", "counter")
            time.sleep(0.01)
        _wait(lambda: _info(r, "replication").get("master_link_status") == "up", timeout=20, what="sync")
        for _i in range(50):
            m.cmd("INCR", "counter")
        _caught_up(r, m)
        assert _info(r, "replication")["master_repl_offset"] == _info(m, "replication")["master_repl_offset"]
        assert r.cmd("GET", "counter") == b"$3\r\n100\r\n"
    finally:
        master.stop()


def test_wait_asks_for_acknowledgements_at_once(replica: ServerProc) -> None:
    # unit/wait: after the replica was stopped and resumed, WAIT 1 1000 gets its answer from
    # the REPLCONF GETACK it sends, not from the replica's once-a-second ACK
    import os
    import signal

    master = start_respdb("--repl-diskless-sync-delay", "0")
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        _follow(r, master)
        m.cmd("SET", "foo", "0")
        assert m.cmd("WAIT", "1", "5000") == b":1\r\n"
        os.kill(replica.proc.pid, signal.SIGSTOP)
        try:
            m.cmd("INCR", "foo")
            assert m.cmd("WAIT", "1", "500") == b":0\r\n"
        finally:
            os.kill(replica.proc.pid, signal.SIGCONT)
        t0 = time.monotonic()
        assert m.cmd("WAIT", "1", "1000") == b":1\r\n"
        assert time.monotonic() - t0 < 0.5
    finally:
        master.stop()


def test_a_paused_replica_applies_nothing(replica: ServerProc) -> None:
    # unit/pause "Test when replica paused, offset would not grow" and unit/wait "WAIT
    # implicitly blocks on client pause since ACKs aren't sent"
    master = start_respdb("--repl-diskless-sync-delay", "0")
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        _follow(r, master)
        m.cmd("SET", "foo", "0")
        _caught_up(r, m)
        old = _info(r, "replication")["slave_repl_offset"]
        r.cmd("CLIENT", "PAUSE", "100000", "WRITE")
        m.cmd("INCR", "foo")
        assert m.cmd("WAIT", "1", "1000") == b":0\r\n"
        assert _info(r, "replication")["slave_repl_offset"] == old
        assert r.cmd("GET", "foo") == b"$1\r\n0\r\n"
        r.cmd("CLIENT", "UNPAUSE")
        assert m.cmd("WAIT", "1", "1000") == b":1\r\n"
        assert r.cmd("GET", "foo") == b"$1\r\n1\r\n"
    finally:
        master.stop()


def test_sub_replicas_learn_a_new_replication_id(replica: ServerProc) -> None:
    # integration/psync2-master-restart: a replica whose master continues with a new ID
    # (+CONTINUE <id>) drops its own replicas, which reconnect and continue with that ID
    master = start_respdb("--repl-diskless-sync-delay", "0")
    sibling = start_respdb("--repl-diskless-sync-delay", "0")
    sub = start_respdb("--repl-diskless-sync-delay", "0")
    try:
        m, r, t, s = RawConn(master.port), RawConn(replica.port), RawConn(sibling.port), RawConn(sub.port)
        r.cmd("CONFIG", "SET", "repl-diskless-sync-delay", "0")
        _follow(r, master)
        _follow(t, master)
        _follow(s, replica)
        m.cmd("SET", "a", "1")
        _caught_up(s, m)
        t.cmd("REPLICAOF", "NO", "ONE")  # promoted: a new ID continuing the old one
        _follow(r, sibling)
        t.cmd("SET", "b", "2")
        _caught_up(r, t)
        _wait(lambda: _info(s, "replication").get("master_replid") == _info(t, "replication")["master_replid"],
              what="the new ID down the chain")  # fmt: skip
        _caught_up(s, t)
        assert s.cmd("GET", "b") == b"$1\r\n2\r\n"
        stats = _info(r, "stats")
        assert stats["sync_full"] == "1" and int(stats["sync_partial_ok"]) >= 1
    finally:
        for x in (master, sibling, sub):
            x.stop()


def test_snapshot_child_dies_with_its_server() -> None:
    # integration/replication "replication child dies when parent is killed"
    import os
    import signal
    import subprocess

    master = start_respdb("--repl-diskless-sync-delay", "0")
    rep = start_respdb()
    try:
        m = RawConn(master.port)
        m.cmd("CONFIG", "SET", "rdb-key-save-delay", "1000")
        m.cmd("DEBUG", "POPULATE", "10000")
        RawConn(rep.port).cmd("REPLICAOF", "127.0.0.1", str(master.port))
        _wait(lambda: b"rdb_bgsave_in_progress:1" in m.cmd("INFO", "persistence"), what="the child")
        child = int(
            subprocess.run(["pgrep", "-P", str(master.proc.pid)], capture_output=True, text=True).stdout.split()[0]
        )
        os.kill(master.proc.pid, signal.SIGKILL)
        master.proc.wait(10)

        def gone() -> bool:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                return True
            with open("/proc/%d/stat" % child) as f:
                return f.read().split()[2] == "Z"  # exited, not yet reaped

        _wait(gone, what="the child to exit")
    finally:
        master.stop()
        rep.stop()


def test_async_loading_serves_the_old_data_then_swaps(replica: ServerProc) -> None:
    # integration/replication "Diskless load swapdb (async_loading)": a replica loading a new
    # snapshot of its own history keeps serving the old data, refuses what must not run
    # meanwhile (NO_ASYNC_LOADING commands, CONFIG SET appendonly), then shows only the new data
    master = start_respdb("--repl-diskless-sync-delay", "0")
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        r.cmd("CONFIG", "SET", "repl-diskless-load", "swapdb", "replica-read-only", "no")
        _follow(r, master)
        r.cmd("DEBUG", "POPULATE", "200", "slave", "10")
        r.cmd("SET", "mykey", "myvalue")
        m.cmd("DEBUG", "POPULATE", "300", "master", "100")
        m.cmd("CONFIG", "SET", "rdbcompression", "no", "rdb-key-save-delay", "10000")  # 3 s of transfer
        # the replica comes back too late for the backlog: a full sync of the same history
        m.cmd("MULTI")
        m.cmd("CLIENT", "KILL", "TYPE", "replica")
        m.cmd("CONFIG", "SET", "repl-backlog-size", "16384")
        for i in range(10):
            m.cmd("SET", "filler%d" % i, "A" * 16384)
        m.cmd("EXEC")
        _wait(lambda: _info(r, "persistence")["async_loading"] == "1", what="async loading")
        assert _info(r, "persistence")["loading"] == "0"
        assert r.cmd("GET", "mykey") == b"$7\r\nmyvalue\r\n"
        loading = b"-LOADING Redis is loading the dataset in memory\r\n"
        assert r.cmd("CONFIG", "SET", "appendonly", "no") == loading
        assert r.cmd("REPLICAOF", "NO", "ONE") == loading
        assert r.cmd("BGSAVE") == loading
        m.cmd("CONFIG", "SET", "rdb-key-save-delay", "0")
        _wait(lambda: _info(r, "persistence")["async_loading"] == "0", timeout=20, what="the swap")
        _wait(lambda: _info(r, "replication")["master_link_status"] == "up", timeout=20, what="the link")
        assert r.cmd("GET", "mykey") == b"$-1\r\n"
        assert r.cmd("DBSIZE") == b":310\r\n"
        assert r.cmd("BGSAVE").startswith(b"+Background saving started")
    finally:
        r.cmd("CONFIG", "SET", "replica-read-only", "yes")
        master.stop()
