"""The Lua debugger's connection side (SCRIPT DEBUG YES|SYNC), as Redis's ldb does it.

After SCRIPT DEBUG, the client's next EVAL runs under the debugger: the script stops at
each line as asked, and the client's requests are read directly from its socket, blocking,
until one resumes the script (the commands, the line hook and the output formatting are in
runtime.lua). With SYNC the whole server waits meanwhile, as Redis does, and the data the
script changed stays; with YES the session runs in a forked child, so the server goes on
and the changes are thrown away with the child. Either way the connection is closed once the
session has ended with its `<endsession>` mark and the EVAL reply.

Requests in a session use Redis's own small parser (ldbReplParseCommand): at most 1024
arguments of 1 to 1024 bytes each, anything else is a protocol error that aborts the script.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import time
from typing import Any

PROTOCOL_ERROR = b"protocol error"
MAX_BUFFER = 1 << 20


class _More(Exception):
    """The request is not all there yet."""


class _Bad(Exception):
    """Not a request Redis's debugger parser takes."""


def _header(buf: bytes, p: int) -> tuple[int, int]:
    """The count after the '*' or '$' at p (1 to 1024) and where the line after it starts."""
    eol = buf.find(b"\r\n", p)
    if eol < 0:
        raise _More
    n = _atoi(buf[p + 1 : eol])
    if n <= 0 or n > 1024:
        raise _Bad
    return n, eol + 2


def parse_command(buf: bytes) -> tuple[list[bytes] | None, bytes | None]:
    """(argv, None) for a whole request in `buf`, (None, None) to read more, (None, error)."""
    try:
        return _parse(buf), None
    except _More:
        return None, None
    except _Bad:
        return None, PROTOCOL_ERROR


def _parse(buf: bytes) -> list[bytes]:
    if not buf:
        raise _More
    star = buf.find(b"*")
    if star < 0:
        raise _Bad
    argc, p = _header(buf, star)
    argv: list[bytes] = []
    while len(argv) < argc:
        if p >= len(buf):
            raise _More
        if buf[p : p + 1] != b"$":
            raise _Bad
        n, p = _header(buf, p)
        if p + n + 2 > len(buf):
            raise _More
        argv.append(buf[p : p + n])
        p += n
        if buf[p : p + 2] != b"\r\n":
            raise _Bad
        p += 2
    return argv


def _atoi(b: bytes) -> int:
    """C's atoi: optional blanks and sign, then digits; 0 when there are none."""
    b = b.split(b"\0", 1)[0].lstrip(b" \t\n\v\f\r")
    i = 1 if b[:1] in (b"+", b"-") else 0
    j = i
    while j < len(b) and 48 <= b[j] <= 57:
        j += 1
    return int(b[:j]) if j > i else 0


class Session:
    """One debugging session: the client's socket (a blocking duplicate) and its input."""

    def __init__(self, sock: socket.socket, time_limit_ms: int) -> None:
        self.sock = sock
        self.buf = b""
        self.time_limit = (time_limit_ms or 5000) / 1000.0
        self.started = time.monotonic()

    def send(self, logs: Any, n: int) -> None:
        """ldbSendLogs: the log lines as an array of simple strings (line breaks as spaces)."""
        out = [b"*%d\r\n" % n]
        for i in range(1, n + 1):
            line = logs[i]
            if not isinstance(line, bytes):
                line = str(line).encode()
            out.append(b"+" + line.replace(b"\r", b" ").replace(b"\n", b" ") + b"\r\n")
        try:
            self.sock.sendall(b"".join(out))
        except OSError:
            pass  # the next read notices the client is gone

    def read(self) -> tuple[list[bytes] | bytes | None, int]:
        """The next request (argv, argc); (None, 0) when the client is gone; an error
        message (bytes) that aborts the script."""
        while True:
            argv, err = parse_command(self.buf)
            if err is not None:
                return b"ERR " + err, 0
            if argv is not None:
                self.buf = b""  # (Redis drops whatever followed the request, too)
                return argv, len(argv)
            try:
                data = self.sock.recv(1024)
            except OSError:
                data = b""
            if not data:
                return None, 0
            self.buf += data
            if len(self.buf) > MAX_BUFFER:
                self.buf = b""
                return b"ERR max client buffer reached", 0

    def timed_out(self, reset: bool) -> bool:
        """The line hook's clock: past busy-reply-threshold (5 s if 0) since the last stop?"""
        now = time.monotonic()
        if reset:
            self.started = now
            return False
        return now - self.started >= self.time_limit

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def open_socket(conn: Any) -> socket.socket | None:
    """A blocking duplicate of the client's socket, or None (TLS, no socket)."""
    transport = getattr(conn, "transport", None)
    if transport is None or transport.get_extra_info("sslcontext") is not None:
        return None
    raw = transport.get_extra_info("socket")
    if raw is None:
        return None
    conn.flush()  # what the client is owed goes out before the session's output
    sock = socket.socket(fileno=os.dup(raw.fileno()))
    sock.setblocking(True)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 5, 0))  # as Redis: 5 s
    return sock


def child_ignores_signals() -> None:
    """A forked session's child: SIGTERM/SIGINT are for the server, not for it."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
