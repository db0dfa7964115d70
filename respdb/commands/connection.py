"""Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH and CLIENT."""

from __future__ import annotations

import time

from respdb import client_eviction, errors, monitor
from respdb.acl import NOPASS
from respdb.client import REPLY_OFF, REPLY_ON, REPLY_SKIP, Client
from respdb.commands.args import get_int, parse_ll
from respdb.commands.keys import help_reply
from respdb.commands.table import command, container
from respdb.errors import CommandError
from respdb.keyspace import Database
from respdb.resp import OK, ONE, PONG, ZERO, bulk, bulk_array, integer, map_, null, simple, verbatim


@command("ping")
def cmd_ping(c, argv):
    if len(argv) > 2:
        raise CommandError(errors.wrong_args("ping"))
    if c.proto == 2 and c.subscribed:
        return b"*2\r\n$4\r\npong\r\n" + bulk(argv[1] if len(argv) == 2 else b"")
    if len(argv) == 1:
        return PONG
    return bulk(argv[1])


@command("echo")
def cmd_echo(c, argv):
    return bulk(argv[1])


@command("quit")
def cmd_quit(c, argv):
    c.close_after_reply = True
    return OK


@command("reset")
def cmd_reset(c, argv):
    e = c.engine
    c.db = e.dbs[0]
    c.proto = 2
    c.name = b""
    c.reply_mode = REPLY_ON
    c.no_evict = False
    e.acl.set_default_auth(c)
    c.multi = None
    c.multi_error = False
    e.unwatch_all(c)
    e.pubsub.drop(c)
    e.tracking.disable(c)
    monitor.stop(c)
    c.update_gate()
    return simple("RESET")


def _authenticate(c, user: bytes, password: bytes, cmd_name: bytes) -> None:
    # acl.authenticate() logs a failure (reason auth, object: the command as sent)
    if not c.engine.acl.authenticate(c, user, password, cmd_name):
        raise CommandError("WRONGPASS invalid username-password pair or user is disabled.")


@command("auth")
def cmd_auth(c, argv):
    if len(argv) > 3:
        raise CommandError(errors.SYNTAX)
    if len(argv) == 2:
        if c.engine.acl.default.flags & NOPASS:
            raise CommandError(
                "ERR AUTH <password> called without any password configured for the default user. "
                "Are you sure your configuration is correct?"
            )
        _authenticate(c, b"default", argv[1], argv[0])
    else:
        _authenticate(c, argv[1], argv[2], argv[0])
    return OK


def _validate_name(name: bytes) -> None:
    for ch in name:
        if ch < 0x21 or ch > 0x7E:
            raise CommandError("ERR Client names cannot contain spaces, newlines or special characters.")


@command("hello")
def cmd_hello(c, argv):
    ver = 0
    j = 1
    if len(argv) >= 2:
        v = parse_ll(argv[1])
        if v is None:
            raise CommandError("ERR Protocol version is not an integer or out of range")
        if v < 2 or v > 3:
            raise CommandError("NOPROTO unsupported protocol version")
        ver = v
        j = 2
    user = password = name = None
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].lower()
        if opt == b"auth" and more >= 2:
            user, password = argv[j + 1], argv[j + 2]
            j += 2
        elif opt == b"setname" and more:
            name = argv[j + 1]
            _validate_name(name)
            j += 1
        else:
            raise CommandError("ERR Syntax error in HELLO option '%s'" % argv[j].decode("utf-8", "surrogateescape"))
        j += 1
    if user is not None:
        _authenticate(c, user, password, argv[0])
    if not c.authenticated:
        raise CommandError(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
            "<proto> AUTH <user> <pass> option can be used to authenticate the client and select the "
            "RESP protocol version at the same time"
        )
    if name is not None:
        c.name = name
    if ver:
        c.proto = ver
        c.update_gate()
    e = c.engine
    body = [
        bulk(b"server"), bulk(b"redis"),
        bulk(b"version"), bulk(b"7.0.15"),
        bulk(b"proto"), integer(c.proto),
        bulk(b"id"), integer(c.id),
        bulk(b"mode"), bulk(b"standalone"),
        bulk(b"role"), bulk(b"master"),
        bulk(b"modules"), b"*0\r\n",
    ]  # fmt: skip
    del e
    return map_(body, 7, c.proto)


