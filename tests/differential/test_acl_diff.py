"""ACL against the real redis-server: rules, descriptions, NOPERM checks, AUTH, the log, DRYRUN.

Both servers are dedicated to this module (ACL state is global to a server). Replies are
compared byte for byte after a few normalizations Redis itself makes necessary:

- the order of single-command rules in a description ("+get +set" vs "+set +get") and of
  ACL CAT <category> follows Redis's command dict, whose hash seed is random per process;
- ACL LOG's age-seconds is a clock reading, and its client-info differs in ids, ports and
  memory figures: only its name, db, cmd and user fields are compared;
- ACL GENPASS is random: only the length is compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RawConn, start_redis, start_respdb

from .harness import encode_command, parse, serialize

_CMD_TOKEN = re.compile(rb"^[+-][^@]")


def _sort_rule_runs(text: bytes) -> bytes:
    """Sort each run of single-command rules inside every selector of a description."""
    out = []
    for seg in re.split(rb"([()])", text):
        if seg in (b"(", b")"):
            out.append(seg)
            continue
        toks = seg.split(b" ")
        res: list[bytes] = []
        run: list[bytes] = []
        for t in toks:
            if _CMD_TOKEN.match(t):
                run.append(t)
            else:
                res.extend(sorted(run))
                run = []
                res.append(t)
        res.extend(sorted(run))
        out.append(b" ".join(res))
    return b"".join(out)


CINFO_FIELDS = (b"name", b"db", b"cmd", b"user")


def _cinfo(v: bytes) -> bytes:
    fields = dict(f.split(b"=", 1) for f in v.split(b" ") if b"=" in f)
    return b" ".join(k + b"=" + fields.get(k, b"?") for k in CINFO_FIELDS)


def normalize(args: tuple, node):
    name = b" ".join(a.encode() if isinstance(a, str) else a for a in args[:2]).upper()
    t, v = node

    def walk(n, parent_key=None):
        t, v = n
        if isinstance(v, list):
            items = [walk(x) for x in v]
            if t in "*%" and name in (b"ACL LOG",):
                # map fields: fix age-seconds and client-info values
                for i in range(0, len(items) - 1, 2):
                    k = items[i][1]
                    if k == b"age-seconds":
                        items[i + 1] = ("$", b"<age>")
                    elif k == b"client-info":
                        items[i + 1] = ("$", _cinfo(items[i + 1][1]))
            return (t, items)
        if t == "$" and v is not None and name in (b"ACL LIST", b"ACL GETUSER"):
            return (t, _sort_rule_runs(v))
        return n

    if name.startswith(b"HELLO") and t == "*" and isinstance(v, list):
        return (t, [("$", b"<id>") if i > 0 and v[i - 1] == ("$", b"id") else x for i, x in enumerate(v)])
    if name == b"ACL CAT" and len(args) > 2 and t == "*" and isinstance(v, list):
        return (t, sorted(v, key=serialize))
    if name == b"ACL GENPASS" and t == "$":
        return (t, b"<%d chars>" % len(v))
    return walk(node)


class Duo:
    """One connection to each server; every command's replies are compared (normalized)."""

    def __init__(self, ports: tuple[int, int], proto: int = 2) -> None:
        self.conns = (RawConn(ports[0], proto), RawConn(ports[1], proto))
        self.history: list[tuple] = []

    def send(self, *args) -> tuple[bytes, bytes]:
        data = encode_command(args)
        for conn in self.conns:
            conn.send(data)
        return self.conns[0].read_reply(), self.conns[1].read_reply()

    def run(self, *args) -> bytes:
        a, b = self.send(*args)
        self.history.append(args)
        if a != b:
            na, nb = normalize(args, parse(a)), normalize(args, parse(b))
            assert na == nb, "\n".join(
                ["after: %r" % (self.history[-12:],), "command: %r" % (args,), "redis:  %r" % a, "respdb: %r" % b]
            )
        return a

    def lines(self, text: str) -> None:
        from .harness import split_line

        for line in text.strip().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                self.run(*split_line(line))

    def closed(self) -> tuple[bool, bool]:
        return self.conns[0].closed(1.0), self.conns[1].closed(1.0)

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[int, int]]:
    r = start_redis()
    try:
        d = start_respdb()
    except Exception:
        r.stop()
        raise
    yield (r.port, d.port)
    r.stop()
    d.stop()


