"""Geo commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEOSEARCH, GEOSEARCHSTORE, GEORADIUS,
GEORADIUSBYMEMBER and their _RO forms.

A geo set is a sorted set whose scores are 52-bit geohashes (respdb/types/geo.py); GEOADD is
ZADD with computed scores and is propagated as that ZADD, as Redis does. Searches scan the
nine cells Redis picks, in its order, through the sorted set's score ranges, and order and cut
the matches as Redis does (a stable sort, or Redis's partial quicksort when COUNT cuts the
list), so that ties and points at the edge of the area come out the same.
"""

from __future__ import annotations

from bisect import bisect_left

from respdb import errors, notify
from respdb.commands.args import parse_ll
from respdb.commands.sort import pqsort
from respdb.commands.strings import keyword
from respdb.commands.table import command
from respdb.commands.zsets import _zadd, get_zset
from respdb.errors import CommandError
from respdb.resp import EMPTY_ARRAY, NULL2, NULL3, NULL_ARRAY2, ZERO, integer
from respdb.types import geo as G
from respdb.types import zsets as Z
from respdb.types.zsets import NumberError, ZsetSkiplist, parse_double

_NULLS = (NULL2, NULL2, NULL2, NULL3)
_NULL_ARRAYS = (NULL_ARRAY2, NULL_ARRAY2, NULL_ARRAY2, NULL3)
UNITS = {b"M": 1.0, b"KM": 1000.0, b"FT": 0.3048, b"MI": 1609.34}
BAD_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"


def _double(b: bytes, msg: str = errors.NOT_FLOAT) -> float:
    try:
        return parse_double(b)
    except NumberError:
        raise CommandError(msg) from None


def _lonlat(lon_arg: bytes, lat_arg: bytes) -> tuple[float, float]:
    lon = _double(lon_arg)
    lat = _double(lat_arg)
    if lon < G.LONG_MIN or lon > G.LONG_MAX or lat < G.LAT_MIN or lat > G.LAT_MAX:
        raise CommandError("ERR invalid longitude,latitude pair %f,%f" % (lon, lat))
    return lon, lat


def _unit(arg: bytes) -> float:
    conv = UNITS.get(keyword(arg))
    if conv is None:
        raise CommandError(BAD_UNIT)
    return conv


def _distance_arg(argv, i: int, shape: G.Shape) -> None:
    radius = _double(argv[i], "ERR need numeric radius")
    if radius < 0:
        raise CommandError("ERR radius cannot be negative")
    shape.radius = radius
    shape.conversion = _unit(argv[i + 1])


def _box_arg(argv, i: int, shape: G.Shape) -> None:
    w = _double(argv[i], "ERR need numeric width")
    h = _double(argv[i + 1], "ERR need numeric height")
    if h < 0 or w < 0:
        raise CommandError("ERR height or width cannot be negative")
    shape.width = w
    shape.height = h
    shape.conversion = _unit(argv[i + 2])


def _member_position(z, member: bytes) -> tuple[float, float]:
    s = Z.score_of(z, member)
    if s is None:
        raise CommandError("ERR could not decode requested zset member")
    return G.decode_score(s)


def _coord(x: float) -> bytes:
    """addReplyHumanLongDouble's text: "%.17Lf" without trailing zeros (the double, exactly)."""
    t = b"%.17f" % x
    t = t.rstrip(b"0").rstrip(b".")
    return b"0" if t == b"-0" else t


def _coord_reply(x: float, proto: int) -> bytes:
    t = _coord(x)
    if proto == 3:
        return b",%b\r\n" % t
    return b"$%d\r\n%b\r\n" % (len(t), t)


def _dist_reply(d: float) -> bytes:
    t = b"%.4f" % d
    return b"$%d\r\n%b\r\n" % (len(t), t)


# ---------------------------------------------------------------------------
# GEOADD


