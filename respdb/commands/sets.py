"""Set commands (Redis's `set` group). Value types are in respdb/types/sets.py."""

from __future__ import annotations

import random
from array import array

from respdb import errors, notify
from respdb.commands.args import LLONG_MAX, get_int, parse_ll
from respdb.commands.hashes import EMPTY_SCAN, bulks, cfg_int
from respdb.commands.keys import parse_cursor, parse_scan_options
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.glob import compile_glob
from respdb.resp import EMPTY_ARRAY, ONE, SMALL_INTS, ZERO, bulk, integer, null
from respdb.types.sets import (
    INTSET_TYPES,
    IntSet,
    SetHT,
    intset_add,
    intset_remove,
    make_intset,
    new_set,
)

NOTIFY_SET = notify.SET
NOTIFY_GENERIC = notify.GENERIC
# SPOP with a count switches to "keep the rest" when the rest is this many times smaller.
SPOP_MOVE_STRATEGY_MUL = 5
SRANDMEMBER_SUB_STRATEGY_MUL = 3


def get_set(db, key: bytes, read: bool = False):
    """The set at key, None if missing; WRONGTYPE for other types. `read`: a read lookup
    (counted in keyspace_hits/misses, `keymiss` event); else a write one."""
    v = db.read(key) if read else db.get(key)
    if v is None:
        return None
    t = type(v)
    if t is SetHT or t in INTSET_TYPES:
        return v
    raise CommandError(errors.WRONGTYPE)


def is_set(v) -> bool:
    t = type(v)
    return t is SetHT or t in INTSET_TYPES


def _empty_set(c) -> bytes:
    return b"~0\r\n" if c.proto == 3 else EMPTY_ARRAY


def _set_reply(c, members) -> bytes:
    head = b"~%d\r\n" if c.proto == 3 else b"*%d\r\n"
    return head % len(members) + bulks(members)


def _members(s) -> list[bytes]:
    """Members in Redis's iteration order where it is deterministic (intsets: ascending)."""
    return s.members() if type(s) is not SetHT else list(s)


def add_members(c, db, key: bytes, s, members: list[bytes]) -> int:
    """Add to the set `s` at key (None: create it as Redis's setTypeCreate would); returns
    how many were new. Stores a replaced value back, keeping the TTL."""
    if type(s) is SetHT:
        if len(members) == 1:
            return s.add_one(members[0])
        return s.add_many(members)
    if s is None:
        if parse_ll(members[0]) is None:
            s = SetHT(members)
            db.set(key, s)
            return len(s)
        s = make_intset(array("q"))
    new, added = intset_add(s, members, cfg_int(c, "set-max-intset-entries"))
    if new is not s:
        db.set(key, new, keepttl=True)
    return added


def remove_members(db, key: bytes, s, members: list[bytes]) -> tuple[int, int]:
    """Remove from the set `s` at key; returns (removed, size left). An emptied key is left
    for the caller to delete (it sends the events)."""
    if type(s) is SetHT:
        removed = 0
        for m in members:
            removed += s.remove_one(m)
        return removed, len(s)
    new, removed = intset_remove(s, members)
    left = len(new)
    if removed and left:
        db.set(key, new, keepttl=True)
    return removed, left


def _emptied(c, db, key: bytes, event: str) -> None:
    """Delete a set that became empty: the command's event, then "del", as Redis sends them."""
    db.delete(key)
    c.engine.written(db, key, event, NOTIFY_SET)
    c.engine.notify(NOTIFY_GENERIC, "del", key, db.id)


# ---------------------------------------------------------------------------
# Single-set commands