@pytest.fixture
def duo(servers) -> Iterator[Duo]:
    admin = Duo(servers)
    _reset(admin)
    yield admin
    admin.close()
    cleanup = Duo(servers)
    _reset(cleanup)
    cleanup.close()


def _reset(d: Duo) -> None:
    d.send("AUTH", "default", "")  # harmless when the default user has no password
    d.send("CONFIG", "SET", "requirepass", "")
    d.send("ACL", "SETUSER", "default", "on", "nopass", "~*", "&*", "+@all", "clearselectors")
    users = parse(d.send("ACL", "USERS")[0])[1]
    for _, name in users:
        if name != b"default":
            d.send("ACL", "DELUSER", name)
    d.send("ACL", "LOG", "RESET")
    d.send("FLUSHALL")


def other(servers, proto: int = 2) -> Duo:
    return Duo(servers, proto)


# ---------------------------------------------------------------------------
# Rules and descriptions

RULE_SETS = [
    "on",
    "off",
    "reset",
    "on nopass",
    "on >secret",
    "on >a >b <a",
    ">a >a",
    "> ",
    "#" + "a" * 64,
    "#" + "b" * 64 + " !" + "b" * 64,
    ">x resetpass",
    ">x nopass",
    "nopass >y",
    "~* &* +@all",
    "allkeys allchannels allcommands",
    "~a ~b ~a",
    "%R~a %W~a",
    "%RW~x %WR~y %rw~z",
    "%R~r* %W~w* ~k*",
    "%R",
    "~a resetkeys ~b",
    "~a allkeys",
    "allkeys resetkeys",
    "&a &b &a",
    "&a resetchannels &c",
    "allchannels resetchannels",
    "+get +set",
    "+@all -@dangerous",
    "+@all -@slow",
    "-@all +@fast",
    "-@all +@read +@write -@keyspace",
    "+@hash +@string -hset",
    "+@all -get -set +get",
    "+@all -@slow +client|id",
    "-@all +config|get +config|set",
    "+config -config|set",
    "+@admin -config",
    "allcommands -debug",
    "nocommands +@pubsub",
    "+select|0 +select|1",
    "+select|0 +select",
    "+select|0 -select",
    "+@all -select +select|0",
    "+debug|digest",
    "+@all +@all",
    "-@all -@all",
    "+@set +@sortedset +@list +@hash +@string +@bitmap +@hyperloglog +@geo +@stream",
    "+@scripting +@transaction +@connection -@blocking",
    "skip-sanitize-payload",
    "sanitize-payload",
    "skip-sanitize-payload sanitize-payload",
    "on >p ~k* &c* +get (+set ~s*) (+del %W~d*)",
    "(+get ~a) clearselectors",
    "(+get ~a &x) (allkeys +@read)",
    "(~x resetchannels -@all +get)",
    "(%R~r* +@all -@dangerous)",
    "reset on >p +@all ~*",
    "ON OFF NOPASS RESETPASS",
    "+GET +Set -@ALL +@STRING",
    "",
]

BAD_RULES = [
    "foo",
    "+nocmd",
    "-nocmd",
    "+@nocat",
    "-@nocat",
    "~a\tb",
    "#abc",
    "!abc",
    "#" + "A" * 64,
    "<nope",
    "!" + "c" * 64,
    "+config|get|x",
    "+client|nosuch",
    "+get|",
    "+nocmd|x",
    "%X~a",
    "%~a",
    "%RR~a",
    "&a b",
    "(foo)",
    "(+nocmd)",
]


@pytest.mark.parametrize("rules", RULE_SETS, ids=lambda r: r[:40] or "empty")
def test_setuser_describe_roundtrip(duo: Duo, servers, rules: str) -> None:
    args = rules.split(" ") if rules else [""]
    duo.run("ACL", "SETUSER", "u1", *args)
    duo.run("ACL", "LIST")
    duo.run("ACL", "GETUSER", "u1")
    r3 = other(servers, 3)
    try:
        r3.run("ACL", "GETUSER", "u1")
    finally:
        r3.close()
    # modifying an existing user applies on top of its rules
    duo.run("ACL", "SETUSER", "u1", "+@string", "~extra")
    duo.run("ACL", "LIST")
    duo.run("ACL", "USERS")


@pytest.mark.parametrize("rule", BAD_RULES)
def test_setuser_errors_leave_user_unchanged(duo: Duo, rule: str) -> None:
    duo.run("ACL", "SETUSER", "u2", "on", ">pw", "+get", "~k")
    duo.run("ACL", "SETUSER", "u2", "+set", rule, "~other")
    duo.run("ACL", "SETUSER", "u3", rule)  # no user is created either
    duo.run("ACL", "LIST")


