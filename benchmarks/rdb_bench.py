"""RDB save and load time for a large keyspace: respdb against a real redis-server, side by side.

    .venv/bin/python benchmarks/rdb_bench.py [--keys 1000000] [--dataset strings|mixed] [--pure]

Both servers get the same keyspace: `strings` is what DEBUG POPULATE makes (key:N -> value:N),
`mixed` puts 40% strings and 15% each of small lists, hashes, sets (intsets) and sorted sets.

- Redis: a redis-server on a Unix socket in a temp directory is filled with pipelined commands;
  its save time is the wall time of SAVE, its load time the "DB loaded from disk" figure it
  logs when restarted on that file.
- respdb: the same commands run through an in-process engine (the server's own code path); the
  save time is the wall time of SAVE (temp file, fsync, rename), the load time that of parsing
  the file and installing the keyspace, as at start-up. respdb also loads Redis's file and Redis
  loads respdb's (their figures are printed too, and the keyspaces checked to be the same size).

`--pure` turns off the optional C helpers (the `lzf` and `anycrc` packages) to show the cost of
the pure-Python LZF and CRC-64. The redis-server is stopped by pid when the run ends.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hiredis  # noqa: E402

from respdb.embedded import Embedded  # noqa: E402
from respdb.engine import Engine  # noqa: E402
from respdb.persistence import crc64, lzf  # noqa: E402


def encode(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(out)


def dataset(n: int, kind: str):
    """Commands (lists of bytes) building the keyspace."""
    if kind == "strings":
        for i in range(n):
            yield [b"SET", b"key:%d" % i, b"value:%d" % i]
        return
    for i in range(n):
        r = i % 20
        if r < 8:
            yield [b"SET", b"str:%d" % i, b"value:%d" % i]
        elif r < 11:
            yield [b"RPUSH", b"list:%d" % i, b"a", b"b%d" % i, b"c", b"1", b"2"]
        elif r < 14:
            yield [b"HSET", b"hash:%d" % i, b"f1", b"v%d" % i, b"f2", b"x", b"f3", b"7"]
        elif r < 17:
            yield [b"SADD", b"set:%d" % i, b"1", b"2", b"%d" % i, b"-4", b"1000"]
        else:
            yield [b"ZADD", b"zset:%d" % i, b"1", b"a", b"2.5", b"b", b"%d" % i, b"c"]


class Redis:
    def __init__(self, workdir: str) -> None:
        self.dir = workdir
        self.sock_path = os.path.join(workdir, "redis.sock")
        self.log = os.path.join(workdir, "redis.log")
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        """Start on the directory's dump.rdb (if any); returns the load time Redis logs."""
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        with open(self.log, "w") as lf:
            self.proc = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    "0",
                    "--unixsocket",
                    self.sock_path,
                    "--dir",
                    self.dir,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--enable-debug-command",
                    "yes",
                ],  # fmt: skip
                stdout=lf,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 600
        while True:
            try:
                if self.cmd(b"PING") == b"PONG":
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start: " + Path(self.log).read_text()[-500:])
            time.sleep(0.05)
        m = re.search(r"DB loaded from disk: ([\d.]+) seconds", Path(self.log).read_text())
        return float(m.group(1)) if m else 0.0

    def cmd(self, *args: bytes):
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(600)
            s.connect(self.sock_path)
            s.sendall(encode(*args))
            r = hiredis.Reader()
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                r.feed(chunk)
                reply = r.gets()
                if reply is not False:
                    return reply

    def fill(self, commands) -> None:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(600)
            s.connect(self.sock_path)
            r = hiredis.Reader()
            batch = []
            for c in commands:
                batch.append(encode(*c))
                if len(batch) == 5000:
                    self._flush(s, r, batch)
                    batch = []
            if batch:
                self._flush(s, r, batch)

    @staticmethod
    def _flush(s, r, batch) -> None:
        s.sendall(b"".join(batch))
        got = 0
        while got < len(batch):
            reply = r.gets()
            if reply is False:
                r.feed(s.recv(1 << 20))
                continue
            if isinstance(reply, hiredis.ReplyError):
                raise RuntimeError(str(reply))
            got += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def respdb_engine(workdir: str) -> Engine:
    e = Engine()
    e.logfile = open(os.path.join(workdir, "respdb.log"), "w")  # noqa: SIM115
    e.config.values["dir"] = workdir
    return e


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--dataset", choices=["strings", "mixed"], default="strings")
    ap.add_argument("--pure", action="store_true", help="pure-Python LZF and CRC-64")
    args = ap.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server not found", file=sys.stderr)
        return 2
    if args.pure:
        lzf._clzf = None
        crc64._fast = None
    print(f"{args.keys} keys, dataset {args.dataset}, C helpers {'off' if args.pure else 'on'}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="rdbbench-") as tmp:
        rdir = os.path.join(tmp, "redis")
        pdir = os.path.join(tmp, "respdb")
        os.makedirs(rdir)
        os.makedirs(pdir)
        redis = Redis(rdir)
        try:
            redis.start()
            redis.fill(dataset(args.keys, args.dataset))
            t = time.perf_counter()
            assert redis.cmd(b"SAVE") == b"OK"
            redis_save = time.perf_counter() - t
            rsize = os.path.getsize(os.path.join(rdir, "dump.rdb"))
            redis.stop()
            redis_load = redis.start()

            e = respdb_engine(pdir)
            db = Embedded(e)
            for c in dataset(args.keys, args.dataset):
                db.engine.execute(db.client, c)
            t = time.perf_counter()
            assert db.execute("SAVE") == b"OK"
            respdb_save = time.perf_counter() - t
            psize = os.path.getsize(os.path.join(pdir, "dump.rdb"))
            del db, e

            fresh = respdb_engine(pdir)
            t = time.perf_counter()
            res = fresh.persistence.load_file(os.path.join(pdir, "dump.rdb"))
            respdb_load = time.perf_counter() - t
            assert res.keys_loaded == args.keys
            del fresh, res

            cross = respdb_engine(pdir)
            t = time.perf_counter()
            res = cross.persistence.load_file(os.path.join(rdir, "dump.rdb"))
            respdb_load_redis_file = time.perf_counter() - t
            assert res.keys_loaded == args.keys
            del cross, res

            redis.stop()
            shutil.copyfile(os.path.join(pdir, "dump.rdb"), os.path.join(rdir, "dump.rdb"))
            redis_load_respdb_file = redis.start()
            assert redis.cmd(b"DBSIZE") == args.keys
        finally:
            redis.stop()
    rows = [
        ("save (SAVE)", redis_save, respdb_save),
        ("load at start-up", redis_load, respdb_load),
        ("load the other's file", redis_load_respdb_file, respdb_load_redis_file),
    ]
    print(f"{'':24}{'redis':>10}{'respdb':>10}{'ratio':>8}")
    for name, r, p in rows:
        print(f"{name:24}{r:9.2f}s{p:9.2f}s{p / r if r else float('inf'):7.1f}x")
    print(f"{'file size':24}{rsize / 1e6:8.1f}MB{psize / 1e6:8.1f}MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
