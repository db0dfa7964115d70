"""Client memory (CLIENT LIST's tot-mem) and `maxmemory-clients`: disconnecting the clients
that use the most memory when all clients together use more than the limit.

A client's memory follows Redis's getClientMemoryUsage with respdb's figures: a fixed part
(the client structure, a query buffer and a reply buffer as Redis allocates them), the unread
input, the arguments of the command being run, unsent output, the queued MULTI commands, and
small per-item costs for watched keys, subscriptions and tracking prefixes.

`total` is the sum over the clients that can be evicted (normal and Pub/Sub clients; not the
master or replicas), updated when a client's memory is re-measured: before each of its
commands, when a read leaves part of a request waiting, when output is written to it, and for
every client from the cron. Eviction, largest client first and never a `CLIENT NO-EVICT on`
one, runs where Redis runs it: before each command (which is not run when its own client
went) and at the end of each event-loop iteration. Nothing here runs while the limit is 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from respdb.config import parse_memory

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine

BASE = 37632  # an idle client's tot-mem on Redis 7.0: the structure and both buffers
QUERY_BUF = 20474  # the query buffer within it (CLIENT LIST's qbuf-free when empty)
MULTI_CMD = 24  # a queued command (Redis's multiCmd)
ROBJ = 16  # an argument object of a queued command
BUCKET_MIN_LOG, BUCKETS = 15, 19  # Redis's CLIENT_MEM_USAGE_BUCKET_MIN_LOG and bucket count
WATCHED_KEY = 56  # a list node and a watchedKey
CHANNEL = 32  # a dict entry and its bucket
PATTERN = 24  # a list node
PREFIX = 32  # a rax node, as Redis underestimates it


def usage(c: Client, argv: list[bytes] | None = None) -> int:
    """The client's memory in bytes (`argv`: the command about to run, counted as Redis's
    argv_len_sum is while it runs)."""
    conn = c.conn
    mem = BASE
    if conn is not None and hasattr(conn, "input_memory"):
        mem += max(0, conn.input_memory() - QUERY_BUF) + conn.output_size()
    else:
        mem += max(0, c.qbuf - QUERY_BUF)
    if argv is not None:
        mem += sum(map(len, argv)) + 8 * len(argv)
    if c.multi:
        mem += multi_memory(c) + sum(ROBJ * len(a) for _, a in c.multi)
    if c.watched:
        mem += WATCHED_KEY * len(c.watched)
    if c.subs or c.psubs or c.ssubs:
        mem += CHANNEL * (len(c.subs) + len(c.ssubs)) + PATTERN * len(c.psubs)
    if c.tracking is not None and c.tracking.prefixes:
        mem += PREFIX * len(c.tracking.prefixes)
    return mem


def multi_memory(c: Client) -> int:
    """CLIENT LIST's multi-mem: the queued commands' argument bytes and structures."""
    return sum(MULTI_CMD + sum(map(len, a)) for _, a in c.multi) if c.multi else 0


def counted(c: Client) -> bool:
    """Normal and Pub/Sub clients count (Redis's CLIENT_TYPE_NORMAL and _PUBSUB), not the
    master, replicas or the internal AOF and script clients."""
    return c.kind == "normal" and not c.closed


def measure(engine: Engine) -> dict[int, int]:
    """Every counted client's memory, by client id."""
    return {c.id: usage(c) for c in engine.clients.values() if counted(c)}


class ClientEviction:
    __slots__ = ("engine", "limit", "total", "mem")

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.limit = 0  # bytes; 0: off
        self.total = 0
        self.mem: dict[int, int] = {}  # client id -> its last measured memory (counted ones)

    def configure(self) -> None:
        """maxmemory-clients: bytes, or a percentage of maxmemory (off while maxmemory is 0)."""
        cfg = self.engine.config
        value = cfg["maxmemory-clients"]
        if value.endswith("%"):
            limit = cfg.get_int("maxmemory") * int(value[:-1]) // 100
        else:
            limit = parse_memory(value) or 0
        was = self.limit
        self.limit = limit
        if bool(was) != bool(limit):
            self.mem = {}
            self.total = 0
            self.engine.update_gates()  # clients are gated while a limit is set (the check)
        if limit:
            self.measure_all()

    def note(self, c: Client) -> None:
        """Re-measure one client."""
        old = self.mem.pop(c.id, 0)
        if counted(c):
            self.mem[c.id] = new = usage(c)
            self.total += new - old
        else:
            self.total -= old

    def forget(self, c: Client) -> None:
        self.total -= self.mem.pop(c.id, 0)

    def measure_all(self) -> None:
        self.mem = measure(self.engine)
        self.total = sum(self.mem.values())

    def evict(self) -> None:
        """Disconnect the largest evictable clients until all clients fit under the limit."""
        if self.total < self.limit:
            return
        self.measure_all()  # (the figures of clients not measured lately may be stale)
        if self.total < self.limit:
            return
        e = self.engine
        from respdb.commands.connection import client_info_line

        candidates = sorted(
            (c for c in e.clients.values() if not c.no_evict and c.id in self.mem),
            key=lambda c: self.mem[c.id],
            reverse=True,
        )
        for c in candidates:
            if self.total < self.limit:
                break
            e.log("notice", "Evicting client: %s" % client_info_line(c).decode("utf-8", "replace"))
            e.stats["evicted_clients"] += 1
            c.kill()  # (drop_client forgets it)
        else:
            if self.total >= self.limit:
                e.log("warning", "Over client maxmemory after evicting all evictable clients")

    def buckets_report(self) -> str:
        """DEBUG CLIENT-EVICTION: evictable clients by size, in Redis's power-of-two buckets
        (the first up to 32 KB, the last from 4 GB). The client asking is left out, as Redis
        takes a client out of its bucket while it runs a command."""
        sums = [0] * BUCKETS
        counts = [0] * BUCKETS
        for c in self.engine.clients.values():
            mem = self.mem.get(c.id)
            if mem is None or c.no_evict or c is self.engine.current:
                continue
            j = 0 if mem < 1 << BUCKET_MIN_LOG else min(mem.bit_length() - BUCKET_MIN_LOG, BUCKETS - 1)
            sums[j] += mem
            counts[j] += 1
        lines = []
        for j in range(BUCKETS):
            low = "bucket %10d" % (1 << (j - 1 + BUCKET_MIN_LOG) if j else 0)
            high = "+            : " if j == BUCKETS - 1 else " - %10d: " % ((1 << (j + BUCKET_MIN_LOG)) - 1)
            lines.append(low + high + "tot-mem: %10d, clients: %d\n" % (sums[j], counts[j]))
        return "".join(lines)

    def before_command(self, c: Client) -> bool:
        """Redis's evictClients() in processCommand; False when `c` itself was evicted. As
        there, the command's own arguments are not counted (Redis measures a client after
        its reads and commands; a big argument is counted while it arrives)."""
        self.note(c)
        if self.total >= self.limit:
            self.evict()
        return not c.closed