def test_setuser_special_errors(duo: Duo) -> None:
    duo.lines(
        """
        ACL SETUSER "a b"
        ACL SETUSER "a\\x00b"
        ACL SETUSER u4 allkeys ~a
        ACL SETUSER u4 allchannels &a
        ACL SETUSER u4 on (+get
        ACL SETUSER u4 on on (+get ~x
        ACL SETUSER u4 (+get ~x) (+set
        ACL SETUSER u4 (+get ~x) (+set ~y)
        ACL SETUSER u4 "(" "+incr)"
        ACL LIST
        ACL SETUSER u5 "(+get" "~x" "&ch)"
        ACL GETUSER u5
        ACL DELUSER default
        ACL DELUSER nosuch u4 u5 u5
        ACL DELUSER u4 default
        ACL GETUSER nosuch
        ACL USERS
        """
    )


def test_acl_cat(duo: Duo) -> None:
    duo.run("ACL", "CAT")
    cats = parse(duo.conns[0].cmd("ACL", "CAT"))[1]
    for _, cat in cats:
        duo.run("ACL", "CAT", cat)
    duo.run("ACL", "CAT", cats[0][1].upper())
    duo.lines(
        """
        ACL CAT nosuch
        ACL CAT a b
        ACL LOG a b
        ACL GENPASS 1 2
        ACL GENPASS 0
        ACL GENPASS 4097
        ACL GENPASS x
        ACL GENPASS
        ACL GENPASS 1
        ACL GENPASS 5
        ACL GENPASS 4096
        ACL HELP
        ACL WHOAMI
        ACL NOSUCH
        ACL LIST x
        ACL SAVE
        ACL LOAD
        """
    )


# ---------------------------------------------------------------------------
# Permission checks


def _as_user(servers, *rules: str, proto: int = 2) -> Duo:
    admin = Duo(servers)
    admin.run("ACL", "SETUSER", "app", "on", ">pw", *rules)
    admin.close()
    d = Duo(servers, proto)
    d.run("AUTH", "app", "pw")
    return d


def test_noperm_commands_and_keys(duo: Duo, servers) -> None:
    d = _as_user(servers, "~k*", "%R~r*", "%W~w*", "&ch*", "+@all", "-@dangerous", "-incr")
    try:
        d.lines(
            """
            SET k1 v
            GET k1
            GET zz
            INCR k1
            SET r1 v
            GET r1
            GET w1
            SET w1 v
            LPUSH w2 a
            LPUSH r2 a
            RPOPLPUSH w2 r3
            RPOPLPUSH k2 w3
            LMOVE k2 w4 LEFT RIGHT
            EXISTS r1 w1 zz
            TOUCH w1
            DEL r1
            DEL w1
            COPY k1 w5
            COPY r1 k5
            MSET k1 a w1 b
            MSET k1 a zz b
            MGET k1 r1
            MGET k1 w1
            SORT k3 STORE w6
            SORT k3 STORE r6
            SORT k3 BY zz*
            EVAL "return 1" 1 zz
            EVAL "return 1" 1 k1
            FLUSHALL
            KEYS *
            CONFIG SET maxmemory 0
            DEBUG OBJECT k1
            ACL WHOAMI
            CLIENT LIST ID 1
            """
        )
    finally:
        d.close()
    duo.run("ACL", "LOG")
    duo.run("ACL", "LOG", "3")
    duo.run("ACL", "LOG", "0")
    duo.run("ACL", "LOG", "-1")
    duo.run("ACL", "LOG", "x")


def test_noperm_subcommands_and_firstargs(duo: Duo, servers) -> None:
    d = _as_user(servers, "allkeys", "-@all", "+config|get", "+select|0", "+client|getname", "+object")
    try:
        d.lines(
            """
            CONFIG GET maxmemory
            CONFIG SET maxmemory 0
            CONFIG NOSUCH x
            SELECT 0
            SELECT 1
            CLIENT GETNAME
            CLIENT INFO
            OBJECT ENCODING nokey
            OBJECT HELP
            GET k
            PING
            AUTH app wrong
            AUTH app pw
            HELLO 2 AUTH app pw
            QUIT
            """
        )
    finally:
        d.close()
    duo.run("ACL", "LOG")


