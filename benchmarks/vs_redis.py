"""Side-by-side benchmark of respdb against a real redis-server.

Throughput: `redis-benchmark` runs against both servers in turn (respdb, redis, respdb, redis, ...)
for every test and pipeline depth; each server's figure is the median of its rounds.
With --floor, benchmarks/minimal_server.py (the least a Python RESP server can do) takes its turn
as a third server (respdb, redis, floor, ...), for the ratio floor/redis next to respdb/redis.
Memory: fresh servers are loaded with exactly N distinct keys (16-byte keys, 32-byte values) by a
raw-socket loader, and the VmRSS growth is divided by N.

    .venv/bin/python benchmarks/vs_redis.py            # full run, a few minutes on 2 cores
    .venv/bin/python benchmarks/vs_redis.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

HOST = "127.0.0.1"
CLIENTS = 50
# -r for the random-key tests: 1M random keys, so lookups miss the CPU caches as on a real store.
# --keyspace 0 runs redis-benchmark's default instead (no -r: every request names one key).
KEYSPACE = 1_000_000
DEFAULT_TESTS = ["set", "get", "incr", "mset"]
DEFAULT_PIPELINES = [1, 16]
# Requests per run as (without pipelining, with pipelining), sized so that one run of the slower
# server takes a few seconds and the whole default run stays within about 2-4 minutes on 2 cores.
REQUESTS = {
    "set": (400_000, 1_000_000),
    "get": (400_000, 1_000_000),
    "incr": (400_000, 1_000_000),
    "mset": (150_000, 300_000),
}
OTHER_REQUESTS = (100_000, 300_000)  # tests added with --extra / --command
QUICK_SCALE = 0.1
MEMORY_KEYS = 1_000_000
QUICK_MEMORY_KEYS = 100_000
RUN_TIMEOUT = 600.0
FLOOR_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "minimal_server.py")


class BenchError(Exception):
    """A failure worth a one-line message rather than a traceback."""


class CaseFailed(BenchError):
    """One redis-benchmark run failed (e.g. a command respdb lacks); the other cases go on."""


# ---------------------------------------------------------------------------------------------
# servers


def free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in taken and port != 6379:
            taken.add(port)
            return port


@dataclass
class Server:
    name: str
    cmd: list[str]
    port: int
    workdir: str
    proc: subprocess.Popen | None = None
    log_path: str = ""

    def start(self) -> None:
        self.log_path = os.path.join(self.workdir, f"{self.name}.log")
        with open(self.log_path, "w") as log:
            # A session of its own: a Ctrl-C in the terminal reaches only us, and we stop the server.
            self.proc = subprocess.Popen(
                self.cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True
            )
        self._wait_ready()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with code {self.proc.returncode} at start\n{self.log_tail()}")
            try:
                if command(self.port, b"PING") == b"+PONG\r\n":
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise BenchError(
            f"{self.name} did not answer PING on port {self.port} within {timeout:.0f}s\n{self.log_tail()}"
        )

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            raise BenchError(f"{self.name} is no longer running (exit code {code})\n{self.log_tail()}")

    def rss(self) -> int:
        """Resident set size in bytes, from /proc/<pid>/status."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise BenchError(f"no VmRSS line for pid {self.pid}")

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class Servers:
    """Owns every server process started by this run; stop_all() is safe to call repeatedly."""

    def __init__(self, appendfsync: str = "") -> None:
        self.started: list[Server] = []
        self.ports: set[int] = set()
        self.workdirs: list[str] = []
        # persistence for both servers alike: off, or AOF with this fsync policy
        self.persistence = ["--appendonly", "yes", "--appendfsync", appendfsync] if appendfsync else []

    def _workdir(self, prefix: str) -> str:
        d = tempfile.mkdtemp(prefix=prefix)
        self.workdirs.append(d)
        return d

    def respdb(self) -> Server:
        port = free_port(self.ports)
        cmd = [sys.executable, "-m", "respdb", "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        return self._start(Server("respdb", cmd, port, self._workdir("respdb-bench-")))

    def redis(self, exe: str) -> Server:
        port = free_port(self.ports)
        cmd = [exe, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        return self._start(Server("redis", cmd, port, self._workdir("redis-bench-")))

    def floor(self) -> Server:
        """minimal_server.py takes only a port: no --dir, and no persistence whatever --appendfsync says."""
        port = free_port(self.ports)
        server = Server("floor", [sys.executable, FLOOR_SCRIPT, str(port)], port, self._workdir("floor-bench-"))
        self.started.append(server)
        server.start()
        return server

    def _start(self, server: Server) -> Server:
        server.cmd += ["--dir", server.workdir] + self.persistence
        self.started.append(server)
        server.start()
        return server

    def stop(self, server: Server) -> None:
        server.stop()

    def stop_all(self) -> None:
        for server in self.started:
            try:
                server.stop()
            except Exception as err:  # keep stopping the others
                print(f"warning: could not stop {server.name} (pid {server.pid}): {err}", file=sys.stderr)
        self.started.clear()
        for d in self.workdirs:
            shutil.rmtree(d, ignore_errors=True)
        self.workdirs.clear()


# ---------------------------------------------------------------------------------------------
# a tiny RESP client, enough for PING / FLUSHALL / DBSIZE / INFO and the loader


def encode(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(out)


def read_reply(sock: socket.socket, buf: bytearray) -> bytes:
    """One simple, integer, error or bulk reply (all these commands return one of those)."""
    while b"\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    end = buf.index(b"\r\n") + 2
    if buf[:1] == b"$":
        n = int(buf[1 : end - 2])
        if n >= 0:
            end += n + 2
            while len(buf) < end:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                buf += chunk
    reply = bytes(buf[:end])
    del buf[:end]
    return reply


def command(port: int, *args: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(encode(*args))
        return read_reply(sock, bytearray())


def load_pipelined(
    port: int, nkeys: int, make: Callable[[int], list[bytes]], expect: bytes, window: int = 2000
) -> None:
    """Send `make(k)` for k in range(nkeys), `window` commands in flight, each reply == expect."""
    with socket.create_connection((HOST, port), timeout=120) as sock:
        buf = bytearray()
        i = 0
        while i < nkeys:
            hi = min(i + window, nkeys)
            sock.sendall(b"".join(encode(*make(k)) for k in range(i, hi)))
            for _ in range(i, hi):
                reply = read_reply(sock, buf)
                if reply != expect:
                    raise RuntimeError(f"load failed: {reply[:200]!r}")
            i = hi


def bulk_text(reply: bytes) -> str:
    return reply.split(b"\r\n", 1)[1].rsplit(b"\r\n", 1)[0].decode(errors="replace")


def integer(reply: bytes) -> int:
    if not reply.startswith(b":"):
        raise BenchError(f"expected an integer reply, got {reply[:200]!r}")
    return int(reply[1:-2])


# ---------------------------------------------------------------------------------------------
# throughput


@dataclass
class Case:
    label: str  # "set", "lpush" or a whole command line
    pipeline: int
    requests: int
    rps: dict[str, list[float]] = field(default_factory=lambda: {"respdb": [], "redis": [], "floor": []})
    p50: dict[str, list[float]] = field(default_factory=lambda: {"respdb": [], "redis": [], "floor": []})
    row_name: str = ""  # the test name redis-benchmark printed
    error: str = ""

    def median(self, who: str) -> float:
        return statistics.median(self.rps[who]) if self.rps[who] else float("nan")

    def ratio(self, who: str) -> float | None:
        """who/redis of the medians; None for a failed case."""
        b = self.median("redis")
        return self.median(who) / b if not self.error and b else None


def benchmark_argv(exe: str, port: int, case: Case, is_command: bool, keyspace: int = KEYSPACE) -> list[str]:
    argv = [exe, "-h", HOST, "-p", str(port), "-c", str(CLIENTS), "-n", str(case.requests)]
    if keyspace:
        argv += ["-r", str(keyspace)]
    argv += ["-P", str(case.pipeline), "--csv"]
    if is_command:
        return argv + case.label.split()
    return argv + ["-t", case.label]


def parse_csv(text: str) -> list[dict[str, str]]:
    """The data rows of redis-benchmark --csv; setup rows (the LPUSH before LRANGE) are skipped."""
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r.get("test") and r.get("rps")]
    return [r for r in rows if "needed to benchmark" not in r["test"]]


def run_benchmark(exe: str, server: Server, case: Case, is_command: bool, keyspace: int = KEYSPACE) -> None:
    argv = benchmark_argv(exe, server.port, case, is_command, keyspace)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise CaseFailed(f"redis-benchmark against {server.name} timed out: {' '.join(argv)}")
    server.check_alive()
    rows = parse_csv(done.stdout)
    if done.returncode != 0 or len(rows) != 1:
        raise CaseFailed(
            f"redis-benchmark against {server.name} gave {len(rows)} result rows (exit {done.returncode}); "
            f"expected one\ncommand: {' '.join(argv)}\nstdout: {done.stdout[-800:]}\nstderr: {done.stderr[-800:]}"
        )
    row = rows[0]
    case.row_name = row["test"]
    case.rps[server.name].append(float(row["rps"]))
    case.p50[server.name].append(float(row.get("p50_latency_ms") or "nan"))


# ---------------------------------------------------------------------------------------------
# memory per key


KEY_FMT = b"key:%012d"  # 16 bytes for i < 10**12
VALUE_FMT = b"val:%028d"  # 32 bytes
BATCH = 1000  # keys per MSET
WINDOW = 16  # MSETs in flight before reading their replies


def load_keys(port: int, n: int) -> None:
    """Write keys 0..n-1 with pipelined MSETs and check every reply is +OK."""
    with socket.create_connection((HOST, port), timeout=120) as sock:
        buf = bytearray()
        i = 0
        while i < n:
            batch = []
            for _ in range(WINDOW):
                if i >= n:
                    break
                hi = min(i + BATCH, n)
                args = [b"MSET"]
                for k in range(i, hi):
                    args += (KEY_FMT % k, VALUE_FMT % k)
                batch.append(encode(*args))
                i = hi
            sock.sendall(b"".join(batch))
            for _ in batch:
                reply = read_reply(sock, buf)
                if reply != b"+OK\r\n":
                    raise BenchError(f"MSET failed during loading: {reply[:200]!r}")


def settle_rss(server: Server) -> int:
    time.sleep(0.5)
    return server.rss()


def measure_memory(servers: Servers, redis_exe: str, nkeys: int) -> dict[str, dict[str, float]]:
    assert len(KEY_FMT % (nkeys - 1)) == 16 and len(VALUE_FMT % (nkeys - 1)) == 32
    out: dict[str, dict[str, float]] = {}
    for who in ("respdb", "redis"):
        server = servers.respdb() if who == "respdb" else servers.redis(redis_exe)
        try:
            before = settle_rss(server)
            t0 = time.monotonic()
            load_keys(server.port, nkeys)
            load_s = time.monotonic() - t0
            size = integer(command(server.port, b"DBSIZE"))
            if size != nkeys:
                raise BenchError(f"{who}: DBSIZE is {size} after loading, expected {nkeys}")
            after = settle_rss(server)
        finally:
            servers.stop(server)
        out[who] = {
            "keys": nkeys,
            "rss_before": before,
            "rss_after": after,
            "bytes_per_key": (after - before) / nkeys,
            "load_seconds": load_s,
        }
        log(f"memory {who}: {nkeys} keys loaded in {load_s:.1f}s, RSS {before / 2**20:.1f} -> {after / 2**20:.1f} MiB")
    return out


# ---------------------------------------------------------------------------------------------
# driver


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def split_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark respdb against a real redis-server with redis-benchmark.")
    p.add_argument("--quick", action="store_true", help="smoke run: small counts, 1 round, 100k keys for memory")
    p.add_argument("--rounds", type=int, help="rounds per server and case; the median is reported (default 3)")
    p.add_argument("--tests", default=",".join(DEFAULT_TESTS), help="redis-benchmark -t tests (default %(default)s)")
    p.add_argument(
        "--extra",
        default="",
        help="more redis-benchmark -t tests appended to --tests, e.g. 'lpush,sadd,lrange_100'",
    )
    p.add_argument(
        "--command",
        action="append",
        default=[],
        metavar="CMDLINE",
        help="a literal command line for redis-benchmark (repeatable), e.g. 'ZADD z __rand_int__ m:__rand_int__'",
    )
    p.add_argument("--pipeline", default=",".join(map(str, DEFAULT_PIPELINES)), help="pipeline depths (default 1,16)")
    p.add_argument(
        "--keyspace",
        type=int,
        default=KEYSPACE,
        help="redis-benchmark -r: random keys drawn from this many (default %(default)s); "
        "0 leaves -r out, redis-benchmark's default of one key for every request",
    )
    p.add_argument("--requests", type=int, help="requests per run for every case (overrides the per-test defaults)")
    p.add_argument("--no-memory", action="store_true", help="skip the memory-per-key measurement")
    p.add_argument("--memory-keys", type=int, help=f"keys for the memory measurement (default {MEMORY_KEYS})")
    p.add_argument("--json", metavar="FILE", help="also write all results (every round) to FILE as JSON")
    p.add_argument(
        "--appendfsync",
        choices=["always", "everysec", "no"],
        help="run both servers with the AOF on (appendonly yes) and this fsync policy",
    )
    p.add_argument(
        "--floor",
        action="store_true",
        help="also run every case against benchmarks/minimal_server.py (the floor) and report floor/redis",
    )
    args = p.parse_args(argv)
    args.rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    try:
        args.pipelines = [int(x) for x in split_list(args.pipeline)]
    except ValueError:
        p.error("--pipeline takes comma-separated integers, e.g. 1,16")
    if not args.pipelines or min(args.pipelines) < 1:
        p.error("--pipeline needs at least one depth >= 1")
    args.test_list = [t.lower() for t in split_list(args.tests) + split_list(args.extra)]
    if args.memory_keys is None:
        args.memory_keys = QUICK_MEMORY_KEYS if args.quick else MEMORY_KEYS
    if not 0 < args.memory_keys < 10**12:
        p.error("--memory-keys out of range")
    return args


def requests_for(label: str, pipeline: int, args: argparse.Namespace) -> int:
    if args.requests:
        return args.requests
    plain, piped = REQUESTS.get(label, OTHER_REQUESTS)
    n = plain if pipeline == 1 else piped
    if args.quick:
        n = int(n * QUICK_SCALE)
    return max(n, CLIENTS * pipeline * 4)


def version_of(exe: str) -> str:
    try:
        return subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def fmt_rate(x: float) -> str:
    return "-" if math.isnan(x) else f"{x:,.0f}"


def print_table(
    cases: list[Case],
    memory: dict[str, dict[str, float]] | None,
    rounds: int,
    floor: bool = False,
    keyspace: int = KEYSPACE,
) -> None:
    headers = ("test", "pipeline", "respdb ops/s", "redis ops/s", "respdb/redis")
    if floor:
        headers += ("floor ops/s", "floor/redis")
    rows = []
    for c in cases:
        a, b = c.median("respdb"), c.median("redis")
        if c.error:
            rows.append((c.row_name or c.label, str(c.pipeline), "error", "error", "-") + ("error", "-") * floor)
            continue
        row = (c.row_name or c.label, str(c.pipeline), fmt_rate(a), fmt_rate(b), f"{a / b:.2f}" if b else "-")
        if floor:
            f = c.median("floor")
            row += (fmt_rate(f), f"{f / b:.2f}" if b else "-")
        rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cells[0].ljust(widths[0]) if i == 0 else cells[i].rjust(widths[i]) for i in range(len(cells)))

    print()
    keys = f"random keys from {keyspace:,} (-r {keyspace})" if keyspace else "one key (no -r)"
    print(f"Throughput: redis-benchmark, {CLIENTS} clients, {keys}, median of {rounds} round(s) per server")
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    for who in ("respdb", "floor") if floor else ("respdb",):
        ratios = [x for c in cases if (x := c.ratio(who)) is not None]
        if ratios:
            gmean = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
            print(f"geometric mean of {who}/redis: {gmean:.2f}")
    if floor:
        print("floor: benchmarks/minimal_server.py (uvloop + hiredis + dict, one write per read)")
    if memory:
        m, r = memory["respdb"], memory["redis"]
        print()
        print(f"Memory: {int(m['keys']):,} keys (16-byte keys, 32-byte values), VmRSS growth per key")
        print(f"  respdb  {m['bytes_per_key']:8.1f} bytes/key  (RSS {m['rss_before'] / 2**20:.1f} -> {m['rss_after'] / 2**20:.1f} MiB)")  # fmt: skip
        print(f"  redis   {r['bytes_per_key']:8.1f} bytes/key  (RSS {r['rss_before'] / 2**20:.1f} -> {r['rss_after'] / 2**20:.1f} MiB)")  # fmt: skip
        print(f"  ratio respdb/redis: {m['bytes_per_key'] / r['bytes_per_key']:.2f}")


def run(args: argparse.Namespace, servers: Servers, redis_exe: str, bench_exe: str) -> dict:
    started = time.monotonic()
    cases: list[tuple[Case, bool]] = []
    for label in args.test_list:
        for p in args.pipelines:
            cases.append((Case(label, p, requests_for(label, p, args)), False))
    for cmdline in args.command:
        for p in args.pipelines:
            cases.append((Case(cmdline, p, requests_for(cmdline, p, args)), True))

    if cases:
        respdb, redis = servers.respdb(), servers.redis(redis_exe)
        log(f"respdb pid {respdb.pid} port {respdb.port}; redis pid {redis.pid} port {redis.port}")
        turns = [respdb, redis]
        if args.floor:
            turns.append(servers.floor())
            log(f"floor pid {turns[-1].pid} port {turns[-1].port}")
        for case, is_command in cases:
            for rnd in range(args.rounds):
                try:
                    for server in turns:  # alternate, so drift on the machine hits all alike
                        run_benchmark(bench_exe, server, case, is_command, args.keyspace)
                except CaseFailed as err:
                    case.error = str(err)
                    log(f"FAILED {case.label} P={case.pipeline}: {err}")
                    break
                log(
                    f"{case.row_name} P={case.pipeline} n={case.requests} round {rnd + 1}/{args.rounds}: "
                    + "  ".join(f"{s.name} {case.rps[s.name][-1]:,.0f}" for s in turns)
                )
        for server in turns:
            servers.stop(server)

    memory = None if args.no_memory else measure_memory(servers, redis_exe, args.memory_keys)
    elapsed = time.monotonic() - started
    print_table([c for c, _ in cases], memory, args.rounds, args.floor, args.keyspace)
    failed = [c for c, _ in cases if c.error]
    if failed:
        print(f"\n{len(failed)} case(s) failed: " + ", ".join(f"{c.label} P={c.pipeline}" for c in failed))
    load = os.getloadavg()
    print(
        f"(total {elapsed:.0f}s; load average now {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs)"
    )
    return {
        "respdb_python": sys.version.split()[0],
        "redis_server": version_of(redis_exe),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "clients": CLIENTS,
        "keyspace": args.keyspace,
        "rounds": args.rounds,
        "elapsed_seconds": round(elapsed, 1),
        "loadavg_at_end": os.getloadavg(),
        "throughput": [case_json(c, args.floor) for c, _ in cases],
        "memory": memory,
    }


def case_json(c: Case, floor: bool) -> dict:
    out = {
        "test": c.row_name or c.label,
        "label": c.label,
        "pipeline": c.pipeline,
        "requests": c.requests,
        "respdb_rps": c.rps["respdb"],
        "redis_rps": c.rps["redis"],
        "respdb_p50_ms": c.p50["respdb"],
        "redis_p50_ms": c.p50["redis"],
        "respdb_median": None if c.error else c.median("respdb"),
        "redis_median": None if c.error else c.median("redis"),
        "ratio": c.ratio("respdb"),
        "error": c.error or None,
    }
    if floor:
        out |= {
            "floor_rps": c.rps["floor"],
            "floor_p50_ms": c.p50["floor"],
            "floor_median": None if c.error else c.median("floor"),
            "floor_ratio": c.ratio("floor"),
        }
    return out


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    redis_exe, bench_exe = shutil.which("redis-server"), shutil.which("redis-benchmark")
    missing = [name for name, exe in (("redis-server", redis_exe), ("redis-benchmark", bench_exe)) if exe is None]
    if missing:
        print(
            f"error: {' and '.join(missing)} not found on PATH; install Redis 7.0 "
            "(e.g. `make redis` or `apt-get install redis-server redis-tools`) to run the benchmark",
            file=sys.stderr,
        )
        return 2
    assert redis_exe is not None and bench_exe is not None
    signal.signal(signal.SIGTERM, _sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
    servers = Servers(args.appendfsync or "")
    if args.appendfsync:
        log(f"both servers run with appendonly yes, appendfsync {args.appendfsync}")
        if args.floor:
            log("the floor has no persistence")
    try:
        result = run(args, servers, redis_exe, bench_exe)
    except BenchError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        servers.stop_all()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
        print(f"results written to {args.json}")
    return 1 if any(t["error"] for t in result["throughput"]) else 0


if __name__ == "__main__":
    sys.exit(main())
