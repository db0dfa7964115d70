"""Sorted set commands (Redis's `sorted_set` group).

The value types live in respdb/types/zsets.py; this module parses arguments in Redis's order
(so the same error wins), picks positions in the set, and writes replies. A listpack value is
immutable: a handler that changes one stores the new object back with `db.data[key] = new`,
which keeps the key's TTL.
"""

from __future__ import annotations

import random

from respdb import errors, notify
from respdb.blocking import parse_timeout
from respdb.commands.args import get_int, parse_ll
from respdb.commands.keys import parse_cursor, parse_scan_options
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.glob import compile_glob
from respdb.resp import EMPTY_ARRAY, NULL2, NULL3, NULL_ARRAY2, ZERO, bulk, integer
from respdb.types import zsets as Z
from respdb.types.zsets import (
    GT,
    INCR,
    LT,
    NX,
    XX,
    LexRange,
    NumberError,
    ScoreRange,
    ZsetListpack,
    ZsetSkiplist,
    pack,
    parse_double,
)

ZSET_EVENT = notify.ZSET
GENERIC_EVENT = notify.GENERIC
LONG_MAX = 2**63 - 1
LONG_MIN = -(2**63)
_NULLS = (NULL2, NULL2, NULL2, NULL3)
_NULL_ARRAYS = (NULL_ARRAY2, NULL_ARRAY2, NULL_ARRAY2, NULL3)
EMPTY_SCAN = b"*2\r\n$1\r\n0\r\n*0\r\n"

NOT_FLOAT_RANGE = "ERR min or max is not a float"
NOT_LEX_RANGE = "ERR min or max not valid string range item"


def get_zset(db, key: bytes, read: bool = False):
    """The sorted set at key, None if missing; WRONGTYPE for other types. `read`: a read lookup
    (counted in keyspace_hits/misses, `keymiss` event); else a write one."""
    v = db.read(key) if read else db.get(key)
    if v is None:
        return None
    t = type(v)
    if t is ZsetSkiplist or t is ZsetListpack:
        return v
    raise CommandError(errors.WRONGTYPE)


def is_zset(v) -> bool:
    t = type(v)
    return t is ZsetSkiplist or t is ZsetListpack


def _limits(c) -> tuple[int, int]:
    cfg = c.engine.config
    values = cfg.values
    try:  # CONFIG SET and the config file store these as plain integers
        return int(values["zset-max-listpack-entries"]), int(values["zset-max-listpack-value"])
    except ValueError:
        return cfg.get_int("zset-max-listpack-entries"), cfg.get_int("zset-max-listpack-value")


def _score(s: float, proto: int) -> bytes:
    t = b"%.17g" % s
    if proto == 3:
        return b",%b\r\n" % t
    return b"$%d\r\n%b\r\n" % (len(t), t)


