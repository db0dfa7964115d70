"""String commands (Redis's `string` group)."""

from __future__ import annotations

import time

from respdb import errors, notify
from respdb.commands.args import LLONG_MAX, LLONG_MIN, get_int, parse_ll
from respdb.commands.table import command, run_of
from respdb.errors import CommandError
from respdb.keyspace import Database
from respdb.resp import BULK_HEADERS, EMPTY_BULK, NULL2, NULL3, OK, SMALL_INTS, ZERO, bulk, integer, map_, null
from respdb.types.strings import (
    LongDoubleError,
    PlainBytes,
    format_ld_human,
    lcs_length,
    lcs_walk,
    parse_ld,
    round_ld,
)

# Exact classes: collection types may subclass bytes for their compact forms.
STRING_TYPES = frozenset((bytes, bytearray, PlainBytes))
_NULLS = (NULL2, NULL2, NULL2, NULL3)
NOTIFY_STRING = notify.STRING
NOTIFY_GENERIC = notify.GENERIC


def get_string(db, key: bytes, read: bool = False):
    """The string at key, None if missing; WRONGTYPE for other types. `read`: a read lookup
    (Redis's lookupKeyRead: counted in keyspace_hits/misses, `keymiss` event), else a write one."""
    v = db.read(key) if read else db.get(key)
    if v is None or type(v) is bytes:
        return v
    if type(v) in STRING_TYPES:
        return v
    raise CommandError(errors.WRONGTYPE)


def keyword(arg: bytes) -> bytes:
    """An option name as Redis compares it (strcasecmp on a C string): upper-cased, and
    cut at the first NUL byte, so "NX\\0junk" is NX."""
    if b"\0" in arg:
        arg = arg.split(b"\0", 1)[0]
    return arg.upper()


def _write_lookup(db, key: bytes) -> None:
    """Redis looks a key up (an access, for LFU) before most writes that replace it, while
    respdb's write paths do not read it; under LFU the access is counted here."""
    if Database.lfu and key in db.data:
        db.touch(key)


def _check_len(c, total: int) -> None:
    if total > c.engine.config.get_int("proto-max-bulk-len"):
        raise CommandError(errors.STRING_TOO_LONG)


def _now_ms() -> int:
    return int(time.time() * 1000)


# ---------------------------------------------------------------------------
# GET / SET family


@command("get")
def cmd_get(c, argv):
    db = c.db
    key = argv[1]
    if db.expires:
        v = db.get(key)
    else:
        v = db.data.get(key)
        if v is not None:
            # the access time (OBJECT IDLETIME/FREQ), as Database.touch()
            if Database.lfu:
                db.touch(key)
            else:
                db.atime[hash(key) & db.amask] = Database.clock
    if v is None:
        db.stats["keyspace_misses"] += 1
        if db.on_miss is not None:
            db.on_miss(db, key)
        return _NULLS[c.proto]
    db.stats["keyspace_hits"] += 1
    if type(v) is bytes or type(v) is bytearray or type(v) is PlainBytes:
        n = len(v)
        if n < 1024:
            return BULK_HEADERS[n] + v + b"\r\n"
        return b"$%d\r\n%b\r\n" % (n, v)
    raise CommandError(errors.WRONGTYPE)


@run_of("get")
def run_get(c, cmds, i, end, out):
    """A pipelined run of GETs (see run_of): cmd_get's path for a database without expiries
    or LFU, in one loop. Stops at a value that is not plain bytes or is 1 KB or longer."""
    db = c.db
    if db.expires or Database.lfu or db.on_miss is not None:
        return i
    get = db.data.get
    atime = db.atime
    mask = db.amask
    clock = Database.clock
    append = out.append
    null = _NULLS[c.proto]
    name = cmds[i][0]
    j = i
    hits = 0
    for argv in cmds[i:end]:
        if len(argv) != 2 or argv[0] != name:
            break
        key = argv[1]
        v = get(key)
        if v is None:
            append(null)
        elif type(v) is bytes and len(v) < 1024:
            atime[hash(key) & mask] = clock
            # in three parts, joined with the rest of the batch's output (no copy here)
            append(BULK_HEADERS[len(v)])
            append(v)
            append(b"\r\n")
            hits += 1
        else:
            break
        j += 1
    stats = db.stats
    stats["keyspace_hits"] += hits
    stats["keyspace_misses"] += j - i - hits
    return j


