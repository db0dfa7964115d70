"""Sorted sets, in Redis's two encodings.

`ZsetListpack` is the small form: an immutable bytes subclass holding
`marshal.dumps((members, scores))`, the members as a list and the scores packed as native
doubles (an `array('d')`'s bytes), both in (score, member) order. One object per key keeps 100k
small sorted sets near Redis's memory; marshal makes decoding and encoding C-fast, packed scores
halve the objects a decode creates, and every operation on a form this small is a short scan
anyway, as on Redis's listpack. A mutation builds a new object that the caller stores back in
the keyspace.

`ZsetSkiplist` is the large form: a dict member -> score plus the pairs in order
(respdb/types/sortedpairs.py, a chunked sorted list), which gives Redis's O(log n) insert,
delete, rank, and rank or score lookups.

Score details that clients can see, as Redis 7.0 has them:
- a listpack stores an integral score as an integer, so -0.0 becomes 0 there (the skiplist keeps
  -0), and ZSCAN on a listpack prints integral scores up to 2**62 as plain integers;
- numbers are parsed with C's strtod (hex floats, "inf", "infinity", leading spaces in ranges);
- lexicographic ranges on a listpack are linear scans, so their result on members with
  different scores (which Redis leaves unspecified) is reproduced exactly for small sets.
"""

from __future__ import annotations

import marshal
import math
import re
import struct
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from respdb.types.sortedpairs import SortedPairs
from respdb.types.valueindex import ValueIndex

INF = math.inf
_next_up = math.nextafter

# ---------------------------------------------------------------------------
# Numbers: C strtod as Redis uses it.

_SPACES = b" \t\n\v\f\r"
_HEX = re.compile(rb"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?")
_DEC = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INFTXT = re.compile(rb"[+-]?(?:infinity|inf)", re.I)
_NANTXT = re.compile(rb"[+-]?nan", re.I)
_MANTISSA_NONZERO = re.compile(rb"[1-9a-fA-F]")


class NumberError(Exception):
    pass


def strtod(b: bytes) -> tuple[float, int, bool]:
    """C's strtod on `b`: (value, bytes consumed, ERANGE). Nothing consumed means no number."""
    i = 0
    n = len(b)
    while i < n and b[i] in _SPACES:
        i += 1
    m = _HEX.match(b, i)
    if m is not None:
        text = m.group()
        try:
            v = float.fromhex(text.decode())
        except OverflowError:
            return (-INF if text[:1] == b"-" else INF), m.end(), True
        mant = re.split(rb"[pP]", text.lstrip(b"+-")[2:])[0]
        return v, m.end(), v == 0 and _MANTISSA_NONZERO.search(mant) is not None
    m = _INFTXT.match(b, i)
    if m is not None:
        return (-INF if b[i : i + 1] == b"-" else INF), m.end(), False
    m = _NANTXT.match(b, i)
    if m is not None:
        return math.nan, m.end(), False
    m = _DEC.match(b, i)
    if m is None:
        return 0.0, 0, False
    text = m.group()
    v = float(text)
    if v == INF or v == -INF:
        return v, m.end(), True
    if v == 0:
        mant = re.split(rb"[eE]", text)[0]
        return v, m.end(), re.search(rb"[1-9]", mant) is not None
    return v, m.end(), False


def parse_double(b: bytes) -> float:
    """Redis's string2d / getDoubleFromObject: the whole string, no leading space, no NaN,
    no overflow to infinity nor underflow to zero. Raises NumberError."""
    if b.isdigit() and len(b) < 300:  # the common case, and float() agrees with strtod on it
        return float(b)
    if not b or b[0] in _SPACES:
        raise NumberError
    # float() rounds decimal text exactly as glibc's strtod does; it also takes "_" and
    # surrounding spaces, which strtod does not, and it cannot tell an underflow to zero or an
    # overflow to infinity from an exact one: those cases go through the emulation.
    if b[-1] not in _SPACES and b"_" not in b:
        try:
            v = float(b)
        except ValueError:
            pass
        else:
            if v != 0 and v - v == 0:
                return v
    v, used, erange = strtod(b)
    if used != len(b) or v != v or (erange and (v == 0 or v == INF or v == -INF)):
        raise NumberError
    return v


