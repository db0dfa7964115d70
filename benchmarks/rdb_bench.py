"""RDB save and load time for a large keyspace: respdb against a real redis-server, side by side.

    .venv/bin/python benchmarks/rdb_bench.py [--keys 1000000] [--dataset strings|mixed] [--pure]

Both servers get the same keyspace: `strings` is what DEBUG POPULATE makes (key:N -> value:N),
`mixed` puts 40% strings and 15% each of small lists, hashes, sets (intsets) and sorted sets.

- Redis: a redis-server on a Unix socket in a temp directory is filled with pipelined commands;
  its save time is the wall time of SAVE, its load time the "DB loaded from disk" figure it
  logs when restarted on that file (and when started on respdb's file).
- respdb: the same commands run through an in-process engine (the server's own code path); the
  save time is the wall time of SAVE (temp file, fsync, rename), the load time that of parsing
  the file and installing the keyspace, as at start-up. respdb also loads Redis's file and Redis
  loads respdb's (their figures are printed too, and the key counts checked).

Each figure is the median of `--rounds` measurements taken in turns, since a shared machine's
load makes single runs unreliable.

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


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--dataset", choices=["strings", "mixed"], default="strings")
    ap.add_argument("--rounds", type=int, default=3, help="measurements per figure (the median is shown)")
    ap.add_argument("--pure", action="store_true", help="pure-Python LZF and CRC-64")
    args = ap.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server not found", file=sys.stderr)
        return 2
    if args.pure:
        lzf._clzf = None
        crc64._fast = None
    print(f"{args.keys} keys, dataset {args.dataset}, C helpers {'off' if args.pure else 'on'}, "
          f"median of {args.rounds}")  # fmt: skip
    t = {k: [] for k in ("rs", "ps", "rl", "pl", "rx", "px")}
    with tempfile.TemporaryDirectory(prefix="rdbbench-") as tmp:
        rdir = os.path.join(tmp, "redis")
        pdir = os.path.join(tmp, "respdb")
        xdir = os.path.join(tmp, "cross")
        for d in (rdir, pdir, xdir):
            os.makedirs(d)
        redis = Redis(rdir)
        cross = Redis(xdir)
        e = respdb_engine(pdir)
        db = Embedded(e)
        try:
            redis.start()
            redis.fill(dataset(args.keys, args.dataset))
            for c in dataset(args.keys, args.dataset):
                e.execute(db.client, c)
            for _ in range(args.rounds):
                # saves, taking turns
                t0 = time.perf_counter()
                assert redis.cmd(b"SAVE") == b"OK"
                t["rs"].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                assert db.execute("SAVE") == b"OK"
                t["ps"].append(time.perf_counter() - t0)
                # loads of each one's own file, then of the other's
                rfile = os.path.join(rdir, "dump.rdb")
                pfile = os.path.join(pdir, "dump.rdb")
                redis.stop()
                t["rl"].append(redis.start())
                fresh = respdb_engine(pdir)
                t0 = time.perf_counter()
                assert fresh.persistence.load_file(pfile).keys_loaded == args.keys
                t["pl"].append(time.perf_counter() - t0)
                del fresh
                other = respdb_engine(pdir)
                t0 = time.perf_counter()
                assert other.persistence.load_file(rfile).keys_loaded == args.keys
                t["px"].append(time.perf_counter() - t0)
                del other
                shutil.copyfile(pfile, os.path.join(xdir, "dump.rdb"))
                t["rx"].append(cross.start())
                assert cross.cmd(b"DBSIZE") == args.keys
                cross.stop()
            rsize = os.path.getsize(os.path.join(rdir, "dump.rdb"))
            psize = os.path.getsize(os.path.join(pdir, "dump.rdb"))
        finally:
            redis.stop()
            cross.stop()
    rows = [
        ("save (SAVE)", median(t["rs"]), median(t["ps"])),
        ("load own file", median(t["rl"]), median(t["pl"])),
        ("load the other's file", median(t["rx"]), median(t["px"])),
    ]
    print(f"{'':24}{'redis':>10}{'respdb':>10}{'ratio':>8}")
    for name, r, p in rows:
        print(f"{name:24}{r:9.2f}s{p:9.2f}s{p / r if r else float('inf'):7.1f}x")
    print(f"{'file size':24}{rsize / 1e6:8.1f}MB{psize / 1e6:8.1f}MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