NX, XX, GET, KEEPTTL, PERSIST, EX, PX, EXAT, PXAT = (1 << i for i in range(9))


def parse_set_options(argv: list[bytes], start: int, for_get: bool) -> tuple[int, bytes | None]:
    """Redis's parseExtendedStringArgumentsOrReply for SET (for_get=False) and GETEX."""
    flags = 0
    expire = None
    n = len(argv)
    j = start
    expiry_flags = EX | PX | EXAT | PXAT
    while j < n:
        opt = keyword(argv[j])
        nxt = argv[j + 1] if j + 1 < n else None
        if opt == b"NX" and not flags & XX and not for_get:
            flags |= NX
        elif opt == b"XX" and not flags & NX and not for_get:
            flags |= XX
        elif opt == b"GET" and not for_get:
            flags |= GET
        elif opt == b"KEEPTTL" and not flags & (PERSIST | expiry_flags) and not for_get:
            flags |= KEEPTTL
        elif opt == b"PERSIST" and for_get and not flags & (expiry_flags | KEEPTTL):
            flags |= PERSIST
        elif opt == b"EX" and not flags & (KEEPTTL | PERSIST | EXAT | PX | PXAT) and nxt is not None:
            flags |= EX
            expire = nxt
            j += 1
        elif opt == b"PX" and not flags & (KEEPTTL | PERSIST | EX | EXAT | PXAT) and nxt is not None:
            flags |= PX
            expire = nxt
            j += 1
        elif opt == b"EXAT" and not flags & (KEEPTTL | PERSIST | EX | PX | PXAT) and nxt is not None:
            flags |= EXAT
            expire = nxt
            j += 1
        elif opt == b"PXAT" and not flags & (KEEPTTL | PERSIST | EX | EXAT | PX) and nxt is not None:
            flags |= PXAT
            expire = nxt
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return flags, expire


