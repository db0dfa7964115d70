"""The slow log (SLOWLOG) and the one check the request path makes for it.

The engine times every command for INFO commandstats already. After a command it compares
that duration with `engine.slow_ns`, the lower of the slow log threshold and the latency
monitor threshold (both in nanoseconds; a huge number when off), and only a command at or
over it comes here (`observe`). So the cost on the request path is one comparison.

What gets logged follows Redis 7.0's call(): the argv the client sent, cut to 32 arguments
and 128 bytes per argument, the client's address and name at the time the command ends;
not EXEC (the commands it runs are logged one by one), not a command that blocked until it
is served, and secrets (AUTH passwords and the like) replaced with "(redacted)".
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

from respdb.commands.table import FAST, SKIP_SLOWLOG

if TYPE_CHECKING:
    from collections.abc import Sequence

    from respdb.engine import Engine

OFF = 1 << 62  # a threshold no duration reaches

MAX_ARGC = 32  # SLOWLOG_ENTRY_MAX_ARGC
MAX_STRING = 128  # SLOWLOG_ENTRY_MAX_STRING
REDACTED = b"(redacted)"

# CONFIG SET parameters whose values are secrets (Redis 7.0's SENSITIVE_CONFIG).
SENSITIVE_CONFIGS = frozenset((b"requirepass", b"masterauth", b"masteruser"))


class Entry:
    __slots__ = ("id", "time", "duration", "argv", "peer", "name")

    def __init__(self, ident: int, when: int, duration: int, argv: list[bytes], peer: bytes, name: bytes) -> None:
        self.id = ident
        self.time = when
        self.duration = duration
        self.argv = argv
        self.peer = peer
        self.name = name

    def encode(self) -> bytes:
        parts = [b"*6\r\n:%d\r\n:%d\r\n:%d\r\n*%d\r\n" % (self.id, self.time, self.duration, len(self.argv))]
        for a in self.argv:
            parts.append(b"$%d\r\n%b\r\n" % (len(a), a))
        parts.append(b"$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(self.peer), self.peer, len(self.name), self.name))
        return b"".join(parts)


class SlowLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.entries: deque[Entry] = deque()  # newest first
        self.next_id = 0
        self.slower_than = 0  # µs; negative: off
        self.max_len = 128
        self.threshold_ns = OFF
        engine.config.listeners.append(self._config_changed)
        engine.slowlog = self  # (configure() reads it back to set engine.slow_ns)
        self.configure()

    def configure(self) -> None:
        cfg = self.engine.config
        self.slower_than = cfg.get_int("slowlog-log-slower-than")
        self.max_len = cfg.get_int("slowlog-max-len")
        self.threshold_ns = OFF if self.slower_than < 0 else self.slower_than * 1000
        update_threshold(self.engine)

    def _config_changed(self, name: str, value: str) -> None:
        if name in ("slowlog-log-slower-than", "slowlog-max-len"):
            self.configure()
            # Redis trims the log after every command it could log, CONFIG SET included.
            if self.slower_than >= 0:
                self.trim()

    def trim(self) -> None:
        entries = self.entries
        while len(entries) > self.max_len:
            entries.pop()

    def push(self, c: Any, argv: list[bytes], duration_us: int) -> None:
        n = len(argv)
        redact = _REDACTORS.get(argv[0].lower()) if n > 1 else None
        hidden = redact(argv) if redact is not None else ()
        kept = min(n, MAX_ARGC)
        out = []
        for j in range(kept):
            if kept != n and j == kept - 1:
                out.append(b"... (%d more arguments)" % (n - kept + 1))
            elif j in hidden:
                out.append(REDACTED)
            else:
                a = argv[j]
                if len(a) > MAX_STRING:
                    a = a[:MAX_STRING] + b"... (%d more bytes)" % (len(a) - MAX_STRING)
                out.append(a)
        peer = (c.addr or "?:0").encode()
        entry = Entry(self.next_id, int(time.time()), duration_us, out, peer, bytes(c.name or b""))
        self.next_id += 1
        self.entries.appendleft(entry)
        self.trim()

    def reset(self) -> None:
        self.entries.clear()


def update_threshold(engine: Engine) -> None:
    """engine.slow_ns: the duration from which a command leaves the fast path."""
    sl = engine.__dict__.get("slowlog")
    lat = engine.__dict__.get("latency")
    engine.slow_ns = min(sl.threshold_ns if sl else OFF, lat.threshold_ns if lat else OFF, lat.floor_ns if lat else OFF)


def observe(engine: Engine, c: Any, cmd: Any, argvs: Sequence[list[bytes]], ns: int) -> None:
    """Requests that each took `ns` nanoseconds, at or over engine.slow_ns (and not blocked):
    one request, or the requests of a pipelined run that shared one timing, which then all
    fall in the same histogram bucket."""
    lat = engine.latency
    if ns >= lat.floor_ns:
        cmd.hist[ns.bit_length()] += len(argvs)
    sl = engine.slowlog
    if ns >= sl.threshold_ns and not cmd.flags & SKIP_SLOWLOG and c.kind != "aof":
        for argv in argvs:
            sl.push(c, argv, ns // 1000)
    if ns >= lat.threshold_ns:
        for _ in argvs:
            lat.add("fast-command" if cmd.flags & FAST else "command", ns // 1_000_000)


# -- redaction: which arguments each command hides, as Redis 7.0's handlers decide ----------


def _redact_auth(argv: list[bytes]) -> tuple[int, ...]:
    # AUTH with too many arguments fails before it hides anything.
    return tuple(range(1, len(argv))) if len(argv) <= 3 else ()


def _redact_hello(argv: list[bytes]) -> tuple[int, ...]:
    from respdb.commands.args import parse_ll

    ver = parse_ll(argv[1])
    if ver is None or not 2 <= ver <= 3:
        return ()
    out: list[int] = []
    j = 2
    n = len(argv)
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt == b"auth" and more >= 2:
            out += (j + 1, j + 2)
            j += 3
        elif opt == b"setname" and more:
            j += 2
        else:
            break  # a syntax error ends the parsing
    return tuple(out)


def _redact_migrate(argv: list[bytes]) -> tuple[int, ...]:
    out: list[int] = []
    j = 6
    n = len(argv)
    while j < n:
        more = n - 1 - j
        opt = argv[j].lower()
        if opt in (b"copy", b"replace"):
            j += 1
        elif opt == b"auth" and more >= 1:
            out.append(j + 1)
            j += 2
        elif opt == b"auth2" and more >= 2:
            out += (j + 1, j + 2)
            j += 3
        else:
            break  # KEYS (the rest are key names) or a syntax error
    return tuple(out)


def _redact_config(argv: list[bytes]) -> tuple[int, ...]:
    if argv[1].lower() != b"set" or len(argv) < 4 or len(argv) % 2:
        return ()
    from respdb.config import ALIASES

    out = []
    for j in range(2, len(argv) - 1, 2):
        name = argv[j].lower()
        name = ALIASES.get(name.decode("latin-1"), name.decode("latin-1")).encode("latin-1")
        if name in SENSITIVE_CONFIGS:
            out.append(j + 1)
    return tuple(out)


def _redact_acl(argv: list[bytes]) -> tuple[int, ...]:
    # ACL SETUSER hides the user name and every rule.
    return tuple(range(2, len(argv))) if argv[1].lower() == b"setuser" else ()


_REDACTORS = {
    b"auth": _redact_auth,
    b"hello": _redact_hello,
    b"migrate": _redact_migrate,
    b"config": _redact_config,
    b"acl": _redact_acl,
}