def test_channels(duo: Duo, servers) -> None:
    d = _as_user(servers, "allkeys", "+@all", "resetchannels", "&news.*", "&lit[ab]")
    try:
        d.lines(
            """
            PUBLISH news.sport x
            PUBLISH other x
            SPUBLISH news.x y
            SPUBLISH other y
            PSUBSCRIBE news.*
            PUNSUBSCRIBE news.*
            PSUBSCRIBE news.s*
            PSUBSCRIBE lit[ab]
            PUNSUBSCRIBE lit[ab]
            SUBSCRIBE news.a other
            SUBSCRIBE lita
            SUBSCRIBE news.b
            UNSUBSCRIBE lita
            UNSUBSCRIBE not.allowed
            UNSUBSCRIBE news.b
            SSUBSCRIBE other
            """
        )
    finally:
        d.close()
    duo.run("ACL", "LOG")
    # the default pub/sub permission of new users
    duo.lines(
        """
        CONFIG SET acl-pubsub-default allchannels
        ACL SETUSER ps1 on
        ACL SETUSER ps2 reset
        ACL SETUSER ps3 (+get)
        ACL LIST
        CONFIG SET acl-pubsub-default resetchannels
        ACL SETUSER ps4 on
        ACL SETUSER ps1 reset
        ACL LIST
        """
    )


def test_multi_queue_and_exec_recheck(duo: Duo, servers) -> None:
    d = _as_user(servers, "~k*", "+@all", "-incr")
    try:
        d.lines(
            """
            MULTI
            GET k1
            GET zz
            INCR k1
            EXEC
            MULTI
            SET k1 v
            GET k1
            WATCH k1
            EXEC
            MULTI
            SUBSCRIBE ch
            WATCH zz
            GET zz
            EXEC
            MULTI
            SET k1 v
            GET k1
            """
        )
        # the rules change between queueing and EXEC
        duo.run("ACL", "SETUSER", "app", "-get", "resetkeys", "~k1")
        d.run("LPUSH", "k2", "x")
        d.run("EXEC")
        d.run("MULTI")
        d.run("SET", "k1", "v2")
        d.run("GET", "k1")
        d.run("SET", "k9", "v")
        duo.run("ACL", "SETUSER", "app", "+get", "resetkeys", "~k9")
        d.run("EXEC")
    finally:
        d.close()
    duo.run("ACL", "LOG")


def test_scripts(duo: Duo, servers) -> None:
    d = _as_user(servers, "~k*", "&ch*", "+@all", "-incr")
    try:
        d.lines(
            """
            EVAL "return redis.call('get','k1')" 0
            EVAL "return redis.call('incr','k1')" 0
            EVAL "return redis.call('get','zz')" 0
            EVAL "return redis.pcall('get','zz')" 0
            EVAL "return redis.pcall('incr','k')" 0
            EVAL "return redis.call('publish','zz','x')" 0
            EVAL "return redis.call('publish','ch1','x')" 0
            EVAL "return redis.acl_check_cmd('get','k1')" 0
            EVAL "return redis.acl_check_cmd('get','zz')" 0
            EVAL "return redis.acl_check_cmd('incr','k1')" 0
            EVAL "return redis.acl_check_cmd('config','get','x')" 0
            EVAL "return redis.acl_check_cmd('nosuch')" 0
            FUNCTION LOAD "#!lua name=acltest\\nredis.register_function('f', function(k) return redis.call('incr', k[1]) end)"
            FCALL f 1 k1
            FCALL f 1 zz
            FUNCTION DELETE acltest
            """
        )
    finally:
        d.close()
    duo.run("ACL", "LOG")


def test_dryrun(duo: Duo) -> None:
    duo.lines(
        """
        ACL SETUSER dr on nopass ~k* &ch* +get +set +publish +config|get +select|0
        ACL DRYRUN dr get k1
        ACL DRYRUN dr get zz
        ACL DRYRUN dr incr zz
        ACL DRYRUN dr publish zz x
        ACL DRYRUN dr publish ch1 x
        ACL DRYRUN dr set k1 v
        ACL DRYRUN dr config get x
        ACL DRYRUN dr config set x y
        ACL DRYRUN dr config|get x
        ACL DRYRUN dr config
        ACL DRYRUN dr config nosuch
        ACL DRYRUN dr select 0
        ACL DRYRUN dr select 1
        ACL DRYRUN nouser get x
        ACL DRYRUN dr nocmd x
        ACL DRYRUN dr get
        ACL DRYRUN dr get a b
        ACL DRYRUN dr
        ACL DRYRUN default flushall
        ACL LOG
        """
    )