def expire_ms(c, expire: bytes, flags: int, cmdname: str) -> int:
    """getExpireMillisecondsOrReply: the absolute expiry time in ms."""
    ms = get_int(expire)
    seconds = flags & (EX | EXAT)
    if ms <= 0 or (seconds and ms > LLONG_MAX // 1000):
        raise CommandError(errors.INVALID_EXPIRE % cmdname)
    if seconds:
        ms *= 1000
    if flags & (EX | PX):
        ms += _now_ms()
    if ms <= 0 or ms > LLONG_MAX:
        raise CommandError(errors.INVALID_EXPIRE % cmdname)
    return ms


def set_generic(c, key: bytes, value: bytes, flags: int, expire: bytes | None, cmdname: str) -> bytes:
    db = c.db
    e = c.engine
    when = expire_ms(c, expire, flags, cmdname) if expire is not None else None
    reply = OK
    if flags & GET:
        old = get_string(db, key, read=True)
        reply = null(c.proto) if old is None else bulk(old)
    elif db.expires:
        db.expire_if_needed(key)
    _write_lookup(db, key)  # after GET's read too: Redis looks the key up twice then
    if flags & (NX | XX):
        found = key in db.data
        if (flags & NX and found) or (flags & XX and not found):
            return reply if flags & GET else null(c.proto)
    db.set(key, value, keepttl=bool(flags & KEEPTTL))
    e.written(db, key, "set", NOTIFY_STRING)
    if when is not None:
        db.set_expire(key, when)
        # always this form, PXAT given or not (Redis 7.0's setGenericCommand)
        c.propagate_as([b"SET", key, value, b"PXAT", b"%d" % when])
        e.notify(NOTIFY_GENERIC, "expire", key, db.id)
    elif flags & GET:
        c.propagate_as([a for a in _without_get(c, key, value, flags)])
    return reply


def _without_get(c, key, value, flags):
    out = [b"SET", key, value]
    if flags & NX:
        out.append(b"NX")
    if flags & XX:
        out.append(b"XX")
    if flags & KEEPTTL:
        out.append(b"KEEPTTL")
    return out


@command("set")
def cmd_set(c, argv):
    if len(argv) == 3:
        # The common case, kept short: no options.
        db = c.db
        key = argv[1]
        if not db.expires and db.index is None and not Database.lfu:  # db.plain(), inlined
            # Database.set() and Engine.written() inlined for a plain database (the cron
            # grows the access table for the keys added here).
            e = c.engine
            if not e.quiet:
                db.set(key, argv[2])  # with its `new` event
                e.written(db, key, "set", NOTIFY_STRING)
                return OK
            db.data[key] = argv[2]
            db.atime[hash(key) & db.amask] = Database.clock
            e.dirty += 1
            return OK
        if db.expires:
            db.expire_if_needed(key)
        if Database.lfu:
            _write_lookup(db, key)
        db.set(key, argv[2])
        c.engine.written(db, key, "set", NOTIFY_STRING)
        return OK
    flags, expire = parse_set_options(argv, 3, False)
    return set_generic(c, argv[1], argv[2], flags, expire, "set")


@run_of("set")
def run_set(c, cmds, i, end, out):
    """A pipelined run of SETs without options (see run_of): cmd_set's path for a plain
    database while nothing listens to writes, in one loop."""
    db = c.db
    e = c.engine
    if not db.plain() or not e.quiet:
        return i
    data = db.data
    atime = db.atime
    mask = db.amask
    clock = Database.clock
    append = out.append
    name = cmds[i][0]
    j = i
    for argv in cmds[i:end]:
        if len(argv) != 3 or argv[0] != name:
            break
        key = argv[1]
        data[key] = argv[2]
        atime[hash(key) & mask] = clock
        append(OK)
        j += 1
    e.dirty += j - i
    return j


@command("setnx")
def cmd_setnx(c, argv):
    db = c.db
    if db.contains(argv[1]):
        _write_lookup(db, argv[1])
        return ZERO
    db.set(argv[1], argv[2])
    c.engine.written(db, argv[1], "set", NOTIFY_STRING)
    return b":1\r\n"


@command("setex")
def cmd_setex(c, argv):
    return set_generic(c, argv[1], argv[3], EX, argv[2], "setex")


@command("psetex")
def cmd_psetex(c, argv):
    return set_generic(c, argv[1], argv[3], PX, argv[2], "psetex")


@command("getset")
def cmd_getset(c, argv):
    db = c.db
    old = get_string(db, argv[1], read=True)
    _write_lookup(db, argv[1])  # a read, then setKey's own lookup: two accesses in Redis
    db.set(argv[1], argv[2])
    c.engine.written(db, argv[1], "set", NOTIFY_STRING)
    c.propagate_as([b"SET", argv[1], argv[2]])
    return null(c.proto) if old is None else bulk(old)


@command("getdel")
def cmd_getdel(c, argv):
    db = c.db
    old = get_string(db, argv[1], read=True)
    if old is None:
        return null(c.proto)
    db.delete(argv[1])
    c.engine.written(db, argv[1], "del", NOTIFY_GENERIC)
    c.propagate_as([b"DEL", argv[1]])
    return bulk(old)


@command("getex")
def cmd_getex(c, argv):
    flags, expire = parse_set_options(argv, 2, True)
    db = c.db
    key = argv[1]
    v = get_string(db, key, read=True)
    if v is None:
        return null(c.proto)
    when = expire_ms(c, expire, flags, "getex") if expire is not None else None
    reply = bulk(v)
    e = c.engine
    if flags & (PXAT | EXAT) and when is not None and e.already_expired(when, _now_ms()):
        db.delete(key)
        lazy = e.config["lazyfree-lazy-expire"] == "yes"
        c.propagate_as([b"UNLINK" if lazy else b"DEL", key])
        e.written(db, key, "del", NOTIFY_GENERIC)
    elif when is not None:
        db.set_expire(key, when)
        c.propagate_as([b"PEXPIREAT", key, b"%d" % when])
        e.written(db, key, "expire", NOTIFY_GENERIC)
    elif flags & PERSIST:
        if db.persist(key):
            c.propagate_as([b"PERSIST", key])
            e.written(db, key, "persist", NOTIFY_GENERIC)
    return reply


@command("mget")
def cmd_mget(c, argv):
    db = c.db
    parts = [b"*%d\r\n" % (len(argv) - 1)]
    nul = null(c.proto)
    for key in argv[1:]:
        v = db.read(key)
        if v is None or type(v) not in STRING_TYPES:
            parts.append(nul)
        else:
            parts.append(b"$%d\r\n%b\r\n" % (len(v), v))
    return b"".join(parts)


@command("mset")
def cmd_mset(c, argv):
    if len(argv) % 2 == 0:
        raise CommandError(errors.wrong_args("mset"))
    db = c.db
    e = c.engine
    if not db.expires and db.index is None and not Database.lfu and e.quiet:  # db.plain(), inlined
        # A plain database and nothing listening: Database.set inlined. (One loop for both
        # tables: the access table's cache misses then overlap the dict's; a dict.update()
        # followed by a loop over the access table was a fifth slower with 1M keys.)
        data = db.data
        atime = db.atime
        mask = db.amask
        clock = Database.clock
        for i in range(1, len(argv), 2):
            key = argv[i]
            data[key] = argv[i + 1]
            atime[hash(key) & mask] = clock
        if 2 * len(data) > mask + 1:
            db.grow_atime()
        e.dirty += len(argv) // 2
        return OK
    for i in range(1, len(argv), 2):
        key = argv[i]
        if db.expires:
            db.expire_if_needed(key)
        _write_lookup(db, key)
        db.set(key, argv[i + 1])
        e.written(db, key, "set", NOTIFY_STRING)
    return OK


@command("msetnx")
def cmd_msetnx(c, argv):
    if len(argv) % 2 == 0:
        raise CommandError(errors.wrong_args("msetnx"))
    db = c.db
    for i in range(1, len(argv), 2):
        if db.contains(argv[i]):
            _write_lookup(db, argv[i])
            return ZERO
    e = c.engine
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1])
        e.written(db, argv[i], "set", NOTIFY_STRING)
    return b":1\r\n"


