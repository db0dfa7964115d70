"""CLIENT PAUSE / UNPAUSE over TCP, the same observations on respdb and a real redis-server."""

from __future__ import annotations

import socket
import time

import pytest


def _recv_lines(s: socket.socket, n: int, timeout: float = 3.0) -> bytes:
    s.settimeout(timeout)
    data = b""
    while data.count(b"\r\n") < n:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _write_pause(port: int) -> tuple:
    a = socket.create_connection(("127.0.0.1", port))
    b = socket.create_connection(("127.0.0.1", port))
    try:
        a.sendall(b"FLUSHALL\r\nCLIENT PAUSE 400 WRITE\r\n")
        first = _recv_lines(a, 2)
        t0 = time.monotonic()
        b.sendall(b"GET x\r\nSET x 1\r\nGET x\r\n")
        early = _recv_lines(b, 1)  # the read is answered at once
        t_read = time.monotonic() - t0
        rest = _recv_lines(b, 3)  # the write (and what follows it) waits for the pause to end
        t_write = time.monotonic() - t0
        return first, early, rest, t_read < 0.2, 0.3 < t_write < 2
    finally:
        a.close()
        b.close()


def _pause_all(port: int) -> tuple:
    a = socket.create_connection(("127.0.0.1", port))
    b = socket.create_connection(("127.0.0.1", port))
    try:
        a.sendall(b"CLIENT PAUSE 400 ALL\r\n")
        _recv_lines(a, 1)
        t0 = time.monotonic()
        # Everything waits, CLIENT UNPAUSE included (as in Redis): the timeout ends the pause.
        b.sendall(b"PING\r\nCLIENT UNPAUSE\r\n")
        time.sleep(0.1)
        b.setblocking(False)
        try:
            held = b.recv(100)
        except BlockingIOError:
            held = b""
        b.setblocking(True)
        later = _recv_lines(b, 2)
        return held, later, 0.3 < time.monotonic() - t0 < 2
    finally:
        a.close()
        b.close()


def _expiry_paused(port: int) -> tuple:
    a = socket.create_connection(("127.0.0.1", port))
    try:
        a.sendall(b"FLUSHALL\r\nSET y 1 PX 1\r\nCLIENT PAUSE 300 WRITE\r\n")
        _recv_lines(a, 3)
        time.sleep(0.15)
        a.sendall(b"GET y\r\nDBSIZE\r\n")
        during = _recv_lines(a, 2)
        a.sendall(b"CLIENT UNPAUSE\r\n")
        _recv_lines(a, 1)
        a.sendall(b"GET y\r\nDBSIZE\r\n")
        after = _recv_lines(a, 2)
        return during, after
    finally:
        a.close()


@pytest.mark.parametrize("check", [_write_pause, _pause_all, _expiry_paused])
def test_pause_matches_redis(check, respdb_server, redis_server):
    assert check(respdb_server.port) == check(redis_server.port)


def test_pause_errors(raw):
    assert raw.cmd("CLIENT", "PAUSE", "abc") == b"-ERR timeout is not an integer or out of range\r\n"
    assert raw.cmd("CLIENT", "PAUSE", "-1") == b"-ERR timeout is negative\r\n"
    assert raw.cmd("CLIENT", "PAUSE", "10", "FOO") == b"-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n"
    assert raw.cmd("CLIENT", "UNPAUSE") == b"+OK\r\n"