@command("geoadd")
def cmd_geoadd(c, argv):
    n = len(argv)
    xx = nx = False
    longidx = 2
    while longidx < n:
        arg = argv[longidx]
        if len(arg) != 2 and b"\0" not in arg:
            break  # not NX, XX or CH: a longitude
        opt = keyword(arg)
        if opt == b"NX":
            nx = True
        elif opt == b"XX":
            xx = True
        elif opt != b"CH":
            break
        longidx += 1
    if (n - longidx) % 3 or (xx and nx):
        raise CommandError(errors.SYNTAX)
    zargv = [b"zadd", *argv[1:longidx]]
    for i in range(longidx, n, 3):
        lon, lat = _lonlat(argv[i], argv[i + 1])
        zargv.append(b"%d" % G.score_of(lon, lat))
        zargv.append(argv[i + 2])
    # Redis runs ZADD with the rewritten arguments, and that is what replicas see.
    c.propagate_as(zargv)
    if longidx > 2:
        zargv = zargv[:2] + [keyword(o) for o in argv[2:longidx]] + zargv[longidx:]
    return _zadd(c, zargv, 0)


# ---------------------------------------------------------------------------
# GEOHASH, GEOPOS, GEODIST


def _scorer(z, lookups: int):
    """A member -> score (or None) function for a few lookups in the set (None: no set)."""
    if z is None:
        return lambda m: None
    if lookups > 2:
        return Z.as_mapping(z).get
    return lambda m: Z.score_of(z, m)


@command("geohash")
def cmd_geohash(c, argv):
    z = get_zset(c.db, argv[1], read=True)
    out = [b"*%d\r\n" % (len(argv) - 2)]
    null = _NULLS[c.proto]
    score = _scorer(z, len(argv) - 2)
    for m in argv[2:]:
        s = score(m)
        if s is None:
            out.append(null)
        else:
            out.append(b"$11\r\n%b\r\n" % G.standard_geohash(*G.decode_score(s)))
    return b"".join(out)


@command("geopos")
def cmd_geopos(c, argv):
    z = get_zset(c.db, argv[1], read=True)
    proto = c.proto
    out = [b"*%d\r\n" % (len(argv) - 2)]
    null = _NULL_ARRAYS[proto]
    score = _scorer(z, len(argv) - 2)
    for m in argv[2:]:
        s = score(m)
        if s is None:
            out.append(null)
        else:
            lon, lat = G.decode_score(s)
            out.append(b"*2\r\n" + _coord_reply(lon, proto) + _coord_reply(lat, proto))
    return b"".join(out)


@command("geodist")
def cmd_geodist(c, argv):
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = _unit(argv[4])
    elif len(argv) > 5:
        raise CommandError(errors.SYNTAX)
    z = get_zset(c.db, argv[1], read=True)
    if z is None:
        return _NULLS[c.proto]
    s1 = Z.score_of(z, argv[2])
    s2 = Z.score_of(z, argv[3]) if s1 is not None else None
    if s2 is None:
        return _NULLS[c.proto]
    lon1, lat1 = G.decode_score(s1)
    lon2, lat2 = G.decode_score(s2)
    return _dist_reply(G.distance(lon1, lat1, lon2, lat2) / to_meter)


# ---------------------------------------------------------------------------
# The searches

COORDS, MEMBER, NOSTORE, SEARCH, SEARCHSTORE = 1, 2, 4, 8, 16
SORT_NONE, SORT_ASC, SORT_DESC = 0, 1, 2