def parse_score_bound(b: bytes) -> tuple[float, bool]:
    """One end of a score range (zslParseRange): "(" makes it exclusive; strtod must reach the
    end of the C string (so leading spaces, "" and text after a NUL byte are accepted)."""
    ex = b[:1] == b"("
    s = b[1:] if ex else b
    nul = s.find(b"\0")
    if nul >= 0:
        s = s[:nul]
    if s and s[0] not in _SPACES and s[-1] not in _SPACES and b"_" not in s:
        try:
            v = float(s)  # the same value strtod gives, for the text float() accepts here
        except ValueError:
            pass
        else:
            if v == v:
                return v, ex
            raise NumberError
    v, used, _ = strtod(s)
    if used != len(s) or v != v:
        raise NumberError
    return v, ex


class ScoreRange:
    __slots__ = ("min", "max", "minex", "maxex")

    def __init__(self, lo: bytes, hi: bytes) -> None:
        self.min, self.minex = parse_score_bound(lo)
        self.max, self.maxex = parse_score_bound(hi)

    def empty(self) -> bool:
        return self.min > self.max or (self.min == self.max and (self.minex or self.maxex))

    def gte_min(self, s: float) -> bool:
        return s > self.min if self.minex else s >= self.min

    def lte_max(self, s: float) -> bool:
        return s < self.max if self.maxex else s <= self.max


# Lexicographic range ends: "-" and "+" are below and above every string.
LEX_MIN, LEX_STR, LEX_MAX = 0, 1, 2


def _lex_item(b: bytes) -> tuple[int, bytes, bool]:
    c = b[:1]
    if c == b"+" or c == b"-":
        if len(b) > 1 and b[1] != 0:  # C compares the next byte with NUL
            raise NumberError
        return (LEX_MAX if c == b"+" else LEX_MIN), b"", True
    if c == b"(":
        return LEX_STR, b[1:], True
    if c == b"[":
        return LEX_STR, b[1:], False
    raise NumberError


def _cmplex(ak: int, av: bytes, bk: int, bv: bytes) -> int:
    if ak == bk and ak != LEX_STR:
        return 0
    if ak == LEX_MIN or bk == LEX_MAX:
        return -1
    if ak == LEX_MAX or bk == LEX_MIN:
        return 1
    return (av > bv) - (av < bv)


class LexRange:
    __slots__ = ("mink", "minv", "minex", "maxk", "maxv", "maxex")

    def __init__(self, lo: bytes, hi: bytes) -> None:
        self.mink, self.minv, self.minex = _lex_item(lo)
        self.maxk, self.maxv, self.maxex = _lex_item(hi)

    def empty(self) -> bool:
        cmp = _cmplex(self.mink, self.minv, self.maxk, self.maxv)
        return cmp > 0 or (cmp == 0 and (self.minex or self.maxex))

    def gte_min(self, m: bytes) -> bool:
        k = self.mink
        if k != LEX_STR:
            return k == LEX_MIN
        return m > self.minv if self.minex else m >= self.minv

    def lte_max(self, m: bytes) -> bool:
        k = self.maxk
        if k != LEX_STR:
            return k == LEX_MAX
        return m < self.maxv if self.maxex else m <= self.maxv


# ---------------------------------------------------------------------------
# Score text


def format_score(s: float) -> bytes:
    """Redis's "%.17g" (inf and -inf spelled so), used for replies."""
    return b"%.17g" % s


_LP_INT_LIMIT = float(2**62)


def format_listpack_score(s: float) -> bytes:
    """How a listpack holds a score, as ZSCAN prints it: integral values up to 2**62 as
    integers, others in "%.17g"."""
    if -_LP_INT_LIMIT <= s <= _LP_INT_LIMIT and s == int(s):
        return b"%d" % int(s)
    return b"%.17g" % s


# ---------------------------------------------------------------------------
# The two forms


class ZsetListpack(bytes):
    """The small form (Redis's listpack encoding): immutable, one object per key."""

    __slots__ = ()
    redis_type = "zset"

    def encoding(self) -> str:
        return "listpack"

    def copy(self) -> ZsetListpack:
        return self

    def lists(self) -> tuple[list[bytes], array]:
        """(members, scores): a new list and a new array('d') the caller may change."""
        ms, packed = marshal.loads(self)
        ss = array("d")
        ss.frombytes(packed)
        return ms, ss


