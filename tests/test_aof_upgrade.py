"""Start-up from a pre-7.0 single-file AOF (`appendfilename` directly in `dir`), against real Redis.

Each case builds a data dir, copies it twice, and starts real redis-server 7.0 on one copy and
respdb on the other with the same options. Afterwards the two dirs must hold the same files with
the same bytes (the old file moved into the AOF directory as base seq 1, the manifest, the new
empty incr file), the keyspaces must have the same DEBUG DIGEST, and the AOF lines of the two
logs must be the same messages in the same order (times masked). Cases: a plain command stream,
an RDB preamble with and without a command tail, truncated tails, an unfinished MULTI, an empty
file, custom file/dir names, an existing AOF directory without manifest, an upgrade interrupted
between manifest and move, a manifest that wins over an old file, `appendonly no`, and the
start-up failures. Then BGREWRITEAOF on an upgraded dir, and a restart of one.
Also INFO loading_rdb_used_mem while an RDB loads, against Redis's figure for the same file.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import encode, free_port, redis_server_path, start_redis, start_respdb
from persist_util import Raw, server_keyspace

pytestmark = pytest.mark.skipif(redis_server_path() is None, reason="redis-server not installed")

AOFDIR = "appendonlydir"


COMMANDS = b"".join(
    [
        encode("SELECT", "0"),
        encode("SET", "a", "1"),
        encode("INCRBY", "a", "41"),
        encode("RPUSH", "l", "x", "y", "z"),
        encode("HSET", "h", "f", "v", "g", "w"),
        encode("SADD", "si", "1", "2", "3"),
        encode("ZADD", "z", "1", "one", "2.5", "two"),
        encode("SET", "ttl", "v"),
        encode("PEXPIREAT", "ttl", "99999999999999"),
        encode("XADD", "st", "1-1", "f", "v"),
        encode("SELECT", "5"),
        encode("MULTI"),
        encode("SET", "t", "1"),
        encode("INCR", "t"),
        encode("EXEC"),
        encode("SELECT", "0"),
        encode("DEL", "l"),
        encode("LPUSH", "l", "again"),
    ]
)
TAIL = (
    encode("SELECT", "1")
    + encode("SET", "tail", "yes")
    + encode("INCR", "n")
    + encode("SELECT", "0")
    + encode("SET", "k1", "new")
)


@pytest.fixture(scope="module")
def rdb_image() -> bytes:
    """An RDB file written by real Redis: every type, expires, two dbs (the preamble of the old files)."""
    srv = start_redis()
    try:
        c = Raw(srv.port)
        c.cmd("SET", "k1", "v1")
        c.cmd("SET", "int", "12345")
        c.cmd("SET", "ex", "v", "PX", "100000000")
        c.cmd("RPUSH", "list", *[str(i) for i in range(200)])
        c.cmd("HSET", "hash", "f", "1", "g", "2")
        c.cmd("SADD", "set", "a", "b", "c")
        c.cmd("SADD", "iset", "1", "2", "3")
        c.cmd("ZADD", "zset", "1", "a", "2", "b")
        c.cmd("XADD", "stream", "5-1", "f", "v")
        c.cmd("SELECT", "2")
        c.cmd("SET", "other", "db")
        assert c.cmd("SAVE") == b"OK"
        c.close()
        return (Path(srv.workdir) / "dump.rdb").read_bytes()
    finally:
        srv.stop()
        shutil.rmtree(srv.workdir, ignore_errors=True)


def _cmdline(exe: list[str], port: int, d: str, args: tuple[str, ...]) -> list[str]:
    return [*exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", d,
            "--enable-debug-command", "yes", "--appendonly", "yes", "--logfile", os.path.join(d, "..", "log"),
            *args]  # fmt: skip


REDIS = [redis_server_path() or "redis-server"]
RESPDB = [sys.executable, "-m", "respdb"]


class Run:
    """One server started on `<root>/data` (its log in `<root>/log`, outside the data dir)."""

    def __init__(self, exe: list[str], root: str, args: tuple[str, ...]) -> None:
        self.root = root
        self.data = os.path.join(root, "data")
        self.port = free_port()
        self.proc = subprocess.Popen(_cmdline(exe, self.port, self.data, args), cwd=self.data,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    def ready(self, timeout: float = 20.0) -> bool:
        """True once PING answers PONG (loaded); False when the server exited instead.

        The PONG must come from this process: free_port() can hand the same port to two servers
        started at once, and then the one that did not get it must not pass for loaded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as sock:
                    sock.sendall(b"PING\r\nINFO server\r\n")
                    time.sleep(0.05)
                    reply = sock.recv(65536)
                    if reply.startswith(b"+PONG") and b"process_id:%d\r\n" % self.proc.pid in reply:
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        raise AssertionError("server neither loaded nor exited")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        with open(os.path.join(self.root, "log"), errors="replace") as f:
            return f.read()


