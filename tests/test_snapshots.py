"""SAVE, BGSAVE, save points, MISCONF, SHUTDOWN and start-up loading, on real respdb processes.

Where Redis's behaviour is observable from outside (error texts, INFO fields, what survives a
restart) the same scenario is run against redis-server too.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, free_port, start_redis, start_respdb, wait_port
from persist_util import Raw, server_keyspace
from test_rdb import dataset_commands, run_on

from respdb.embedded import Embedded
from respdb.engine import Engine
from respdb.persistence import rdb

MISCONF = (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
    "Commands that may modify the data set are disabled, because this instance is configured to report "
    "errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check "
    "the Redis logs for details about the RDB error."
)


def info(c: Raw, section: str = "persistence") -> dict[str, str]:
    text = c.cmd("INFO", section).decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def wait_bgsave(c: Raw, timeout: float = 60) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        i = info(c)
        if i["rdb_bgsave_in_progress"] == "0":
            return i
        assert time.monotonic() < deadline, "BGSAVE did not finish"
        time.sleep(0.05)


def spawn_respdb(workdir: str, *args: str, port: int | None = None) -> tuple[subprocess.Popen, int, str]:
    """A respdb server on `workdir` (default save points unless given), for restart tests."""
    port = port or free_port()
    log = os.path.join(workdir, "server-%d.log" % time.monotonic_ns())
    cmd = [sys.executable, "-m", "respdb", "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir,
           "--enable-debug-command", "yes", *args]  # fmt: skip
    with open(log, "w") as lf:
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, cwd=workdir)
    return proc, port, log


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------------------
# Restarts


def test_shutdown_saves_and_restart_reproduces_everything(tmp_path):
    proc, port, _ = spawn_respdb(str(tmp_path))
    try:
        wait_port(port, proc)
        c = Raw(port)
        run_on(c.cmd, dataset_commands())
        c.cmd("SET", "ttl:soon", "v", "PX", "600000")
        c.cmd("SELECT", "3")
        c.cmd("SET", "db3", "x", "EX", "1000")
        before = server_keyspace(c)
        with pytest.raises(ConnectionError):
            c.cmd("SHUTDOWN")
        assert proc.wait(30) == 0
    finally:
        stop(proc)
    assert (tmp_path / "dump.rdb").exists()
    proc, port, log = spawn_respdb(str(tmp_path))
    try:
        wait_port(port, proc)
        c = Raw(port)
        after = server_keyspace(c)
        assert [x for x in after if x["type"] != "string"] == [x for x in before if x["type"] != "string"]
        assert [{**x, "encoding": None} for x in after] == [{**x, "encoding": None} for x in before]
        assert any(x["expire_at_ms"] for x in after)
        assert info(c)["rdb_last_load_keys_loaded"] == str(len(before))
        text = Path(log).read_text()
        assert "Done loading RDB, keys loaded: %d, keys expired: 0." % len(before) in text
    finally:
        stop(proc)


def test_shutdown_options(tmp_path):
    # No save points: SHUTDOWN does not save, SHUTDOWN SAVE does.
    proc, port, _ = spawn_respdb(str(tmp_path), "--save", "")
    wait_port(port, proc)
    c = Raw(port)
    c.cmd("SET", "k", "1")
    with pytest.raises(ConnectionError):
        c.cmd("SHUTDOWN")
    proc.wait(30)
    assert not (tmp_path / "dump.rdb").exists()
    proc, port, _ = spawn_respdb(str(tmp_path), "--save", "")
    wait_port(port, proc)
    c = Raw(port)
    c.cmd("SET", "k", "2")
    assert c.cmd("SHUTDOWN", "SAVE", "NOSAVE").args[0] == "ERR syntax error"
    with pytest.raises(ConnectionError):
        c.cmd("SHUTDOWN", "SAVE")
    proc.wait(30)
    # With save points: NOSAVE skips the save.
    proc, port, _ = spawn_respdb(str(tmp_path))
    wait_port(port, proc)
    c = Raw(port)
    assert c.cmd("GET", "k") == b"2"
    c.cmd("SET", "k", "3")
    with pytest.raises(ConnectionError):
        c.cmd("SHUTDOWN", "NOSAVE")
    proc.wait(30)
    proc, port, _ = spawn_respdb(str(tmp_path))
    try:
        wait_port(port, proc)
        assert Raw(port).cmd("GET", "k") == b"2"
    finally:
        stop(proc)


def _unsaveable(workdir: Path) -> None:
    """Make the final rename fail: the target name is taken by a directory."""
    (workdir / "dump.rdb").mkdir()


def test_shutdown_refused_when_the_save_fails_unless_forced(tmp_path):
    proc, port, log = spawn_respdb(str(tmp_path))
    try:
        wait_port(port, proc)
        c = Raw(port)
        c.cmd("SET", "k", "v")
        _unsaveable(tmp_path)
        err = c.cmd("SHUTDOWN")
        assert str(err) == "ERR Errors trying to SHUTDOWN. Check logs."
        assert c.cmd("PING") == b"PONG"
        # a refused SIGTERM keeps the server running too
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert proc.poll() is None and c.cmd("PING") == b"PONG"
        with pytest.raises(ConnectionError):
            c.cmd("SHUTDOWN", "FORCE")
        assert proc.wait(30) == 0
        text = Path(log).read_text()
        assert "Error trying to save the DB, can't exit." in text
        assert "Errors trying to shut down the server. Check the logs for more information." in text
        assert "Error trying to save the DB. Exit anyway." in text
        assert not list(tmp_path.glob("temp-*.rdb"))
    finally:
        stop(proc)


def test_startup_refuses_a_corrupt_file(tmp_path):
    shutil.copyfile(FIXTURES / "persistence" / "legacy" / "corrupt_ziplist.rdb", tmp_path / "dump.rdb")
    proc, port, log = spawn_respdb(str(tmp_path))
    assert proc.wait(30) == 1
    text = Path(log).read_text()
    assert re.search(r"Fatal error loading the DB: hash-ziplist integrity check failed: .* at byte offset \d+", text)
    assert text.rstrip().endswith("Terminating server after rdb file reading failure.")  # as Redis ends
    assert "Ready to accept connections" not in text


def test_startup_with_empty_keys_file_starts_empty(tmp_path):
    shutil.copyfile(FIXTURES / "persistence" / "legacy" / "corrupt_empty_keys.rdb", tmp_path / "dump.rdb")
    proc, port, log = spawn_respdb(str(tmp_path))
    try:
        wait_port(port, proc)
        assert Raw(port).cmd("DBSIZE") == 0
        text = Path(log).read_text()
        assert "rdbLoadObject skipping empty key: list_quicklist_empty_ziplist" in text
        assert "empty keys skipped: 9." in text
    finally:
        stop(proc)


# ---------------------------------------------------------------------------
# BGSAVE and save points


@pytest.fixture
def server(tmp_path):
    s = start_respdb("--dir", str(tmp_path))
    yield s, Raw(s.port), tmp_path
    s.stop()


def test_save_bgsave_lastsave_and_info(server):
    s, c, d = server
    i = info(c)
    assert i["rdb_changes_since_last_save"] == "0" and i["rdb_saves"] == "0"
    assert c.cmd("LASTSAVE") == int(i["rdb_last_save_time"])
    c.cmd("SET", "a", "1")
    c.cmd("RPUSH", "l", "x", "y")
    assert info(c)["rdb_changes_since_last_save"] == "3"  # RPUSH counts one change per element
    assert c.cmd("SAVE") == b"OK"
    i = info(c)
    assert i["rdb_changes_since_last_save"] == "0" and i["rdb_saves"] == "1"
    first = (d / "dump.rdb").read_bytes()
    assert rdb.parse_rdb(first, 16, rdb.Limits()).keys_loaded == 2
    c.cmd("SET", "b", "2")
    assert c.cmd("BGSAVE") == b"Background saving started"
    i = wait_bgsave(c)
    assert i["rdb_last_bgsave_status"] == "ok" and i["rdb_saves"] == "2"
    assert i["rdb_changes_since_last_save"] == "0" and int(i["rdb_last_bgsave_time_sec"]) >= 0
    assert rdb.parse_rdb((d / "dump.rdb").read_bytes(), 16, rdb.Limits()).keys_loaded == 3
    stats = info(c, "stats")
    assert stats["total_forks"] == "1" and int(stats["latest_fork_usec"]) > 0
    assert str(c.cmd("BGSAVE", "NOW")) == "ERR syntax error"
    assert c.cmd("BGSAVE", "SCHEDULE") == b"Background saving started"
    wait_bgsave(c)
    assert not list(d.glob("temp-*.rdb"))


def test_bgsave_runs_while_the_server_keeps_serving(server):
    s, c, d = server
    for i in range(20):
        c.cmd("RPUSH", "list%d" % i, *[b"element-%d-%d" % (i, j) for j in range(5000)])
    c.cmd("MSET", *[x for j in range(20000) for x in (b"key:%d" % j, b"value:%d" % j)])
    assert c.cmd("BGSAVE") == b"Background saving started"
    assert info(c)["rdb_bgsave_in_progress"] == "1"
    assert str(c.cmd("BGSAVE")) == "ERR Background save already in progress"
    assert str(c.cmd("SAVE")) == "ERR Background save already in progress"
    # writes during the save are served and counted, but not part of the snapshot
    assert c.cmd("SET", "during", "bgsave") == b"OK"
    i = wait_bgsave(c)
    assert i["rdb_last_bgsave_status"] == "ok"
    assert i["rdb_changes_since_last_save"] == "1"
    res = rdb.parse_rdb((d / "dump.rdb").read_bytes(), 16, rdb.Limits())
    assert b"during" not in res.dbs[0] and len(res.dbs[0]) == 20020


def test_bgsave_inside_multi_is_scheduled(server):
    s, c, d = server
    c.cmd("SET", "k", "v")
    c.cmd("MULTI")
    c.cmd("BGSAVE")
    assert c.cmd("EXEC") == [b"Background saving scheduled"]
    deadline = time.monotonic() + 10
    while not (d / "dump.rdb").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    wait_bgsave(c)


def test_save_points_trigger_bgsave(tmp_path):
    s = start_respdb("--dir", str(tmp_path), "--save", "1 2")
    try:
        c = Raw(s.port)
        c.cmd("SET", "a", "1")
        time.sleep(2.3)
        assert not (tmp_path / "dump.rdb").exists()  # one change is not enough
        c.cmd("SET", "b", "2")
        deadline = time.monotonic() + 10
        while info(c)["rdb_changes_since_last_save"] != "0":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        wait_bgsave(c)
        assert rdb.parse_rdb((tmp_path / "dump.rdb").read_bytes(), 16, rdb.Limits()).keys_loaded == 2
        assert "2 changes in 1 seconds. Saving..." in Path(s.log).read_text()
    finally:
        s.stop()


def _misconf_scenario(c: Raw, d: Path, wait_ok) -> list:
    """The same steps on either server; returns the replies seen."""
    out = []
    c.cmd("SET", "k", "v")
    _unsaveable(d)
    out.append(c.cmd("BGSAVE"))
    i = wait_ok(c)
    out.append(i["rdb_last_bgsave_status"])
    for cmd in (("SET", "k", "w"), ("PING",), ("GET", "k"), ("DEL", "k"), ("INCR", "n")):
        out.append(c.cmd(*cmd))
    c.cmd("MULTI")
    out.append(c.cmd("SET", "x", "1"))
    out.append(c.cmd("EXEC"))
    out.append(c.cmd("CONFIG", "SET", "stop-writes-on-bgsave-error", "no"))
    out.append(c.cmd("SET", "k", "after"))
    out.append(c.cmd("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"))
    out.append(c.cmd("SET", "k", "again"))
    (d / "dump.rdb").rmdir()
    out.append(c.cmd("BGSAVE"))
    out.append(wait_ok(c)["rdb_last_bgsave_status"])
    out.append(c.cmd("SET", "k", "fine"))
    return [str(x) if isinstance(x, Exception) else x for x in out]


def test_misconf_gate_matches_redis(tmp_path):
    rd = tmp_path / "redis"
    pd = tmp_path / "respdb"
    rd.mkdir()
    pd.mkdir()
    r = start_redis("--dir", str(rd), "--save", "3600 1")
    s = start_respdb("--dir", str(pd), "--save", "3600 1")
    try:
        theirs = _misconf_scenario(Raw(r.port), rd, wait_bgsave)
        ours = _misconf_scenario(Raw(s.port), pd, wait_bgsave)
        assert ours == theirs
        assert ours[2] == MISCONF and ours[3] == MISCONF and ours[4] == b"v"
        assert ours[-1] == b"OK"
    finally:
        r.stop()
        s.stop()


def test_killed_child_leaves_the_previous_file(server):
    s, c, d = server
    c.cmd("SET", "old", "data")
    assert c.cmd("SAVE") == b"OK"
    before = (d / "dump.rdb").read_bytes()
    c.cmd("MSET", *[x for j in range(200000) for x in (b"key:%d" % j, b"v" * 50)])
    assert c.cmd("BGSAVE") == b"Background saving started"
    m = None
    deadline = time.monotonic() + 10
    while m is None:
        m = re.search(r"Background saving started by pid (\d+)", Path(s.log).read_text())
        assert time.monotonic() < deadline
    os.kill(int(m.group(1)), signal.SIGKILL)
    i = wait_bgsave(c)
    assert i["rdb_last_bgsave_status"] == "err"
    assert (d / "dump.rdb").read_bytes() == before
    assert not list(d.glob("temp-*.rdb"))
    assert "Background saving terminated by signal 9" in Path(s.log).read_text()


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    e = Engine()
    e.logfile = open(os.devnull, "w")  # noqa: SIM115
    e.config.values["dir"] = str(tmp_path)
    db = Embedded(e)
    db.execute("SET", "k", "first")
    assert db.execute("SAVE") == b"OK"
    before = (tmp_path / "dump.rdb").read_bytes()
    db.execute("SET", "k", "second")
    real = rdb.write_rdb

    def broken(engine, write, **kw):
        def failing(chunk):
            write(chunk[: len(chunk) // 2])
            raise OSError(28, "No space left on device")

        return real(engine, failing, **kw)

    monkeypatch.setattr(rdb, "write_rdb", broken)
    with pytest.raises(Exception, match="^ERR$"):
        db.execute("SAVE")
    assert (tmp_path / "dump.rdb").read_bytes() == before
    assert not list(tmp_path.glob("temp-*.rdb"))
    assert db.execute("INFO", "persistence").count(b"rdb_changes_since_last_save:1") == 1


def test_info_persistence_fields_match_redis(redis_server, respdb_server):
    ours = list(info(Raw(respdb_server.port)))
    theirs = list(info(Raw(redis_server.port)))
    assert ours == theirs


def test_flushall_rewrites_the_file_with_save_points(tmp_path):
    s = start_respdb("--dir", str(tmp_path), "--save", "3600 1")
    try:
        c = Raw(s.port)
        c.cmd("SET", "k", "v")
        assert c.cmd("SAVE") == b"OK"
        assert rdb.parse_rdb((tmp_path / "dump.rdb").read_bytes(), 16, rdb.Limits()).keys_loaded == 1
        c.cmd("FLUSHALL")
        assert rdb.parse_rdb((tmp_path / "dump.rdb").read_bytes(), 16, rdb.Limits()).keys_loaded == 0
        # as Redis: the save resets the counter (the FLUSHALL is propagated all the same)
        assert info(c)["rdb_changes_since_last_save"] == "0"
    finally:
        s.stop()


def test_debug_reload(tmp_path):
    e = Engine()
    e.logfile = open(os.devnull, "w")  # noqa: SIM115
    e.config.values["dir"] = str(tmp_path)
    e.config.values["enable-debug-command"] = "yes"
    db = Embedded(e)
    run_on(db.execute_raw, dataset_commands()[:40])
    db.execute("APPEND", "s:emb", "!")
    assert db.execute("OBJECT", "ENCODING", "s:emb") == b"raw"
    before = db.execute("DBSIZE")
    assert db.execute("DEBUG", "RELOAD") == b"OK"
    assert db.execute("DBSIZE") == before
    assert db.execute("OBJECT", "ENCODING", "s:emb") == b"embstr"  # re-encoded by the load, as in Redis
    db.execute("SET", "extra", "1")
    assert db.execute("DEBUG", "RELOAD", "NOSAVE") == b"OK"
    assert db.execute("EXISTS", "extra") == 0


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu"])
def test_lru_and_lfu_data_are_saved(policy, tmp_path):
    e = Engine()
    e.logfile = open(os.devnull, "w")  # noqa: SIM115
    db = Embedded(e)
    db.execute("CONFIG", "SET", "maxmemory-policy", policy)
    db.execute("SET", "k", "v")
    p = db.execute("DUMP", "k")
    db.execute("RESTORE", "idle", 0, p, "IDLETIME", 500)
    db.execute("RESTORE", "hot", 0, p, "FREQ", 99)
    out: list[bytes] = []
    rdb.write_rdb(e, out.append)
    data = b"".join(out)
    path = tmp_path / "x.rdb"
    path.write_bytes(data)
    exe = shutil.which("redis-check-rdb")
    if exe is not None:
        res = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, res.stdout
    fresh = Engine()
    fresh.logfile = open(os.devnull, "w")  # noqa: SIM115
    Embedded(fresh).execute("CONFIG", "SET", "maxmemory-policy", policy)
    fresh.persistence.load_file(str(path))
    f = Embedded(fresh)
    if policy == "allkeys-lru":
        assert data.count(b"\xf8") >= 3
        assert f.execute("OBJECT", "IDLETIME", "idle") >= 500
    else:
        assert b"\xf9\x63" in data  # FREQ 99
        assert f.execute("OBJECT", "FREQ", "hot") == 99


def test_loading_while_listening(tmp_path):
    """A big file: clients connected during the load get -LOADING (INFO still answers, with the
    loading figures), SHUTDOWN meanwhile does not overwrite the file, and the data is there after."""
    e = Engine()
    e.logfile = open(os.devnull, "w")  # noqa: SIM115
    data = e.dbs[0].data
    for i in range(400000):
        data[b"key:%d" % i] = [b"v%d" % i, b"w"][i & 1]
    Embedded(e).execute("HSET", "h", "f", "v")
    e.config.values["dir"] = str(tmp_path)
    assert e.persistence.write_file()
    del data, e
    original = (tmp_path / "dump.rdb").read_bytes()
    proc, port, log = spawn_respdb(str(tmp_path))
    try:
        wait_port(port, proc)
        c = Raw(port)
        seen_loading = False
        while True:
            reply = c.cmd("GET", "key:7")
            if isinstance(reply, Exception):
                assert str(reply) == "LOADING Redis is loading the dataset in memory"
                if not seen_loading:
                    seen_loading = True
                    i = info(c)
                    assert i["loading"] == "1" and int(i["loading_total_bytes"]) == len(original)
                    assert str(c.cmd("HGET", "h", "f")).startswith("LOADING")
                    c.cmd("MULTI")
                    assert str(c.cmd("SET", "x", "1")).startswith("LOADING")
                    assert str(c.cmd("EXEC")).startswith("EXECABORT")
                time.sleep(0.01)
                continue
            assert reply == b"w"
            break
        assert seen_loading
        assert c.cmd("DBSIZE") == 400001 and info(c)["loading"] == "0"
        assert "Ready to accept connections" in Path(log).read_text()
    finally:
        stop(proc)
    # SHUTDOWN while loading: nothing is saved
    proc, port, log = spawn_respdb(str(tmp_path))
    try:
        wait_port(port, proc)
        c = Raw(port)
        if isinstance(c.cmd("GET", "key:7"), Exception):
            with pytest.raises(ConnectionError):
                c.cmd("SHUTDOWN")
            proc.wait(60)
            assert (tmp_path / "dump.rdb").read_bytes() == original
    finally:
        stop(proc)


def test_a_save_child_does_not_keep_the_port() -> None:
    """Children close the listening sockets: a BGSAVE child outliving a killed server must
    not keep its port (Redis's closeChildUnusedResourceAfterFork)."""
    import socket as socketmod

    from conftest import RawConn, start_respdb

    s = start_respdb()
    try:
        r = RawConn(s.port)
        r.cmd("DEBUG", "POPULATE", "100")
        r.cmd("CONFIG", "SET", "rdb-key-save-delay", "1000000")  # the child lives 100 s
        assert r.cmd("BGSAVE") == b"+Background saving started\r\n"
        time.sleep(0.3)
        out = subprocess.run(["pgrep", "-P", str(s.proc.pid)], capture_output=True, text=True)
        children = [int(x) for x in out.stdout.split()]
        assert children, "no save child"
        os.kill(s.proc.pid, signal.SIGKILL)
        s.proc.wait(10)
        probe = socketmod.socket()
        try:
            probe.setsockopt(socketmod.SOL_SOCKET, socketmod.SO_REUSEADDR, 1)
            probe.bind(("127.0.0.1", s.port))  # free although the child still runs
        finally:
            probe.close()
        for pid in children:
            os.kill(pid, signal.SIGKILL)
    finally:
        s.stop()


def test_key_load_delay_slows_the_start_up_load() -> None:
    # integration/rdb "client freed during loading" relies on key-load-delay
    from conftest import RawConn, start_respdb

    s = start_respdb()
    try:
        r = RawConn(s.port)
        r.cmd("DEBUG", "POPULATE", "2000")
        assert r.cmd("SAVE") == b"+OK\r\n"
    finally:
        s.stop()
    s2 = start_respdb("--dir", s.workdir, "--key-load-delay", "1000")  # 2000 keys: 2 s or more
    try:
        r = RawConn(s2.port)
        assert b"loading:1\r\n" in r.cmd("INFO", "persistence")
        assert r.cmd("GET", "key:1").startswith(b"-LOADING")
        deadline = time.monotonic() + 30
        while b"loading:1\r\n" in r.cmd("INFO", "persistence") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert r.cmd("DBSIZE") == b":2000\r\n"
    finally:
        s2.stop()
