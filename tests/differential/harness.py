"""Differential harness: send the same commands to a real redis-server and to respdb, compare replies.

A `Pair` holds one raw connection to each server, speaking the same protocol (RESP2 or RESP3).
Replies are compared byte for byte, except for the few commands whose reply Redis itself leaves
undefined or time-dependent; those are normalized first (see `NORMALIZERS`), and the normalized
forms still have to agree exactly in shape.

`Pair.check(commands)` runs a sequence and raises `Mismatch` at the first difference, naming the
command, both replies and the commands that led there.
"""

from __future__ import annotations

import codecs
import shlex
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from conftest import RawConn

Arg = bytes | str | int
Command = Sequence[Arg]


def to_bytes(a: Arg) -> bytes:
    if isinstance(a, bytes):
        return a
    if isinstance(a, int):
        return b"%d" % a
    return a.encode()


def encode_command(args: Command) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = to_bytes(a)
        parts.append(b"$%d\r\n%b\r\n" % (len(b), b))
    return b"".join(parts)


def show(args: Command) -> str:
    """A command as a redis-cli-like line, with bytes escaped and long arguments shortened."""
    out = []
    for a in args:
        b = to_bytes(a)
        s = repr(b)[2:-1] if len(b) <= 60 else repr(b[:40])[2:-1] + "...(%d bytes)" % len(b)
        out.append(s if s and " " not in s else '"%s"' % s)
    return " ".join(out)


def split_line(line: str) -> tuple[bytes, ...]:
    """One command line: whitespace-separated, quotes group, and Python escapes (\\x00, \\n)
    are decoded inside each token. `''` is the empty argument."""
    lex = shlex.shlex(line, posix=True)
    lex.whitespace_split = True
    lex.escape = ""
    lex.commenters = ""
    return tuple(codecs.escape_decode(tok.encode("latin-1"))[0] for tok in lex)


def script(*items: str | Command) -> list[Command]:
    """Commands from text (one per non-blank line, `#` lines skipped) and ready-made tuples."""
    out: list[Command] = []
    for item in items:
        if isinstance(item, str):
            for line in item.splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    out.append(split_line(line))
        else:
            out.append(item)
    return out


# ---------------------------------------------------------------------------
# Parsed replies: (type byte, payload) where payload is bytes or a list of parsed replies.

Node = tuple[str, Any]


def parse(raw: bytes) -> Node:
    node, pos = _parse(raw, 0)
    if pos != len(raw):
        raise ValueError("trailing bytes after reply: %r" % raw[pos:])
    return node


def _parse(raw: bytes, pos: int) -> tuple[Node, int]:
    end = raw.index(b"\r\n", pos)
    t = chr(raw[pos])
    head = raw[pos + 1 : end]
    pos = end + 2
    if t in "$=!":
        n = int(head)
        if n < 0:
            return (t, None), pos
        return (t, raw[pos : pos + n]), pos + n + 2
    if t in "*~>%|":
        n = int(head)
        if n < 0:
            return (t, None), pos
        count = 2 * n if t in "%|" else n
        items = []
        for _ in range(count):
            item, pos = _parse(raw, pos)
            items.append(item)
        return (t, items), pos
    return (t, head), pos


def serialize(node: Node) -> bytes:
    t, v = node
    if v is None:
        return b"%s-1\r\n" % t.encode()
    if isinstance(v, list):
        n = len(v) // 2 if t in "%|" else len(v)
        return b"%s%d\r\n" % (t.encode(), n) + b"".join(serialize(x) for x in v)
    if t in "$=!":
        return b"%s%d\r\n%b\r\n" % (t.encode(), len(v), v)
    return t.encode() + v + b"\r\n"


# ---------------------------------------------------------------------------
# Normalizers: applied to both parsed replies of one command; return (left, right) to compare.

Normalizer = Callable[[Node, Node, Command], tuple[Any, Any]]


