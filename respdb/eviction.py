"""maxmemory: used-memory accounting and key eviction (Redis 7.0's evict.c, in our own way).

What counts as used memory. Redis asks its allocator; a Python process has no cheap figure
that falls when a key is deleted (RSS stays high after frees, and tracemalloc slows every
allocation). So while `maxmemory` is set respdb keeps its own account:

    used_memory = a fixed start-up base + estimated size of every key

The base is what an empty Redis 7.0 reports (used_memory_startup, about 860 KB), not the
interpreter's own tens of megabytes: `maxmemory 10mb` then budgets about the data that fits
in 10 MB of Redis, as configurations and tests written for Redis expect. The process's RSS
is that much above used_memory (INFO shows both).

Each key's size is estimated once when it is written (the engine's mutation path records
the key; the estimate is taken before the next command runs) and kept in a per-database
table, so an eviction subtracts exactly what the key was charged. Collections are sized
from `sys.getsizeof` plus a sample of their elements, so a write to a huge list costs O(1).
With `maxmemory 0` nothing is tracked; INFO computes the same account when asked (every key's
estimate for up to EXACT_KEYS keys per database, a sample beyond), so used_memory means the
same thing with and without a limit, and a limit derived from it (`used_memory - 40kb`) evicts
what it would in Redis (see extrapolate() for how a sample stands for the rest).

Eviction follows Redis: before every command (and from the cron while an eviction cycle
ran out of time), keys are evicted until the account is under the limit, choosing them
with `maxmemory-policy`: random picks, or an eviction pool of the best candidates among
`maxmemory-samples` sampled keys per database (idle time for LRU, 255 - counter for LFU,
the soonest expiry for volatile-ttl). `maxmemory-eviction-tenacity` bounds the time spent
per call exactly as Redis computes it; what is left is continued by the cron.
"""

from __future__ import annotations

import random
import sys
import time
from collections import deque
from itertools import islice
from operator import attrgetter, is_not
from typing import Any

from respdb import lfu, notify
from respdb.commands.keyspecs import key_names
from respdb.commands.table import DENYOOM, FAST, MOVABLE_KEYS, READONLY, WRITE
from respdb.keyspace import Database

__all__ = ["DENYOOM", "OOM", "Evictor", "estimate", "is_oom_reject"]

OOM = "OOM command not allowed when used memory > 'maxmemory'."
STARTUP_BASE = 875_976  # used_memory_startup of an empty redis-server 7.0.15 here (INFO memory)

EVICT_OK, EVICT_RUNNING, EVICT_FAIL = 0, 1, 2
POOL_SIZE = 16

# Per key, beyond the key and value objects: its share of the keyspace dict (a 24-byte entry in
# a table kept between 1/3 and 2/3 full, and its index) and of the access-time table.
_DATA = attrgetter("data")
KEY_OVERHEAD = 40
EXPIRE_OVERHEAD = 80
BYTES_HEAD = sys.getsizeof(b"")  # a bytes object's header, with its terminating NUL
SAMPLE = 8
EXACT_KEYS = 20_000  # INFO without maxmemory: databases up to this size are summed key by key
SAMPLE_KEYS = 2_000  # and larger ones extrapolated from this many keys


def obj_size(size: int) -> int:
    """What an object of `size` bytes takes: pymalloc rounds small ones up to 8 bytes, larger
    ones come from malloc with its header (measured per key with tracemalloc and RSS)."""
    return (size + 7) & -8 if size <= 512 else size + 16


def _elem_size(x: Any) -> int:
    t = type(x)
    if t is bytes or t is bytearray or t is str:
        return sys.getsizeof(x)
    if t is tuple or t is list:
        return sys.getsizeof(x) + sum(_elem_size(y) for y in x)
    return sys.getsizeof(x)


