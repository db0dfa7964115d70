"""The bucket table behind a set, hash or sorted set in the hashtable encoding.

Such a value keeps a `ValueIndex` once SSCAN/HSCAN/ZSCAN, random sampling or DEBUG
HTSTATS-KEY needed one. It is the keyspace's `KeyIndex` with the rules Redis 7.0's dict
applies to these values, so that the table's size, its rehashing and the order a scan
returns members in follow Redis's (the Tcl suite's "SRANDMEMBER with a dict containing long
chain" builds a table with one 30-member chain that way):

- Growth: before an insertion, when the elements reach the table's size (dictExpand to the
  next power of two above them).
- Shrinking: after a deletion, when the tables (both, while rehashing) are over 4 slots and
  under 10% full (htNeedsResize, then dictResize to the power of two that holds them).
- Rehashing: one bucket per insertion or deletion, visiting at most 10 empty buckets
  (dictRehash(d, 1)); a random pick takes up to 15 such steps (dictGetSomeKeys). It ends when
  the old table holds nothing.
- While a forked child runs (BGSAVE, AOF rewrite, a replica's snapshot) no table is resized
  and none is rehashed, unless one table is more than 5 times the other (Redis's
  DICT_RESIZE_AVOID, which spares the child's copy-on-write pages). `resize_ok` is that
  process-wide state, kept by Engine.update_resize_policy.
"""

from __future__ import annotations

from typing import Any

from respdb.keyspace import KeyIndex

MIN_FILL = 10  # HASHTABLE_MIN_FILL, percent
FORCE_RATIO = 5  # dict_force_resize_ratio
EMPTY_VISITS = 10  # per rehash step
FAIR_PICKS = 15  # GETFAIR_NUM_ENTRIES


def table_size(n: int) -> int:
    """The buckets a dict of `n` elements gets: the smallest power of two holding them, at
    least 4 (_dictNextExp)."""
    size = 4
    while size < n:
        size <<= 1
    return size


class ValueIndex(KeyIndex):
    __slots__ = ("old_count",)

    resize_ok = True  # no forked child is running (see the module's description)

    def __init__(self, keys: Any = ()) -> None:
        super().__init__(keys)
        self.old_count = 0  # elements still in the old table while rehashing

    def rehash(self, n: int) -> None:
        """Move up to `n` non-empty buckets of the old table (dictRehash)."""
        old = self.old
        if old is None:
            return
        if not ValueIndex.resize_ok:
            s0, s1 = len(old), len(self.table)
            if (s1 > s0 and s1 // s0 < FORCE_RATIO) or (s1 < s0 and s0 // s1 < FORCE_RATIO):
                return
        empty = n * EMPTY_VISITS
        pos = self.pos
        put = self._put
        while n and self.old_count:
            b = old[pos]
            while b is None:
                pos += 1
                empty -= 1
                if not empty:
                    self.pos = pos
                    return
                b = old[pos]
            old[pos] = None
            if type(b) is tuple:
                for k in b:
                    put(k)
                self.old_count -= len(b)
            else:
                put(b)
                self.old_count -= 1
            pos += 1
            n -= 1
        self.pos = pos
        if not self.old_count:
            self.old = None

    def _start(self, size: int) -> None:
        """Begin rehashing into a table of `size` buckets (unless it is the current size); only
        called with no rehash under way."""
        if size == self.mask + 1:
            return
        self._resize(size)
        self.old_count = self.count

    def add(self, key: bytes) -> None:
        if self.old is not None:
            self.rehash(1)
        if self.old is None:
            used = self.count
            size = self.mask + 1
            if (used >= size and ValueIndex.resize_ok) or used // size > FORCE_RATIO:
                self._start(table_size(used + 1))
        self._put(key)  # into the new table while rehashing
        self.count += 1

    def remove(self, key: bytes) -> None:
        if self.old is not None:
            self.rehash(1)
        old = self.old
        h = hash(key)
        if old is not None and (h & self.old_mask) >= self.pos and self._drop(old, h & self.old_mask, key):
            self.old_count -= 1
        else:
            self._drop(self.table, h & self.mask, key)
        self.count -= 1
        if old is None and ValueIndex.resize_ok:
            size = self.mask + 1
            if size > 4 and self.count * 100 // size < MIN_FILL:
                self._start(table_size(self.count))

    def random(self) -> bytes | None:
        if self.old is not None:
            for _ in range(min(FAIR_PICKS, self.count)):
                if self.old is None:
                    break
                self.rehash(1)
        return super().random()

    def tables(self) -> list[tuple[list[Any], int]]:
        """(buckets, elements) of the main table, and of the rehashing target if any."""
        if self.old is None:
            return [(self.table, self.count)]
        return [(self.old, self.old_count), (self.table, self.count - self.old_count)]
