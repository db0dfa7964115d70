"""List commands (Redis's `list` group), blocking ones included.

Values are `ListPack` (small, immutable: a change stores a new object) or `QuickList`
(a deque, changed in place); see respdb/types/lists.py. Elements are stored as
RESP-encoded items, so most replies are joins of stored bytes.

Blocking commands that find nothing park the client with `Blocking.block()`. When a
push makes a key ready the engine re-runs the command for each waiter (`c.unblocking`)
with `c.bstate.ready_key` naming the key to serve from, as Redis 7.0 serves a waiter
from the key that became ready. A waiter that cannot be served from it (the key now
holds another type) blocks again and keeps its place.
"""

from __future__ import annotations

from itertools import islice

from respdb import errors, notify
from respdb.blocking import blocking_denied, parse_timeout
from respdb.commands.args import LLONG_MIN, parse_ll
from respdb.commands.table import command, run_of
from respdb.errors import CommandError
from respdb.resp import BULK_HEADERS, EMPTY_ARRAY, NULL2, NULL3, NULL_ARRAY2, OK, ZERO, bulk, integer
from respdb.types.lists import (
    SHRINK_ENTRIES,
    ListPack,
    QuickList,
    first_item_end,
    header_end,
    items_of,
    length,
    maybe_shrink,
    pack_len,
    pack_values,
    pop_items,
    push_items,
    replace_items,
)

NOTIFY_LIST = notify.LIST
NOTIFY_GENERIC = notify.GENERIC
_NULL = (NULL2, NULL2, NULL2, NULL3)  # by protocol version
_NULL_ARRAY = (NULL_ARRAY2, NULL_ARRAY2, NULL_ARRAY2, NULL3)
LEFT, RIGHT = True, False


def get_list(db, key: bytes, read: bool = False):
    """The list at key (ListPack or QuickList), None if missing; WRONGTYPE otherwise.
    `read`: a read lookup (counted in keyspace_hits/misses, `keymiss` event); else a write one."""
    v = db.read(key) if read else db.get(key)
    if v is None:
        return None
    t = type(v)
    if t is QuickList or t is ListPack:
        return v
    raise CommandError(errors.WRONGTYPE)


def _store(db, key: bytes, old, new) -> None:
    """Put the changed value back: `old` is what was there (None when the key is new)."""
    if new is None:
        db.delete(key)
    elif old is None:
        db.set(key, new)
    elif new is not old:
        db.data[key] = new  # keeps the TTL


def _changed(c, db, key: bytes, event: str, dirty: int = 1, deleted: bool = False) -> None:
    """Keyspace bookkeeping for one changed list: event, optional "del", Redis's dirty count."""
    e = c.engine
    e.written(db, key, event, NOTIFY_LIST)
    if dirty != 1:
        e.dirty += dirty - 1
    if deleted:
        e.notify(NOTIFY_GENERIC, "del", key, db.id)


def _where(arg: bytes) -> bool:
    a = arg.lower()
    if a == b"left":
        return LEFT
    if a == b"right":
        return RIGHT
    raise CommandError(errors.SYNTAX)


_SMALL_LONGS = {b"%d" % i: i for i in range(-1024, 1025)}


def _get_long(b: bytes) -> int:
    v = _SMALL_LONGS.get(b)
    if v is not None:
        return v
    v = parse_ll(b)
    if v is None:
        raise CommandError(errors.NOT_INTEGER)
    return v


def _array(items) -> bytes:
    out = [b"*%d\r\n" % len(items)]
    out.extend(items)
    return b"".join(out)


# ---------------------------------------------------------------------------
# Pushes


def _push(c, argv, left: bool, only_existing: bool) -> bytes:
    db = c.db
    key = argv[1]
    v = get_list(db, key)
    if v is None and only_existing:
        return ZERO
    k = len(argv) - 2
    new = push_items(v, [bulk(x) for x in argv[2:]], left)
    _store(db, key, v, new)
    n = length(new)
    _changed(c, db, key, "lpush" if left else "rpush", k)  # also wakes waiters (Engine.written)
    return integer(n)


