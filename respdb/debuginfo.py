"""Low-level descriptions of values for DEBUG OBJECT / SDSLEN / HTSTATS / LISTPACK / QUICKLIST.

respdb does not store values the way Redis does, so these reports are worked out from the
contents with Redis's own rules, and the formats are Redis's:

- serializedlength: the RDB encoding of the value (persistence/rdb.py), i.e. what
  rdbSavedObjectLen measures. Lists are cut into quicklist nodes as pushing the elements one
  by one would, with elements at or above the packed threshold (DEBUG
  QUICKLIST-PACKED-THRESHOLD) in plain nodes of their own, as Redis 7.0 does.
- ql_*: the same node split (list-compress-depth is reported but nodes are not compressed).
- sdslen: sds header sizes and jemalloc size classes, as a 64-bit jemalloc build reports them.
- htstats: for a database, Redis's table size rule (the smallest power of two >= the key
  count, at least 4) with slots taken from Python's hash; for a set, hash or sorted set, the
  value's own table (types/valueindex.py), sized and rehashed as Redis's dict. Chains are
  Python's hash, so their lengths differ from Redis's (whose hash seed is random per process
  anyway); table sizes, rehashing and the format do not.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from typing import Any

from respdb.persistence import rdb
from respdb.persistence.packed import lp_pack, lp_str
from respdb.types import encoding, lists, zsets
from respdb.types.strings import PlainBytes
from respdb.types.valueindex import table_size

LRU_CLOCK_MAX = (1 << 24) - 1
DEFAULT_PACKED_THRESHOLD = 1 << 30
QL_CONTAINER_PLAIN = b"\x01"
QL_CONTAINER_PACKED = b"\x02"


# ---------------------------------------------------------------------------
# quicklist nodes


def quicklist_nodes(values: list[bytes], fill: int, threshold: int) -> list[tuple[bool, bytes]]:
    """(plain?, listpack blob or element) for each node of a list built by RPUSH."""
    nodes: list[tuple[bool, bytes]] = []
    run: list[bytes] = []
    for v in values:
        if len(v) >= threshold:
            if run:
                nodes += [(False, blob) for blob in rdb._quicklist_nodes(run, fill)]
                run = []
            nodes.append((True, v))
        else:
            run.append(v)
    if run:
        nodes += [(False, blob) for blob in rdb._quicklist_nodes(run, fill)]
    return nodes


def _list_serialized(nodes: list[tuple[bool, bytes]], compress: bool) -> int:
    n = len(rdb.enc_len(len(nodes)))
    for _plain, blob in nodes:
        n += 1 + len(rdb.enc_str(blob, compress))
    return n


# ---------------------------------------------------------------------------
# DEBUG OBJECT


def lru_field(engine: Any, db: Any, key: bytes) -> tuple[int, int]:
    """(the object's lru field, lru_seconds_idle) as Redis computes them."""
    now = int(time.time()) & LRU_CLOCK_MAX
    if "lfu" in engine.config["maxmemory-policy"]:
        lru = db.access_field(key) & LRU_CLOCK_MAX
    else:
        lru = (now - db.idle_seconds(key)) & LRU_CLOCK_MAX
    # estimateObjectIdleTime reads the field as an LRU clock whatever the policy
    idle = now - lru if now >= lru else now + (LRU_CLOCK_MAX - lru)
    return lru, idle


def object_address(key: bytes, value: Any, refcount: int) -> int:
    """The `at:` of DEBUG OBJECT. Redis prints the value object's address, which stays the same
    while the value is changed in place (INCR on an unshared integer, APPEND, ...). respdb's
    values are immutable objects replaced on every change, so an unshared value is given an
    address of its key's instead; a shared integer (0..9999) has the shared object's."""
    if refcount > 1:
        return id(value)
    return 0x7F0000000000 | (hash(key) & 0xFFFFFFFFF0)


def object_line(engine: Any, db: Any, key: bytes, value: Any, refcount: int) -> str:
    cfg = engine.config
    compress = cfg["rdbcompression"] == "yes"
    fill = cfg.get_int("list-max-listpack-size")
    extra = ""
    if getattr(value, "redis_type", None) == "list":
        threshold = getattr(engine, "quicklist_packed_threshold", DEFAULT_PACKED_THRESHOLD)
        nodes = quicklist_nodes(lists.values_of(value), fill, threshold)
        serialized = _list_serialized(nodes, compress)
        count = lists.length(value)
        extra = " ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d ql_uncompressed_size:%d" % (
            len(nodes),
            count / len(nodes),
            fill,
            1 if cfg.get_int("list-compress-depth") else 0,
            sum(len(b) for _, b in nodes),
        )
    else:
        serialized = len(rdb.encode_value(value, compress, fill)[1])
    lru, idle = lru_field(engine, db, key)
    return "Value at:0x%x refcount:%d encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d%s" % (
        object_address(key, value, refcount),
        refcount,
        encoding(value),
        serialized,
        lru,
        idle,
        extra,
    )


# ---------------------------------------------------------------------------
# DEBUG SDSLEN (64-bit jemalloc figures)


def je_size(n: int) -> int:
    """The jemalloc size class an n-byte allocation lands in."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) & ~15
    group = 1 << ((n - 1).bit_length() - 1)
    step = group >> 2
    return (n + step - 1) // step * step


def sds_header(n: int, allow_type5: bool = True) -> int:
    if n < 32 and allow_type5:
        return 1
    if n < 256:
        return 3
    if n < 65536:
        return 5
    if n < 1 << 32:
        return 9
    return 17


def sdslen_line(key: bytes, value: bytes | bytearray) -> str:
    kh = sds_header(len(key))
    kz = je_size(kh + len(key) + 1)
    kavail = 0 if kh == 1 else kz - kh - len(key) - 1
    n = len(value)
    if type(value) is not bytearray and n <= 44:  # embstr: object and sds in one allocation
        vavail = 0
        vz = je_size(16 + 3 + n + 1) - 16
    else:
        vh = sds_header(n, allow_type5=False)
        vz = je_size(vh + n + 1)
        vavail = vz - vh - n - 1
    return "key_sds_len:%d, key_sds_avail:%d, key_zmalloc: %d, val_sds_len:%d, val_sds_avail:%d, val_zmalloc: %d" % (
        len(key),
        kavail,
        kz,
        n,
        vavail,
        vz,
    )


def is_sds_string(value: Any) -> bool:
    t = type(value)
    return (t is bytes or t is bytearray or t is PlainBytes) and encoding(value) != "int"


# ---------------------------------------------------------------------------
# DEBUG HTSTATS / HTSTATS-KEY


def _f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", x))[0]


class KeyspaceTables:
    """The sizes Redis's keyspace dicts would have, for DEBUG HTSTATS <dbid>.

    Without a forked child a dict grows before the insertion that would overfill it and the
    cron shrinks it under 10% fill, so its size follows the key count and is worked out when
    asked. While a child runs it keeps its size unless the keys pass five per bucket, and after
    the child it grows again at the next insertion; so the sizes are noted as a child starts
    (`child_started`) and the key counts as it ends (`child_ended`)."""

    def __init__(self) -> None:
        self.child = False
        # (dbid, "keys" or "expires") -> [size, key count when the last child ended, or -1]
        self.tables: dict[tuple[int, str], list[int]] = {}

    def _dicts(self, dbs: list[Any]) -> Iterator[tuple[tuple[int, str], int]]:
        for db in dbs:
            yield (db.id, "keys"), len(db.data)
            yield (db.id, "expires"), len(db.expires)

    def child_started(self, dbs: list[Any]) -> None:
        for key, n in self._dicts(dbs):
            self.size(key, n)
        self.child = True

    def child_ended(self, dbs: list[Any]) -> None:
        self.child = False
        for key, n in self._dicts(dbs):
            self._entry(key, n)[1] = n

    def _entry(self, key: tuple[int, str], n: int) -> list[int]:
        entry = self.tables.get(key)
        if entry is None:  # first seen: as its insertions would have grown it
            entry = self.tables[key] = [table_size(n) if n else 0, -1]
        return entry

    def size(self, key: tuple[int, str], n: int) -> int:
        entry = self._entry(key, n)
        size, ended = entry
        if self.child:
            if n and (not size or n // size > 5):
                size = table_size(n)
        elif ended < 0 or n != ended:  # no child since, or keys came and went after it
            if n > size or (size > 4 and n * 100 // size < 10):
                size = table_size(n) if n else size
            entry[1] = -1
        entry[0] = size
        return size


def dict_stats(keys: Any, n: int, size: int = 0) -> str:
    """dictGetStats for a dictionary of `n` keys in `size` buckets (by default the size its
    insertions would have grown it to), the main table; no rehashing in progress."""
    mask = (size or table_size(n)) - 1
    chains: dict[int, int] = {}
    for k in keys:
        h = hash(k) & mask
        chains[h] = chains.get(h, 0) + 1
    return _table_stats(0, mask + 1, n, list(chains.values()))


def index_stats(index: Any) -> str:
    """dictGetStats for a value's ValueIndex: its main table, then the rehashing target."""
    out = []
    for i, (buckets, n) in enumerate(index.tables()):
        chains = [len(b) if type(b) is tuple else 1 for b in buckets if b is not None]
        out.append(_table_stats(i, len(buckets), n, chains))
    return "".join(out)


def _table_stats(htidx: int, size: int, n: int, chains: list[int]) -> str:
    """One table's part of dictGetStats: `chains` holds the length of each non-empty bucket."""
    name = "main hash table" if htidx == 0 else "rehashing target"
    if n == 0:
        return "Hash table %d stats (%s):\nNo stats available for empty dictionaries\n" % (htidx, name)
    slots = len(chains)
    clvector = [0] * 50
    clvector[0] = size - slots
    for ln in chains:
        clvector[min(ln, 49)] += 1
    out = [
        "Hash table %d stats (%s):\n"
        " table size: %d\n"
        " number of elements: %d\n"
        " different slots: %d\n"
        " max chain length: %d\n"
        " avg chain length (counted): %.02f\n"
        " avg chain length (computed): %.02f\n"
        " Chain length distribution:\n"
        % (htidx, name, size, n, slots, max(chains), _f32(sum(chains) / slots), _f32(n / slots))
    ]
    for i in range(49):
        if clvector[i]:
            out.append("   %d: %d (%.02f%%)\n" % (i, clvector[i], _f32(_f32(clvector[i] / size) * 100)))
    return "".join(out)


def value_index(value: Any) -> Any:
    """The ValueIndex behind a value (built now if it had none), or None when its encoding has
    no hash table."""
    enc = encoding(value)
    if enc == "skiplist":
        return value.scan_index()
    if enc == "hashtable":
        return value.key_index()
    return None


# ---------------------------------------------------------------------------
# DEBUG LISTPACK / QUICKLIST (printed on stdout, as Redis does)


def listpack_of(value: Any) -> bytes | None:
    """The listpack Redis would hold for a listpack-encoded value, else None."""
    if encoding(value) != "listpack":
        return None
    if value.redis_type == "hash":
        return lp_pack([lp_str(x) for x in value.flat()])
    elements = []
    for s, m in zsets.all_pairs(value):
        elements += [lp_str(m), lp_str(zsets.format_listpack_score(s))]
    return lp_pack(elements)


def listpack_repr(blob: bytes, items: list[bytes]) -> str:
    lines = ["{total bytes %d} {num entries %d}" % (len(blob), len(items))]
    for i, x in enumerate(items):
        lines.append("{\n\tindex: %d,\n\tpayload: %r\n}" % (i, x))
    lines.append("{end}\n")
    return "\n".join(lines)


def quicklist_repr(engine: Any, value: Any, full: bool) -> str:
    cfg = engine.config
    threshold = getattr(engine, "quicklist_packed_threshold", DEFAULT_PACKED_THRESHOLD)
    values = lists.values_of(value)
    nodes = quicklist_nodes(values, cfg.get_int("list-max-listpack-size"), threshold)
    lines = [
        "{count : %d}" % len(values),
        "{len : %d}" % len(nodes),
        "{fill : %s}" % cfg["list-max-listpack-size"],
        "{compress : %s}" % cfg["list-compress-depth"],
        "{bookmark_count : 0}",
    ]
    for i, (plain, blob) in enumerate(nodes):
        lines.append("{quicklist node(%d)" % i)
        lines.append(
            "{container : %s, encoding: RAW, size: %d, recompress: 0, attempted_compress: 0}"
            % ("PLAIN" if plain else "PACKED", len(blob))
        )
        if full and not plain:
            from respdb.persistence.packed import lp_strings

            lines.append(listpack_repr(blob, lp_strings(blob)))
        lines.append("}")
    return "\n".join(lines) + "\n"
