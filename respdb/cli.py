"""respdb-cli: a command-line client that looks and behaves like redis-cli 7.0.

`respdb-cli [options] cmd args...` runs one command and prints its reply; without a command it
reads commands from a prompt (line editing and history through Python's readline) or, when stdin
is not a terminal, one command per line from stdin. Reply formatting follows redis-cli exactly:
the "standard" form (`(integer) 1`, `"bar"`, numbered nested arrays) when stdout is a terminal or
with --no-raw, the bare "raw" form otherwise or with --raw.

Replies are read by a small RESP2/RESP3 reader of our own rather than hiredis: redis-cli prints a
status reply differently from a bulk string (`OK` vs `"OK"`) and shows verbatim strings and big
numbers by type, and hiredis-py hands all of these back as the same `bytes`.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from collections.abc import Callable

from respdb import REDIS_VERSION, __version__
from respdb.resp import split_inline

HISTFILE_ENV = "RESPDB_CLI_HISTFILE"
HISTFILE_DEFAULT = ".respdb_cli_history"
AUTH_ENV = "RESPDB_CLI_AUTH"
HISTORY_MAX = 100  # what redis-cli's line editor keeps

# ---------------------------------------------------------------------------
# Replies


STATUS, ERROR, INTEGER, STRING, NIL, DOUBLE, BOOL, BIGNUM, VERB, ARRAY, SET, MAP, PUSH = range(13)
AGGREGATES = (ARRAY, SET, MAP, PUSH)


class Reply:
    """One decoded reply. `val` is bytes for text types, int for integers, bool for booleans,
    a list of Reply for aggregates (a map holds keys and values alternately)."""

    __slots__ = ("kind", "val")

    def __init__(self, kind: int, val=None) -> None:
        self.kind = kind
        self.val = val

    def __repr__(self) -> str:
        return f"Reply({self.kind}, {self.val!r})"


class ConnError(Exception):
    """The connection failed or was closed; the message is what redis-cli shows after 'Error: '."""


class ReplyProtocolError(Exception):
    pass


def encode_command(argv: list[bytes]) -> bytes:
    parts = [b"*%d\r\n" % len(argv)]
    for a in argv:
        parts.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(parts)


class Connection:
    """A blocking socket plus a RESP reply reader."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.pos = 0

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, argv: list[bytes]) -> None:
        try:
            self.sock.sendall(encode_command(argv))
        except OSError as e:
            raise ConnError(e.strerror or str(e))

    def call(self, argv: list[bytes]) -> Reply:
        self.send(argv)
        return self.read()

    def _fill(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except OSError as e:
            raise ConnError(e.strerror or str(e))
        if not chunk:
            raise ConnError("Server closed the connection")
        if self.pos:
            del self.buf[: self.pos]
            self.pos = 0
        self.buf += chunk

    def _line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos : i])
                self.pos = i + 2
                return line
            self._fill()

    def _take(self, n: int) -> bytes:
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n + 2
        return data

    def _count(self, rest: bytes) -> int:
        try:
            return int(rest)
        except ValueError:
            raise ReplyProtocolError("Bad integer value")

    def read(self) -> Reply:
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"$":
            n = self._count(rest)
            return Reply(NIL) if n < 0 else Reply(STRING, self._take(n))
        if t == b"+":
            return Reply(STATUS, rest)
        if t == b"-":
            return Reply(ERROR, rest)
        if t == b":":
            return Reply(INTEGER, self._count(rest))
        if t in b"*~>" and t:
            n = self._count(rest)
            if n < 0:
                return Reply(NIL)
            kind = ARRAY if t == b"*" else SET if t == b"~" else PUSH
            return Reply(kind, [self.read() for _ in range(n)])
        if t == b"%":
            n = self._count(rest)
            return Reply(MAP, [self.read() for _ in range(2 * n)])
        if t == b"_":
            return Reply(NIL)
        if t == b",":
            return Reply(DOUBLE, rest)
        if t == b"#":
            return Reply(BOOL, rest == b"t")
        if t == b"(":
            return Reply(BIGNUM, rest)
        if t == b"=":
            data = self._take(self._count(rest))
            return Reply(VERB, data[4:])  # drop the "txt:" format prefix
        if t == b"!":
            return Reply(ERROR, self._take(self._count(rest)))
        if t == b"|":  # attributes describe the reply that follows; redis-cli does not show them
            for _ in range(2 * self._count(rest)):
                self.read()
            return self.read()
        raise ReplyProtocolError('Protocol error, got "%s" as reply type byte' % line[:1].decode("latin-1"))


