"""Databases: key -> value dicts, expiry times, and a sampling index for SCAN/RANDOMKEY.

Values are plain Python objects: a string is `bytes` (or `bytearray` once APPEND or
SETRANGE made it "raw", as Redis's sds grows in place); collections get their own
types in later modules.

Expiry is lazy (checked on access, only when the database has expiring keys at all)
plus active: a heap of (when, key) lets the cron delete keys as they come due without
touching them. Stale heap entries (the key's TTL changed) are skipped when popped.

Access times (OBJECT IDLETIME, the LRU/LFU eviction policies) are not kept per key in a
second dict, which would cost about 40 bytes a key: each database has a hashed table of
32-bit fields, `atime`, at least twice as many slots as keys, and a key's field is the slot
its hash falls in. Keys that share a slot share an access time (the most recent write to
the slot wins), an approximation of the same kind as Redis's own sampled LRU and
probabilistic LFU counter; with 4096 slots at least, the few keys of a small database
almost never share one. Growing the table doubles it by copying it after itself, so every
key keeps the field it had (its new slot is its old one or the old one plus the old size).

Python dicts cannot be sampled or resumed from a position, so SCAN and RANDOMKEY use
`KeyIndex`, a small power-of-two bucket table over the same keys, scanned with Redis's
reverse-binary cursor so that a key present for the whole scan is always returned,
even across resizes. It is built on first use and kept up to date from then on, so a
database that never sees SCAN or RANDOMKEY pays nothing for it.
"""

from __future__ import annotations

import heapq
import random
import time
from array import array
from collections.abc import Callable, Iterator
from typing import Any

from respdb.lfu import new as lfu_new
from respdb.lfu import touch as lfu_touch

MASK64 = (1 << 64) - 1

ATIME_MIN = 4096  # slots of a database's access table (16 KB)
ATIME_LOW = -(1 << 31)
LRU_CLOCK_MAX = (1 << 24) - 1  # int32 fields: an older time (RESTORE IDLETIME of decades) is clamped


def atime_table(size: int, fill: int) -> array:
    """An access table of `size` slots (a power of two) all holding `fill`."""
    return array("i", [fill]) * size


def now_ms() -> int:
    return int(time.time() * 1000)


def never_expired() -> int:
    """Put in place of now_ms (the expiry checks here look it up at each call) while nothing
    may expire: a replica applying its master's commands, an AOF being replayed."""
    return -(1 << 62)


def _rev64(v: int) -> int:
    return int(format(v, "064b")[::-1], 2)


def _emit(bucket: Any, out: list[bytes]) -> None:
    """The keys of one KeyIndex bucket (None, a key, or a tuple of keys) onto `out`."""
    if bucket is not None:
        if type(bucket) is tuple:
            out.extend(bucket)
        else:
            out.append(bucket)


