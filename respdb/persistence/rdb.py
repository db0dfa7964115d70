"""Redis RDB files (version 10, Redis 7.0): reading and writing respdb's keyspace.

Writing produces what Redis 7.0 would write for the same data: the same object types and
encodings (quicklist of listpacks, listpack or hashtable hashes, intset or hashtable sets,
listpack or binary-double skiplist sorted sets, streams with consumer groups), the same
string encodings (small integers as integers, LZF for longer strings when `rdbcompression`
is on) and a CRC-64 trailer when `rdbchecksum` is on. The DUMP payload is one value in the
same encoding plus the RDB version and a CRC.

Reading accepts every encoding Redis 7.0 reads, including those only older versions write
(linked lists, ziplists, zipmaps, quicklist v1, old-style scores, seconds expiries, streams
without 7.0's counters). A file is parsed completely into fresh databases before anything
is installed, so a refused file changes nothing. Anything wrong is an `RDBError` naming the
problem and the byte offset; keys that decode to empty collections are skipped with a
warning, as Redis does.

Values come out in the form Redis would pick after loading with the server's limits
(`hash-max-listpack-*`, `set-max-intset-entries`, `zset-max-listpack-*`), so OBJECT ENCODING
agrees with Redis after a restart.

Function libraries (RDB_OPCODE_FUNCTION2) are handed to the scripting engine through a
small hook, see `respdb.persistence.functions`.
"""

from __future__ import annotations

import gc
import math
import os
import random
import struct
import time
from array import array
from collections.abc import Callable
from typing import Any

from respdb.keyspace import Database
from respdb.persistence import lzf
from respdb.persistence.crc64 import crc64
from respdb.persistence.packed import (
    PackedError,
    as_int64,
    intset_decode,
    intset_encode,
    lp_decode,
    lp_int,
    lp_pack,
    lp_str,
    zipmap_decode,
    zl_decode,
)
from respdb.types import hashes, lists, sets, zsets
from respdb.types.corrupt import Corrupt
from respdb.types.strings import PlainBytes

RDB_VERSION = 10

# Opcodes
OP_FUNCTION2 = 245
OP_FUNCTION_PRE_GA = 246
OP_MODULE_AUX = 247
OP_IDLE = 248
OP_FREQ = 249
OP_AUX = 250
OP_RESIZEDB = 251
OP_EXPIRETIME_MS = 252
OP_EXPIRETIME = 253
OP_SELECTDB = 254
OP_EOF = 255

# Object types
T_STRING = 0
T_LIST = 1
T_SET = 2
T_ZSET = 3
T_HASH = 4
T_ZSET_2 = 5
T_MODULE_PRE_GA = 6
T_MODULE_2 = 7
T_HASH_ZIPMAP = 9
T_LIST_ZIPLIST = 10
T_SET_INTSET = 11
T_ZSET_ZIPLIST = 12
T_HASH_ZIPLIST = 13
T_LIST_QUICKLIST = 14
T_STREAM_LISTPACKS = 15
T_HASH_LISTPACK = 16
T_ZSET_LISTPACK = 17
T_LIST_QUICKLIST_2 = 18
T_STREAM_LISTPACKS_2 = 19

TYPE_NAMES = {
    T_STRING: "string", T_LIST: "list-linkedlist", T_SET: "set-hashtable", T_ZSET: "zset-v1",
    T_HASH: "hash-hashtable", T_ZSET_2: "zset-v2", T_MODULE_PRE_GA: "module-pre-release",
    T_MODULE_2: "module-value", T_HASH_ZIPMAP: "hash-zipmap", T_LIST_ZIPLIST: "list-ziplist",
    T_SET_INTSET: "set-intset", T_ZSET_ZIPLIST: "zset-ziplist", T_HASH_ZIPLIST: "hash-ziplist",
    T_LIST_QUICKLIST: "quicklist", T_STREAM_LISTPACKS: "stream", T_HASH_LISTPACK: "hash-listpack",
    T_ZSET_LISTPACK: "zset-listpack", T_LIST_QUICKLIST_2: "quicklist-v2", T_STREAM_LISTPACKS_2: "stream-v2",
}  # fmt: skip

QUICKLIST_NODE_PLAIN = 1
QUICKLIST_NODE_PACKED = 2
STREAM_ITEM_DELETED = 1
STREAM_ITEM_SAMEFIELDS = 2
MAX64 = (1 << 64) - 1

_MODULE_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_double = struct.Struct("<d")


