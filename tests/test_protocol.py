"""Wire protocol over TCP, differential against a real redis-server 7.0.

The same bytes go to both servers over raw sockets; the exact reply bytes and whether the
server closed the connection must match. Cases run concurrently (each on its own
connections, with its own keys) so that waiting for "no more replies" stays cheap.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hiredis
import pytest
import redis
from conftest import ROOT, ServerProc, redis_server_path, start_redis, start_respdb

IDLE = 0.3  # seconds without data after which a connection that is still open is "done"


def enc(*args: bytes | str) -> bytes:
    return hiredis.pack_command(tuple(a.encode() if isinstance(a, str) else a for a in args))


def talk(
    addr: int | str, chunks: list[bytes], delay: float = 0.0, idle: float = IDLE, read_first: bool = False
) -> tuple[bytes, bool]:
    """Send the chunks (optionally pausing between them); return (all reply bytes, closed?)."""
    if isinstance(addr, str):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr)
    else:
        s = socket.create_connection(("127.0.0.1", addr), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray()
    closed = False
    try:
        for chunk in chunks:
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            if delay:
                time.sleep(delay)
        s.settimeout(idle)
        while True:
            try:
                data = s.recv(1 << 20)
            except TimeoutError:
                break
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
            buf += data
    finally:
        s.close()
    return bytes(buf), closed


class Pair:
    """A redis-server and a respdb started with the same options."""

    def __init__(self, *args: str) -> None:
        if redis_server_path() is None:
            pytest.skip("redis-server is not installed")
        self.redis = start_redis(*args)
        self.respdb = start_respdb(*args)

    def stop(self) -> None:
        self.redis.stop()
        self.respdb.stop()

    def clients(self, **kw) -> tuple[redis.Redis, redis.Redis]:
        return redis.Redis(port=self.redis.port, **kw), redis.Redis(port=self.respdb.port, **kw)

    def both(self, *cmd) -> None:
        for c in self.clients():
            c.execute_command(*cmd)
            c.close()

    def compare(self, cases: list[tuple[str, list[bytes]]], delay: float = 0.0) -> None:
        """Run every case on both servers (concurrently) and report all differences at once."""

        def one(case: tuple[str, list[bytes]]) -> str | None:
            name, chunks = case
            want = talk(self.redis.port, chunks, delay)
            got = talk(self.respdb.port, chunks, delay)
            if want != got:
                return f"{name}:\n   redis:  {want[0][:300]!r} closed={want[1]}\n   respdb: {got[0][:300]!r} closed={got[1]}"
            return None

        with ThreadPoolExecutor(max_workers=12) as pool:
            diffs = [d for d in pool.map(one, cases) if d]
        assert not diffs, "\n".join(diffs)


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    p = Pair()
    yield p
    p.stop()


# -- inline commands -----------------------------------------------------------

INLINE = [
    ("ping crlf", [b"PING\r\n"]),
    ("ping lf", [b"PING\n"]),
    ("empty lines", [b"\r\n\n\r\n  \t \r\nPING\r\n\n"]),
    ("only blanks", [b"\x0b\x0c\r\n"]),
    ("spaces around", [b"   ECHO    hello   \r\n"]),
    ("double quotes", [b'SET iq1 "a b\\x41\\x4a\\n\\r\\t\\"z"\r\nGET iq1\r\n']),
    ("single quotes", [b"SET iq2 'it\\'s \\n raw'\r\nGET iq2\r\n"]),
    ("hex escapes all bytes", [b'SET iq3 "' + b"".join(b"\\x%02x" % i for i in range(256)) + b'"\r\nGET iq3\r\n']),
    ("bad hex escape", [b'ECHO "\\x4g\\xZZ"\r\n']),
    ("quote inside token", [b'ECHO a"b c"d\r\n']),
    ("closing quote then space", [b'ECHO "a" "b"\r\n']),
    ("closing quote then vtab", [b'ECHO "a"\x0bb\r\n']),
    ("vtab and formfeed in token", [b"ECHO a\x0bb\x0cc\r\n"]),
    ("empty quoted", [b"ECHO \"\"\r\nECHO ''\r\n"]),
    ("unbalanced double", [b'ECHO "abc\r\nPING\r\n']),
    ("unbalanced single", [b"ECHO 'abc\r\nPING\r\n"]),
    ("quote not followed by space", [b'ECHO "a"b\r\n']),
    ("single quote not followed by space", [b"ECHO 'a'b\r\n"]),
    ("trailing backslash in quotes", [b'ECHO "abc\\\r\n']),
    ("nul hides the newline", [b"PING\x00\r\nPING\r\n"]),
    ("cr only", [b"PING\rPING\r\n"]),
    ("lf inside after cr", [b"ECHO a\r\rb\r\n"]),
    ("unknown inline", [b"NOSUCH a b\r\n"]),
    ("wrong arity inline", [b"GET\r\n"]),
    ("case insensitive", [b"pInG\r\n"]),
    ("inline with dollar", [b"$-1\r\n_\r\n:1\r\n+PING\r\n-ERR\r\n"]),
    ("resp3 aggregate as inline", [b"~1\r\n$4\r\nPING\r\n"]),
]


def test_inline_commands(pair: Pair) -> None:
    pair.compare(INLINE)


# -- multibulk -------------------------------------------------------------------

MULTIBULK = [
    ("invalid multibulk length", [b"*abc\r\n"]),
    ("empty count", [b"*\r\n"]),
    ("minus zero", [b"*-0\r\n"]),
    ("leading zero count", [b"*01\r\n$4\r\nPING\r\n"]),
    ("plus count", [b"*+1\r\n"]),
    ("space count", [b"* 1\r\n"]),
    ("count over INT_MAX", [b"*2147483648\r\n"]),
    ("count INT_MAX waits", [b"*2147483647\r\n$4\r\nPING\r\n"]),
    ("count 2^63", [b"*9223372036854775808\r\n"]),
    ("expected dollar got colon", [b"*3\r\n:1\r\n"]),
    ("expected dollar got plus", [b"*1\r\n+PING\r\n"]),
    ("expected dollar got cr", [b"*1\r\n\r\n"]),
    ("expected dollar got lf", [b"*1\r\n\n\r\n"]),
    ("expected dollar got high byte", [b"*1\r\n\xff\r\n"]),
    ("deep nesting", [b"*1\r\n" * 200]),
    ("nested huge count", [b"*1\r\n*2147483647\r\n"]),
    ("negative bulk length", [b"*1\r\n$-5\r\n"]),
    ("null bulk in request", [b"*1\r\n$-1\r\n"]),
    ("leading zero bulk", [b"*1\r\n$04\r\nPING\r\n"]),
    ("empty bulk length", [b"*1\r\n$\r\n"]),
    ("bulk over proto-max-bulk-len", [b"*1\r\n$536870913\r\n"]),
    ("bulk at proto-max-bulk-len waits", [b"*1\r\n$536870912\r\n"]),
    ("bulk length overflow", [b"*1\r\n$99999999999999999999\r\n"]),
    ("zero count skipped", [b"*0\r\nPING\r\n"]),
    ("minus one count skipped", [b"*-1\r\n*1\r\n$4\r\nPING\r\n"]),
    ("minus five count skipped", [b"*-5\r\nPING\r\n"]),
    ("byte after cr unchecked", [b"*1\rX$4\rYPING\r\n"]),
    ("bytes after bulk unchecked", [b"*1\r\n$4\r\nPINGxyPING\r\n"]),
    ("bulk without trailer then more", [b"*1\r\n$4\r\nPING"]),
    ("nul in header", [b"*1\x00\r\n"]),
    ("nul as element type", [b"*1\r\n\x00\r\n"]),
    ("valid then error", [enc("SET", "mb1", "v") + b"*1\r\n:1\r\n" + enc("GET", "mb1")]),
    ("valid then garbage type", [enc("PING") + b":"]),
    ("crlf inside bulk data", [enc("SET", "mb2", "a\r\nb\r\n*1\r\n") + enc("GET", "mb2")]),
    ("mixed inline and multibulk", [b"PING\r\n" + enc("ECHO", "x") + b"ECHO y\r\n" + enc("PING") + b"\n"]),
    ("unknown command args", [enc("NOSUCH", "a\r\nb", "c" * 200)]),
    # after a first request, in the same read: what hiredis returns as something other than a
    # list of bytes (a push, a map, a boolean, an integer 0, an empty array) is not a request
    ("valid then push", [enc("PING") + b">1\r\n$4\r\nPING\r\n"]),
    ("valid then map", [enc("PING") + b"%1\r\n$4\r\nECHO\r\n$1\r\nx\r\n"]),
    ("valid then false", [enc("PING") + b"#f\r\n" + enc("ECHO", "y")]),
    ("valid then zero", [enc("PING") + b":0\r\n" + enc("ECHO", "z")]),
    ("valid then empty array", [enc("PING") + b"*0\r\n" + enc("ECHO", "w")]),
    ("valid then integer element", [enc("PING") + b"*2\r\n$4\r\nECHO\r\n:0\r\n"]),
]


def test_multibulk_errors_and_edge_cases(pair: Pair) -> None:
    pair.compare(MULTIBULK)


def test_one_byte_at_a_time(pair: Pair) -> None:
    picked = ["double quotes", "unbalanced double", "empty lines"]
    cases = [c for c in INLINE if c[0] in picked]
    picked = ["expected dollar got colon", "byte after cr unchecked", "valid then error", "mixed inline and multibulk",
              "crlf inside bulk data"]  # fmt: skip
    cases += [c for c in MULTIBULK if c[0] in picked]
    split = [(name + " (bytewise)", [b"".join(chunks)[i : i + 1] for i in range(len(b"".join(chunks)))])
             for name, chunks in cases]  # fmt: skip
    pair.compare(split, delay=0.002)


def test_protocol_error_after_client_reply_off_or_skip(pair: Pair) -> None:
    # Redis drops the error reply and then never closes: later requests are not executed.
    pair.compare(
        [
            ("reply off", [b"CLIENT REPLY OFF\r\n*abc\r\n", b"CLIENT REPLY ON\r\nPING\r\n"]),
            ("reply skip", [b"CLIENT REPLY SKIP\r\n*1\r\n:1\r\n", b"PING\r\n"]),
            ("skip then command then error", [b"CLIENT REPLY SKIP\r\nPING\r\n*abc\r\n", b"PING\r\n"]),
            ("reply on again", [b"CLIENT REPLY OFF\r\nCLIENT REPLY ON\r\n*abc\r\n"]),
        ],
        delay=0.05,
    )


def test_pipeline_of_1000_commands_in_one_write(pair: Pair) -> None:
    parts = []
    for i in range(1000):
        k = b"pl:%d" % (i % 37)
        parts.append(
            [enc("SET", k, b"v%d" % i), enc("GET", k), enc("INCR", b"pl:n"), enc("APPEND", k, b"\r\n"),
             b"ECHO inline%d\r\n" % i, enc("STRLEN", k), enc("EXISTS", k, b"pl:n")][i % 7]
        )  # fmt: skip
    data = b"".join(parts)
    pair.both("DEL", "pl:n", *[f"pl:{i}" for i in range(37)])
    want, got = talk(pair.redis.port, [data]), talk(pair.respdb.port, [data])
    assert want == got
    assert want[0].count(b"\r\n") >= 1000
    # and the same stream cut into many small writes
    pair.both("DEL", "pl:n", *[f"pl:{i}" for i in range(37)])
    small = [data[i : i + 7] for i in range(0, len(data), 7)]
    want2 = talk(pair.redis.port, small)
    pair.both("DEL", "pl:n", *[f"pl:{i}" for i in range(37)])
    assert talk(pair.respdb.port, small) == want2 == want


# -- binary safety and large values -------------------------------------------------


def test_binary_safe_keys_and_values(pair: Pair) -> None:
    allbytes = bytes(range(256))
    stream = (
        enc("SET", allbytes, allbytes[::-1]) + enc("GET", allbytes) + enc("SET", b"bin\r\n", b"\r\n\r\n")
        + enc("GET", b"bin\r\n") + enc("KEYS", b"bin*") + enc("STRLEN", allbytes)
        + b"".join(enc("SET", b"b1:%d" % i, bytes([i]) * 3) + enc("GET", b"b1:%d" % i) for i in range(256))
    )  # fmt: skip
    want, got = talk(pair.redis.port, [stream]), talk(pair.respdb.port, [stream])
    assert want == got
    assert b"$256\r\n" + allbytes[::-1] + b"\r\n" in got[0]


def _roundtrip(port: int, key: bytes, value: bytes, step: int) -> tuple[float, bytes]:
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    data = enc("SET", key, value)
    t0 = time.perf_counter()
    for i in range(0, len(data), step):
        s.sendall(data[i : i + step])
    f = s.makefile("rb")
    assert f.readline() == b"+OK\r\n"
    s.sendall(enc("GET", key))
    head = f.readline()
    body = f.read(len(value) + 2)
    elapsed = time.perf_counter() - t0
    s.sendall(enc("DEL", key))
    assert f.readline() == b":1\r\n"
    s.close()
    return elapsed, head + body


def test_10mb_value_in_small_writes_matches_redis(pair: Pair) -> None:
    value = os.urandom(10 * 1024 * 1024)
    _, want = _roundtrip(pair.redis.port, b"big10", value, 4096)
    elapsed, got = _roundtrip(pair.respdb.port, b"big10", value, 4096)
    assert got == want == b"$%d\r\n" % len(value) + value + b"\r\n"
    assert elapsed < 5.0


def test_100mb_value_is_not_quadratic(pair: Pair) -> None:
    value = bytes(range(256)) * (400 * 1024)  # 100 MiB
    elapsed, got = _roundtrip(pair.respdb.port, b"big100", value, 64 * 1024)
    assert got == b"$%d\r\n" % len(value) + value + b"\r\n"
    assert elapsed < 10.0, elapsed  # about a second when linear


# -- limits ----------------------------------------------------------------------------


def test_proto_max_bulk_len(pair: Pair) -> None:
    for c in pair.clients():
        with pytest.raises(redis.ResponseError) as e:
            c.config_set("proto-max-bulk-len", "1000")
        assert "argument must be between 1048576 and 9223372036854775807 inclusive" in str(e.value)
        c.close()
    pair.both("CONFIG", "SET", "proto-max-bulk-len", "1mb")
    try:
        big = b"x" * (1024 * 1024)
        pair.compare([
            ("over the limit", [b"*3\r\n$3\r\nSET\r\n$3\r\npm1\r\n$1048577\r\n"]),
            ("at the limit", [enc("SET", "pm2", big) + enc("STRLEN", "pm2")]),
            ("limit via setrange", [enc("SETRANGE", "pm3", "1048576", "x")]),
        ])  # fmt: skip
    finally:
        pair.both("CONFIG", "SET", "proto-max-bulk-len", "512mb")


def _set_cmd(key: bytes, n: int, sent: int | None = None, complete: bool = True) -> bytes:
    head = b"*3\r\n$3\r\nSET\r\n$%d\r\n%b\r\n$%d\r\n" % (len(key), key, n)
    return head + b"v" * (n if sent is None else sent) + (b"\r\n" if complete else b"")


def test_client_query_buffer_limit(pair: Pair) -> None:
    for c in pair.clients():
        with pytest.raises(redis.ResponseError, match="argument must be between 1048576 and"):
            c.config_set("client-query-buffer-limit", "1048575")
        c.close()
    pair.both("CONFIG", "SET", "client-query-buffer-limit", "1mb")
    limit = 1024 * 1024
    try:
        raw = [
            ("bulk just under", _set_cmd(b"ql1", limit - 2)),
            ("bulk plus crlf over", _set_cmd(b"ql2", limit - 1)),
            ("bulk over", _set_cmd(b"ql3", limit + 100)),
            ("several big args", b"*7\r\n$4\r\nMSET\r\n" + b"".join(
                b"$3\r\nql%d\r\n$614400\r\n" % i + b"x" * 614400 + b"\r\n" for i in range(4, 7))),
            ("incomplete over", _set_cmd(b"ql7", 2 * limit, int(1.1 * limit), complete=False)),
            ("incomplete under", _set_cmd(b"ql8", 2 * limit, int(0.9 * limit), complete=False)),
            ("reply first", enc("PING") + _set_cmd(b"ql9", limit + 100)),
        ]  # fmt: skip
        pair.compare([(name, [data[i : i + 65536] for i in range(0, len(data), 65536)]) for name, data in raw])
    finally:
        pair.both("CONFIG", "SET", "client-query-buffer-limit", "1gb")
    log = Path(pair.respdb.log).read_text()
    assert "Closing client that reached max query buffer length" in log


def test_too_long_lines(pair: Pair) -> None:
    pair.compare([
        ("inline without newline", [b"a" * 70000]),
        ("inline at 64KB waits", [b"a" * 65536]),
        ("inline one over 64KB", [b"a" * 65537]),
        ("inline 128KB with newline", [b"ECHO " + b"a" * 131072 + b"\r\n"]),
        ("inline 64KB with newline", [b"ECHO " + b"a" * 65531 + b"\r\n"]),
        ("mbulk count without cr", [b"*" + b"1" * 70000]),
        ("mbulk count 70KB with cr", [b"*" + b"1" * 70000 + b"\r\n"]),
        ("bulk count without cr", [b"*1\r\n$" + b"1" * 70000]),
        ("nul then 64KB", [b"PING\x00\r\n" + b"PING\r\n" * 12000]),
    ])  # fmt: skip


@pytest.mark.xfail(reason="Redis's verdict on a 64KB-96KB line that arrives in one write depends on its read "
                   "sizes (16KB, then growing with the query buffer's allocation); respdb models 16KB reads "
                   "from each of its own reads and disagrees for some lengths", strict=False)  # fmt: skip
def test_line_between_64kb_and_96kb(pair: Pair) -> None:
    pair.compare([("ping then 90KB line", [b"PING\r\n" + b"a" * 90000 + b"\r\n"])])


def test_unauthenticated_limits() -> None:
    p = Pair("--requirepass", "pw")
    try:
        p.compare([
            ("too many args", [b"*11\r\n"]),
            ("ten args", [b"*10\r\n"]),
            ("big bulk", [b"*1\r\n$16385\r\n"]),
            ("16KB bulk", [b"*1\r\n$16384\r\n"]),
            ("noauth", [enc("GET", "x")]),
            ("auth then big", [b"AUTH pw\r\n*11\r\n" + b"$1\r\na\r\n" * 11]),
            ("auth multibulk then big", [enc("AUTH", "pw") + b"*11\r\n$4\r\nPING\r\n"]),
            ("big before auth", [b"*12\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"]),
            ("wrong password then big", [enc("AUTH", "no") + b"*11\r\n"]),
            ("empty then auth", [b"*0\r\n*-1\r\n\r\n" + enc("AUTH", "pw") + enc("PING")]),
        ])  # fmt: skip
    finally:
        p.stop()


# -- connections -------------------------------------------------------------------------


def test_maxclients() -> None:
    p = Pair("--maxclients", "3")
    held: list[socket.socket] = []
    try:
        for srv in (p.redis, p.respdb):
            conns = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(3)]
            held += conns
            for c in conns:
                c.sendall(b"PING\r\n")
                assert c.recv(100) == b"+PONG\r\n"
        want = talk(p.redis.port, [])
        got = talk(p.respdb.port, [])
        assert want == got == (b"-ERR max number of clients reached\r\n", True)
        assert talk(p.redis.port, [b"PING\r\n"]) == talk(p.respdb.port, [b"PING\r\n"])
        for c in held:
            c.close()
        time.sleep(0.3)
        held = []
        stats = []
        for srv in (p.redis, p.respdb):  # a freed slot is usable again
            assert talk(srv.port, [b"PING\r\n"]) == (b"+PONG\r\n", False)
            c = redis.Redis(port=srv.port)
            info = c.info("stats")
            stats.append((info["rejected_connections"], info["total_connections_received"]))
            c.close()
        assert stats[0] == stats[1]
    finally:
        for c in held:
            c.close()
        p.stop()


def test_quit_closes_after_ok(pair: Pair) -> None:
    pair.compare([
        ("inline quit", [b"QUIT\r\nPING\r\n"]),
        ("multibulk quit", [enc("QUIT") + enc("PING")]),
        ("quit then protocol error", [b"QUIT\r\n*abc\r\n"]),
        ("quit with args", [b"QUIT now\r\n"]),
    ])  # fmt: skip


def test_disconnect_mid_request_leaves_server_healthy(pair: Pair) -> None:
    for srv in (pair.redis, pair.respdb):
        for partial in (b"*3\r\n$3\r\nSET\r\n$3\r\ndm1\r\n$10\r\nabc", b"*3\r\n$3\r\nSE", b"ECHO \"abc",
                        _set_cmd(b"dm1", 5 * 1024 * 1024, 3 * 1024 * 1024, complete=False)):  # fmt: skip
            s = socket.create_connection(("127.0.0.1", srv.port))
            s.sendall(partial)
            time.sleep(0.05)
            s.close()
    time.sleep(0.2)
    want = talk(pair.redis.port, [enc("EXISTS", "dm1") + b"PING\r\n"])
    assert talk(pair.respdb.port, [enc("EXISTS", "dm1") + b"PING\r\n"]) == want == (b":0\r\n+PONG\r\n", False)
    assert pair.respdb.proc.poll() is None
    c = redis.Redis(port=pair.respdb.port)
    assert c.info("clients")["connected_clients"] == 1
    c.close()


def _raw_info(port: int, section: str) -> dict[str, str]:
    """INFO over a bare socket (a redis-py connection would add its own CLIENT SETINFO errors)."""
    reply, _ = talk(port, [enc("INFO", section)], idle=0.2)
    body = reply.split(b"\r\n", 1)[1].decode()
    return dict(line.split(":", 1) for line in body.splitlines() if ":" in line)


def test_protocol_errors_are_counted_like_redis(pair: Pair) -> None:
    for srv in (pair.redis, pair.respdb):
        assert talk(srv.port, [enc("CONFIG", "RESETSTAT")]) == (b"+OK\r\n", False)
    cases = [b"*abc\r\n", b'ECHO "a\r\n', b"PING\r\n*1\r\n$-3\r\n", b"*1\r\n:1\r\n", b"NOSUCH\r\n", b"a" * 70000]
    for data in cases:
        talk(pair.redis.port, [data], idle=0.1)
        talk(pair.respdb.port, [data], idle=0.1)
    time.sleep(0.1)
    infos = []
    for srv in (pair.redis, pair.respdb):
        info = _raw_info(srv.port, "all")
        infos.append({k: v for k, v in info.items() if k.startswith("errorstat_") or k == "total_error_replies"})
    assert infos[0] == infos[1]
    assert infos[1] == {"errorstat_ERR": "count=6", "total_error_replies": "6"}


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def test_backpressure_bounds_memory_for_a_client_that_does_not_read() -> None:
    # respdb only: Redis buffers a normal client's replies without limit.
    s = start_respdb()
    try:
        c = redis.Redis(port=s.port)
        value = os.urandom(1024 * 1024)
        c.set("bp", value)
        base = _rss(s.proc.pid)
        n = 400  # 400 MB of replies if nothing held it back
        slow = socket.create_connection(("127.0.0.1", s.port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        slow.sendall(enc("GET", "bp") * n)
        peak = 0
        latencies = []
        for _ in range(20):  # the server keeps serving others meanwhile
            t0 = time.perf_counter()
            assert c.ping() is True
            latencies.append(time.perf_counter() - t0)
            peak = max(peak, _rss(s.proc.pid))
            time.sleep(0.05)
        assert max(latencies) < 0.5, latencies
        assert peak - base < 200 * 1024 * 1024, (base, peak)
        # and the slow client still gets every reply, in order
        expected = b"$%d\r\n" % len(value) + value + b"\r\n"
        f = slow.makefile("rb")
        for i in range(n):
            assert f.readline() == expected[: expected.index(b"\n") + 1], i
            assert f.read(len(value) + 2) == value + b"\r\n", i
        slow.sendall(b"PING\r\n")
        assert f.readline() == b"+PONG\r\n"
        slow.close()
        c.close()
    finally:
        s.stop()


# -- process: signals and unix socket ---------------------------------------------------


def _spawn(cmd: list[str], workdir: str) -> tuple[subprocess.Popen, str]:
    log = os.path.join(workdir, "out.log")
    with open(log, "w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=workdir,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    return proc, log


def _wait_path(path: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 15
    while not os.path.exists(path):
        assert proc.poll() is None and time.monotonic() < deadline, "server did not create its socket"
        time.sleep(0.05)


@pytest.mark.parametrize("server", ["redis", "respdb"])
def test_sigterm_exits_cleanly_and_logs(server: str) -> None:
    start = start_redis if server == "redis" else start_respdb
    s: ServerProc = start()
    assert talk(s.port, [b"PING\r\n"]) == (b"+PONG\r\n", False)
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(15) == 0
    log = Path(s.log).read_text()
    assert "Received SIGTERM scheduling shutdown..." in log
    assert "ready to exit, bye bye..." in log


def test_unix_socket_only() -> None:
    if redis_server_path() is None:
        pytest.skip("redis-server is not installed")
    procs = []
    try:
        paths = []
        for kind in ("redis", "respdb"):
            d = tempfile.mkdtemp(prefix=f"{kind}-unix-")
            path = os.path.join(d, "x.sock")
            if kind == "redis":
                cmd = [redis_server_path(), "--port", "0", "--unixsocket", path, "--save", "", "--dir", d]
            else:
                cmd = [sys.executable, "-m", "respdb", "--port", "0", "--unixsocket", path, "--dir", d]
            proc, _ = _spawn(cmd, d)
            procs.append(proc)
            _wait_path(path, proc)
            paths.append(path)
        pool = redis.ConnectionPool(connection_class=redis.UnixDomainSocketConnection, path=paths[1])
        c = redis.Redis(connection_pool=pool)
        assert c.ping() is True
        assert c.set("u", b"\x00\r\n") and c.get("u") == b"\x00\r\n"
        assert c.client_list()[0]["addr"].endswith(":0")
        c.close()
        for data in (b"PING\r\n" + enc("ECHO", "unix"), b"*abc\r\n", b'ECHO "x\r\n'):
            assert talk(paths[0], [data]) == talk(paths[1], [data])
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    assert [p.returncode for p in procs] == [0, 0]


def test_huge_declared_counts_do_not_stall_the_server(pair: Pair) -> None:
    results: dict[str, tuple[bytes, bool]] = {}

    def attack(name: str, data: bytes) -> None:
        results[name] = talk(pair.respdb.port, [data], idle=1.0)

    attacks = {
        "top": b"*2147483647\r\n",
        "nested": b"*1\r\n*2147483647\r\n",
        "set": b"*2\r\n$1\r\na\r\n~2000000000\r\n",
        "push": b"*1\r\n>2000000000\r\n",
        "in a pipeline": enc("PING") * 10 + b"*1\r\n|2000000000\r\n",
    }
    threads = [threading.Thread(target=attack, args=item) for item in attacks.items()]
    for t in threads:
        t.start()
    time.sleep(0.2)
    t0 = time.perf_counter()
    assert talk(pair.respdb.port, [b"PING\r\n"], idle=0.2) == (b"+PONG\r\n", False)
    assert time.perf_counter() - t0 < 0.6
    for t in threads:
        t.join()
    for name, data in attacks.items():
        assert results[name] == talk(pair.redis.port, [data], idle=1.0), name