def pack(ms: list[bytes], ss) -> ZsetListpack:
    """A listpack from members and their scores (an array('d') or any sequence of floats)."""
    if type(ss) is not array:
        ss = array("d", ss)
    return ZsetListpack(marshal.dumps((ms, ss.tobytes())))


_EMPTY = pack([], [])
_double_at = struct.Struct("d").unpack_from


def _lp_insert(ms: list[bytes], ss: array, m: bytes, s: float) -> None:
    s += 0.0  # a listpack keeps integral scores as integers: -0.0 becomes 0
    lo = bisect_left(ss, s)
    hi = bisect_right(ss, s, lo)
    pos = bisect_left(ms, m, lo, hi) if hi > lo else lo
    ms.insert(pos, m)
    ss.insert(pos, s)


class ZsetSkiplist:
    """The large form (Redis's skiplist encoding): member -> score, plus the order."""

    __slots__ = ("dict", "sl", "index")
    redis_type = "zset"

    def __init__(self) -> None:
        self.dict: dict[bytes, float] = {}
        self.sl = SortedPairs()
        self.index: ValueIndex | None = None  # built by the first ZSCAN, then kept up to date

    def encoding(self) -> str:
        return "skiplist"

    def copy(self) -> ZsetSkiplist:
        z = ZsetSkiplist()
        z.dict = dict(self.dict)
        z.sl = self.sl.copy()
        return z

    @classmethod
    def from_pairs(cls, pairs: list[tuple[float, bytes]]) -> ZsetSkiplist:
        """From ascending (score, member) pairs with distinct members."""
        z = cls()
        z.sl = SortedPairs(pairs)
        z.dict = {m: s for s, m in pairs}
        return z

    def __len__(self) -> int:
        return len(self.dict)

    def insert(self, m: bytes, s: float) -> None:
        self.dict[m] = s
        self.sl.add(s, m)
        if self.index is not None:
            self.index.add(m)

    def rescore(self, m: bytes, cur: float, s: float) -> None:
        sl = self.sl
        sl.remove(cur, m)
        sl.add(s, m)
        self.dict[m] = s

    def remove(self, m: bytes) -> bool:
        s = self.dict.pop(m, None)
        if s is None:
            return False
        self.sl.remove(s, m)
        if self.index is not None:
            self.index.remove(m)
        return True

    def delete_positions(self, lo: int, hi: int) -> int:
        """Remove the elements at positions [lo, hi); return how many."""
        if hi <= lo:
            return 0
        d = self.dict
        index = self.index
        for _, m in self.sl.delete(lo, hi):
            del d[m]
            if index is not None:
                index.remove(m)
        return hi - lo

    def pop(self, k: int, highest: bool) -> list[tuple[float, bytes]]:
        """Remove k elements from one end; return them in pop order."""
        popped = self.sl.pop_back(k) if highest else self.sl.pop_front(k)
        d = self.dict
        index = self.index
        for _, m in popped:
            del d[m]
            if index is not None:
                index.remove(m)
        return popped

    def scan_index(self) -> ValueIndex:
        if self.index is None:
            self.index = ValueIndex(self.dict)
        return self.index


def to_skiplist(ms: list[bytes], ss) -> ZsetSkiplist:
    return ZsetSkiplist.from_pairs(list(zip(ss, ms, strict=True)))


def build(pairs: list[tuple[float, bytes]], max_entries: int, max_value: int) -> ZsetListpack | ZsetSkiplist:
    """A new sorted set from ascending (score, member) pairs with distinct members, in the form
    Redis picks for a STORE result (ZUNIONSTORE and friends, ZRANGESTORE)."""
    if len(pairs) <= max_entries and all(len(m) <= max_value for _, m in pairs):
        return pack([m for _, m in pairs], [s + 0.0 for s, _ in pairs])
    return ZsetSkiplist.from_pairs(pairs)


