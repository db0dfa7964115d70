"""Per-connection state. The engine sees clients only through this object.

`conn` is whatever carries bytes (a TCP/Unix transport in net.py, nothing for the
embedded client); the engine only calls `conn.write()` for out-of-band output and
`conn.close()` to kill.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from respdb.keyspace import Database

if TYPE_CHECKING:
    from respdb.engine import Engine

REPLY_ON, REPLY_OFF, REPLY_SKIP_NEXT, REPLY_SKIP = 0, 1, 2, 3
REPLY_REPLICA = 4  # a replica's link carries no replies: one is a reason to drop it


class Client:
    __slots__ = (
        "id", "engine", "db", "proto", "name", "conn", "addr", "laddr", "fd", "ctime",
        "last_interaction", "last_cmd", "authenticated", "user", "flags", "reply_mode",
        "rewrite", "close_after_reply", "closed", "kind", "no_evict", "qbuf", "obuf",
        "lib_name", "lib_ver", "gated", "bstate", "unblocking", "pushed", "multi", "multi_error",
        "watched", "dirty_cas", "in_multi", "subs", "psubs", "ssubs", "obuf_soft_since", "tracking", "ldb",
        "qb_alloc", "qb_peak", "rb_size", "rb_peak", "rb_reset",
    )  # fmt: skip

    def __init__(self, engine: Engine, conn: Any = None, addr: str = "", laddr: str = "", fd: int = -1) -> None:
        self.engine = engine
        self.id = engine.next_client_id()
        self.db: Database = engine.dbs[0]
        self.proto = 2
        self.name = b""
        self.conn = conn
        self.addr = addr
        self.laddr = laddr
        self.fd = fd
        self.ctime = time.monotonic()
        self.last_interaction = Database.clock  # whole seconds, as Redis's lastinteraction
        self.last_cmd: Any = None  # the last Command run (CLIENT LIST's cmd=)
        self.authenticated = not engine.auth_required()
        self.user = "default"
        self.flags = ""
        self.reply_mode = REPLY_ON
        # Set by a handler whose effect must be propagated in another form.
        self.rewrite: list[list[bytes]] | None = None
        self.close_after_reply = False
        self.closed = False
        self.kind = "normal"
        self.no_evict = False
        self.qbuf = 0
        self.obuf = 0
        # Redis's query and reply buffer sizes for CLIENT LIST (respdb/buffers.py)
        self.qb_alloc = 0
        self.qb_peak = 0
        self.rb_size = self.rb_peak = 16384
        self.rb_reset = int(time.monotonic() * 1000)
        self.lib_name = b""
        self.lib_ver = b""
        # Blocking state (blocking.BlockState) while parked on keys; `unblocking` is set while
        # the engine re-runs the command for it; `pushed` collects out-of-band replies when
        # there is no connection (embedded use, tests).
        self.bstate: Any = None
        self.unblocking = False
        self.pushed: list[bytes] = []
        # MULTI state: queued (Command, argv) pairs, or None outside a transaction; whether a
        # queued command was refused (EXEC then aborts); watched keys; a watched key changed.
        self.multi: list[tuple[Any, list[bytes]]] | None = None
        self.multi_error = False
        self.watched: list[Any] = []
        self.dirty_cas = False
        self.in_multi = False  # set while EXEC runs the queue (blocking commands don't block)
        # Pub/Sub subscriptions (insertion-ordered dicts used as sets).
        self.subs: dict[bytes, None] = {}
        self.psubs: dict[bytes, None] = {}
        self.ssubs: dict[bytes, None] = {}
        self.obuf_soft_since = 0.0
        self.tracking: Any = None  # tracking.TrackingState while CLIENT TRACKING is on
        self.ldb: str | None = None  # SCRIPT DEBUG "yes" or "sync": the next EVAL is debugged
        # True when something (auth, MULTI, ...) needs the slow pre-call checks for this client.
        self.gated = not self.authenticated or self.user in engine.acl.restricted

    def update_gate(self) -> None:
        self.gated = (
            bool(self.engine.pause_mode)
            or self.engine.disk_error
            or self.engine.evict_on
            or self.engine.client_eviction.limit > 0  # maxmemory-clients: the check before commands
            or self.engine.loading
            or self.engine.persistence.async_loading
            or self.engine.min_replicas
            or self.engine.tracking_over
            or self.engine.corrupt_values
            or not self.authenticated
            or self.user in self.engine.acl.restricted  # an ACL user some command is refused to
            or self.multi is not None
            or (self.proto == 2 and bool(self.subs or self.psubs or self.ssubs))
            or "O" in self.flags  # a monitor: no keyspace commands
            or "S" in self.flags  # a replica: no keyspace commands either
            or (self.engine.replication.upstream is not None and self.kind != "master")  # READONLY
        )

    @property
    def subscribed(self) -> bool:
        return bool(self.subs or self.psubs or self.ssubs)

    def propagate_as(self, *argvs: list[bytes]) -> None:
        """Replace what gets propagated for the current command."""
        self.rewrite = list(argvs)

    def kill(self) -> None:
        """Disconnect now, dropping unsent output (CLIENT KILL, output limits, timeouts)."""
        if self.closed:
            return
        if self.conn is not None:
            self.conn.abort()
        self.engine.drop_client(self)
