"""ACL through redis-py's own ACL API over TCP, and the engine-level model (respdb.acl).

The byte-exact comparisons with real Redis are in tests/differential/test_acl_diff.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from conftest import ServerProc, start_respdb

from respdb import acl as aclmod
from respdb.engine import Engine


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProc]:
    s = start_respdb()
    yield s
    s.stop()


@pytest.fixture
def admin(server: ServerProc) -> Iterator[redis.Redis]:
    r = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
    yield r
    for name in r.acl_users():
        if name != "default":
            r.acl_deluser(name)
    r.acl_log_reset()
    r.close()


def connect(server: ServerProc, **kw) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True, **kw)


def test_redis_py_acl_api(admin: redis.Redis, server: ServerProc) -> None:
    assert admin.acl_whoami() == "default"
    assert admin.acl_setuser(
        "alice", enabled=True, passwords=["+secret"], keys=["app:*"], channels=["news"], commands=["+get", "+set"]
    )
    info = admin.acl_getuser("alice")
    assert info["flags"] == ["on"]
    assert info["keys"] == ["~app:*"]
    assert info["channels"] == ["&news"]
    assert info["passwords"] == [aclmod.hash_password(b"secret").decode()]
    assert sorted(info["commands"]) == ["+get", "+set"] and info["categories"] == ["-@all"]
    assert info["selectors"] == []
    assert "alice" in admin.acl_users()
    assert any(line.startswith("user alice on #") for line in admin.acl_list())

    alice = connect(server, username="alice", password="secret")
    with pytest.raises(redis.exceptions.NoPermissionError, match=re.escape("'acl|whoami' command")):
        alice.acl_whoami()
    assert alice.set("app:1", "v")
    assert alice.get("app:1") == "v"
    with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions to access one of the keys"):
        alice.get("other")
    with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions to run the 'incr' command"):
        alice.execute_command("INCR", "app:n")
    with pytest.raises(redis.exceptions.AuthenticationError):
        connect(server, username="alice", password="wrong").ping()
    alice.close()

    log = admin.acl_log()
    reasons = [(e["reason"], e["object"], e["username"]) for e in log]
    assert ("command", "incr", "alice") in reasons
    assert ("key", "other", "alice") in reasons
    assert ("auth", "HELLO", "alice") in reasons  # redis-py 8 authenticates with HELLO 3 AUTH ...
    assert admin.acl_deluser("alice") == 1
    assert admin.acl_getuser("alice") is None


def test_auth_with_username_and_hello(admin: redis.Redis, server: ServerProc) -> None:
    admin.acl_setuser("bob", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"])
    bob = connect(server, username="bob", password="pw", protocol=3)
    assert bob.acl_whoami() == "bob"
    assert "user=bob" in bob.execute_command("CLIENT", "INFO")
    bob.close()
    raw = connect(server)
    assert raw.execute_command("AUTH", "bob", "pw")
    assert raw.acl_whoami() == "bob"
    raw.execute_command("RESET")
    assert raw.acl_whoami() == "default"
    raw.close()


def test_genpass_and_cat(admin: redis.Redis) -> None:
    p = admin.acl_genpass()
    assert len(p) == 64 and int(p, 16) >= 0
    assert len(admin.acl_genpass(5)) == 2
    cats = admin.acl_cat()
    assert cats[0] == "keyspace" and "scripting" in cats and len(cats) == 21
    assert "get" in admin.acl_cat("string")
    assert "config|get" in admin.acl_cat("admin")


def test_dryrun_and_deluser_disconnects(admin: redis.Redis, server: ServerProc) -> None:
    admin.acl_setuser("carol", enabled=True, nopass=True, keys=["c:*"], commands=["+get"])
    assert admin.acl_dryrun("carol", "get", "c:1") == "OK"
    assert admin.acl_dryrun("carol", "get", "x") == "This user has no permissions to access the 'x' key"
    carol = connect(server, username="carol", password="any")
    assert carol.get("c:1") is None
    admin.acl_deluser("carol")
    with pytest.raises(redis.exceptions.ConnectionError):
        carol.execute_command("GET", "c:1")  # the server closed the connection (no retry configured)
    carol.close()


# ---------------------------------------------------------------------------
# In-process: the model itself


def run(e: Engine, c, *args: str | bytes) -> bytes:
    return e.execute(c, [a.encode() if isinstance(a, str) else a for a in args])


def test_default_user_is_not_gated() -> None:
    """The hot path: a client of the all-permissions default user skips the pre-call checks."""
    e = Engine()
    c = e.new_client()
    assert not c.gated
    assert "default" not in e.acl.restricted
    run(e, c, "ACL", "SETUSER", "default", "-flushall")
    assert c.gated and "default" in e.acl.restricted
    assert run(e, c, "FLUSHALL") == b"-NOPERM this user has no permissions to run the 'flushall' command\r\n"
    run(e, c, "ACL", "SETUSER", "default", "+@all")
    assert not c.gated


def test_describe_matches_setuser_input_semantics() -> None:
    """Applying a user's own description to a fresh user gives the same permissions."""
    rules = [
        b"+@all -@dangerous +flushdb",
        b"-@all +@read -get +config|get +select|0",
        b"+@string +@hash -@write +set",
        b"allcommands -client +client|id -debug",
    ]
    u = aclmod.universe()
    for r in rules:
        a = aclmod.User("a")
        for op in r.split():
            a.apply(op)
        b = aclmod.User("b")
        for op in a.selectors[0].describe_commands().split():
            b.apply(op)
        assert a.selectors[0].allowed == b.selectors[0].allowed, r
        assert a.selectors[0].firstargs == b.selectors[0].firstargs, r
        assert a.selectors[0].allowed & ~u.all_mask == 0


def test_keyspec_permissions() -> None:
    e = Engine()
    c = e.new_client()
    run(e, c, "ACL", "SETUSER", "rw", "on", "nopass", "%R~r*", "%W~w*", "+@all")
    run(e, c, "AUTH", "rw", "x")
    assert run(e, c, "GET", "r1") == b"$-1\r\n"
    assert run(e, c, "SET", "w1", "v") == b"+OK\r\n"
    assert run(e, c, "GET", "w1").startswith(b"-NOPERM")
    assert run(e, c, "SET", "r1", "v").startswith(b"-NOPERM")
    # COPY reads its source and writes its destination
    assert run(e, c, "COPY", "r1", "w2") == b":0\r\n"
    assert run(e, c, "COPY", "w1", "r2").startswith(b"-NOPERM")