# ---------------------------------------------------------------------------
# Authentication


def test_auth_and_hello(duo: Duo, servers) -> None:
    duo.lines(
        """
        AUTH x
        AUTH default x
        AUTH nouser x
        ACL SETUSER off1 off >pw +@all
        ACL SETUSER np on nopass +@all ~*
        AUTH off1 pw
        AUTH np anything
        ACL WHOAMI
        AUTH default whatever
        ACL WHOAMI
        AUTH a b c
        ACL LOG
        """
    )
    r3 = Duo(servers)
    try:
        r3.run("HELLO", "2", "AUTH", "nouser", "x")
        r3.run("HELLO", "2", "AUTH", "off1", "pw")
        a, b = r3.send("HELLO", "3", "AUTH", "np", "x")
        assert a.startswith(b"%7\r\n") and b.startswith(b"%7\r\n"), (a, b)
        r3.run("ACL", "WHOAMI")
        r3.run("CLIENT", "SETNAME", "c1")
    finally:
        r3.close()
    duo.run("ACL", "LOG", "2")


def test_requirepass_is_the_default_password(duo: Duo, servers) -> None:
    duo.lines(
        """
        CONFIG SET requirepass s3cret
        ACL LIST
        ACL GETUSER default
        """
    )
    fresh = Duo(servers)
    try:
        fresh.lines(
            """
            GET k
            ACL WHOAMI
            AUTH wrong
            AUTH s3cret
            GET k
            """
        )
    finally:
        fresh.close()
    duo.lines(
        """
        ACL SETUSER default >second
        CONFIG GET requirepass
        ACL LIST
        CONFIG SET requirepass ""
        ACL LIST
        AUTH x
        """
    )


def test_default_user_restricted(duo: Duo, servers) -> None:
    duo.lines(
        """
        ACL SETUSER admin on >adm +@all ~* &*
        ACL SETUSER default resetkeys ~pub:* -@dangerous
        GET pub:1
        GET priv
        FLUSHALL
        AUTH admin adm
        GET priv
        """
    )
    fresh = Duo(servers)
    try:
        fresh.lines(
            """
            GET priv
            SET pub:1 x
            KEYS *
            """
        )
    finally:
        fresh.close()
    duo.run("ACL", "SETUSER", "default", "allkeys", "+@all")


def test_disconnections(duo: Duo, servers) -> None:
    """DELUSER disconnects the user's clients; SETUSER off does not; lost channels disconnect
    subscribers; CLIENT KILL USER."""
    duo.run("ACL", "SETUSER", "k1", "on", ">pw", "+@all", "~*", "&a", "&b")
    a = Duo(servers)
    a.run("AUTH", "k1", "pw")
    a.run("SUBSCRIBE", "a")
    b = Duo(servers)
    b.run("AUTH", "k1", "pw")
    duo.run("ACL", "SETUSER", "k1", "off")
    assert b.closed() == (False, False)
    b.run("PING")
    duo.run("ACL", "SETUSER", "k1", "resetchannels", "&a", "&c")  # a's channel survives
    assert a.closed() == (False, False)
    duo.run("ACL", "SETUSER", "k1", "resetchannels", "&c")
    assert a.closed() == (True, True)
    duo.run("ACL", "SETUSER", "k2", "on", ">pw", "+@all", "~*")
    c = Duo(servers)
    c.run("AUTH", "k2", "pw")
    duo.run("CLIENT", "KILL", "USER", "nosuch")
    duo.run("CLIENT", "KILL", "USER", "k2")
    assert c.closed() == (True, True)
    duo.run("ACL", "DELUSER", "k1")
    assert b.closed() == (True, True)
    s = Duo(servers)
    s.run("ACL", "SETUSER", "self", "on", ">pw", "+@all", "~*")
    s.run("AUTH", "self", "pw")
    s.run("ACL", "DELUSER", "self")
    assert s.closed() == (True, True)
    for d in (a, b, c, s):
        d.close()


def test_client_list_shows_user(duo: Duo, servers) -> None:
    duo.run("ACL", "SETUSER", "lister", "on", ">pw", "+@all", "~*")
    d = Duo(servers)
    try:
        d.run("AUTH", "lister", "pw")
        for conn in d.conns:
            line = conn.cmd("CLIENT", "INFO")
            assert b" user=lister " in line, line
    finally:
        d.close()


