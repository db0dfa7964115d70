"""MONITOR: every command executed by anyone, as one status line per command.

Redis 7.0 feeds its monitors from call(), after the command ran (so SELECT shows the new
db and a failed command is still shown), from the arguments as the client sent them, with
passwords replaced by "(redacted)". Rejected commands (unknown, wrong arity, refused by a
pre-call check) never reach call() and are not shown; neither are ADMIN commands nor the
SKIP_MONITOR ones (EVAL, EVALSHA, FCALL and their _RO forms), which show themselves
*before* running so that the commands their script calls, shown as `[<db> lua]`, come
after them. A command re-run to serve a blocked client is shown once, when it blocked.

The engine only tests `engine.monitors` (a list, empty when nobody monitors) on its
request path; everything else lives here. Lines are formatted once and handed to each
monitor's connection as out-of-band output; a monitor's own commands get their line right
after their reply, as in Redis.

A line is a simple string in RESP2 and RESP3 alike:
    +<unix seconds>.<microseconds> [<db> <client address>] "arg" "arg" ...
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from respdb.commands.table import ADMIN, MAY_REPLICATE, READONLY, SKIP_MONITOR, WRITE

if TYPE_CHECKING:
    from respdb.client import Client
    from respdb.engine import Engine

NOT_SHOWN = ADMIN | SKIP_MONITOR
KEYSPACE = READONLY | WRITE | MAY_REPLICATE  # what a monitor (a replica to Redis) may not run
REPLICA_KEYSPACE_ERR = "ERR Replica can't interact with the keyspace"
DENY_BLOCKING_ERR = "ERR MONITOR isn't allowed for DENY BLOCKING client"
REDACTED = b"(redacted)"

# sdscatrepr: printable ASCII as is, a few C escapes, \xHH for the rest.
_REPR = [b"\\x%02x" % i for i in range(256)]
for _i in range(0x20, 0x7F):
    _REPR[_i] = bytes((_i,))
for _ch, _esc in ((b"\\", b"\\\\"), (b'"', b'\\"'), (b"\n", b"\\n"), (b"\r", b"\\r"), (b"\t", b"\\t")):
    _REPR[_ch[0]] = _esc
_REPR[7] = b"\\a"
_REPR[8] = b"\\b"
# Bytes that print as themselves: an argument made only of these needs no escaping.
_PLAIN = bytes(i for i in range(0x20, 0x7F) if i not in b'\\"')


def quote(arg: bytes) -> bytes:
    """An argument as Redis's sdscatrepr writes it, quotes included."""
    if not arg.translate(None, _PLAIN):
        return b'"' + arg + b'"'
    return b'"' + b"".join([_REPR[b] for b in arg]) + b'"'


# -- monitor mode ------------------------------------------------------------


def start(c: Client) -> bool:
    """Make `c` a monitor; False when the request is to be ignored (already one, or a replica)."""
    if "O" in c.flags or c.kind == "replica":
        return False
    c.flags += "O"
    c.engine.monitors.append(c)
    c.update_gate()  # a monitor may not touch the keyspace (Engine._check_gates)
    return True


def stop(c: Client) -> None:
    """Leave monitor mode (RESET, disconnection)."""
    if "O" not in c.flags:
        return
    c.flags = c.flags.replace("O", "")
    try:
        c.engine.monitors.remove(c)
    except ValueError:
        pass
    c.update_gate()


def refused(c: Client, cmd: Any) -> bool:
    """The pre-call check Redis applies to replicas and monitors: no keyspace commands."""
    if cmd.flags & KEYSPACE:
        return True
    if cmd.fullname == "exec" and c.multi:
        return any(q.flags & KEYSPACE for q, _ in c.multi)
    return False


# -- feeding -------------------------------------------------------------------


def redacted(cmd: Any, argv: list[bytes]) -> list[bytes]:
    """The arguments with passwords hidden, as Redis's AUTH, HELLO and MIGRATE redact them
    while parsing (so a request they reject before reaching the password keeps it)."""
    name = cmd.fullname
    if name == "auth":
        if len(argv) > 3:
            return argv  # syntax error before redaction
        return [argv[0]] + [REDACTED] * (len(argv) - 1)
    if name == "hello":
        return _redact_hello(argv)
    if name == "migrate":
        return _redact_migrate(argv)
    return argv


def _redact_hello(argv: list[bytes]) -> list[bytes]:
    if len(argv) >= 2:
        try:
            ver = int(argv[1])
        except ValueError:
            return argv
        if ver < 2 or ver > 3:
            return argv
    out = list(argv)
    j = 2
    while j < len(out):
        more = len(out) - 1 - j
        opt = out[j].lower()
        if opt == b"auth" and more >= 2:
            out[j + 1] = out[j + 2] = REDACTED
            j += 3
        elif opt == b"setname" and more >= 1:
            j += 2
        else:
            break
    return out


def _redact_migrate(argv: list[bytes]) -> list[bytes]:
    out = list(argv)
    j = 6
    while j < len(out):
        more = len(out) - 1 - j
        opt = out[j].lower()
        if opt in (b"copy", b"replace"):
            j += 1
        elif opt == b"auth":
            if not more:
                break
            out[j + 1] = REDACTED
            j += 2
        elif opt == b"auth2":
            if more < 2:
                break
            out[j + 1] = out[j + 2] = REDACTED
            j += 3
        else:
            break  # KEYS ends the options; anything else is a syntax error
    return out


def line(engine: Engine, c: Client, argv: list[bytes]) -> bytes:
    ns = time.time_ns()
    if c.kind == "script":
        origin = b"%d lua" % c.db.id
    elif c.laddr and c.addr == c.laddr and c.addr.endswith(":0"):
        # a Unix socket client (its address is the socket path, port 0)
        origin = b"%d unix:%s" % (c.db.id, engine.config["unixsocket"].encode())
    else:
        origin = b"%d %s" % (c.db.id, c.addr.encode())
    return b"+%d.%06d [%s] %s\r\n" % (ns // 1_000_000_000, ns // 1000 % 1_000_000, origin, b" ".join(map(quote, argv)))


def feed(engine: Engine, c: Client, cmd: Any, argv: list[bytes], reply: bytes) -> bytes:
    """After `cmd` ran for `c`: tell the monitors. Returns `reply`, with the line appended
    when `c` is itself a monitor (its own commands are shown after their reply)."""
    if cmd.flags & NOT_SHOWN or c.unblocking or c.kind == "aof":
        return reply
    data = line(engine, c, redacted(cmd, argv))
    for m in engine.monitors:
        if m is c and not c.in_multi:
            reply += data
        else:
            send(m, data)
    return reply


def feed_before(engine: Engine, c: Client, argv: list[bytes]) -> None:
    """EVAL and friends show themselves before their script runs."""
    if c.kind == "aof":
        return
    data = line(engine, c, argv)
    for m in engine.monitors:
        send(m, data)


def send(m: Client, data: bytes) -> None:
    if m.conn is not None:
        m.conn.write(data)
    else:
        m.pushed.append(data)  # embedded clients collect out-of-band output


def shows_itself(handler: Any) -> Any:
    """Wrap a SKIP_MONITOR command's handler so that it feeds the monitors before running."""

    def run(c: Client, argv: list[bytes]) -> bytes:
        e = c.engine
        if e.monitors and not c.unblocking:
            feed_before(e, c, argv)
        return handler(c, argv)

    run.__wrapped__ = handler  # type: ignore[attr-defined]
    return run
