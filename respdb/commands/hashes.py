"""Hash commands (Redis's `hash` group). Value types are in respdb/types/hashes.py."""

from __future__ import annotations

import random
from marshal import loads

from respdb import errors, notify
from respdb.commands.args import LLONG_MAX, LLONG_MIN, get_int, parse_ll
from respdb.commands.keys import parse_cursor, parse_scan_options
from respdb.commands.table import command
from respdb.config import parse_memory
from respdb.errors import CommandError
from respdb.glob import compile_glob
from respdb.resp import EMPTY_ARRAY, OK, ONE, ZERO, bulk, integer, null
from respdb.types.hashes import HashHT, HashLP, lp_delete, lp_set, pack, to_hashtable
from respdb.types.strings import LongDoubleError, format_ld_human, parse_ld, round_ld

NOTIFY_HASH = notify.HASH
NOTIFY_GENERIC = notify.GENERIC
EMPTY_SCAN = b"*2\r\n$1\r\n0\r\n*0\r\n"

_cfg_cache: dict[str, int] = {}


def cfg_int(c, name: str) -> int:
    """A numeric config value; the parse is cached on the raw text (CONFIG SET changes it)."""
    raw = c.engine.config.values[name]
    v = _cfg_cache.get(raw)
    if v is None:
        mem = parse_memory(raw)
        v = mem if mem is not None else int(raw)
        if len(_cfg_cache) > 256:
            _cfg_cache.clear()
        _cfg_cache[raw] = v
    return v


def bulks(items) -> bytes:
    return b"".join([b"$%d\r\n%b\r\n" % (len(x), x) for x in items])


def get_hash(db, key: bytes, read: bool = False):
    """The hash at key, None if missing; WRONGTYPE for other types. `read`: a read lookup
    (counted in keyspace_hits/misses, `keymiss` event); else a write one."""
    v = db.read(key) if read else db.get(key)
    if v is None:
        return None
    t = type(v)
    if t is HashHT or t is HashLP:
        return v
    raise CommandError(errors.WRONGTYPE)


def set_fields(c, db, key: bytes, h, pairs: list[bytes]) -> int:
    """HSET's core: apply field/value pairs (flat list) to the hash `h` (None: create it).
    Returns how many fields were new. Follows Redis's listpack limits: a field or value longer
    than hash-max-listpack-value converts first, more than hash-max-listpack-entries fields
    converts as soon as the count is passed."""
    if type(h) is HashHT:
        if len(pairs) == 2:
            return h.set_new(pairs[0], pairs[1])
        added = 0
        for i in range(0, len(pairs), 2):
            added += h.set_new(pairs[i], pairs[i + 1])
        return added
    maxval = cfg_int(c, "hash-max-listpack-value")
    for x in pairs:
        if len(x) > maxval:
            ht = to_hashtable(h) if h is not None else HashHT()
            db.set(key, ht, keepttl=True)
            return set_fields(c, db, key, ht, pairs)
    maxent = cfg_int(c, "hash-max-listpack-entries")
    flat, added, used = lp_set(h, pairs, maxent)
    if len(flat) > 2 * maxent:
        ht = HashHT(zip(flat[0::2], flat[1::2], strict=True))
        db.set(key, ht, keepttl=True)
        return added + set_fields(c, db, key, ht, pairs[used:])
    db.set(key, pack(flat), keepttl=True)
    return added


# ---------------------------------------------------------------------------
# Writes


@command("hset")
def cmd_hset(c, argv):
    n = len(argv)
    if n % 2:
        raise CommandError(errors.wrong_args("hset"))
    db = c.db
    key = argv[1]
    h = db.get(key)
    if type(h) is HashHT and n == 4:
        # The common case on a big hash, inlined.
        f = argv[2]
        size = len(h)
        h[f] = argv[3]  # one lookup: whether the field is new shows in the size
        if len(h) == size:
            reply = ZERO
        else:
            reply = ONE
            if h.index is not None:
                h.index.add(f)
    else:
        if h is not None and type(h) is not HashLP and type(h) is not HashHT:
            raise CommandError(errors.WRONGTYPE)
        reply = integer(set_fields(c, db, key, h, argv[2:]))
    e = c.engine
    if not e.quiet:
        e.written(db, key, "hset", NOTIFY_HASH)
    else:
        e.dirty += 1  # all Engine.written does when nothing listens (see lists._push_handler)
    if n > 4:
        e.dirty += (n - 2) // 2 - 1  # Redis counts every pair as a change
    return reply


@command("hmset")
def cmd_hmset(c, argv):
    if len(argv) % 2:
        raise CommandError(errors.wrong_args("hmset"))
    db = c.db
    key = argv[1]
    set_fields(c, db, key, get_hash(db, key), argv[2:])
    e = c.engine
    e.written(db, key, "hset", NOTIFY_HASH)
    e.dirty += (len(argv) - 2) // 2 - 1
    return OK