@command("append")
def cmd_append(c, argv):
    db = c.db
    key = argv[1]
    v = get_string(db, key)
    if v is None:
        new = argv[2]
        db.set(key, new)
        total = len(new)
    else:
        total = len(v) + len(argv[2])
        _check_len(c, total)
        if type(v) is bytearray:
            v += argv[2]
        else:
            db.set(key, bytearray(v) + argv[2], keepttl=True)
    c.engine.written(db, key, "append", NOTIFY_STRING)
    return integer(total)


@command("strlen")
def cmd_strlen(c, argv):
    v = get_string(c.db, argv[1], read=True)
    return integer(0 if v is None else len(v))


def _range(start: int, end: int, strlen: int) -> tuple[int, int] | None:
    if start < 0 and end < 0 and start > end:
        return None
    if start < 0:
        start = strlen + start
    if end < 0:
        end = strlen + end
    if start < 0:
        start = 0
    if end < 0:
        end = 0
    if end >= strlen:
        end = strlen - 1
    if start > end or strlen == 0:
        return None
    return start, end


@command("getrange", "substr")
def cmd_getrange(c, argv):
    start = get_int(argv[2])
    end = get_int(argv[3])
    v = get_string(c.db, argv[1], read=True)
    if v is None:
        return EMPTY_BULK
    r = _range(start, end, len(v))
    if r is None:
        return EMPTY_BULK
    return bulk(bytes(v[r[0] : r[1] + 1]))


