"""Stream commands (Redis's `stream` group), consumer groups and blocking reads included.

Values are `Stream` objects (respdb/types/streams.py). IDs are handled as ints
(`ms << 64 | seq`) and parsed with Redis's rules: `ms-seq`, a missing sequence filled in per
command, `-` and `+` where the command accepts them, `(` for exclusive range ends, and
numbers read like C's strtoull (so " 5" and "+5" are valid, as in Redis).

Propagation follows Redis 7.0: XADD goes out with the ID it generated (and an approximate
trim with the exact threshold it reached); XREADGROUP, XCLAIM and XAUTOCLAIM go out as one
`XCLAIM ... FORCE JUSTID LASTID` per pending entry they touched, plus `XGROUP SETID ...
ENTRIESREAD` / `XGROUP CREATECONSUMER` where Redis emits them, several at once wrapped in
MULTI/EXEC, so a replica ends up with the same pending entries lists.

Blocking: XREAD/XREADGROUP with BLOCK park the client on all their keys. When XADD makes a key
ready the engine re-runs the command for each waiter, oldest first, and the handler serves
only that key, as Redis does. XREADGROUP waiters are also woken when their key is deleted or
replaced (they get `-UNBLOCKED ...`) or their group destroyed (`-NOGROUP ...`).
"""

from __future__ import annotations

from respdb import errors, notify
from respdb.blocking import blocking_denied, parse_timeout
from respdb.commands.args import parse_ll
from respdb.commands.keys import help_reply
from respdb.commands.table import command
from respdb.errors import CommandError
from respdb.keyspace import now_ms
from respdb.resp import NULL2, NULL3, NULL_ARRAY2, OK, ZERO, bulk, integer
from respdb.types.streams import (
    INVALID_ENTRIES_READ,
    MAX64,
    MAX_ID,
    NACK,
    Consumer,
    Group,
    Stream,
    entry_reply,
    group_lag,
    id_bytes,
    note_delivered,
)

NOTIFY_STREAM = notify.STREAM
_NULL = (NULL2, NULL2, NULL2, NULL3)  # by protocol version
_NULL_ARRAY = (NULL_ARRAY2, NULL_ARRAY2, NULL_ARRAY2, NULL3)

INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
BLOCK_DEFAULT_COUNT = 1000  # what a blocked XREAD without COUNT is served at most
LISTPACK_MAX = 1 << 30  # STREAM_LISTPACK_MAX_SIZE

XGROUP_HELP = [
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
]

XINFO_HELP = [
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
]


# ---------------------------------------------------------------------------
# Small helpers


def _text(b: bytes) -> str:
    """A user argument inside an error message, as C's %s prints it (up to a NUL byte)."""
    return b.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _getll(b: bytes, msg: str = errors.NOT_INTEGER) -> int:
    v = parse_ll(b)
    if v is None:
        raise CommandError(msg)
    return v


def _subcommand_syntax(argv) -> CommandError:
    return CommandError(
        "ERR unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
        % (_text(argv[1][:128]), _text(argv[0]).upper())
    )


def get_stream(db, key: bytes, read: bool = False) -> Stream | None:
    """`read`: a read lookup (keyspace_hits/misses, `keymiss`); Redis 7.0 also reads for XACK/XCLAIM."""
    v = db.read(key) if read else db.get(key)
    if v is None or type(v) is Stream:
        return v
    raise CommandError(errors.WRONGTYPE)


def _id_reply(k: int) -> bytes:
    return bulk(id_bytes(k))


def _map(pairs: list[bytes], n: int, proto: int) -> bytes:
    return (b"%%%d\r\n" % n if proto == 3 else b"*%d\r\n" % (2 * n)) + b"".join(pairs)


def _propagate(c, ops: list[list[bytes]]) -> None:
    """What this call replicates instead of itself; several commands go in one MULTI/EXEC."""
    if len(ops) > 1 and not c.engine._exec_depth:
        ops = [[b"MULTI"], *ops, [b"EXEC"]]
    c.propagate_as(*ops)


def _modified(c, db, key: bytes) -> None:
    """signalModifiedKey without a dirty count or an event (WATCH, client tracking)."""
    e = c.engine
    d = e.dirty
    e.written(db, key, "", 0)
    e.dirty = d


# ---------------------------------------------------------------------------
# IDs


_SPACE = b" \t\n\v\f\r"


def _strtoull(s: bytes) -> int | None:
    """Redis's string2ull: string2ll, else C strtoull (spaces, sign, leading zeros; '-' wraps)."""
    v = parse_ll(s)
    if v is not None:
        return v if v >= 0 else None
    i = 0
    n = len(s)
    while i < n and s[i] in _SPACE:
        i += 1
    neg = False
    if i < n and s[i] in b"+-":
        neg = s[i] == 45
        i += 1
    j = i
    while j < n and 48 <= s[j] <= 57:
        j += 1
    if j == i or j != n:
        return None
    v = int(s[i:j])
    if v > MAX64:
        return None  # ERANGE
    return (-v) & MAX64 if neg else v


def parse_id(b: bytes, missing_seq: int = 0, strict: bool = False) -> int:
    """streamGenericParseIDOrReply without the `ms-*` form; returns the ID as an int key."""
    ms_part, dash, seq_part = b.partition(b"-")
    if ms_part.isdigit() and len(b) <= 41:
        # The common form: plain digits read the same by string2ll and strtoull.
        if not dash:
            ms = int(ms_part)
            if ms <= MAX64:
                return ms << 64 | missing_seq
        elif seq_part.isdigit():
            ms = int(ms_part)
            seq = int(seq_part)
            if ms <= MAX64 and seq <= MAX64:
                return ms << 64 | seq
    if len(b) > 127:
        raise CommandError(INVALID_ID)
    buf = b.split(b"\0", 1)[0]
    if buf == b"-":
        if strict:
            raise CommandError(INVALID_ID)
        return 0
    if buf == b"+":
        if strict:
            raise CommandError(INVALID_ID)
        return MAX_ID
    ms_part, dash, seq_part = buf.partition(b"-")
    ms = _strtoull(ms_part)
    if ms is None:
        raise CommandError(INVALID_ID)
    if dash:
        seq = _strtoull(seq_part)
        if seq is None:
            raise CommandError(INVALID_ID)
    else:
        seq = missing_seq
    return ms << 64 | seq


