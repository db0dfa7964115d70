"""AOF loading at start-up serves clients: -LOADING meanwhile, the whole keyspace at the first reply.

The AOF directory is made by real Redis (an RDB-preamble base from DEBUG POPULATE and
BGREWRITEAOF) with a long generated incr file appended, so that loading takes a noticeable time.
respdb and redis-server (slowed down with key-load-delay) load copies of it; while both are still
loading, the same probe commands get the same replies, and afterwards the keyspaces are equal.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from conftest import RawConn, encode, redis_server_path, start_redis, start_respdb
from persist_util import Raw, server_keyspace

pytestmark = pytest.mark.skipif(redis_server_path() is None, reason="redis-server not installed")

AOFDIR = "appendonlydir"
LOADING = b"-LOADING Redis is loading the dataset in memory\r\n"
N_COMMANDS = 250_000


def _workload() -> bytes:
    """A long incr file: strings, counters, lists, hashes over two dbs, a MULTI, a last marker key."""
    out = [encode("SELECT", "0")]
    for i in range(N_COMMANDS):
        k = i % 3000
        m = i % 4
        if m == 0:
            out.append(encode("SET", "s%d" % k, "v%d" % i))
        elif m == 1:
            out.append(encode("INCR", "n%d" % k))
        elif m == 2:
            out.append(encode("RPUSH", "l%d" % (k % 500), "x%d" % i))
        else:
            out.append(encode("HSET", "h%d" % (k % 700), "f%d" % (i % 11), "%d" % i))
        if i == N_COMMANDS // 2:
            out += [
                encode("SELECT", "2"),
                encode("MULTI"),
                encode("SET", "t", "1"),
                encode("INCR", "t"),
                encode("EXEC"),
            ]
            out.append(encode("SELECT", "0"))
    out.append(encode("SET", "last", "done"))
    return b"".join(out)


@pytest.fixture(scope="module")
def aof_template():
    """A data dir whose AOF Redis wrote (RDB base) plus a big incr file; removed at the end."""
    srv = start_redis("--appendonly", "yes")
    try:
        c = Raw(srv.port)
        assert c.cmd("DEBUG", "POPULATE", "5000") == b"OK"
        c.cmd("BGREWRITEAOF")
        deadline = time.monotonic() + 10
        while b"aof_rewrite_in_progress:1" in c.cmd("INFO", "persistence") or b"aof_rewrites:0" in c.cmd(
            "INFO", "persistence"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        c.close()
    finally:
        srv.stop()
    d = Path(srv.workdir) / AOFDIR
    manifest = (d / "appendonly.aof.manifest").read_text()
    incr = [line.split()[1] for line in manifest.splitlines() if line.endswith("type i")][-1]
    with open(d / incr, "ab") as f:
        f.write(_workload())
    yield srv.workdir
    shutil.rmtree(srv.workdir, ignore_errors=True)


def _copy(template: str) -> str:
    d = tempfile.mkdtemp(prefix="aof-loading-")
    shutil.copytree(os.path.join(template, AOFDIR), os.path.join(d, AOFDIR))
    return d


def _connect(port: int) -> RawConn:
    deadline = time.monotonic() + 10
    while True:
        try:
            return RawConn(port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _info(conn: RawConn) -> dict[str, str]:
    text = conn.cmd("INFO", "persistence").split(b"\r\n", 1)[1].decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


def _wait_loaded(conn: RawConn, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while conn.cmd("PING") != b"+PONG\r\n":
        assert time.monotonic() < deadline, "still loading"
        time.sleep(0.02)


def test_clients_get_loading_then_the_whole_keyspace(aof_template):
    d = _copy(aof_template)
    files = sorted((Path(d) / AOFDIR).iterdir())
    total = sum(f.stat().st_size for f in files if not f.name.endswith(".manifest"))
    t0 = int(time.time())
    s = start_respdb("--dir", d, "--appendonly", "yes")
    try:
        conn = _connect(s.port)
        replies = []
        infos = []
        while True:
            r = conn.cmd("GET", "last")
            replies.append(r)
            if r != LOADING:
                break
            if len(infos) < 50:
                infos.append(_info(conn))
        # the marker is the AOF's last command: no reply but -LOADING before all of it is in place
        assert replies[-1] == b"$4\r\ndone\r\n"
        assert set(replies[:-1]) == {LOADING} and len(replies) > 5
        loading = [i for i in infos if i["loading"] == "1"]
        assert loading, "INFO never showed loading:1"
        done = [int(i["loading_loaded_bytes"]) for i in loading]
        assert done == sorted(done) and done[0] >= 0 and done[-1] <= total
        assert len(set(done)) > 1, "loading_loaded_bytes did not move"
        for i in loading:
            assert int(i["loading_total_bytes"]) == total
            assert abs(int(i["loading_start_time"]) - t0) <= 5
            perc = float(i["loading_loaded_perc"])
            assert perc == pytest.approx(100.0 * int(i["loading_loaded_bytes"]) / total, abs=0.01)
            assert int(i["loading_eta_seconds"]) >= 0
        after = _info(conn)
        assert after["loading"] == "0" and "loading_total_bytes" not in after
        assert after["rdb_last_load_keys_loaded"] == "5000"  # the RDB preamble's keys
        log = Path(s.log).read_text()
        for line in (
            "Reading RDB base file on AOF loading...",
            "Done loading RDB, keys loaded: 5000, keys expired: 0.",
            "DB loaded from base file appendonly.aof.2.base.rdb: ",
            "DB loaded from incr file appendonly.aof.2.incr.aof: ",
            "DB loaded from append only file: ",
            "Opening AOF incr file appendonly.aof.2.incr.aof on server start",
        ):
            assert line in log
        assert log.index("DB loaded from append only file") < log.index("Ready to accept connections")
        ours = server_keyspace(Raw(s.port), 3)
    finally:
        s.stop()
        shutil.rmtree(d, ignore_errors=True)
    d = _copy(aof_template)
    ref = start_redis("--dir", d, "--appendonly", "yes")
    try:
        _wait_loaded(_connect(ref.port))
        theirs = server_keyspace(Raw(ref.port), 3)
    finally:
        ref.stop()
        shutil.rmtree(d, ignore_errors=True)
    assert len(ours) > 5000
    assert ours == theirs


# Commands sent while the server loads. Replies must be equal byte for byte, except for the
# VARYING ones, whose contents depend on the server (only "-LOADING or not" is compared).
PROBES = [
    ("PING",),
    ("ECHO", "hi"),
    ("GET", "s1"),
    ("SET", "k", "v"),
    ("DBSIZE",),
    ("EXISTS", "s1"),
    ("SELECT", "1"),
    ("SELECT", "0"),
    ("CLIENT", "SETNAME", "probe"),
    ("CLIENT", "GETNAME"),
    ("CONFIG", "GET", "maxmemory-samples"),
    ("CONFIG", "SET", "maxmemory-samples", "5"),
    ("MULTI",),
    ("GET", "s1"),
    ("PING",),
    ("EXEC",),
    ("MULTI",),
    ("PING",),
    ("EXEC",),
    ("PUBLISH", "ch", "m"),
    ("EVAL", "return 1", "0"),
    ("SCRIPT", "EXISTS", "a"),
    ("FUNCTION", "LIST"),
    ("AUTH", "x"),
    ("COMMAND", "COUNT"),
    ("TIME",),
    ("LASTSAVE",),
    ("INFO", "keyspace"),
    ("SCAN", "0"),
    ("KEYS", "zz*"),
    ("TYPE", "s1"),
    ("OBJECT", "ENCODING", "s1"),
    ("DEBUG", "SLEEP", "0"),
    ("SAVE",),
    ("BGSAVE",),
    ("FLUSHALL",),
    ("SLOWLOG", "LEN"),
    ("ROLE",),
    ("RESET",),
]
VARYING = {"TIME", "LASTSAVE", "INFO", "DBSIZE", "COMMAND", "SLOWLOG", "ROLE"}


def _probe(port: int) -> list[bytes]:
    conn = _connect(port)
    assert conn.cmd("GET", "s1") == LOADING
    conn.send(b"".join(encode(*p) for p in PROBES))  # one pipeline: Redis serves clients between batches
    replies = []
    for p in PROBES:
        r = conn.read_reply()
        replies.append(r if p[0] not in VARYING or r == LOADING else b"<varies>")
    assert _info(conn)["loading"] == "1", "the load ended before the probes did"
    conn.sock.close()
    return replies


def test_commands_allowed_while_loading_like_redis(aof_template):
    dirs = [_copy(aof_template), _copy(aof_template)]
    ref = start_redis("--dir", dirs[0], "--appendonly", "yes", "--key-load-delay", "50")
    try:
        want = _probe(ref.port)
    finally:
        ref.stop()
    s = start_respdb("--dir", dirs[1], "--appendonly", "yes")
    try:
        got = _probe(s.port)
    finally:
        s.stop()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)
    assert LOADING in want and any(r != LOADING for r in want)
    assert [(p, g) for p, g, w in zip(PROBES, got, want, strict=True) if g != w] == []


def test_corrupt_tail_stops_startup_after_serving_loading(aof_template):
    d = _copy(aof_template)
    incr = next((Path(d) / AOFDIR).glob("*.incr.aof"))
    data = incr.read_bytes()
    at = len(data) - 40
    at = data.index(b"*", at)
    incr.write_bytes(data[:at] + b"!" + data[at + 1 :])  # a bad command near the end
    log = os.path.join(d, "bad.log")
    s = start_respdb("--dir", d, "--appendonly", "yes", "--logfile", log)
    try:
        conn = _connect(s.port)
        assert conn.cmd("GET", "last") == LOADING
        assert s.proc.wait(60) == 1
    finally:
        s.stop()
    text = Path(log).read_text()
    assert "Fatal error loading the AOF: Bad file format reading the append only file at offset" in text
    assert "Ready to accept connections" not in text
    shutil.rmtree(d, ignore_errors=True)


def test_sigterm_during_loading_stops_without_saving(aof_template):
    d = _copy(aof_template)
    before = {f.name: f.read_bytes() for f in (Path(d) / AOFDIR).iterdir()}
    s = start_respdb("--dir", d, "--appendonly", "yes", "--save", "1 1")
    try:
        conn = _connect(s.port)
        assert conn.cmd("GET", "last") == LOADING
        t0 = time.monotonic()
        s.proc.terminate()
        assert s.proc.wait(10) == 0
        assert time.monotonic() - t0 < 0.5  # the load is abandoned, not finished first
    finally:
        s.stop()
    log = Path(s.log).read_text()
    assert "Received shutdown signal during loading, scheduling shutdown." in log
    assert "Ready to accept connections" not in log and "DB loaded from append only file" not in log
    assert {f.name: f.read_bytes() for f in (Path(d) / AOFDIR).iterdir()} == before
    assert not (Path(d) / "dump.rdb").exists()
    shutil.rmtree(d, ignore_errors=True)
