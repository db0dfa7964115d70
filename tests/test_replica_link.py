"""A replica's link carries no replies: a replica whose command makes one is dropped, on respdb
and on a real redis-server alike (integration/replication "replica do not write the reply to the
replication link")."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import STARTERS, RawConn, redis_server_path, start_respdb, wait_port
from test_replica import _follow
from test_replication import _wait


@pytest.mark.parametrize(
    "sync, command, name",
    [
        (("SYNC",), ("PING",), "ping"),
        (("SYNC",), ("XINFO", "HELP"), "xinfo|help"),
        (("PSYNC", "replicationid", "-1"), ("GET", "foo"), "get"),
        (("PSYNC", "replicationid", "-1"), ("SLOWLOG", "GET"), "slowlog|get"),
    ],
)
def test_a_replica_that_makes_a_reply_is_dropped(kind: str, sync, command, name: str) -> None:
    # integration/replication "replica do not write the reply to the replication link"
    s = STARTERS[kind]("--repl-diskless-sync-delay", "0")
    try:
        c = RawConn(s.port)
        c.send_cmd(*sync)
        assert not c.silent(0.5)  # the snapshot (after +FULLRESYNC for PSYNC)
        c.send_cmd(*command)
        assert c.closed(5)
        assert RawConn(s.port).cmd("PING") == b"+PONG\r\n"
        _wait(lambda: "Replica generated a reply to command '%s', disconnecting it: id=" % name in Path(s.log).read_text(errors="replace"),
              what="the log line")  # fmt: skip
        if name == "get":
            assert (
                "== CRITICAL == This master is sending an error to its replica: "
                "'Replica can't interact with the keyspace' after processing the command 'get'"
                in Path(s.log).read_text(errors="replace")
            )
    finally:
        s.stop()


def test_a_slow_replica_holds_the_snapshot_child_back() -> None:
    # The snapshot a forked child writes for replicas is read only as fast as the slowest
    # replica takes it (Redis's rdbPipeReadHandler), not buffered whole for it by the master.
    s = start_respdb("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--rdbcompression", "no")
    try:
        m = RawConn(s.port)
        m.cmd("DEBUG", "POPULATE", "3000", "key", "10000")  # about 30 MB of snapshot
        rep = RawConn(s.port)
        assert rep.cmd("REPLCONF", "capa", "eof", "capa", "psync2") == b"+OK\r\n"
        rep.send_cmd("PSYNC", "?", "-1")
        assert rep.read_reply().startswith(b"+FULLRESYNC ")
        mark = rep._line()
        assert mark.startswith(b"$EOF:") and len(mark) == 47
        time.sleep(1.0)  # the replica reads nothing meanwhile
        line = next(x for x in m.cmd("CLIENT", "LIST").split(b"\n") if b" flags=S " in x)
        omem = int(line.split(b" omem=")[1].split(b" ")[0])
        assert omem < 3 * 1024 * 1024, line
        assert b"rdb_bgsave_in_progress:1" in m.cmd("INFO", "persistence")
        # reading on, the replica gets the whole snapshot
        end = mark[5:-2]
        data = rep.buf
        rep.sock.settimeout(10)
        while not data.endswith(end):
            chunk = rep.sock.recv(1 << 20)
            assert chunk
            data += chunk
        assert data.startswith(b"REDIS0010") and len(data) > 30_000_000
        _wait(lambda: b"rdb_bgsave_in_progress:0" in m.cmd("INFO", "persistence"), what="the child's end")
    finally:
        s.stop()


def _replica_listed(c: RawConn) -> bool:
    return b" flags=S " in c.cmd("CLIENT", "LIST")


@pytest.mark.parametrize("phase", ["online", "during the snapshot"])
def test_replica_output_limit(kind: str, phase: str) -> None:
    # client-output-buffer-limit replica: a replica that does not read what it is sent is
    # dropped once the stream queued for it passes the hard limit
    s = STARTERS[kind]("--repl-diskless-sync-delay", "0", "--client-output-buffer-limit", "replica 1mb 0 0")
    try:
        m = RawConn(s.port)
        rep = RawConn(s.port)
        assert rep.cmd("REPLCONF", "capa", "eof", "capa", "psync2") == b"+OK\r\n"
        if phase != "online":
            m.cmd("SET", "k", "v")
            m.cmd("CONFIG", "SET", "rdb-key-save-delay", "100000000")  # the snapshot never ends
        rep.send_cmd("PSYNC", "?", "-1")
        assert rep.read_reply().startswith(b"+FULLRESYNC ")
        if phase == "online":
            mark = rep._line()[5:-2]
            data = rep.buf
            while not data.endswith(mark):
                data += rep.sock.recv(65536)
            rep.buf = b""
            rep.send_cmd("REPLCONF", "ACK", "0")  # (never answered) online now; it reads nothing more
        _wait(lambda: _replica_listed(m), what="the replica")
        value = "x" * 100_000
        for i in range(300):  # 30 MB, beyond what the sockets themselves hold
            m.cmd("SET", "key%d" % i, value)
            if not _replica_listed(m):
                break
        _wait(lambda: not _replica_listed(m), what="the replica dropped")
        log = Path(s.log).read_text(errors="replace")
        assert "scheduled to be closed ASAP for overcoming of output buffer limits" in log
    finally:
        s.stop()


def test_flushall_restarts_a_transfer(kind: str) -> None:
    # integration/replication "diskless replication read pipe cleanup": FLUSHALL stops the
    # child writing a snapshot for replicas; the replica asks again and gets a new one
    master = STARTERS[kind]("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
    replica = STARTERS[kind]()
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        m.cmd("DEBUG", "POPULATE", "200", "test", "100")
        m.cmd("CONFIG", "SET", "rdb-key-save-delay", "100000")  # 20 s of snapshot
        r.cmd("REPLICAOF", "127.0.0.1", str(master.port))
        log = Path(master.log)
        _wait(lambda: "Background RDB transfer started by pid" in log.read_text(), what="the transfer")
        assert m.cmd("FLUSHALL") == b"+OK\r\n"
        m.cmd("CONFIG", "SET", "rdb-key-save-delay", "0")
        _wait(lambda: log.read_text().count("Background RDB transfer started by pid") == 2, what="a new transfer")
        _wait(lambda: b"master_link_status:up" in r.cmd("INFO", "replication"), what="the sync")
        assert r.cmd("DBSIZE") == b":0\r\n"
        assert m.cmd("PING") == b"+PONG\r\n"
    finally:
        replica.stop()
        master.stop()


def test_disk_sync_writes_the_rdb_file_and_is_kept_when_useful(kind: str) -> None:
    # repl-diskless-sync no: the snapshot for replicas is a BGSAVE to the RDB file (integration/
    # replication "Kill rdb child process if its dumping RDB is not useful")
    master = STARTERS[kind]("--repl-diskless-sync", "no", "--save", "")
    replica = STARTERS[kind]()
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        for i in range(10):
            m.cmd("SET", str(i), str(i))
        dump = Path(master.workdir) / "dump.rdb"
        assert not dump.exists()
        _follow(r, master)
        assert dump.exists()  # the sync wrote the file, and counts as a save
        assert b"rdb_changes_since_last_save:0\r\n" in m.cmd("INFO", "persistence")

        def saving() -> bool:
            return b"rdb_bgsave_in_progress:1\r\n" in m.cmd("INFO", "persistence")

        # a slow snapshot that nobody needs any more is stopped ...
        m.cmd("CONFIG", "SET", "rdb-key-save-delay", "1000000")  # 10 s
        r.cmd("REPLICAOF", "NO", "ONE")
        r.cmd("REPLICAOF", "127.0.0.1", str(master.port))
        _wait(saving, what="the snapshot child")
        r.cmd("REPLICAOF", "NO", "ONE")
        _wait(lambda: not saving(), what="the child stopped")
        # ... unless save points make the file worth finishing
        m.cmd("CONFIG", "SET", "save", "900 1")
        r.cmd("REPLICAOF", "127.0.0.1", str(master.port))
        _wait(saving, what="the snapshot child")
        r.cmd("REPLICAOF", "NO", "ONE")
        time.sleep(0.3)
        assert saving()
        m.cmd("CONFIG", "SET", "save", "")
    finally:
        replica.stop()
        try:
            RawConn(master.port).cmd("SHUTDOWN", "NOSAVE")
        except (ConnectionError, OSError):
            pass
        master.stop()


def test_resetstat_clears_the_sync_and_fork_counters(kind: str) -> None:
    # integration/psync2-master-restart counts sync_partial_ok after CONFIG RESETSTAT
    master = STARTERS[kind]("--repl-diskless-sync-delay", "0")
    replica = STARTERS[kind]()
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        m.cmd("SET", "k", "v")
        _follow(r, master)
        assert m.cmd("BGREWRITEAOF").startswith(b"+Background")
        _wait(lambda: b"aof_rewrite_in_progress:0\r\n" in m.cmd("INFO", "persistence"), what="the rewrite")
        stats = m.cmd("INFO", "stats")
        assert b"sync_full:1\r\n" in stats and b"total_forks:0\r\n" not in stats
        assert m.cmd("CONFIG", "RESETSTAT") == b"+OK\r\n"
        stats, persistence = m.cmd("INFO", "stats"), m.cmd("INFO", "persistence")
        for field in (b"sync_full:0", b"sync_partial_ok:0", b"sync_partial_err:0", b"total_forks:0"):
            assert field + b"\r\n" in stats, field
        for field in (b"rdb_saves:0", b"aof_rewrites:0", b"aof_rewrites_consecutive_failures:0"):
            assert field + b"\r\n" in persistence, field
    finally:
        replica.stop()
        master.stop()


def _launch(kind: str, port: int, workdir: str, *args: str) -> subprocess.Popen:
    exe = [sys.executable, "-m", "respdb"] if kind == "respdb" else [str(redis_server_path())]
    cmd = [*exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir, "--enable-debug-command", "yes", *args]
    log = open(os.path.join(workdir, "restart.log"), "a")  # noqa: SIM115 - the server's stdout
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    wait_port(port, proc)
    return proc


def test_keys_expired_over_a_restart_are_deleted_on_the_replica(kind: str) -> None:
    # integration/psync2-master-restart "... with expire": the restarted master skips the keys
    # that expired while it was down and feeds their deletion to the replicas that continue
    master = STARTERS[kind]("--save", "3600 1", "--repl-diskless-sync-delay", "0")
    replica = STARTERS[kind]()
    proc = None
    try:
        m, r = RawConn(master.port), RawConn(replica.port)
        _follow(r, master)
        m.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        for i in range(100):
            m.cmd("SELECT", str(i % 16))
            m.cmd("SET", "k%d" % i, "v", "PX", "10")
        m.cmd("SELECT", "0")
        m.cmd("SET", "kept", "v")
        _wait(lambda: r.cmd("DBSIZE") == b":8\r\n", what="the keys on the replica")  # (db 0: 7 + kept)
        time.sleep(0.05)
        try:
            m.cmd("SHUTDOWN", "NOW")  # saves (save points), and no GETACK moves the offset
        except ConnectionError:
            pass
        master.proc.wait(10)
        proc = _launch(kind, master.port, master.workdir, "--save", "3600 1")
        _wait(lambda: b"master_link_status:up" in r.cmd("INFO", "replication"), timeout=20, what="back")
        m = RawConn(master.port)
        assert b"sync_partial_ok:1\r\n" in m.cmd("INFO", "stats")
        assert b"rdb_last_load_keys_expired:100\r\n" in m.cmd("INFO", "persistence")
        _wait(lambda: r.cmd("DBSIZE") == b":1\r\n", what="the deletions")
        assert r.cmd("GET", "kept") == b"$1\r\nv\r\n"
        assert m.cmd("DEBUG", "DIGEST") == r.cmd("DEBUG", "DIGEST")
    finally:
        replica.stop()
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        master.stop()


def test_replica_sees_the_master_close_the_link_before_later_requests() -> None:
    """When the master drops the link (CLIENT KILL inside a transaction, as Redis's
    replication test does), a request the replica reads afterwards finds the link down, as
    in Redis, where the read that returns 0 ends the link at once. Before, the replica learnt
    it only after the requests read in the same loop turn: with the replica busy while the
    master closes, the INFO that follows still said `up`."""
    from test_replica import _info

    master = start_respdb()
    replica = start_respdb()
    try:
        m = RawConn(master.port)
        r = RawConn(replica.port)
        busy = RawConn(replica.port)
        _follow(r, master)
        for _ in range(3):
            _wait(lambda: _info(r, "replication")["master_link_status"] == "up", what="link up")
            busy.send(b"DEBUG SLEEP 0.3\r\n")  # the close and the INFO arrive while it sleeps
            time.sleep(0.05)
            m.cmd("MULTI")
            m.cmd("CLIENT", "KILL", "TYPE", "replica")
            assert m.cmd("EXEC") == b"*1\r\n:1\r\n"
            assert _info(r, "replication")["master_link_status"] == "down"
            assert busy.read_reply() == b"+OK\r\n"
    finally:
        replica.stop()
        master.stop()