def parse_add_id(b: bytes) -> tuple[int, bool]:
    """XADD's explicit ID: (id, seq_given); `ms-*` leaves the sequence to be generated."""
    if len(b) <= 127:
        buf = b.split(b"\0", 1)[0]
        ms_part, dash, seq_part = buf.partition(b"-")
        if dash and seq_part == b"*":
            ms = _strtoull(ms_part)
            if ms is None:
                raise CommandError(INVALID_ID)
            return ms << 64, False
    return parse_id(b, 0, True), True


def parse_interval(b: bytes, missing_seq: int) -> tuple[int, bool]:
    """A range end: `(id` is exclusive (and strict), otherwise `-`/`+`/an ID."""
    if len(b) > 1 and b[:1] == b"(":
        return parse_id(b[1:], missing_seq, True), True
    return parse_id(b, missing_seq, False), False


def _range_start(b: bytes) -> int:
    k, ex = parse_interval(b, 0)
    if ex:
        if k == MAX_ID:
            raise CommandError("ERR invalid start ID for the interval")
        k += 1
    return k


def _range_end(b: bytes) -> int:
    k, ex = parse_interval(b, MAX64)
    if ex:
        if k == 0:
            raise CommandError("ERR invalid end ID for the interval")
        k -= 1
    return k


# ---------------------------------------------------------------------------
# XADD / XTRIM


class TrimArgs:
    __slots__ = ("maxlen", "minid", "approx", "limit", "strategy_idx", "id", "id_given", "seq_given", "nomkstream")

    def __init__(self) -> None:
        self.maxlen: int | None = None
        self.minid: int | None = None
        self.approx = False
        self.limit = 0
        self.strategy_idx = 0
        self.id = 0
        self.id_given = False
        self.seq_given = True
        self.nomkstream = False

    @property
    def trimming(self) -> bool:
        return self.maxlen is not None or self.minid is not None


def _obeys(c) -> bool:
    """Commands from a master link or the AOF are not limited (their trim was made exact)."""
    return getattr(c, "kind", "normal") in ("master", "aof")