class KeyIndex:
    """Keys in 2**n buckets (None, one key, or a tuple of keys), resized incrementally.

    Like Redis's dict, a resize does not move every key at once (a 1M-key table took 0.4 s,
    a stall for every client): a new table is allocated and each add/remove moves a few buckets
    of the old one, while scan() walks both tables with Redis's two-table cursor rule, so the
    SCAN guarantee holds during a resize too.
    """

    __slots__ = ("table", "mask", "count", "old", "old_mask", "pos")

    STEP = 16  # old buckets moved per add/remove while resizing

    def __init__(self, keys: Any = ()) -> None:
        keys = list(keys)
        size = 4
        while size < len(keys):
            size <<= 1
        self.mask = size - 1
        self.table: list[Any] = [None] * size
        self.old: list[Any] | None = None  # the table being emptied into `table`
        self.old_mask = 0
        self.pos = 0  # old buckets below this one are moved
        table = self.table
        mask = self.mask
        for k in keys:  # _put, inlined: the first SCAN of a big database waits for this
            h = hash(k) & mask
            b = table[h]
            if b is None:
                table[h] = k
            elif type(b) is tuple:
                table[h] = b + (k,)
            else:
                table[h] = (b, k)
        self.count = len(keys)

    def _put(self, key: bytes) -> None:
        h = hash(key) & self.mask
        b = self.table[h]
        if b is None:
            self.table[h] = key
        elif type(b) is tuple:
            self.table[h] = b + (key,)
        else:
            self.table[h] = (b, key)

    def _step(self) -> None:
        old = self.old
        assert old is not None
        pos = self.pos
        end = min(pos + self.STEP, len(old))
        put = self._put
        while pos < end:
            b = old[pos]
            if b is not None:
                old[pos] = None
                if type(b) is tuple:
                    for k in b:
                        put(k)
                else:
                    put(b)
            pos += 1
        if pos >= len(old):
            self.old = None
        else:
            self.pos = pos

    def _resize(self, size: int) -> None:
        if self.old is not None:
            while self.old is not None:  # finish the running resize first
                self._step()
        self.old = self.table
        self.old_mask = self.mask
        self.pos = 0
        self.mask = size - 1
        self.table = [None] * size

    def add(self, key: bytes) -> None:
        if self.old is not None:
            self._step()
        self._put(key)
        self.count += 1
        if self.count > self.mask + 1 and self.old is None:
            self._resize((self.mask + 1) * 2)

    def remove(self, key: bytes) -> None:
        old = self.old
        if old is not None:
            self._step()
            old = self.old
        if (
            old is not None
            and (hash(key) & self.old_mask) >= self.pos
            and self._drop(old, hash(key) & self.old_mask, key)
        ):
            pass
        else:
            self._drop(self.table, hash(key) & self.mask, key)
        self.count -= 1
        size = self.mask + 1
        if size > 4 and self.count < size // 8 and self.old is None:
            self._resize(size // 2)

    @staticmethod
    def _drop(table: list[Any], h: int, key: bytes) -> bool:
        b = table[h]
        if b is None:
            return False
        if type(b) is tuple:
            rest = tuple(k for k in b if k != key)
            if len(rest) == len(b):
                return False
            table[h] = rest[0] if len(rest) == 1 else rest
            return True
        if b != key:
            return False
        table[h] = None
        return True

    def clear(self) -> None:
        self.__init__()

    def scan(self, cursor: int, count: int, out: list[bytes]) -> int:
        """Append whole buckets to `out` until about `count` keys; return the next cursor."""
        if self.old is not None:
            return self._scan_two(cursor, count, out)
        table = self.table
        mask = self.mask
        maxiter = count * 10
        while True:
            _emit(table[cursor & mask], out)
            cursor |= ~mask & MASK64
            cursor = _rev64((_rev64(cursor) + 1) & MASK64)
            maxiter -= 1
            if cursor == 0 or len(out) >= count or maxiter <= 0:
                return cursor

    def _scan_two(self, v: int, count: int, out: list[bytes]) -> int:
        """Redis's dictScan while rehashing: the cursor's bucket in the smaller table, then every
        bucket of the larger table that it expands to (moved old buckets are empty)."""
        assert self.old is not None
        if self.old_mask < self.mask:
            t0, m0, t1, m1 = self.old, self.old_mask, self.table, self.mask
        else:
            t0, m0, t1, m1 = self.table, self.mask, self.old, self.old_mask
        diff = m0 ^ m1
        maxiter = count * 10
        while True:
            _emit(t0[v & m0], out)
            while True:
                _emit(t1[v & m1], out)
                v |= ~m1 & MASK64
                v = _rev64((_rev64(v) + 1) & MASK64)
                if not v & diff:
                    break
            maxiter -= 1
            if v == 0 or len(out) >= count or maxiter <= 0:
                return v

    def random(self) -> bytes | None:
        if not self.count:
            return None
        old = self.old
        if old is not None:
            # any bucket of either table (moved old ones are empty)
            table = self.table
            n_old = len(old)
            total = n_old + len(table)
            while True:
                i = random.randrange(total)
                b = old[i] if i < n_old else table[i - n_old]
                if b is not None:
                    return random.choice(b) if type(b) is tuple else b
        table = self.table
        mask = self.mask
        rnd = random.getrandbits
        bits = mask.bit_length()
        while True:
            b = table[rnd(bits) & mask] if bits else table[0]
            if b is not None:
                return random.choice(b) if type(b) is tuple else b


class Database:
    __slots__ = (
        "id", "data", "expires", "heap", "index", "avg_ttl", "on_expire", "atime", "amask", "blocking",
        "stats", "on_new", "on_miss",
    )  # fmt: skip

    # LRU clock in seconds, advanced by the engine's cron (Redis's 1 s resolution).
    clock = int(time.monotonic())
    # True under an LFU maxmemory policy: `atime` then holds Redis's LFU field (respdb/lfu.py).
    lfu = False

    def __init__(self, dbid: int, on_expire: Callable[[Database, bytes], None]) -> None:
        self.id = dbid
        self.data: dict[bytes, Any] = {}
        self.expires: dict[bytes, int] = {}
        self.heap: list[tuple[int, bytes]] = []
        self.index: KeyIndex | None = None
        self.avg_ttl = 0
        # Last access (LRU clock) or LFU field per key, in the slot hash(key) & amask (see the
        # module's description).
        self.atime = atime_table(ATIME_MIN, Database.clock)
        self.amask = ATIME_MIN - 1
        # key -> clients blocked on it, in the order they blocked (see blocking.py)
        self.blocking: dict[bytes, Any] = {}
        # Called when a key is found expired: stats, notification, propagation of DEL.
        self.on_expire = on_expire
        # The engine's stats dict (keyspace_hits/misses are counted by read lookups).
        self.stats: dict[str, int] = {"keyspace_hits": 0, "keyspace_misses": 0}
        # Set by the engine only while the `n` / `m` notification classes are on, so that
        # key creation and read misses cost one attribute test otherwise: (db, key) -> None.
        self.on_new: Callable[[Database, bytes], None] | None = None
        self.on_miss: Callable[[Database, bytes], None] | None = None

    # -- reads -------------------------------------------------------------

    def plain(self) -> bool:
        """No key can expire, no key index is kept (SCAN's), no access counts as more than a
        time (LFU off): a write here is a dict store and an access-table store, which the hot
        handlers do inline (they test this condition inline too)."""
        return not self.expires and self.index is None and not Database.lfu

    def repeats_unchanged(self) -> bool:
        """A key looked up again with nothing run in between holds what it held and needs no
        new access record: none can expire, and accesses are times, not LFU counts (a run
        handler then looks a repeated key up once)."""
        return not self.expires and not Database.lfu

    def get(self, key: bytes) -> Any:
        """The live value, or None. An expired key is deleted on the way; access is noted."""
        if self.expires:
            when = self.expires.get(key)
            if when is not None and when <= now_ms():
                self.expire_now(key)
                return None
        v = self.data.get(key)
        if v is not None:
            if Database.lfu:
                self.touch(key)
            else:
                self.atime[hash(key) & self.amask] = Database.clock
        return v

    def read(self, key: bytes) -> Any:
        """Redis's lookupKeyRead: get() plus the keyspace hit/miss count and the `keymiss` event.

        Write lookups (lookupKeyWrite) use get(): they are neither counted nor notified.
        get() is inlined: this is on the path of every read command."""
        if self.expires:
            when = self.expires.get(key)
            if when is not None and when <= now_ms():
                self.expire_now(key)
                v = None
            else:
                v = self.data.get(key)
        else:
            v = self.data.get(key)
        if v is None:
            self.stats["keyspace_misses"] += 1
            if self.on_miss is not None:
                self.on_miss(self, key)
            return None
        if Database.lfu:
            self.touch(key)
        else:
            self.atime[hash(key) & self.amask] = Database.clock
        self.stats["keyspace_hits"] += 1
        return v

    def read_notouch(self, key: bytes, notify: bool = True) -> Any:
        """A read lookup that leaves the access time alone (EXISTS, TYPE, TTL; OBJECT with
        notify=False, as Redis's LOOKUP_NONOTIFY)."""
        v = self.peek(key)
        if v is None:
            self.stats["keyspace_misses"] += 1
            if notify and self.on_miss is not None:
                self.on_miss(self, key)
        else:
            self.stats["keyspace_hits"] += 1
        return v

    def added(self, key: bytes) -> None:
        """For handlers that store a new key in `data` themselves: what set() does for one."""
        if self.index is not None:
            self.index.add(key)
        if self.on_new is not None:
            self.on_new(self, key)

    def peek(self, key: bytes) -> Any:
        """Like get() but without noting an access (TYPE, TTL, EXISTS, OBJECT)."""
        if self.expires:
            when = self.expires.get(key)
            if when is not None and when <= now_ms():
                self.expire_now(key)
                return None
        return self.data.get(key)

    def touch(self, key: bytes) -> None:
        """Note an access: the LRU clock, or under an LFU policy the counter's update."""
        slot = hash(key) & self.amask
        if Database.lfu:
            self.atime[slot] = lfu_touch(self.atime[slot])
        else:
            self.atime[slot] = Database.clock

    def access_field(self, key: bytes) -> int:
        """The key's access field: the LRU clock of its last access, or its LFU field."""
        return self.atime[hash(key) & self.amask]

    def set_access_field(self, key: bytes, field: int) -> None:
        self.atime[hash(key) & self.amask] = max(field, ATIME_LOW)

    def set_idle(self, key: bytes, seconds: int) -> None:
        """Set the key's last access `seconds` ago (RESTORE IDLETIME, an RDB file's idle time).
        Redis's access time is a 24-bit clock, so a longer idle time wraps around: 300000000
        reads back as 14787328 in OBJECT IDLETIME, as it does there."""
        self.set_access_field(key, Database.clock - (seconds & LRU_CLOCK_MAX))

    def idle_seconds(self, key: bytes) -> int:
        return max(0, Database.clock - self.atime[hash(key) & self.amask])

    def reset_atime(self, fill: int) -> None:
        """A new access table sized for the keys in `data`, every slot holding `fill`."""
        size = ATIME_MIN
        while size < 2 * len(self.data):
            size *= 2
        self.atime = atime_table(size, fill)
        self.amask = size - 1

    def grow_atime(self) -> None:
        """Keep at least two slots per key (called when keys are added and from the cron)."""
        table = self.atime
        need = 2 * len(self.data)
        if need > len(table):
            size = len(table)
            while size < need:
                table = table + table  # slot s and s + size both keep what slot s held
                size *= 2
            self.atime = table
            self.amask = size - 1

    def expire_if_needed(self, key: bytes) -> bool:
        when = self.expires.get(key)
        if when is not None and when <= now_ms():
            self.expire_now(key)
            return True
        return False

    def contains(self, key: bytes) -> bool:
        if self.expires:
            self.expire_if_needed(key)
        return key in self.data

    def ttl_ms(self, key: bytes) -> int | None:
        return self.expires.get(key)

    def __len__(self) -> int:
        return len(self.data)

    # -- writes ------------------------------------------------------------

    def set(self, key: bytes, value: Any, keepttl: bool = False) -> None:
        """Add or overwrite; drops any TTL unless keepttl."""
        data = self.data
        new = key not in data if Database.lfu or self.index is not None or self.on_new is not None else False
        data[key] = value
        if new and (self.index is not None or self.on_new is not None):
            self.added(key)  # Redis's dbAdd: the `new` event comes before the command's own
        if not Database.lfu:
            self.atime[hash(key) & self.amask] = Database.clock
        elif new:  # an overwritten value keeps its LFU data, as in Redis
            self.atime[hash(key) & self.amask] = lfu_new()
        if 2 * len(data) > self.amask + 1:
            self.grow_atime()
        if not keepttl and self.expires:
            self.expires.pop(key, None)

    def delete(self, key: bytes) -> bool:
        data = self.data
        if key not in data:
            return False
        del data[key]
        if self.expires:
            self.expires.pop(key, None)
        if self.index is not None:
            self.index.remove(key)
        return True

    def pop(self, key: bytes) -> Any:
        value = self.data.get(key)
        if value is not None:
            self.delete(key)
        return value

    # Set while this server is a replica: told of every expiry set (see Replication.local_expire).
    on_set_expire: Callable[[Database, bytes], None] | None = None

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms
        if Database.on_set_expire is not None:
            Database.on_set_expire(self, key)
        heapq.heappush(self.heap, (when_ms, key))
        if len(self.heap) > 2 * len(self.expires) + 1024:
            self.heap = [(w, k) for k, w in self.expires.items()]
            heapq.heapify(self.heap)

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def expire_now(self, key: bytes) -> None:
        self.on_expire(self, key)

    def clear(self) -> int:
        n = len(self.data)
        self.data = {}
        self.expires = {}
        self.heap = []
        self.index = None
        self.reset_atime(Database.clock)
        return n

    def swap(self, other: Database) -> None:
        for attr in ("data", "expires", "heap", "index", "avg_ttl", "atime", "amask"):
            a, b = getattr(self, attr), getattr(other, attr)
            setattr(self, attr, b)
            setattr(other, attr, a)

    # -- sampling ----------------------------------------------------------

    def key_index(self) -> KeyIndex:
        if self.index is None:
            self.index = KeyIndex(self.data)
        return self.index

    def random_key(self) -> bytes | None:
        index = self.key_index()
        tries = 0
        while True:
            key = index.random()
            if key is None:
                return None
            when = self.expires.get(key)
            if when is not None and when <= now_ms():
                tries += 1
                if tries > 100 and len(self.expires) == len(self.data):
                    return key  # everything volatile: Redis also gives up and returns one
                self.expire_now(key)
                continue
            return key

    def active_expire(self, deadline: float, limit: int = 1 << 62) -> int:
        """Delete due keys in expiry order until the deadline; return how many."""
        heap = self.heap
        expires = self.expires
        done = 0
        now = now_ms()
        checked = 0
        while heap and heap[0][0] <= now and done < limit:
            when, key = heapq.heappop(heap)
            if expires.get(key) == when:
                self.expire_now(key)
                done += 1
            checked += 1
            if checked & 31 == 0 and time.monotonic() > deadline:
                break
        return done

    def iter_keys(self) -> Iterator[bytes]:
        return iter(list(self.data))