def _push_handler(left: bool, event: str):
    """LPUSH/RPUSH. The hot path, one element onto a big list, is kept flat in one frame,
    with Engine.written called only when something listens for the change (as the string
    handlers do, see strings._hooked: the call is 5-7 % of an LPUSH)."""

    def handler(c, argv):
        if len(argv) == 3:
            db = c.db
            key = argv[1]
            v = db.get(key)
            if type(v) is QuickList:
                x = argv[2]
                n = len(x)
                item = BULK_HEADERS[n] + x + b"\r\n" if n < 1024 else bulk(x)
                if left:
                    v.appendleft(item)
                else:
                    v.append(item)
                e = c.engine
                if not e.quiet:
                    e.written(db, key, event, NOTIFY_LIST)  # also wakes waiters
                else:
                    e.dirty += 1
                return b":%d\r\n" % len(v)
        return _push(c, argv, left, False)

    return handler


cmd_lpush = command("lpush")(_push_handler(LEFT, "lpush"))
cmd_rpush = command("rpush")(_push_handler(RIGHT, "rpush"))


def _lengths(base: int, k: int) -> bytes:
    """The replies of k pushes onto a list of `base` elements, formatted together."""
    return b":%d\r\n" * k % tuple(range(base + 1, base + k + 1))


def _push_run(left: bool):
    """A pipelined run of one-element LPUSHes or RPUSHes (see table.run_of): the handler's hot
    path, onto big lists while nothing listens to writes, in one loop. Without expiries or
    LFU a key's value cannot change between two requests of the run, so a key repeated from
    the request before is not looked up again (its access time is already this second's),
    and the replies of such a stretch, the list's successive lengths, are made in one go."""

    def run(c, cmds, i, end, out):
        e = c.engine
        if not e.quiet:
            return i
        db = c.db
        get = db.get
        again = db.repeats_unchanged()
        name = cmds[i][0]
        j = i
        last = None
        add = None
        base = pushed = 0  # the list's length before the stretch, and the pushes since
        for argv in cmds[i:end]:
            if len(argv) != 3:
                break
            command, key, x = argv
            if command != name:
                break
            if key != last or not again:
                if pushed:
                    out.append(_lengths(base, pushed))
                    j += pushed
                    pushed = 0
                v = get(key)
                if type(v) is not QuickList:
                    break
                add = v.appendleft if left else v.append
                last = key
                base = len(v)
            n = len(x)
            add(BULK_HEADERS[n] + x + b"\r\n" if n < 1024 else bulk(x))
            pushed += 1
        if pushed:
            out.append(_lengths(base, pushed))
            j += pushed
        e.dirty += j - i
        return j

    return run


run_of("lpush")(_push_run(LEFT))
run_of("rpush")(_push_run(RIGHT))


@command("lpushx")
def cmd_lpushx(c, argv):
    return _push(c, argv, LEFT, True)


@command("rpushx")
def cmd_rpushx(c, argv):
    return _push(c, argv, RIGHT, True)


# ---------------------------------------------------------------------------
# Pops


def _pop_one(c, db, key: bytes, v, left: bool) -> bytes:
    """Pop one item from the non-empty list `v` at key, with events; returns the item."""
    if type(v) is QuickList:
        it = v.popleft() if left else v.pop()
        n = len(v)
        if n <= SHRINK_ENTRIES:
            _store(db, key, v, maybe_shrink(v) if n else None)
    elif left:
        n = pack_len(v)
        pos = header_end(v)
        end = first_item_end(v, pos)
        it = v[pos:end]
        _store(db, key, v, ListPack(b"*%d\r\n%b" % (n - 1, memoryview(v)[end:])) if n > 1 else None)
        n -= 1
    else:
        items, rest = pop_items(v, 1, False)
        it = items[0]
        _store(db, key, v, rest)
        n = length(rest) if rest is not None else 0
    _changed(c, db, key, "lpop" if left else "rpop", 1, not n)
    return it


def _pop_many(c, db, key: bytes, v, count: int, left: bool) -> list[bytes]:
    items, rest = pop_items(v, count, left)
    _store(db, key, v, rest)
    _changed(c, db, key, "lpop" if left else "rpop", len(items), rest is None)
    return items


def _pop_cmd(c, argv, left: bool) -> bytes:
    n = len(argv)
    db = c.db
    key = argv[1]
    if n == 2:  # (a big list that stays big was handled by _pop_handler)
        v = db.get(key)
        t = type(v)
        if v is None:
            return _NULL[c.proto]
        if t is not ListPack and t is not QuickList:
            raise CommandError(errors.WRONGTYPE)
        return _pop_one(c, db, key, v, left)
    if n > 3:
        raise CommandError(errors.wrong_args(argv[0].decode("latin-1").lower()))
    count = parse_ll(argv[2])
    if count is None or count < 0:
        raise CommandError("ERR value is out of range, must be positive")
    v = get_list(db, key)
    if v is None:
        return _NULL_ARRAY[c.proto]
    if count == 0:
        return EMPTY_ARRAY
    if type(v) is ListPack and left and count >= pack_len(v):
        # Popping everything: the reply is the stored array itself.
        db.delete(key)
        _changed(c, db, key, "lpop", pack_len(v), True)
        return v
    return _array(_pop_many(c, db, key, v, count, left))


