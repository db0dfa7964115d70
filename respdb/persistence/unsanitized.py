"""Values whose full decoding failed, read again as Redis 7.0 reads them without deep
sanitization (`sanitize-dump-payload no`, or `clients` for the master, the AOF and users with
skip-sanitize-payload).

For listpack hashes and sorted sets, quicklists of listpacks and streams, Redis's rdbLoadObject
then checks only the listpack headers and keeps the bytes: what it refuses is refused here too
(RDBError, "Bad data format"); where its loading code itself walks the entries (a conversion to
a hash table, a stream's first entry) and meets the damage, the server stops as Redis's does
(`Limits.crash`); otherwise the value becomes a `Corrupt` placeholder (respdb/types/corrupt.py).
Every other encoding is converted while loading in Redis as well, so its damage is refused
whatever the setting, as before.
"""

from __future__ import annotations

from typing import Any

from respdb.persistence import rdb
from respdb.persistence.packed import as_bytes, lp_header_error, lp_prefix
from respdb.types.corrupt import ASSERT_LISTPACK, Corrupt
from respdb.types.streams import Stream

LAZY_TYPES = frozenset(
    (rdb.T_HASH_LISTPACK, rdb.T_ZSET_LISTPACK, rdb.T_LIST_QUICKLIST_2, rdb.T_STREAM_LISTPACKS, rdb.T_STREAM_LISTPACKS_2)
)
LISTPACK_ASSERT = ASSERT_LISTPACK % "listpack.c"


def read(r: rdb.Reader, rdbtype: int, limits: rdb.Limits, at: int, failure: Exception) -> Any:
    """Read the value at `at` again, shallowly; `failure` is why the full decoding refused it
    (and what is reported when the shallow reading refuses it too)."""
    r.pos = at
    try:
        return _read(r, rdbtype, limits, at, failure)
    except rdb.RDBError:
        raise failure from None


def _read(r: rdb.Reader, rdbtype: int, limits: rdb.Limits, at: int, failure: Exception) -> Any:
    if rdbtype in (rdb.T_HASH_LISTPACK, rdb.T_ZSET_LISTPACK):
        _listpack_pairs(r, rdbtype, limits, failure)
        kind = "hash" if rdbtype == rdb.T_HASH_LISTPACK else "zset"
        return Corrupt(rdbtype, bytes(r.d[at : r.pos]), kind, "listpack")
    if rdbtype == rdb.T_LIST_QUICKLIST_2:
        _quicklist(r)
        return Corrupt(rdbtype, bytes(r.d[at : r.pos]), "list", "quicklist")
    _stream(r, rdbtype, limits)
    return Corrupt(rdbtype, bytes(r.d[at : r.pos]), "stream", "stream")


def _listpack_pairs(r: rdb.Reader, rdbtype: int, limits: rdb.Limits, failure: Exception) -> None:
    name = "Hash" if rdbtype == rdb.T_HASH_LISTPACK else "Zset"
    lp_at = r.pos
    blob = r.string("an encoded value")
    if lp_header_error(blob) is not None:
        raise rdb.RDBError("%s listpack integrity check failed." % name, lp_at)
    count = blob[4] | (blob[5] << 8)
    items, whole = lp_prefix(blob)
    if count == 65535:  # lpLength walks the entries to count them
        if not whole:
            limits.crash("", LISTPACK_ASSERT)
        count = len(items)
    if count // 2 == 0:
        raise rdb.EmptyKey
    most = limits.hash_entries if rdbtype == rdb.T_HASH_LISTPACK else limits.zset_entries
    if count // 2 <= most:
        return  # kept as a listpack: nothing walks it until a command does
    # Too many entries for a listpack: Redis converts it now, walking every entry.
    if not whole or len(items) % 2:
        limits.crash("", LISTPACK_ASSERT)
    if rdbtype == rdb.T_ZSET_LISTPACK:
        limits.crash("", "t_zset.c:0 'dictAdd(zs->dict,ele,&node->score) == DICT_OK' is not true")
    fields = [as_bytes(v) for v in items[0::2]]
    if len(set(fields)) != len(fields):
        limits.hexdump("listpack with dup elements dump", blob)
        limits.crash("Listpack corruption detected", "t_hash.c")
    raise failure  # (not a damage the conversion meets: refused as before)


