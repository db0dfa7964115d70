"""Generic key commands (Redis's `generic` and `keyspace` groups)."""

from __future__ import annotations

import time

from respdb import errors, lazyfree, lfu, notify
from respdb.commands.args import LLONG_MAX, LLONG_MIN, get_int, parse_ll
from respdb.commands.strings import keyword
from respdb.commands.table import command, container
from respdb.errors import CommandError
from respdb.glob import compile_glob
from respdb.resp import NEG_ONE, NEG_TWO, OK, ONE, ZERO, bulk, integer, null, simple
from respdb.types import copy_value, encoding, type_name

GENERIC = notify.GENERIC
INT_MAX = 2**31 - 1
INT_MIN = -(2**31)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _get_db_index(b: bytes, msg: str | None = None) -> int:
    """getIntFromObjectOrReply: a custom message replaces both of Redis's default errors."""
    v = parse_ll(b)
    if v is None:
        raise CommandError(msg or errors.NOT_INTEGER)
    if not INT_MIN <= v <= INT_MAX:
        raise CommandError(msg or "ERR value is out of range, value must between %d and %d" % (INT_MIN, INT_MAX))
    return v


# ---------------------------------------------------------------------------
# DEL / EXISTS / TYPE / TOUCH


def _delete_keys(c, argv, lazy: bool) -> bytes:
    """DEL and UNLINK; `lazy`: Redis would free big values in the background, which only INFO
    lazyfreed_objects tells (respdb frees at once either way)."""
    db = c.db
    e = c.engine
    n = 0
    for key in argv[1:]:
        if db.expires:
            db.expire_if_needed(key)
        if lazy:
            value = db.pop(key)
            if value is None:
                continue
            lazyfree.note_freed(e, value)
        elif not db.delete(key):
            continue
        e.written(db, key, "del", GENERIC)
        n += 1
    return integer(n)


@command("del")
def cmd_del(c, argv):
    return _delete_keys(c, argv, c.engine.config["lazyfree-lazy-user-del"] == "yes")


@command("unlink")
def cmd_unlink(c, argv):
    return _delete_keys(c, argv, True)


@command("exists")
def cmd_exists(c, argv):
    db = c.db
    return integer(sum(1 for k in argv[1:] if db.read_notouch(k) is not None))


@command("touch")
def cmd_touch(c, argv):
    db = c.db
    n = 0
    for k in argv[1:]:
        if db.read(k) is not None:
            n += 1
    return integer(n)


@command("type")
def cmd_type(c, argv):
    v = c.db.read_notouch(argv[1])
    return simple("none" if v is None else type_name(v))


@command("dbsize")
def cmd_dbsize(c, argv):
    return integer(len(c.db.data))


# ---------------------------------------------------------------------------
# RENAME / COPY / MOVE / SWAPDB / SELECT


def _rename(c, argv, nx: bool):
    db = c.db
    e = c.engine
    src, dst = argv[1], argv[2]
    v = db.get(src)
    if v is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if src == dst:
        return ZERO if nx else OK
    when = db.expires.get(src)
    if db.get(dst) is not None:
        if nx:
            return ZERO
        db.delete(dst)
    access = db.access_field(src)
    db.delete(src)
    db.set(dst, v)
    db.set_access_field(dst, access)  # the value moves with its LRU/LFU data, as Redis moves the object
    if when is not None:
        db.set_expire(dst, when)
    e.written(db, src, "rename_from", GENERIC)
    e.written(db, dst, "rename_to", GENERIC)
    e.blocking.signal_ready(db, dst)
    return ONE if nx else OK


@command("rename")
def cmd_rename(c, argv):
    return _rename(c, argv, False)


@command("renamenx")
def cmd_renamenx(c, argv):
    return _rename(c, argv, True)


@command("copy")
def cmd_copy(c, argv):
    e = c.engine
    src_db = dst_db = c.db
    replace = False
    j = 3
    while j < len(argv):
        opt = keyword(argv[j])
        if opt == b"REPLACE":
            replace = True
        elif opt == b"DB" and j + 1 < len(argv):
            idx = _get_db_index(argv[j + 1])
            if not 0 <= idx < len(e.dbs):
                raise CommandError(errors.DB_INDEX)
            dst_db = e.dbs[idx]
            j += 1
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    key, newkey = argv[1], argv[2]
    if src_db is dst_db and key == newkey:
        raise CommandError(errors.SAME_OBJECT)
    v = src_db.read(key)
    if v is None:
        return ZERO
    when = src_db.expires.get(key)
    if dst_db.get(newkey) is not None:
        if not replace:
            return ZERO
        dst_db.delete(newkey)
    dst_db.set(newkey, copy_value(v))
    if when is not None:
        dst_db.set_expire(newkey, when)
    e.written(dst_db, newkey, "copy_to", GENERIC)
    e.blocking.signal_ready(dst_db, newkey)
    return ONE