def build_incremental(pairs: list[tuple[float, bytes]], max_entries: int, max_value: int,
                      start_big: bool = False) -> ZsetListpack | ZsetSkiplist:  # fmt: skip
    """Like `build`, but as ZRANGESTORE fills its result: pairs (in range order) go one by one
    into a listpack that turns into a skiplist when it outgrows the limits, so a -0 score that
    went through the listpack became 0. `start_big`: the result starts as a skiplist."""
    if not start_big:
        for k, (_, m) in enumerate(pairs):
            if k + 1 > max_entries or len(m) > max_value:
                pairs = [(s + 0.0, mm) for s, mm in pairs[:k]] + pairs[k:]
                start_big = True
                break
    ordered = sorted(pairs)
    if start_big:
        return ZsetSkiplist.from_pairs(ordered)
    return pack([m for _, m in ordered], [s + 0.0 for s, _ in ordered])


# ---------------------------------------------------------------------------
# Reading either form. Positions are ranks in ascending (score, member) order.

Zset = ZsetListpack | ZsetSkiplist


def card(z: Zset) -> int:
    if type(z) is ZsetSkiplist:
        return len(z.dict)
    return len(marshal.loads(z)[0])  # members and 8-byte scores: one decode either way


def score_of(z: Zset, m: bytes) -> float | None:
    if type(z) is ZsetSkiplist:
        return z.dict.get(m)
    ms, packed = marshal.loads(z)
    try:
        return _double_at(packed, 8 * ms.index(m))[0]
    except ValueError:
        return None


def rank_of(z: Zset, m: bytes) -> int | None:
    if type(z) is ZsetSkiplist:
        s = z.dict.get(m)
        if s is None:
            return None
        return z.sl.rank(s, m)
    ms = marshal.loads(z)[0]
    try:
        return ms.index(m)
    except ValueError:
        return None


def pairs_between(z: Zset, lo: int, hi: int) -> list[tuple[float, bytes]]:
    """(score, member) at positions [lo, hi), ascending."""
    if hi <= lo:
        return []
    if type(z) is ZsetSkiplist:
        return z.sl.pairs(lo, hi)
    ms, ss = z.lists()
    return list(zip(ss[lo:hi], ms[lo:hi], strict=False))


def all_pairs(z: Zset) -> list[tuple[float, bytes]]:
    if type(z) is ZsetSkiplist:
        return list(z.sl)
    ms, ss = z.lists()
    return list(zip(ss, ms, strict=False))


def as_mapping(z: Zset) -> dict[bytes, float]:
    if type(z) is ZsetSkiplist:
        return z.dict
    ms, ss = z.lists()
    return dict(zip(ms, ss, strict=False))


def score_span(z: Zset, r: ScoreRange) -> tuple[int, int]:
    """Positions [lo, hi) of the elements whose score is in the range."""
    if r.empty():
        return 0, 0
    if type(z) is ZsetSkiplist:
        sl = z.sl
        n = len(sl)
        # The first score above x is the first one >= the next double after x.
        if r.minex:
            lo = n if r.min == INF else sl.bisect_score(_next_up(r.min, INF))
        else:
            lo = sl.bisect_score(r.min)
        if r.maxex:
            hi = sl.bisect_score(r.max)
        else:
            hi = n if r.max == INF else sl.bisect_score(_next_up(r.max, INF))
    else:
        ss = z.lists()[1]
        lo = bisect_right(ss, r.min) if r.minex else bisect_left(ss, r.min)
        hi = bisect_left(ss, r.max) if r.maxex else bisect_right(ss, r.max)
    return (lo, hi) if lo < hi else (0, 0)


def lex_span(z: Zset, r: LexRange, reverse: bool = False) -> tuple[int, int]:
    """Positions [lo, hi) of the elements in a lexicographic range.

    On a listpack this follows Redis's scans exactly: forward from the first element >= min
    while <= max, or (reverse) backward from the last element <= max while >= min. The
    skiplist form assumes what the range commands require, equal scores (members in order)."""
    if r.empty():
        return 0, 0
    if type(z) is ZsetSkiplist:
        sl = z.sl
        if not len(sl) or not r.gte_min(sl.last()[1]) or not r.lte_max(sl.first()[1]):
            return 0, 0
        lo = sl.bisect_members(lambda m: not r.gte_min(m))
        hi = sl.bisect_members(r.lte_max)
        return (lo, hi) if lo < hi else (0, 0)
    ms = marshal.loads(z)[0]
    n = len(ms)
    if not n or not r.gte_min(ms[-1]) or not r.lte_max(ms[0]):
        return 0, 0
    if not reverse:
        lo = 0
        while lo < n and not r.gte_min(ms[lo]):
            lo += 1
        hi = lo
        while hi < n and r.lte_max(ms[hi]):
            hi += 1
        return (lo, hi) if lo < hi else (0, 0)
    hi = n
    while hi > 0 and not r.lte_max(ms[hi - 1]):
        hi -= 1
    lo = hi
    while lo > 0 and r.gte_min(ms[lo - 1]):
        lo -= 1
    return (lo, hi) if lo < hi else (0, 0)


