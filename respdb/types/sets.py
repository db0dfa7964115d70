"""Set values, in Redis 7.0's two encodings.

- intset: every member is a 64-bit integer in canonical decimal form (what Redis's string2ll
  accepts) and there are at most `set-max-intset-entries` of them. Stored as an immutable
  `bytes` subclass holding the sorted integers packed at the narrowest width that fits (16, 32
  or 64 bits, like Redis's intset), so a small integer set costs one small object. A change
  builds a new value (O(n), as Redis's memmove is); the caller stores it back in the keyspace.
  Iteration order is ascending, which clients see (SMEMBERS, SSCAN, SUNION of intsets ...).
- hashtable: a `set` subclass. Redis 7.0 has no compact form for other sets, and a Python set
  of ten short strings costs about 1.7x Redis's dict (measured), so it needs none either.
  Random sampling (SPOP, SRANDMEMBER), SSCAN and DEBUG HTSTATS-KEY use a `ValueIndex` over the
  members (a bucket table sized and rehashed as Redis's dict is; types/valueindex.py), built on
  first use and maintained from then on.

Conversion happens only from intset to hashtable, as in Redis.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_left
from collections.abc import Iterable

from respdb.resp import _parse_ll
from respdb.types.valueindex import ValueIndex

# Sets at most this big are sampled by copying them into a tuple rather than through an index.
SMALL_SAMPLE = 64


class IntSet(bytes):
    """Base of the three packed widths; see `make_intset`."""

    __slots__ = ()
    redis_type = "set"
    tc = "q"
    width = 8

    def encoding(self) -> str:
        return "intset"

    def copy(self) -> IntSet:
        return self

    def ints(self) -> array:
        a = array(self.tc)
        a.frombytes(self)
        return a

    def __len__(self) -> int:  # type: ignore[override]
        return bytes.__len__(self) // self.width

    def members(self) -> list[bytes]:
        return [b"%d" % x for x in self.ints()]

    def contains(self, member: bytes) -> bool:
        v = _parse_ll(member)
        if v is None:
            return False
        a = self.ints()
        i = bisect_left(a, v)
        return i < len(a) and a[i] == v

    def random_member(self) -> bytes:
        a = self.ints()
        return b"%d" % a[random.randrange(len(a))]


class IntSet16(IntSet):
    __slots__ = ()
    tc = "h"
    width = 2


class IntSet32(IntSet):
    __slots__ = ()
    tc = "i"
    width = 4


class IntSet64(IntSet):
    __slots__ = ()
    tc = "q"
    width = 8


INTSET_TYPES = frozenset((IntSet16, IntSet32, IntSet64))


def make_intset(a: array, width: int = 2) -> IntSet:
    """Pack sorted distinct integers at the narrowest width that fits them, but at least
    `width` bytes: like Redis's intset, a set only ever widens (removing the big member of
    an int64 intset leaves it int64), which DUMP/RDB output shows."""
    if a:
        lo, hi = a[0], a[-1]
        if width < 8 and not (lo >= -(2**31) and hi < 2**31):
            width = 8
        elif width < 4 and not (lo >= -32768 and hi <= 32767):
            width = 4
    cls = IntSet16 if width == 2 else IntSet32 if width == 4 else IntSet64
    if a.typecode != cls.tc:
        a = array(cls.tc, a)
    return cls(a.tobytes())


class SetHT(set):
    """A set in the hashtable encoding; `index` is a ValueIndex once sampling or SSCAN needed one."""

    __slots__ = ("index",)
    redis_type = "set"

    def __init__(self, members: Iterable[bytes] = ()) -> None:
        set.__init__(self, members)
        self.index: ValueIndex | None = None

    def encoding(self) -> str:
        return "hashtable"

    def copy(self) -> SetHT:  # type: ignore[override]
        return SetHT(self)

    def members(self) -> list[bytes]:
        return list(self)

    def contains(self, member: bytes) -> bool:
        return member in self

    def add_many(self, members: Iterable[bytes]) -> int:
        n = len(self)
        index = self.index
        if index is None:
            self.update(members)
        else:
            for m in members:
                if m not in self:
                    set.add(self, m)
                    index.add(m)
        return len(self) - n

    def add_one(self, member: bytes) -> bool:
        if member in self:
            return False
        set.add(self, member)
        if self.index is not None:
            self.index.add(member)
        return True

    def remove_one(self, member: bytes) -> bool:
        if member not in self:
            return False
        set.discard(self, member)
        if self.index is not None:
            self.index.remove(member)
        return True

    def key_index(self) -> ValueIndex:
        if self.index is None:
            self.index = ValueIndex(self)
        return self.index

    def random_member(self) -> bytes:
        if self.index is None and len(self) <= SMALL_SAMPLE:
            return random.choice(tuple(self))
        m = self.key_index().random()
        assert m is not None
        return m


def is_int_member(member: bytes) -> bool:
    return _parse_ll(member) is not None


def new_set(members: list[bytes], max_intset: int) -> IntSet | SetHT:
    """A set holding `members` in the encoding Redis would reach by adding them one by one
    to a set created as an intset (SINTERSTORE/SUNIONSTORE/SDIFFSTORE/SPOP results)."""
    ints = []
    for m in members:
        v = _parse_ll(m)
        if v is None:
            return SetHT(members)
        ints.append(v)
    if len(set(ints)) > max_intset:
        return SetHT(members)
    return make_intset(array("q", sorted(set(ints))))


def intset_add(s: IntSet, members: Iterable[bytes], max_intset: int) -> tuple[IntSet | SetHT, int]:
    """Add members to an intset; returns (the new value, how many were added). Converts to a
    hashtable set when a member is not an integer or the size passes `max_intset`."""
    a = s.ints()
    if a.typecode != "q":
        a = array("q", a)  # room for any 64-bit member; make_intset narrows it again
    added = 0
    members = list(members)
    for i, m in enumerate(members):
        v = _parse_ll(m)
        if v is None:
            ht = SetHT(b"%d" % x for x in a)
            return ht, added + ht.add_many(members[i:])
        j = bisect_left(a, v)
        if j < len(a) and a[j] == v:
            continue
        a.insert(j, v)
        added += 1
        if len(a) > max_intset:
            ht = SetHT(b"%d" % x for x in a)
            return ht, added + ht.add_many(members[i + 1 :])
    return (make_intset(a, s.width) if added else s), added


def intset_remove(s: IntSet, members: Iterable[bytes]) -> tuple[IntSet, int]:
    a = s.ints()
    removed = 0
    for m in members:
        v = _parse_ll(m)
        if v is None:
            continue
        j = bisect_left(a, v)
        if j < len(a) and a[j] == v:
            del a[j]
            removed += 1
    return (make_intset(a, s.width) if removed else s), removed


def set_size(s: IntSet | SetHT) -> int:
    return len(s)