@command("move")
def cmd_move(c, argv):
    e = c.engine
    src = c.db
    idx = _get_db_index(argv[2])
    if not 0 <= idx < len(e.dbs):
        raise CommandError(errors.DB_INDEX)
    dst = e.dbs[idx]
    if src is dst:
        raise CommandError(errors.SAME_OBJECT)
    key = argv[1]
    v = src.get(key)
    if v is None:
        return ZERO
    when = src.expires.get(key)
    if dst.get(key) is not None:
        return ZERO
    dst.set(key, v)
    dst.set_access_field(key, src.access_field(key))
    if when is not None:
        dst.set_expire(key, when)
    src.delete(key)
    e.written(src, key, "move_from", GENERIC)
    e.written(dst, key, "move_to", GENERIC)
    e.blocking.signal_ready(dst, key)
    return ONE


@command("swapdb")
def cmd_swapdb(c, argv):
    e = c.engine
    a = _get_db_index(argv[1], "ERR invalid first DB index")
    b = _get_db_index(argv[2], "ERR invalid second DB index")
    if not (0 <= a < len(e.dbs) and 0 <= b < len(e.dbs)):
        raise CommandError(errors.DB_INDEX)
    if a != b:
        e.touch_all_watched(e.dbs[a], e.dbs[b])
        e.touch_all_watched(e.dbs[b], e.dbs[a])
        e.dbs[a].swap(e.dbs[b])
        e.signal_all_ready(e.dbs[a])
        e.signal_all_ready(e.dbs[b])
    e.dirty += 1
    return OK


@command("select")
def cmd_select(c, argv):
    idx = _get_db_index(argv[1])
    e = c.engine
    if not 0 <= idx < len(e.dbs):
        raise CommandError(errors.DB_INDEX)
    c.db = e.dbs[idx]
    return OK


def _flush_flags(argv) -> None:
    if len(argv) > 2:
        raise CommandError(errors.SYNTAX)
    if len(argv) == 2 and keyword(argv[1]) not in (b"SYNC", b"ASYNC"):
        raise CommandError(errors.SYNTAX)


def _flush_async(c, argv) -> bool:
    """FLUSHALL/FLUSHDB ASYNC, or without SYNC under lazyfree-lazy-user-flush."""
    if len(argv) == 2:
        return keyword(argv[1]) == b"ASYNC"
    return c.engine.config["lazyfree-lazy-user-flush"] == "yes"


@command("flushdb")
def cmd_flushdb(c, argv):
    _flush_flags(argv)
    e = c.engine
    e.signal_flushed(c, c.db)
    removed = c.db.clear()
    if _flush_async(c, argv):
        e.stats["lazyfreed_objects"] += removed  # Redis frees the old dicts in the background
    e.dirty += removed + 1
    c.propagate_as(list(argv))
    return OK


@command("flushall")
def cmd_flushall(c, argv):
    _flush_flags(argv)
    e = c.engine
    removed = e.flushall(c)  # (which adds its own 1: `e.dirty += e.flushall(c)` would lose it)
    if _flush_async(c, argv):
        e.stats["lazyfreed_objects"] += removed
    e.dirty += removed
    e.persistence.after_flushall()  # with save points Redis rewrites the RDB file at once
    # also a FLUSHALL of nothing, and one whose save has just reset the counter
    e.force_propagate(c, list(argv))
    return OK


# ---------------------------------------------------------------------------
# KEYS / SCAN / RANDOMKEY


@command("keys")
def cmd_keys(c, argv):
    db = c.db
    pattern = argv[1]
    allkeys = pattern == b"*"
    m = None if allkeys else compile_glob(pattern)
    now = _now_ms()
    expires = db.expires
    out = []
    for k in db.data:
        if m is not None and m(k) is None:
            continue
        if expires:
            when = expires.get(k)
            if when is not None and when <= now:
                continue
        out.append(b"$%d\r\n%b\r\n" % (len(k), k))
    return b"*%d\r\n" % len(out) + b"".join(out)