def test_log_grouping_and_limit(duo: Duo, servers) -> None:
    d = _as_user(servers, "~k*", "+get")
    try:
        for _ in range(3):
            d.run("GET", "zz")
        d.run("GET", "yy")
        d.run("GET", "zz")
        d.run("SET", "k", "v")
    finally:
        d.close()
    duo.run("ACL", "LOG")
    duo.run("CONFIG", "SET", "acllog-max-len", "2")
    try:
        d = _as_user(servers, "~k*", "+get")
        d.run("GET", "xx")
        d.close()
        duo.run("ACL", "LOG")
    finally:
        duo.run("CONFIG", "SET", "acllog-max-len", "128")
    duo.run("ACL", "LOG", "RESET")
    duo.run("ACL", "LOG")


# ---------------------------------------------------------------------------
# ACL file and `user` directives


@pytest.fixture
def file_servers() -> Iterator[tuple[int, int, list[str]]]:
    """Both servers started with `--aclfile users.acl` (relative to their working dirs)."""
    import os
    import tempfile

    dirs = []
    procs = []
    try:
        for start in (start_redis, start_respdb):
            d = tempfile.mkdtemp(prefix="acl-file-")
            with open(os.path.join(d, "users.acl"), "w") as f:
                f.write("user default on nopass ~* &* +@all\nuser alice on >pw ~a* +@read\n")
            dirs.append(d)
            procs.append(start("--aclfile", os.path.join(d, "users.acl")))
        yield procs[0].port, procs[1].port, dirs
    finally:
        for p in procs:
            p.stop()


def test_aclfile_save_load(file_servers) -> None:
    import os

    rport, dport, dirs = file_servers
    d = Duo((rport, dport))
    try:
        d.run("ACL", "LIST")
        a = Duo((rport, dport))
        a.run("AUTH", "alice", "pw")
        a.run("GET", "a1")
        d.run("ACL", "SETUSER", "bob", "on", ">b", "+@all", "-@dangerous", "~*", "(+get ~x)")
        d.run("ACL", "SAVE")
        texts = [Path(x, "users.acl").read_bytes() for x in dirs]
        assert _sort_rule_runs(texts[0]) == _sort_rule_runs(texts[1]), texts
        d.run("ACL", "SETUSER", "carol", "on")
        d.run("ACL", "LOAD")  # carol goes; alice's connection is closed (her old user object is freed)
        d.run("ACL", "LIST")
        assert a.closed() == (True, True)
        bad = (
            "user default on nopass ~* &* +@all\n"
            "user bob on +nocmd\n"
            "user x y\n"
            "nouser z\n"
            "user dup on\nuser dup off\n"
            "user f #abc ~a b\n"
        )
        for x in dirs:
            with open(os.path.join(x, "users.acl"), "w") as f:
                f.write(bad)
        a, b = d.send("ACL", "LOAD")
        # the error names the file by its path, which differs: compare the rest
        a = a.replace(os.path.join(dirs[0], "users.acl").encode(), b"<file>")
        b = b.replace(os.path.join(dirs[1], "users.acl").encode(), b"<file>")
        assert a == b, (a, b)
        d.run("ACL", "LIST")  # unchanged
    finally:
        d.close()


def test_user_directives_on_the_command_line() -> None:
    args = ("--user", "alice", "on", ">pw", "~a*", "+@all", "-@dangerous", "--user", "default", "on", "nopass", "+@all")
    procs = [start_redis(*args)]
    try:
        procs.append(start_respdb(*args))
        d = Duo((procs[0].port, procs[1].port))
        d.run("ACL", "LIST")
        d.run("AUTH", "alice", "pw")
        d.run("GET", "b")
        d.close()
    finally:
        for p in procs:
            p.stop()


@pytest.mark.parametrize(
    "args",
    [
        ("--user", "alice", "on", "badrule"),
        ("--user", "alice", "on", "~a", "b"),
        ("--user", "alice", "on", "--user", "alice", "off"),
        ("--user", "alice", "#abc"),
    ],
)
def test_bad_user_directive_is_fatal(args) -> None:
    import subprocess
    import sys

    from conftest import ROOT

    res = subprocess.run(
        [sys.executable, "-m", "respdb", "--port", "0", *args], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert res.returncode != 0
    ref = subprocess.run(["redis-server", "--port", "0", *args], capture_output=True, text=True, timeout=30)
    want = [line for line in ref.stdout.splitlines() + ref.stderr.splitlines() if "Error in user declaration" in line]
    assert want and want[0] in res.stderr + res.stdout, (want, res.stderr)