@command("sadd")
def cmd_sadd(c, argv):
    db = c.db
    key = argv[1]
    s = db.get(key)
    if type(s) is SetHT and s.index is None:
        # The common case on a big set, inlined.
        n = len(s)
        if len(argv) == 3:
            set.add(s, argv[2])
        else:
            s.update(argv[2:])
        added = len(s) - n
    else:
        if s is not None and type(s) is not SetHT and type(s) not in INTSET_TYPES:
            raise CommandError(errors.WRONGTYPE)
        added = add_members(c, db, key, s, argv[2:])
    if added:
        e = c.engine
        if not e.quiet:
            e.written(db, key, "sadd", NOTIFY_SET)
            e.dirty += added - 1  # Redis counts one change per member added
        else:
            e.dirty += added  # all Engine.written does when nothing listens (see lists._push_handler)
    return SMALL_INTS[added] if added <= 10000 else integer(added)


@command("srem")
def cmd_srem(c, argv):
    db = c.db
    key = argv[1]
    s = get_set(db, key)
    if s is None:
        return ZERO
    removed, left = remove_members(db, key, s, argv[2:])
    if removed:
        if left:
            c.engine.written(db, key, "srem", NOTIFY_SET)
        else:
            _emptied(c, db, key, "srem")
        c.engine.dirty += removed - 1
    return integer(removed)


@command("scard")
def cmd_scard(c, argv):
    s = get_set(c.db, argv[1], read=True)
    return ZERO if s is None else integer(len(s))


@command("sismember")
def cmd_sismember(c, argv):
    s = get_set(c.db, argv[1], read=True)
    return ONE if s is not None and s.contains(argv[2]) else ZERO


@command("smismember")
def cmd_smismember(c, argv):
    s = get_set(c.db, argv[1], read=True)
    members = argv[2:]
    if s is None:
        return b"*%d\r\n" % len(members) + ZERO * len(members)
    if type(s) is not SetHT:
        s = set(s.members())
    return b"*%d\r\n" % len(members) + b"".join([ONE if m in s else ZERO for m in members])


@command("smembers")
def cmd_smembers(c, argv):
    s = get_set(c.db, argv[1], read=True)
    if s is None:
        return _empty_set(c)
    return _set_reply(c, _members(s) if type(s) is not SetHT else s)


@command("smove")
def cmd_smove(c, argv):
    db = c.db
    src, dst, member = argv[1], argv[2], argv[3]
    sv = db.get(src)
    dv = db.get(dst)
    if sv is None:
        return ZERO
    if not is_set(sv) or (dv is not None and not is_set(dv)):
        raise CommandError(errors.WRONGTYPE)
    if src == dst:
        return ONE if sv.contains(member) else ZERO
    removed, left = remove_members(db, src, sv, [member])
    if not removed:
        return ZERO
    e = c.engine
    if left:
        e.written(db, src, "srem", NOTIFY_SET)
    else:
        _emptied(c, db, src, "srem")
    if add_members(c, db, dst, dv, [member]):
        e.written(db, dst, "sadd", NOTIFY_SET)
    return ONE


# ---------------------------------------------------------------------------
# Random members


@command("spop")
def cmd_spop(c, argv):
    n = len(argv)
    if n == 3:
        return _spop_count(c, argv)
    if n > 3:
        raise CommandError(errors.SYNTAX)
    db = c.db
    key = argv[1]
    s = get_set(db, key)
    if s is None:
        return null(c.proto)
    m = s.random_member()
    _, left = remove_members(db, key, s, [m])
    if left:
        c.engine.written(db, key, "spop", NOTIFY_SET)
    else:
        _emptied(c, db, key, "spop")
    c.propagate_as([b"SREM", key, m])
    return bulk(m)