class RDBError(Exception):
    """A file or payload that cannot be loaded: what is wrong, and where."""

    def __init__(self, msg: str, offset: int = -1, key: bytes | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.offset = offset
        self.key = key

    def __str__(self) -> str:
        where = " at byte offset %d" % self.offset if self.offset >= 0 else ""
        what = " (reading key '%s')" % self.key.decode("utf-8", "backslashreplace") if self.key is not None else ""
        return "%s%s%s" % (self.msg, where, what)


# How Redis names what failed its integrity check (rdbLoadObject's reports), by respdb's name.
_REDIS_CHECK_NAMES = (
    ("hash-zipmap", "Zipmap"), ("list-ziplist", "List ziplist"), ("set-intset", "Intset"),
    ("zset-ziplist", "Zset ziplist"), ("hash-ziplist", "Hash ziplist"), ("hash-listpack", "Hash listpack"),
    ("zset-listpack", "Zset listpack"), ("quicklist ziplist", "Ziplist"), ("quicklist listpack", "Listpack"),
    ("stream listpack", "Stream listpack"),
)  # fmt: skip


def redis_reason(err: RDBError) -> str:
    """The reason as Redis words its report ("Hash ziplist integrity check failed: ...")."""
    msg = err.msg
    for ours, theirs in _REDIS_CHECK_NAMES:
        if msg.startswith(ours + " "):
            return theirs + msg[len(ours) :]
    return msg[:1].upper() + msg[1:]


class EmptyKey(Exception):
    """A collection with no elements: Redis skips such keys (RESTORE refuses them)."""


class LoadCrash(Exception):
    """Where Redis's loading code would stop the server (Limits.crash without an engine)."""


class Limits:
    """The conversion thresholds Redis applies to loaded values, and how deeply to check them.

    `deep`: full sanitization (every value decoded and checked; a damaged one is refused).
    Without it, the encodings Redis keeps as read are checked as Redis checks them (see
    persistence/unsanitized.py). `crash(panic, what)` ends the server as Redis's assertion
    ("" panic) or panic would; `hexdump(label, blob)` logs bytes as serverLogHexDump."""

    __slots__ = (
        "hash_entries", "hash_value", "intset_entries", "zset_entries", "zset_value", "list_fill", "deep",
        "engine",
    )  # fmt: skip

    def __init__(self, cfg: Any = None, engine: Any = None, deep: bool | None = None) -> None:
        get = cfg.get_int if cfg is not None else None
        self.hash_entries = get("hash-max-listpack-entries") if get else 128
        self.hash_value = get("hash-max-listpack-value") if get else 64
        self.intset_entries = min(get("set-max-intset-entries"), 1 << 30) if get else 512
        self.zset_entries = get("zset-max-listpack-entries") if get else 128
        self.zset_value = get("zset-max-listpack-value") if get else 64
        self.list_fill = get("list-max-listpack-size") if get else -2
        # loading a file: deep only with sanitize-dump-payload yes (RESTORE decides for itself)
        self.deep = deep if deep is not None else (cfg is None or cfg["sanitize-dump-payload"] == "yes")
        self.engine = engine

    def crash(self, panic: str, what: str) -> None:
        if self.engine is None:
            raise LoadCrash(panic or what)
        from respdb.commands.debug import crash_assert, crash_panic

        if panic:
            crash_panic(self.engine, panic, what)
        crash_assert(self.engine, what)

    def hexdump(self, label: str, blob: bytes) -> None:
        if self.engine is not None:
            self.engine.log("warning", "%s (hexdump of %d bytes):" % (label, len(blob)))
            hexed = blob.hex()
            for i in range(0, len(hexed), 64):
                self.engine.log("warning", hexed[i : i + 64])

    def sanitized(self) -> None:
        """One deep check done (INFO's dump_payload_sanitizations)."""
        if self.engine is not None:
            self.engine.stats["dump_payload_sanitizations"] += 1


# ---------------------------------------------------------------------------
# Reading


class Reader:
    """A cursor over an in-memory RDB file or DUMP payload."""

    __slots__ = ("d", "pos", "end")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.d = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def fail(self, msg: str, at: int | None = None) -> RDBError:
        return RDBError(msg, self.pos if at is None else at)

    def eof(self, what: str) -> RDBError:
        return RDBError("unexpected end of file while reading %s" % what, self.pos)

    def byte(self, what: str = "a type byte") -> int:
        p = self.pos
        if p >= self.end:
            raise self.eof(what)
        self.pos = p + 1
        return self.d[p]

    def raw(self, n: int, what: str) -> bytes:
        p = self.pos
        if p + n > self.end:
            raise self.eof(what)
        self.pos = p + n
        return self.d[p : p + n]

    def length(self, what: str = "a length") -> int:
        d = self.d
        p = self.pos
        if p >= self.end:
            raise self.eof(what)
        b = d[p]
        t = b >> 6
        if t == 0:
            self.pos = p + 1
            return b & 0x3F
        if t == 1:
            if p + 2 > self.end:
                raise self.eof(what)
            self.pos = p + 2
            return ((b & 0x3F) << 8) | d[p + 1]
        if b == 0x80:
            if p + 5 > self.end:
                raise self.eof(what)
            self.pos = p + 5
            return int.from_bytes(d[p + 1 : p + 5], "big")
        if b == 0x81:
            if p + 9 > self.end:
                raise self.eof(what)
            self.pos = p + 9
            return int.from_bytes(d[p + 1 : p + 9], "big")
        raise self.fail("unknown length encoding 0x%02x while reading %s" % (b, what))

    def string(self, what: str = "a string") -> bytes:
        d = self.d
        p = self.pos
        if p >= self.end:
            raise self.eof(what)
        b = d[p]
        t = b >> 6
        if t == 0:
            n = b & 0x3F
            p += 1
        elif t == 1:
            if p + 2 > self.end:
                raise self.eof(what)
            n = ((b & 0x3F) << 8) | d[p + 1]
            p += 2
        elif t == 3:
            return self._special_string(b & 0x3F, what)
        elif b == 0x80:
            if p + 5 > self.end:
                raise self.eof(what)
            n = int.from_bytes(d[p + 1 : p + 5], "big")
            p += 5
        elif b == 0x81:
            if p + 9 > self.end:
                raise self.eof(what)
            n = int.from_bytes(d[p + 1 : p + 9], "big")
            p += 9
        else:
            raise self.fail("unknown length encoding 0x%02x while reading %s" % (b, what))
        end = p + n
        if end > self.end:
            raise RDBError("unexpected end of file while reading %s (%d bytes announced)" % (what, n), p)
        self.pos = end
        return d[p:end]

    def _special_string(self, enc: int, what: str) -> bytes:
        start = self.pos
        self.pos += 1
        if enc == 0:
            return b"%d" % int.from_bytes(self.raw(1, what), "little", signed=True)
        if enc == 1:
            return b"%d" % int.from_bytes(self.raw(2, what), "little", signed=True)
        if enc == 2:
            return b"%d" % int.from_bytes(self.raw(4, what), "little", signed=True)
        if enc == 3:
            clen = self.length(what)
            olen = self.length(what)
            data = self.raw(clen, what)
            # A back-reference of 3 bytes yields at most 264: a bigger claim is corrupt (and
            # must not make us allocate whatever a damaged length says).
            if olen == 0 or olen > 90 * clen + 64:
                raise RDBError("invalid LZF compressed string (%d bytes from %d) in %s" % (olen, clen, what), start)
            try:
                return lzf.decompress(data, olen)
            except lzf.LZFError as err:
                raise RDBError("invalid LZF compressed string in %s: %s" % (what, err), start) from None
        raise RDBError("unknown RDB string encoding type %d in %s" % (enc, what), start)

    def ms_time(self, what: str = "a millisecond time") -> int:
        return int.from_bytes(self.raw(8, what), "little", signed=True)

    def binary_double(self, what: str = "a score") -> float:
        return _double.unpack(self.raw(8, what))[0]

    def old_double(self, what: str = "a score") -> float:
        start = self.pos
        n = self.byte(what)
        if n == 253:
            return math.nan
        if n == 254:
            return math.inf
        if n == 255:
            return -math.inf
        text = self.raw(n, what)
        try:
            return float(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise RDBError("bad double value '%s' in %s" % (text[:32].decode("latin-1"), what), start) from None


# ---------------------------------------------------------------------------
# Object values


def _check_dups(items: list[bytes], what: str, at: int) -> None:
    if len(set(items)) != len(items):
        raise RDBError("duplicate %s detected" % what, at)


def _hash_value(pairs: list[tuple[bytes, bytes]], limits: Limits, listpack: bool, at: int) -> Any:
    """A hash in the encoding Redis ends up with; `listpack` says the file held a listpack."""
    if not pairs:
        raise EmptyKey
    fields = [f for f, _ in pairs]
    _check_dups(fields, "hash fields", at)
    if listpack:
        small = len(pairs) <= limits.hash_entries
    else:
        small = len(pairs) <= limits.hash_entries and all(
            len(f) <= limits.hash_value and len(v) <= limits.hash_value for f, v in pairs
        )
    if small:
        flat = []
        for kv in pairs:
            flat += kv
        return hashes.pack(flat)
    return hashes.HashHT(pairs)


def _set_value(members: list[bytes], limits: Limits, at: int) -> Any:
    if not members:
        raise EmptyKey
    _check_dups(members, "set members", at)
    if len(members) <= limits.intset_entries:
        ints = []
        for m in members:
            v = as_int64(m)
            if v is None:
                break
            ints.append(v)
        else:
            return sets.make_intset(array("q", sorted(ints)))
    return sets.SetHT(members)


def _zset_from_listpack(pairs: list[tuple[float, bytes]], limits: Limits, at: int) -> Any:
    if not pairs:
        raise EmptyKey
    _check_dups([m for _, m in pairs], "sorted set members", at)
    for s, _ in pairs:
        if s != s:
            raise RDBError("NaN score in a sorted set", at)
    pairs.sort()
    if len(pairs) > limits.zset_entries:
        return zsets.ZsetSkiplist.from_pairs(pairs)
    return zsets.pack([m for _, m in pairs], [s for s, _ in pairs])


def _zset_from_pairs(pairs: list[tuple[float, bytes]], limits: Limits, at: int) -> Any:
    """A sorted set stored element by element (skiplist in the file): listpack if small enough."""
    if not pairs:
        raise EmptyKey
    _check_dups([m for _, m in pairs], "sorted set members", at)
    for s, _ in pairs:
        if s != s:
            raise RDBError("NaN score in a sorted set", at)
    pairs.sort()
    return zsets.build(pairs, limits.zset_entries, limits.zset_value)


def _score(v: bytes | int, at: int) -> float:
    if type(v) is int:
        return float(v)
    try:
        s, used, _ = zsets.strtod(v)
    except ValueError:
        used = -1
    if used != len(v) or not v:
        raise RDBError("bad score '%s' in a packed sorted set" % v[:32].decode("latin-1"), at)
    return s


def _module_name(moduleid: int) -> str:
    out = []
    moduleid >>= 10
    for _ in range(9):
        out.append(_MODULE_CHARSET[moduleid & 63])
        moduleid >>= 6
    return "".join(reversed(out))


# Encoded values: those a deep sanitization checks (and counts).
_ENCODED = frozenset(
    (T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_SET_INTSET, T_ZSET_ZIPLIST, T_HASH_ZIPLIST, T_HASH_LISTPACK, T_ZSET_LISTPACK,
     T_LIST_QUICKLIST, T_LIST_QUICKLIST_2, T_STREAM_LISTPACKS, T_STREAM_LISTPACKS_2)
)  # fmt: skip


def read_object(r: Reader, rdbtype: int, limits: Limits) -> Any:
    """One value of the given RDB type; raises RDBError or EmptyKey."""
    if rdbtype in _ENCODED:
        if limits.deep:
            limits.sanitized()
        else:
            at = r.pos
            try:
                return _read_object(r, rdbtype, limits)
            except RDBError as err:
                from respdb.persistence import unsanitized

                if rdbtype not in unsanitized.LAZY_TYPES:
                    raise
                return unsanitized.read(r, rdbtype, limits, at, err)
    return _read_object(r, rdbtype, limits)


def _read_object(r: Reader, rdbtype: int, limits: Limits) -> Any:
    at = r.pos
    try:
        if rdbtype == T_STRING:
            return r.string("a string value")
        if rdbtype == T_LIST:
            n = r.length("a list length")
            values = [r.string("a list element") for _ in range(n)]
            if not values:
                raise EmptyKey
            return lists.from_values(values)
        if rdbtype == T_SET:
            n = r.length("a set size")
            return _set_value([r.string("a set member") for _ in range(n)], limits, at)
        if rdbtype in (T_ZSET, T_ZSET_2):
            n = r.length("a sorted set size")
            pairs = []
            for _ in range(n):
                m = r.string("a sorted set member")
                s = r.binary_double() if rdbtype == T_ZSET_2 else r.old_double()
                pairs.append((s, m))
            return _zset_from_pairs(pairs, limits, at)
        if rdbtype == T_HASH:
            n = r.length("a hash size")
            pairs = []
            for _ in range(n):
                f = r.string("a hash field")
                pairs.append((f, r.string("a hash value")))
            return _hash_value(pairs, limits, False, at)
        if rdbtype in (T_LIST_QUICKLIST, T_LIST_QUICKLIST_2):
            return _read_quicklist(r, rdbtype, at)
        if rdbtype in (T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_SET_INTSET, T_ZSET_ZIPLIST, T_HASH_ZIPLIST, T_HASH_LISTPACK,
                       T_ZSET_LISTPACK):  # fmt: skip
            blob = r.string("an encoded value")
            return _decode_blob(rdbtype, blob, limits, at)
        if rdbtype in (T_STREAM_LISTPACKS, T_STREAM_LISTPACKS_2):
            return _read_stream(r, rdbtype, at)
        if rdbtype in (T_MODULE_2, T_MODULE_PRE_GA):
            moduleid = r.length("a module id")
            raise RDBError(
                "the RDB file contains module data I can't load: no matching module type '%s'" % _module_name(moduleid),
                at,
            )
    except PackedError as err:
        raise RDBError("%s integrity check failed: %s" % (TYPE_NAMES.get(rdbtype, "value"), err), at) from None
    raise RDBError("unknown RDB object type %d" % rdbtype, at - 1)


def _decode_blob(rdbtype: int, blob: bytes, limits: Limits, at: int) -> Any:
    if rdbtype in (T_HASH_LISTPACK, T_HASH_ZIPLIST):  # noqa: PLR1714 - hot path
        items = lp_decode(blob) if rdbtype == T_HASH_LISTPACK else zl_decode(blob)
        n = len(items)
        if n % 2:
            raise RDBError("%s has an odd number of elements" % TYPE_NAMES[rdbtype], at)
        if not n:
            raise EmptyKey
        strs = [v if type(v) is bytes else b"%d" % v for v in items]
        fields = strs[0::2]
        if len(set(fields)) != len(fields):
            raise RDBError("%s integrity check failed: duplicate fields" % TYPE_NAMES[rdbtype], at)
        if n // 2 <= limits.hash_entries:
            return hashes.pack(strs)
        return hashes.HashHT(zip(fields, strs[1::2], strict=True))
    if rdbtype in (T_ZSET_LISTPACK, T_ZSET_ZIPLIST):  # noqa: PLR1714
        items = lp_decode(blob) if rdbtype == T_ZSET_LISTPACK else zl_decode(blob)
        if len(items) % 2:
            raise RDBError("%s has an odd number of elements" % TYPE_NAMES[rdbtype], at)
        pairs = []
        for i in range(0, len(items), 2):
            m = items[i]
            sc = items[i + 1]
            if type(sc) is int:
                score = float(sc)
            else:
                try:
                    score = float(sc)
                except ValueError:
                    score = _score(sc, at)
            pairs.append((score, m if type(m) is bytes else b"%d" % m))
        return _zset_from_listpack(pairs, limits, at)
    if rdbtype == T_SET_INTSET:
        ints = intset_decode(blob)
        if not len(ints):
            raise EmptyKey
        if len(ints) > limits.intset_entries:
            return sets.SetHT(b"%d" % x for x in ints)
        return sets.make_intset(ints)
    if rdbtype == T_HASH_ZIPMAP:
        return _hash_value(zipmap_decode(blob), limits, False, at)
    values = [v if type(v) is bytes else b"%d" % v for v in zl_decode(blob)]  # T_LIST_ZIPLIST
    if not values:
        raise EmptyKey
    return lists.from_values(values)


def _read_quicklist(r: Reader, rdbtype: int, at: int) -> Any:
    nodes = r.length("a quicklist node count")
    values: list[bytes] = []
    for _ in range(nodes):
        container = QUICKLIST_NODE_PACKED
        if rdbtype == T_LIST_QUICKLIST_2:
            container = r.length("a quicklist container type")
            if container not in (QUICKLIST_NODE_PLAIN, QUICKLIST_NODE_PACKED):
                raise r.fail("quicklist integrity check failed: unknown container type %d" % container)
        node_at = r.pos
        blob = r.string("a quicklist node")
        if container == QUICKLIST_NODE_PLAIN:
            if not blob:
                raise RDBError("quicklist plain node is empty", node_at)  # (Redis refuses it too)
            values.append(blob)
            continue
        try:
            items = lp_decode(blob) if rdbtype == T_LIST_QUICKLIST_2 else zl_decode(blob)
        except PackedError as err:
            kind = "listpack" if rdbtype == T_LIST_QUICKLIST_2 else "ziplist"
            raise RDBError("quicklist %s integrity check failed: %s" % (kind, err), node_at) from None
        values.extend(v if type(v) is bytes else b"%d" % v for v in items)
    if not values:
        raise EmptyKey
    return lists.from_values(values)


# -- streams ------------------------------------------------------------------


def _read_stream(r: Reader, rdbtype: int, at: int) -> Any:
    from respdb.types import streams as st

    s = st.Stream()
    count = r.length("a stream node count")
    prev_master = -1
    for _ in range(count):
        key_at = r.pos
        nodekey = r.string("a stream node key")
        if len(nodekey) != 16:
            raise RDBError("stream node key entry is not the size of a stream ID", key_at)
        master = int.from_bytes(nodekey, "big")
        if master <= prev_master:
            raise RDBError("stream node keys out of order or duplicated", key_at)
        prev_master = master
        lp_at = r.pos
        blob = r.string("a stream listpack")
        try:
            node = _stream_node(st, master, blob)
        except PackedError as err:
            raise RDBError("stream listpack integrity check failed: %s" % err, lp_at) from None
        s.nodes.append(node)
        s.starts.append(master)
    s.length = r.length("a stream length")
    last_ms = r.length("a stream ID")
    s.last_id = (last_ms << 64) | r.length("a stream ID")
    if rdbtype == T_STREAM_LISTPACKS_2:
        r.length("a stream ID")  # first ID: respdb derives it from the entries
        r.length("a stream ID")
        del_ms = r.length("a stream ID")
        s.max_deleted = (del_ms << 64) | r.length("a stream ID")
        s.entries_added = r.length("a stream entries-added counter")
    else:
        s.max_deleted = 0
        s.entries_added = s.length
    live = sum(n.live for n in s.nodes)
    if live != s.length:
        raise RDBError("stream length %d inconsistent with its %d entries" % (s.length, live), at)
    if s.nodes and s.nodes[-1].last > s.last_id:
        raise RDBError("stream has entries past its last ID", at)
    for node in s.nodes[:-1]:
        node.pack()
    read_groups(r, rdbtype, s)
    return s


def read_groups(r: Reader, rdbtype: int, s: Any, deep: bool = True) -> None:
    """The consumer groups that follow a stream's entries, into stream `s`. That every PEL
    entry has a consumer is checked only with deep sanitization, as in Redis."""
    from respdb.types import streams as st

    ngroups = r.length("a consumer group count")
    if ngroups:
        s.groups = {}
    for _ in range(ngroups):
        name_at = r.pos
        name = r.string("a consumer group name")
        gms = r.length("a consumer group ID")
        gid = (gms << 64) | r.length("a consumer group ID")
        if rdbtype == T_STREAM_LISTPACKS_2:
            entries_read = r.length("a consumer group entries-read counter")
            if entries_read > (1 << 63) - 1:
                entries_read -= 1 << 64
        else:
            entries_read = st.estimate_distance(s, gid)
        if name in s.groups:
            raise RDBError("duplicated consumer group name %s" % name.decode("utf-8", "backslashreplace"), name_at)
        g = st.Group(gid, entries_read)
        s.groups[name] = g
        pel_at = r.pos
        for _ in range(r.length("a PEL size")):
            rid = int.from_bytes(r.raw(16, "a PEL entry ID"), "big")
            when = r.ms_time("a PEL delivery time")
            n = r.length("a PEL delivery count")
            if rid in g.pel:
                raise RDBError("duplicated global PEL entry loading stream consumer group", pel_at)
            g.pel[rid] = st.NACK(None, when, n)
        for _ in range(r.length("a consumer count")):
            cname_at = r.pos
            cname = r.string("a consumer name")
            if cname in g.consumers:
                raise RDBError("duplicate stream consumer detected", cname_at)
            cons = st.Consumer(cname, r.ms_time("a consumer seen time"))
            g.consumers[cname] = cons
            for _ in range(r.length("a consumer PEL size")):
                id_at = r.pos
                rid = int.from_bytes(r.raw(16, "a consumer PEL entry ID"), "big")
                nack = g.pel.get(rid)
                if nack is None:
                    raise RDBError("consumer entry not found in group global PEL", id_at)
                if nack.consumer is not None:
                    raise RDBError("duplicated consumer PEL entry loading a stream consumer group", id_at)
                nack.consumer = cons
                cons.pel[rid] = nack
        if deep and any(nack.consumer is None for nack in g.pel.values()):
            raise RDBError("stream consumer group PEL entry without consumer", pel_at)


def _stream_node(st: Any, master: int, blob: bytes) -> Any:
    items = lp_decode(blob)
    if not items:
        raise PackedError("empty listpack inside stream")
    n = len(items)

    def num(i: int) -> int:
        if i >= n:
            raise PackedError("stream listpack ends inside an entry")
        v = items[i]
        if type(v) is not int:
            raise PackedError("stream listpack has a string where a number belongs (element %d)" % i)
        return v

    def text(i: int) -> bytes:
        if i >= n:
            raise PackedError("stream listpack ends inside an entry")
        v = items[i]
        return v if type(v) is bytes else b"%d" % v

    count = num(0)
    deleted = num(1)
    nf = num(2)
    if count < 0 or deleted < 0 or nf < 0:
        raise PackedError("negative counter in a stream master entry")
    fields = tuple(text(3 + j) for j in range(nf))
    if num(3 + nf) != 0:
        raise PackedError("stream master entry is not terminated by 0")
    i = 4 + nf
    master_ms = master >> 64
    master_seq = master & MAX64
    keys: list[int] = []
    vals: list[tuple] = []
    dead: list[tuple[int, tuple]] = []  # tombstones, kept so that the node is written back as read
    last = -1
    for _ in range(count + deleted):
        flags = num(i)
        ms = (master_ms + num(i + 1)) & MAX64
        seq = (master_seq + num(i + 2)) & MAX64
        i += 3
        if flags & STREAM_ITEM_SAMEFIELDS:
            fv: list[bytes] = []
            for j in range(nf):
                fv.append(fields[j])
                fv.append(text(i + j))
            i += nf
            expect = nf + 3
        else:
            k = num(i)
            if k < 0:
                raise PackedError("negative field count in a stream entry")
            i += 1
            fv = [text(i + j) for j in range(2 * k)]
            i += 2 * k
            expect = 2 * k + 4
        if num(i) != expect:
            raise PackedError("stream entry has a wrong lp-count")
        i += 1
        k_id = (ms << 64) | seq
        if k_id <= last or k_id < master:
            raise PackedError("stream entry IDs are not increasing")
        last = k_id
        if flags & STREAM_ITEM_DELETED:
            dead.append((k_id, tuple(fv)))
            continue
        keys.append(k_id)
        vals.append(tuple(fv))
    if i != n:
        raise PackedError("stream listpack has elements after its last entry")
    if len(dead) != deleted or len(keys) != count:
        raise PackedError("stream master entry counters do not match its entries")
    node = st.Node(master, fields)
    node.keys = keys
    node.vals = vals
    node.dead = dead or None
    node.live = count
    node.deleted = deleted
    node.last = last if last >= 0 else master
    node.body = len(blob) - st.lp_int_size(count) - st.lp_int_size(deleted)
    return node


# ---------------------------------------------------------------------------
# Writing

_LEN_SMALL = [bytes((n,)) for n in range(64)] + [bytes((0x40 | (n >> 8), n & 0xFF)) for n in range(64, 16384)]


def enc_len(n: int) -> bytes:
    if n < 16384:
        return _LEN_SMALL[n]
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


_DIGIT_START = frozenset(b"-0123456789")


def enc_str(s: bytes, compress: bool) -> bytes:
    """rdbSaveRawString: small integers as integers, LZF when it saves at least 4 bytes."""
    n = len(s)
    if n <= 11 and n and s[0] in _DIGIT_START:
        v = as_int64(s)
        if v is not None:
            if -128 <= v <= 127:
                return b"\xc0" + (v & 0xFF).to_bytes(1, "little")
            if -32768 <= v <= 32767:
                return b"\xc1" + (v & 0xFFFF).to_bytes(2, "little")
            if -2147483648 <= v <= 2147483647:
                return b"\xc2" + (v & 0xFFFFFFFF).to_bytes(4, "little")
    if compress and n > 20:
        c = lzf.compress(s, n - 4)
        if c is not None:
            return b"\xc3" + enc_len(len(c)) + enc_len(n) + c
    if n < 64:
        return _LEN_SMALL[n] + s
    return enc_len(n) + s


def _lp_limits(fill: int) -> tuple[int, int]:
    """(max listpack bytes, max entries) of a quicklist node for list-max-listpack-size."""
    if fill < 0:
        return (4096, 8192, 16384, 32768, 65536)[min(-fill, 5) - 1], 1 << 62
    return 8192, fill or 1


def _quicklist_nodes(values: list[bytes], fill: int) -> list[bytes]:
    """Split a list into listpacks the way pushing the elements one by one would."""
    max_bytes, max_count = _lp_limits(fill)
    nodes = []
    cur: list[bytes] = []
    size = 7  # an empty listpack
    for v in values:
        e = lp_str(v)
        # quicklist's estimate: node bytes + element length + 8 must stay within the limit
        if cur and (size + len(v) + 8 > max_bytes or len(cur) >= max_count):
            nodes.append(lp_pack(cur))
            cur = []
            size = 7
        cur.append(e)
        size += len(e)
    if cur:
        nodes.append(lp_pack(cur))
    return nodes


def _enc_string(v: Any, compress: bool, fill: int) -> tuple[int, bytes]:
    return T_STRING, enc_str(bytes(v) if type(v) is bytearray else v, compress)


def _enc_list(v: Any, compress: bool, fill: int) -> tuple[int, bytes]:
    nodes = _quicklist_nodes(lists.values_of(v), fill)
    parts = [enc_len(len(nodes))]
    for blob in nodes:
        parts.append(b"\x02")  # QUICKLIST_NODE_CONTAINER_PACKED
        parts.append(enc_str(blob, compress))
    return T_LIST_QUICKLIST_2, b"".join(parts)


def _enc_hash_lp(v: Any, compress: bool, fill: int) -> tuple[int, bytes]:
    return T_HASH_LISTPACK, enc_str(lp_pack([lp_str(x) for x in v.flat()]), compress)


def _enc_hash_ht(v: Any, compress: bool, fill: int) -> tuple[int, bytes]:
    parts = [enc_len(len(v))]
    for f, val in v.items():
        parts.append(enc_str(f, compress))
        parts.append(enc_str(val, compress))
    return T_HASH, b"".join(parts)


def _enc_intset(v: Any, compress: bool, fill: int) -> tuple[int, bytes]:
    return T_SET_INTSET, enc_str(intset_encode(v.width, bytes(v), len(v)), compress)


def _enc_set_ht(v: Any, compress: bool, fill: int) -> tuple[int, bytes]:
    parts = [enc_len(len(v))]
    for m in v:
        parts.append(enc_str(m, compress))
    return T_SET, b"".join(parts)


def _enc_zset_lp(v: Any, compress: bool, fill: int) -> tuple[int, bytes]:
    elements = []
    fmt = zsets.format_listpack_score
    for s, m in zsets.all_pairs(v):
        elements.append(lp_str(m))
        elements.append(lp_str(fmt(s)))
    return T_ZSET_LISTPACK, enc_str(lp_pack(elements), compress)


def _enc_zset_sl(v: Any, compress: bool, fill: int) -> tuple[int, bytes]:
    pairs = zsets.all_pairs(v)
    parts = [enc_len(len(pairs))]
    pack_double = _double.pack
    for s, m in reversed(pairs):  # highest first, as Redis walks its skiplist backwards
        parts.append(enc_str(m, compress))
        parts.append(pack_double(s))
    return T_ZSET_2, b"".join(parts)


def _enc_stream(v: Any, compress: bool, fill: int) -> tuple[int, bytes]:
    return T_STREAM_LISTPACKS_2, _encode_stream(v, compress)


def _encoders() -> dict[type, Callable[[Any, bool, int], tuple[int, bytes]]]:
    from respdb.types.streams import Stream

    table: dict[type, Callable[[Any, bool, int], tuple[int, bytes]]] = {
        bytes: _enc_string, bytearray: _enc_string, PlainBytes: _enc_string,
        lists.ListPack: _enc_list, lists.QuickList: _enc_list,
        hashes.HashLP: _enc_hash_lp, hashes.HashHT: _enc_hash_ht,
        sets.SetHT: _enc_set_ht, zsets.ZsetListpack: _enc_zset_lp, zsets.ZsetSkiplist: _enc_zset_sl,
        Stream: _enc_stream,
        Corrupt: lambda v, compress, fill: (v.rdbtype, v.body),  # written back as it was read
    }  # fmt: skip
    for t in sets.INTSET_TYPES:
        table[t] = _enc_intset
    return table


_ENCODERS: dict[type, Callable[[Any, bool, int], tuple[int, bytes]]] = {}


def encode_value(v: Any, compress: bool, fill: int = -2) -> tuple[int, bytes]:
    """(RDB type, serialized value) for a respdb value, as Redis 7.0 would write it."""
    enc = _ENCODERS.get(type(v))
    if enc is None:
        if not _ENCODERS:
            _ENCODERS.update(_encoders())
            return encode_value(v, compress, fill)
        raise TypeError("cannot serialize a value of type %s" % type(v).__name__)
    return enc(v, compress, fill)


def _signed64(v: int) -> int:
    v &= MAX64
    return v - (1 << 64) if v >> 63 else v


def _node_entries(node: Any) -> Any:
    """(id, fv, flags) of every entry the node's listpack holds, tombstones included, in order."""
    keys, vals = node.view()
    dead = node.tombstones()
    if not dead:
        return ((k, fv, 0) for k, fv in zip(keys, vals, strict=True))
    out = [(k, fv, 0) for k, fv in zip(keys, vals, strict=True)]
    out += [(k, fv, STREAM_ITEM_DELETED) for k, fv in dead]
    out.sort(key=lambda e: e[0])
    return out


def _encode_stream(s: Any, compress: bool) -> bytes:
    nodes = s.nodes  # nodes whose entries are all deleted are kept and written too, as Redis does
    parts = [enc_len(len(nodes))]
    for node in nodes:
        fields = node.fields
        nf = len(fields)
        master = node.master
        mms = master >> 64
        mseq = master & MAX64
        els = [lp_int(node.live), lp_int(node.deleted), lp_int(nf)]
        els += [lp_str(f) for f in fields]
        els.append(lp_int(0))
        same_count = lp_int(nf + 3)
        for k, fv, flags in _node_entries(node):
            same = len(fv) == 2 * nf and fv[0::2] == fields
            els.append(lp_int(flags | STREAM_ITEM_SAMEFIELDS if same else flags))
            els.append(lp_int(_signed64((k >> 64) - mms)))
            els.append(lp_int(_signed64((k & MAX64) - mseq)))
            if same:
                els += [lp_str(x) for x in fv[1::2]]
                els.append(same_count)
            else:
                k_nf = len(fv) // 2
                els.append(lp_int(k_nf))
                els += [lp_str(x) for x in fv]
                els.append(lp_int(2 * k_nf + 4))
        parts.append(enc_str(master.to_bytes(16, "big"), compress))
        parts.append(enc_str(lp_pack(els), compress))
    first = s.first_id()
    for x in (s.length, s.last_id >> 64, s.last_id & MAX64, first >> 64, first & MAX64, s.max_deleted >> 64,
              s.max_deleted & MAX64, s.entries_added):  # fmt: skip
        parts.append(enc_len(x))
    groups = s.groups or {}
    parts.append(enc_len(len(groups)))
    ms_time = struct.Struct("<q").pack
    for name in sorted(groups):
        g = groups[name]
        parts.append(enc_str(name, compress))
        parts.append(enc_len(g.last_id >> 64))
        parts.append(enc_len(g.last_id & MAX64))
        parts.append(enc_len(g.entries_read & MAX64))
        parts.append(enc_len(len(g.pel)))
        for rid, nack in g.pel.items():
            parts.append(rid.to_bytes(16, "big"))
            parts.append(ms_time(nack.time))
            parts.append(enc_len(nack.count))
        parts.append(enc_len(len(g.consumers)))
        for cname in sorted(g.consumers):
            cons = g.consumers[cname]
            parts.append(enc_str(cname, compress))
            parts.append(ms_time(cons.seen))
            parts.append(enc_len(len(cons.pel)))
            for rid in cons.pel:
                parts.append(rid.to_bytes(16, "big"))
    return b"".join(parts)


# ---------------------------------------------------------------------------
# DUMP / RESTORE payloads


def dump_payload(v: Any, compress: bool = True, fill: int = -2) -> bytes:
    t, body = encode_value(v, compress, fill)
    data = bytes((t,)) + body + RDB_VERSION.to_bytes(2, "little")
    return data + crc64(data).to_bytes(8, "little")


def verify_payload(p: bytes, check_crc: bool = True) -> bool:
    """verifyDumpPayload: a known RDB version and (unless disabled) a matching CRC."""
    if len(p) < 10:
        return False
    rdbver = p[-10] | (p[-9] << 8)
    if rdbver > RDB_VERSION:
        return False
    if not check_crc:
        return True
    return crc64(memoryview(p)[:-8]) == int.from_bytes(p[-8:], "little")


def load_payload(p: bytes, limits: Limits) -> Any:
    """The value in a verified DUMP payload; raises RDBError / EmptyKey when it is bad."""
    r = Reader(p, 0, len(p) - 10)
    t = r.byte("the value type")
    if t not in TYPE_NAMES or t in (T_MODULE_PRE_GA,):
        raise RDBError("unknown RDB object type %d" % t, 0)
    return read_object(r, t, limits)  # like Redis, bytes after the value are ignored


# ---------------------------------------------------------------------------
# Whole files


class LoadResult:
    def __init__(self, ndb: int) -> None:
        self.dbs: list[dict[bytes, Any]] = [{} for _ in range(ndb)]
        self.expires: list[dict[bytes, int]] = [{} for _ in range(ndb)]
        # (db, key) -> ("idle", seconds) or ("freq", counter) for keys that carried LRU/LFU data
        self.access: dict[tuple[int, bytes], tuple[str, int]] = {}
        self.aux: dict[bytes, bytes] = {}
        self.functions: list[bytes] = []
        self.keys_loaded = 0
        self.keys_expired = 0
        self.expired: list[tuple[int, bytes]] = []  # (db, key) of the keys skipped as expired
        self.empty_skipped = 0
        self.version = 0
        self.end = 0  # offset just past the checksum (an AOF preamble's tail starts there)
        self.checksum_checked = False
        self.corrupt = False  # a damaged value kept, loaded without deep sanitization


def parse_rdb(
    data: bytes,
    ndb: int,
    limits: Limits,
    *,
    now_ms: int | None = None,
    skip_expired: bool = True,
    verify_checksum: bool = True,
    log: Callable[[str, str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
    key_delay: int = 0,
) -> LoadResult:
    """Parse a whole RDB file (or an AOF's RDB preamble) into plain dicts; raises RDBError.
    `key_delay`: key-load-delay, microseconds to wait after each key (tests slow loads down)."""
    # Millions of new container objects would set off the cyclic collector over and over, each
    # pass walking the whole growing heap; none of them can form a cycle, so it is paused.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _parse_rdb(data, ndb, limits, now_ms, skip_expired, verify_checksum, log, progress, key_delay)
    finally:
        if enabled:
            gc.enable()


def _parse_rdb(
    data: bytes,
    ndb: int,
    limits: Limits,
    now_ms: int | None,
    skip_expired: bool,
    verify_checksum: bool,
    log: Callable[[str, str], None] | None,
    progress: Callable[[int, int], None] | None,
    key_delay: int = 0,
) -> LoadResult:
    log = log or (lambda level, msg: None)
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if len(data) < 9:
        raise RDBError("the file is too short to be an RDB file (%d bytes)" % len(data), 0)
    if data[:5] != b"REDIS":
        raise RDBError("wrong signature trying to load DB from file", 0)
    try:
        ver = int(data[5:9].decode("ascii"))
    except ValueError:
        raise RDBError("bad RDB version field '%s'" % data[5:9].decode("latin-1"), 5) from None
    if ver < 1 or ver > RDB_VERSION:
        raise RDBError("can't handle RDB format version %d" % ver, 5)
    res = LoadResult(ndb)
    res.version = ver
    r = Reader(data, 9)
    dbid = 0
    db = res.dbs[0]
    exp = res.expires[0]
    expire = -1
    idle = -1
    freq = -1
    keys_seen = 0
    read_string = r.string
    while True:
        op_at = r.pos
        t = r.byte("a type or opcode")
        if t < 20:
            if t not in TYPE_NAMES:
                raise RDBError("unknown object type %d in RDB file" % t, op_at)
            key = read_string("a key")
            try:
                value = read_object(r, t, limits)
            except EmptyKey:
                res.empty_skipped += 1
                if res.empty_skipped <= 10:
                    log("warning", "rdbLoadObject skipping empty key: %s" % key.decode("utf-8", "backslashreplace"))
                expire = idle = freq = -1
                continue
            except RDBError as err:
                if err.key is None:
                    err.key = key
                raise
            if type(value) is Corrupt:
                res.corrupt = True
            keys_seen += 1
            if progress is not None and not keys_seen & 0xFFFF:
                progress(keys_seen, r.pos)
            if expire != -1 and skip_expired and expire < now:
                res.keys_expired += 1
                res.expired.append((dbid, key))
            else:
                if key in db:
                    raise RDBError(
                        "RDB has duplicated key '%s' in DB %d" % (key.decode("utf-8", "backslashreplace"), dbid), op_at
                    )
                db[key] = value
                if expire != -1:
                    exp[key] = expire
                if idle != -1:
                    res.access[(dbid, key)] = ("idle", idle)
                elif freq != -1:
                    res.access[(dbid, key)] = ("freq", freq)
                res.keys_loaded += 1
                if key_delay:
                    debug_delay(key_delay)
            expire = idle = freq = -1
            continue
        if t == OP_EXPIRETIME_MS:
            expire = r.ms_time("an expire time")
        elif t == OP_EXPIRETIME:
            expire = int.from_bytes(r.raw(4, "an expire time"), "little", signed=True) * 1000
        elif t == OP_SELECTDB:
            dbid = r.length("a DB number")
            if dbid >= ndb:
                raise RDBError(
                    "data file was created with a server configured to handle more than %d databases "
                    "(it selects DB %d)" % (ndb, dbid),
                    op_at,
                )
            db = res.dbs[dbid]
            exp = res.expires[dbid]
        elif t == OP_RESIZEDB:
            r.length("a RESIZEDB hint")
            r.length("a RESIZEDB hint")
        elif t == OP_AUX:
            k = read_string("an AUX field name")
            v = read_string("an AUX field value")
            res.aux[k] = v
            _log_aux(k, v, log)
        elif t == OP_IDLE:
            idle = r.length("an LRU idle time")
        elif t == OP_FREQ:
            freq = r.byte("an LFU frequency")
        elif t == OP_FUNCTION2:
            res.functions.append(read_string("a function library"))
        elif t == OP_FUNCTION_PRE_GA:
            raise RDBError("pre-release function format not supported", op_at)
        elif t == OP_MODULE_AUX:
            moduleid = r.length("a module id")
            raise RDBError(
                "the RDB file contains AUX module data I can't load: no matching module '%s'" % _module_name(moduleid),
                op_at,
            )
        elif t == OP_EOF:
            break
        else:
            raise RDBError("unknown object type or opcode %d" % t, op_at)
    if ver >= 5:
        crc_at = r.pos
        stored = int.from_bytes(r.raw(8, "the checksum"), "little")
        if verify_checksum:
            if stored == 0:
                log("warning", "RDB file was saved with checksum disabled: no check performed.")
            else:
                expected = crc64(memoryview(data)[:crc_at])
                if stored != expected:
                    raise RDBError(
                        "RDB CRC error: wrong RDB checksum expected: (%016x) got (%016x)" % (expected, stored), crc_at
                    )
                res.checksum_checked = True
    res.end = r.pos
    return res


def _log_aux(k: bytes, v: bytes, log: Callable[[str, str], None]) -> None:
    text = v.decode("utf-8", "backslashreplace")
    if k == b"redis-ver":
        log("notice", "Loading RDB produced by version %s" % text)
    elif k == b"ctime":
        try:
            age = int(time.time()) - int(v)
        except ValueError:
            return
        log("notice", "RDB age %d seconds" % max(age, 0))
    elif k == b"used-mem":
        try:
            log("notice", "RDB memory usage when created %.2f Mb" % (int(v) / (1024 * 1024)))
        except ValueError:
            return
    elif k in (b"aof-preamble", b"aof-base", b"redis-bits", b"repl-stream-db", b"repl-id", b"repl-offset", b"lua"):
        return
    else:
        log("debug", "Unrecognized RDB AUX field: '%s'" % k.decode("utf-8", "backslashreplace"))


def install(engine: Any, res: LoadResult) -> None:
    """Replace the engine's keyspace with a parsed file (nothing is touched before this)."""
    from respdb import lfu

    clock = Database.clock
    use_lfu = Database.lfu
    for i, (data, expires) in enumerate(zip(res.dbs, res.expires, strict=True)):
        fresh = Database(i, engine._expire_key)
        fresh.data = data
        for key, when in expires.items():
            fresh.set_expire(key, when)
        fresh.reset_atime(lfu.new() if use_lfu else clock)
        engine.dbs[i].swap(fresh)
    dbs = engine.dbs
    for (dbid, key), (kind, n) in res.access.items():
        if use_lfu:
            if kind == "freq":
                dbs[dbid].set_access_field(key, (lfu.minutes() << 8) | n)
        elif kind == "idle":
            dbs[dbid].set_idle(key, n)
    if res.corrupt:
        engine.corrupt_values = True
        engine.update_gates()


class Writer:
    """Accumulates an RDB file in chunks, keeping the running CRC."""

    __slots__ = ("write", "crc", "buf", "size", "checksum", "written")

    FLUSH = 1 << 20

    def __init__(self, write: Callable[[bytes], Any], checksum: bool = True) -> None:
        self.write = write
        self.crc = 0
        self.buf: list[bytes] = []
        self.size = 0
        self.checksum = checksum
        self.written = 0

    def add(self, b: bytes) -> None:
        self.buf.append(b)
        self.size += len(b)
        if self.size >= self.FLUSH:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        chunk = b"".join(self.buf)
        self.buf = []
        self.size = 0
        if self.checksum:
            self.crc = crc64(chunk, self.crc)
        self.write(chunk)
        self.written += len(chunk)


def _aux(k: bytes, v: bytes) -> bytes:
    return b"\xfa" + enc_str(k, False) + enc_str(v, False)


def write_rdb(
    engine: Any,
    write: Callable[[bytes], Any],
    *,
    aof_base: bool = False,
    functions: list[bytes] | None = None,
    progress: Callable[[int], None] | None = None,
    with_data: bool = True,
    repl_stream_db: int | None = None,
    key_delay: int = 0,
    repl_info: tuple[str, int, int] | None = None,
) -> int:
    """Serialize every database to `write` (called with chunks); returns the bytes written.
    Without `with_data`, only the header and functions (a replica's REPLCONF rdb-filter-only).
    `repl_stream_db`: for a replica of a replica, the database our master's stream has SELECTed.
    `key_delay`: rdb-key-save-delay, microseconds to wait after each key (tests slow saves down).
    `repl_info`: (replication ID, offset, stream db) as Redis's repl-id/repl-offset aux fields."""
    from respdb import lfu
    from respdb.persistence.functions import libraries

    cfg = engine.config
    compress = cfg["rdbcompression"] == "yes"
    fill = cfg.get_int("list-max-listpack-size")
    policy = cfg["maxmemory-policy"]
    save_lru = "lru" in policy
    save_lfu = "lfu" in policy
    w = Writer(write, cfg["rdbchecksum"] == "yes")
    add = w.add
    parent = os.getppid()
    add(b"REDIS%04d" % RDB_VERSION)
    from respdb import REDIS_VERSION

    add(_aux(b"redis-ver", REDIS_VERSION.encode()))
    add(_aux(b"redis-bits", b"64"))
    add(_aux(b"ctime", b"%d" % int(time.time())))
    add(_aux(b"used-mem", b"%d" % _used_memory()))
    if repl_info is not None:  # (replid, offset, stream db): a restart can continue the history
        replid, offset, repl_stream_db = repl_info
    if repl_stream_db is not None:  # a replica's snapshot: the database its master's stream is in
        add(_aux(b"repl-stream-db", b"%d" % repl_stream_db))
    if repl_info is not None:
        add(_aux(b"repl-id", replid.encode()))
        add(_aux(b"repl-offset", b"%d" % offset))
    add(_aux(b"aof-base", b"1" if aof_base else b"0"))
    for code in libraries(engine) if functions is None else functions:
        add(b"\xf5" + enc_str(code, compress))
    string_types = (bytes, PlainBytes)
    done = 0
    for db in engine.dbs if with_data else ():
        data = db.data
        if not data:
            continue
        expires = db.expires
        add(b"\xfe" + enc_len(db.id))
        add(b"\xfb" + enc_len(len(data)) + enc_len(len(expires)))
        buf: list[bytes] = []
        for key, value in data.items():
            if expires:
                when = expires.get(key)
                if when is not None:
                    buf.append(b"\xfc" + when.to_bytes(8, "little", signed=True))
            if save_lru:
                buf.append(b"\xf8" + enc_len(db.idle_seconds(key)))
            elif save_lfu:
                buf.append(b"\xf9" + bytes((lfu.decayed(db.access_field(key)),)))
            if type(value) in string_types:
                buf.append(b"\x00" + enc_str(key, compress) + enc_str(value, compress))
            else:
                t, body = encode_value(value, compress, fill)
                buf.append(bytes((t,)) + enc_str(key, compress) + body)
            done += 1
            if key_delay:
                debug_delay(key_delay)
                if os.getppid() != parent:  # a slowed-down child whose server died: stop (as Redis)
                    os._exit(1)
                if progress is not None:
                    progress(done)
            elif progress is not None and not done & 1023:
                progress(done)
            if len(buf) >= 4096:
                add(b"".join(buf))
                buf = []
        if buf:
            add(b"".join(buf))
    add(b"\xff")
    w.flush()
    trailer = w.crc.to_bytes(8, "little") if w.checksum else b"\0" * 8
    write(trailer)
    return w.written + 8


def debug_delay(usec: int) -> None:
    """Redis's debugDelay: sleep `usec` microseconds, or for a negative value sleep one
    microsecond with a probability of 1/-usec (a finer average than any sleep allows)."""
    if usec > 0:
        time.sleep(usec / 1e6)
    elif random.randrange(-usec) == 0:
        time.sleep(1e-6)


def _used_memory() -> int:
    try:
        import os

        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