def estimate(key: bytes, value: Any) -> int:
    """Bytes charged for one key and its value."""
    size = KEY_OVERHEAD + obj_size(BYTES_HEAD + len(key))
    if type(value) is bytes:  # the usual value first
        return size + obj_size(BYTES_HEAD + len(value))
    if isinstance(value, (bytes, bytearray, int, str)):
        return size + obj_size(sys.getsizeof(value))
    size += sys.getsizeof(value)
    n = len(value) if hasattr(value, "__len__") else 0
    if not n:
        return size
    if isinstance(value, dict):
        sample = [_elem_size(k) + _elem_size(v) + 24 for k, v in islice(value.items(), SAMPLE)]
    elif isinstance(value, (set, frozenset, list, tuple, deque)):
        sample = [_elem_size(x) + 8 for x in islice(value, SAMPLE)]
    else:  # sorted sets, streams, ...: no cheap element walk; assume a member, a score and links
        return size + n * 96
    return size + n * sum(sample) // len(sample)


# Writes that grow the dataset by at most their argument bytes plus a per-argument overhead
# (not SETRANGE/SETBIT with a far offset, *STORE, PFADD's dense promotion, RESTORE...).
BOUNDED = frozenset(
    (
        "set", "setex", "psetex", "setnx", "mset", "msetnx", "getset", "getex", "getdel", "append",
        "incr", "incrby", "decr", "decrby", "incrbyfloat", "del", "unlink", "expire", "pexpire",
        "expireat", "pexpireat", "persist", "hset", "hmset", "hsetnx", "hdel", "hincrby",
        "hincrbyfloat", "lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "lset", "linsert",
        "lrem", "ltrim", "sadd", "srem", "spop", "zadd", "zincrby", "zrem", "zpopmin", "zpopmax",
        "xadd", "xdel", "xtrim",
    )
)  # fmt: skip


class _Table:
    """Sizes charged for the keys of one database's data dict."""

    __slots__ = ("data", "sizes", "total")

    def __init__(self, data: dict) -> None:
        self.data = data
        self.sizes: dict[bytes, int] = {}
        self.total = 0
        for k, v in data.items():
            s = estimate(k, v)
            self.sizes[k] = s
            self.total += s


def time_limit_us(tenacity: int) -> float:
    """evictionTimeLimitUs: how long one call may keep evicting."""
    if tenacity <= 10:
        return 50.0 * tenacity
    if tenacity < 100:
        return 500.0 * 1.15 ** (tenacity - 10)
    return float("inf")