AOF_LOG = re.compile(
    r"AOF|append only|append-only|old-style|RDB|Done loading|DB loaded|Reading|MULTI|short read|Truncating"
)


def aof_lines(log: str) -> list[str]:
    """The AOF/loading messages of a log, without pid/time prefix, with durations and ages masked."""
    out = []
    for line in log.splitlines():
        m = re.match(r"\d+:[MC] \d+ \w+ \d+ [\d:.]+ ([.\-*#]) (.*)$", line)
        if not m or not AOF_LOG.search(m.group(2)):
            continue
        msg = re.sub(r"\d+\.\d+ seconds", "N seconds", m.group(2))
        msg = re.sub(r"RDB age \d+ seconds", "RDB age N seconds", msg)
        if msg.startswith("Calling fsync() on the AOF file") or msg.startswith("Loading AOF:"):
            continue  # shutdown line; respdb's own progress line
        out.append(m.group(1) + " " + msg)
    return out


def tree(d: str) -> dict[str, bytes | None]:
    """Every path under `d` (relative) -> file bytes, None for directories."""
    out: dict[str, bytes | None] = {}
    for root, dirs, files in os.walk(d):
        for name in dirs:
            out[os.path.relpath(os.path.join(root, name), d)] = None
        for name in files:
            p = os.path.join(root, name)
            out[os.path.relpath(p, d)] = Path(p).read_bytes()
    return out


