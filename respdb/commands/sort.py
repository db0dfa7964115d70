"""SORT and SORT_RO (Redis's sort.c behaviour).

Details clients can observe, all reproduced:
- options are parsed first (syntax and LIMIT errors win over WRONGTYPE); a BY pattern without
  '*' turns sorting off for good, even if a later BY has one;
- a set sorted with BY <constant> and STORE is sorted ALPHA instead (so replicas agree);
- SORT (and SORT_RO) converts a listpack sorted set to the skiplist encoding, as Redis does;
- numeric sorting parses with strtod (leading spaces, hex, "inf" accepted; NaN, trailing bytes,
  overflow and inexact underflow rejected) and breaks ties by comparing the elements' bytes;
- ALPHA compares with strcoll (the server runs in the C/C.UTF-8 locale: byte order up to the
  first NUL), or binary-safe when storing; missing BY values sort first;
- the full sort is stable (glibc's qsort is a merge sort), while BY with a LIMIT that leaves
  elements out uses Redis's partial quicksort (pqsort, ported below), whose placement of equal
  elements differs; both matter only for ALPHA sorts by pattern with ties.
"""

from __future__ import annotations

from fractions import Fraction

from respdb import errors, notify
from respdb.commands import keyspecs
from respdb.commands.args import get_int
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.resp import integer, null
from respdb.types import lists as list_types
from respdb.types import type_name
from respdb.types.hashes import HashHT, HashLP
from respdb.types.sets import SetHT
from respdb.types.strings import PlainBytes

STRING_TYPES = frozenset((bytes, bytearray, PlainBytes))
NOTIFY_LIST = notify.LIST
NOTIFY_GENERIC = notify.GENERIC
SCORE_ERROR = "ERR One or more scores can't be converted into double"
DBL_MIN = 2.2250738585072014e-308


def _cstr(b: bytes) -> bytes:
    """What C string functions see: up to the first NUL."""
    i = b.find(b"\0")
    return b if i < 0 else b[:i]


# ---------------------------------------------------------------------------
# The collection being sorted


def collection_elements(v) -> list[bytes]:
    """The elements of a list, set or sorted set in their native order: head to tail,
    iteration order (ascending for an intset), ascending score."""
    t = type_name(v)
    if t == "list":
        return list_types.values_of(v)
    if t == "set":
        return list(v) if type(v) is SetHT else v.members()
    if t == "zset":
        from respdb.types import zsets

        return [m for _, m in zsets.all_pairs(v)]
    raise CommandError(errors.WRONGTYPE)


def _force_skiplist(db, key: bytes, v):
    """zsetConvert(..., SKIPLIST): SORT leaves a small sorted set in the big encoding."""
    from respdb.types import zsets

    if type(v) is zsets.ZsetListpack:
        v = zsets.to_skiplist(*v.lists())
        db.data[key] = v  # same key, TTL kept
    return v


# ---------------------------------------------------------------------------
# Patterns (BY / GET)


def lookup_by_pattern(db, pattern: bytes, subst: bytes):
    """lookupKeyByPattern: '#' is the element itself; the first '*' is replaced by it; a
    '->field' suffix (after the '*') reads a hash field. None when nothing is there."""
    cpat = _cstr(pattern)
    if cpat == b"#":
        return subst
    p = cpat.find(b"*")
    if p < 0:
        return None
    f = cpat.find(b"->", p + 1)
    if f >= 0 and f + 2 < len(cpat):
        field = pattern[f + 2 :]
        key = pattern[:p] + subst + pattern[p + 1 : f]
    else:
        field = None
        key = pattern[:p] + subst + pattern[p + 1 :]
    o = db.read(key)
    if o is None:
        return None
    if field is not None:
        t = type(o)
        if t is HashLP or t is HashHT:
            return o.get(field)
        return None
    if type(o) in STRING_TYPES:
        return o
    return None


# ---------------------------------------------------------------------------
# Numbers: strtod as SORT uses it (whole C string, errno ERANGE, no NaN)


def sort_score(b: bytes) -> float | None:
    """The score of a value, or None when Redis would flag a conversion error."""
    from respdb.types.zsets import strtod

    s = _cstr(bytes(b))
    if s.isdigit() and len(s) < 300:
        return float(s)
    v, used, erange = strtod(s)
    if used == 0:
        # No conversion: strtod leaves the end pointer at the start (""" is fine, "  " is not).
        return 0.0 if not s else None
    if used != len(s) or v != v or erange:
        return None
    if v != 0 and abs(v) < DBL_MIN and not _exact_subnormal(s, v):
        return None  # glibc sets ERANGE for an inexact subnormal result
    return v