def _search(c, argv, src_index: int, flags: int) -> bytes:
    db = c.db
    z = get_zset(db, argv[src_index], read=True)
    shape = G.Shape()
    storekey = None
    storedist = False
    if flags & COORDS:
        base = 6
        shape.kind = G.CIRCLE
        shape.lon, shape.lat = _lonlat(argv[2], argv[3])
        _distance_arg(argv, 4, shape)
    elif flags & MEMBER and z is None:
        base = 5  # nothing to search: the options are still parsed, for the right reply
    elif flags & MEMBER:
        base = 5
        shape.kind = G.CIRCLE
        shape.lon, shape.lat = _member_position(z, argv[2])
        _distance_arg(argv, 3, shape)
    else:
        base = 2
        if flags & SEARCHSTORE:
            base = 3
            storekey = argv[1]
    withdist = withhash = withcoord = False
    frommember = fromloc = byradius = bybox = False
    sort = SORT_NONE
    any_ = False
    count = 0
    n = len(argv)
    i = base
    while i < n:
        opt = keyword(argv[i])
        left = n - i - 1
        if opt == b"WITHDIST":
            withdist = True
        elif opt == b"WITHHASH":
            withhash = True
        elif opt == b"WITHCOORD":
            withcoord = True
        elif opt == b"ANY":
            any_ = True
        elif opt == b"ASC":
            sort = SORT_ASC
        elif opt == b"DESC":
            sort = SORT_DESC
        elif opt == b"COUNT" and left >= 1:
            v = parse_ll(argv[i + 1])
            if v is None:
                raise CommandError(errors.NOT_INTEGER)
            if v <= 0:
                raise CommandError("ERR COUNT must be > 0")
            count = v
            i += 1
        elif opt in (b"STORE", b"STOREDIST") and left >= 1 and not flags & (NOSTORE | SEARCH):
            storekey = argv[i + 1]
            storedist = opt == b"STOREDIST"
            i += 1
        elif opt == b"STOREDIST" and flags & SEARCH and flags & SEARCHSTORE:
            storedist = True
        elif opt == b"FROMMEMBER" and left >= 1 and flags & SEARCH and not fromloc:
            if z is not None:
                shape.lon, shape.lat = _member_position(z, argv[i + 1])
            frommember = True
            i += 1
        elif opt == b"FROMLONLAT" and left >= 2 and flags & SEARCH and not frommember:
            shape.lon, shape.lat = _lonlat(argv[i + 1], argv[i + 2])
            fromloc = True
            i += 2
        elif opt == b"BYRADIUS" and left >= 2 and flags & SEARCH and not bybox:
            _distance_arg(argv, i + 1, shape)
            shape.kind = G.CIRCLE
            byradius = True
            i += 2
        elif opt == b"BYBOX" and left >= 3 and flags & SEARCH and not byradius:
            _box_arg(argv, i + 1, shape)
            shape.kind = G.BOX
            bybox = True
            i += 3
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if storekey is not None and (withdist or withhash or withcoord):
        what = "GEOSEARCHSTORE" if flags & SEARCHSTORE else "STORE option in GEORADIUS"
        raise CommandError("ERR %s is not compatible with WITHDIST, WITHHASH and WITHCOORD options" % what)
    if flags & SEARCH and not (frommember or fromloc):
        raise CommandError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for %s" % _name(argv))
    if flags & SEARCH and not (byradius or bybox):
        raise CommandError("ERR exactly one of BYRADIUS and BYBOX can be specified for %s" % _name(argv))
    if any_ and not count:
        raise CommandError("ERR the ANY argument requires COUNT argument")
    if z is None:
        if storekey is not None:
            _delete_store(c, storekey)
            return ZERO
        return EMPTY_ARRAY
    if count and sort == SORT_NONE and not any_:
        sort = SORT_ASC
    points = _collect(z, shape, count if any_ else 0)
    if not points and storekey is None:
        return EMPTY_ARRAY
    total = len(points)
    returned = total if not count or total < count else count
    if sort != SORT_NONE:
        points = _sorted(points, sort == SORT_DESC, returned)
    conv = shape.conversion
    if storekey is None:
        return _reply(points[:returned], conv, withdist, withhash, withcoord, c.proto)
    return _store(c, storekey, points[:returned], conv, storedist, flags & SEARCH)


def _name(argv) -> str:
    return argv[0].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _collect(z, shape: G.Shape, limit: int) -> list[list]:
    """Members inside the area, as [dist, lon, lat, score, member], in Redis's scan order:
    cell by cell, each cell's score range in ascending order."""
    cells = G.search_cells(shape)
    points: list[list] = []
    if type(z) is ZsetSkiplist:
        sl = z.sl

        def span(lo: float, hi: float):
            return _skiplist_range(sl, lo, hi)

    else:
        ms, ss = z.lists()

        def span(lo: float, hi: float):
            a = bisect_left(ss, lo)
            b = bisect_left(ss, hi, a)
            return list(zip(ss[a:b], ms[a:b], strict=True))

    last = 0
    for idx, cell in enumerate(cells):
        if cell == (0, 0):
            continue
        if last and cell == cells[last]:
            continue  # a huge area: neighbours can repeat the cell scanned just before
        if points and limit and len(points) >= limit:
            break
        lo, hi = G.cell_score_range(*cell)
        inside = shape.distance_if_inside
        for score, member in span(lo, hi):
            lon, lat = G.decode_score(score)
            d = inside(lon, lat)
            if d is not None:
                points.append([d, lon, lat, score, member])
            if points and limit and len(points) >= limit:
                break
        last = idx
    return points