def _pop_handler(left: bool, event: str):
    """LPOP/RPOP. The hot path, one element off a big list that stays big, is kept flat in
    one frame like the push (see _push_handler); everything else is _pop_cmd."""

    def handler(c, argv):
        if len(argv) == 2:
            db = c.db
            key = argv[1]
            v = db.get(key)
            if type(v) is QuickList and len(v) > SHRINK_ENTRIES + 1:
                it = v.popleft() if left else v.pop()
                e = c.engine
                if not e.quiet:
                    e.written(db, key, event, NOTIFY_LIST)
                else:
                    e.dirty += 1
                return it
        return _pop_cmd(c, argv, left)

    return handler


cmd_lpop = command("lpop")(_pop_handler(LEFT, "lpop"))
cmd_rpop = command("rpop")(_pop_handler(RIGHT, "rpop"))


def _pop_run(left: bool):
    """A pipelined run of LPOPs or RPOPs without a count (see table.run_of): the handler's hot
    path, off big lists that stay big, and pops of missing keys, while nothing listens to
    writes, in one loop. A key repeated from the request before is not looked up again, as
    in _push_run."""

    def run(c, cmds, i, end, out):
        e = c.engine
        if not e.quiet:
            return i
        db = c.db
        get = db.get
        again = db.repeats_unchanged()
        append = out.append
        null = _NULL[c.proto]
        keep = SHRINK_ENTRIES + 1
        name = cmds[i][0]
        j = i
        pops = 0
        last = None
        v = take = None
        for argv in cmds[i:end]:
            if len(argv) != 2 or argv[0] != name:
                break
            key = argv[1]
            if key != last or not again:
                v = get(key)
                if v is None:
                    take = None
                elif type(v) is QuickList:
                    take = v.popleft if left else v.pop
                else:
                    break
                last = key
            if take is None:
                append(null)
            elif len(v) > keep:
                append(take())
                pops += 1
            else:
                break  # the list may shrink or go: the handler's own path
            j += 1
        e.dirty += pops
        return j

    return run


run_of("lpop")(_pop_run(LEFT))
run_of("rpop")(_pop_run(RIGHT))


# ---------------------------------------------------------------------------
# Reads


@command("llen")
def cmd_llen(c, argv):
    v = get_list(c.db, argv[1], read=True)
    if v is None:
        return ZERO
    return integer(len(v) if type(v) is QuickList else pack_len(v))


def _range(v, start: int, end: int) -> tuple[int, list[bytes] | None]:
    """Redis's LRANGE index rules: (count, reply parts: the `*<count>` header, then the items);
    parts are None when the range is the whole list."""
    n = len(v) if type(v) is QuickList else pack_len(v)
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return 0, []
    if end >= n:
        end = n - 1
    cnt = end - start + 1
    if cnt == n:
        return n, None
    if type(v) is QuickList:
        if start <= n - 1 - end:
            out = [b"*%d\r\n" % cnt]
            out.extend(islice(v, start, end + 1))
            return cnt, out
        out = list(islice(reversed(v), n - 1 - end, n - start))
        out.append(b"*%d\r\n" % cnt)
        out.reverse()
        return cnt, out
    if start == 0 and cnt <= 8:
        # A few from the head: walk the items instead of parsing them all.
        out = [b"*%d\r\n" % cnt]
        pos = header_end(v)
        for _ in range(cnt):
            nxt = first_item_end(v, pos)
            out.append(v[pos:nxt])
            pos = nxt
        return cnt, out
    out = [b"*%d\r\n" % cnt]
    out.extend([b"$%d\r\n%b\r\n" % (len(x), x) for x in pack_values(v)[start : end + 1]])
    return cnt, out


@command("lrange")
def cmd_lrange(c, argv):
    start = _get_long(argv[2])
    end = _get_long(argv[3])
    v = get_list(c.db, argv[1], read=True)
    if v is None:
        return EMPTY_ARRAY
    cnt, items = _range(v, start, end)
    if items is None:
        if type(v) is ListPack:
            return v
        out = [b"*%d\r\n" % cnt]
        out.extend(v)
        return b"".join(out)
    if not cnt:
        return EMPTY_ARRAY
    return b"".join(items)


