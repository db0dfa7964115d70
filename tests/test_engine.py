"""Engine-level tests: no sockets, the engine driven directly as the server drives it."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respdb.commands.table import PROTECTED
from respdb.config import Config, ConfigError
from respdb.engine import Engine
from respdb.keyspace import Database, KeyIndex


@pytest.fixture
def eng():
    cfg = Config()
    cfg.set("enable-debug-command", "yes")
    return Engine(cfg)


@pytest.fixture
def c(eng):
    return eng.new_client()


def run(eng, c, *args):
    return eng.execute(c, [a.encode() if isinstance(a, str) else a for a in args])


# -- dispatch --------------------------------------------------------------


def test_unknown_command_error_text(eng, c):
    assert run(eng, c, "nosuch", "a", "b") == b"-ERR unknown command 'nosuch', with args beginning with: 'a' 'b' \r\n"


def test_unknown_command_args_truncated_at_128(eng, c):
    reply = run(eng, c, "nosuch", "x" * 200, "y")
    assert reply == b"-ERR unknown command 'nosuch', with args beginning with: '" + b"x" * 128 + b"' \r\n"


def test_unknown_command_newlines_are_blanked(eng, c):
    assert b"\n" not in run(eng, c, "a\r\nb")[:-2]


def test_arity_errors_use_full_name(eng, c):
    assert run(eng, c, "get") == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert run(eng, c, "client", "setname") == b"-ERR wrong number of arguments for 'client|setname' command\r\n"
    assert run(eng, c, "client") == b"-ERR wrong number of arguments for 'client' command\r\n"


def test_unknown_subcommand(eng, c):
    assert run(eng, c, "client", "bogus") == b"-ERR unknown subcommand 'bogus'. Try CLIENT HELP.\r\n"


def test_command_names_are_case_insensitive(eng, c):
    assert run(eng, c, "SeT", "k", "v") == b"+OK\r\n"
    assert run(eng, c, "gEt", "k") == b"$1\r\nv\r\n"


def test_commandstats_and_errorstats_count(eng, c):
    run(eng, c, "set", "k", "v")
    run(eng, c, "incr", "k")
    run(eng, c, "get")
    assert eng.table.get("set").calls == 1
    assert eng.table.get("incr").failed_calls == 1
    assert eng.table.get("get").rejected_calls == 1
    assert eng.errorstats["ERR"] == 2
    assert eng.stats["total_error_replies"] == 2


def test_debug_is_protected_by_default():
    e = Engine(Config())
    cl = e.new_client()
    assert run(e, cl, "debug", "sleep", "0").startswith(b"-ERR DEBUG command not allowed.")
    assert run(e, cl, "DeBuG", "sleep", "0").startswith(b"-ERR DEBUG command not allowed.")
    assert e.table.get("debug").rejected_calls == 2


def test_single_lookup_table_leaves_out_containers_and_protected(eng):
    # execute() resolves these names in one dict lookup; the rest go through _resolve()
    plain = eng.plain
    assert plain[b"get"] is plain[b"GET"] is eng.table.get("get")
    for name in (b"client", b"CLIENT", b"config", b"debug", b"DEBUG"):
        assert name not in plain
    assert all(not cmd.subcommands and not cmd.flags & PROTECTED for cmd in plain.values())
    assert {n.lower() for n in plain} | {b"client", b"config", b"debug"} <= {n.lower() for n in eng.by_bytes}


def test_requirepass_gates_commands():
    cfg = Config()
    cfg.set("requirepass", "secret")
    e = Engine(cfg)
    cl = e.new_client()
    assert run(e, cl, "get", "k") == b"-NOAUTH Authentication required.\r\n"
    assert run(e, cl, "auth", "wrong") == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert run(e, cl, "auth", "secret") == b"+OK\r\n"
    assert run(e, cl, "get", "k") == b"$-1\r\n"


def test_hello_switches_protocol(eng, c):
    reply = run(eng, c, "hello", "3")
    assert reply.startswith(b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n")
    assert run(eng, c, "get", "missing") == b"_\r\n"
    assert run(eng, c, "hello", "4") == b"-NOPROTO unsupported protocol version\r\n"
    assert run(eng, c, "hello", "x") == b"-ERR Protocol version is not an integer or out of range\r\n"


def test_client_reply_off_and_skip(eng, c):
    assert run(eng, c, "client", "reply", "off") == b""
    assert run(eng, c, "set", "k", "v") == b""
    assert run(eng, c, "client", "reply", "on") == b"+OK\r\n"
    assert run(eng, c, "client", "reply", "skip") == b""
    assert run(eng, c, "get", "k") == b""
    assert run(eng, c, "get", "k") == b"$1\r\nv\r\n"


# -- propagation -------------------------------------------------------------


@pytest.fixture
def propagated(eng):
    log: list[tuple[int, list[bytes]]] = []
    eng.propagators.append(lambda dbid, argv: log.append((dbid, list(argv))))
    return log


def test_relative_expiry_propagates_as_absolute(eng, c, propagated):
    before = int(time.time() * 1000)
    run(eng, c, "set", "k", "v", "EX", "100")
    (dbid, argv) = propagated[-1]
    assert argv[:4] == [b"SET", b"k", b"v", b"PXAT"]
    assert before + 100_000 <= int(argv[4]) <= int(time.time() * 1000) + 100_000
    run(eng, c, "expire", "k", "50")
    assert propagated[-1][1][0] == b"PEXPIREAT"


def test_incrbyfloat_propagates_as_set_keepttl(eng, c, propagated):
    run(eng, c, "incrbyfloat", "f", "1.5")
    assert propagated[-1] == (0, [b"SET", b"f", b"1.5", b"KEEPTTL"])


def test_reads_and_failed_writes_do_not_propagate(eng, c, propagated):
    run(eng, c, "get", "k")
    run(eng, c, "set", "k", "v", "NX")
    n = len(propagated)
    run(eng, c, "set", "k", "w", "NX")  # not set: nothing changed
    run(eng, c, "incr", "k")  # error
    assert len(propagated) == n


def test_select_db_is_propagated_with_db_id(eng, c, propagated):
    run(eng, c, "select", "3")
    run(eng, c, "set", "k", "v")
    assert propagated[-1][0] == 3


def test_expired_key_is_propagated_as_del(eng, c, propagated):
    run(eng, c, "set", "k", "v", "PX", "1")
    time.sleep(0.01)
    assert run(eng, c, "get", "k") == b"$-1\r\n"
    assert propagated[-1] == (0, [b"DEL", b"k"])
    assert eng.stats["expired_keys"] == 1


# -- expiry ------------------------------------------------------------------


def test_active_expiry_removes_untouched_keys(eng, c):
    for i in range(200):
        run(eng, c, "set", f"k{i}", "v", "PX", "5")
    run(eng, c, "set", "keep", "v")
    time.sleep(0.02)
    eng.cron()
    assert len(eng.dbs[0].data) == 1
    assert eng.stats["expired_keys"] == 200


def test_active_expiry_can_be_disabled(eng, c):
    run(eng, c, "set", "k", "v", "PX", "5")
    run(eng, c, "debug", "set-active-expire", "0")
    time.sleep(0.02)
    eng.cron()
    assert b"k" in eng.dbs[0].data
    assert run(eng, c, "exists", "k") == b":0\r\n"  # lazily expired on access


def test_changed_ttl_leaves_no_stale_expiry(eng, c):
    run(eng, c, "set", "k", "v", "PX", "5")
    run(eng, c, "persist", "k")
    time.sleep(0.02)
    eng.cron()
    assert run(eng, c, "get", "k") == b"$1\r\nv\r\n"


# -- SCAN / RANDOMKEY index ----------------------------------------------------


def test_key_index_scan_returns_every_key_across_resizes():
    idx = KeyIndex([b"k%d" % i for i in range(1000)])
    stable = {b"k%d" % i for i in range(0, 1000, 2)}
    seen: set[bytes] = set()
    cursor = 0
    step = 0
    while True:
        out: list[bytes] = []
        cursor = idx.scan(cursor, 10, out)
        seen.update(out)
        # Churn between calls: grow, then shrink, removing only the odd keys.
        step += 1
        if step == 5:
            for i in range(1000, 5000):
                idx.add(b"k%d" % i)
        if step == 20:
            for i in range(1000, 5000):
                idx.remove(b"k%d" % i)
            for i in range(1, 1000, 2):
                idx.remove(b"k%d" % i)
        if cursor == 0:
            break
    assert stable <= seen


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 300),
    st.lists(st.tuples(st.integers(-40, 60), st.integers(1, 40)), min_size=1, max_size=60),
    st.integers(1, 30),
)
def test_key_index_scan_guarantee_with_churn_at_every_step(start, steps, count):
    """Keys present for the whole iteration are returned, whatever adds and removes (and the
    incremental resizes they start, grow or shrink) happen between calls; nothing else is."""
    live = [b"s%d" % i for i in range(start)]
    idx = KeyIndex(live)
    present = set(live)
    stable = set(live)
    ever = set(live)
    seen: set[bytes] = set()
    cursor = 0
    n = 0
    for delta, _ in steps:
        out: list[bytes] = []
        cursor = idx.scan(cursor, count, out)
        seen.update(out)
        if delta > 0:
            for _ in range(delta):
                k = b"n%d" % n
                n += 1
                idx.add(k)
                present.add(k)
                ever.add(k)
        else:
            for k in sorted(present)[:-delta]:
                idx.remove(k)
                present.discard(k)
                stable.discard(k)
        assert idx.count == len(present)
        if cursor == 0:
            break
    else:
        while cursor != 0:
            out = []
            cursor = idx.scan(cursor, count, out)
            seen.update(out)
    assert stable <= seen <= ever
    full: list[bytes] = []
    c = 0
    while True:
        c = idx.scan(c, 1000, full)
        if c == 0:
            break
    assert sorted(full) == sorted(present)  # each key once, none left behind by a resize


def test_key_index_resizes_a_few_buckets_at_a_time():
    idx = KeyIndex([b"k%d" % i for i in range(4096)])
    idx.add(b"one-more")  # over the table size: a new table, filled as later calls go on
    assert idx.old is not None and idx.mask == 8191
    for i in range(100):
        idx.add(b"x%d" % i)
    assert idx.old is not None  # still moving: no call moved all 4096 buckets
    for i in range(400):
        idx.add(b"y%d" % i)
    assert idx.old is None and idx.count == 4096 + 1 + 100 + 400
    assert {idx.random() for _ in range(50)} <= {b"k%d" % i for i in range(4096)} | {b"one-more"} | {
        b"x%d" % i for i in range(100)
    } | {b"y%d" % i for i in range(400)}


def test_key_index_random_covers_keys():
    idx = KeyIndex([b"a", b"b", b"c"])
    assert {idx.random() for _ in range(300)} == {b"a", b"b", b"c"}
    idx.remove(b"b")
    assert {idx.random() for _ in range(300)} == {b"a", b"c"}


def test_scan_full_iteration_matches_keys(eng, c):
    for i in range(500):
        run(eng, c, "set", f"key:{i}", "v")
    seen = set()
    cursor = b"0"
    while True:
        reply = eng.execute(c, [b"scan", cursor, b"count", b"37"])
        parts = reply.split(b"\r\n")
        cursor = parts[2]
        seen.update(p for p in parts[4:] if p and not p.startswith((b"$", b"*")))
        if cursor == b"0":
            break
    assert seen == {b"key:%d" % i for i in range(500)}


def test_randomkey_skips_expired(eng, c):
    run(eng, c, "set", "gone", "v", "PX", "1")
    run(eng, c, "set", "here", "v")
    time.sleep(0.01)
    for _ in range(20):
        assert run(eng, c, "randomkey") == b"$4\r\nhere\r\n"


def test_index_is_built_lazily(eng, c):
    run(eng, c, "set", "a", "1")
    assert eng.dbs[0].index is None
    run(eng, c, "randomkey")
    assert eng.dbs[0].index is not None
    run(eng, c, "set", "b", "1")
    run(eng, c, "del", "a")
    assert eng.dbs[0].index.count == 1


def test_flush_and_swapdb(eng, c):
    run(eng, c, "set", "a", "1")
    run(eng, c, "swapdb", "0", "1")
    assert run(eng, c, "dbsize") == b":0\r\n"
    run(eng, c, "select", "1")
    assert run(eng, c, "get", "a") == b"$1\r\n1\r\n"
    run(eng, c, "flushall")
    assert run(eng, c, "dbsize") == b":0\r\n"


def test_database_idle_time_tracks_access():
    db = Database(0, lambda d, k: d.delete(k))
    Database.clock = 100
    db.set(b"k", b"v")
    Database.clock = 105
    assert db.idle_seconds(b"k") == 5
    db.peek(b"k")  # no touch
    assert db.idle_seconds(b"k") == 5
    db.get(b"k")
    assert db.idle_seconds(b"k") == 0


# -- configuration -------------------------------------------------------------


def test_config_file_and_command_line(tmp_path):
    conf = tmp_path / "r.conf"
    conf.write_text('# comment\nport 7777\nsave ""\nmaxmemory 10mb\nloglevel warning\n')
    cfg = Config()
    cfg.load_argv([str(conf), "--port", "8888", "--save", "60", "100"])
    assert cfg["port"] == "8888"
    assert cfg["save"] == "60 100"
    assert cfg["maxmemory"] == str(10 * 1024 * 1024)
    assert cfg["loglevel"] == "warning"


def test_config_unknown_directive_is_an_error(tmp_path):
    conf = tmp_path / "r.conf"
    conf.write_text("no-such-thing yes\n")
    with pytest.raises(ConfigError, match="Bad directive"):
        Config().load_file(str(conf))


def test_config_set_is_atomic(eng, c):
    reply = run(eng, c, "config", "set", "maxmemory", "100", "hz", "notanumber")
    assert reply.startswith(b"-ERR CONFIG SET failed (possibly related to argument 'hz')")
    assert eng.config["maxmemory"] == "0"


def test_config_get_aliases_and_patterns(eng, c):
    reply = run(eng, c, "config", "get", "slave-read-only")
    assert reply == b"*2\r\n$15\r\nslave-read-only\r\n$3\r\nyes\r\n"
    reply = run(eng, c, "config", "get", "maxmemory-p*")
    assert reply == b"*2\r\n$16\r\nmaxmemory-policy\r\n$10\r\nnoeviction\r\n"


def test_info_has_real_figures(eng, c):
    run(eng, c, "set", "a", "1")
    run(eng, c, "get", "a")
    run(eng, c, "get", "b")
    info = run(eng, c, "info", "all").decode()
    assert "redis_version:7.0.15" in info
    assert "keyspace_hits:1" in info and "keyspace_misses:1" in info
    assert "db0:keys=1,expires=0" in info
    assert "cmdstat_get:calls=2," in info
    body = run(eng, c, "info").decode()
    assert "cmdstat_" not in body and "# Keyspace" in body


# -- Engine.quiet: the one flag the hot write handlers test ----------------------------------


def _listening(e: Engine) -> bool:
    return bool(
        e.evict_on or e.watched_keys or e.tracking.clients or e.notify_flags or any(db.blocking for db in e.dbs)
    )


def test_quiet_follows_everything_that_listens_to_writes(eng):
    a, b = eng.new_client(), eng.new_client()
    steps = [
        (a, "watch", "k"),
        (a, "unwatch"),
        (a, "watch", "k", "j"),
        (a, "multi"),
        (a, "exec"),
        (a, "watch", "k"),
        (a, "discard"),
        (a, "reset"),
        (a, "client", "tracking", "on"),
        (a, "client", "tracking", "off"),
        (a, "client", "tracking", "on", "bcast"),
        (a, "reset"),
        (a, "blpop", "q", "0"),
        (b, "rpush", "q", "x"),  # serves a
        (a, "blpop", "q2", "0"),
        (b, "client", "unblock", str(a.id)),
        (a, "blpop", "q3", "0"),
        (b, "config", "set", "notify-keyspace-events", "Kl"),
        (b, "config", "set", "notify-keyspace-events", ""),
        (b, "config", "set", "maxmemory", "1gb"),
        (b, "config", "set", "maxmemory", "0"),
    ]
    seen = set()
    for cl, *args in steps:
        run(eng, cl, *args)
        assert eng.quiet == (not _listening(eng)), args
        seen.add(eng.quiet)
    assert seen == {True, False}
    assert not eng.quiet  # a is still blocked on q3
    eng.drop_client(a)  # a disconnects: nothing listens any more
    assert eng.quiet and not _listening(eng)
    for setup in (("watch", "k"), ("client", "tracking", "on")):
        c2 = eng.new_client()
        run(eng, c2, *setup)
        assert not eng.quiet
        eng.drop_client(c2)
        assert eng.quiet


def test_hot_writes_still_reach_watchers_and_waiters(eng):
    # the hot SET/INCR/LPUSH/SADD/HSET paths skip written() only while nothing listens
    a, b = eng.new_client(), eng.new_client()
    for write in (("set", "k", "v"), ("incr", "k"), ("lpush", "k", "x"), ("sadd", "k", "m"), ("hset", "k", "f", "v")):
        run(eng, b, "del", "k")
        run(eng, a, "watch", "k")
        run(eng, a, "multi")
        run(eng, a, "ping")
        run(eng, b, *write)
        assert run(eng, a, "exec") == b"*-1\r\n", write
    assert run(eng, a, "blpop", "q", "0") == b""
    run(eng, b, "lpush", "q", "x")
    assert a.pushed == [b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n"]
