"""Shared fixtures: a respdb server and a real redis-server, each on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def encode(*args: bytes | str | int) -> bytes:
    """One request in RESP (a multibulk of bulk strings), as clients send it."""
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(b), b))
    return b"".join(parts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


class ServerProc:
    def __init__(self, proc: subprocess.Popen, port: int, workdir: str, log: str) -> None:
        self.proc = proc
        self.port = port
        self.host = "127.0.0.1"
        self.workdir = workdir
        self.log = log

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_respdb(*args: str) -> ServerProc:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="respdb-test-")
    log = os.path.join(workdir, "server.log")
    cmd = [sys.executable, "-m", "respdb", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir,
           "--enable-debug-command", "yes", *args]  # fmt: skip
    with open(log, "w") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, cwd=workdir)
    wait_port(port, proc)
    return ServerProc(proc, port, workdir, log)


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


def start_redis(*args: str) -> ServerProc:
    exe = redis_server_path()
    if exe is None:
        pytest.skip("redis-server is not installed (make test installs it with apt-get where possible)")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="redis-ref-")
    log = os.path.join(workdir, "redis.log")
    cmd = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", workdir, "--enable-debug-command", "yes", *args]  # fmt: skip
    with open(log, "w") as logf:
        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, cwd=workdir)
    wait_port(port, proc)
    return ServerProc(proc, port, workdir, log)


# The same test run against respdb and a real redis-server: STARTERS[kind](options...).
STARTERS: dict[str, Callable[..., ServerProc]] = {"respdb": start_respdb, "redis": start_redis}


@pytest.fixture(params=["respdb", "redis"])
def kind(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def respdb_server() -> Iterator[ServerProc]:
    s = start_respdb()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[ServerProc]:
    s = start_redis()
    yield s
    s.stop()


@pytest.fixture
def r(respdb_server: ServerProc):
    """A redis-py client (RESP2) on a flushed respdb."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=respdb_server.port, protocol=2)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def r3(respdb_server: ServerProc):
    """A redis-py client speaking RESP3 on a flushed respdb."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=respdb_server.port, protocol=3)
    client.flushall()
    yield client
    client.close()


class RawConn:
    """A bare socket: send raw bytes, read exact replies (RESP3 after HELLO 3 when proto=3)."""

    def __init__(self, port: int, proto: int = 2) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        if proto == 3:
            self.cmd("HELLO", "3")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_cmd(self, *args: bytes | str) -> None:
        """Send one command without reading its reply (blocking commands, pipelines)."""
        self.send(encode(*args))

    def cmd(self, *args: bytes | str) -> bytes:
        self.send_cmd(*args)
        return self.read_reply()

    def silent(self, seconds: float = 0.1) -> bool:
        """True when nothing at all arrives within `seconds`."""
        if self.buf:
            return False
        self.sock.settimeout(seconds)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return True
        finally:
            self.sock.settimeout(5)
        self.buf += chunk
        return False

    def client_id(self) -> int:
        return int(self.cmd("CLIENT", "ID")[1:-2])

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line + b"\r\n"

    def read_reply(self) -> bytes:
        """One whole reply as raw bytes (any RESP2/RESP3 type)."""
        line = self._line()
        t = line[:1]
        if t in b"$=!":
            n = int(line[1:-2])
            if n < 0:
                return line
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[: n + 2], self.buf[n + 2 :]
            return line + data
        if t in b"*~>":
            n = int(line[1:-2])
            return line + b"".join(self.read_reply() for _ in range(max(n, 0)))
        if t == b"%" or t == b"|":
            n = int(line[1:-2])
            return line + b"".join(self.read_reply() for _ in range(2 * n))
        return line

    def closed(self, timeout: float = 2.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except TimeoutError:
            return False
        except OSError:
            return True

    def close(self) -> None:
        self.sock.close()


def blocked_clients(conn: RawConn) -> int:
    """INFO's blocked_clients figure."""
    for line in conn.cmd("INFO", "clients").split(b"\r\n"):
        if line.startswith(b"blocked_clients:"):
            return int(line.split(b":")[1])
    raise AssertionError("no blocked_clients in INFO")


@pytest.fixture
def raw(respdb_server: ServerProc) -> Iterator[RawConn]:
    c = RawConn(respdb_server.port)
    c.cmd("FLUSHALL")
    yield c
    c.close()