def _sorted_elements(node: Node) -> Node:
    t, v = node
    if isinstance(v, list):
        return (t, sorted(v, key=serialize))
    return node


def sorted_reply(a: Node, b: Node, cmd: Command) -> tuple[Any, Any]:
    """KEYS and friends: same elements in any order."""
    return _sorted_elements(a), _sorted_elements(b)


def scan_reply(a: Node, b: Node, cmd: Command) -> tuple[Any, Any]:
    """SCAN: cursors are implementation details. A scan started at 0 that finished in one call
    (cursor 0 on both) must return the same set of keys; otherwise only the shape is compared
    (full iterations are checked by Pair.scan_all)."""

    def norm(n: Node, exact: bool) -> Any:
        t, v = n
        if t != "*" or not isinstance(v, list) or len(v) != 2:
            return n
        cursor, keys = v
        if exact:
            return (t, [cursor, _sorted_elements(keys)])
        return (t, [("$", b"<cursor>"), (keys[0], "<keys>")])

    started = to_bytes(cmd[1]).split(b"\0", 1)[0].lstrip(b"+-").strip(b"0") == b"" if len(cmd) > 1 else False
    both_done = started and a[0] == b[0] == "*" and a[1] and b[1] and a[1][0] == b[1][0] == ("$", b"0")
    return norm(a, bool(both_done)), norm(b, bool(both_done))


def tolerance(amount: int) -> Normalizer:
    """Integer replies that depend on the clock: equal within `amount`; negatives (-1, -2) exact."""

    def norm(a: Node, b: Node, cmd: Command) -> tuple[Any, Any]:
        if a[0] == b[0] == ":":
            x, y = int(a[1]), int(b[1])
            if x >= 0 and y >= 0 and abs(x - y) <= amount:
                return a, a
        return a, b

    return norm


def any_bulk(a: Node, b: Node, cmd: Command) -> tuple[Any, Any]:
    """RANDOMKEY: which key comes back is random; whether one does is not."""

    def norm(n: Node) -> Node:
        return ("$", b"<some key>") if n[0] == "$" and n[1] is not None else n

    return norm(a), norm(b)


def skip(a: Node, b: Node, cmd: Command) -> tuple[Any, Any]:
    return None, None


def _key(cmd: Command) -> str:
    name = to_bytes(cmd[0]).upper().decode("latin-1")
    if name in ("OBJECT", "CONFIG", "CLIENT", "DEBUG") and len(cmd) > 1:
        return name + " " + to_bytes(cmd[1]).upper().decode("latin-1")
    return name


NORMALIZERS: dict[str, Normalizer] = {
    "KEYS": sorted_reply,
    "SCAN": scan_reply,
    "TTL": tolerance(1),
    "EXPIRETIME": tolerance(1),
    "PTTL": tolerance(250),
    "PEXPIRETIME": tolerance(250),
    "OBJECT IDLETIME": tolerance(1),
    "RANDOMKEY": any_bulk,
    "HELLO": skip,  # server name, version and client id differ by design
    "CLIENT ID": skip,
}


# ---------------------------------------------------------------------------


@dataclass
class Mismatch(AssertionError):
    command: Command
    redis: bytes
    respdb: bytes
    history: list[Command]
    note: str = ""

    def __str__(self) -> str:
        lines = ["reply mismatch%s" % (" (" + self.note + ")" if self.note else "")]
        if self.history:
            lines.append("after:")
            lines.extend("    " + show(c) for c in self.history[-30:])
        lines.append("command: " + show(self.command))
        lines.append("  redis:  %r" % self.redis)
        lines.append("  respdb: %r" % self.respdb)
        return "\n".join(lines)