@command("setrange")
def cmd_setrange(c, argv):
    db = c.db
    key = argv[1]
    offset = get_int(argv[2])
    value = argv[3]
    if offset < 0:
        raise CommandError(errors.OFFSET_RANGE)
    v = get_string(db, key)
    if v is None:
        if not value:
            return ZERO
        _check_len(c, offset + len(value))
        new = bytearray(offset) + value
        db.set(key, new)
    else:
        if not value:
            return integer(len(v))
        _check_len(c, offset + len(value))
        if type(v) is not bytearray:
            v = bytearray(v)
            db.set(key, v, keepttl=True)
        if len(v) < offset:
            v.extend(bytes(offset - len(v)))
        v[offset : offset + len(value)] = value
        new = v
    c.engine.written(db, key, "setrange", NOTIFY_STRING)
    return integer(len(new))


# ---------------------------------------------------------------------------
# Counters


# Canonical spellings of small counters, both ways: most INCRs read and write these.
_SMALL_COUNTERS = 10_000
_COUNTER_BYTES = [b"%d" % i for i in range(_SMALL_COUNTERS)]
_COUNTER_VALUES = {b: i for i, b in enumerate(_COUNTER_BYTES)}


@command("incr")
def _incr(c, argv: list[bytes], delta: int = 1) -> bytes:
    """INCR itself (delta 1), and the body of DECR, INCRBY and DECRBY."""
    key = argv[1]
    db = c.db
    if not db.expires and db.index is None and not Database.lfu:  # db.plain(), inlined
        # A plain database: Database.get/set inlined (a read notes the access time, a new key
        # gets it), and Engine.written() only when something listens.
        data = db.data
        v = data.get(key)
        db.atime[hash(key) & db.amask] = Database.clock
        if v is None:
            cur = 0
        else:
            cur = _COUNTER_VALUES.get(v) if type(v) is bytes else None
            if cur is None:
                cur = _counter(v)
        new = cur + delta
        if 0 <= new < _SMALL_COUNTERS:
            data[key] = _COUNTER_BYTES[new]
        else:
            if new > LLONG_MAX or new < LLONG_MIN:
                raise CommandError(errors.OVERFLOW)
            data[key] = b"%d" % new
        if v is None:
            if db.on_new is not None:
                db.on_new(db, key)
        e = c.engine
        if not e.quiet:
            e.written(db, key, "incrby", NOTIFY_STRING)
        else:
            e.dirty += 1
        return SMALL_INTS[new] if 0 <= new <= 10000 else integer(new)
    v = get_string(db, key)
    cur = 0 if v is None else _counter(v)
    new = cur + delta
    if new > LLONG_MAX or new < LLONG_MIN:
        raise CommandError(errors.OVERFLOW)
    db.set(key, b"%d" % new, keepttl=True)
    c.engine.written(db, key, "incrby", NOTIFY_STRING)
    return integer(new)


@run_of("incr")
def run_incr(c, cmds, i, end, out):
    """A pipelined run of INCRs (see run_of): _incr's path for a plain database while nothing
    listens to writes, in one loop, for counters that stay within 0..9999 (kept as shared
    canonical bytes) and keys that exist or appear without a `new` event to send."""
    db = c.db
    e = c.engine
    if not db.plain() or not e.quiet or db.on_new is not None:
        return i
    data = db.data
    get = data.get
    atime = db.atime
    mask = db.amask
    clock = Database.clock
    append = out.append
    values = _COUNTER_VALUES
    spelled = _COUNTER_BYTES
    replies = SMALL_INTS
    name = cmds[i][0]
    j = i
    for argv in cmds[i:end]:
        if len(argv) != 2 or argv[0] != name:
            break
        key = argv[1]
        v = get(key)
        if v is None:
            new = 1
        else:
            cur = values.get(v) if type(v) is bytes else None
            if cur is None or cur == _SMALL_COUNTERS - 1:
                break  # _incr takes it (other spellings, errors, bigger counters)
            new = cur + 1
        atime[hash(key) & mask] = clock
        data[key] = spelled[new]
        append(replies[new])
        j += 1
    e.dirty += j - i
    return j


