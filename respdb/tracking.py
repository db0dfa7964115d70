"""Client-side caching: CLIENT TRACKING's invalidation tables and messages.

Default mode remembers, per key name (across databases, as Redis does), the clients
that read it; the first change to the key sends each of them one invalidation and
forgets the key. BCAST mode instead registers prefixes; changed keys under a prefix
are collected and sent to its clients in one message when the engine flushes them
(after each request batch). Messages go as RESP3 pushes, or — for a RESP2 client that
redirects to a subscribed connection — as Pub/Sub messages on `__redis__:invalidate`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from respdb.commands.keyspecs import get_keys
from respdb.commands.table import PUBSUB
from respdb.resp import bulk

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine

CHANNEL = b"__redis__:invalidate"


class TrackingState:
    """Per-client tracking options (present only while tracking is on)."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "broken", "prefixes")

    def __init__(self, redirect: int, bcast: bool, optin: bool, optout: bool, noloop: bool) -> None:
        self.redirect = redirect
        self.bcast = bcast
        self.optin = optin
        self.optout = optout
        self.noloop = noloop
        self.caching = False  # CLIENT CACHING given for the next command
        self.broken = False
        self.prefixes: list[bytes] = []


class Tracking:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table: dict[bytes, dict[int, None]] = {}  # key -> ids of clients that read it
        self.items = 0
        self.prefixes: dict[bytes, dict[Client, None]] = {}  # BCAST prefix -> clients
        self.bcast_pending: dict[bytes, dict[bytes, Client | None]] = {}  # prefix -> key -> modifier
        self.clients = 0

    # -- enabling ------------------------------------------------------------

    def enable(self, c: Client, redirect: int, bcast: bool, optin: bool, optout: bool, noloop: bool,
               prefixes: list[bytes]) -> None:  # fmt: skip
        if c.tracking is None:
            self.clients += 1
            self.engine.quiet = False
            st = TrackingState(redirect, bcast, optin, optout, noloop)
        else:
            st = c.tracking
            st.redirect, st.bcast, st.optin, st.optout, st.noloop = redirect, bcast, optin, optout, noloop
            st.broken = False
        c.tracking = st
        if bcast:
            for p in prefixes or [b""]:
                if p not in st.prefixes:
                    st.prefixes.append(p)
                    st.prefixes.sort()
                    self.prefixes.setdefault(p, {})[c] = None

    def disable(self, c: Client) -> None:
        st = c.tracking
        if st is None:
            return
        for p in st.prefixes:
            clients = self.prefixes.get(p)
            if clients is not None:
                clients.pop(c, None)
                if not clients:
                    del self.prefixes[p]
                    self.bcast_pending.pop(p, None)
        c.tracking = None
        self.clients -= 1
        self.engine.update_quiet()

    # -- remembering reads -------------------------------------------------------

    def remember(self, c: Client, cmd: Any, argv: list[bytes]) -> None:
        st = c.tracking
        if (st.optin and not st.caching) or (st.optout and st.caching):
            return
        if cmd.flags & PUBSUB:  # shard channels look like keys but are not cached data
            return
        refs = get_keys(cmd, argv)
        cid = c.id
        table = self.table
        for pos, _flags in refs:
            key = argv[pos]
            ids = table.get(key)
            if ids is None:
                table[key] = ids = {}
            if cid not in ids:
                ids[cid] = None
                self.items += 1
        self.limit_used()

    def limit_used(self) -> None:
        """Redis's trackingLimitUsedSlots: the table back within tracking-table-max-keys, the
        keys let go invalidated (after new keys, from the cron, and before the next command
        when the limit was lowered)."""
        limit = self.engine.config.get_int("tracking-table-max-keys")
        if limit and len(self.table) > limit:
            self._evict(limit)

    def _evict(self, limit: int) -> None:
        while len(self.table) > limit:
            key = next(iter(self.table))
            self.invalidate(key, None, bcast=False)

    # -- invalidation --------------------------------------------------------------

    def invalidate(self, key: bytes, current: Client | None, bcast: bool = True, expired: bool = False) -> None:
        """`current`: the client whose command is running (None outside commands); a script's
        is its caller (Redis's server.current_client). Under NOLOOP it is not told of the key,
        else it is told after its reply. BCAST's NOLOOP compares with the client that changed
        the key, which for an expired key is nobody."""
        if current is not None and current.kind == "script":
            run = self.engine.__dict__["scripting"].run
            current = run.caller if run is not None else None
        if bcast and self.prefixes:
            by = None if expired else current
            for p in self.prefixes:
                if key.startswith(p):
                    self.bcast_pending.setdefault(p, {})[key] = by
        ids = self.table.pop(key, None)
        if ids is None:
            return
        self.items -= len(ids)
        clients = self.engine.clients
        for cid in ids:
            target = clients.get(cid)
            if target is None or target.tracking is None or target.tracking.bcast:
                continue
            if target is current and target.tracking.noloop:
                continue
            if target is current and current is not None:
                self.engine.tracking_pending.append(key)
                self.engine.post_work = True
            else:
                self.send(target, b"*1\r\n" + bulk(key))

    def invalidate_all(self, current: Client | None) -> None:
        """FLUSHDB/FLUSHALL: every tracking client gets a null invalidation, and the whole
        table goes (also keys remembered for clients that have turned tracking off since)."""
        for c in list(self.engine.clients.values()):
            if c.tracking is not None:
                if c is current:
                    self.engine.tracking_pending.append(None)
                    self.engine.post_work = True
                else:
                    self.send(c, b"_\r\n" if c.proto == 3 else b"$-1\r\n")
        self.table.clear()
        self.items = 0

    def message(self, c: Client, value: bytes) -> tuple[Client | None, bytes]:
        """(who receives, bytes) for an invalidation with `value` (an encoded key array or null)."""
        st = c.tracking
        target = c
        redirected = False
        if st is not None and st.redirect:
            target = self.engine.clients.get(st.redirect)
            if target is None:
                st.broken = True
                if c.proto == 3:
                    return c, b">2\r\n" + bulk(b"tracking-redir-broken") + b":%d\r\n" % st.redirect
                return None, b""
            redirected = True
        if target.proto == 3:
            return target, b">2\r\n" + bulk(b"invalidate") + value
        if redirected and target.subscribed:
            return target, b"*3\r\n" + bulk(b"message") + bulk(CHANNEL) + value
        return None, b""  # a RESP2 connection cannot carry pushes

    def send(self, c: Client, value: bytes) -> None:
        target, data = self.message(c, value)
        if target is None or not data:
            return
        if target.conn is not None:
            target.conn.write(data)
        else:
            target.pushed.append(data)

    def flush_broadcasts(self) -> None:
        pending = self.bcast_pending
        if not pending:
            return
        self.bcast_pending = {}
        for prefix, keys in sorted(pending.items()):  # Redis keeps prefixes in a radix tree
            for c in list(self.prefixes.get(prefix, ())):
                if c.tracking is None:
                    continue
                if c.tracking.noloop:
                    ks = [k for k, who in keys.items() if who is not c]
                else:
                    ks = list(keys)
                if ks:
                    self.send(c, b"*%d\r\n" % len(ks) + b"".join(bulk(k) for k in ks))
