"""MIGRATE: move keys to another server with DUMP payloads and RESTORE, as Redis does.

Like Redis, the transfer is synchronous: the server waits for the target (at most `timeout`
milliseconds per connect, write and read), so a large migration pauses everyone. Connections
are kept per target for 10 seconds of idleness (INFO's migrate_cached_sockets), remembering
the database last SELECTed on them. Keys the target accepted are deleted here (unless COPY)
and the command is propagated as a DEL of exactly those keys.
"""

from __future__ import annotations

import random
import socket
import time
from typing import Any

from respdb import errors
from respdb.commands.args import get_int
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.keyspace import now_ms
from respdb.notify import GENERIC
from respdb.persistence import rdb
from respdb.persistence.aof import encode
from respdb.resp import OK

CACHE_ITEMS = 64  # MIGRATE_SOCKET_CACHE_ITEMS
CACHE_TTL = 10  # seconds an unused connection is kept (MIGRATE_SOCKET_CACHE_TTL)


class _Target:
    __slots__ = ("sock", "last_dbid", "last_use", "buf")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.last_dbid = -1
        self.last_use = time.monotonic()
        self.buf = b""

    def line(self) -> bytes:
        """One reply line (without CRLF); raises OSError on a timeout or a closed connection."""
        while True:
            eol = self.buf.find(b"\r\n")
            if eol >= 0:
                out, self.buf = self.buf[:eol], self.buf[eol + 2 :]
                return out
            chunk = self.sock.recv(65536)
            if not chunk:
                raise OSError("connection closed")
            self.buf += chunk


def _cache(e: Any) -> dict[str, _Target]:
    cache = e.__dict__.get("migrate_cache")
    if cache is None:
        cache = e.migrate_cache = {}
    return cache


def cached_sockets(e: Any) -> int:
    return len(e.__dict__.get("migrate_cache") or ())


def close_idle(e: Any) -> None:
    """From the cron: drop connections unused for CACHE_TTL seconds."""
    cache = e.__dict__.get("migrate_cache")
    if not cache:
        return
    now = time.monotonic()
    for name, t in list(cache.items()):
        if now - t.last_use > CACHE_TTL:
            t.sock.close()
            del cache[name]


def _close(e: Any, name: str) -> None:
    t = _cache(e).pop(name, None)
    if t is not None:
        t.sock.close()


def _target(e: Any, host: str, port: int, timeout_s: float) -> _Target | None:
    cache = _cache(e)
    name = "%s:%d" % (host, port)
    t = cache.get(name)
    if t is not None:
        t.last_use = time.monotonic()
        return t
    if len(cache) >= CACHE_ITEMS:
        _close(e, random.choice(list(cache)))
    try:
        source = e.config["bind-source-addr"]
        sock = socket.create_connection((host, port), timeout=timeout_s, source_address=(source, 0) if source else None)
    except OSError:
        return None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(timeout_s)
    t = cache[name] = _Target(sock)
    return t


@command("migrate")
def cmd_migrate(c, argv):
    e = c.engine
    n = len(argv)
    copy = replace = False
    auth: list[bytes] | None = None
    keys = [argv[3]]
    j = 6
    while j < n:
        opt = argv[j].lower()
        more = n - j - 1
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if not more:
                raise CommandError(errors.SYNTAX)
            auth = [argv[j + 1]]
            j += 1
        elif opt == b"auth2":
            if more < 2:
                raise CommandError(errors.SYNTAX)
            auth = [argv[j + 1], argv[j + 2]]
            j += 2
        elif opt == b"keys":
            if argv[3]:
                raise CommandError(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
                )
            keys = argv[j + 1 :]
            break
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    timeout = get_int(argv[5])
    dbid = get_int(argv[4])
    if timeout <= 0:
        timeout = 1000
    db = c.db
    found = [(k, v) for k in keys if (v := db.read(k)) is not None]
    if not found:
        return b"+NOKEY\r\n"
    host = argv[1].decode("utf-8", "surrogateescape")
    port = get_int(argv[2])
    name = "%s:%d" % (host, port)
    cfg = e.config
    compress = cfg["rdbcompression"] == "yes"
    fill = cfg.get_int("list-max-listpack-size")
    restore = b"RESTORE-ASKING" if cfg["cluster-enabled"] == "yes" else b"RESTORE"
    may_retry = True
    while True:
        t = _target(e, host, port, timeout / 1000.0)
        if t is None:
            raise CommandError("IOERR error or timeout connecting to the client")
        select = t.last_dbid != dbid
        out = []
        if auth is not None:
            out.append(encode([b"AUTH", *auth]))
        if select:
            out.append(encode([b"SELECT", b"%d" % dbid]))
        now = now_ms()
        for key, value in found:
            when = db.expires.get(key)
            ttl = 0 if when is None else max(1, when - now)
            args = [restore, key, b"%d" % ttl, rdb.dump_payload(value, compress, fill)]
            if replace:
                args.append(b"REPLACE")
            out.append(encode(args))
        writing = True
        moved: list[bytes] = []
        error: bytes | None = None
        try:
            t.sock.sendall(b"".join(out))
            writing = False
            auth_reply = t.line() if auth is not None else b""
            select_reply = t.line() if select else b""
            for key, _ in found:
                reply = t.line()
                if auth_reply[:1] == b"-" or select_reply[:1] == b"-" or reply[:1] == b"-":
                    if error is None:  # the first error is the one reported
                        t.last_dbid = -1
                        error = (auth_reply if auth_reply[:1] == b"-" else
                                 select_reply if select_reply[:1] == b"-" else reply)[1:]  # fmt: skip
                elif not copy:
                    if db.delete(key):
                        e.written(db, key, "del", GENERIC)
                    moved.append(key)
        except OSError as err:
            _close(e, name)
            if moved:
                c.propagate_as([b"DEL", *moved])
            timed_out = isinstance(err, TimeoutError)
            if may_retry and not timed_out and not moved:
                may_retry = False
                continue
            raise CommandError(
                "IOERR error or timeout %s to target instance" % ("writing" if writing else "reading")
            ) from None
        if moved:
            c.propagate_as([b"DEL", *moved])
        if error is not None:
            raise CommandError("ERR Target instance replied with error: %s" % error.decode("utf-8", "replace"))
        t.last_dbid = dbid
        return OK
