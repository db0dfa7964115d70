"""Behaviours Redis 7.0's own test suite checks (unit/introspection, unit/bitops), compared with
a real redis-server: CLIENT INFO's qbuf while the command runs, the dirty counter of SETBIT and
BITFIELD, hidden configuration parameters and a mutable `ignore-warnings`.
"""

from __future__ import annotations

import socket
import time

from conftest import RawConn


def _replies(port: int, script: list[tuple[str, ...]]) -> list[bytes]:
    """The replies to `script`, sent one command at a time on one new connection."""
    c = RawConn(port)
    try:
        return [c.cmd(*cmd) for cmd in script]
    finally:
        c.close()


QBUF_READS = [
    b"*2\r\n$6\r\nclient\r\n$4\r\ninfo\r\n",  # qbuf: the request's own 26 bytes
    b"*2\r\n$6\r\nclient\r\n$4\r\ninfo\r\n*1\r\n$4\r\nping\r\n",  # the whole read, still unprocessed part included
    b"CLIENT INFO\r\n",  # inline
]


def _qbuf_fields(port: int) -> list[list[bytes]]:
    s = socket.create_connection(("127.0.0.1", port))
    try:
        out = []
        for raw in QBUF_READS:
            s.sendall(raw)
            time.sleep(0.1)
            data = s.recv(65536)
            out.append([f for f in data.split(b" ") if f.startswith((b"qbuf=", b"qbuf-free="))])
        return out
    finally:
        s.close()


def test_client_info_qbuf_during_the_command(redis_server, respdb_server):
    expected = _qbuf_fields(redis_server.port)
    assert expected[0] == [b"qbuf=26", b"qbuf-free=20448"]
    assert _qbuf_fields(respdb_server.port) == expected