def _quicklist(r: rdb.Reader) -> None:
    nodes = r.length("a quicklist node count")
    if nodes == 0:
        raise rdb.EmptyKey
    count = 0
    for _ in range(nodes):
        container = r.length("a quicklist container type")
        if container not in (rdb.QUICKLIST_NODE_PLAIN, rdb.QUICKLIST_NODE_PACKED):
            raise r.fail("Quicklist integrity check failed.")
        node_at = r.pos
        blob = r.string("a quicklist node")
        if not blob:
            raise rdb.RDBError("quicklist node is empty", node_at)
        if container == rdb.QUICKLIST_NODE_PLAIN:
            count += 1
            continue
        if lp_header_error(blob) is not None:
            raise rdb.RDBError("Listpack integrity check failed.", node_at)
        n = blob[4] | (blob[5] << 8)
        if n == 65535:
            items, whole = lp_prefix(blob)
            if not whole:
                raise rdb.RDBError("Listpack integrity check failed.", node_at)
            n = len(items)
        count += n
    if count == 0:
        raise rdb.EmptyKey


def _stream(r: rdb.Reader, rdbtype: int, limits: rdb.Limits) -> None:
    nodes: list[tuple[int, list[Any], bool]] = []
    seen = set()
    for _ in range(r.length("a stream node count")):
        key_at = r.pos
        nodekey = r.string("a stream node key")
        if len(nodekey) != 16:
            raise rdb.RDBError("Stream node key entry is not the size of a stream ID", key_at)
        lp_at = r.pos
        blob = r.string("a stream listpack")
        if lp_header_error(blob) is not None:
            raise rdb.RDBError("Stream listpack integrity check failed.", lp_at)
        if blob[6] == 0xFF:
            raise rdb.RDBError("Empty listpack inside stream", lp_at)
        items, whole = lp_prefix(blob)
        if not items:
            limits.crash("", LISTPACK_ASSERT)  # lpFirst asserts that the first entry is valid
        if nodekey in seen:
            raise rdb.RDBError("Listpack re-added with existing key", key_at)
        seen.add(nodekey)
        nodes.append((int.from_bytes(nodekey, "big"), items, whole))
    length = r.length("a stream length")
    r.length("a stream ID")
    r.length("a stream ID")
    if rdbtype == rdb.T_STREAM_LISTPACKS_2:
        for _ in range(5):  # first ID, largest deleted ID, entries added
            r.length("a stream ID")
    else:
        _first_entry(sorted(nodes), limits)  # streamGetEdgeID, to set the first ID
    if length and not nodes:
        raise rdb.RDBError("Stream length inconsistent with rax entries", r.pos)
    rdb.read_groups(r, rdbtype, Stream(), deep=False)  # (parsed for their checks, then dropped)


def _first_entry(nodes: list[tuple[int, list[Any], bool]], limits: rdb.Limits) -> None:
    """Walk as Redis's stream iterator does to the first live entry (streamGetEdgeID in the
    loading of a stream without 7.0's first-ID field), stopping the server where that walk
    meets a broken element or a number that is not one."""

    def number(items: list[Any], i: int) -> int:
        if i >= len(items):
            limits.crash("", LISTPACK_ASSERT)
        v = items[i]
        if type(v) is int:
            return v
        try:
            return int(v)
        except ValueError:
            limits.crash("", "listpack.c:0 'ret != 0' is not true")
            return 0

    for _master, items, whole in nodes:
        nf = number(items, 2)
        p = 3 + nf  # the master entry's terminating 0
        if nf < 0 or p >= len(items):
            limits.crash("", LISTPACK_ASSERT)
        while True:
            p += 1
            if p >= len(items):
                if whole:
                    break  # the end of this node: on to the next
                limits.crash("", LISTPACK_ASSERT)
            flags = number(items, p)
            number(items, p + 1)
            number(items, p + 2)
            if flags & rdb.STREAM_ITEM_SAMEFIELDS:
                fields = nf
                p += 3
            else:
                fields = 2 * number(items, p + 3)
                p += 4
                if fields < 0:
                    limits.crash("", "t_stream.c:0 '*numfields>=0' is not true")
            if not flags & rdb.STREAM_ITEM_DELETED:
                return  # the first entry: found
            p += fields  # past the values, to the lp-count (the loop steps over it)
            if p >= len(items):
                limits.crash("", LISTPACK_ASSERT)