def parse_cursor(b: bytes) -> int:
    """strtoul as Redis's parseScanCursorOrReply uses it.

    strtoul stops at a NUL byte and Redis only checks that parsing stopped on one, so the
    empty string (no digits at all) is cursor 0 and anything after a NUL is ignored."""
    if b[:1].isspace():
        raise CommandError(errors.INVALID_CURSOR)
    s = b.split(b"\0", 1)[0]
    if not s:
        return 0
    neg = False
    if s[:1] in (b"+", b"-"):
        neg = s[:1] == b"-"
        s = s[1:]
    if not s or not s.isdigit():
        raise CommandError(errors.INVALID_CURSOR)
    v = int(s)
    if v >= 1 << 64:
        raise CommandError(errors.INVALID_CURSOR)
    return ((1 << 64) - v) & ((1 << 64) - 1) if neg else v


def parse_scan_options(argv, start: int, allow_type: bool):
    count = 10
    pattern = None
    typename = None
    j = start
    n = len(argv)
    while j < n:
        remaining = n - j - 1
        opt = keyword(argv[j])
        if opt == b"COUNT" and remaining >= 1:
            count = get_int(argv[j + 1])
            if count < 1:
                raise CommandError(errors.SYNTAX)
            j += 2
        elif opt == b"MATCH" and remaining >= 1:
            pattern = argv[j + 1]
            if pattern == b"*":
                pattern = None
            j += 2
        elif opt == b"TYPE" and remaining >= 1 and allow_type:
            typename = keyword(argv[j + 1]).lower().decode("utf-8", "surrogateescape")
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    return count, pattern, typename


@command("scan")
def cmd_scan(c, argv):
    cursor = parse_cursor(argv[1])
    count, pattern, typename = parse_scan_options(argv, 2, True)
    db = c.db
    keys: list[bytes] = []
    cursor = db.key_index().scan(cursor, count, keys)
    m = compile_glob(pattern) if pattern is not None else None
    out = []
    now = _now_ms()
    for k in keys:
        if m is not None and m(k) is None:
            continue
        if typename is not None:
            v = db.read_notouch(k)  # Redis's read lookup: expires the key if due, counts a hit/miss
            if (type_name(v) if v is not None else "none") != typename:
                continue
            if v is None:
                # Redis quirk: an expired key is "none" to the TYPE filter and, being gone
                # already, no longer filtered as expired.
                out.append(b"$%d\r\n%b\r\n" % (len(k), k))
                continue
        when = db.expires.get(k) if db.expires else None
        if when is not None and when <= now:
            db.expire_now(k)
            continue
        out.append(b"$%d\r\n%b\r\n" % (len(k), k))
    return b"*2\r\n" + bulk(b"%d" % cursor) + b"*%d\r\n" % len(out) + b"".join(out)


@command("randomkey")
def cmd_randomkey(c, argv):
    k = c.db.random_key()
    return null(c.proto) if k is None else bulk(k)


# ---------------------------------------------------------------------------
# Expiry

EXPIRE_NX, EXPIRE_XX, EXPIRE_GT, EXPIRE_LT = 1, 2, 4, 8


def _expire_generic(c, argv, basetime: int, seconds: bool, cmdname: bytes):
    db = c.db
    e = c.engine
    key = argv[1]
    flags = 0
    for opt in argv[3:]:
        o = keyword(opt)
        if o == b"NX":
            flags |= EXPIRE_NX
        elif o == b"XX":
            flags |= EXPIRE_XX
        elif o == b"GT":
            flags |= EXPIRE_GT
        elif o == b"LT":
            flags |= EXPIRE_LT
        else:
            text = opt.split(b"\0", 1)[0]  # formatted with %s
            raise CommandError("ERR Unsupported option " + text.decode("utf-8", "surrogateescape"))
    if flags & EXPIRE_NX and flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT):
        raise CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if flags & EXPIRE_GT and flags & EXPIRE_LT:
        raise CommandError("ERR GT and LT options at the same time are not compatible")
    when = get_int(argv[2])
    name = cmdname.decode()
    if seconds:
        if when > LLONG_MAX // 1000 or when < -(LLONG_MAX // 1000):
            raise CommandError(errors.INVALID_EXPIRE % name)
        when *= 1000
    if when > LLONG_MAX - basetime:
        raise CommandError(errors.INVALID_EXPIRE % name)
    when += basetime
    if db.get(key) is None:
        return ZERO
    if flags:
        current = db.expires.get(key, -1)
        if flags & EXPIRE_NX and current != -1:
            return ZERO
        if flags & EXPIRE_XX and current == -1:
            return ZERO
        if flags & EXPIRE_GT and (when <= current or current == -1):
            return ZERO
        if flags & EXPIRE_LT and current != -1 and when >= current:
            return ZERO
    if e.already_expired(when, _now_ms()):
        db.delete(key)
        lazy = e.config["lazyfree-lazy-expire"] == "yes"
        c.propagate_as([b"UNLINK" if lazy else b"DEL", key])
        e.written(db, key, "del", GENERIC)
        return ONE
    db.set_expire(key, when)
    c.propagate_as([b"PEXPIREAT", key, b"%d" % when, *argv[3:]])
    e.written(db, key, "expire", GENERIC)
    return ONE


