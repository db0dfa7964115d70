"""Which deletions Redis would hand to its lazy-free thread, for INFO's `lazyfreed_objects`.

respdb frees values at once (Python's reference counting), but clients and Redis's tests read
how many objects a lazy free (UNLINK, DEL with lazyfree-lazy-user-del, FLUSHALL/FLUSHDB ASYNC)
gave to the background thread. Redis does that only for a value whose freeing takes more than
LAZYFREE_THRESHOLD allocations (lazyfreeGetFreeEffort): the nodes of a quicklist, the
elements of a hashtable set or hash or of a skiplist zset, a stream's listpack nodes plus its
consumer groups times the first group's PEL; every other value is one allocation. A flush
counts each key it removed.
"""

from __future__ import annotations

from typing import Any

from respdb import types

LAZYFREE_THRESHOLD = 64


def free_effort(engine: Any, value: Any) -> int:
    """Redis's lazyfreeGetFreeEffort for `value`."""
    kind = getattr(value, "redis_type", None)
    if kind is None:
        return 1  # a string
    if kind == "stream":
        effort = value.rax_nodes()
        groups = value.groups
        if groups:
            first = next(iter(groups.values()))
            effort += len(groups) * (1 + len(first.pel))
        return effort
    enc = types.encoding(value)
    if enc == "quicklist":
        from respdb.debuginfo import DEFAULT_PACKED_THRESHOLD, quicklist_nodes
        from respdb.types import lists

        fill = engine.config.get_int("list-max-listpack-size")
        threshold = getattr(engine, "quicklist_packed_threshold", DEFAULT_PACKED_THRESHOLD)
        return len(quicklist_nodes(lists.values_of(value), fill, threshold))
    if enc in ("hashtable", "skiplist"):
        return len(value)
    return 1


def note_freed(engine: Any, value: Any) -> None:
    """A value deleted lazily: counted when Redis would have freed it in the background."""
    if getattr(value, "redis_type", None) is not None and free_effort(engine, value) > LAZYFREE_THRESHOLD:
        engine.stats["lazyfreed_objects"] += 1