def _skiplist_range(sl, lo: float, hi: float) -> list[tuple[float, bytes]]:
    """Pairs with lo <= score < hi, read straight from SortedPairs' chunks (a search asks
    for nine ranges and needs no ranks, so it skips the positional index)."""
    maxes = sl._maxes
    i = bisect_left(maxes, (lo,))
    out: list[tuple[float, bytes]] = []
    first = True
    while i < len(maxes):
        sc = sl._sc[i]
        j = bisect_left(sc, lo) if first else 0
        first = False
        k = bisect_left(sc, hi, j)
        if k > j:
            out.extend(zip(sc[j:k], sl._mc[i][j:k], strict=True))
        if k < len(sc):
            break
        i += 1
    return out


def _cmp_asc(a, b) -> int:
    if a[0] > b[0]:
        return 1
    if a[0] == b[0]:
        return 0
    return -1


def _cmp_desc(a, b) -> int:
    return -_cmp_asc(a, b)


def _sorted(points: list[list], desc: bool, returned: int) -> list[list]:
    cmp = _cmp_desc if desc else _cmp_asc
    if returned < len(points):
        pqsort(points, cmp, 0, returned - 1)
        return points
    if any(p[0] != p[0] for p in points):
        return _merge_sort(points, cmp)  # NaN distances: follow glibc's merge exactly
    # glibc's qsort is a stable merge sort: equal distances keep their scan order.
    return sorted(points, key=(lambda p: -p[0]) if desc else (lambda p: p[0]))


def _merge_sort(v: list, cmp) -> list:
    """glibc's qsort (a top-down merge sort taking from the left run on ties)."""
    if len(v) <= 1:
        return list(v)
    n1 = len(v) // 2
    a = _merge_sort(v[:n1], cmp)
    b = _merge_sort(v[n1:], cmp)
    out = []
    i = j = 0
    while i < len(a) and j < len(b):
        if cmp(a[i], b[j]) <= 0:
            out.append(a[i])
            i += 1
        else:
            out.append(b[j])
            j += 1
    out.extend(a[i:])
    out.extend(b[j:])
    return out


def _reply(points, conv: float, withdist: bool, withhash: bool, withcoord: bool, proto: int) -> bytes:
    extra = withdist + withhash + withcoord
    out = [b"*%d\r\n" % len(points)]
    for d, lon, lat, score, member in points:
        if extra:
            out.append(b"*%d\r\n" % (extra + 1))
        out.append(b"$%d\r\n%b\r\n" % (len(member), member))
        if withdist:
            out.append(_dist_reply(d / conv))
        if withhash:
            out.append(integer(_to_long_long(score)))
        if withcoord:
            out.append(b"*2\r\n" + _coord_reply(lon, proto) + _coord_reply(lat, proto))
    return b"".join(out)


def _to_long_long(score: float) -> int:
    """C's (long long)score: out of range gives LLONG_MIN on x86-64."""
    if -9223372036854775808.0 <= score < 9223372036854775808.0:
        return int(score)
    return -(2**63)


def _delete_store(c, key: bytes) -> None:
    db = c.db
    if db.delete(key):
        c.engine.written(db, key, "del", notify.GENERIC)


def _store(c, key: bytes, points, conv: float, storedist: bool, search: int) -> bytes:
    if not points:
        _delete_store(c, key)
        return ZERO
    pairs = sorted(((p[0] / conv if storedist else p[3]), p[4]) for p in points)
    cfg = c.engine.config
    value = Z.build(pairs, cfg.get_int("zset-max-listpack-entries"), cfg.get_int("zset-max-listpack-value"))
    db = c.db
    e = c.engine
    db.set(key, value)
    e.written(db, key, "geosearchstore" if search else "georadiusstore", notify.ZSET)
    e.dirty += len(points) - 1
    return integer(len(points))


@command("georadius")
def cmd_georadius(c, argv):
    return _search(c, argv, 1, COORDS)


@command("georadius_ro")
def cmd_georadius_ro(c, argv):
    return _search(c, argv, 1, COORDS | NOSTORE)


@command("georadiusbymember")
def cmd_georadiusbymember(c, argv):
    return _search(c, argv, 1, MEMBER)


@command("georadiusbymember_ro")
def cmd_georadiusbymember_ro(c, argv):
    return _search(c, argv, 1, MEMBER | NOSTORE)


@command("geosearch")
def cmd_geosearch(c, argv):
    return _search(c, argv, 1, SEARCH)


@command("geosearchstore")
def cmd_geosearchstore(c, argv):
    return _search(c, argv, 2, SEARCH | SEARCHSTORE)
