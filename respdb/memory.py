"""MEMORY USAGE figures: what Redis 7.0's objectComputeSize() would say for the same data.

respdb does not lay values out as Redis does, so the estimate is worked out from the
contents with Redis's structure sizes (64-bit build) and jemalloc's size classes:

- exact where Redis's figure only depends on the data: integers, embstr/raw strings built by
  SET, intsets, listpack hashes and sorted sets, lists (quicklist nodes cut as pushing builds
  them), and streams (radix tree node count and listpack bytes per node; the open node is
  pre-allocated at stream-node-max-bytes as XADD does);
- close where Redis's own figure depends on things respdb does not have: the order its dict
  iterator samples members of hashtable sets and hashes (only matters when member sizes vary),
  random skiplist node levels (their expected size is used), in-progress rehashing, and the
  growth history of strings changed by APPEND/SETRANGE (sds grows greedily: the doubled size is
  assumed).

Like Redis, big collections are sampled: SAMPLES elements (default 5, 0 = all) give an
average that is multiplied by the element count.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any

from respdb.debuginfo import DEFAULT_PACKED_THRESHOLD, je_size, listpack_of, quicklist_nodes
from respdb.resp import _parse_ll
from respdb.types import encoding, lists
from respdb.types.corrupt import Corrupt
from respdb.types.strings import PlainBytes

DEFAULT_SAMPLES = 5

# sizeof() of Redis 7.0's structures on a 64-bit build.
ROBJ = 16
DICT = 56
DICT_ENTRY = 24
QUICKLIST = 40
QUICKLIST_NODE = 40
ZSET = 16
ZSKIPLIST = 32
ZSL_HEADER = je_size(24 + 16 * 32)  # a node with ZSKIPLIST_MAXLEVEL levels
STREAM = 80
STREAM_ID = 16
RAX_NODE = 4
STREAM_CG = 40
STREAM_CONSUMER = 24
STREAM_NACK = 24
STREAM_PREALLOC = 4096  # STREAM_LISTPACK_MAX_PRE_ALLOCATE


def _expected_zsl_node() -> float:
    """The mean allocation of a skiplist node (24 bytes + 16 per level), levels drawn as
    zslRandomLevel draws them (each further level with probability 1/4, at most 32)."""
    total = 0.0
    p = 0.75
    for level in range(1, 33):
        weight = p * 0.25 ** (level - 1) if level < 32 else 0.25**31
        total += weight * je_size(24 + 16 * level)
    return total


ZSL_NODE = _expected_zsl_node()


def sds_alloc(n: int, type5: bool = True) -> int:
    """zmalloc_size of an sds made by sdsnewlen for n bytes (type 5 headers below 32 bytes
    unless the sds was made to grow)."""
    if n < 32 and type5:
        hdr = 1
    elif n < 256:
        hdr = 3
    elif n < 65536:
        hdr = 5
    elif n < 1 << 32:
        hdr = 9
    else:
        hdr = 17
    return je_size(hdr + n + 1)


def embstr_alloc(n: int) -> int:
    """One allocation holding the object header, an sds type 8 header and the bytes."""
    return je_size(ROBJ + 3 + n + 1)


def key_overhead(key: bytes) -> int:
    """What MEMORY USAGE adds for the key: its sds in the keyspace and the dict entry."""
    return sds_alloc(len(key)) + DICT_ENTRY


def dict_slots(n: int, presized: int = 0) -> int:
    """dictSlots() of a Redis dict that received `n` entries one add at a time, after being
    created empty or expanded for `presized` entries (an encoding conversion).

    A full table doubles on the next add and is then rehashed incrementally, one bucket per
    add; until that is done both tables count. How many buckets the old table occupies
    depends on Redis's (seeded) hash function: the expected number is used."""
    size = _next_pow2(presized) if presized else 0
    used = presized
    old = 0
    left = 0  # old-table buckets still to move
    for _ in range(n - presized):
        if left:
            left -= 1
            if not left:
                old = 0
        if not left and used >= size:
            if size == 0:
                size = 4
            else:
                old, size = size, _next_pow2(used + 1)
                left = round(old * (1 - (1 - 1 / old) ** used))
        used += 1
    return size + (old if left else 0)


def _next_pow2(n: int) -> int:
    size = 4
    while size < n:
        size <<= 1
    return size


def _avg_times(elesize: float, samples: int, count: int) -> float:
    return elesize / samples * count if samples else 0.0


def usage(engine: Any, key: bytes, value: Any, samples: int = DEFAULT_SAMPLES) -> int:
    """MEMORY USAGE <key> [SAMPLES <samples>] for a value (samples 0: every element)."""
    return object_size(engine, value, samples) + key_overhead(key)


def object_size(engine: Any, value: Any, samples: int) -> int:
    if samples <= 0:
        samples = 1 << 62
    t = type(value)
    if t is bytes or t is bytearray or t is PlainBytes:
        return _string_size(value)
    if t is Corrupt:
        return ROBJ + len(value.body)  # (its bytes as read)
    kind = value.redis_type
    if kind == "list":
        return _list_size(engine, value, samples)
    if kind == "set":
        return _set_size(engine, value, samples)
    if kind == "hash":
        return _hash_size(engine, value, samples)
    if kind == "zset":
        return _zset_size(engine, value, samples)
    if kind == "stream":
        return _stream_size(engine, value, samples)
    return ROBJ