def _counter(v) -> int:
    """The integer in a string value (WRONGTYPE / not an integer errors as Redis)."""
    if type(v) not in STRING_TYPES:
        raise CommandError(errors.WRONGTYPE)
    cur = parse_ll(v) if type(v) is not bytearray else parse_ll(bytes(v))
    if cur is None:
        raise CommandError(errors.NOT_INTEGER)
    return cur


@command("decr")
def cmd_decr(c, argv):
    return _incr(c, argv, -1)


@command("incrby")
def cmd_incrby(c, argv):
    return _incr(c, argv, get_int(argv[2]))


@command("decrby")
def cmd_decrby(c, argv):
    delta = get_int(argv[2])
    if delta == LLONG_MIN:
        raise CommandError("ERR decrement would overflow")
    return _incr(c, argv, -delta)


@command("incrbyfloat")
def cmd_incrbyfloat(c, argv):
    db = c.db
    key = argv[1]
    v = get_string(db, key)
    try:
        cur = parse_ld(bytes(v)) if v is not None else 0
    except LongDoubleError:
        raise CommandError(errors.NOT_FLOAT) from None
    try:
        incr = parse_ld(argv[2])
    except LongDoubleError:
        raise CommandError(errors.NOT_FLOAT) from None
    if isinstance(cur, float) or isinstance(incr, float):
        raise CommandError(errors.NAN_OR_INF)
    try:
        new = round_ld(cur + incr)
    except OverflowError:
        raise CommandError(errors.NAN_OR_INF) from None
    text = PlainBytes(format_ld_human(new))
    db.set(key, text, keepttl=True)
    c.engine.written(db, key, "incrbyfloat", NOTIFY_STRING)
    c.propagate_as([b"SET", key, bytes(text), b"KEEPTTL"])
    return bulk(text)


# ---------------------------------------------------------------------------
# LCS


@command("lcs")
def cmd_lcs(c, argv):
    db = c.db
    a = db.read(argv[1])
    b = db.read(argv[2])
    if (a is not None and type(a) not in STRING_TYPES) or (b is not None and type(b) not in STRING_TYPES):
        raise CommandError("ERR The specified keys must contain string values")
    a = a or b""
    b = b or b""
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    j = 3
    while j < len(argv):
        opt = keyword(argv[j])
        more = len(argv) - j - 1
        if opt == b"IDX":
            getidx = True
        elif opt == b"LEN":
            getlen = True
        elif opt == b"WITHMATCHLEN":
            withmatchlen = True
        elif opt == b"MINMATCHLEN" and more:
            minmatchlen = get_int(argv[j + 1])
            if minmatchlen < 0:
                minmatchlen = 0
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    if getlen and getidx:
        raise CommandError("ERR If you want both the length and indexes, please just use IDX.")
    a = bytes(a)
    b = bytes(b)
    # Redis refuses when its uint32 DP table would pass proto-max-bulk-len.
    if (len(a) + 1) * (len(b) + 1) * 4 > c.engine.config.get_int("proto-max-bulk-len"):
        raise CommandError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    if getlen and not getidx:
        return integer(lcs_length(a, b))
    text, matches = lcs_walk(a, b, minmatchlen)
    if getidx:
        parts = []
        for a0, a1, b0, b1, ml in matches:
            item = [b"*2\r\n:%d\r\n:%d\r\n" % (a0, a1), b"*2\r\n:%d\r\n:%d\r\n" % (b0, b1)]
            if withmatchlen:
                item.append(integer(ml))
            parts.append(b"*%d\r\n" % len(item) + b"".join(item))
        body = [bulk(b"matches"), b"*%d\r\n" % len(parts) + b"".join(parts), bulk(b"len"), integer(len(text))]
        return map_(body, 2, c.proto)
    return bulk(text)