def _parse_add_trim(c, argv, xadd: bool) -> tuple[TrimArgs, int]:
    """streamParseAddOrTrimArgsOrReply: options, and for XADD the ID position."""
    a = TrimArgs()
    n = len(argv)
    if xadd and n > 2:
        first = argv[2]
        if first == b"*":
            return a, 2
        if 48 <= first[0] <= 57:  # no option starts with a digit: this is the ID
            if b"*" in first:
                a.id, a.seq_given = parse_add_id(first)
            else:
                a.id = parse_id(first, 0, True)
            a.id_given = True
            return a, 2
    limit_given = False
    i = 2
    while i < n:
        more = n - 1 - i
        arg = argv[i]
        opt = arg.lower()
        if xadd and arg == b"*":
            break
        if (opt == b"maxlen" or opt == b"minid") and more:
            if a.trimming:
                raise CommandError("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt == b"~":
                a.approx = True
                i += 1
            elif more >= 2 and nxt == b"=":
                i += 1
            if opt == b"maxlen":
                maxlen = _getll(argv[i + 1])
                if maxlen < 0:
                    raise CommandError("ERR The MAXLEN argument must be >= 0.")
                a.maxlen = maxlen
            else:
                a.minid = parse_id(argv[i + 1], 0, True)
            i += 1
            a.strategy_idx = i
        elif opt == b"limit" and more:
            a.limit = _getll(argv[i + 1])
            if a.limit < 0:
                raise CommandError("ERR The LIMIT argument must be >= 0.")
            limit_given = True
            i += 1
        elif xadd and opt == b"nomkstream":
            a.nomkstream = True
        elif xadd:
            a.id, a.seq_given = parse_add_id(arg)
            a.id_given = True
            break
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if a.limit and not a.trimming:
        raise CommandError("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
    if not xadd and not a.trimming:
        raise CommandError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if _obeys(c):
        a.limit = 0
    elif limit_given:
        if not a.approx:
            raise CommandError("ERR syntax error, LIMIT cannot be used without the special ~ option")
    elif a.approx:
        per_node = c.engine.config.get_int("stream-node-max-entries")
        a.limit = 100 * per_node
        if a.limit <= 0 or a.limit > 1000000:
            a.limit = 10000
    else:
        a.limit = 0
    return a, i


def _trim(c, s: Stream, a: TrimArgs, argv: list[bytes]) -> tuple[int, list[bytes] | None]:
    """Trim as parsed; returns (removed, the argv to propagate when `~` had to be rewritten)."""
    deleted = s.trim(a.maxlen, a.minid, a.approx, a.limit)
    if not a.approx:
        return deleted, None
    new = list(argv)
    new[a.strategy_idx - 1] = b"="
    if a.maxlen is not None:
        new[a.strategy_idx] = b"%d" % s.length
    else:
        new[a.strategy_idx] = id_bytes(s.first_id_with_tombstones())
    return deleted, new


_limits_cache: dict[tuple[str, str], tuple[int, int]] = {}


def _node_limits(c) -> tuple[int, int]:
    cfg = c.engine.config
    values = cfg.values
    raw = (values["stream-node-max-bytes"], values["stream-node-max-entries"])
    got = _limits_cache.get(raw)
    if got is None:
        got = _limits_cache[raw] = (cfg.get_int("stream-node-max-bytes"), cfg.get_int("stream-node-max-entries"))
    return got


_PLAIN = TrimArgs()  # XADD key <id> field value ...: no options to parse


@command("xadd")
def cmd_xadd(c, argv):
    first = argv[2] if len(argv) > 2 else b""
    if first == b"*":
        a, idpos = _PLAIN, 2
    else:
        a, idpos = _parse_add_trim(c, argv, True)
    field_pos = idpos + 1
    nfv = len(argv) - field_pos
    if nfv < 2 or nfv % 2:
        raise CommandError(errors.wrong_args("xadd"))
    if a.id_given and a.seq_given and a.id == 0:
        raise CommandError("ERR The ID specified in XADD must be greater than 0-0")
    db = c.db
    key = argv[1]
    s = get_stream(db, key)
    if s is None:
        if a.nomkstream:
            return _NULL[c.proto]
        s = Stream()
        db.set(key, s)
    if s.last_id == MAX_ID:
        raise CommandError("ERR The stream has exhausted the last possible ID, unable to add more items")
    last = s.last_id
    if not a.id_given:
        ms = now_ms()
        new_id = ms << 64 if ms > last >> 64 else last + 1
    elif a.seq_given:
        new_id = a.id
    elif a.id >> 64 == last >> 64:
        if last & MAX64 == MAX64:
            raise CommandError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
        new_id = last + 1
    else:
        new_id = a.id
    if new_id <= last:
        raise CommandError("ERR The ID specified in XADD is equal or smaller than the target stream top item")
    fv = tuple(argv[field_pos:])
    total = sum(map(len, fv))
    if total > LISTPACK_MAX:
        raise CommandError("ERR Elements are too large to be stored")
    max_bytes, max_entries = _node_limits(c)
    s.append(new_id, fv, max_bytes, max_entries, total)
    idb = b"%d-%d" % (new_id >> 64, new_id & MAX64)
    reply = b"$%d\r\n%b\r\n" % (len(idb), idb)
    e = c.engine
    e.written(db, key, "xadd", NOTIFY_STREAM)
    out = None
    if a.trimming:
        deleted, out = _trim(c, s, a, argv)
        if deleted:
            e.notify(NOTIFY_STREAM, "xtrim", key, db.id)
    if not (a.id_given and a.seq_given):
        if out is None:
            out = list(argv)
        out[idpos] = idb
    if out is not None:
        c.propagate_as(out)
    if db.blocking:
        e.blocking.signal_ready(db, key)
    return reply


@command("xtrim")
def cmd_xtrim(c, argv):
    a, _ = _parse_add_trim(c, argv, False)
    db = c.db
    key = argv[1]
    s = get_stream(db, key)
    if s is None:
        return ZERO
    deleted, out = _trim(c, s, a, argv)
    if deleted:
        e = c.engine
        e.written(db, key, "xtrim", NOTIFY_STREAM)
        e.dirty += deleted - 1
        if out is not None:
            c.propagate_as(out)
    return integer(deleted)


# ---------------------------------------------------------------------------
# XDEL, XLEN, XRANGE, XREVRANGE


@command("xdel")
def cmd_xdel(c, argv):
    db = c.db
    key = argv[1]
    s = get_stream(db, key)
    if s is None:
        return ZERO
    ids = [parse_id(b, 0, True) for b in argv[2:]]
    deleted = 0
    for k in ids:
        if s.delete(k):
            if k > s.max_deleted:
                s.max_deleted = k
            deleted += 1
    if deleted:
        e = c.engine
        e.written(db, key, "xdel", NOTIFY_STREAM)
        e.dirty += deleted - 1
    return integer(deleted)


@command("xlen")
def cmd_xlen(c, argv):
    s = get_stream(c.db, argv[1], read=True)
    return ZERO if s is None else integer(s.length)


def _entries(items) -> bytes:
    return b"*%d\r\n" % len(items) + b"".join([entry_reply(k, fv) for k, fv in items])


def _replies(items: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(items) + b"".join(items)


def _xrange(c, argv, rev: bool) -> bytes:
    start_arg, end_arg = (argv[3], argv[2]) if rev else (argv[2], argv[3])
    start = _range_start(start_arg)
    end = _range_end(end_arg)
    count = -1
    n = len(argv)
    j = 4
    while j < n:
        if argv[j].lower() == b"count" and j + 1 < n:
            count = _getll(argv[j + 1])
            if count < 0:
                count = 0
            j += 2
        else:
            raise CommandError(errors.SYNTAX)
    s = get_stream(c.db, argv[1], read=True)
    if s is None:
        return b"*0\r\n"
    if count == 0:
        return _NULL_ARRAY[c.proto]
    return _replies(s.range_replies(start, end, max(count, 0), rev))


@command("xrange")
def cmd_xrange(c, argv):
    return _xrange(c, argv, False)


@command("xrevrange")
def cmd_xrevrange(c, argv):
    return _xrange(c, argv, True)


# ---------------------------------------------------------------------------
# Consumer group plumbing


def _lookup_group(s: Stream | None, name: bytes) -> Group | None:
    if s is None or s.groups is None:
        return None
    return s.groups.get(name)


def _create_consumer(c, db, key: bytes, g: Group, name: bytes) -> Consumer:
    cons = Consumer(name, now_ms())
    g.consumers[name] = cons
    e = c.engine
    e.dirty += 1
    e.notify(NOTIFY_STREAM, "xgroup-createconsumer", key, db.id)
    return cons


def _xclaim_argv(key: bytes, group: bytes, g: Group, idarg: bytes, nack: NACK) -> list[bytes]:
    """streamPropagateXCLAIM: an idempotent XCLAIM that recreates this pending entry."""
    return [
        b"XCLAIM", key, group, nack.consumer.name, b"0", idarg, b"TIME", b"%d" % nack.time,  # type: ignore[union-attr]
        b"RETRYCOUNT", b"%d" % nack.count, b"FORCE", b"JUSTID", b"LASTID", id_bytes(g.last_id),
    ]  # fmt: skip


def _setid_argv(key: bytes, group: bytes, g: Group) -> list[bytes]:
    return [b"XGROUP", b"SETID", key, group, id_bytes(g.last_id), b"ENTRIESREAD", b"%d" % g.entries_read]


def _deliver(c, s: Stream, key: bytes, group: bytes, g: Group, cons: Consumer, start: int, count: int,
             noack: bool, props: list) -> bytes:  # fmt: skip
    """streamReplyWithRange for a group read of new entries: move last_id, fill the PELs."""
    now = now_ms()
    out = []
    propagate_last = False
    for k, fv in s.iter_range(start, MAX_ID):
        if k > g.last_id:
            note_delivered(s, g, k)
            if noack:
                propagate_last = True
        out.append(entry_reply(k, fv))
        if not noack:
            nack = g.pel.get(k)
            if nack is None:
                nack = NACK(cons, now)
                g.pel[k] = nack
                cons.pel[k] = nack
            else:
                del nack.consumer.pel[k]
                nack.consumer = cons
                nack.time = now
                nack.count = 1
                cons.pel[k] = nack
            props.append(_xclaim_argv(key, group, g, id_bytes(k), nack))
        if count and len(out) == count:
            break
    if propagate_last:
        props.append(_setid_argv(key, group, g))
    return b"*%d\r\n" % len(out) + b"".join(out)


def _history(c, s: Stream, cons: Consumer, start: int, count: int) -> bytes:
    """A consumer re-reading its own pending entries (deleted ones come back with no fields)."""
    now = now_ms()
    out = []
    null = _NULL_ARRAY[c.proto]
    for k in cons.pel.irange(minimum=start):
        if count and len(out) >= count:
            break
        fv = s.get(k)
        if fv is None:
            idb = id_bytes(k)
            out.append(b"*2\r\n$%d\r\n%b\r\n%b" % (len(idb), idb, null))
        else:
            out.append(entry_reply(k, fv))
            nack = cons.pel[k]
            nack.time = now
            nack.count += 1
    return b"*%d\r\n" % len(out) + b"".join(out)


# ---------------------------------------------------------------------------
# XREAD / XREADGROUP


def _parse_xread(c, argv, xreadgroup: bool):
    timeout = None
    count = 0
    streams_arg = 0
    nstreams = 0
    noack = False
    group = consumer = None
    n = len(argv)
    i = 1
    while i < n:
        more = n - i - 1
        o = argv[i].lower()
        if o == b"block" and more:
            if c.kind == "script":
                raise CommandError("ERR %s command is not allowed with BLOCK option from scripts" % _text(argv[0]))
            i += 1
            timeout = parse_timeout(argv[i], seconds=False)
        elif o == b"count" and more:
            i += 1
            count = _getll(argv[i])
            if count < 0:
                count = 0
        elif o == b"streams" and more:
            streams_arg = i + 1
            nstreams = n - streams_arg
            if nstreams % 2:
                raise CommandError(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified."
                )
            nstreams //= 2
            break
        elif o == b"group" and more >= 2:
            if not xreadgroup:
                raise CommandError("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
            group = argv[i + 1]
            consumer = argv[i + 2]
            i += 2
        elif o == b"noack":
            if not xreadgroup:
                raise CommandError("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
            noack = True
        else:
            raise CommandError(errors.SYNTAX)
        i += 1
    if not streams_arg:
        raise CommandError(errors.SYNTAX)
    if xreadgroup and group is None:
        raise CommandError("ERR Missing GROUP option for XREADGROUP")
    return timeout, count, streams_arg, nstreams, noack, group, consumer


def _xread(c, argv, xreadgroup: bool) -> bytes:
    timeout, count, sa, ns, noack, group, cname = _parse_xread(c, argv, xreadgroup)
    db = c.db
    keys = argv[sa : sa + ns]
    if c.unblocking:
        return _serve_waiter(c, argv, keys, sa, ns, count, noack, group, cname, timeout)
    ids: list[int] = []
    groups: list[Group] = []
    block_argv = None
    for i in range(ns):
        key = keys[i]
        s = get_stream(db, key, read=True)
        g = None
        if group is not None:
            g = _lookup_group(s, group)
            if g is None:
                raise CommandError(
                    "NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option"
                    % (_text(key), _text(group))
                )
            groups.append(g)
        arg = argv[sa + ns + i]
        if arg == b"$":
            if xreadgroup:
                raise CommandError(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history "
                    "of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID "
                    "would just return an empty result set."
                )
            k = s.last_id if s is not None else 0
            if block_argv is None:
                block_argv = list(argv)
            block_argv[sa + ns + i] = id_bytes(k)
            ids.append(k)
            continue
        if arg == b">":
            if not xreadgroup:
                raise CommandError(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
                    "<consumer> option."
                )
            ids.append(MAX_ID)
            continue
        ids.append(parse_id(arg, 0, True))

    parts: list[bytes] = []
    props: list[list[bytes]] = []
    e = c.engine
    for i in range(ns):
        key = keys[i]
        s = db.read(key)  # Redis looks each key up twice (parsing, then reading)
        if s is None:
            continue
        gt = ids[i]
        serve = history = False
        cons = None
        if group is not None:
            g = groups[i]
            if gt != MAX_ID:
                serve = history = True
            elif s.length:
                top = s.last_valid_id()
                if top is not None and top > g.last_id:
                    serve = True
                    gt = g.last_id
        elif s.length:
            top = s.last_valid_id()
            if top is not None and top > gt:
                serve = True
        if not serve:
            continue
        if group is not None:
            # Redis 7.0 creates the consumer only when it is served something.
            cons = g.consumers.get(cname)
            if cons is None:
                cons = _create_consumer(c, db, key, g, cname)
                if noack:
                    props.append([b"XGROUP", b"CREATECONSUMER", key, group, cname])
            cons.seen = now_ms()
        start = gt + 1
        if group is None:
            body = _replies(s.range_replies(start, MAX_ID, count))
        elif history:
            body = _history(c, s, cons, start, count)
        else:
            body = _deliver(c, s, key, group, groups[i], cons, start, count, noack, props)
        if group is not None:
            e.dirty += 1
        parts.append(bulk(key) if c.proto == 3 else b"*2\r\n" + bulk(key))
        parts.append(body)
    if xreadgroup:
        _propagate(c, props)
    if parts:
        n = len(parts) // 2
        return (b"%%%d\r\n" % n if c.proto == 3 else b"*%d\r\n" % n) + b"".join(parts)
    if timeout is None or blocking_denied(c):
        return _NULL_ARRAY[c.proto]
    reply = e.blocking.block(c, list(keys), timeout, block_argv or argv, _NULL_ARRAY[c.proto])
    if xreadgroup:
        c.bstate.on_delete = True  # a deleted key or group must answer this waiter
    return reply


def _serve_waiter(c, argv, keys, sa, ns, count, noack, group, cname, timeout) -> bytes:
    """Re-run for a blocked client: serve it from the key that became ready, or keep waiting."""
    db = c.db
    e = c.engine
    key = c.bstate.ready_key
    i = keys.index(key)
    s = db.get(key)
    if group is None:
        if type(s) is not Stream:
            return e.blocking.block(c, list(keys), timeout, argv, b"")
        gt = parse_id(argv[sa + ns + i], 0, True)
        if not s.last_id > gt:
            return e.blocking.block(c, list(keys), timeout, argv, b"")
        body = _replies(s.range_replies(gt + 1, MAX_ID, count or BLOCK_DEFAULT_COUNT))
    else:
        if type(s) is not Stream:
            raise CommandError("UNBLOCKED the stream key no longer exists")
        g = _lookup_group(s, group)
        if g is None:
            raise CommandError("NOGROUP the consumer group this client was blocked on no longer exists")
        if not s.last_id > g.last_id:
            return e.blocking.block(c, list(keys), timeout, argv, b"")
        props: list[list[bytes]] = []
        dirty = e.dirty
        cons = g.consumers.get(cname)
        if cons is None:
            cons = _create_consumer(c, db, key, g, cname)
            if noack:
                props.append([b"XGROUP", b"CREATECONSUMER", key, group, cname])
        cons.seen = now_ms()
        body = _deliver(c, s, key, group, g, cons, g.last_id + 1, count or BLOCK_DEFAULT_COUNT, noack, props)
        if props and e.dirty == dirty:
            e.dirty += 1  # Redis counts nothing here, but the engine propagates only after a change
        _propagate(c, props)
    if c.proto == 3:
        return b"%1\r\n" + bulk(key) + body
    return b"*1\r\n*2\r\n" + bulk(key) + body


@command("xread")
def cmd_xread(c, argv):
    return _xread(c, argv, False)


@command("xreadgroup")
def cmd_xreadgroup(c, argv):
    return _xread(c, argv, True)


# ---------------------------------------------------------------------------
# XGROUP


def _xgroup_target(c, argv, mkstream: bool, need_group: bool) -> tuple[Stream | None, Group | None]:
    """The key and group checks every XGROUP subcommand but HELP makes, in Redis's order."""
    s = get_stream(c.db, argv[2])
    if not mkstream:
        if s is None:
            raise CommandError(
                "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use "
                "the MKSTREAM option to create an empty stream automatically."
            )
        g = _lookup_group(s, argv[3])
        if g is None and need_group:
            raise CommandError(
                "NOGROUP No such consumer group '%s' for key name '%s'" % (_text(argv[3]), _text(argv[2]))
            )
        return s, g
    return s, _lookup_group(s, argv[3])


def _entries_read_arg(b: bytes) -> int:
    v = _getll(b)
    if v < 0 and v != INVALID_ENTRIES_READ:
        raise CommandError("ERR value for ENTRIESREAD must be positive or -1")
    return v


@command("xgroup|create")
def cmd_xgroup_create(c, argv):
    n = len(argv)
    mkstream = False
    entries_read = INVALID_ENTRIES_READ
    i = 5
    while i < n:
        opt = argv[i].lower()
        if opt == b"mkstream":
            mkstream = True
            i += 1
        elif opt == b"entriesread" and i + 1 < n:
            entries_read = _entries_read_arg(argv[i + 1])
            i += 2
        else:
            raise _subcommand_syntax(argv)
    s, g = _xgroup_target(c, argv, mkstream, False)
    if n > 8:
        raise _subcommand_syntax(argv)
    if argv[4] == b"$":
        k = s.last_id if s is not None else 0
    else:
        k = parse_id(argv[4], 0, True)
    db = c.db
    key = argv[2]
    e = c.engine
    if s is None:
        s = Stream()
        db.set(key, s)
        _modified(c, db, key)
    if s.groups is None:
        s.groups = {}
    if argv[3] in s.groups:
        raise CommandError("BUSYGROUP Consumer Group name already exists")
    s.groups[argv[3]] = Group(k, entries_read)
    e.dirty += 1
    e.notify(NOTIFY_STREAM, "xgroup-create", key, db.id)
    return OK


@command("xgroup|setid")
def cmd_xgroup_setid(c, argv):
    n = len(argv)
    entries_read = INVALID_ENTRIES_READ
    if n == 7:
        if argv[5].lower() != b"entriesread":
            raise _subcommand_syntax(argv)
        entries_read = _entries_read_arg(argv[6])
    elif n != 5:
        raise _subcommand_syntax(argv)
    s, g = _xgroup_target(c, argv, False, True)
    k = s.last_id if argv[4] == b"$" else parse_id(argv[4], 0, False)
    g.last_id = k
    g.entries_read = entries_read
    e = c.engine
    e.dirty += 1
    e.notify(NOTIFY_STREAM, "xgroup-setid", argv[2], c.db.id)
    return OK


@command("xgroup|destroy")
def cmd_xgroup_destroy(c, argv):
    s, g = _xgroup_target(c, argv, False, False)
    if g is None:
        return ZERO
    del s.groups[argv[3]]
    db = c.db
    e = c.engine
    e.dirty += 1
    e.notify(NOTIFY_STREAM, "xgroup-destroy", argv[2], db.id)
    if db.blocking:
        e.blocking.signal_ready(db, argv[2])  # waiters on this group get -NOGROUP
    return b":1\r\n"


@command("xgroup|createconsumer")
def cmd_xgroup_createconsumer(c, argv):
    s, g = _xgroup_target(c, argv, False, True)
    if argv[4] in g.consumers:
        return ZERO
    _create_consumer(c, c.db, argv[2], g, argv[4])
    return b":1\r\n"


@command("xgroup|delconsumer")
def cmd_xgroup_delconsumer(c, argv):
    s, g = _xgroup_target(c, argv, False, True)
    cons = g.consumers.pop(argv[4], None)
    if cons is None:
        return ZERO
    for k in cons.pel:
        del g.pel[k]
    e = c.engine
    e.dirty += 1
    e.notify(NOTIFY_STREAM, "xgroup-delconsumer", argv[2], c.db.id)
    return integer(len(cons.pel))


@command("xgroup|help")
def cmd_xgroup_help(c, argv):
    return help_reply(XGROUP_HELP)


# ---------------------------------------------------------------------------
# XACK, XPENDING


@command("xack")
def cmd_xack(c, argv):
    s = get_stream(c.db, argv[1], read=True)
    g = _lookup_group(s, argv[2])
    if g is None:
        return ZERO
    ids = [parse_id(b, 0, True) for b in argv[3:]]
    acked = 0
    for k in ids:
        nack = g.pel.pop(k, None)
        if nack is not None:
            del nack.consumer.pel[k]
            acked += 1
    c.engine.dirty += acked
    return integer(acked)


@command("xpending")
def cmd_xpending(c, argv):
    n = len(argv)
    summary = n == 3
    if n != 3 and not 6 <= n <= 9:
        raise CommandError(errors.SYNTAX)
    minidle = 0
    count = 0
    cname = None
    if n >= 6:
        si = 3
        if argv[3].lower() == b"idle":
            minidle = _getll(argv[4])
            if n < 8:
                raise CommandError(errors.SYNTAX)
            si += 2
        count = _getll(argv[si + 2])
        if count < 0:
            count = 0
        start = _range_start(argv[si])
        end = _range_end(argv[si + 1])
        if si + 3 < n:
            cname = argv[si + 3]
    s = get_stream(c.db, argv[1], read=True)
    g = _lookup_group(s, argv[2])
    if g is None:
        raise CommandError("NOGROUP No such key '%s' or consumer group '%s'" % (_text(argv[1]), _text(argv[2])))
    if summary:
        total = len(g.pel)
        if not total:
            null = _NULL[c.proto]
            return b"*4\r\n:0\r\n" + null + null + _NULL_ARRAY[c.proto]
        parts = [b"*4\r\n", integer(total), _id_reply(g.pel.keys()[0]), _id_reply(g.pel.keys()[-1])]
        owners = [cons for cons in g.sorted_consumers() if cons.pel]
        parts.append(b"*%d\r\n" % len(owners))
        for cons in owners:
            parts.append(b"*2\r\n" + bulk(cons.name) + bulk(b"%d" % len(cons.pel)))
        return b"".join(parts)
    if cname is not None:
        cons = g.consumers.get(cname)
        if cons is None:
            return b"*0\r\n"
        pel = cons.pel
    else:
        pel = g.pel
    now = now_ms()
    out = []
    if count and start <= end:
        for k in pel.irange(start, end):
            nack = pel[k]
            if minidle and now - nack.time < minidle:
                continue
            out.append(
                b"*4\r\n" + _id_reply(k) + bulk(nack.consumer.name) + integer(max(0, now - nack.time))
                + integer(nack.count)
            )  # fmt: skip
            if len(out) == count:
                break
    return b"*%d\r\n" % len(out) + b"".join(out)


# ---------------------------------------------------------------------------
# XCLAIM, XAUTOCLAIM


def _claim_group(c, argv) -> tuple[Stream, Group]:
    s = get_stream(c.db, argv[1], read=True)
    g = _lookup_group(s, argv[2])
    if g is None:
        raise CommandError("NOGROUP No such key '%s' or consumer group '%s'" % (_text(argv[1]), _text(argv[2])))
    return s, g  # type: ignore[return-value]


def _drop_nack(g: Group, k: int, nack: NACK) -> None:
    del g.pel[k]
    if nack.consumer is not None:
        nack.consumer.pel.pop(k, None)


@command("xclaim")
def cmd_xclaim(c, argv):
    s, g = _claim_group(c, argv)
    minidle = _getll(argv[4], "ERR Invalid min-idle-time argument for XCLAIM")
    if minidle < 0:
        minidle = 0
    n = len(argv)
    j = 5
    ids = []
    while j < n:
        try:
            ids.append(parse_id(argv[j], 0, True))
        except CommandError:
            break
        j += 1
    last_id_arg = j - 1
    now = now_ms()
    force = justid = False
    retrycount = -1
    deliverytime = -1
    last_id = 0
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"force":
            force = True
        elif opt == b"justid":
            justid = True
        elif opt == b"idle" and more:
            j += 1
            deliverytime = now - _getll(argv[j], "ERR Invalid IDLE option argument for XCLAIM")
        elif opt == b"time" and more:
            j += 1
            deliverytime = _getll(argv[j], "ERR Invalid TIME option argument for XCLAIM")
        elif opt == b"retrycount" and more:
            j += 1
            retrycount = _getll(argv[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
        elif opt == b"lastid" and more:
            j += 1
            last_id = parse_id(argv[j], 0, True)
        else:
            raise CommandError("ERR Unrecognized XCLAIM option '%s'" % _text(argv[j]))
        j += 1
    propagate_last = False
    e = c.engine
    if last_id > g.last_id:
        g.last_id = last_id
        propagate_last = True
    if deliverytime != -1:
        if deliverytime < 0 or deliverytime > now:
            deliverytime = now
    else:
        deliverytime = now
    db = c.db
    key = argv[1]
    name = argv[3]
    cons = None
    out = []
    props: list[list[bytes]] = []
    for idx, k in zip(range(5, last_id_arg + 1), ids, strict=False):
        nack = g.pel.get(k)
        fv = s.get(k)
        if fv is None:
            if nack is not None:
                props.append(_xclaim_argv(key, argv[2], g, argv[idx], nack))
                propagate_last = False
                e.dirty += 1
                _drop_nack(g, k, nack)
            continue
        if force and nack is None:
            nack = NACK(None, now)
            g.pel[k] = nack
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.time < minidle:
            continue
        if cons is None:
            cons = g.consumers.get(name)
            if cons is None:
                cons = _create_consumer(c, db, key, g, name)
            cons.seen = now_ms()
        if nack.consumer is not cons and nack.consumer is not None:
            del nack.consumer.pel[k]
        nack.time = deliverytime
        if retrycount >= 0:
            nack.count = retrycount
        elif not justid:
            nack.count += 1
        if nack.consumer is not cons:
            cons.pel[k] = nack
            nack.consumer = cons
        out.append(_id_reply(k) if justid else entry_reply(k, fv))
        props.append(_xclaim_argv(key, argv[2], g, argv[idx], nack))
        propagate_last = False
        e.dirty += 1
    if propagate_last:
        props.append(_setid_argv(key, argv[2], g))
        e.dirty += 1
    _propagate(c, props)
    return b"*%d\r\n" % len(out) + b"".join(out)


AUTOCLAIM_MAX_COUNT = (2**63 - 1) // 16


@command("xautoclaim")
def cmd_xautoclaim(c, argv):
    minidle = _getll(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM")
    if minidle < 0:
        minidle = 0
    start = _range_start(argv[5])
    count = 100
    justid = False
    n = len(argv)
    j = 6
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"count" and more:
            v = parse_ll(argv[j + 1])
            if v is None or not 1 <= v <= AUTOCLAIM_MAX_COUNT:
                raise CommandError("ERR COUNT must be > 0")
            count = v
            j += 1
        elif opt == b"justid":
            justid = True
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    s, g = _claim_group(c, argv)
    if count * 16 >= 1 << 47:
        # Redis allocates COUNT IDs up front; past the address space that fails.
        raise CommandError("ERR Insufficient memory, failed allocating transient memory, COUNT too high.")
    attempts = count * 10
    now = now_ms()
    db = c.db
    key = argv[1]
    name = argv[3]
    e = c.engine
    cons = None
    out = []
    deleted = []
    props: list[list[bytes]] = []
    pel = g.pel
    cursor = start
    nxt = None
    while True:
        it = pel.irange(minimum=cursor)
        k = next(it, None)
        if k is None:
            nxt = None
            break
        if not (attempts and count):
            nxt = k
            break
        attempts -= 1
        cursor = k + 1
        nack = pel[k]
        fv = s.get(k)
        if fv is None:
            props.append(_xclaim_argv(key, argv[2], g, id_bytes(k), nack))
            e.dirty += 1
            _drop_nack(g, k, nack)
            deleted.append(k)
            count -= 1
            continue
        if minidle and now - nack.time < minidle:
            continue
        if cons is None:
            cons = g.consumers.get(name)
            if cons is None:
                cons = _create_consumer(c, db, key, g, name)
            cons.seen = now_ms()
        if nack.consumer is not cons and nack.consumer is not None:
            del nack.consumer.pel[k]
        nack.time = now
        if not justid:
            nack.count += 1
        if nack.consumer is not cons:
            cons.pel[k] = nack
            nack.consumer = cons
        out.append(_id_reply(k) if justid else entry_reply(k, fv))
        count -= 1
        props.append(_xclaim_argv(key, argv[2], g, id_bytes(k), nack))
        e.dirty += 1
    _propagate(c, props)
    parts = [b"*3\r\n", _id_reply(nxt if nxt is not None else 0), b"*%d\r\n" % len(out)]
    parts.extend(out)
    parts.append(b"*%d\r\n" % len(deleted))
    parts.extend(_id_reply(k) for k in deleted)
    return b"".join(parts)


# ---------------------------------------------------------------------------
# XSETID


@command("xsetid")
def cmd_xsetid(c, argv):
    k = parse_id(argv[2], 0, True)
    entries_added = -1
    max_xdel = 0
    n = len(argv)
    i = 3
    while i < n:
        more = n - 1 - i
        opt = argv[i].lower()
        if opt == b"entriesadded" and more:
            entries_added = _getll(argv[i + 1])
            if entries_added < 0:
                raise CommandError("ERR entries_added must be positive")
            i += 2
        elif opt == b"maxdeletedid" and more:
            max_xdel = parse_id(argv[i + 1], 0, True)
            if k < max_xdel:
                raise CommandError("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
            i += 2
        else:
            raise CommandError(errors.SYNTAX)
    db = c.db
    key = argv[1]
    s = get_stream(db, key)
    if s is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if s.length:
        top = s.last_valid_id()
        if k < top:  # type: ignore[operator]
            raise CommandError("ERR The ID specified in XSETID is smaller than the target stream top item")
        if entries_added != -1 and s.length > entries_added:
            raise CommandError("ERR The entries_added specified in XSETID is smaller than the target stream length")
    s.last_id = k
    if entries_added != -1:
        s.entries_added = entries_added
    if max_xdel:
        s.max_deleted = max_xdel
    e = c.engine
    e.dirty += 1
    e.notify(NOTIFY_STREAM, "xsetid", key, db.id)
    return OK


# ---------------------------------------------------------------------------
# XINFO


@command("xinfo|help")
def cmd_xinfo_help(c, argv):
    return help_reply(XINFO_HELP)


def _xinfo_stream_of(c, key: bytes) -> Stream:
    s = c.db.read(key)
    if s is None:
        raise CommandError(errors.NO_SUCH_KEY)
    if type(s) is not Stream:
        raise CommandError(errors.WRONGTYPE)
    return s


@command("xinfo|consumers")
def cmd_xinfo_consumers(c, argv):
    s = _xinfo_stream_of(c, argv[2])
    g = _lookup_group(s, argv[3])
    if g is None:
        raise CommandError("NOGROUP No such consumer group '%s' for key name '%s'" % (_text(argv[3]), _text(argv[2])))
    now = now_ms()
    out = [b"*%d\r\n" % len(g.consumers)]
    for cons in g.sorted_consumers():
        out.append(
            _map(
                [b"$4\r\nname\r\n", bulk(cons.name), b"$7\r\npending\r\n", integer(len(cons.pel)),
                 b"$4\r\nidle\r\n", integer(max(0, now - cons.seen))],
                3, c.proto,
            )
        )  # fmt: skip
    return b"".join(out)


def _lag(s: Stream, g: Group, proto: int) -> bytes:
    lag = group_lag(s, g)
    return _NULL[proto] if lag is None else integer(lag)


def _entries_read(g: Group, proto: int) -> bytes:
    return _NULL[proto] if g.entries_read == INVALID_ENTRIES_READ else integer(g.entries_read)


@command("xinfo|groups")
def cmd_xinfo_groups(c, argv):
    s = _xinfo_stream_of(c, argv[2])
    if not s.groups:
        return b"*0\r\n"
    p = c.proto
    out = [b"*%d\r\n" % len(s.groups)]
    for name in sorted(s.groups):
        g = s.groups[name]
        out.append(
            _map(
                [b"$4\r\nname\r\n", bulk(name), b"$9\r\nconsumers\r\n", integer(len(g.consumers)),
                 b"$7\r\npending\r\n", integer(len(g.pel)), b"$17\r\nlast-delivered-id\r\n", _id_reply(g.last_id),
                 b"$12\r\nentries-read\r\n", _entries_read(g, p), b"$3\r\nlag\r\n", _lag(s, g, p)],
                6, p,
            )
        )  # fmt: skip
    return b"".join(out)


@command("xinfo|stream")
def cmd_xinfo_stream(c, argv):
    n = len(argv)
    full = False
    count = 10
    if n > 3:
        if argv[3].lower() != b"full":
            raise _subcommand_syntax(argv)
        full = True
        if n > 4:
            if n != 6 or argv[4].lower() != b"count":
                raise _subcommand_syntax(argv)
            count = _getll(argv[5])
            if count < 0:
                count = 10
    s = _xinfo_stream_of(c, argv[2])
    p = c.proto
    head = [
        b"$6\r\nlength\r\n", integer(s.length),
        b"$15\r\nradix-tree-keys\r\n", integer(len(s.nodes)),
        b"$16\r\nradix-tree-nodes\r\n", integer(s.rax_nodes()),
        b"$17\r\nlast-generated-id\r\n", _id_reply(s.last_id),
        b"$20\r\nmax-deleted-entry-id\r\n", _id_reply(s.max_deleted),
        b"$13\r\nentries-added\r\n", integer(s.entries_added),
        b"$23\r\nrecorded-first-entry-id\r\n", _id_reply(s.first_id()),
    ]  # fmt: skip
    if not full:
        first = s.range(0, MAX_ID, 1)
        last = s.range(0, MAX_ID, 1, rev=True)
        head += [
            b"$6\r\ngroups\r\n", integer(len(s.groups) if s.groups else 0),
            b"$11\r\nfirst-entry\r\n", entry_reply(*first[0]) if first else _NULL[p],
            b"$10\r\nlast-entry\r\n", entry_reply(*last[0]) if last else _NULL[p],
        ]  # fmt: skip
        return _map(head, 10, p)
    head += [b"$7\r\nentries\r\n", _entries(s.range(0, MAX_ID, count)), b"$6\r\ngroups\r\n"]
    groups = s.groups or {}
    head.append(b"*%d\r\n" % len(groups))
    for name in sorted(groups):
        g = groups[name]
        pel = []
        for k, nack in g.pel.items():
            if count and len(pel) >= count:
                break
            pel.append(b"*4\r\n" + _id_reply(k) + bulk(nack.consumer.name) + integer(nack.time) + integer(nack.count))
        consumers = []
        for cons in g.sorted_consumers():
            cpel = []
            for k, nack in cons.pel.items():
                if count and len(cpel) >= count:
                    break
                cpel.append(b"*3\r\n" + _id_reply(k) + integer(nack.time) + integer(nack.count))
            consumers.append(
                _map(
                    [b"$4\r\nname\r\n", bulk(cons.name), b"$9\r\nseen-time\r\n", integer(cons.seen),
                     b"$9\r\npel-count\r\n", integer(len(cons.pel)),
                     b"$7\r\npending\r\n", b"*%d\r\n" % len(cpel) + b"".join(cpel)],
                    4, p,
                )
            )  # fmt: skip
        head.append(
            _map(
                [b"$4\r\nname\r\n", bulk(name), b"$17\r\nlast-delivered-id\r\n", _id_reply(g.last_id),
                 b"$12\r\nentries-read\r\n", _entries_read(g, p), b"$3\r\nlag\r\n", _lag(s, g, p),
                 b"$9\r\npel-count\r\n", integer(len(g.pel)),
                 b"$7\r\npending\r\n", b"*%d\r\n" % len(pel) + b"".join(pel),
                 b"$9\r\nconsumers\r\n", b"*%d\r\n" % len(consumers) + b"".join(consumers)],
                7, p,
            )
        )  # fmt: skip
    return _map(head, 9, p)
