"""EVALSHA of a cached script against the same commands sent directly.

The script does what a client would otherwise send itself: SET key value, then GET key. One
client on a raw socket, requests pre-encoded, one request in flight at a time:

  evalsha   EVALSHA <sha> 1 key value           (one round trip, two commands inside)
  direct    SET key value, then GET key          (two round trips)
  pipelined SET key value + GET key in one write (one round trip, two replies)

Each variant runs in alternating rounds; the figure is the median time per iteration.
`--redis` runs the same against a real redis-server for reference.

    .venv/bin/python benchmarks/scripting.py              # respdb
    .venv/bin/python benchmarks/scripting.py --redis      # respdb and redis-server
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SCRIPT = b"redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])"
SHA = hashlib.sha1(SCRIPT).hexdigest().encode()


def encode(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="bench-scripting-")
    if kind == "redis":
        exe = shutil.which("redis-server")
        if exe is None:
            sys.exit("redis-server not found")
        cmd = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir]
    else:
        cmd = [sys.executable, "-m", "respdb", "--port", str(port), "--bind", "127.0.0.1", "--dir", workdir]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("%s did not start" % kind)


class Conn:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def roundtrip(self, data: bytes, expect: bytes) -> None:
        """Send `data` and read until the reply bytes equal `expect` in length."""
        self.sock.sendall(data)
        got = b""
        while len(got) < len(expect):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            got += chunk
        if got != expect:
            raise AssertionError("unexpected reply %r (wanted %r)" % (got, expect))


def measure(port: int, iterations: int, rounds: int) -> dict[str, float]:
    c = Conn(port)
    c.roundtrip(encode(b"SCRIPT", b"LOAD", SCRIPT), b"$40\r\n" + SHA + b"\r\n")
    key, value = b"bench:key", b"v" * 16
    bulk = b"$%d\r\n%b\r\n" % (len(value), value)
    evalsha = encode(b"EVALSHA", SHA, b"1", key, value)
    set_cmd, get_cmd = encode(b"SET", key, value), encode(b"GET", key)

    def run_evalsha() -> None:
        for _ in range(iterations):
            c.roundtrip(evalsha, bulk)

    def run_direct() -> None:
        for _ in range(iterations):
            c.roundtrip(set_cmd, b"+OK\r\n")
            c.roundtrip(get_cmd, bulk)

    def run_pipelined() -> None:
        both, reply = set_cmd + get_cmd, b"+OK\r\n" + bulk
        for _ in range(iterations):
            c.roundtrip(both, reply)

    variants = {"evalsha": run_evalsha, "direct": run_direct, "pipelined": run_pipelined}
    for f in variants.values():  # warm up
        f()
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, f in variants.items():
            t0 = time.perf_counter()
            f()
            times[name].append((time.perf_counter() - t0) / iterations * 1e6)
    return {name: statistics.median(v) for name, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--redis", action="store_true", help="also measure a real redis-server")
    args = ap.parse_args()
    kinds = ["respdb"] + (["redis"] if args.redis else [])
    print("%-8s %12s %12s %14s %18s %20s" % ("server", "evalsha us", "direct us", "pipelined us",
                                            "evalsha/direct", "evalsha/pipelined"))  # fmt: skip
    for kind in kinds:
        proc, port = start(kind)
        try:
            r = measure(port, args.iterations, args.rounds)
        finally:
            proc.terminate()
            proc.wait()
        print(
            "%-8s %12.1f %12.1f %14.1f %18.2f %20.2f"
            % (kind, r["evalsha"], r["direct"], r["pipelined"], r["evalsha"] / r["direct"],
               r["evalsha"] / r["pipelined"])
        )  # fmt: skip
    print("(one client, one request in flight; %d iterations x %d rounds, medians; pid %d)"
          % (args.iterations, args.rounds, os.getpid()))  # fmt: skip


if __name__ == "__main__":
    main()
