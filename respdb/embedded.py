"""respdb inside a Python program: the same engine, no separate server process.

Two ways in:

- `Embedded` runs commands synchronously in the calling thread, straight through the
  engine's dispatch (same checks, same replies, decoded with hiredis):

      db = Embedded()
      db.execute("SET", "k", "v")      # b"OK"
      db.execute("GET", "k")           # b"v"

- `EmbeddedServer` runs the engine on a private event loop in a background thread,
  listening on a Unix socket in a temporary directory, so any client library — including
  redis-py with blocking commands and Pub/Sub — can use it with no TCP port:

      with EmbeddedServer() as srv:
          r = srv.redis()              # a redis.Redis bound to the in-process server

The engine is single-threaded: an `Embedded` instance must be used from one thread, and
an `EmbeddedServer`'s engine is only touched by its own thread.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import time
from typing import Any

import hiredis

from respdb.config import Config
from respdb.engine import Engine
from respdb.keyspace import Database


class ResponseError(Exception):
    """An error reply (the message without the leading '-')."""


def _config(options: dict[str, Any]) -> Config:
    cfg = Config()
    # Inside a host program a damaged RESTORE payload is refused rather than kept until a read
    # stops the process, as a server without deep sanitization does (docs/persistence.md).
    cfg.set("sanitize-dump-payload", "yes")
    for name, value in options.items():
        canon = cfg.canonical(name.replace("_", "-"))
        if canon is None:
            raise ValueError(f"unknown configuration parameter {name!r}")
        cfg.set(canon, str(value))
    return cfg


def _decode(reply: bytes) -> Any:
    reader = hiredis.Reader()
    reader.feed(reply)
    value = reader.gets()
    if isinstance(value, hiredis.ReplyError):
        raise ResponseError(str(value))
    return _raise_nested(value)


def _raise_nested(value: Any) -> Any:
    if isinstance(value, list):
        return [_raise_nested(v) if not isinstance(v, hiredis.ReplyError) else ResponseError(str(v)) for v in value]
    return value


class Embedded:
    """An engine with one client, driven synchronously from Python."""

    def __init__(self, engine: Engine | None = None, protocol: int = 2, **config: Any) -> None:
        self.engine = engine or Engine(_config(config))
        self.client = self.engine.new_client()
        if protocol == 3:
            self.execute("HELLO", "3")

    def execute(self, *args: Any) -> Any:
        """Run one command; returns the decoded reply, raises ResponseError on an error reply."""
        return _decode(self.execute_raw(*args))

    def execute_raw(self, *args: Any) -> bytes:
        """Run one command and return the exact RESP bytes a network client would get."""
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        # No server cron here to advance the seconds clock (idle times, LRU/LFU): do it per call.
        Database.clock = int(time.monotonic())
        reply = self.engine.execute(self.client, argv)
        self.engine.before_sleep()
        return reply

    def tick(self) -> None:
        """Run the periodic work (active expiry, timeouts) a server runs `hz` times a second."""
        self.engine.cron()


class EmbeddedServer:
    """The full server (net layer included) on a Unix socket, in a background thread."""

    def __init__(self, **config: Any) -> None:
        self._dir = tempfile.mkdtemp(prefix="respdb-")
        self.socket_path = os.path.join(self._dir, "respdb.sock")
        config.setdefault("port", 0)
        config.setdefault("save", "")
        self._config = _config({**config, "unixsocket": self.socket_path})
        self._config.values["dir"] = self._dir
        self.engine = Engine(self._config)
        self.engine.logfile = open(os.devnull, "w")  # noqa: SIM115 - closed in stop()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._error: BaseException | None = None

    def start(self) -> EmbeddedServer:
        self._thread = threading.Thread(target=self._run, name="respdb-embedded", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"embedded respdb failed to start: {self._error}")
        return self

    def _run(self) -> None:
        from respdb.net import Server

        try:
            import uvloop

            loop = uvloop.new_event_loop()
        except ImportError:  # pragma: no cover
            loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = Server(self.engine)
        try:
            loop.run_until_complete(self._server.start(signals=False))
        except BaseException as err:  # report start-up failures to the caller
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        loop.run_until_complete(self._server.wait_closed())
        loop.close()

    def stop(self) -> None:
        if self._loop is not None and self._server is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._server.request_shutdown, [])
            self._thread.join(30)
        self.engine.logfile.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def redis(self, **kwargs: Any) -> Any:
        """A redis-py client connected to this server."""
        import redis

        return redis.Redis(unix_socket_path=self.socket_path, **kwargs)

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