# ---------------------------------------------------------------------------
# CLIENT

container("client")

CLIENT_HELP = [
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
]


@command("client|help")
def cmd_client_help(c, argv):
    return help_reply(CLIENT_HELP)


@command("client|id")
def cmd_client_id(c, argv):
    return integer(c.id)


@command("client|setname")
def cmd_client_setname(c, argv):
    _validate_name(argv[2])
    c.name = argv[2]
    return OK


@command("client|getname")
def cmd_client_getname(c, argv):
    return bulk(c.name) if c.name else null(c.proto)


def client_info_line(c: Client, now: float | None = None, argv: list[bytes] | None = None) -> bytes:
    """CLIENT LIST's line for `c`; `argv`: the command `c` is running (CLIENT LIST or INFO
    itself, counted in its argv-mem and tot-mem as Redis counts a running command's)."""
    now = time.monotonic() if now is None else now
    flags = c.flags + ("b" if c.bstate is not None else "")
    if c.tracking is not None:
        flags += "t" + ("R" if c.tracking.broken else "") + ("B" if c.tracking.bcast else "")
    flags = flags or "N"
    if c.no_evict and "e" not in flags:
        flags = flags.replace("N", "") + "e"
    qbuf = c.qbuf
    size = getattr(c.conn, "output_size", None)
    omem = size() if size is not None else 0
    multi = c.multi
    multi_mem = client_eviction.multi_memory(c)
    return (
        b"id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d ssub=%d "
        b"multi=%d qbuf=%d qbuf-free=%d argv-mem=%d multi-mem=%d rbs=%d rbp=%d obl=0 oll=0 "
        b"omem=%d tot-mem=%d events=r cmd=%s user=%s redir=-1 resp=%d"
        % (
            c.id, c.addr.encode(), c.laddr.encode(), c.fd, c.name, int(now - c.ctime),
            max(0, Database.clock - c.last_interaction), flags.encode(), c.db.id, len(c.subs), len(c.psubs),
            len(c.ssubs), -1 if multi is None else len(multi), qbuf, max(0, c.qb_alloc - qbuf),
            sum(map(len, argv)) if argv else 0, multi_mem, c.rb_size, c.rb_peak, omem, client_eviction.usage(c, argv), (c.last_cmd.fullname if c.last_cmd else "NULL").encode(), c.user.encode(), c.proto,
        )
    )  # fmt: skip


@command("client|info")
def cmd_client_info(c, argv):
    return verbatim(client_info_line(c, argv=argv) + b"\n", c.proto)


def _client_type(c: Client) -> str:
    return c.kind


@command("client|list")
def cmd_client_list(c, argv):
    e = c.engine
    clients = list(e.clients.values())
    j = 2
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"type" and j + 1 < len(argv):
            t = argv[j + 1].lower().decode("utf-8", "surrogateescape")
            if t == "slave":
                t = "replica"
            if t not in ("normal", "master", "replica", "pubsub"):
                raise CommandError("ERR Unknown client type '%s'" % argv[j + 1].decode("utf-8", "surrogateescape"))
            clients = [x for x in clients if _client_type(x) == t]
            j += 2
        elif opt == b"id" and j + 1 < len(argv):
            ids = set()
            for a in argv[j + 1 :]:
                v = parse_ll(a)
                if v is None or v <= 0:
                    raise CommandError("ERR Invalid client ID")
                ids.add(v)
            clients = [x for x in clients if x.id in ids]
            j = len(argv)
        else:
            raise CommandError(errors.SYNTAX)
    now = time.monotonic()
    text = b"".join(
        client_info_line(x, now, argv if x is c else None) + b"\n" for x in sorted(clients, key=lambda x: x.id)
    )
    return verbatim(text, c.proto)