class Pair:
    """A connection to real Redis and one to respdb, both on the same protocol version."""

    def __init__(self, redis_port: int, respdb_port: int, proto: int = 2) -> None:
        self.proto = proto
        self.ports = (redis_port, respdb_port)
        self.history: list[Command] = []
        self._connect()

    def _connect(self) -> None:
        self.redis = RawConn(self.ports[0])
        self.respdb = RawConn(self.ports[1])
        if self.proto == 3:
            self.both("HELLO", "3")

    def close(self) -> None:
        self.redis.close()
        self.respdb.close()

    def both(self, *args: Arg) -> tuple[bytes, bytes]:
        """Send one command to both servers; return the raw replies (redis, respdb)."""
        data = encode_command(args)
        self.redis.send(data)
        self.respdb.send(data)
        return self.redis.read_reply(), self.respdb.read_reply()

    def reset(self) -> None:
        """Empty both servers and return the connections to db 0 (reconnecting if an earlier
        test left a connection broken or out of step)."""
        try:
            a, b = self.both("SELECT", "0")
            if a != b"+OK\r\n" or b != b"+OK\r\n":
                raise ConnectionError("out of step")
        except (ConnectionError, TimeoutError, OSError):
            self.close()
            self._connect()
        a, b = self.both("FLUSHALL")
        assert a == b == b"+OK\r\n", (a, b)
        self.history = []

    def run(self, *args: Arg, note: str = "") -> bytes:
        """Send one command, compare the replies, return the (redis) reply bytes."""
        try:
            a, b = self.both(*args)
        except (ConnectionError, TimeoutError) as err:
            # Most likely a crash in respdb: report it with the commands that led there.
            raise Mismatch(args, b"?", b"?", list(self.history), "connection lost: %r" % err) from err
        self.compare(args, a, b, note)
        self.history.append(args)
        return a

    def compare(self, args: Command, a: bytes, b: bytes, note: str = "") -> None:
        if a == b:
            return
        norm = NORMALIZERS.get(_key(args))
        if norm is not None:
            try:
                x, y = norm(parse(a), parse(b), args)
            except (ValueError, IndexError):
                x, y = a, b
            if x == y:
                return
        raise Mismatch(args, a, b, list(self.history), note)

    def pipeline(self, commands: Sequence[Command], note: str = "") -> None:
        """Send `commands` in one write to each server; every reply must match, in order."""
        data = b"".join(encode_command(c) for c in commands)
        self.redis.send(data)
        self.respdb.send(data)
        for c in commands:
            a, b = self.redis.read_reply(), self.respdb.read_reply()
            self.compare(c, a, b, note=note or "in a pipeline of %d" % len(commands))
            self.history.append(c)

    def check(self, commands: Iterable[Command], reset: bool = True) -> None:
        """Run a sequence from an empty keyspace; raise Mismatch at the first difference."""
        if reset:
            self.reset()
        for cmd in commands:
            self.run(*cmd)

    def scan_all(self, *options: Arg, count: int | None = None) -> list[bytes]:
        """Iterate SCAN to cursor 0 on both servers; the key sets must agree. Returns the keys."""
        opts = list(options) + (["COUNT", count] if count else [])
        results = []
        for conn in (self.redis, self.respdb):
            cursor = b"0"
            keys: set[bytes] = set()
            for _ in range(100000):
                n = parse(_cmd(conn, "SCAN", cursor, *opts))
                cursor = n[1][0][1]
                keys.update(x[1] for x in n[1][1][1])
                if cursor == b"0":
                    break
            results.append(sorted(keys))
        cmd = ("SCAN", "...", *opts)
        if results[0] != results[1]:
            raise Mismatch(cmd, repr(results[0]).encode(), repr(results[1]).encode(), list(self.history), "full scan")
        self.history.append(cmd)
        return results[0]

    def wait(self, seconds: float) -> None:
        time.sleep(seconds)
        self.history.append(("<sleep %gs>" % seconds,))


def _cmd(conn: RawConn, *args: Arg) -> bytes:
    conn.send(encode_command(args))
    return conn.read_reply()