def _exact_subnormal(text: bytes, v: float) -> bool:
    t = text.strip(b" \t\n\v\f\r").lower()
    if b"0x" not in t:
        return False  # a decimal subnormal is never exact in binary
    neg = t.startswith(b"-")
    t = t.lstrip(b"+-")[2:]
    mant, _, exp = t.partition(b"p")
    ip, _, fp = mant.partition(b".")
    digits = (ip + fp) or b"0"
    val = Fraction(int(digits, 16)) * Fraction(2) ** (int(exp or b"0") - 4 * len(fp))
    return (-val if neg else val) == Fraction(v)


# ---------------------------------------------------------------------------
# Redis's pqsort (NetBSD qsort with range pruning), on a Python list


def _med3(v, a: int, b: int, c: int, cmp) -> int:
    if cmp(v[a], v[b]) < 0:
        if cmp(v[b], v[c]) < 0:
            return b
        return c if cmp(v[a], v[c]) < 0 else a
    if cmp(v[b], v[c]) > 0:
        return b
    return a if cmp(v[a], v[c]) < 0 else c


def _vecswap(v, a: int, b: int, n: int) -> None:
    for i in range(n):
        v[a + i], v[b + i] = v[b + i], v[a + i]


def pqsort(v: list, cmp, lrange: int, rrange: int) -> None:
    """Sort v so that positions lrange..rrange hold what a full sort would put there."""
    _pqsort(v, 0, len(v), cmp, lrange, rrange)