@command("client|kill")
def cmd_client_kill(c, argv):
    e = c.engine
    if len(argv) == 3:
        addr = argv[2].decode("utf-8", "surrogateescape")
        for x in list(e.clients.values()):
            if x.addr == addr:
                _kill(c, x)
                return OK
        raise CommandError("ERR No such client")
    if len(argv) % 2 != 0:
        raise CommandError(errors.SYNTAX)
    f_id = f_addr = f_laddr = f_type = f_user = None
    skipme = True
    for j in range(2, len(argv), 2):
        opt = argv[j].lower()
        val = argv[j + 1]
        sval = val.decode("utf-8", "surrogateescape")
        if opt == b"id":
            v = parse_ll(val)
            if v is None or v <= 0:
                raise CommandError("ERR client-id should be greater than 0")
            f_id = v
        elif opt == b"type":
            t = sval.lower()
            if t == "slave":
                t = "replica"
            if t not in ("normal", "master", "replica", "pubsub"):
                raise CommandError("ERR Unknown client type '%s'" % sval)
            f_type = t
        elif opt == b"addr":
            f_addr = sval
        elif opt == b"laddr":
            f_laddr = sval
        elif opt == b"user":
            if e.acl.get(val) is None:
                raise CommandError("ERR No such user '%s'" % sval)
            f_user = sval
        elif opt == b"skipme":
            if val.lower() == b"yes":
                skipme = True
            elif val.lower() == b"no":
                skipme = False
            else:
                raise CommandError(errors.SYNTAX)
        else:
            raise CommandError(errors.SYNTAX)
    killed = 0
    for x in list(e.clients.values()):
        if f_id is not None and x.id != f_id:
            continue
        if f_addr is not None and x.addr != f_addr:
            continue
        if f_laddr is not None and x.laddr != f_laddr:
            continue
        if f_type is not None and _client_type(x) != f_type:
            continue
        if f_user is not None and x.user != f_user:
            continue
        if x is c and skipme:
            continue
        _kill(c, x)
        killed += 1
    return integer(killed)


def _kill(me: Client, target: Client) -> None:
    if target is me:
        me.close_after_reply = True
    else:
        target.kill()


@command("client|no-evict")
def cmd_client_no_evict(c, argv):
    v = argv[2].lower()
    if v == b"on":
        c.no_evict = True
    elif v == b"off":
        c.no_evict = False
    else:
        raise CommandError(errors.SYNTAX)
    return OK


@command("client|reply")
def cmd_client_reply(c, argv):
    v = argv[2].lower()
    if v == b"on":
        c.reply_mode = REPLY_ON
        return OK
    if v == b"off":
        c.reply_mode = REPLY_OFF
        return b""
    if v == b"skip":
        c.reply_mode = REPLY_SKIP
        return b""
    raise CommandError(errors.SYNTAX)


__all__ = ["ONE", "ZERO", "bulk_array", "get_int"]


@command("client|unblock")
def cmd_client_unblock(c, argv):
    target_id = get_int(argv[2])
    as_error = False
    if len(argv) == 4:
        opt = argv[3].lower()
        if opt == b"timeout":
            as_error = False
        elif opt == b"error":
            as_error = True
        else:
            raise CommandError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    e = c.engine
    target = e.clients.get(target_id)
    if target is None or target.bstate is None:
        return ZERO
    if as_error:
        reply = e._error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    else:
        reply = target.bstate.timeout_reply
    e.blocking.unblock(target, reply)
    return ONE


@command("client|pause")
def cmd_client_pause(c, argv):
    from respdb.blocking import parse_timeout

    timeout = parse_timeout(argv[2], seconds=False)
    mode = "all"
    if len(argv) == 4:
        m = argv[3].lower()
        if m == b"write":
            mode = "write"
        elif m != b"all":
            raise CommandError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    elif len(argv) > 4:
        raise CommandError(errors.SYNTAX)
    c.engine.pause(mode, time.monotonic() + timeout)
    return OK


@command("client|unpause")
def cmd_client_unpause(c, argv):
    c.engine.unpause()
    return OK


# ---------------------------------------------------------------------------
# Client-side caching


def _prefixes_overlap(a: bytes, b: bytes) -> bool:
    return a.startswith(b) or b.startswith(a)