# ---------------------------------------------------------------------------
# Formatting (byte for byte what redis-cli prints)


def _repr_table() -> list[bytes]:
    table = []
    for c in range(256):
        if c in (0x22, 0x5C):
            table.append(b"\\" + bytes([c]))
        elif 0x20 <= c < 0x7F:
            table.append(bytes([c]))
        else:
            special = {10: b"\\n", 13: b"\\r", 9: b"\\t", 7: b"\\a", 8: b"\\b"}.get(c)
            table.append(special or b"\\x%02x" % c)
    return table


_REPR = _repr_table()
_PLAIN = re.compile(rb'[^\x20-\x7e]|["\\]')


def quote(b: bytes) -> bytes:
    """A bulk string as redis-cli shows it: quoted, with non-printable bytes escaped."""
    if not _PLAIN.search(b):
        return b'"' + b + b'"'
    return b'"' + b"".join([_REPR[c] for c in b]) + b'"'


_EMPTY = {ARRAY: b"(empty array)\n", MAP: b"(empty hash)\n", SET: b"(empty set)\n", PUSH: b"(empty push)\n"}
_NUMSEP = {SET: b"~", MAP: b"#"}


def format_tty(r: Reply, prefix: bytes = b"") -> bytes:
    k = r.kind
    if k == STRING:
        return quote(r.val) + b"\n"
    if k == STATUS:
        return r.val + b"\n"
    if k == INTEGER:
        return b"(integer) %d\n" % r.val
    if k == NIL:
        return b"(nil)\n"
    if k == ERROR:
        return b"(error) " + r.val + b"\n"
    if k == DOUBLE:
        return b"(double) " + r.val + b"\n"
    if k == BOOL:
        return b"(true)\n" if r.val else b"(false)\n"
    if k == BIGNUM:
        return b"(big number) " + r.val + b"\n"
    if k == VERB:
        return r.val + b"\n"
    items = r.val
    if not items:
        return _EMPTY[k]
    is_map = k == MAP
    count = len(items) // 2 if is_map else len(items)
    width = len(str(count))
    inner = prefix + b" " * (width + 2)
    sep = _NUMSEP.get(k, b")")
    out = []
    step = 2 if is_map else 1
    for n, i in enumerate(range(0, len(items), step)):
        # The first entry follows whatever the caller already printed on this line.
        out.append(b"%s%*d%s " % (prefix if n else b"", width, n + 1, sep))
        out.append(format_tty(items[i], inner))
        if is_map:
            out[-1] = out[-1][:-1] + b" => "
            value = format_tty(items[i + 1], inner)
            if items[i + 1].kind in AGGREGATES and value.count(b"\n") > 1:
                out.append(b"\n" + inner)  # a multi-line value starts on its own line
            out.append(value)
    return b"".join(out)


def format_raw(r: Reply, mb_delim: bytes = b"\n") -> bytes:
    k = r.kind
    if k in (STRING, STATUS, VERB, DOUBLE, BIGNUM):
        return r.val
    if k == INTEGER:
        return b"%d" % r.val
    if k == NIL:
        return b""
    if k == ERROR:
        return r.val + b"\n"
    if k == BOOL:
        return b"(true)" if r.val else b"(false)"
    items = r.val
    if k == MAP:
        pairs = (
            format_raw(items[i], mb_delim) + b" " + format_raw(items[i + 1], mb_delim) for i in range(0, len(items), 2)
        )
        return mb_delim.join(pairs)
    return mb_delim.join(format_raw(e, mb_delim) for e in items)


