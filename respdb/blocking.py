"""Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK, ...).

A blocking handler that finds nothing to serve calls `Blocking.block()` and returns
`BLOCKED`. Writes that may satisfy waiters call `signal_ready(db, key)`; after the
current command (or EXEC, or script) finishes, the engine calls `serve_ready()`, which
re-runs each waiting client's command in the order the clients blocked. A handler run
for a waiter sees `c.unblocking` set: if there is still nothing for it, it returns
`BLOCKED` again and the client keeps its place. Timeouts are kept in a heap; the server
schedules a wake-up at the earliest deadline, and `handle_timeouts()` answers the
clients whose time ran out with the command's timeout reply.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from respdb.errors import CommandError
from respdb.types.strings import LongDoubleError, parse_ld

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine
    from respdb.keyspace import Database

BLOCKED = b""  # what a handler returns when its client is now blocked (nothing to send yet)
LLONG_MAX = 2**63 - 1


class BlockState:
    __slots__ = ("db", "keys", "deadline", "cmd", "argv", "timeout_reply", "seq", "rearmed")

    def __init__(self, db: Database, keys: list[bytes], deadline: float, cmd: Any, argv: list[bytes],
                 timeout_reply: bytes, seq: int) -> None:  # fmt: skip
        self.db = db
        self.keys = keys
        self.deadline = deadline  # time.monotonic() seconds; 0 = no timeout
        self.cmd = cmd
        self.argv = argv
        self.timeout_reply = timeout_reply
        self.seq = seq
        self.rearmed = False  # set when a re-run for this waiter blocked again


def parse_timeout(b: bytes, seconds: bool = True) -> float:
    """Redis's getTimeoutFromObjectOrReply: return a relative timeout in seconds (0 = forever)."""
    if seconds:
        try:
            v = parse_ld(b)
        except LongDoubleError:
            raise CommandError("ERR timeout is not a float or out of range") from None
        ms = float(v) * 1000.0
        if ms != ms:
            raise CommandError("ERR timeout is not a float or out of range")
    else:
        from respdb.commands.args import parse_ll

        iv = parse_ll(b)
        if iv is None:
            raise CommandError("ERR timeout is not an integer or out of range")
        ms = float(iv)
    if ms < 0:
        raise CommandError("ERR timeout is negative")
    if ms >= 1 and int(ms) > LLONG_MAX - int(time.time() * 1000):
        raise CommandError("ERR timeout is out of range")
    return int(ms) / 1000.0


class Blocking:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ready: list[tuple[Database, bytes]] = []
        self._ready_set: set[tuple[int, bytes]] = set()
        self.heap: list[tuple[float, int, Client]] = []
        self._seq = itertools.count(1)
        self.count = 0  # clients blocked right now
        # Set by the server: schedule a call of handle_timeouts() after `delay` seconds.
        self.wake_after: Callable[[float], None] | None = None

    # -- blocking ----------------------------------------------------------

    def block(self, c: Client, keys: list[bytes], timeout: float, argv: list[bytes], timeout_reply: bytes) -> bytes:
        """Park `c` on `keys` (timeout in seconds, 0 = forever); returns BLOCKED."""
        if c.bstate is not None:  # a waiter re-run that still finds nothing: keep its place
            c.bstate.rearmed = True
            return BLOCKED
        db = c.db
        deadline = time.monotonic() + timeout if timeout > 0 else 0.0
        seq = next(self._seq)
        cmd = self.engine.table.lookup(argv[0])
        c.bstate = BlockState(db, list(dict.fromkeys(keys)), deadline, cmd, argv, timeout_reply, seq)
        for k in c.bstate.keys:
            waiters = db.blocking.get(k)
            if waiters is None:
                db.blocking[k] = waiters = deque()
            waiters.append(c)
        self.count += 1
        if deadline:
            heapq.heappush(self.heap, (deadline, seq, c))
            if self.wake_after is not None:
                self.wake_after(timeout)
        return BLOCKED

    def _detach(self, c: Client) -> None:
        st = c.bstate
        if st is None:
            return
        for k in st.keys:
            waiters = st.db.blocking.get(k)
            if waiters is not None:
                try:
                    waiters.remove(c)
                except ValueError:
                    pass
                if not waiters:
                    del st.db.blocking[k]
        c.bstate = None
        self.count -= 1

    def _deliver(self, c: Client, reply: bytes) -> None:
        if c.conn is not None:
            c.conn.unblocked(reply)
        else:
            c.pushed.append(reply)

    # -- waking ------------------------------------------------------------

    def signal_ready(self, db: Database, key: bytes) -> None:
        if key in db.blocking:
            ident = (db.id, key)
            if ident not in self._ready_set:
                self._ready_set.add(ident)
                self.ready.append((db, key))

    def serve_ready(self) -> None:
        e = self.engine
        while self.ready:
            batch = self.ready
            self.ready = []
            self._ready_set.clear()
            for db, key in batch:
                waiters = db.blocking.get(key)
                if not waiters:
                    continue
                for c in list(waiters):
                    st = c.bstate
                    if st is None or c.closed:
                        continue
                    saved_db = c.db
                    c.db = st.db
                    c.unblocking = True
                    st.rearmed = False
                    try:
                        reply = e.call(c, st.cmd, st.argv)
                    finally:
                        c.unblocking = False
                        c.db = saved_db
                    if st.rearmed:
                        break  # nothing left for the rest of the queue either
                    self._detach(c)
                    self._deliver(c, reply)

    def handle_timeouts(self) -> None:
        now = time.monotonic()
        heap = self.heap
        while heap and heap[0][0] <= now:
            deadline, seq, c = heapq.heappop(heap)
            st = c.bstate
            if st is None or st.seq != seq:
                continue
            self._detach(c)
            self._deliver(c, st.timeout_reply)
        if heap and self.wake_after is not None:
            self.wake_after(max(0.0, heap[0][0] - now))

    def unblock(self, c: Client, reply: bytes) -> bool:
        """CLIENT UNBLOCK: answer `reply` now. False if the client was not blocked."""
        st = c.bstate
        if st is None:
            return False
        self._detach(c)
        self._deliver(c, reply)
        return True

    def disconnect(self, c: Client) -> None:
        self._detach(c)