def _spop_count(c, argv):
    count = parse_ll(argv[2])
    if count is None or count < 0:
        raise CommandError("ERR value is out of range, must be positive")
    db = c.db
    key = argv[1]
    s = get_set(db, key)
    if s is None or count == 0:
        return _empty_set(c)
    size = len(s)
    e = c.engine
    if count >= size:
        # The whole set, in the order of a set rebuilt from it (SUNION of the one key).
        members = _members(new_set(_members(s), cfg_int(c, "set-max-intset-entries")))
        _emptied(c, db, key, "spop")
        e.dirty += size - 1  # Redis 7.0 counts one change per member popped
        c.propagate_as([b"DEL", key])
        return _set_reply(c, members)
    remaining = size - count
    if remaining * SPOP_MOVE_STRATEGY_MUL > count:
        if type(s) is SetHT:
            popped = []
            for _ in range(count):
                m = s.random_member()
                s.remove_one(m)
                popped.append(m)
        else:
            a = s.ints()
            picks = random.sample(range(size), count)
            popped = [b"%d" % a[i] for i in picks]
            keep = sorted(set(range(size)).difference(picks))
            db.set(key, make_intset(array("q", [a[i] for i in keep]), s.width), keepttl=True)
    else:
        # Keep `remaining` random members in a new set; reply the rest in iteration order.
        members = _members(s)
        kept_idx = set(random.sample(range(size), remaining))
        kept = [members[i] for i in kept_idx]
        popped = [m for i, m in enumerate(members) if i not in kept_idx]
        db.set(key, new_set(kept, cfg_int(c, "set-max-intset-entries")), keepttl=True)
    e.written(db, key, "spop", NOTIFY_SET)
    e.dirty += count - 1
    c.propagate_as(*[[b"SREM", key, m] for m in popped])
    return _set_reply(c, popped)


@command("srandmember")
def cmd_srandmember(c, argv):
    n = len(argv)
    if n > 3:
        raise CommandError(errors.SYNTAX)
    db = c.db
    if n == 2:
        s = get_set(db, argv[1], read=True)
        if s is None:
            return null(c.proto)
        return bulk(s.random_member())
    count = get_int(argv[2])
    if count < -LLONG_MAX:
        raise CommandError(errors.RAND_COUNT_RANGE)
    s = get_set(db, argv[1], read=True)
    if s is None or count == 0:
        return EMPTY_ARRAY
    size = len(s)
    if count < 0 or count == 1:
        count = -count if count < 0 else count
        if c.engine.obuf_limits.reply_too_big(c, count):
            return b""
        if type(s) is SetHT:
            rnd = s.random_member
            picks = [rnd() for _ in range(count)]
        else:
            a = s.members()
            rnd = random.randrange
            picks = [a[rnd(size)] for _ in range(count)]
        return b"*%d\r\n" % count + bulks(picks)
    if count >= size:
        members = _members(s)
        return b"*%d\r\n" % size + bulks(members)
    if count * SRANDMEMBER_SUB_STRATEGY_MUL > size or type(s) is not SetHT:
        picks = random.sample(_members(s), count)
    else:
        chosen: dict[bytes, None] = {}
        while len(chosen) < count:
            chosen[s.random_member()] = None
        picks = list(chosen)
    return b"*%d\r\n" % count + bulks(picks)


# ---------------------------------------------------------------------------
# Set algebra


def _lookup_all(db, keys: list[bytes]) -> list:
    """The values at keys (None for missing ones), WRONGTYPE if any is not a set. Read lookups,
    also for the *STORE forms (Redis reads its sources with lookupKeyRead)."""
    out = []
    for k in keys:
        v = db.read(k)
        if v is not None and not is_set(v):
            raise CommandError(errors.WRONGTYPE)
        out.append(v)
    return out


def _lookup_view(s):
    """Something supporting `in` with the set's members as bytes."""
    return s if type(s) is SetHT else set(s.members())


def _inter(sets: list, limit: int = 0) -> list[bytes]:
    """Members of the intersection, in the iteration order of the smallest set (Redis
    walks the smallest and probes the others). All sets exist."""
    sets = sorted(sets, key=len)
    first = sets[0]
    others = [_lookup_view(s) for s in sets[1:] if s is not first]
    if type(first) is SetHT and not limit:
        return list(first.intersection(*others)) if others else list(first)
    out = []
    for m in _members(first):
        for o in others:
            if m not in o:
                break
        else:
            out.append(m)
            if limit and len(out) >= limit:
                break
    return out


def _store(c, db, dst: bytes, members: list[bytes], event: str) -> bytes:
    """Store a *STORE result set (or delete dst when it is empty) with Redis's events."""
    if members:
        db.set(dst, new_set(members, cfg_int(c, "set-max-intset-entries")))
        c.engine.written(db, dst, event, NOTIFY_SET)
        return integer(len(members))
    if db.delete(dst):
        c.engine.written(db, dst, "del", NOTIFY_GENERIC)
    return ZERO


