"""Hash values, in Redis 7.0's two encodings.

- listpack: fields and values alternate in one flat tuple, kept as `marshal.dumps(tuple)` in an
  immutable `bytes` subclass (marshal is C-fast both ways and costs about five bytes per
  element). Order is insertion order, as in a listpack: an update keeps the field's place, a new
  field goes to the end; clients see that order in HGETALL/HKEYS/HVALS/HSCAN. A change builds a
  new value (O(n), as a listpack insert is); the caller stores it back in the keyspace.
- hashtable: a `dict` subclass; `index` is a ValueIndex over the fields once HSCAN or random
  sampling needed one (built on first use, then maintained), for SCAN's guarantee and O(1)
  random picks on big hashes.

A hash converts from listpack to hashtable when it gets more than `hash-max-listpack-entries`
fields or a field or value longer than `hash-max-listpack-value` bytes; never back.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from marshal import dumps, loads

from respdb.types.valueindex import ValueIndex

_SMALL_TUPLE = 0x29  # marshal's ')' (tuple of < 256 items, one count byte)
_TUPLE = 0x28  # '(' (four count bytes)
SMALL_SAMPLE = 64


class HashLP(bytes):
    __slots__ = ()
    redis_type = "hash"

    def encoding(self) -> str:
        return "listpack"

    def copy(self) -> HashLP:
        return self

    def __len__(self) -> int:  # type: ignore[override]
        """Number of fields, read from marshal's tuple header."""
        t = self[0] & 0x7F
        if t == _SMALL_TUPLE:
            return self[1] >> 1
        return int.from_bytes(self[1:5], "little") >> 1

    def flat(self) -> tuple:
        """(field0, value0, field1, value1, ...)"""
        return loads(self)

    def get(self, field: bytes) -> bytes | None:
        t = loads(self)
        i = _find(t, field)
        return None if i < 0 else t[i + 1]

    def items(self) -> list[tuple[bytes, bytes]]:
        t = loads(self)
        return list(zip(t[0::2], t[1::2], strict=True))


def _find(t: tuple | list, field: bytes) -> int:
    """Index of `field` among the even (field) positions of a flat tuple or list, or -1."""
    i = 0
    try:
        while True:
            i = t.index(field, i)
            if not i & 1:
                return i
            i += 1
    except ValueError:
        return -1


def pack(flat: Iterable[bytes]) -> HashLP:
    return HashLP(dumps(tuple(flat)))


class HashHT(dict):
    __slots__ = ("index",)
    redis_type = "hash"

    def __init__(self, pairs: Iterable[tuple[bytes, bytes]] = ()) -> None:
        dict.__init__(self, pairs)
        self.index: ValueIndex | None = None

    def encoding(self) -> str:
        return "hashtable"

    def copy(self) -> HashHT:  # type: ignore[override]
        return HashHT(self.items())

    def flat(self) -> list:
        out = []
        for kv in self.items():
            out += kv
        return out

    def set_new(self, field: bytes, value: bytes) -> bool:
        """Set a field; True if it was new."""
        if field in self:
            self[field] = value
            return False
        self[field] = value
        if self.index is not None:
            self.index.add(field)
        return True

    def delete(self, field: bytes) -> bool:
        if field not in self:
            return False
        del self[field]
        if self.index is not None:
            self.index.remove(field)
        return True

    def key_index(self) -> ValueIndex:
        if self.index is None:
            self.index = ValueIndex(self)
        return self.index

    def random_field(self) -> bytes:
        if self.index is None and len(self) <= SMALL_SAMPLE:
            return random.choice(tuple(self))
        f = self.key_index().random()
        assert f is not None
        return f


def to_hashtable(h: HashLP) -> HashHT:
    t = loads(h)
    return HashHT(zip(t[0::2], t[1::2], strict=True))


def lp_set(h: HashLP | None, pairs: list[bytes], max_entries: int) -> tuple[tuple, int, int]:
    """Apply field/value pairs (flat) to a listpack's tuple, stopping as soon as it holds more
    than `max_entries` fields (the caller converts and goes on from there, as Redis converts
    mid-command). Returns (new flat tuple, fields added, pairs consumed)."""
    t = list(loads(h)) if h is not None else []
    added = 0
    n = len(pairs)
    for i in range(0, n, 2):
        f = pairs[i]
        j = _find(t, f)
        if j < 0:
            t.append(f)
            t.append(pairs[i + 1])
            added += 1
            if len(t) > 2 * max_entries:
                return tuple(t), added, i + 2
        else:
            t[j + 1] = pairs[i + 1]
    return tuple(t), added, n


def lp_delete(h: HashLP, fields: list[bytes]) -> tuple[tuple, int]:
    t = list(loads(h))
    removed = 0
    for f in fields:
        j = _find(t, f)
        if j >= 0:
            del t[j : j + 2]
            removed += 1
    return tuple(t), removed