@command("lindex")
def cmd_lindex(c, argv):
    v = get_list(c.db, argv[1], read=True)
    if v is None:
        return _NULL[c.proto]
    index = _get_long(argv[2])
    if type(v) is QuickList:
        n = len(v)
        if -n <= index < n:
            return v[index]
        return _NULL[c.proto]
    values = pack_values(v)
    n = len(values)
    if -n <= index < n:
        return bulk(values[index])
    return _NULL[c.proto]


def _lpos_options(argv) -> tuple[int, int, int]:
    rank, count, maxlen = 1, -1, 0
    j = 3
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        more = j + 1 < n
        if opt == b"rank" and more:
            j += 1
            rank = _get_long(argv[j])
            if rank == 0:
                raise CommandError(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                    "or use negative to start from the end of the list"
                )
        elif opt == b"count" and more:
            j += 1
            count = parse_ll(argv[j])
            if count is None or count < 0:
                raise CommandError("ERR COUNT can't be negative")
        elif opt == b"maxlen" and more:
            j += 1
            maxlen = parse_ll(argv[j])
            if maxlen is None or maxlen < 0:
                raise CommandError("ERR MAXLEN can't be negative")
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return rank, count, maxlen


def _matches(v, target: bytes, from_tail: bool, skip: int, limit: int, maxlen: int) -> list[int]:
    """Positions (counted from the scanned end) of matches of `target` (an item): the first
    `skip` matches are passed over, then up to `limit` are returned (0: all); at most `maxlen`
    elements are looked at (0: all)."""
    n = length(v)
    stop = min(n, maxlen) if maxlen else n
    out: list[int] = []
    if not from_tail:
        seq = v if type(v) is QuickList else items_of(v)
        # The first matches are searched for in C; past a few, one pass is cheaper than
        # index() calls that each walk again from the head.
        pos = 0
        for _ in range(8):
            try:
                pos = seq.index(target, pos, stop)
            except ValueError:
                return out
            if skip:
                skip -= 1
            else:
                out.append(pos)
                if len(out) == limit:
                    return out
            pos += 1
        for i, it in enumerate(islice(seq, pos, stop), pos):
            if it == target:
                if skip:
                    skip -= 1
                else:
                    out.append(i)
                    if len(out) == limit:
                        break
        return out
    seq = reversed(v) if type(v) is QuickList else reversed(items_of(v))
    for pos, it in enumerate(islice(seq, stop)):
        if it == target:
            if skip:
                skip -= 1
            else:
                out.append(pos)
                if len(out) == limit:
                    break
    return out


@command("lpos")
def cmd_lpos(c, argv):
    rank, count, maxlen = _lpos_options(argv)
    from_tail = rank < 0
    if rank == LLONG_MIN:
        # Redis negates the rank in C: LLONG_MIN stays negative, so every match from the
        # tail qualifies and the COUNT test overflows and never stops the scan.
        skip, limit = 0, 0
    else:
        skip, limit = abs(rank) - 1, count
    v = get_list(c.db, argv[1], read=True)
    if v is None:
        return EMPTY_ARRAY if count != -1 else _NULL[c.proto]
    if count == -1:
        limit = 1
    found = _matches(v, bulk(argv[2]), from_tail, skip, limit, maxlen)
    if from_tail:
        n = length(v)
        found = [n - 1 - i for i in found]
    if count != -1:
        return b"*%d\r\n" % len(found) + b"".join(b":%d\r\n" % i for i in found)
    if found:
        return integer(found[0])
    return _NULL[c.proto]


# ---------------------------------------------------------------------------
# Edits


@command("lset")
def cmd_lset(c, argv):
    db = c.db
    key = argv[1]
    v = get_list(db, key)
    if v is None:
        raise CommandError(errors.NO_SUCH_KEY)
    index = _get_long(argv[2])
    n = length(v)
    if not -n <= index < n:
        raise CommandError("ERR index out of range")
    it = bulk(argv[3])
    if type(v) is QuickList:
        v[index] = it
    else:
        items = items_of(v)
        items[index] = it
        _store(db, key, v, replace_items(v, items))
    _changed(c, db, key, "lset")
    return OK