@command("client|tracking")
def cmd_client_tracking(c, argv):
    redirect = 0
    bcast = optin = optout = noloop = False
    prefixes: list[bytes] = []
    j = 3
    n = len(argv)
    while j < n:
        opt = argv[j].lower()
        more = n - 1 - j
        if opt == b"redirect" and more:
            j += 1
            if redirect != 0:
                raise CommandError("ERR A client can only redirect to a single other client")
            redirect = get_int(argv[j])
            if redirect not in c.engine.clients:
                raise CommandError("ERR The client ID you want redirect to does not exist")
        elif opt == b"bcast":
            bcast = True
        elif opt == b"optin":
            optin = True
        elif opt == b"optout":
            optout = True
        elif opt == b"noloop":
            noloop = True
        elif opt == b"prefix" and more:
            j += 1
            prefixes.append(argv[j])
        else:
            raise CommandError(errors.SYNTAX)
        j += 1
    mode = argv[2].lower()
    tr = c.engine.tracking
    if mode == b"on":
        if not bcast and prefixes:
            raise CommandError("ERR PREFIX option requires BCAST mode to be enabled")
        st = c.tracking
        if st is not None and st.bcast != bcast:
            raise CommandError(
                "ERR You can't switch BCAST mode on/off before disabling tracking for this client, "
                "and then re-enabling it with a different mode."
            )
        if bcast and (optin or optout):
            raise CommandError("ERR OPTIN and OPTOUT are not compatible with BCAST")
        if optin and optout:
            raise CommandError("ERR You can't specify both OPTIN mode and OPTOUT mode")
        if st is not None and ((optin and st.optout) or (optout and st.optin)):
            raise CommandError(
                "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, "
                "and then re-enabling it with a different mode."
            )
        if bcast:
            existing = st.prefixes if st is not None else []
            for i, p in enumerate(prefixes):
                for old in existing:
                    if _prefixes_overlap(old, p):
                        raise CommandError(
                            "ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a single "
                            "client must not overlap." % (_s(p), _s(old))
                        )
                for other in prefixes[i + 1 :]:
                    if _prefixes_overlap(p, other):
                        raise CommandError(
                            "ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a "
                            "single client must not overlap." % (_s(p), _s(other))
                        )
        tr.enable(c, redirect, bcast, optin, optout, noloop, prefixes)
    elif mode == b"off":
        tr.disable(c)
    else:
        raise CommandError(errors.SYNTAX)
    return OK


def _s(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


@command("client|caching")
def cmd_client_caching(c, argv):
    st = c.tracking
    if st is None:
        raise CommandError(
            "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
            "OPTOUT mode enabled"
        )
    opt = argv[2].lower()
    if opt == b"yes":
        if not st.optin:
            raise CommandError("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
    elif opt == b"no":
        if not st.optout:
            raise CommandError("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
    else:
        raise CommandError(errors.SYNTAX)
    st.caching = True
    return OK


@command("client|getredir")
def cmd_client_getredir(c, argv):
    return integer(c.tracking.redirect if c.tracking is not None else -1)


@command("client|trackinginfo")
def cmd_client_trackinginfo(c, argv):
    from respdb.resp import set_

    st = c.tracking
    flags = [b"on" if st is not None else b"off"]
    if st is not None:
        if st.bcast:
            flags.append(b"bcast")
        if st.optin:
            flags.append(b"optin")
            if st.caching:
                flags.append(b"caching-yes")
        if st.optout:
            flags.append(b"optout")
            if st.caching:
                flags.append(b"caching-no")
        if st.noloop:
            flags.append(b"noloop")
        if st.broken:
            flags.append(b"broken_redirect")
    prefixes = st.prefixes if st is not None else []
    body = [
        bulk(b"flags"),
        set_([bulk(f) for f in flags], c.proto),
        bulk(b"redirect"),
        integer(st.redirect if st is not None else -1),
        bulk(b"prefixes"),
        b"*%d\r\n" % len(prefixes) + b"".join(bulk(p) for p in prefixes),
    ]
    return map_(body, 3, c.proto)