def window(lo: int, hi: int, offset: int, limit: int, reverse: bool) -> tuple[int, int]:
    """Apply LIMIT offset count to the span [lo, hi) walked forward or backward."""
    if offset < 0:
        return 0, 0  # Redis walks off the end of the set
    if reverse:
        top = hi - offset
        bottom = lo if limit < 0 else max(lo, top - limit)
        return (bottom, top) if bottom < top else (0, 0)
    start = lo + offset
    stop = hi if limit < 0 else min(hi, start + limit)
    return (start, stop) if start < stop else (0, 0)


def iter_desc(z: Zset) -> Iterator[tuple[float, bytes]]:
    """Elements from the highest, the order Redis's set-operation iterators use."""
    if type(z) is ZsetSkiplist:
        return reversed(z.sl)
    ms, ss = z.lists()
    return zip(reversed(ss), reversed(ms), strict=False)


# ---------------------------------------------------------------------------
# ZADD's core

NX, XX, GT, LT, INCR = 1, 2, 4, 8, 16


class AddResult:
    __slots__ = ("z", "added", "updated", "processed", "score", "nan")

    def __init__(self) -> None:
        self.added = self.updated = self.processed = 0
        self.score = 0.0
        self.nan = False


def add(z: Zset | None, items: list[tuple[float, bytes]], flags: int, max_entries: int, max_value: int) -> AddResult:
    """zsetAdd over (score, member) items; `z` None creates the set in the form Redis picks.
    The result's `z` is the set to keep (a new object when the listpack changed)."""
    res = AddResult()
    nx = flags & NX
    xx = flags & XX
    gt = flags & GT
    lt = flags & LT
    incr = flags & INCR
    if z is None:
        if max_entries == 0 or max_value < len(items[0][1]):
            z = ZsetSkiplist()
        else:
            z = _EMPTY
    if type(z) is ZsetSkiplist:
        big = z
        ms = ss = None
    else:
        big = None
        ms, ss = z.lists()
    changed = False
    for s, m in items:
        if big is None:
            try:
                i = ms.index(m)
            except ValueError:
                i = -1
            if i >= 0:
                if nx:
                    continue
                cur = ss[i]
                if incr:
                    s += cur
                    if s != s:
                        res.nan = True
                        break
                if (lt and s >= cur) or (gt and s <= cur):
                    continue
                res.score = s
                res.processed += 1
                if s != cur:
                    del ms[i]
                    del ss[i]
                    _lp_insert(ms, ss, m, s)
                    res.updated += 1
                    changed = True
                continue
            if xx:
                continue
            if len(ms) + 1 > max_entries or len(m) > max_value:
                big = to_skiplist(ms, ss)
                changed = True
            else:
                _lp_insert(ms, ss, m, s)
                res.score = s
                res.added += 1
                res.processed += 1
                changed = True
                continue
        d = big.dict
        cur = d.get(m)
        if cur is not None:
            if nx:
                continue
            if incr:
                s += cur
                if s != s:
                    res.nan = True
                    break
            if (lt and s >= cur) or (gt and s <= cur):
                continue
            res.score = s
            res.processed += 1
            if s != cur:
                big.rescore(m, cur, s)
                res.updated += 1
            continue
        if xx:
            continue
        big.insert(m, s)
        res.score = s
        res.added += 1
        res.processed += 1
    if big is not None:
        res.z = big
    elif changed:
        res.z = pack(ms, ss)
    else:
        res.z = z
    return res