def is_invalidation(r: Reply) -> bool:
    v = r.val
    return (
        r.kind == PUSH
        and len(v) == 2
        and v[0].kind in (STRING, STATUS)
        and v[0].val == b"invalidate"
        and v[1].kind == ARRAY
    )


def format_invalidation(r: Reply) -> bytes:
    keys = b", ".join(b"'" + key.val + b"'" for key in r.val[1].val)
    return b"-> invalidate: " + keys + b"\n"


def verbatim_output(argv: list[bytes]) -> bool:
    """Commands whose text reply redis-cli prints as is, even in the standard format."""
    n = len(argv)
    cmd = argv[0].lower()
    sub = argv[1].lower() if n >= 2 else b""
    if cmd in (b"info", b"lolwut"):
        return True
    if cmd == b"debug" and sub in (b"htstats", b"htstats-key", b"client-eviction"):
        return True
    if cmd == b"memory" and sub in (b"malloc-stats", b"doctor"):
        return True
    if cmd == b"cluster" and n == 2 and sub in (b"nodes", b"info"):
        return True
    if cmd == b"client" and sub in (b"list", b"info"):
        return True
    if cmd == b"latency" and ((n == 3 and sub == b"graph") or (n == 2 and sub == b"doctor")):
        return True
    return cmd == b"proxy" and sub == b"info"


def is_sensitive(argv: list[bytes]) -> bool:
    """Lines carrying passwords are kept out of the history file."""
    if not argv:
        return False
    cmd = argv[0].lower()
    low = [a.lower() for a in argv]
    if cmd == b"auth":
        return True
    if cmd == b"hello":
        return b"auth" in low[2:]
    if cmd == b"acl":
        return len(argv) > 1 and low[1] == b"setuser"
    if cmd == b"config":
        secret = {b"masterauth", b"masteruser", b"requirepass", b"tls-key-file-pass", b"tls-client-key-file-pass"}
        return len(argv) > 2 and low[1] == b"set" and any(low[j] in secret for j in range(2, len(argv), 2))
    if cmd == b"migrate":
        return any(a in (b"auth", b"auth2") for a in low[6:])
    return False


# ---------------------------------------------------------------------------
# Help (from the command facts the server's table is built on)

_HELP = """\
respdb-cli {version}
Type a command with its arguments, quoted as in redis-cli ("a b", 'c', "\\x00\\n").
  help <command>     syntax and facts about a command (for example: help set)
  help @<group>      the commands of a group (for example: help @string)
  <n> <command>      run a command n times
  connect <host> <port>  switch to another server
  clear              clear the screen
  quit, exit         leave (Ctrl-D works too)
"""


def _arg_syntax(a: dict) -> str:
    t = a.get("type")
    subs = a.get("arguments") or []
    if t == "pure-token":
        s = a["token"]
    elif t == "oneof":
        s = "|".join(_arg_syntax(x) for x in subs)
    elif t == "block":
        s = " ".join(_arg_syntax(x) for x in subs)
    else:
        s = a.get("name", "")
    if a.get("token") and t != "pure-token":
        s = f"{a['token']} {s}"
    if a.get("multiple"):
        s = f"{s} [{s} ...]"
    return f"[{s}]" if a.get("optional") else s


def command_help(name: str, spec: dict) -> str:
    syntax = " ".join([name.replace("|", " ").upper()] + [_arg_syntax(a) for a in spec.get("arguments") or []])
    lines = ["", f"  {syntax}"]
    for field in ("since", "group", "complexity"):
        if spec.get(field):
            lines.append(f"  {field}: {spec[field]}")
    return "\n".join(lines + ["", ""])