@command("hsetnx")
def cmd_hsetnx(c, argv):
    db = c.db
    key = argv[1]
    h = get_hash(db, key)
    if h is not None and h.get(argv[2]) is not None:
        return ZERO
    set_fields(c, db, key, h, argv[2:4])
    c.engine.written(db, key, "hset", NOTIFY_HASH)
    return ONE


@command("hdel")
def cmd_hdel(c, argv):
    db = c.db
    key = argv[1]
    h = get_hash(db, key)
    if h is None:
        return ZERO
    fields = argv[2:]
    if type(h) is HashHT:
        deleted = 0
        for f in fields:
            deleted += h.delete(f)
        left = len(h)
    else:
        flat, deleted = lp_delete(h, fields)
        left = len(flat)
        if deleted and left:
            db.set(key, pack(flat), keepttl=True)
    if deleted:
        e = c.engine
        if not left:
            db.delete(key)
        e.written(db, key, "hdel", NOTIFY_HASH)
        e.dirty += deleted - 1
        if not left:
            e.notify(NOTIFY_GENERIC, "del", key, db.id)
    return integer(deleted)


@command("hincrby")
def cmd_hincrby(c, argv):
    incr = get_int(argv[3])
    db = c.db
    key = argv[1]
    field = argv[2]
    h = get_hash(db, key)
    cur = h.get(field) if h is not None else None
    if cur is None:
        value = 0
    else:
        value = parse_ll(cur)
        if value is None:
            raise CommandError("ERR hash value is not an integer")
    value += incr
    if value > LLONG_MAX or value < LLONG_MIN:
        raise CommandError(errors.OVERFLOW)
    set_fields(c, db, key, h, [field, b"%d" % value])
    c.engine.written(db, key, "hincrby", NOTIFY_HASH)
    return integer(value)


@command("hincrbyfloat")
def cmd_hincrbyfloat(c, argv):
    try:
        incr = parse_ld(argv[3])
    except LongDoubleError:
        raise CommandError(errors.NOT_FLOAT) from None
    if isinstance(incr, float):
        raise CommandError("ERR value is NaN or Infinity")
    db = c.db
    key = argv[1]
    field = argv[2]
    h = get_hash(db, key)
    cur = h.get(field) if h is not None else None
    if cur is None:
        value = 0
    else:
        try:
            value = parse_ld(bytes(cur))
        except LongDoubleError:
            raise CommandError("ERR hash value is not a float") from None
        if isinstance(value, float):
            raise CommandError(errors.NAN_OR_INF)
    try:
        new = format_ld_human(round_ld(value + incr))
    except OverflowError:
        raise CommandError(errors.NAN_OR_INF) from None
    set_fields(c, db, key, h, [field, new])
    c.engine.written(db, key, "hincrbyfloat", NOTIFY_HASH)
    c.propagate_as([b"HSET", key, field, new])
    return bulk(new)


# ---------------------------------------------------------------------------
# Reads


@command("hget")
def cmd_hget(c, argv):
    h = get_hash(c.db, argv[1], read=True)
    v = h.get(argv[2]) if h is not None else None
    if v is None:
        return null(c.proto)
    return bulk(v)


@command("hmget")
def cmd_hmget(c, argv):
    h = get_hash(c.db, argv[1], read=True)
    nul = null(c.proto)
    fields = argv[2:]
    out = [b"*%d\r\n" % len(fields)]
    if h is None:
        out.append(nul * len(fields))
    else:
        if type(h) is HashLP:
            t = loads(h)
            h = dict(zip(t[0::2], t[1::2], strict=True))
        for f in fields:
            v = h.get(f)
            out.append(nul if v is None else b"$%d\r\n%b\r\n" % (len(v), v))
    return b"".join(out)


@command("hlen")
def cmd_hlen(c, argv):
    h = get_hash(c.db, argv[1], read=True)
    return ZERO if h is None else integer(len(h))


@command("hstrlen")
def cmd_hstrlen(c, argv):
    h = get_hash(c.db, argv[1], read=True)
    v = h.get(argv[2]) if h is not None else None
    return ZERO if v is None else integer(len(v))


@command("hexists")
def cmd_hexists(c, argv):
    h = get_hash(c.db, argv[1], read=True)
    return ONE if h is not None and h.get(argv[2]) is not None else ZERO


@command("hkeys")
def cmd_hkeys(c, argv):
    h = get_hash(c.db, argv[1], read=True)
    if h is None:
        return EMPTY_ARRAY
    keys = loads(h)[0::2] if type(h) is HashLP else h
    return b"*%d\r\n" % len(keys) + bulks(keys)