def _pqsort(v: list, a: int, n: int, cmp, lrange: int, rrange: int) -> None:
    while True:
        if n < 7:
            for pm in range(a + 1, a + n):
                pl = pm
                while pl > a and cmp(v[pl - 1], v[pl]) > 0:
                    v[pl], v[pl - 1] = v[pl - 1], v[pl]
                    pl -= 1
            return
        pm = a + n // 2
        if n > 7:
            pl = a
            pn = a + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(v, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(v, pm - d, pm, pm + d, cmp)
                pn = _med3(v, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(v, pl, pm, pn, cmp)
        v[a], v[pm] = v[pm], v[a]
        pa = pb = a + 1
        pc = pd = a + n - 1
        while True:
            while pb <= pc:
                r = cmp(v[pb], v[a])
                if r > 0:
                    break
                if r == 0:
                    v[pa], v[pb] = v[pb], v[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                r = cmp(v[pc], v[a])
                if r < 0:
                    break
                if r == 0:
                    v[pc], v[pd] = v[pd], v[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            v[pb], v[pc] = v[pc], v[pb]
            pb += 1
            pc -= 1
        pn = a + n
        r = min(pa - a, pb - pa)
        _vecswap(v, a, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(v, pb, pn - r, r)
        r = pb - pa
        if r > 1 and not _outside(a, a + r - 1, lrange, rrange):
            _pqsort(v, a, r, cmp, lrange, rrange)
        r = pd - pc
        if r > 1:
            a = pn - r
            n = r
            if not _outside(a, a + r - 1, lrange, rrange):
                continue
        return


def _outside(lo: int, hi: int, lrange: int, rrange: int) -> bool:
    return (lrange < lo and rrange < lo) or (lrange > hi and rrange > hi)


def _sign(x, y) -> int:
    return (x > y) - (x < y)


# ---------------------------------------------------------------------------
# The command


def _reads_every_key(c) -> bool:
    """BY and GET patterns read keys ACL can't check in advance: Redis allows them only to a
    user who may read any key (the literal key "*" passes one of its read patterns)."""
    if c.user not in c.engine.acl.restricted:
        return True
    user = c.engine.acl.get(c.user)
    return user is not None and any(s.check_key(b"*", keyspecs.ACCESS) for s in user.selectors)


def _parse(c, argv, readonly: bool):
    opts = {"desc": False, "alpha": False, "start": 0, "count": -1, "dontsort": False,
            "by": None, "store": None, "gets": []}  # fmt: skip
    n = len(argv)
    j = 2
    while j < n:
        left = n - j - 1
        opt = _cstr(argv[j]).lower()
        if opt == b"asc":
            opts["desc"] = False
        elif opt == b"desc":
            opts["desc"] = True
        elif opt == b"alpha":
            opts["alpha"] = True
        elif opt == b"limit" and left >= 2:
            opts["start"] = get_int(argv[j + 1])
            opts["count"] = get_int(argv[j + 2])
            j += 2
        elif not readonly and opt == b"store" and left >= 1:
            opts["store"] = argv[j + 1]
            j += 1
        elif opt == b"by" and left >= 1:
            opts["by"] = argv[j + 1]
            if b"*" not in _cstr(argv[j + 1]):
                opts["dontsort"] = True
            elif not _reads_every_key(c):
                raise CommandError("ERR BY option of SORT denied due to insufficient ACL permissions.")
            j += 1
        elif opt == b"get" and left >= 1:
            if not _reads_every_key(c):
                raise CommandError("ERR GET option of SORT denied due to insufficient ACL permissions.")
            opts["gets"].append(argv[j + 1])
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return opts


def sort_generic(c, argv, readonly: bool) -> bytes:
    o = _parse(c, argv, readonly)
    desc, alpha, dontsort = o["desc"], o["alpha"], o["dontsort"]
    sortby, storekey, gets = o["by"], o["store"], o["gets"]
    db = c.db
    key = argv[1]
    v = db.read(key)
    kind = "list"
    if v is not None:
        kind = type_name(v)
        if kind not in ("list", "set", "zset"):
            raise CommandError(errors.WRONGTYPE)
    if dontsort and kind == "set" and (storekey is not None or c.kind == "script"):
        # A set's iteration order is not reproducible: sort it so that replicas agree.
        dontsort = False
        alpha = True
        sortby = None
    if kind == "zset":
        v = _force_skiplist(db, key, v)
    elems = collection_elements(v) if v is not None else []
    vectorlen = len(elems)

    start = max(o["start"], 0)
    end = vectorlen - 1 if o["count"] < 0 else start + o["count"] - 1
    if start >= vectorlen:
        start = vectorlen - 1
        end = vectorlen - 2
    if end >= vectorlen:
        end = vectorlen - 1

    if dontsort and kind in ("list", "zset"):
        # Native order (reversed for DESC), only the LIMIT window.
        if end >= start:
            if desc:
                elems.reverse()
            elems = elems[start : end + 1]
            end -= start
            start = 0
        else:
            elems = []
    elif not dontsort:
        elems = _sorted(db, elems, sortby, alpha, desc, storekey is not None, start, end)

    window = elems[start : end + 1] if end >= start else []
    if not gets:
        out = window
    else:
        out = []
        for el in window:
            for pat in gets:
                out.append(lookup_by_pattern(db, pat, el))

    if storekey is None:
        nul = null(c.proto)
        parts = [b"*%d\r\n" % len(out)]
        for x in out:
            parts.append(nul if x is None else b"$%d\r\n%b\r\n" % (len(x), x))
        return b"".join(parts)

    e = c.engine
    if out:
        db.set(storekey, list_types.from_values([b"" if x is None else bytes(x) for x in out]))
        e.written(db, storekey, "sortstore", NOTIFY_LIST)
        e.dirty += len(out) - 1
    elif db.delete(storekey):
        e.written(db, storekey, "del", NOTIFY_GENERIC)
    return integer(len(out))


def _sorted(db, elems: list[bytes], sortby, alpha: bool, desc: bool, store: bool, start: int, end: int):
    """The elements ordered as Redis's sortCompare orders them."""
    if alpha and sortby is None:
        # Direct comparison of the elements (binary when storing, strcoll otherwise).
        return sorted(elems, key=None if store else _cstr, reverse=desc)
    if alpha:
        cmpobjs = [lookup_by_pattern(db, sortby, el) for el in elems]
        if not store:
            cmpobjs = [None if x is None else _cstr(bytes(x)) for x in cmpobjs]
        vec = [(x is not None, bytes(x) if x is not None else b"", el) for x, el in zip(cmpobjs, elems, strict=True)]

        def cmp(p, q):
            r = _sign(p[:2], q[:2])
            return -r if desc else r
    else:
        vec = []
        for el in elems:
            byval = lookup_by_pattern(db, sortby, el) if sortby is not None else el
            if byval is None:
                score = 0.0
            else:
                score = sort_score(byval)
                if score is None:
                    raise CommandError(SCORE_ERROR)
            vec.append((score, el))

        def cmp(p, q):
            r = _sign(p[0], q[0]) or _sign(p[1], q[1])
            return -r if desc else r

    if sortby is not None and (start != 0 or end != len(vec) - 1):
        pqsort(vec, cmp, start, end)
    else:
        keyf = (lambda t: t[:2]) if alpha else None
        vec.sort(key=keyf, reverse=desc)
    return [t[-1] for t in vec]


@command("sort")
def cmd_sort(c, argv):
    return sort_generic(c, argv, False)


@command("sort_ro")
def cmd_sort_ro(c, argv):
    return sort_generic(c, argv, True)