def help_text(args: list[bytes]) -> str:
    from respdb.commands.spec_data import SPECS

    if not args:
        return _HELP.format(version=__version__)
    words = [a.decode("utf-8", "replace").lower() for a in args]
    if words[0].startswith("@"):
        group = words[0][1:]
        names = sorted(n for n, s in SPECS.items() if s.get("group") == group and "|" not in n)
        names += sorted(n for n, s in SPECS.items() if s.get("group") == group and "|" in n)
        return "".join(command_help(n, SPECS[n]) for n in names)
    name = "|".join(words[:2]) if len(words) > 1 and "|".join(words[:2]) in SPECS else words[0]
    if name not in SPECS:
        return ""
    return command_help(name, SPECS[name])


# ---------------------------------------------------------------------------
# Options


USAGE = """\
respdb-cli {version} (talks to respdb or any server speaking the Redis protocol)

Usage: respdb-cli [OPTIONS] [cmd [arg [arg ...]]]
  -h <hostname>      Server host name (default: 127.0.0.1).
  -p <port>          Server port (default: 6379).
  -s <socket>        Unix socket path (takes precedence over host and port).
  -a <password>      Password for AUTH (the {auth_env} environment variable
                     is a safer way to pass it).
  --pass <password>  Same as -a.
  --user <username>  User name for AUTH <user> <password>; needs a password.
  -u <uri>           redis://[[user:]password@]host[:port][/db]
  -n <db>            Database number to SELECT.
  -2                 Use RESP2 (the default).
  -3                 Use RESP3 (sends HELLO 3 after connecting).
  -r <repeat>        Run the command this many times (-1: forever).
  -i <interval>      Seconds to wait after each run (fractions allowed, e.g. 0.1).
  -x                 Take the last argument from stdin.
  -d <delimiter>     Separator between the elements of a reply in raw output (default: \\n).
  -D <delimiter>     Separator between replies in raw output (default: \\n).
  -e                 Exit with status 1 when the command replies with an error.
  --raw              Print replies bare (the default when stdout is not a terminal).
  --no-raw           Print replies in the formatted style even when stdout is not a terminal.
  --quoted-input     Read each argument as a quoted string ("\\x00" and friends).
  --show-pushes <yn> Print RESP3 push messages (default: yes on a terminal).
  --no-auth-warning  Do not warn about a password given on the command line.
  --help             Show this text and exit.
  --version          Show the version and exit.

Without a command respdb-cli starts an interactive prompt (history in ~/{histfile},
or the file named by ${histenv}); with stdin not a terminal it runs one command per line.

Examples:
  respdb-cli -p 6380 GET greeting
  cat picture.png | respdb-cli -x SET picture
  respdb-cli -r 5 -i 0.5 INFO memory
"""


class Options:
    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 6379
        self.socket_path: str | None = None
        self.password: bytes | None = None
        self.user: bytes | None = None
        self.db = 0
        self.resp3 = False
        self.repeat = 1
        self.interval = 0.0
        self.stdin_lastarg = False
        self.raw = not sys.stdout.isatty()
        self.mb_delim = b"\n"
        self.cmd_delim = b"\n"
        self.set_errcode = False
        self.quoted_input = False
        self.show_pushes = sys.stdout.isatty()
        self.auth_warning = True
        self.password_on_cmdline = False


def _atoi(s: str) -> int:
    """C's atoi/strtol: the leading integer, or 0."""
    m = re.match(r"\s*[+-]?\d+", s)
    return int(m.group()) if m else 0


def _atof(s: str) -> float:
    m = re.match(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s)
    return float(m.group()) if m else 0.0


def _parse_uri(opts: Options, uri: str) -> None:
    scheme = "redis://"
    if not uri.lower().startswith(scheme):
        _die("Invalid URI scheme")
    rest = uri[len(scheme) :]
    if "@" in rest:
        userinfo, rest = rest.rsplit("@", 1)
        if ":" in userinfo:
            user, _, password = userinfo.partition(":")
            if user:
                opts.user = _pct_decode(user)
        else:
            password = userinfo
        opts.password = _pct_decode(password)
        opts.password_on_cmdline = True
    hostport, _, path = rest.partition("/")
    if hostport:
        if hostport.startswith("["):
            host, _, tail = hostport[1:].partition("]")
            opts.host = host
            if tail.startswith(":"):
                opts.port = _atoi(tail[1:])
        elif ":" in hostport:
            host, _, port = hostport.rpartition(":")
            opts.host = host
            opts.port = _atoi(port)
        else:
            opts.host = hostport
    if path:
        opts.db = _atoi(path)