@command("expire")
def cmd_expire(c, argv):
    return _expire_generic(c, argv, _now_ms(), True, b"expire")


@command("pexpire")
def cmd_pexpire(c, argv):
    return _expire_generic(c, argv, _now_ms(), False, b"pexpire")


@command("expireat")
def cmd_expireat(c, argv):
    return _expire_generic(c, argv, 0, True, b"expireat")


@command("pexpireat")
def cmd_pexpireat(c, argv):
    return _expire_generic(c, argv, 0, False, b"pexpireat")


def _ttl(c, argv, ms: bool, absolute: bool):
    db = c.db
    if db.read_notouch(argv[1]) is None:
        return NEG_TWO
    when = db.expires.get(argv[1])
    if when is None:
        return NEG_ONE
    ttl = when if absolute else when - _now_ms()
    if ttl < 0:
        ttl = 0
    return integer(ttl if ms else (ttl + 500) // 1000)


@command("ttl")
def cmd_ttl(c, argv):
    return _ttl(c, argv, False, False)


@command("pttl")
def cmd_pttl(c, argv):
    return _ttl(c, argv, True, False)


@command("expiretime")
def cmd_expiretime(c, argv):
    return _ttl(c, argv, False, True)


@command("pexpiretime")
def cmd_pexpiretime(c, argv):
    return _ttl(c, argv, True, True)


@command("persist")
def cmd_persist(c, argv):
    db = c.db
    if db.get(argv[1]) is None:
        return ZERO
    if db.persist(argv[1]):
        c.engine.written(db, argv[1], "persist", GENERIC)
        return ONE
    return ZERO


# ---------------------------------------------------------------------------
# OBJECT

OBJECT_HELP = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
]

container("object")


def help_reply(lines: list[str]) -> bytes:
    return b"*%d\r\n" % len(lines) + b"".join(simple(s) for s in lines)


@command("object|help")
def cmd_object_help(c, argv):
    return help_reply(OBJECT_HELP)


@command("object|encoding")
def cmd_object_encoding(c, argv):
    v = c.db.read_notouch(argv[2], notify=False)
    if v is None:
        return null(c.proto)
    return bulk(encoding(v).encode())


@command("object|refcount")
def cmd_object_refcount(c, argv):
    v = c.db.read_notouch(argv[2], notify=False)
    if v is None:
        return null(c.proto)
    if type(v) is bytes and encoding(v) == "int":
        n = parse_ll(v)
        # Redis stores 0..9999 as shared objects unless maxmemory is set with an LRU/LFU policy
        # (each key then needs its own access data). Decided here, at query time: the one
        # difference is a value copied by COPY or stored under another config (see tests).
        cfg = c.engine.config
        policy = cfg["maxmemory-policy"]
        shared = cfg.get_int("maxmemory") == 0 or not ("lru" in policy or "lfu" in policy)
        if n is not None and 0 <= n < 10000 and shared:
            return integer(INT_MAX)
    return ONE


@command("object|idletime")
def cmd_object_idletime(c, argv):
    db = c.db
    v = db.read_notouch(argv[2], notify=False)
    if v is None:
        return null(c.proto)
    if "lfu" in c.engine.config["maxmemory-policy"]:
        raise CommandError(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
            "switching between policies at runtime LRU and LFU data will take some time to adjust."
        )
    return integer(db.idle_seconds(argv[2]))


@command("object|freq")
def cmd_object_freq(c, argv):
    v = c.db.read_notouch(argv[2], notify=False)
    if v is None:
        return null(c.proto)
    if "lfu" not in c.engine.config["maxmemory-policy"]:
        raise CommandError(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
            "that when switching between policies at runtime LRU and LFU data will take some time "
            "to adjust."
        )
    return integer(lfu.decayed(c.db.access_field(argv[2])))


__all__ = ["LLONG_MIN", "help_reply"]