@command("linsert")
def cmd_linsert(c, argv):
    where = argv[2].lower()
    if where == b"after":
        after = True
    elif where == b"before":
        after = False
    else:
        raise CommandError(errors.SYNTAX)
    db = c.db
    key = argv[1]
    v = get_list(db, key)
    if v is None:
        return ZERO
    pivot = bulk(argv[3])
    seq = v if type(v) is QuickList else items_of(v)
    try:
        i = seq.index(pivot)
    except ValueError:
        return b":-1\r\n"
    seq.insert(i + 1 if after else i, bulk(argv[4]))
    if seq is not v:
        new = replace_items(v, seq)
        _store(db, key, v, new)
        v = new
    _changed(c, db, key, "linsert")
    return integer(length(v))


@command("lrem")
def cmd_lrem(c, argv):
    count = _get_long(argv[2])
    db = c.db
    key = argv[1]
    v = get_list(db, key)
    if v is None:
        return ZERO
    target = bulk(argv[3])
    n = length(v)
    found = _matches(v, target, count < 0, 0, abs(count), 0)
    if not found:
        return ZERO
    if count < 0:
        drop = {n - 1 - i for i in found}
    else:
        drop = set(found)
    if type(v) is QuickList and len(drop) <= 8:
        for i in sorted(drop, reverse=True):
            del v[i]
        new = v if len(v) > SHRINK_ENTRIES else maybe_shrink(v) if v else None
    else:
        seq = v if type(v) is QuickList else items_of(v)
        new = replace_items(v, [it for i, it in enumerate(seq) if i not in drop])
    _store(db, key, v, new)
    _changed(c, db, key, "lrem", len(drop), new is None)
    return integer(len(drop))


@command("ltrim")
def cmd_ltrim(c, argv):
    start = _get_long(argv[2])
    end = _get_long(argv[3])
    db = c.db
    key = argv[1]
    v = get_list(db, key)
    if v is None:
        return OK
    n = length(v)
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        ltrim, rtrim = n, 0
    else:
        if end >= n:
            end = n - 1
        ltrim, rtrim = start, n - end - 1
    removed = ltrim + rtrim
    if removed == 0:
        new = v
    elif removed == n:
        new = None
    elif type(v) is QuickList and removed < (n - removed):
        for _ in range(ltrim):
            v.popleft()
        for _ in range(rtrim):
            v.pop()
        new = v if len(v) > SHRINK_ENTRIES else maybe_shrink(v)
    else:
        _, parts = _range(v, ltrim, n - rtrim - 1)
        new = replace_items(v, parts[1:])
    _store(db, key, v, new)
    _changed(c, db, key, "ltrim", removed, new is None)
    return OK


# ---------------------------------------------------------------------------
# Moves


def _lmove(c, src: bytes, dst: bytes, wherefrom: bool, whereto: bool):
    """LMOVE's work: the moved item, or None when src is missing (WRONGTYPE raised)."""
    db = c.db
    sv = get_list(db, src)
    if sv is None:
        return None
    dv = get_list(db, dst) if dst != src else sv
    items, rest = pop_items(sv, 1, wherefrom)
    if dst == src:
        new = push_items(rest, items, whereto)
        _store(db, src, sv, new)
    else:
        _store(db, src, sv, rest)
        _store(db, dst, dv, push_items(dv, items, whereto))
    e = c.engine
    # Redis's order: the push event on dst, then the pop event (and "del") on src. Both keys
    # go through the mutation path (written() also wakes dst's waiters and touches WATCH).
    e.written(db, dst, "lpush" if whereto else "rpush", NOTIFY_LIST)
    e.written(db, src, "lpop" if wherefrom else "rpop", NOTIFY_LIST)
    e.dirty -= 1  # Redis counts the move as one change
    if rest is None and dst != src:
        e.notify(NOTIFY_GENERIC, "del", src, db.id)
    return items[0]


@command("lmove")
def cmd_lmove(c, argv):
    wherefrom = _where(argv[3])
    whereto = _where(argv[4])
    it = _lmove(c, argv[1], argv[2], wherefrom, whereto)
    return _NULL[c.proto] if it is None else it


@command("rpoplpush")
def cmd_rpoplpush(c, argv):
    it = _lmove(c, argv[1], argv[2], RIGHT, LEFT)
    return _NULL[c.proto] if it is None else it