def _sinter(c, keys: list[bytes], dst: bytes | None):
    db = c.db
    sets = _lookup_all(db, keys)
    if any(s is None for s in sets):
        if dst is not None:
            return _store(c, db, dst, [], "sinterstore")
        return _empty_set(c)
    result = _inter(sets)
    if dst is not None:
        return _store(c, db, dst, result, "sinterstore")
    return _set_reply(c, result)


@command("sinter")
def cmd_sinter(c, argv):
    return _sinter(c, argv[1:], None)


@command("sinterstore")
def cmd_sinterstore(c, argv):
    return _sinter(c, argv[2:], argv[1])


@command("sintercard")
def cmd_sintercard(c, argv):
    numkeys = parse_ll(argv[1])
    if numkeys is None or numkeys < 1:
        raise CommandError("ERR numkeys should be greater than 0")
    if numkeys > len(argv) - 2:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    limit = 0
    j = 2 + numkeys
    while j < len(argv):
        if argv[j].lower() == b"limit" and j + 1 < len(argv):
            limit = parse_ll(argv[j + 1])
            if limit is None or limit < 0:
                raise CommandError("ERR LIMIT can't be negative")
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    sets = _lookup_all(c.db, argv[2 : 2 + numkeys])
    if any(s is None for s in sets):
        return ZERO
    if not limit and all(type(s) is SetHT for s in sets):
        first = min(sets, key=len)
        others = [s for s in sets if s is not first]
        return integer(len(first.intersection(*others)) if others else len(first))
    return integer(len(_inter(sets, limit)))


def _union(sets: list) -> list[bytes]:
    acc: set[bytes] = set()
    for s in sets:
        if s is not None:
            acc.update(s if type(s) is SetHT else s.members())
    return list(acc)


def _diff(sets: list) -> list[bytes]:
    first = sets[0]
    if first is None:
        return []
    rest = [_lookup_view(s) for s in sets[1:] if s is not None]
    if type(first) is SetHT:
        return list(first.difference(*rest))
    return [m for m in first.members() if not any(m in o for o in rest)]


def _union_diff(c, keys: list[bytes], dst: bytes | None, union: bool):
    db = c.db
    sets = _lookup_all(db, keys)
    members = _union(sets) if union else _diff(sets)
    if dst is not None:
        return _store(c, db, dst, members, "sunionstore" if union else "sdiffstore")
    # Redis builds the result as a new set and replies by iterating it: an intset result
    # comes out in ascending order.
    return _set_reply(c, _members(new_set(members, cfg_int(c, "set-max-intset-entries"))))


@command("sunion")
def cmd_sunion(c, argv):
    return _union_diff(c, argv[1:], None, True)


@command("sunionstore")
def cmd_sunionstore(c, argv):
    return _union_diff(c, argv[2:], argv[1], True)


@command("sdiff")
def cmd_sdiff(c, argv):
    return _union_diff(c, argv[1:], None, False)


@command("sdiffstore")
def cmd_sdiffstore(c, argv):
    return _union_diff(c, argv[2:], argv[1], False)


# ---------------------------------------------------------------------------
# SSCAN


@command("sscan")
def cmd_sscan(c, argv):
    cursor = parse_cursor(argv[2])
    s = get_set(c.db, argv[1], read=True)
    if s is None:
        return EMPTY_SCAN
    count, pattern, _ = parse_scan_options(argv, 3, False)
    match = compile_glob(pattern) if pattern is not None else None
    if isinstance(s, IntSet):
        members = s.members()
        cursor = 0
    else:
        members = []
        cursor = s.key_index().scan(cursor, count, members)
    if match is not None:
        members = [m for m in members if match(m) is not None]
    return b"*2\r\n" + bulk(b"%d" % cursor) + b"*%d\r\n" % len(members) + bulks(members)