def _pct_decode(s: str) -> bytes:
    out = bytearray()
    raw = s.encode()
    i = 0
    while i < len(raw):
        if raw[i] == 0x25:
            h = raw[i + 1 : i + 3].decode("latin-1").lower()
            if len(h) < 2:
                _die("Incomplete URI encoding")
            if not all(c in "0123456789abcdef" for c in h):
                _die("Illegal character in URI encoding")
            out.append(int(h, 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def _die(msg: str, code: int = 1) -> None:
    sys.stderr.write(msg + "\n")
    sys.exit(code)


def _usage(code: int) -> None:
    sys.stdout.write(
        USAGE.format(version=__version__, auth_env=AUTH_ENV, histfile=HISTFILE_DEFAULT, histenv=HISTFILE_ENV)
    )
    sys.exit(code)


def parse_options(args: list[str]) -> tuple[Options, list[str]]:
    """Options come first, as with redis-cli; the first word not starting with '-' begins the command."""
    opts = Options()
    i = 0
    n = len(args)
    while i < n:
        a = args[i]
        has_value = i + 1 < n
        value = args[i + 1] if has_value else ""
        if a == "-h" and has_value:
            opts.host = value
        elif a == "-h" or a == "--help":
            _usage(0)
        elif a in ("-v", "--version"):
            sys.stdout.write(f"respdb-cli {__version__} (redis-cli {REDIS_VERSION} compatible)\n")
            sys.exit(0)
        elif a == "-p" and has_value:
            opts.port = _atoi(value)
        elif a == "-s" and has_value:
            opts.socket_path = value
        elif a in ("-a", "--pass") and has_value:
            opts.password = os.fsencode(value)
            opts.password_on_cmdline = True
        elif a == "--user" and has_value:
            opts.user = os.fsencode(value)
        elif a == "-u" and has_value:
            _parse_uri(opts, value)
        elif a == "-n" and has_value:
            opts.db = _atoi(value)
        elif a == "-r" and has_value:
            opts.repeat = _atoi(value)
        elif a == "-i" and has_value:
            opts.interval = _atof(value)
        elif a == "-d" and has_value:
            opts.mb_delim = os.fsencode(value)
        elif a == "-D" and has_value:
            opts.cmd_delim = os.fsencode(value)
        elif a == "--show-pushes" and has_value:
            opts.show_pushes = value.lower() in ("y", "yes", "1", "on", "true")
        elif a == "-2":
            opts.resp3 = False
        elif a == "-3":
            opts.resp3 = True
        elif a == "-x":
            opts.stdin_lastarg = True
        elif a == "-e":
            opts.set_errcode = True
        elif a == "--raw":
            opts.raw = True
        elif a == "--no-raw":
            opts.raw = False
        elif a == "--quoted-input":
            opts.quoted_input = True
        elif a == "--no-auth-warning":
            opts.auth_warning = False
        elif a.startswith("-"):
            _die(f"Unrecognized option or bad number of args for: '{a}'")
        else:
            break
        i += 2 if a in _VALUE_OPTIONS else 1
    if opts.password is None and os.environ.get(AUTH_ENV):
        opts.password = os.fsencode(os.environ[AUTH_ENV])
    elif opts.password_on_cmdline and opts.auth_warning:
        sys.stderr.write(
            "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n"
        )
    return opts, args[i:]


_VALUE_OPTIONS = {"-h", "-p", "-s", "-a", "--pass", "--user", "-u", "-n", "-r", "-i", "-d", "-D", "--show-pushes"}


# ---------------------------------------------------------------------------
# The client


_SUBSCRIBE = (b"subscribe", b"psubscribe", b"ssubscribe")
_PUBSUB_REPLIES = _SUBSCRIBE + (b"unsubscribe", b"punsubscribe", b"sunsubscribe")


class Cli:
    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.conn: Connection | None = None
        self.dbnum = 0  # the database the connection is in (shown in the prompt)
        self.input_dbnum = opts.db  # the database the user asked for
        self.in_multi = False
        self.pre_multi_dbnum = 0
        self.interactive = False
        self.shutdown = False
        self.last_kind: int | None = None
        self.out = sys.stdout.buffer

    # -- connection

    def address(self) -> str:
        if self.opts.socket_path is not None:
            return self.opts.socket_path
        host = self.opts.host
        return f"[{host}]:{self.opts.port}" if ":" in host else f"{host}:{self.opts.port}"

    def prompt(self) -> str:
        if self.conn is None:
            return "not connected> "
        if self.opts.socket_path is not None:
            p = f"redis {self.opts.socket_path}"
        else:
            p = self.address()
        if self.dbnum:
            p += f"[{self.dbnum}]"
        if self.in_multi:
            p += "(TX)"
        return p + "> "

    def connect(self, force: bool = False) -> bool:
        if self.conn is not None:
            if not force:
                return True
            self.conn.close()
            self.conn = None
        try:
            if self.opts.socket_path is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.connect(self.opts.socket_path)
                except OSError:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection((self.opts.host, self.opts.port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        except OSError as e:
            sys.stderr.write(f"Could not connect to Redis at {self.address()}: {e.strerror or e}\n")
            return False
        self.conn = Connection(sock)
        self.dbnum = 0
        self.in_multi = False
        try:
            self._setup()
        except (ConnError, ReplyProtocolError):
            sys.stderr.write("\nI/O error\n")
            self.conn.close()
            self.conn = None
            return False
        return True

    def _setup(self) -> None:
        """AUTH, SELECT, HELLO 3 on a new connection; a failure is reported and ends the setup."""
        conn = self.conn
        assert conn is not None
        if self.opts.password is not None:
            argv = [b"AUTH"] + ([self.opts.user] if self.opts.user is not None else []) + [self.opts.password]
            r = conn.call(argv)
            if r.kind == ERROR:
                sys.stderr.write("AUTH failed: %s\n" % r.val.decode("utf-8", "replace"))
                return
        if not self._select():
            return
        if self.opts.resp3:
            r = conn.call([b"HELLO", b"3"])
            if r.kind == ERROR:
                sys.stderr.write("HELLO 3 failed: %s\n" % r.val.decode("utf-8", "replace"))

    def _select(self) -> bool:
        if self.input_dbnum == self.dbnum or self.conn is None:
            return True
        r = self.conn.call([b"SELECT", b"%d" % self.input_dbnum])
        if r.kind == ERROR:
            sys.stderr.write("SELECT %d failed: %s\n" % (self.input_dbnum, r.val.decode("utf-8", "replace")))
            return False
        self.dbnum = self.input_dbnum
        return True

    def drop(self, err: str | None) -> None:
        if err is not None:
            sys.stderr.write(f"Error: {err}\n")
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    # -- output

    def write(self, data: bytes) -> None:
        try:
            self.out.write(data)
            self.out.flush()
        except BrokenPipeError:
            # Nobody reads our output any more: leave quietly (Python would complain at exit).
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.out.fileno())
            sys.exit(1)

    def format(self, r: Reply, verbatim: bool = False) -> bytes:
        if verbatim:
            return format_raw(r, self.opts.mb_delim)
        if self.opts.raw:
            return format_raw(r, self.opts.mb_delim) + self.opts.cmd_delim
        return format_tty(r)

    def show_push(self, r: Reply) -> None:
        if not self.opts.raw and is_invalidation(r):
            self.write(format_invalidation(r))
        else:
            self.write(self.format(r))

    # -- commands

    def read_reply(self, argv: list[bytes], verbatim: bool, stream: bool = False) -> bool:
        """Read and print one reply; False when the connection is gone (interactive mode)."""
        assert self.conn is not None
        cmd = argv[0].lower()
        try:
            while True:
                r = self.conn.read()
                if r.kind != PUSH or stream:
                    break
                # An out-of-band push (RESP3); the reply to a (un)subscribe comes as a push too.
                v = r.val
                if cmd in _PUBSUB_REPLIES and v and v[0].kind == STRING and v[0].val.lower() == cmd:
                    break
                if self.opts.show_pushes:
                    self.show_push(r)
        except ConnError as e:
            if self.shutdown:
                self.drop(None)
                return True
            if self.interactive:
                self.drop(str(e))
                return False
            self.drop(str(e))
            sys.exit(1)
        except ReplyProtocolError as e:
            self.drop(str(e))
            sys.exit(1)
        self.last_kind = r.kind
        if r.kind == ERROR and self.opts.set_errcode and not self.interactive:
            sys.stderr.write(r.val.decode("utf-8", "surrogateescape") + "\n")
            sys.stderr.flush()
            return False
        self.write(self.format(r, verbatim))
        return True

    def send_command(self, argv: list[bytes], repeat: int) -> bool:
        cmd = argv[0].lower()
        verbatim = verbatim_output(argv)
        if cmd == b"shutdown":
            self.shutdown = True
        streaming = cmd == b"monitor" or cmd in _SUBSCRIBE
        while repeat != 0:
            if repeat > 0:
                repeat -= 1
            assert self.conn is not None
            try:
                self.conn.send(argv)
            except ConnError as e:
                if self.interactive:
                    self.drop(str(e))
                    return False
                self.drop(str(e))
                sys.exit(1)
            if streaming:
                if cmd != b"monitor" and not self.opts.raw:
                    self.write(b"Reading messages... (press Ctrl-C to quit)\n")
                while True:
                    if not self.read_reply(argv, verbatim, stream=True):
                        sys.exit(1)
            if not self.read_reply(argv, verbatim):
                return False
            self._after(argv)
            if self.conn is None:  # SHUTDOWN went through
                self.shutdown = False
                return True
            if self.opts.interval:
                time.sleep(self.opts.interval)
        self.shutdown = False
        return True

    def _after(self, argv: list[bytes]) -> None:
        """Track state the prompt shows, as redis-cli does."""
        cmd = argv[0].lower()
        n = len(argv)
        failed = self.last_kind == ERROR
        if cmd == b"select" and n == 2 and not failed:
            self.input_dbnum = self.dbnum = _atoi(argv[1].decode("latin-1"))
        elif cmd == b"auth" and n in (2, 3):
            try:
                self._select()
            except (ConnError, ReplyProtocolError) as e:
                self.drop(str(e))
        elif cmd == b"multi" and n == 1 and not failed:
            self.in_multi = True
            self.pre_multi_dbnum = self.dbnum
        elif cmd == b"exec" and n == 1 and self.in_multi:
            self.in_multi = False
            if failed or self.last_kind == NIL:
                self.input_dbnum = self.dbnum = self.pre_multi_dbnum
        elif cmd == b"discard" and n == 1 and not failed:
            self.in_multi = False
            self.input_dbnum = self.dbnum = self.pre_multi_dbnum
        elif cmd == b"reset" and n == 1 and not failed:
            self.in_multi = False
            self.input_dbnum = self.dbnum = 0
            self.opts.resp3 = False

    def issue(self, argv: list[bytes], repeat: int) -> bool:
        if argv[0].lower() in (b"help", b"?"):
            self.write(help_text(argv[1:]).encode())
            return True
        if self.conn is None and not self.connect(force=True):
            return False
        return self.send_command(argv, repeat)

    # -- interactive mode

    def handle_line(self, line: bytes, remember: Callable[[bytes], None] | None) -> None:
        if not line:
            return
        argv = split_inline(line)
        if argv is None:
            self.write(b"Invalid argument(s)\n")
            if remember:
                remember(line)
            return
        if not argv:
            return
        repeat, skip = 1, 0
        if len(argv) > 1 and re.fullmatch(rb"[+-]?\d+", argv[0]):
            repeat = int(argv[0])
            if repeat <= 0 or repeat > 2**63 - 1:
                self.write(b"Invalid redis-cli repeat command option value.\n")
                return
            skip = 1
        if remember and not is_sensitive(argv[skip:]):
            remember(line)
        word = argv[0].lower()
        if word in (b"quit", b"exit"):
            sys.exit(0)
        if len(argv) == 3 and word == b"connect":
            self.opts.host = argv[1].decode("utf-8", "surrogateescape")
            self.opts.port = _atoi(argv[2].decode("latin-1"))
            self.connect(force=True)
            return
        if len(argv) == 1 and word == b"clear":
            self.write(b"\x1b[H\x1b[2J")
            return
        start = time.monotonic()
        self.issue(argv[skip:], repeat)
        elapsed = time.monotonic() - start
        if elapsed >= 0.5 and not self.opts.raw:
            self.write(b"(%.2fs)\n" % elapsed)

    def repl(self) -> None:
        self.interactive = True
        self.connect()
        if not sys.stdin.isatty():
            stdin = sys.stdin.buffer
            while True:
                line = stdin.readline()
                if not line:
                    return
                if line.endswith(b"\n"):
                    line = line[:-1]
                self.handle_line(line, None)
        editor = LineEditor()
        encoding = sys.stdin.encoding or "utf-8"
        while True:
            try:
                text = input(self.prompt())
            except (EOFError, KeyboardInterrupt):
                self.write(b"\n")
                return
            self.handle_line(text.encode(encoding, "surrogateescape"), editor.remember)


class LineEditor:
    """readline setup: persistent history and command-name completion."""

    def __init__(self) -> None:
        import readline

        self.readline = readline
        self.path = history_path()
        readline.set_auto_history(False)
        readline.set_history_length(HISTORY_MAX)
        if self.path and os.path.exists(self.path):
            try:
                readline.read_history_file(self.path)
            except OSError:
                pass
        readline.set_completer_delims(" \t")
        readline.set_completer(self.complete)
        readline.parse_and_bind("tab: complete")
        self._names: list[str] | None = None

    def remember(self, line: bytes) -> None:
        self.readline.add_history(line.decode(sys.stdin.encoding or "utf-8", "surrogateescape"))
        if not self.path:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.close(fd)
            self.readline.write_history_file(self.path)
            os.chmod(self.path, 0o600)
        except OSError:
            pass

    def complete(self, text: str, state: int) -> str | None:
        if self._names is None:
            from respdb.commands.spec_data import SPECS

            self._names = sorted({n.replace("|", " ") for n in SPECS} | {"help", "quit", "exit", "clear"})
        buf = self.readline.get_line_buffer()[: self.readline.get_begidx()].lstrip()
        stem = (buf + text).lower()
        hits = [n for n in self._names if n.startswith(stem)]
        # Offer only the word being completed, in the case the user is typing in.
        words = sorted({h[len(buf) :].split(" ")[0] for h in hits if len(h) > len(buf)})
        if text[:1].isupper():
            words = [w.upper() for w in words]
        return words[state] + " " if state < len(words) else None


def history_path() -> str | None:
    path = os.environ.get(HISTFILE_ENV)
    if path:
        return None if path == "/dev/null" else path
    home = os.environ.get("HOME")
    return os.path.join(home, HISTFILE_DEFAULT) if home else None


# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    opts, command = parse_options(args)
    cli = Cli(opts)
    try:
        if not command:
            cli.repl()
            sys.exit(0)
        if not cli.connect():
            sys.exit(1)
        cmd = [os.fsencode(a) for a in command]
        if opts.quoted_input:
            unquoted = [split_inline(a) for a in cmd]
            if any(u is None or len(u) != 1 for u in unquoted):
                cli.write(b"Invalid quoted string\n")
                sys.exit(1)
            cmd = [u[0] for u in unquoted]  # type: ignore[index]
        if opts.stdin_lastarg:
            cmd.append(sys.stdin.buffer.read())
        sys.exit(0 if cli.issue(cmd, opts.repeat) else 1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