def _blmove(c, argv, wherefrom: bool, whereto: bool, timeout: float) -> bytes:
    src = argv[1]
    if c.unblocking:
        v = c.db.get(src)
        if v is None or not (type(v) is QuickList or type(v) is ListPack):
            return c.engine.blocking.block(c, [src], timeout, argv, b"")
    it = _lmove(c, src, argv[2], wherefrom, whereto)
    if it is not None:
        if argv[0].lower() == b"brpoplpush":
            c.propagate_as([b"RPOPLPUSH", src, argv[2]])
        else:
            c.propagate_as([b"LMOVE", src, argv[2], argv[3], argv[4]])
        return it
    if blocking_denied(c):
        return _NULL[c.proto]
    return c.engine.blocking.block(c, [src], timeout, argv, _NULL_ARRAY[c.proto])


@command("blmove")
def cmd_blmove(c, argv):
    wherefrom = _where(argv[3])
    whereto = _where(argv[4])
    timeout = parse_timeout(argv[5])
    return _blmove(c, argv, wherefrom, whereto, timeout)


@command("brpoplpush")
def cmd_brpoplpush(c, argv):
    timeout = parse_timeout(argv[3])
    return _blmove(c, argv, RIGHT, LEFT, timeout)


# ---------------------------------------------------------------------------
# Multi-key pops


def _mpop_args(argv, numkeys_idx: int) -> tuple[list[bytes], bool, int]:
    """numkeys, keys, LEFT|RIGHT and COUNT as Redis's lmpopGenericCommand parses them."""
    numkeys = parse_ll(argv[numkeys_idx])
    if numkeys is None or numkeys <= 0:
        raise CommandError("ERR numkeys should be greater than 0")
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise CommandError(errors.SYNTAX)
    where = _where(argv[where_idx])
    count = -1
    j = where_idx + 1
    n = len(argv)
    while j < n:
        if count == -1 and argv[j].lower() == b"count" and j + 1 < n:
            j += 1
            count = parse_ll(argv[j])
            if count is None or count <= 0:
                raise CommandError("ERR count should be greater than 0")
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    return argv[numkeys_idx + 1 : where_idx], where, (1 if count == -1 else count)


def _mpop_from(c, key: bytes, v, where: bool, count: int) -> bytes:
    db = c.db
    items = _pop_many(c, db, key, v, count, where)
    c.propagate_as([b"LPOP" if where else b"RPOP", key, b"%d" % len(items)])
    return b"*2\r\n$%d\r\n%b\r\n*%d\r\n%b" % (len(key), key, len(items), b"".join(items))


@command("lmpop")
def cmd_lmpop(c, argv):
    keys, where, count = _mpop_args(argv, 1)
    db = c.db
    for key in keys:
        v = get_list(db, key)
        if v is not None:
            return _mpop_from(c, key, v, where, count)
    return _NULL_ARRAY[c.proto]


def _ready_list(c):
    """For a waiter being served: (key, list) to serve from, or None to keep waiting."""
    key = c.bstate.ready_key
    v = c.db.get(key)
    if type(v) is QuickList or type(v) is ListPack:
        return key, v
    return None


def _bpop(c, argv, left: bool) -> bytes:
    timeout = parse_timeout(argv[-1])
    db = c.db
    if c.unblocking:
        found = _ready_list(c)
        if found is None:
            return c.engine.blocking.block(c, argv[1:-1], timeout, argv, b"")
        candidates = [found]
    else:
        candidates = ((key, get_list(db, key)) for key in argv[1:-1])
    for key, v in candidates:
        if v is not None:
            it = _pop_one(c, db, key, v, left)
            c.propagate_as([b"LPOP" if left else b"RPOP", key])
            return b"*2\r\n$%d\r\n%b\r\n%b" % (len(key), key, it)
    if blocking_denied(c):
        return _NULL_ARRAY[c.proto]
    return c.engine.blocking.block(c, argv[1:-1], timeout, argv, _NULL_ARRAY[c.proto])


@command("blpop")
def cmd_blpop(c, argv):
    return _bpop(c, argv, LEFT)


@command("brpop")
def cmd_brpop(c, argv):
    return _bpop(c, argv, RIGHT)


@command("blmpop")
def cmd_blmpop(c, argv):
    keys, where, count = _mpop_args(argv, 2)
    timeout = parse_timeout(argv[1])
    if c.unblocking:
        found = _ready_list(c)
        if found is None:
            return c.engine.blocking.block(c, keys, timeout, argv, b"")
        return _mpop_from(c, found[0], found[1], where, count)
    db = c.db
    for key in keys:
        v = get_list(db, key)
        if v is not None:
            return _mpop_from(c, key, v, where, count)
    if blocking_denied(c):
        return _NULL_ARRAY[c.proto]
    return c.engine.blocking.block(c, keys, timeout, argv, _NULL_ARRAY[c.proto])