def _pairs_reply(pairs, withscores: bool, proto: int) -> bytes:
    """(score, member) pairs as ZRANGE replies them."""
    if not withscores:
        return b"*%d\r\n" % len(pairs) + b"".join([b"$%d\r\n%b\r\n" % (len(m), m) for _, m in pairs])
    if proto == 3:
        out = [b"*%d\r\n" % len(pairs)]
        for s, m in pairs:
            out.append(b"*2\r\n$%d\r\n%b\r\n,%b\r\n" % (len(m), m, b"%.17g" % s))
        return b"".join(out)
    out = [b"*%d\r\n" % (2 * len(pairs))]
    for s, m in pairs:
        t = b"%.17g" % s
        out.append(b"$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(m), m, len(t), t))
    return b"".join(out)


def _float_arg(b: bytes, msg: str = errors.NOT_FLOAT) -> float:
    try:
        return parse_double(b)
    except NumberError:
        raise CommandError(msg) from None


def _score_range(lo: bytes, hi: bytes) -> ScoreRange:
    try:
        return ScoreRange(lo, hi)
    except NumberError:
        raise CommandError(NOT_FLOAT_RANGE) from None


def _lex_range(lo: bytes, hi: bytes) -> LexRange:
    try:
        return LexRange(lo, hi)
    except NumberError:
        raise CommandError(NOT_LEX_RANGE) from None


def _ranged_long(b: bytes, lo: int, hi: int, msg: str) -> int:
    """getRangeLongFromObjectOrReply: one message for both a bad number and a bad range."""
    v = parse_ll(b)
    if v is None or v < lo or v > hi:
        raise CommandError(msg)
    return v


def _store(db, key: bytes, old, new) -> None:
    """Keep `new` as the value at key (TTL kept when the key existed)."""
    if old is None:
        db.set(key, new)
    elif new is not old:
        db.data[key] = new


def _emptied(c, db, key: bytes) -> None:
    """A sorted set lost its last element: delete the key, with Redis's "del" event."""
    db.delete(key)
    c.engine.notify(GENERIC_EVENT, "del", key, db.id)


def _changed(c, db, key: bytes, event: str, n: int) -> None:
    e = c.engine
    e.written(db, key, event, ZSET_EVENT)
    if n > 1:
        e.dirty += n - 1  # Redis counts one change per element


# ---------------------------------------------------------------------------
# ZADD / ZINCRBY

_ZADD_FLAGS = {b"nx": NX, b"xx": XX, b"gt": GT, b"lt": LT, b"incr": INCR, b"ch": 0}


def _zadd(c, argv, flags: int) -> bytes:
    n = len(argv)
    j = 2
    ch = False
    while j < n:
        opt = argv[j].lower()
        f = _ZADD_FLAGS.get(opt)
        if f is None:
            break
        if opt == b"ch":
            ch = True
        flags |= f
        j += 1
    elements = n - j
    if elements % 2 or not elements:
        raise CommandError(errors.SYNTAX)
    elements //= 2
    if flags & NX and flags & XX:
        raise CommandError("ERR XX and NX options at the same time are not compatible")
    if (flags & GT and flags & NX) or (flags & LT and flags & NX) or (flags & GT and flags & LT):
        raise CommandError("ERR GT, LT, and/or NX options at the same time are not compatible")
    incr = flags & INCR
    if incr and elements > 1:
        raise CommandError("ERR INCR option supports a single increment-element pair")
    items = [(_float_arg(argv[k]), argv[k + 1]) for k in range(j, n, 2)]
    return _zadd_apply(c, argv[1], get_zset(c.db, argv[1]), items, flags, ch)


def _zadd_apply(c, key: bytes, z, items, flags: int, ch: bool) -> bytes:
    db = c.db
    incr = flags & INCR
    if z is None and flags & XX:
        return _NULLS[c.proto] if incr else ZERO
    entries, value = _limits(c)
    res = Z.add(z, items, flags, entries, value)
    if res.nan:
        raise CommandError("ERR resulting score is not a number (NaN)")
    _store(db, key, z, res.z)
    changes = res.added + res.updated
    if changes:
        _changed(c, db, key, "zincr" if incr else "zadd", changes)  # also wakes waiters (Engine.written)
    if incr:
        return _score(res.score, c.proto) if res.processed else _NULLS[c.proto]
    return integer(changes if ch else res.added)


@command("zadd")
def cmd_zadd(c, argv):
    if len(argv) == 4:
        # One element, no options: the common case, kept short.
        try:
            s = parse_double(argv[2])
        except NumberError:
            return _zadd(c, argv, 0)  # an option word or a bad score: the full parse says which
        key = argv[1]
        z = c.db.get(key)
        t = type(z)
        if t is ZsetSkiplist:
            m = argv[3]
            d = z.dict
            cur = d.get(m)
            if cur is None:
                d[m] = s
                z.sl.add(s, m)
                if z.index is not None:
                    z.index.add(m)
                c.engine.written(c.db, key, "zadd", ZSET_EVENT)
                return b":1\r\n"
            if cur != s:
                z.rescore(m, cur, s)
                c.engine.written(c.db, key, "zadd", ZSET_EVENT)
            return ZERO
        if z is None or t is ZsetListpack:
            return _zadd_apply(c, key, z, [(s, argv[3])], 0, False)
        raise CommandError(errors.WRONGTYPE)
    return _zadd(c, argv, 0)


@command("zincrby")
def cmd_zincrby(c, argv):
    return _zadd(c, argv, INCR)


# ---------------------------------------------------------------------------
# ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK


@command("zrem")
def cmd_zrem(c, argv):
    db = c.db
    key = argv[1]
    z = get_zset(db, key)
    if z is None:
        return ZERO
    deleted = 0
    emptied = False
    if type(z) is ZsetSkiplist:
        for m in argv[2:]:
            if z.remove(m):
                deleted += 1
            if not z.dict:
                emptied = True
                break
    else:
        ms, ss = z.lists()
        for m in argv[2:]:
            try:
                i = ms.index(m)
            except ValueError:
                continue
            del ms[i]
            del ss[i]
            deleted += 1
            if not ms:
                emptied = True
                break
        if deleted and not emptied:
            db.data[key] = pack(ms, ss)
    if deleted:
        _changed(c, db, key, "zrem", deleted)
        if emptied:
            _emptied(c, db, key)
    return integer(deleted)


@command("zcard")
def cmd_zcard(c, argv):
    z = get_zset(c.db, argv[1], read=True)
    return ZERO if z is None else integer(Z.card(z))


@command("zscore")
def cmd_zscore(c, argv):
    z = get_zset(c.db, argv[1], read=True)
    if z is None:
        return _NULLS[c.proto]
    s = Z.score_of(z, argv[2])
    return _NULLS[c.proto] if s is None else _score(s, c.proto)


@command("zmscore")
def cmd_zmscore(c, argv):
    z = get_zset(c.db, argv[1], read=True)
    proto = c.proto
    out = [b"*%d\r\n" % (len(argv) - 2)]
    if z is None:
        out.extend([_NULLS[proto]] * (len(argv) - 2))
    else:
        scores = Z.as_mapping(z)
        for m in argv[2:]:
            s = scores.get(m)
            out.append(_NULLS[proto] if s is None else _score(s, proto))
    return b"".join(out)


def _zrank(c, argv, reverse: bool) -> bytes:
    z = get_zset(c.db, argv[1], read=True)
    if z is None:
        return _NULLS[c.proto]
    r = Z.rank_of(z, argv[2])
    if r is None:
        return _NULLS[c.proto]
    return integer(Z.card(z) - 1 - r if reverse else r)


@command("zrank")
def cmd_zrank(c, argv):
    return _zrank(c, argv, False)


@command("zrevrank")
def cmd_zrevrank(c, argv):
    return _zrank(c, argv, True)


# ---------------------------------------------------------------------------
# ZCOUNT, ZLEXCOUNT


@command("zcount")
def cmd_zcount(c, argv):
    r = _score_range(argv[2], argv[3])
    z = get_zset(c.db, argv[1], read=True)
    if z is None:
        return ZERO
    lo, hi = Z.score_span(z, r)
    return integer(hi - lo)


@command("zlexcount")
def cmd_zlexcount(c, argv):
    r = _lex_range(argv[2], argv[3])
    z = get_zset(c.db, argv[1], read=True)
    if z is None:
        return ZERO
    lo, hi = Z.lex_span(z, r)
    return integer(hi - lo)


# ---------------------------------------------------------------------------
# ZRANGE and its family

AUTO, RANK, SCORE, LEX = 0, 1, 2, 3
FORWARD, REVERSE = 1, 2


def _rank_window(start: int, end: int, llen: int, reverse: bool) -> tuple[int, int]:
    """Positions [lo, hi) for ranks start..end (Redis's clamping); reversed ranks count from
    the top."""
    if start < 0:
        start += llen
    if end < 0:
        end += llen
    if start < 0:
        start = 0
    if start > end or start >= llen:
        return 0, 0
    if end >= llen:
        end = llen - 1
    if reverse:
        return llen - 1 - end, llen - start
    return start, end + 1


def _zrange(c, argv, at: int, store: bool, rtype: int, direction: int) -> bytes:
    n = len(argv)
    key = argv[at]
    minidx, maxidx = at + 1, at + 2
    withscores = False
    offset, limit = 0, -1
    j = at + 3
    while j < n:
        opt = argv[j].lower()
        left = n - j - 1
        if not store and opt == b"withscores":
            withscores = True
        elif opt == b"limit" and left >= 2:
            offset = get_int(argv[j + 1])
            limit = get_int(argv[j + 2])
            j += 2
        elif direction == AUTO and opt == b"rev":
            direction = REVERSE
        elif rtype == AUTO and opt == b"bylex":
            rtype = LEX
        elif rtype == AUTO and opt == b"byscore":
            rtype = SCORE
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    reverse = direction == REVERSE
    if rtype == AUTO:
        rtype = RANK
    if limit != -1 and rtype == RANK:
        raise CommandError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    if withscores and rtype == LEX:
        raise CommandError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    if reverse and rtype != RANK:
        minidx, maxidx = maxidx, minidx
    if rtype == RANK:
        start = get_int(argv[minidx])
        end = get_int(argv[maxidx])
    elif rtype == SCORE:
        srange = _score_range(argv[minidx], argv[maxidx])
    else:
        lrange = _lex_range(argv[minidx], argv[maxidx])
    db = c.db
    z = db.read(key)
    if z is None:
        return _store_result(c, argv[1], []) if store else EMPTY_ARRAY
    if not is_zset(z):
        raise CommandError(errors.WRONGTYPE)
    if rtype == RANK:
        lo, hi = _rank_window(start, end, Z.card(z), reverse)
    elif rtype == SCORE:
        lo, hi = Z.window(*Z.score_span(z, srange), offset, limit, reverse)
    else:
        lo, hi = Z.window(*Z.lex_span(z, lrange, reverse), offset, limit, reverse)
    pairs = Z.pairs_between(z, lo, hi)
    if reverse:
        pairs.reverse()
    if store:
        entries = _limits(c)[0]
        return _store_result(c, argv[1], pairs, start_big=rtype == RANK and len(pairs) > entries)
    return _pairs_reply(pairs, withscores, c.proto)


def _store_result(c, dst: bytes, pairs, start_big: bool = False) -> bytes:
    """ZRANGESTORE's result: the pairs come in range order, the set is built as Redis fills it."""
    db = c.db
    e = c.engine
    if not pairs:
        if db.delete(dst):
            e.written(db, dst, "del", GENERIC_EVENT)
        return ZERO
    entries, value = _limits(c)
    db.set(dst, Z.build_incremental(pairs, entries, value, start_big))
    e.written(db, dst, "zrangestore", ZSET_EVENT)  # also wakes waiters
    return integer(len(pairs))


@command("zrange")
def cmd_zrange(c, argv):
    return _zrange(c, argv, 1, False, AUTO, AUTO)


@command("zrangestore")
def cmd_zrangestore(c, argv):
    return _zrange(c, argv, 2, True, AUTO, AUTO)


@command("zrevrange")
def cmd_zrevrange(c, argv):
    return _zrange(c, argv, 1, False, RANK, REVERSE)


@command("zrangebyscore")
def cmd_zrangebyscore(c, argv):
    return _zrange(c, argv, 1, False, SCORE, FORWARD)


@command("zrevrangebyscore")
def cmd_zrevrangebyscore(c, argv):
    return _zrange(c, argv, 1, False, SCORE, REVERSE)


@command("zrangebylex")
def cmd_zrangebylex(c, argv):
    return _zrange(c, argv, 1, False, LEX, FORWARD)


@command("zrevrangebylex")
def cmd_zrevrangebylex(c, argv):
    return _zrange(c, argv, 1, False, LEX, REVERSE)


# ---------------------------------------------------------------------------
# ZREMRANGEBYRANK / BYSCORE / BYLEX


def _zremrange(c, argv, rtype: int) -> bytes:
    if rtype == RANK:
        start = get_int(argv[2])
        end = get_int(argv[3])
        event = "zremrangebyrank"
    elif rtype == SCORE:
        srange = _score_range(argv[2], argv[3])
        event = "zremrangebyscore"
    else:
        lrange = _lex_range(argv[2], argv[3])
        event = "zremrangebylex"
    db = c.db
    key = argv[1]
    z = get_zset(db, key)
    if z is None:
        return ZERO
    if rtype == RANK:
        lo, hi = _rank_window(start, end, Z.card(z), False)
    elif rtype == SCORE:
        lo, hi = Z.score_span(z, srange)
    else:
        lo, hi = Z.lex_span(z, lrange)
    deleted = hi - lo
    if not deleted:
        return ZERO
    if type(z) is ZsetSkiplist:
        z.delete_positions(lo, hi)
        left = len(z.dict)
    else:
        ms, ss = z.lists()
        del ms[lo:hi]
        del ss[lo:hi]
        left = len(ms)
        if left:
            db.data[key] = pack(ms, ss)
    _changed(c, db, key, event, deleted)
    if not left:
        _emptied(c, db, key)
    return integer(deleted)


@command("zremrangebyrank")
def cmd_zremrangebyrank(c, argv):
    return _zremrange(c, argv, RANK)


@command("zremrangebyscore")
def cmd_zremrangebyscore(c, argv):
    return _zremrange(c, argv, SCORE)


@command("zremrangebylex")
def cmd_zremrangebylex(c, argv):
    return _zremrange(c, argv, LEX)


# ---------------------------------------------------------------------------
# ZPOPMIN / ZPOPMAX / ZMPOP and the blocking forms

MIN, MAX = 0, 1
_POP_EVENTS = ("zpopmin", "zpopmax")
_POP_NAMES = (b"ZPOPMIN", b"ZPOPMAX")


def _pop(c, key: bytes, z, where: int, count: int) -> list[tuple[float, bytes]]:
    """Remove up to `count` elements from one end; return them in pop order."""
    db = c.db
    if type(z) is ZsetSkiplist:
        popped = z.pop(count, where == MAX)
        left = len(z.dict)
    else:
        ms, ss = z.lists()
        n = len(ms)
        k = min(count, n)
        lo, hi = (0, k) if where == MIN else (n - k, n)
        popped = list(zip(ss[lo:hi], ms[lo:hi], strict=True))
        if where == MAX:
            popped.reverse()
        left = n - k
        if left:
            del ms[lo:hi]
            del ss[lo:hi]
            db.data[key] = pack(ms, ss)
    _changed(c, db, key, _POP_EVENTS[where], len(popped))
    if not left:
        _emptied(c, db, key)
    return popped


def _popped_reply(popped, nested: bool, proto: int) -> bytes:
    out = []
    for s, m in popped:
        if nested:
            out.append(b"*2\r\n")
        out.append(b"$%d\r\n%b\r\n" % (len(m), m))
        out.append(_score(s, proto))
    return b"".join(out)


def _zpop(c, argv, where: int) -> bytes:
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    count = -1
    if len(argv) == 3:
        count = _ranged_long(argv[2], 0, LONG_MAX, "ERR value is out of range, must be positive")
    nested = c.proto == 3 and count != -1
    z = get_zset(c.db, argv[1])
    if z is None or count == 0:
        return EMPTY_ARRAY
    popped = _pop(c, argv[1], z, where, 1 if count == -1 else count)
    if count == -1:
        s, m = popped[0]
        t = b"%.17g" % s
        if c.proto == 3:
            return b"*2\r\n$%d\r\n%b\r\n,%b\r\n" % (len(m), m, t)
        return b"*2\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(m), m, len(t), t)
    head = b"*%d\r\n" % (len(popped) if nested else 2 * len(popped))
    return head + _popped_reply(popped, nested, c.proto)


@command("zpopmin")
def cmd_zpopmin(c, argv):
    return _zpop(c, argv, MIN)


@command("zpopmax")
def cmd_zpopmax(c, argv):
    return _zpop(c, argv, MAX)


def _first_nonempty(c, keys):
    """The first key holding a sorted set, in order; WRONGTYPE for another type. A waiter being
    re-run is served only from the key that woke it, and only if that is a sorted set now (as
    Redis serves blocked clients)."""
    db = c.db
    if c.unblocking:
        key = c.bstate.ready_key
        if key is not None:
            v = db.get(key)
            return (key, v) if v is not None and is_zset(v) else (None, None)
    for key in keys:
        v = db.get(key)
        if v is None:
            continue
        if not is_zset(v):
            raise CommandError(errors.WRONGTYPE)
        return key, v
    return None, None


def _mpop_args(argv, numkeys_idx: int) -> tuple[list[bytes], int, int]:
    numkeys = _ranged_long(argv[numkeys_idx], 1, LONG_MAX, "ERR numkeys should be greater than 0")
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise CommandError(errors.SYNTAX)
    w = argv[where_idx].lower()
    if w == b"min":
        where = MIN
    elif w == b"max":
        where = MAX
    else:
        raise CommandError(errors.SYNTAX)
    count = -1
    j = where_idx + 1
    n = len(argv)
    while j < n:
        if count == -1 and argv[j].lower() == b"count" and j + 1 < n:
            j += 1
            count = _ranged_long(argv[j], 1, LONG_MAX, "ERR count should be greater than 0")
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return argv[numkeys_idx + 1 : where_idx], where, 1 if count == -1 else count


def _mpop_reply(c, key: bytes, z, where: int, count: int) -> bytes:
    n = Z.card(z)
    popped = _pop(c, key, z, where, count)
    c.propagate_as([_POP_NAMES[where], key, b"%d" % min(count, n)])
    return b"*2\r\n$%d\r\n%b\r\n*%d\r\n" % (len(key), key, len(popped)) + _popped_reply(popped, True, c.proto)


@command("zmpop")
def cmd_zmpop(c, argv):
    keys, where, count = _mpop_args(argv, 1)
    key, z = _first_nonempty(c, keys)
    if z is None:
        return _NULL_ARRAYS[c.proto]
    return _mpop_reply(c, key, z, where, count)


@command("bzmpop")
def cmd_bzmpop(c, argv):
    keys, where, count = _mpop_args(argv, 2)
    timeout = parse_timeout(argv[1])
    key, z = _first_nonempty(c, keys)
    if z is not None:
        return _mpop_reply(c, key, z, where, count)
    return _block(c, keys, timeout, argv)


def _block(c, keys, timeout: float, argv) -> bytes:
    nil = _NULL_ARRAYS[c.proto]
    if getattr(c, "in_multi", False):
        return nil
    return c.engine.blocking.block(c, keys, timeout, argv, nil)


def _bzpop(c, argv, where: int) -> bytes:
    timeout = parse_timeout(argv[-1])
    keys = argv[1:-1]
    key, z = _first_nonempty(c, keys)
    if z is None:
        return _block(c, keys, timeout, argv)
    (s, m) = _pop(c, key, z, where, 1)[0]
    c.propagate_as([_POP_NAMES[where], key])
    return b"*3\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(key), key, len(m), m) + _score(s, c.proto)


@command("bzpopmin")
def cmd_bzpopmin(c, argv):
    return _bzpop(c, argv, MIN)


@command("bzpopmax")
def cmd_bzpopmax(c, argv):
    return _bzpop(c, argv, MAX)


# ---------------------------------------------------------------------------
# ZRANDMEMBER

# Redis picks a strategy by how the count compares with the set's size.
_SUB_STRATEGY_MUL = 3


@command("zrandmember")
def cmd_zrandmember(c, argv):
    proto = c.proto
    if len(argv) < 3:
        z = get_zset(c.db, argv[1], read=True)
        if z is None:
            return _NULLS[proto]
        s, m = _random_pair(z)
        return bulk(m)
    count = get_int(argv[2])
    if count < -LONG_MAX:
        raise CommandError(errors.RAND_COUNT_RANGE)
    withscores = False
    if len(argv) > 4 or (len(argv) == 4 and argv[3].lower() != b"withscores"):
        raise CommandError(errors.SYNTAX)
    if len(argv) == 4:
        withscores = True
        if count < -(LONG_MAX // 2) or count > LONG_MAX // 2:  # C: -LONG_MAX/2 truncates toward 0
            raise CommandError("ERR value is out of range")
    z = get_zset(c.db, argv[1], read=True)
    if z is None or count == 0:
        return EMPTY_ARRAY
    size = Z.card(z)
    if count < 0 or count == 1:
        if count < 0 and c.engine.obuf_limits.reply_too_big(c, -count * (2 if withscores else 1)):
            return b""
        picks = [_random_pair(z) for _ in range(-count if count < 0 else 1)]
    elif count >= size:
        picks = list(Z.iter_desc(z))
    else:
        picks = _random_distinct(z, count, size)
    return _pairs_reply(picks, withscores, proto)


def _random_pair(z) -> tuple[float, bytes]:
    if type(z) is ZsetSkiplist:
        sl = z.sl
        return sl.at(random.randrange(len(sl)))
    ms, ss = z.lists()
    i = random.randrange(len(ms))
    return ss[i], ms[i]


def _random_distinct(z, count: int, size: int) -> list[tuple[float, bytes]]:
    if count * _SUB_STRATEGY_MUL > size:
        picks = Z.all_pairs(z)
        random.shuffle(picks)
        return picks[:count]
    positions = random.sample(range(size), count)
    if type(z) is ZsetListpack:
        # A listpack yields a unique sample in its own order.
        ms, ss = z.lists()
        return [(ss[i], ms[i]) for i in sorted(positions)]
    sl = z.sl
    return [sl.at(i) for i in positions]


# ---------------------------------------------------------------------------
# ZUNION / ZINTER / ZDIFF (+STORE), ZINTERCARD

UNION, INTER, DIFF = 0, 1, 2
SUM, AGG_MIN, AGG_MAX = 0, 1, 2
_STORE_EVENTS = ("zunionstore", "zinterstore", "zdiffstore")


class _Source:
    """One input of a set operation: a sorted set, a plain set (every score 1), or nothing.
    `items` yields (member, score); `get` gives a member's score or None."""

    __slots__ = ("value", "weight", "n", "items", "get")

    def __init__(self, value) -> None:
        self.value = value
        self.weight = 1.0
        if value is None:
            scores: dict[bytes, float] = {}
        elif is_zset(value):
            scores = Z.as_mapping(value)
        else:
            members = value.members()
            self.n = len(members)
            self.items = lambda: ((m, 1.0) for m in members)
            contains = value.contains
            self.get = lambda m: 1.0 if contains(m) else None
            return
        self.n = len(scores)
        self.items = scores.items
        self.get = scores.get


def _aggregate(target: float, val: float, agg: int) -> float:
    if agg == SUM:
        target = target + val
        return 0.0 if target != target else target
    if agg == AGG_MIN:
        return val if val < target else target
    return val if val > target else target


def _setop(c, argv, dst: bytes | None, numkeys_idx: int, op: int, card_only: bool = False) -> bytes:
    fullname = argv[0].decode("utf-8", "surrogateescape").lower()
    setnum = get_int(argv[numkeys_idx])
    if setnum < 1:
        raise CommandError("ERR at least 1 input key is needed for '%s' command" % fullname)
    n = len(argv)
    if setnum > n - (numkeys_idx + 1):
        raise CommandError(errors.SYNTAX)
    db = c.db
    values = []
    for key in argv[numkeys_idx + 1 : numkeys_idx + 1 + setnum]:
        v = db.read(key)  # sources are read lookups, also for the *STORE forms
        if v is not None and not is_zset(v) and getattr(v, "redis_type", None) != "set":
            raise CommandError(errors.WRONGTYPE)
        values.append(v)
    weights = [1.0] * setnum
    agg = SUM
    withscores = False
    limit = 0
    j = numkeys_idx + 1 + setnum
    while j < n:
        remaining = n - j
        opt = argv[j].lower()
        if op != DIFF and not card_only and remaining >= setnum + 1 and opt == b"weights":
            j += 1
            for i in range(setnum):
                weights[i] = _float_arg(argv[j], "ERR weight value is not a float")
                j += 1
        elif op != DIFF and not card_only and remaining >= 2 and opt == b"aggregate":
            a = argv[j + 1].lower()
            if a == b"sum":
                agg = SUM
            elif a == b"min":
                agg = AGG_MIN
            elif a == b"max":
                agg = AGG_MAX
            else:
                raise CommandError(errors.SYNTAX)
            j += 2
        elif remaining >= 1 and dst is None and not card_only and opt == b"withscores":
            withscores = True
            j += 1
        elif card_only and remaining >= 2 and opt == b"limit":
            limit = _ranged_long(argv[j + 1], 0, LONG_MAX, "ERR LIMIT can't be negative")
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    srcs = []
    for v, w in zip(values, weights, strict=False):
        src = _Source(v)
        src.weight = w
        srcs.append(src)
    if op != DIFF:
        srcs.sort(key=lambda s: s.n)  # stable, like glibc's qsort here
    if op == INTER:
        result = _inter(srcs, agg, limit if card_only else -1)
        if card_only:
            return integer(result)
    elif op == UNION:
        result = _union(srcs, agg)
    else:
        result = _diff(srcs)
    pairs = sorted([(s, m) for m, s in result.items()])
    if dst is None:
        return _pairs_reply(pairs, withscores, c.proto)
    e = c.engine
    if not pairs:
        if db.delete(dst):
            e.written(db, dst, "del", GENERIC_EVENT)
        return ZERO
    entries, value = _limits(c)
    db.set(dst, Z.build(pairs, entries, value))
    e.written(db, dst, _STORE_EVENTS[op], ZSET_EVENT)  # also wakes waiters
    return integer(len(pairs))


def _inter(srcs, agg: int, limit: int):
    first = srcs[0]
    out = {} if limit < 0 else 0
    if not first.n:
        return out
    rest = srcs[1:]
    w0 = first.weight
    for m, s0 in first.items():
        score = w0 * s0
        if score != score:
            score = 0.0
        for src in rest:
            if src.value is first.value:
                val = s0 * src.weight
            else:
                v = src.get(m)
                if v is None:
                    break
                val = v * src.weight
            score = _aggregate(score, val, agg)
        else:
            if limit < 0:
                out[m] = score
            else:
                out += 1
                if limit and out >= limit:
                    break
    return out


def _union(srcs, agg: int):
    acc: dict[bytes, float] = {}
    get = acc.get
    for src in srcs:
        w = src.weight
        for m, s in src.items():
            score = w * s
            if score != score:
                score = 0.0
            cur = get(m)
            acc[m] = score if cur is None else _aggregate(cur, score, agg)
    return acc


def _diff(srcs):
    first = srcs[0]
    if not first.n:
        return {}
    for src in srcs[1:]:
        if src.value is first.value:
            return {}
    others = [s.get for s in srcs[1:] if s.n]
    return {m: s for m, s in first.items() if all(get(m) is None for get in others)}


@command("zunion")
def cmd_zunion(c, argv):
    return _setop(c, argv, None, 1, UNION)


@command("zinter")
def cmd_zinter(c, argv):
    return _setop(c, argv, None, 1, INTER)


@command("zdiff")
def cmd_zdiff(c, argv):
    return _setop(c, argv, None, 1, DIFF)


@command("zintercard")
def cmd_zintercard(c, argv):
    return _setop(c, argv, None, 1, INTER, card_only=True)


@command("zunionstore")
def cmd_zunionstore(c, argv):
    return _setop(c, argv, argv[1], 2, UNION)


@command("zinterstore")
def cmd_zinterstore(c, argv):
    return _setop(c, argv, argv[1], 2, INTER)


@command("zdiffstore")
def cmd_zdiffstore(c, argv):
    return _setop(c, argv, argv[1], 2, DIFF)


# ---------------------------------------------------------------------------
# ZSCAN


@command("zscan")
def cmd_zscan(c, argv):
    cursor = parse_cursor(argv[2])
    z = get_zset(c.db, argv[1], read=True)
    if z is None:
        return EMPTY_SCAN
    count, pattern, _ = parse_scan_options(argv, 3, False)
    match = compile_glob(pattern) if pattern is not None else None
    out = []
    if type(z) is ZsetListpack:
        # A listpack is returned whole, with its scores as it stores them.
        ms, ss = z.lists()
        for m, s in zip(ms, ss, strict=False):
            if match is None or match(m) is not None:
                t = Z.format_listpack_score(s)
                out.append(b"$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(m), m, len(t), t))
        cursor = 0
    else:
        members: list[bytes] = []
        cursor = z.scan_index().scan(cursor, count, members)
        d = z.dict
        for m in members:
            if match is None or match(m) is not None:
                t = b"%.17g" % d[m]
                out.append(b"$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(m), m, len(t), t))
    return b"*2\r\n" + bulk(b"%d" % cursor) + b"*%d\r\n" % (2 * len(out)) + b"".join(out)
