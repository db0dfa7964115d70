"""PUBLISH throughput of respdb against a real redis-server, with subscribers that read everything.

For each case (number of subscribers on the channel), each server in turn (respdb, redis, respdb,
redis, ...) gets S subscriber connections and then `redis-benchmark` publishing on the channel
(50 clients, pipelined). The subscribers live in a separate process that reads every socket
as fast as it can and counts message bytes, so a case only ends when every message has
reached every subscriber: nothing may be lost, and delivery is part of the time measured.

Figures per case: PUBLISH calls per second as redis-benchmark saw them, and messages delivered
per second (PUBLISH calls x subscribers / time until the last one arrived).

    .venv/bin/python benchmarks/pubsub.py                 # default cases: 0, 1, 10, 100 subscribers
    .venv/bin/python benchmarks/pubsub.py --subscribers 100 --messages 100000
"""

from __future__ import annotations

import argparse
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import time
from multiprocessing import Event, Process, Value
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vs_redis import HOST, Servers, encode, parse_csv  # noqa: E402

CHANNEL = b"bench:channel"
PAYLOAD = b"x" * 32
# What each subscriber receives per PUBLISH (RESP2 "message" push).
MESSAGE = b"*3\r\n$7\r\nmessage\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(CHANNEL), CHANNEL, len(PAYLOAD), PAYLOAD)
CLIENTS = 50
PIPELINE = 16


def subscribe(port: int, n: int) -> list[socket.socket]:
    socks = []
    confirm = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%b\r\n:1\r\n" % (len(CHANNEL), CHANNEL)
    for _ in range(n):
        s = socket.create_connection((HOST, port), timeout=10)
        s.sendall(encode(b"SUBSCRIBE", CHANNEL))
        got = b""
        while len(got) < len(confirm):
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("subscriber closed before its confirmation")
            got += chunk
        if got != confirm:
            raise RuntimeError(f"unexpected SUBSCRIBE reply {got!r}")
        s.setblocking(False)
        socks.append(s)
    return socks


def reader(port: int, n: int, ready, stop, received, closed) -> None:
    """Subscriber process: S subscriptions, then count message bytes until told to stop."""
    socks = subscribe(port, n)
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    ready.set()
    total = 0
    buf = bytearray(1 << 20)
    while not stop.is_set():
        for key, _ in sel.select(0.05):
            try:
                got = key.fileobj.recv_into(buf)
            except BlockingIOError:
                continue
            if got == 0:
                sel.unregister(key.fileobj)
                with closed.get_lock():
                    closed.value += 1
                continue
            total += got
        received.value = total
    for s in socks:
        s.close()


def run_case(server, bench_exe: str, subscribers: int, messages: int) -> tuple[float, float, int]:
    """(PUBLISH calls/s, messages delivered/s, subscribers disconnected) for one run."""
    ready, stop = Event(), Event()
    received, closed = Value("q", 0), Value("i", 0)
    proc = Process(target=reader, args=(server.port, subscribers, ready, stop, received, closed), daemon=True)
    proc.start()
    try:
        if not ready.wait(60):
            raise RuntimeError("subscribers did not connect")
        argv = [bench_exe, "-h", HOST, "-p", str(server.port), "-c", str(CLIENTS), "-n", str(messages),
                "-P", str(PIPELINE), "--csv", "PUBLISH", CHANNEL.decode(), PAYLOAD.decode()]  # fmt: skip
        t0 = time.monotonic()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        server.check_alive()
        rows = parse_csv(done.stdout)
        if done.returncode != 0 or len(rows) != 1:
            raise RuntimeError(f"redis-benchmark failed: {done.stdout[-400:]} {done.stderr[-400:]}")
        rps = float(rows[0]["rps"])
        want = messages * subscribers * len(MESSAGE)
        deadline = time.monotonic() + 120
        while received.value < want and closed.value == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        elapsed = time.monotonic() - t0
        if closed.value:
            return rps, 0.0, closed.value
        if received.value != want:
            raise RuntimeError(f"{server.name}: {received.value} of {want} message bytes arrived")
        return rps, messages * subscribers / elapsed if subscribers else 0.0, 0
    finally:
        stop.set()
        proc.join(10)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--subscribers", default="0,1,10,100", help="subscriber counts (default %(default)s)")
    p.add_argument("--messages", type=int, default=200_000, help="PUBLISH calls per run (default %(default)s)")
    p.add_argument("--rounds", type=int, default=3, help="rounds per server; medians are reported (default 3)")
    args = p.parse_args()
    redis_exe, bench_exe = shutil.which("redis-server"), shutil.which("redis-benchmark")
    if not redis_exe or not bench_exe:
        sys.exit("redis-server and redis-benchmark are needed (apt-get install redis-server redis-tools)")
    counts = [int(x) for x in args.subscribers.split(",")]
    servers = Servers()
    results: dict[tuple[int, str], list[tuple[float, float, int]]] = {}
    try:
        live = {"respdb": servers.respdb(), "redis": servers.redis(redis_exe)}
        for n in counts:
            # fewer calls with many subscribers: the deliveries are what takes the time
            messages = max(10_000, args.messages // max(1, n // 10))
            for r in range(args.rounds):
                for name in ("respdb", "redis"):
                    res = run_case(live[name], bench_exe, n, messages)
                    results.setdefault((n, name), []).append(res)
                    print(
                        f"subscribers={n} messages={messages} round {r + 1}/{args.rounds}: {name} "
                        f"{res[0]:,.0f} PUBLISH/s, {res[1]:,.0f} deliveries/s"
                        + (f", {res[2]} subscribers disconnected" if res[2] else ""),
                        flush=True,
                    )
    finally:
        servers.stop_all()

    print(f"\nPUBLISH with redis-benchmark ({CLIENTS} clients, -P {PIPELINE}), {len(PAYLOAD)}-byte messages;")
    print("subscribers read everything in a separate process; medians of the rounds\n")
    print(f"{'subscribers':>11}  {'respdb PUBLISH/s':>16}  {'redis PUBLISH/s':>15}  {'ratio':>5}  "
          f"{'respdb deliv/s':>14}  {'redis deliv/s':>13}  {'ratio':>5}")  # fmt: skip
    for n in counts:
        a, b = results[(n, "respdb")], results[(n, "redis")]
        pa, pb = statistics.median(x[0] for x in a), statistics.median(x[0] for x in b)
        da, db = statistics.median(x[1] for x in a), statistics.median(x[1] for x in b)
        dratio = f"{da / db:5.2f}" if db else "    -"
        print(f"{n:>11}  {pa:>16,.0f}  {pb:>15,.0f}  {pa / pb:5.2f}  {da:>14,.0f}  {db:>13,.0f}  {dratio}")
        if any(x[2] for x in a + b):
            print(f"{'':>11}  (subscribers were disconnected in some rounds: output buffer limits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