@command("hvals")
def cmd_hvals(c, argv):
    h = get_hash(c.db, argv[1], read=True)
    if h is None:
        return EMPTY_ARRAY
    vals = loads(h)[1::2] if type(h) is HashLP else h.values()
    return b"*%d\r\n" % len(vals) + bulks(vals)


@command("hgetall")
def cmd_hgetall(c, argv):
    h = get_hash(c.db, argv[1], read=True)
    if h is None:
        return b"%0\r\n" if c.proto == 3 else EMPTY_ARRAY
    flat = loads(h) if type(h) is HashLP else h.flat()
    n = len(flat)
    head = b"%%%d\r\n" % (n // 2) if c.proto == 3 else b"*%d\r\n" % n
    return head + bulks(flat)


# ---------------------------------------------------------------------------
# HRANDFIELD


def _pairs_reply(c, pairs: list[tuple[bytes, bytes]], withvalues: bool) -> bytes:
    """count pairs as HRANDFIELD replies them: flat in RESP2, nested [f, v] in RESP3."""
    if not withvalues:
        return b"*%d\r\n" % len(pairs) + bulks([f for f, _ in pairs])
    if c.proto == 3:
        return b"*%d\r\n" % len(pairs) + b"".join(
            [b"*2\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(f), f, len(v), v) for f, v in pairs]
        )
    flat = []
    for kv in pairs:
        flat += kv
    return b"*%d\r\n" % len(flat) + bulks(flat)


@command("hrandfield")
def cmd_hrandfield(c, argv):
    n = len(argv)
    db = c.db
    if n < 3:
        h = get_hash(db, argv[1], read=True)
        if h is None:
            return null(c.proto)
        if type(h) is HashLP:
            t = loads(h)
            f = t[2 * random.randrange(len(t) // 2)]
        else:
            f = h.random_field()
        return bulk(f)
    count = get_int(argv[2])
    if count < -LLONG_MAX:
        raise CommandError(errors.RAND_COUNT_RANGE)
    withvalues = False
    if n > 4 or (n == 4 and argv[3].lower() != b"withvalues"):
        raise CommandError(errors.SYNTAX)
    if n == 4:
        withvalues = True
        if count < -(LLONG_MAX // 2) or count > LLONG_MAX // 2:
            raise CommandError("ERR value is out of range")
    h = get_hash(db, argv[1], read=True)
    if h is None or count == 0:
        return EMPTY_ARRAY
    size = len(h)
    if count < 0 or count == 1:
        # With repetitions, in random order.
        count = -count if count < 0 else count
        if c.engine.obuf_limits.reply_too_big(c, count * (2 if withvalues else 1)):
            return b""
        if type(h) is HashLP:
            t = loads(h)
            nf = len(t) // 2
            rnd = random.randrange
            picks = []
            for _ in range(count):
                i = rnd(nf) * 2
                picks.append((t[i], t[i + 1]))
        else:
            picks = []
            for _ in range(count):
                f = h.random_field()
                picks.append((f, h[f]))
        return _pairs_reply(c, picks, withvalues)
    if type(h) is HashLP:
        t = loads(h)
        pairs = list(zip(t[0::2], t[1::2], strict=True))
        if count < size:
            # Distinct fields, kept in listpack order (as Redis's lpRandomPairsUnique does).
            chosen = sorted(random.sample(range(size), count))
            pairs = [pairs[i] for i in chosen]
        return _pairs_reply(c, pairs, withvalues)
    if count >= size:
        return _pairs_reply(c, list(h.items()), withvalues)
    if count * 3 > size:
        fields = random.sample(list(h), count)
    else:
        chosen: dict[bytes, None] = {}
        while len(chosen) < count:
            chosen[h.random_field()] = None
        fields = list(chosen)
    return _pairs_reply(c, [(f, h[f]) for f in fields], withvalues)


# ---------------------------------------------------------------------------
# HSCAN


@command("hscan")
def cmd_hscan(c, argv):
    cursor = parse_cursor(argv[2])
    h = get_hash(c.db, argv[1], read=True)
    if h is None:
        return EMPTY_SCAN
    count, pattern, _ = parse_scan_options(argv, 3, False)
    match = compile_glob(pattern) if pattern is not None else None
    if type(h) is HashLP:
        flat = loads(h)
        cursor = 0
        if match is not None:
            out = []
            for i in range(0, len(flat), 2):
                if match(flat[i]) is not None:
                    out += flat[i : i + 2]
            flat = out
    else:
        fields: list[bytes] = []
        cursor = h.key_index().scan(cursor, count, fields)
        flat = []
        for f in fields:
            if match is None or match(f) is not None:
                flat += (f, h[f])
    return b"*2\r\n" + bulk(b"%d" % cursor) + b"*%d\r\n" % len(flat) + bulks(flat)


__all__ = ["get_hash", "set_fields", "cfg_int", "bulks"]
