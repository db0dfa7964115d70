"""Protected mode: with no password for the default user, connections from other hosts get
Redis's DENIED message and are closed (unit/networking "Protected mode works as expected"),
compared byte for byte with a real redis-server."""

from __future__ import annotations

import socket
import time

import pytest
from conftest import RawConn, start_redis, start_respdb


def _outside_address() -> str | None:
    """An address of this machine that is not loopback, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # (no packet is sent)
            addr = s.getsockname()[0]
    except OSError:
        return None
    return None if addr.startswith("127.") else addr


def _first_bytes(host: str, port: int) -> bytes:
    """What the server sends before it closes, or b"" if the connection stays open."""
    with socket.create_connection((host, port), timeout=5) as s:
        time.sleep(0.2)
        s.settimeout(0.5)
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return data
                data += chunk
        except TimeoutError:
            return data
        except ConnectionResetError:
            return data


def test_protected_mode_refuses_other_hosts() -> None:
    addr = _outside_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback address to connect from")
    servers = [start_respdb("--bind", "*"), start_redis("--bind", "*")]
    try:
        replies = [_first_bytes(addr, s.port) for s in servers]
        assert replies[0] == replies[1]
        assert replies[0].startswith(b"-DENIED Redis is running in protected mode") and replies[0].endswith(b"\r\n")
        for s in servers:
            local = RawConn(s.port)  # the loopback interface is always let in
            assert local.cmd("INFO", "stats").count(b"rejected_connections:1\r\n") == 1
            assert local.cmd("CONFIG", "SET", "requirepass", "secret") == b"+OK\r\n"
            assert _first_bytes(addr, s.port) == b""  # a password set: accepted
            assert local.cmd("CONFIG", "SET", "requirepass", "") == b"+OK\r\n"
            assert _first_bytes(addr, s.port).startswith(b"-DENIED")
            assert local.cmd("CONFIG", "SET", "protected-mode", "no") == b"+OK\r\n"
            assert _first_bytes(addr, s.port) == b""
    finally:
        for s in servers:
            s.stop()