def both(setup: dict[str, bytes], *args: str):
    """Start Redis and respdb on copies of the same data dir; returns (redis Run, respdb Run)."""
    runs = []
    for exe in (REDIS, RESPDB):
        root = tempfile.mkdtemp(prefix="aofup-")
        for rel, content in setup.items():
            p = os.path.join(root, "data", rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            if content is not None:
                Path(p).write_bytes(content)
            else:
                os.makedirs(p, exist_ok=True)
        os.makedirs(os.path.join(root, "data"), exist_ok=True)
        runs.append(Run(exe, root, args))
    return runs


def cleanup(*runs: Run) -> None:
    for run in runs:
        run.stop()
        shutil.rmtree(run.root, ignore_errors=True)


def digest(run: Run) -> bytes:
    c = Raw(run.port)
    try:
        return c.cmd("DEBUG", "DIGEST")
    finally:
        c.close()


def keyspace(run: Run) -> list[dict]:
    c = Raw(run.port)
    try:
        return [{k: v for k, v in e.items() if k != "encoding"} for e in server_keyspace(c)]
    finally:
        c.close()


def compare_started(ref: Run, ours: Run) -> None:
    assert ref.ready() and ours.ready()
    assert keyspace(ours) == keyspace(ref)
    assert digest(ours) == digest(ref)
    ref.stop()
    ours.stop()
    assert tree(ours.data) == tree(ref.data)
    assert aof_lines(ours.log()) == aof_lines(ref.log())


def _cases(rdb: bytes) -> dict[str, tuple[dict[str, bytes | None], tuple[str, ...]]]:
    half = encode("SET", "cut", "short")[:-4]
    return {
        "plain": ({"appendonly.aof": COMMANDS}, ()),
        "preamble-tail": ({"appendonly.aof": rdb + TAIL}, ()),
        "preamble-only": ({"appendonly.aof": rdb}, ()),
        "plain-aof-base-option": ({"appendonly.aof": COMMANDS}, ("--aof-use-rdb-preamble", "no")),
        "truncated": ({"appendonly.aof": COMMANDS + half}, ("--aof-load-truncated", "yes")),
        "preamble-truncated": ({"appendonly.aof": rdb + TAIL + half}, ()),
        "unfinished-multi": ({"appendonly.aof": COMMANDS + encode("MULTI") + encode("SET", "x", "1")}, ()),
        "empty": ({"appendonly.aof": b""}, ()),
        "custom-names": ({"old.aof": rdb + TAIL}, ("--appendfilename", "old.aof", "--appenddirname", "mydir")),
        "dir-without-manifest": ({"appendonly.aof": COMMANDS, AOFDIR: None}, ()),
        "interrupted-upgrade": (
            {"appendonly.aof": rdb + TAIL, AOFDIR + "/appendonly.aof.manifest": b"file appendonly.aof seq 1 type b\n"},
            (),
        ),
        "manifest-wins": (
            {
                "appendonly.aof": COMMANDS,
                AOFDIR + "/appendonly.aof.manifest": (
                    b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
                ),
                AOFDIR + "/appendonly.aof.1.base.rdb": rdb,
                AOFDIR + "/appendonly.aof.1.incr.aof": TAIL,
            },
            (),
        ),
        "manifest-same-name-with-incr": (
            {
                "appendonly.aof": rdb,
                AOFDIR + "/appendonly.aof.manifest": (
                    b"file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
                ),
                AOFDIR + "/appendonly.aof": COMMANDS,
                AOFDIR + "/appendonly.aof.1.incr.aof": TAIL,
            },
            (),
        ),
        "appendonly-no": ({"appendonly.aof": COMMANDS, "dump.rdb": rdb}, ("--appendonly", "no")),
    }


CASES = list(_cases(b"").keys())


@pytest.mark.parametrize("case", CASES)
def test_upgrade_like_redis(case, rdb_image):
    setup, args = _cases(rdb_image)[case]
    ref, ours = both(setup, *args)
    try:
        compare_started(ref, ours)
        if case not in ("appendonly-no", "manifest-wins", "manifest-same-name-with-incr"):
            # the upgrade happened: the old name is the base, seq 1, and the dir has no other base
            dirname = args[args.index("--appenddirname") + 1] if "--appenddirname" in args else AOFDIR
            fname = args[args.index("--appendfilename") + 1] if "--appendfilename" in args else "appendonly.aof"
            files = tree(ours.data)
            assert fname not in files
            assert files[f"{dirname}/{fname}.manifest"] == (
                f"file {fname} seq 1 type b\nfile {fname}.1.incr.aof seq 1 type i\n".encode()
            )
            msg = "Successfully migrated an old-style AOF file (%s) into the AOF directory (%s)." % (fname, dirname)
            assert msg in ours.log()
    finally:
        cleanup(ref, ours)


@pytest.mark.parametrize(
    "case",
    ["truncated-refused", "preamble-truncated-refused", "both-copies"],
)
def test_upgrade_failures_like_redis(case, rdb_image):
    """Start-up stops; the dirs are left as Redis leaves them (moved file and manifest, or untouched)."""
    half = encode("SET", "cut", "short")[:-4]
    setup, args = {
        "truncated-refused": ({"appendonly.aof": COMMANDS + half}, ("--aof-load-truncated", "no")),
        "preamble-truncated-refused": ({"appendonly.aof": rdb_image + TAIL + half}, ("--aof-load-truncated", "no")),
        # no manifest, and a file of the old name already inside the AOF dir: Redis asserts
        "both-copies": ({"appendonly.aof": COMMANDS, AOFDIR + "/appendonly.aof": TAIL}, ()),
    }[case]
    ref, ours = both(setup, *args)
    try:
        assert not ref.ready() and not ours.ready()
        assert ours.proc.returncode != 0 and ref.proc.returncode != 0
        assert tree(ours.data) == tree(ref.data)
        if case != "both-copies":
            assert aof_lines(ours.log()) == aof_lines(ref.log())
    finally:
        cleanup(ref, ours)


def test_rewrite_and_restart_after_upgrade(rdb_image):
    """After the upgrade: writes, BGREWRITEAOF (the old base goes, seq 2 comes), restart; all as Redis."""
    ref, ours = both({"appendonly.aof": rdb_image + TAIL})
    try:
        assert ref.ready() and ours.ready()
        for run in (ref, ours):
            c = Raw(run.port)
            c.cmd("SET", "after", "upgrade")
            c.cmd("RPUSH", "list", "more")
            c.close()
        ref.stop()
        ours.stop()
        assert tree(ours.data) == tree(ref.data)  # the writes went to appendonly.aof.1.incr.aof
        # restart on the upgraded dirs: the old-style base is read again as a preamble with a tail
        for run in (ref, ours):
            os.unlink(os.path.join(run.root, "log"))
        ref2 = Run(REDIS, ref.root, ())
        ours2 = Run(RESPDB, ours.root, ())
        try:
            assert ref2.ready() and ours2.ready()
            assert digest(ours2) == digest(ref2)
            for run in (ref2, ours2):
                c = Raw(run.port)
                assert c.cmd("BGREWRITEAOF") == b"Background append only file rewriting started"
                deadline = time.monotonic() + 10
                while b"aof_rewrites:1" not in c.cmd("INFO", "persistence") or b"aof_rewrite_in_progress:1" in c.cmd(
                    "INFO", "persistence"
                ):
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
                c.close()
            # Redis removes history files in a background thread: give it a moment
            deadline = time.monotonic() + 5
            while os.path.exists(os.path.join(ref2.data, AOFDIR, "appendonly.aof")):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert digest(ours2) == digest(ref2)
            ref_log, ours_log = ref2.log(), ours2.log()
        finally:
            ref2.stop()
            ours2.stop()
        a, b = tree(ref2.data), tree(ours2.data)
        assert sorted(a) == sorted(b)
        assert sorted(b) == [AOFDIR, f"{AOFDIR}/appendonly.aof.2.base.rdb", f"{AOFDIR}/appendonly.aof.2.incr.aof",
                             f"{AOFDIR}/appendonly.aof.manifest"]  # fmt: skip
        assert a[f"{AOFDIR}/appendonly.aof.manifest"] == b[f"{AOFDIR}/appendonly.aof.manifest"]
        assert a[f"{AOFDIR}/appendonly.aof.2.incr.aof"] == b[f"{AOFDIR}/appendonly.aof.2.incr.aof"]
        startup = [x for x in aof_lines(ours_log) if "rewrit" not in x.lower() and "history" not in x]
        assert startup == [x for x in aof_lines(ref_log) if "rewrit" not in x.lower() and "history" not in x]
        assert "* Reading RDB preamble from AOF file..." in startup
        assert "* Reading the remaining AOF tail..." in startup
    finally:
        cleanup(ref, ours)


def test_new_style_base_has_no_tail_line(rdb_image):
    """A base with a multi-part name is announced as an RDB base file, without the tail line."""
    setup = {
        AOFDIR + "/appendonly.aof.manifest": b"file appendonly.aof.1.base.rdb seq 1 type b\n",
        AOFDIR + "/appendonly.aof.1.base.rdb": rdb_image + TAIL,
    }
    ref, ours = both(setup)
    try:
        compare_started(ref, ours)
        lines = aof_lines(ours.log())
        assert "* Reading RDB base file on AOF loading..." in lines
        assert "* Reading the remaining AOF tail..." not in lines
    finally:
        cleanup(ref, ours)


# -- INFO loading_rdb_used_mem ------------------------------------------------------------


def _used_mem_aux(image: bytes) -> int:
    from respdb.persistence.snapshot import rdb_used_mem

    return rdb_used_mem(image)


def test_rdb_used_mem_reader(rdb_image):
    m = re.search(rb"used-mem", rdb_image)
    assert m is not None
    assert _used_mem_aux(rdb_image) > 100_000  # Redis's used_memory at SAVE time
    assert _used_mem_aux(b"REDIS0010") == 0
    assert _used_mem_aux(COMMANDS) == 0


def _loading_figure(port: int, timeout: float = 30.0) -> int | None:
    """The first non-zero loading_rdb_used_mem INFO shows while loading:1 (None if the load ends first)."""
    deadline = time.monotonic() + timeout
    was_loading = False
    while time.monotonic() < deadline:
        try:
            c = Raw(port, timeout=30)
        except OSError:
            time.sleep(0.01)
            continue
        try:
            while time.monotonic() < deadline:
                text = c.cmd("INFO", "persistence").decode()
                if "\r\nloading:1" not in text:
                    if was_loading:
                        return None
                    time.sleep(0.001)
                    continue
                was_loading = True
                m = re.search(r"loading_rdb_used_mem:(\d+)", text)
                assert m is not None
                if int(m.group(1)):
                    return int(m.group(1))
        finally:
            c.close()
    raise AssertionError("no answer")


@pytest.fixture(scope="module")
def big_rdb():
    """A dump.rdb of real Redis big enough for a load that INFO can watch (200k keys)."""
    srv = start_redis()
    try:
        c = Raw(srv.port)
        c.cmd("DEBUG", "POPULATE", "200000", "key", "50")
        assert c.cmd("SAVE") == b"OK"
        c.close()
        return (Path(srv.workdir) / "dump.rdb").read_bytes()
    finally:
        srv.stop()
        shutil.rmtree(srv.workdir, ignore_errors=True)


def test_loading_rdb_used_mem_while_loading_dump(big_rdb):
    d = tempfile.mkdtemp(prefix="aofup-mem-")
    Path(d, "dump.rdb").write_bytes(big_rdb)
    s = start_respdb("--dir", d)
    try:
        seen = _loading_figure(s.port)
        assert seen == _used_mem_aux(big_rdb)
    finally:
        s.stop()
        shutil.rmtree(d, ignore_errors=True)
        shutil.rmtree(os.path.dirname(s.log), ignore_errors=True)


def test_loading_rdb_used_mem_while_loading_aof(big_rdb):
    """An old-style AOF: an RDB preamble then a long tail; Redis (slowed down) shows the same figure."""
    tail = b"".join(encode("SET", "t%d" % i, "v") for i in range(100_000))
    seen = {}
    for exe, extra in ((REDIS, ("--key-load-delay", "-10")), (RESPDB, ())):
        root = tempfile.mkdtemp(prefix="aofup-mem-")
        os.makedirs(os.path.join(root, "data"))
        Path(root, "data", "appendonly.aof").write_bytes(big_rdb + tail)
        run = Run(exe, root, extra)
        try:
            seen[exe[0]] = _loading_figure(run.port)
        finally:
            cleanup(run)
    assert seen[REDIS[0]] == seen[RESPDB[0]] == _used_mem_aux(big_rdb)