class Evictor:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.on = False
        self.maxmemory = 0
        self.policy = "noeviction"
        self.samples = 5
        self.tenacity = 10
        self.lazy = False
        self.startup = STARTUP_BASE  # the baseline: everything but the dataset (see above)
        self.clients_mem = 0  # clients' buffers (measure_clients)
        self.clients_stale = False  # a client left, or its unread input grew: re-measure clients_mem
        self.not_counted = 0  # replicas' buffers and the backlog: reported, not evicted for
        self.tables: list[_Table] = []
        self._datas: list[dict] = []  # the data dicts the tables belong to
        self.total = 0  # sum of the tables' totals
        self.recheck = True  # a command ran that may have replaced a database's dict
        self.bound = 0  # most the uncharged writes (all in BOUNDED) can have added
        self.exact = False  # an uncharged write may have grown more than its arguments
        self.dirty: set[tuple[int, bytes]] = set()
        self.after: list[tuple[int, bytes]] = []  # keys of the command running now
        self.pool: list[tuple[int, int, bytes]] = []  # (score, dbid, key), best last
        self.next_db = 0
        self.running = False  # a cycle ran out of time: the cron continues it
        self.oom_state = False
        self.exceeded_since = 0.0  # monotonic time memory went over the limit (0: it is not)
        self.exceeded_total = 0.0  # seconds over the limit before that

    # -- configuration -------------------------------------------------------

    def configure(self) -> None:
        cfg = self.engine.config
        self.maxmemory = cfg.get_int("maxmemory")
        self.policy = cfg["maxmemory-policy"]
        self.samples = max(1, cfg.get_int("maxmemory-samples"))
        self.tenacity = cfg.get_int("maxmemory-eviction-tenacity")
        self.lazy = cfg["lazyfree-lazy-eviction"] == "yes"
        self.pool = []
        on = self.maxmemory > 0
        if on == self.on:
            if on:
                self.running = True  # a lower limit takes effect from the next cron tick
            return
        self.on = on
        if on:
            self.tables = [_Table(db.data) for db in self.engine.dbs]
            self._datas = [t.data for t in self.tables]
            self.total = sum(t.total for t in self.tables)
            self.running = True
        else:
            self.tables = []
            self._datas = []
            self.dirty = set()
            self.running = False
        self.engine.evict_on = on
        self.engine.update_quiet()
        self.engine.update_gates()

    # -- accounting ----------------------------------------------------------

    def _sync(self) -> None:
        """Charge the keys written since the last call; follow flushed or swapped dicts."""
        dbs = self.engine.dbs
        tables = self.tables
        if self.recheck and any(map(is_not, self._datas, map(_DATA, dbs))):
            by_data = {id(t.data): t for t in tables}
            self.tables = tables = [by_data.get(id(d.data)) or _Table(d.data) for d in dbs]
            self._datas = [t.data for t in tables]
            self.total = sum(t.total for t in tables)
            self.pool = []
        self.recheck = False
        if self.after and not self.engine.current:
            self.dirty.update(self.after)
            self.after = []
        if self.dirty:
            dirty = self.dirty
            self.dirty = set()
            grown = 0
            for dbid, key in dirty:
                t = tables[dbid]
                sizes = t.sizes
                old = sizes.pop(key, 0)
                v = t.data.get(key)
                new = 0
                if v is not None:
                    new = estimate(key, v)
                    if key in dbs[dbid].expires:
                        new += EXPIRE_OVERHEAD
                    sizes[key] = new
                t.total += new - old
                grown += new - old
            self.total += grown

    def dataset(self) -> int:
        if not self.on:
            return 0
        self._sync()
        return self.total

    def evict_memory(self) -> int:
        return self.startup + self.dataset() + self.clients_mem

    def measure_clients(self) -> None:
        """Clients' query and output buffers count as used memory, as in Redis, except the
        replicas' output and the backlog (Redis's freeMemoryGetNotCountedMemory), which are
        one shared buffer in Redis 7.0: counted once, as long as the longest of them.
        Summed from the cron."""
        e = self.engine
        self.clients_stale = False
        counted = 0
        replicas = 0
        for c in e.clients.values():
            conn = c.conn
            out = conn.output_size() if conn is not None and hasattr(conn, "output_size") else 0
            if conn is not None and hasattr(conn, "input_memory"):
                size = conn.input_memory()  # (an unfinished request's arguments too)
            else:
                size = c.qbuf
            if c.kind == "replica":
                replicas += size  # its output is part of the shared buffer
            else:
                counted += size + out
        self.clients_mem = counted
        self.not_counted = replicas + e.replication.shared_buffer_bytes()

    # -- eviction ------------------------------------------------------------

    def before_command(self, c: Any, cmd: Any, argv: list[bytes]) -> bool:
        """performEvictions before a command; True when the server is out of memory.

        The keys a write command names are charged again after it ran (at the next call):
        fast paths in the handlers may skip Engine.written(), which also records keys."""
        if self.after:
            self.dirty.update(self.after)
            self.after = []
        if self.exact or self.recheck or self.startup + self.total + self.bound + self.clients_mem > self.maxmemory:
            self.bound = 0
            self.exact = False
            oom = self.perform() == EVICT_FAIL
        else:
            # Even if every write since the last sync grew by its bound, still under the limit:
            # the written keys are charged later (cron, INFO, or when the bound gets close).
            oom = False
        self.oom_state = oom  # pre_command_oom_state: what scripts started by this command see
        flags = cmd.flags
        if not flags & (READONLY | FAST) and cmd.fullname not in BOUNDED:
            self.recheck = True  # FLUSHALL, SWAPDB, DEBUG RELOAD... may replace data dicts
        if flags & WRITE:
            self._note_keys(c.db.id, cmd, argv)
            if cmd.fullname in BOUNDED:
                self.bound += sum(map(len, argv)) + 128 * len(argv)
            else:
                self.exact = True
        elif cmd.fullname == "exec" and c.multi:
            for q, qargv in c.multi:
                if q.flags & WRITE:
                    self._note_keys(c.db.id, q, qargv)
        return oom

    def _note_keys(self, dbid: int, cmd: Any, argv: list[bytes]) -> None:
        first = cmd.first_key
        if not cmd.flags & MOVABLE_KEYS:
            if first > 0:
                last = cmd.last_key
                last = last if last >= 0 else len(argv) + last
                after = self.after
                for i in range(first, min(last, len(argv) - 1) + 1, cmd.key_step or 1):
                    after.append((dbid, argv[i]))
            return
        try:
            names = key_names(cmd, argv)
        except Exception:  # a malformed call: the handler will refuse it
            return
        self.after.extend((dbid, k) for k in names)

    def perform(self) -> int:
        result = self._perform()
        # INFO's eviction_exceeded_time: how long used memory has stayed over maxmemory (Redis's
        # update_metrics in performEvictions)
        if result != EVICT_OK:
            if not self.exceeded_since:
                self.exceeded_since = time.monotonic()
        elif self.exceeded_since:
            self.exceeded_total += time.monotonic() - self.exceeded_since
            self.exceeded_since = 0.0
        return result

    def exceeded_ms(self) -> tuple[int, int]:
        """INFO's (total_eviction_exceeded_time, current_eviction_exceeded_time) in ms."""
        current = time.monotonic() - self.exceeded_since if self.exceeded_since else 0.0
        return int((self.exceeded_total + current) * 1000), int(current * 1000)

    def _perform(self) -> int:
        e = self.engine
        if e.pause_mode or e._exec_depth or e.busy_script is not None or getattr(e, "loading", False):
            return EVICT_OK  # not safe to change the dataset now
        if self.clients_stale:  # (over the limit, perhaps by buffers that went with their client)
            self.measure_clients()
        used = self.evict_memory()
        if used <= self.maxmemory:
            self.running = False
            return EVICT_OK
        if self.policy == "noeviction":
            return EVICT_FAIL
        tofree = used - self.maxmemory
        freed = 0
        limit = time_limit_us(self.tenacity) / 1e6
        t0 = time.perf_counter()
        n = 0
        current = e.current
        e.current = None  # evictions are nobody's own change (tracking, NOLOOP)
        try:
            while freed < tofree:
                picked = self._pick()
                if picked is None:
                    return EVICT_FAIL
                dbid, key = picked
                freed += self._evict(e.dbs[dbid], key)
                n += 1
                if n % 16 == 0 and time.perf_counter() - t0 > limit:
                    self.running = True
                    return EVICT_RUNNING
        finally:
            e.current = current
            e.latency.since("eviction-cycle", t0)
        self.running = False
        return EVICT_OK

    def cron(self) -> None:
        self.measure_clients()
        if self.startup + self.total + self.clients_mem > self.maxmemory:
            self.recheck = True  # (buffers grew: the next command evicts)
        if self.running:
            # Redis re-runs an unfinished cycle from a timer on every event-loop turn; here it
            # runs from the cron, repeatedly, for up to a quarter of the cron period.
            hz = min(500, max(1, self.engine.config.get_int("hz")))
            deadline = time.perf_counter() + 0.25 / hz
            while self.perform() == EVICT_RUNNING and time.perf_counter() < deadline:
                pass
        elif self.after or self.dirty:
            self.bound = 0
            self.exact = False
            self._sync()

    def _evict(self, db: Database, key: bytes) -> int:
        e = self.engine
        t = self.tables[db.id]
        size = t.sizes.pop(key, 0)
        t.total -= size
        self.total -= size
        self.dirty.discard((db.id, key))
        if e.propagators:
            e.propagate(db.id, [b"UNLINK" if self.lazy else b"DEL", key])
        db.delete(key)
        e.stats["evicted_keys"] += 1
        if e.watched_keys:
            e.touch_watched(db, key)
        tr = e.tracking
        if tr.table or tr.prefixes:
            tr.invalidate(key, None)
        if db.blocking and key in db.blocking:
            e.blocking.signal_ready(db, key)
        e.notify(notify.EVICTED, "evicted", key, db.id)
        return size

    def _pick(self) -> tuple[int, bytes] | None:
        volatile = self.policy.startswith("volatile")
        dbs = self.engine.dbs
        if self.policy.endswith("random"):
            for _ in range(len(dbs)):
                self.next_db = (self.next_db + 1) % len(dbs)
                db = dbs[self.next_db]
                if volatile:
                    keys = self._sample_volatile(db, 1)
                    if keys:
                        return db.id, keys[0]
                elif db.data:
                    key = db.key_index().random()
                    if key is not None:
                        return db.id, key
            return None
        while True:
            total = 0
            for db in dbs:
                n = len(db.expires) if volatile else len(db.data)
                if n:
                    total += n
                    self._populate(db, volatile)
            if not total:
                return None
            pool = self.pool
            while pool:
                _, dbid, key = pool.pop()
                db = dbs[dbid]
                if key in (db.expires if volatile else db.data):
                    return dbid, key
            # Every pooled key was gone: sample again.

    def _populate(self, db: Database, volatile: bool) -> None:
        if volatile:
            keys = self._sample_volatile(db, self.samples)
        else:
            index = db.key_index()
            keys = [index.random() for _ in range(min(self.samples, len(db.data)))]
        policy = self.policy
        pool = self.pool
        known = {(d, k) for _, d, k in pool}
        for key in keys:
            if key is None or (db.id, key) in known:
                continue
            if policy.endswith("ttl"):
                score = -db.expires.get(key, 0)
            elif policy.endswith("lfu"):
                score = 255 - lfu.decayed(db.access_field(key))
            else:
                score = db.idle_seconds(key) * 1000
            pool.append((score, db.id, key))
            known.add((db.id, key))
        pool.sort(key=lambda entry: entry[0])
        if len(pool) > POOL_SIZE:
            del pool[: len(pool) - POOL_SIZE]

    def _sample_volatile(self, db: Database, n: int) -> list[bytes]:
        """Keys with a TTL, picked at random from the expiry heap (whose stale entries skip)."""
        expires = db.expires
        if not expires:
            return []
        heap = db.heap
        out: list[bytes] = []
        for _ in range(n * 4):
            if not heap:
                break
            when, key = heap[random.randrange(len(heap))]
            if expires.get(key) == when:
                out.append(key)
                if len(out) >= n:
                    return out
        if not out:
            out = list(islice(expires, n))
        return out

    # -- INFO ----------------------------------------------------------------

    def info_fields(self) -> dict[str, int]:
        """INFO's and MEMORY STATS's figures: the account kept while maxmemory is set, else
        computed now (every key's estimate up to EXACT_KEYS keys per database, a sample beyond)."""
        if self.on:
            dataset = self.dataset()
        else:
            self.measure_clients()
            dataset = 0
            for db in self.engine.dbs:
                data = db.data
                if len(data) <= EXACT_KEYS:
                    dataset += sum(estimate(k, v) for k, v in data.items())
                else:
                    dataset += extrapolate([estimate(k, v) for k, v in islice(data.items(), SAMPLE_KEYS)], len(data))
        used = self.startup + dataset + self.clients_mem + self.not_counted
        return {"used_memory": used, "dataset": dataset, "startup": self.startup, "not_counted": self.not_counted}


def extrapolate(sample: list[int], n: int) -> int:
    """The total size of `n` keys from the sizes of a sample of them: the sample's own keys
    as they are, the others at the sample's mean with its top 1 % cut down to the 99th
    percentile. A rare big key (a list of millions among small strings) then counts once
    instead of weighing on every key: taken as a plain mean, one 15 MB list among 2,000
    sampled keys made 1.3M small keys 100 GB."""
    sizes = sorted(sample)
    cap = sizes[(len(sizes) * 99) // 100]
    typical = sum(min(x, cap) for x in sizes) / len(sizes)
    return sum(sizes) + int((n - len(sizes)) * typical)


def is_oom_reject(cmd_flags: int, denyoom: int, fullname: str, in_multi: bool, queued_denyoom: bool) -> bool:
    """Whether an out-of-memory server refuses this command (processCommand's rule)."""
    if cmd_flags & denyoom or (fullname == "exec" and queued_denyoom):
        return True
    return in_multi and fullname not in ("exec", "discard", "quit", "reset")
