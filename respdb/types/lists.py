"""List values.

Every element is kept RESP-encoded (`$<len>\\r\\n<data>\\r\\n`, an "item"), so the replies
that dominate list traffic (LPOP, LINDEX, LRANGE, BLPOP) are made by joining stored bytes,
and equality tests (LREM, LPOS, LINSERT) compare items directly: two items are equal
exactly when their elements are.

Two forms, both reported as "quicklist" by OBJECT ENCODING (Redis 7.0 says so for every
list, whatever its size):

- `ListPack`: a small list in one immutable bytes object holding the whole LRANGE 0 -1
  reply (`*<n>\\r\\n` followed by the items). One Python object per list instead of one
  per element keeps small lists near Redis's listpack memory; LRANGE of the whole list
  is the object itself, and the ends are reached by slicing. A change stores a new object.
- `QuickList`: a deque of items for anything bigger: O(1) at both ends; indexing walks
  from the nearer end in C.

A list moves to the deque past COMPACT_MAX_ENTRIES items or COMPACT_MAX_BYTES bytes, and
back when a shrinking deque gets down to SHRINK_ENTRIES small items (the gap avoids
flip-flopping around one size).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import hiredis

from respdb.resp import bulk

COMPACT_MAX_ENTRIES = 64
COMPACT_MAX_BYTES = 2048
SHRINK_ENTRIES = 32

_reader = hiredis.Reader()


class ListPack(bytes):
    """A small list: the bytes of its own `*<n>` array reply."""

    __slots__ = ()
    redis_type = "list"

    def encoding(self) -> str:
        return "quicklist"

    def copy(self) -> ListPack:
        return self  # immutable


class QuickList(deque):
    """A big list: a deque of RESP-encoded items."""

    __slots__ = ()
    redis_type = "list"

    def encoding(self) -> str:
        return "quicklist"

    def copy(self) -> QuickList:
        return QuickList(self)


LIST_TYPES = (ListPack, QuickList)


def item(x: bytes) -> bytes:
    return bulk(x)


def element(it: bytes) -> bytes:
    """The element an item encodes."""
    return it[it.index(b"\r\n") + 2 : -2]


def is_list(v: object) -> bool:
    t = type(v)
    return t is QuickList or t is ListPack


# ---------------------------------------------------------------------------
# The compact form


def header_end(pack: bytes) -> int:
    return pack.index(b"\r\n") + 2


def pack_len(pack: bytes) -> int:
    return int(pack[1 : pack.index(b"\r\n")])


def pack_values(pack: bytes) -> list[bytes]:
    """The elements (decoded) of a ListPack, parsed in C."""
    _reader.feed(pack)
    return _reader.gets()


def pack_items(pack: bytes) -> list[bytes]:
    return [b"$%d\r\n%b\r\n" % (len(x), x) for x in pack_values(pack)]


def first_item_end(pack: bytes, pos: int) -> int:
    """The end of the item starting at `pos`."""
    nl = pack.index(b"\r\n", pos)
    return nl + 4 + int(pack[pos + 1 : nl])


# ---------------------------------------------------------------------------
# Both forms


def from_items(items: list[bytes]) -> ListPack | QuickList | None:
    """The right form for these items (None when there are none)."""
    n = len(items)
    if not n:
        return None
    if n <= COMPACT_MAX_ENTRIES:
        body = b"".join(items)
        if len(body) <= COMPACT_MAX_BYTES:
            return ListPack(b"*%d\r\n%b" % (n, body))
    return QuickList(items)


def from_values(values: Iterable[bytes]) -> ListPack | QuickList | None:
    """Build a list from plain elements (RDB loading, SORT ... STORE, tests)."""
    return from_items([b"$%d\r\n%b\r\n" % (len(x), x) for x in values])


def items_of(v: ListPack | QuickList) -> list[bytes]:
    if type(v) is QuickList:
        return list(v)
    return pack_items(v)


def values_of(v: ListPack | QuickList) -> list[bytes]:
    """The plain elements, head to tail (for SORT, RDB saving, DUMP, tests)."""
    if type(v) is QuickList:
        return [element(it) for it in v]
    return pack_values(v)


def length(v: ListPack | QuickList) -> int:
    if type(v) is QuickList:
        return len(v)
    return pack_len(v)


def maybe_shrink(v: QuickList) -> ListPack | QuickList:
    """A deque that got small enough goes back to the compact form."""
    n = len(v)
    if n <= SHRINK_ENTRIES:
        size = 0
        for it in v:
            size += len(it)
        if size <= COMPACT_MAX_BYTES:
            return ListPack(b"*%d\r\n%b" % (n, b"".join(v)))
    return v


def push_items(v: ListPack | QuickList | None, new: list[bytes], left: bool) -> ListPack | QuickList:
    """`v` with `new` items pushed one by one at the head (left) or tail; may be a new object.

    For a left push, `new` is in push order: the last one ends up first.
    """
    if type(v) is QuickList:
        if left:
            v.extendleft(new)
        else:
            v.extend(new)
        return v
    if v is None:
        n = 0
        body = b""
    else:
        n = pack_len(v)
        body = memoryview(v)[v.index(b"\r\n") + 2 :]
    k = len(new)
    if k == 1:
        added = new[0]
    else:
        added = b"".join(reversed(new) if left else new)
    total = n + k
    if total <= COMPACT_MAX_ENTRIES and len(body) + len(added) <= COMPACT_MAX_BYTES:
        if left:
            return ListPack(b"*%d\r\n%b%b" % (total, added, body))
        return ListPack(b"*%d\r\n%b%b" % (total, body, added))
    q = QuickList(pack_items(v) if v is not None else ())
    if left:
        q.extendleft(new)
    else:
        q.extend(new)
    return q


def pop_items(v: ListPack | QuickList, count: int, left: bool) -> tuple[list[bytes], ListPack | QuickList | None]:
    """Pop up to `count` items from one end, in pop order; returns (items, what remains or None)."""
    if type(v) is QuickList:
        n = len(v)
        if count >= n:
            out = list(v) if left else list(reversed(v))
            return out, None
        pop = v.popleft if left else v.pop
        out = [pop() for _ in range(count)]
        if len(v) <= SHRINK_ENTRIES:
            return out, maybe_shrink(v)
        return out, v
    n = pack_len(v)
    if count >= n:
        items = pack_items(v)
        if not left:
            items.reverse()
        return items, None
    if left:
        pos = header_end(v)
        out = []
        for _ in range(count):
            end = first_item_end(v, pos)
            out.append(v[pos:end])
            pos = end
        return out, ListPack(b"*%d\r\n%b" % (n - count, memoryview(v)[pos:]))
    values = pack_values(v)
    out = [b"$%d\r\n%b\r\n" % (len(x), x) for x in values[: n - count - 1 : -1]]
    cut = len(v)
    for it in out:
        cut -= len(it)
    return out, ListPack(b"*%d\r\n%b" % (n - count, memoryview(v)[header_end(v) : cut]))


def replace_items(v: ListPack | QuickList, items: list[bytes]) -> ListPack | QuickList | None:
    """After an edit of the whole item list: the value to store (None when empty)."""
    if type(v) is QuickList and len(items) > SHRINK_ENTRIES:
        v.clear()
        v.extend(items)
        return v
    return from_items(items)