def _string_size(value: bytes) -> int:
    enc = encoding(value)
    n = len(value)
    if enc == "int":
        return ROBJ
    if enc == "embstr":
        return embstr_alloc(n)
    if type(value) is bytearray:
        # grown in place by APPEND/SETRANGE: sdsMakeRoomFor doubles below 1MB (type 8 at least)
        room = n * 2 if n < 1024 * 1024 else n + 1024 * 1024
        return ROBJ + sds_alloc(room, type5=False)
    return ROBJ + sds_alloc(n, type5=False)


def _list_size(engine: Any, value: Any, samples: int) -> int:
    cfg = engine.config
    threshold = getattr(engine, "quicklist_packed_threshold", DEFAULT_PACKED_THRESHOLD)
    nodes = quicklist_nodes(lists.values_of(value), cfg.get_int("list-max-listpack-size"), threshold)
    asize = ROBJ + QUICKLIST
    if not nodes:
        return asize
    elesize = 0
    n = 0
    for _plain, blob in nodes[:samples]:
        elesize += QUICKLIST_NODE + je_size(len(blob))
        n += 1
    return int(asize + _avg_times(elesize, n, len(nodes)))


def _sample(members: Any, samples: int) -> Any:
    """The members Redis's dict iterator would sample first: its order follows the (seeded)
    hash, so ours does too (by Python's own seeded hash) for collections small enough to sort
    that way cheaply; bigger ones are sampled in insertion order."""
    if samples >= len(members):
        return members
    if len(members) <= 4096:
        return heapq.nsmallest(samples, members, key=hash)
    return itertools.islice(members, samples)


def _all_ints(members: Any) -> bool:
    return all(_parse_ll(m) is not None for m in members)


def _set_size(engine: Any, value: Any, samples: int) -> int:
    if value.encoding() == "intset":
        return ROBJ + je_size(8 + len(value) * value.width)
    # a set of integers only got here by outgrowing an intset: presized to its length then
    max_intset = engine.config.get_int("set-max-intset-entries")
    presized = max_intset + 1 if len(value) > max_intset and _all_ints(value) else 0
    asize = ROBJ + DICT + 8 * dict_slots(len(value), presized)
    elesize = 0
    n = 0
    for m in _sample(value, samples):
        elesize += DICT_ENTRY + sds_alloc(len(m))
        n += 1
    return int(asize + _avg_times(elesize, n, len(value)))


def _hash_size(engine: Any, value: Any, samples: int) -> int:
    if value.encoding() == "listpack":
        return ROBJ + je_size(len(listpack_of(value)))
    # converted from a listpack: presized for the entries it had then (one past the entry
    # limit; for a conversion by a long value, assumed to be about the entries it has now)
    max_lp = engine.config.get_int("hash-max-listpack-entries")
    presized = max_lp + 1 if len(value) > max_lp else len(value)
    asize = ROBJ + DICT + 8 * dict_slots(len(value), presized)
    elesize = 0
    n = 0
    for f in _sample(value, samples):
        elesize += sds_alloc(len(f)) + sds_alloc(len(value[f])) + DICT_ENTRY
        n += 1
    return int(asize + _avg_times(elesize, n, len(value)))


def _zset_size(engine: Any, value: Any, samples: int) -> int:
    if value.encoding() == "listpack":
        return ROBJ + je_size(len(listpack_of(value)))
    count = len(value)
    max_lp = engine.config.get_int("zset-max-listpack-entries")  # converted as hashes are
    presized = max_lp + 1 if count > max_lp else count
    asize = ROBJ + ZSET + ZSKIPLIST + DICT + 8 * dict_slots(count, presized) + ZSL_HEADER
    elesize = 0.0
    n = 0
    for _score, m in value.sl.pairs(0, min(samples, count)) if count else ():
        elesize += sds_alloc(len(m)) + DICT_ENTRY + ZSL_NODE
        n += 1
    return int(asize + _avg_times(elesize, n, count))


def rax_usage(numele: int, numnodes: int) -> int:
    """streamRadixTreeMemoryUsage (which, as in Redis, does not count the rax struct itself)."""
    return numele * STREAM_ID + numnodes * RAX_NODE + numnodes * 8 * 30


def _stream_size(engine: Any, s: Any, samples: int) -> int:
    from respdb.types.streams import rax_nodes_of

    cfg = engine.config
    max_entries = cfg.get_int("stream-node-max-entries")
    max_bytes = cfg.get_int("stream-node-max-bytes")
    prealloc = STREAM_PREALLOC if not 0 < max_bytes < STREAM_PREALLOC else max_bytes
    nodes = s.nodes
    asize = ROBJ + STREAM + rax_usage(len(nodes), rax_nodes_of(s.starts))

    def lp_alloc(i: int) -> int:
        node = nodes[i]
        size = je_size(node.nbytes())
        if max_entries and node.live + node.deleted >= max_entries and i < len(nodes) - 1:
            return size  # closed because full: XADD shrank it to fit
        return max(size, je_size(prealloc))

    lpsize = 0
    n = 0
    while n < samples and n < len(nodes):
        lpsize += lp_alloc(n)
        n += 1
    if len(nodes) <= n:
        asize += lpsize
    else:
        asize += lpsize // n * (len(nodes) - 1) + lp_alloc(len(nodes) - 1)
    for g in (s.groups or {}).values():
        asize += STREAM_CG + rax_usage(len(g.pel), rax_nodes_of(list(g.pel))) + STREAM_NACK * len(g.pel)
        for cons in g.consumers.values():
            asize += STREAM_CONSUMER + len(cons.name) + rax_usage(len(cons.pel), rax_nodes_of(list(cons.pel)))
    return asize


__all__ = ["usage", "object_size", "key_overhead", "DEFAULT_SAMPLES"]
