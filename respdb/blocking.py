"""Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK, ...).

A blocking handler that finds nothing to serve calls `Blocking.block()` and returns
`BLOCKED`. Writes that may satisfy waiters call `signal_ready(db, key)`; after the
current command (or EXEC, or script) finishes, the engine calls `serve_ready()`, which
re-runs each waiting client's command in the order the clients blocked. A handler run
for a waiter sees `c.unblocking` set and `c.bstate.ready_key` naming the key that woke
it (Redis 7.0 serves a waiter from that key, not from the first non-empty key it names);
if there is nothing for it there (emptied, or now another type), it returns `BLOCKED`
again and keeps its place, and the next waiter of that key is tried while the key still
exists. Timeouts and CLIENT UNBLOCK count as one call of the command, like Redis's
updateStatsOnUnblock. Timeouts are kept in a heap; the server
schedules a wake-up at the earliest deadline, and `handle_timeouts()` answers the
clients whose time ran out with the command's timeout reply.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from respdb.errors import CommandError
from respdb.types.strings import LongDoubleError, parse_ld, round_ld

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine
    from respdb.keyspace import Database

BLOCKED = b""  # what a handler returns when its client is now blocked (nothing to send yet)
LLONG_MAX = 2**63 - 1
FOREVER_MS = 100 * 365 * 86400 * 1000  # longer timeouts wait forever (see parse_timeout)


class BlockState:
    __slots__ = ("db", "keys", "deadline", "cmd", "argv", "timeout_reply", "seq", "rearmed", "ready_key", "on_delete")

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
        # While the engine re-runs the command for this waiter: the key whose change woke it.
        # Redis serves a waiter from that key, not from the first non-empty key it names.
        self.ready_key: bytes | None = None
        # Set by commands that must be re-run when a key they wait on is deleted (XREADGROUP).
        self.on_delete = False


def parse_timeout(b: bytes, seconds: bool = True) -> float:
    """Redis 7.0's getTimeoutFromObjectOrReply: a relative timeout in seconds (0 = forever).

    Seconds are a long double, multiplied by 1000 and rounded up to whole milliseconds
    (so 0.0001 waits 1 ms while -0.0001 means forever). A value outside the 64-bit range
    becomes LLONG_MIN in the C cast, hence "timeout is negative" for 1e16 or inf. Redis
    has no upper limit beyond that; deadlines past any practical horizon are kept as
    "forever" here so that timers stay representable.
    """
    if seconds:
        try:
            v = parse_ld(b)
        except LongDoubleError:
            raise CommandError("ERR timeout is not a float or out of range") from None
        if isinstance(v, float):  # +/-inf
            raise CommandError("ERR timeout is negative")
        try:
            ms = math.ceil(round_ld(v * 1000))
        except OverflowError:
            ms = -LLONG_MAX - 1
        if not -LLONG_MAX - 1 <= ms <= LLONG_MAX:
            ms = -LLONG_MAX - 1
    else:
        from respdb.commands.args import parse_ll

        iv = parse_ll(b)
        if iv is None:
            raise CommandError("ERR timeout is not an integer or out of range")
        ms = iv
    if ms < 0:
        raise CommandError("ERR timeout is negative")
    if ms > FOREVER_MS:
        return 0.0
    return ms / 1000.0


def blocking_denied(c: Client) -> bool:
    """Inside EXEC (and scripts) a blocking command must answer at once, as on timeout."""
    return getattr(c, "in_multi", False) or getattr(c, "deny_blocking", False)


class Blocking:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ready: list[tuple[Database, bytes]] = []
        self._ready_set: set[tuple[int, bytes]] = set()
        self.heap: list[tuple[float, int, Client]] = []
        self._seq = itertools.count(1)
        self.count = 0  # clients blocked right now
        self.postponed: deque[Client] = deque()  # clients held by CLIENT PAUSE, in order
        self.shutdown_waiters: list[Client] = []  # SHUTDOWN callers while replicas catch up
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
        cmd = self.engine.lookup(argv[0])
        c.bstate = BlockState(db, list(dict.fromkeys(keys)), deadline, cmd, argv, timeout_reply, seq)
        for k in c.bstate.keys:
            waiters = db.blocking.get(k)
            if waiters is None:
                db.blocking[k] = waiters = deque()
            waiters.append(c)
        self.count += 1
        self.engine.quiet = False
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
        if st.keys:
            self.engine.update_quiet()

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
                self.engine.post_work = True

    def serve_ready(self) -> None:
        """Serve waiters of the keys signalled ready, key by key in signal order, each key's
        waiters in the order they blocked (Redis's handleClientsBlockedOnKeys). Keys that
        the serving itself makes ready (BLMOVE's push) are handled in a following round."""
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
                    if key not in db.data and not st.on_delete:
                        continue  # emptied (or never there): keeps waiting
                    saved_db = c.db
                    c.db = st.db
                    c.unblocking = True
                    st.rearmed = False
                    st.ready_key = key
                    try:
                        reply = e.call(c, st.cmd, st.argv)
                    finally:
                        c.unblocking = False
                        c.db = saved_db
                        st.ready_key = None
                    if st.rearmed:
                        continue  # not servable from this key (e.g. another type): keeps waiting
                    if e.tracking_pending:  # invalidations this waiter's own command caused
                        reply = e._send_pending_invalidations(c, reply)
                    self._detach(c)
                    self._deliver(c, reply)

    # -- CLIENT PAUSE: postponed clients ---------------------------------------

    def postpone(self, c: Client, argv: list[bytes]) -> bytes:
        """Hold `c` (and its later requests) until the pause ends; its command then runs."""
        c.bstate = BlockState(c.db, [], 0.0, None, argv, b"", next(self._seq))
        self.postponed.append(c)
        self.count += 1
        return BLOCKED

    def release_postponed(self) -> None:
        e = self.engine
        waiting = self.postponed
        self.postponed = deque()
        for c in waiting:
            st = c.bstate
            if st is None or c.closed:
                continue
            c.bstate = None
            self.count -= 1
            reply = e.execute(c, st.argv)
            if c.bstate is None:
                self._deliver(c, reply)

    # -- SHUTDOWN: callers wait for the server to exit ---------------------------------

    def block_shutdown(self, c: Client, argv: list[bytes]) -> bytes:
        """Hold a SHUTDOWN caller: it hears nothing if the server exits, or an error."""
        c.bstate = BlockState(c.db, [], 0.0, self.engine.lookup(argv[0]), argv, b"", next(self._seq))
        self.shutdown_waiters.append(c)
        self.count += 1
        return BLOCKED

    def answer_shutdown_waiters(self, reply: bytes) -> None:
        waiting, self.shutdown_waiters = self.shutdown_waiters, []
        for c in waiting:
            if c.bstate is not None and not c.closed:
                self.count -= 1
                c.bstate = None
                self._deliver(c, reply)

    def handle_timeouts(self) -> None:
        if self.engine.pause_mode:
            self.engine.check_pause_end()
        now = time.monotonic()
        heap = self.heap
        while heap and heap[0][0] <= now:
            deadline, seq, c = heapq.heappop(heap)
            st = c.bstate
            if st is None or st.seq != seq:
                continue
            self._finish(c, st.timeout_reply)
        if heap and self.wake_after is not None:
            self.wake_after(max(0.0, heap[0][0] - now))

    def disconnect_all_blocked(self) -> None:
        """A master turned replica (Redis's disconnectAllBlockedClients): clients blocked on
        keys get an error and are left as if their command had failed."""
        for c in list(self.engine.clients.values()):
            st = c.bstate
            if st is not None and st.keys:
                self._finish(
                    c,
                    self.engine._error(
                        "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
                    ),
                )

    def unblock(self, c: Client, reply: bytes) -> bool:
        """CLIENT UNBLOCK: answer `reply` now. False if the client was not blocked."""
        if c.bstate is None:
            return False
        self._finish(c, reply)
        return True

    def _finish(self, c: Client, reply: bytes) -> None:
        """Answer a waiter without serving it (timeout, CLIENT UNBLOCK). Like Redis, the
        command counts as called once now, and as failed when the answer is an error."""
        cmd = c.bstate.cmd
        if cmd is not None:
            cmd.calls += 1
            cmd.hist[0] -= 1  # a call without a latency sample (see latency.py)
            if reply[:1] == b"-":
                cmd.failed_calls += 1
        self._detach(c)
        self._deliver(c, reply)

    def disconnect(self, c: Client) -> None:
        if c.bstate is not None and not c.bstate.keys and c in self.shutdown_waiters:
            self.shutdown_waiters.remove(c)
            c.bstate = None
            self.count -= 1
            return
        if c.bstate is not None and not c.bstate.keys and c in self.postponed:
            self.postponed.remove(c)
            c.bstate = None
            self.count -= 1
            return
        self._detach(c)