BIT_WRITES = [
    ("SETBIT", "foo", "0", "0"), ("BITFIELD", "foo2", "SET", "i5", "0", "0"), ("SETBIT", "foo", "0", "0"),
    ("BITFIELD", "foo2", "SET", "i5", "0", "0"), ("SETBIT", "foo", "0", "1"), ("SETBIT", "foo", "0", "1"),
    ("SETBIT", "foo", "0", "0"), ("BITFIELD", "foo2", "SET", "i5", "0", "1"), ("BITFIELD", "foo2", "SET", "i5", "0", "1"),
    ("BITFIELD", "foo2", "INCRBY", "u2", "100", "1", "OVERFLOW", "FAIL", "INCRBY", "u2", "100", "5"),
    ("BITFIELD", "foo3", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"), ("EXISTS", "foo3"), ("SETBIT", "foo", "100", "0"),
    ("BITFIELD", "foo2", "SET", "u8", "0", "255", "SET", "u8", "0", "255"), ("BITFIELD", "foo2", "SET", "u8", "0", "255"),
]  # fmt: skip


def _dirty(conn: RawConn) -> int:
    info = conn.cmd("INFO", "persistence")
    return int(info.split(b"rdb_changes_since_last_save:")[1].split(b"\r\n")[0])


def _bit_deltas(port: int) -> list[tuple[bytes, int]]:
    c = RawConn(port)
    try:
        c.cmd("FLUSHALL")
        out = []
        for cmd in BIT_WRITES:
            before = _dirty(c)
            reply = c.cmd(*cmd)
            out.append((reply, _dirty(c) - before))
        return out
    finally:
        c.close()


def test_setbit_and_bitfield_count_changes_only(redis_server, respdb_server):
    expected = _bit_deltas(redis_server.port)
    assert 0 in [d for _, d in expected] and 1 in [d for _, d in expected]
    assert _bit_deltas(respdb_server.port) == expected


CONFIG_SCRIPT = [
    ("CONFIG", "GET", "key-load-delay"), ("CONFIG", "GET", "rdb-key-save-delay"),
    ("CONFIG", "GET", "loading-process-events-interval-bytes"), ("CONFIG", "GET", "watchdog-period"),
    ("CONFIG", "GET", "use-exit-on-panic"), ("CONFIG", "GET", "key-load-*"), ("CONFIG", "GET", "*-delay"),
    ("CONFIG", "SET", "key-load-delay", "5"), ("CONFIG", "GET", "key-load-delay"), ("CONFIG", "SET", "key-load-delay", "0"),
    ("CONFIG", "SET", "loading-process-events-interval-bytes", "100"), ("CONFIG", "SET", "ignore-warnings", ""),
    ("CONFIG", "GET", "ignore-warnings"),
    # maxmemory-clients takes a memory value or a percentage of maxmemory
    ("CONFIG", "SET", "maxmemory-clients", "10%"), ("CONFIG", "GET", "maxmemory-clients"),
    ("CONFIG", "SET", "maxmemory-clients", "200%"), ("CONFIG", "SET", "maxmemory-clients", "100%"),
    ("CONFIG", "SET", "maxmemory-clients", "-5%"), ("CONFIG", "SET", "maxmemory-clients", "0%"),
    ("CONFIG", "GET", "maxmemory-clients"), ("CONFIG", "SET", "maxmemory-clients", "x%"),
    ("CONFIG", "SET", "maxmemory-clients", "-5"), ("CONFIG", "SET", "maxmemory-clients", "050%"),
    ("CONFIG", "SET", "maxmemory-clients", "5.5%"), ("CONFIG", "SET", "maxmemory-clients", "1gb"),
    ("CONFIG", "GET", "maxmemory-clients"),
    ("CONFIG", "SET", "maxmemory", "10000001", "maxmemory-clients", "200%", "client-query-buffer-limit", "invalid"),
    ("CONFIG", "GET", "maxmemory"), ("CONFIG", "SET", "maxmemory-clients", "0"),
]  # fmt: skip


def test_hidden_configs_and_ignore_warnings(redis_server, respdb_server):
    replies = [_replies(port, CONFIG_SCRIPT) for port in (redis_server.port, respdb_server.port)]
    assert replies[1] == replies[0]


def _invalidations_on_expiry(port: int) -> list[bytes]:
    """unit/tracking: a BCAST NOLOOP client is told about keys that expire, actively or lazily
    (an expiry is nobody's own change), through its REDIRECT client."""
    a, b = RawConn(port), RawConn(port)
    try:
        rid = a.client_id()
        a.cmd("SUBSCRIBE", "__redis__:invalidate")
        b.cmd("CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", str(rid), "NOLOOP")
        b.cmd("SET", "mykey", "myval", "px", "1")  # b's own change: filtered by NOLOOP
        b.cmd("SET", "mykeyotherkey", "myval")
        got = [a.read_reply()]  # the cron's expiry of mykey (within about a second)
        b.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        b.cmd("SET", "mykey2", "myval", "px", "1")
        time.sleep(0.05)
        got.append(b.cmd("GET", "mykey2"))  # expired on access: an invalidation for b too
        got.append(a.read_reply())
        assert a.silent(0.2)
        b.cmd("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        return got
    finally:
        a.close()
        b.close()


def test_tracking_invalidations_for_expired_keys(redis_server, respdb_server):
    expected = _invalidations_on_expiry(redis_server.port)
    assert b"mykey2" in expected[2]
    assert _invalidations_on_expiry(respdb_server.port) == expected


LIB = "#!lua name=pauselib\nredis.register_function{function_name='ro', callback=function() return 'hello' end, flags={'no-writes'}}\nredis.register_function('rw', function() return 'rw' end)"


def _pause_script_replies(port: int) -> list[bytes]:
    """unit/pause: during CLIENT PAUSE WRITE a script or function declaring no-writes runs; one
    that may write (no flags, or a shebang without no-writes) waits for the pause to end."""
    a, b = RawConn(port), RawConn(port)
    try:
        b.cmd("FUNCTION", "FLUSH")
        b.cmd("FUNCTION", "LOAD", LIB)
        a.cmd("CLIENT", "PAUSE", "100000", "WRITE")
        got = [
            b.cmd("EVAL", "#!lua flags=no-writes\nreturn 1", "0"),
            b.cmd("FCALL", "ro", "0"),
            b.cmd("EVAL_RO", "return 2", "0"),
            # queued and executed as well: the transaction holds no write
            b.cmd("MULTI"),
            b.cmd("EVAL", "#!lua flags=no-writes\nreturn 12", "0"),
            b.cmd("EVAL", "#!lua flags=no-writes\nreturn 13", "0"),
            b.cmd("EXEC"),
        ]
        for waiting in (("EVAL", "#!lua\nreturn 3", "0"), ("FCALL", "rw", "0"), ("EVAL", "return 4", "0")):
            b.send_cmd(*waiting)
            got.append(b"paused" if b.silent(0.2) else b.read_reply())
            a.cmd("CLIENT", "UNPAUSE")
            got.append(b.read_reply())
            a.cmd("CLIENT", "PAUSE", "100000", "WRITE")
        a.cmd("CLIENT", "UNPAUSE")
        b.cmd("FUNCTION", "FLUSH")
        return got
    finally:
        a.close()
        b.close()


def test_pause_lets_no_writes_scripts_run(redis_server, respdb_server):
    expected = _pause_script_replies(redis_server.port)
    assert expected[6] == b"*2\r\n:12\r\n:13\r\n" and expected[7] == b"paused"
    assert expected[:3] == [b":1\r\n", b"$5\r\nhello\r\n", b":2\r\n"]
    assert _pause_script_replies(respdb_server.port) == expected


def test_info_scripting_memory_and_replication_stats(redis_server, respdb_server):
    """unit/scripting reads number_of_cached_scripts from INFO memory, unit/dump
    migrate_cached_sockets from INFO stats; the sync counters follow SYNC/PSYNC."""
    for port in (redis_server.port, respdb_server.port):
        c = RawConn(port)
        c.cmd("SCRIPT", "FLUSH")
        for i in range(3):
            c.cmd("SCRIPT", "LOAD", "return %d" % i)
        memory = c.cmd("INFO", "memory")
        stats = c.cmd("INFO", "stats")
        c.cmd("SCRIPT", "FLUSH")
        c.close()
        assert b"\r\nnumber_of_cached_scripts:3\r\n" in memory, port
        for field in (b"used_memory_lua", b"used_memory_scripts_eval", b"used_memory_vm_total", b"number_of_functions"):
            assert b"\r\n" + field + b":" in memory, (port, field)
        assert b"\r\nmigrate_cached_sockets:0\r\n" in stats, port
        assert b"\r\nsync_full:" in stats and b"\r\nsync_partial_err:" in stats, port


def _noreplicas(port: int) -> list[bytes]:
    """unit/multi and unit/scripting: with min-replicas-to-write and no replicas, writes get
    NOREPLICAS (EXEC aborts; a script declaring it may write is refused before it runs, one
    without flags when it calls a write), reads and no-writes scripts run."""
    a, b = RawConn(port), RawConn(port)
    try:
        out = [a.cmd("SET", "x", "1"), a.cmd("MULTI"), a.cmd("INCR", "xx")]
        b.cmd("CONFIG", "SET", "min-replicas-to-write", "2")
        out.append(a.cmd("EXEC"))
        for cmd in (
            ("SET", "x", "2"), ("GET", "x"), ("EVAL", "#!lua\nreturn redis.call('get','x')", "1", "x"),
            ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get','x')", "1", "x"),
            ("EVAL", "return redis.call('set','x',1)", "0"), ("EVAL", "return redis.call('get','x')", "0"),
            ("MULTI",), ("GET", "x"), ("EXEC",), ("PING",), ("DEL", "x"),
        ):  # fmt: skip
            out.append(a.cmd(*cmd))
        b.cmd("CONFIG", "SET", "min-replicas-to-write", "0")
        out.append(a.cmd("SET", "x", "3"))
        return out
    finally:
        a.close()
        b.close()


def test_min_replicas_to_write(redis_server, respdb_server):
    expected = _noreplicas(redis_server.port)
    assert expected[3].startswith(b"-EXECABORT") and expected[-1] == b"+OK\r\n"
    assert _noreplicas(respdb_server.port) == expected


READ_ONLY_SCRIPTS = [
    ("EVAL_RO", "return redis.call('publish','ch','m')", "0"),
    ("EVAL_RO", "return redis.call('pfcount','h')", "0"),
    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('publish','ch','msg')", "0"),
    ("EVAL", "return redis.call('publish','ch','m')", "0"),
]


def test_may_replicate_commands_in_read_only_scripts(redis_server, respdb_server):
    """unit/pause: PUBLISH (and PFCOUNT, which may replicate) are writes to a read-only script."""
    replies = [_replies(port, READ_ONLY_SCRIPTS) for port in (redis_server.port, respdb_server.port)]
    assert replies[0][0].startswith(b"-ERR Write commands are not allowed from read-only scripts.")
    assert replies[1] == replies[0]


def _script_tracking(port: int) -> list[bytes]:
    """unit/tracking: a script's writes are its caller's for NOLOOP, and a script that calls a
    read-only command makes its caller track the keys the script declared."""
    r, other = RawConn(port, proto=3), RawConn(port)
    try:
        out = [r.cmd("CLIENT", "TRACKING", "on", "NOLOOP"), r.cmd("SET", "key1", "1"), r.cmd("GET", "key1")]
        out.append(r.cmd("EVAL", "return redis.call('set', 'key1', '2')", "1", "key1"))  # no invalidation first
        out.append(r.cmd("GET", "key1"))
        r.cmd("CLIENT", "TRACKING", "off")
        r.cmd("CLIENT", "TRACKING", "on")
        for script in (
            ("EVAL", "redis.call('set', 'key3{t}', 'bar')", "2", "key1{t}", "key2{t}"),  # writes only: nothing
            ("EVAL", "redis.call('get', 'key3{t}')", "2", "key1{t}", "key2{t}"),  # reads: tracks key1, key2
            ("EVAL_RO", "redis.call('ping')", "2", "key1{t}", "key2{t}"),
            ("EVAL_RO", "redis.call('get', 'key1{t}')", "2", "key1{t}", "key2{t}"),
        ):
            out.append(r.cmd(*script))
            other.cmd("MSET", "key2{t}", "2", "key1{t}", "2", "key3{t}", "2")
            out.append(r.cmd("PING"))  # after the invalidations, if any
        r.cmd("CLIENT", "TRACKING", "off")
        return out
    finally:
        r.close()
        other.close()


def test_tracking_and_scripts(redis_server, respdb_server):
    expected = _script_tracking(redis_server.port)
    assert expected[3] == b"+OK\r\n" and b"invalidate" in expected[8]
    assert _script_tracking(respdb_server.port) == expected


def _tracking_table_state(port: int) -> list[bytes]:
    """unit/tracking: a flush frees the whole tracking table (also keys remembered for a client
    that has turned tracking off), and a lowered tracking-table-max-keys is applied by the
    cron, the keys let go being invalidated."""
    r, other, redirect = RawConn(port), RawConn(port), RawConn(port)
    try:
        rid = redirect.client_id()
        redirect.cmd("SUBSCRIBE", "__redis__:invalidate")
        r.cmd("CLIENT", "TRACKING", "on")
        other.cmd("SET", "key1", "0")
        r.cmd("GET", "key1")
        r.cmd("CLIENT", "TRACKING", "off")
        r.cmd("FLUSHALL")
        r.cmd("CLIENT", "TRACKING", "on", "REDIRECT", str(rid), "NOLOOP")
        other.cmd("SET", "key1", "1")  # nobody tracks key1 any more
        out = [b"nothing" if redirect.silent(0.2) else redirect.read_reply()]
        r.cmd("MSET", "key1{t}", "1", "key2{t}", "2")
        r.cmd("MGET", "key1{t}", "key2{t}")
        out.append(r.cmd("CONFIG", "SET", "tracking-table-max-keys", "1"))
        msg = redirect.read_reply()  # within a cron period; which key Redis lets go is random
        out.append(msg.replace(b"key2{t}", b"key1{t}"))
        info = r.cmd("INFO", "stats")
        out.append(info.split(b"tracking_total_keys:")[1].split(b"\r\n")[0])
        r.cmd("CONFIG", "SET", "tracking-table-max-keys", "1000000")
        r.cmd("CLIENT", "TRACKING", "off")
        r.cmd("FLUSHALL")
        return out
    finally:
        for c in (r, other, redirect):
            c.close()


def test_tracking_table_flush_and_limit(redis_server, respdb_server):
    expected = _tracking_table_state(redis_server.port)
    assert expected[0] == b"nothing" and expected[-1] == b"1"
    assert _tracking_table_state(respdb_server.port) == expected


GLOBALS_SCRIPTS = [
    ("EVAL", "local g = getmetatable(_G); g.__index = {}", "0"),
    ("EVAL", "return type(getmetatable(_G))", "0"),
    ("EVAL", "return type(getmetatable(_G).__index)", "0"),
    ("EVAL", "x = 5", "0"),
    ("EVAL", "return a", "0"),
    ("EVAL", "setmetatable(_G, {})", "0"),
    ("FUNCTION", "LOAD", "REPLACE", "#!lua name=g\nredis.register_function('f', function() local g = getmetatable(_G); g.__index = {} end)"),
    ("FCALL", "f", "0"),
    ("FUNCTION", "DELETE", "g"),
]  # fmt: skip


def test_globals_protection(redis_server, respdb_server):
    """unit/scripting's 'Try trick global protection': _G's metatable is there, and read-only."""
    replies = [_replies(port, GLOBALS_SCRIPTS) for port in (redis_server.port, respdb_server.port)]
    assert b"Attempt to modify a readonly table" in replies[0][0]
    assert replies[1] == replies[0]


RELOAD_SCRIPT = [
    ("FLUSHALL",), ("FUNCTION", "FLUSH"), ("SET", "k", "v"),
    ("FUNCTION", "LOAD", "#!lua name=test\nredis.register_function('test', function() return 'hello' end)"),
    ("DEBUG", "RELOAD", "NOFLUSH"),  # the library is already there: the load fails before the keys
    ("FUNCTION", "LIST"), ("DEBUG", "RELOAD", "NOFLUSH", "MERGE"), ("DEBUG", "RELOAD"), ("FCALL", "test", "0"),
    ("GET", "k"), ("FUNCTION", "FLUSH"),
]  # fmt: skip


def test_debug_reload_noflush_with_functions(redis_server, respdb_server):
    """unit/functions: 'FUNCTION - test debug reload different options'."""
    replies = [_replies(port, RELOAD_SCRIPT) for port in (redis_server.port, respdb_server.port)]
    assert replies[0][4] == b"-ERR Error trying to load the RDB dump\r\n"
    assert replies[1] == replies[0]


def _limit_before_command(port: int) -> list[bytes]:
    """unit/tracking's 'Regression test for #11715': a lowered tracking-table-max-keys is applied
    before the next command of any client (here with the cron paused), so the invalidation comes
    before the reply of a command queued by MULTI."""
    r, rd = RawConn(port), RawConn(port, proto=3)
    try:
        r.cmd("FLUSHALL")
        r.cmd("CONFIG", "SET", "tracking-table-max-keys", "2")
        r.cmd("DEBUG", "PAUSE-CRON", "1")
        rd.cmd("CLIENT", "TRACKING", "on")
        rd.cmd("MGET", "1{tag}", "2{tag}")
        rd.cmd("MULTI")
        r.cmd("CONFIG", "SET", "tracking-table-max-keys", "1")
        out = [rd.cmd("PING").replace(b"2{tag}", b"1{tag}")]  # which key goes is Redis's random pick
        out += [rd.read_reply(), rd.cmd("EXEC")]
        r.cmd("DEBUG", "PAUSE-CRON", "0")
        r.cmd("CONFIG", "SET", "tracking-table-max-keys", "1000000")
        rd.cmd("CLIENT", "TRACKING", "off")
        return out
    finally:
        r.close()
        rd.close()


def test_tracking_limit_applies_before_the_next_command(redis_server, respdb_server):
    expected = _limit_before_command(redis_server.port)
    assert b"invalidate" in expected[0] and expected[1] == b"+QUEUED\r\n"
    assert _limit_before_command(respdb_server.port) == expected


SORT_ACL = [
    ("ACL", "SETUSER", "sortacl", "on", "nopass", "+sort", "~mylist"), ("RPUSH", "mylist", "1", "2"),
    ("AUTH", "sortacl", "x"), ("SORT", "mylist", "BY", "nosort"), ("SORT", "mylist", "BY", "v*"),
    ("SORT", "mylist", "GET", "#"), ("SORT", "mylist", "LIMIT", "0", "1", "BY", "v*", "GET", "#"),
    ("AUTH", "default", "x"), ("ACL", "SETUSER", "sortacl", "%W~*"), ("AUTH", "sortacl", "x"),
    ("SORT", "mylist", "BY", "v*"), ("AUTH", "default", "x"), ("ACL", "SETUSER", "sortacl", "%R~*"),
    ("AUTH", "sortacl", "x"), ("SORT", "mylist", "BY", "v*", "GET", "#"),
    ("AUTH", "default", "x"), ("ACL", "DELUSER", "sortacl"), ("DEL", "mylist"),
]  # fmt: skip


def test_sort_by_and_get_need_read_access_to_every_key(redis_server, respdb_server):
    # unit/acl-v2 "Test sort with ACL permissions"
    assert _replies(respdb_server.port, SORT_ACL) == _replies(redis_server.port, SORT_ACL)


def _pubsub_victim_survives(port: int) -> bool:
    admin, victim = RawConn(port), RawConn(port)
    try:
        admin.cmd("ACL", "SETUSER", "psuser", "on", ">pspass", "+@all", "allchannels")
        victim.cmd("AUTH", "psuser", "pspass")
        victim.cmd("CLIENT", "SETNAME", "deathrow")
        victim.cmd("PSUBSCRIBE", "foo")
        admin.cmd("ACL", "SETUSER", "psuser", "resetchannels")  # all channels lost: killed
        return b"deathrow" in admin.cmd("CLIENT", "LIST")
    finally:
        admin.cmd("ACL", "DELUSER", "psuser")
        admin.close()
        victim.close()


def test_subscriber_killed_when_allchannels_revoked(redis_server, respdb_server):
    assert _pubsub_victim_survives(redis_server.port) is False
    assert _pubsub_victim_survives(respdb_server.port) is False


SHUTDOWN_FLAGS = [
    ("CONFIG", "SET", "shutdown-on-sigterm", "nosave now"), ("CONFIG", "GET", "shutdown-on-sigterm"),
    ("CONFIG", "SET", "shutdown-on-sigterm", "now nosave"), ("CONFIG", "GET", "shutdown-on-sigterm"),
    ("CONFIG", "SET", "shutdown-on-sigterm", "save force"), ("CONFIG", "GET", "shutdown-on-sigterm"),
    ("CONFIG", "SET", "shutdown-on-sigterm", "bogus"), ("CONFIG", "SET", "shutdown-on-sigterm", "default"),
    ("CONFIG", "GET", "shutdown-on-sigterm"),
]  # fmt: skip


def test_shutdown_on_signal_takes_several_flags(redis_server, respdb_server):
    # unit/introspection / unit/shutdown: CONFIG SET shutdown-on-sigterm "nosave now"
    assert _replies(respdb_server.port, SHUTDOWN_FLAGS) == _replies(redis_server.port, SHUTDOWN_FLAGS)
