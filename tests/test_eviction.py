"""maxmemory and the eviction policies, over TCP (plus error texts compared with a real Redis)."""

from __future__ import annotations

import socket
import time

import pytest
import redis
from conftest import redis_server_path, start_redis, start_respdb

OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
VALUE = b"x" * 1000
LIMIT = 1_500_000  # bytes of dataset allowed above the start-up figure


@pytest.fixture(scope="module")
def server():
    srv = start_respdb()
    yield srv
    srv.stop()


@pytest.fixture
def rc(server):
    c = redis.Redis(host="127.0.0.1", port=server.port)
    c.config_set("maxmemory", 0)
    c.flushall()
    c.config_set("maxmemory-policy", "noeviction")
    c.config_set("notify-keyspace-events", "")
    c.config_set("lfu-log-factor", 10)
    c.config_resetstat()
    yield c
    c.config_set("maxmemory", 0)
    c.flushall()
    c.close()


def limit_above_now(rc, extra: int = LIMIT) -> int:
    """Turn accounting on (maxmemory huge), then set the limit `extra` bytes above usage."""
    rc.config_set("maxmemory", 1 << 40)
    limit = rc.info("memory")["used_memory"] + extra
    rc.config_set("maxmemory", limit)
    return limit


def evicted(rc) -> int:
    return rc.info("stats")["evicted_keys"]


def test_info_memory_fields(rc):
    limit = limit_above_now(rc)
    rc.config_set("maxmemory-policy", "allkeys-lru")
    info = rc.info("memory")
    assert info["maxmemory"] == limit
    assert info["maxmemory_policy"] == "allkeys-lru"
    assert info["mem_not_counted_for_evict"] == 0
    before = info["used_memory"]
    for i in range(100):
        rc.set(b"k%d" % i, VALUE)
    info = rc.info("memory")
    # The account moves with the dataset at once (100 keys of 1000 bytes).
    assert 100_000 <= info["used_memory"] - before <= 200_000
    assert info["used_memory_dataset"] >= 100_000
    rc.flushall()
    assert rc.info("memory")["used_memory"] - before < 5_000


def test_noeviction_refuses_writes_and_keeps_data(rc, server):
    for i in range(200):
        rc.set(b"k%d" % i, VALUE)
    limit_above_now(rc, 50_000)
    with pytest.raises(redis.ResponseError) as err:
        for i in range(200, 400):
            rc.set(b"k%d" % i, VALUE)
    assert str(err.value) == "command not allowed when used memory > 'maxmemory'."
    n = rc.dbsize()
    assert n < 400 and evicted(rc) == 0
    assert rc.get(b"k0") == VALUE  # reads still work
    raw = socket.create_connection(("127.0.0.1", server.port))
    raw.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1\r\n1\r\n")
    assert raw.recv(1000) == OOM
    raw.close()
    assert rc.dbsize() == n and rc.get(b"k1") == VALUE
    assert rc.delete(b"k1", b"k2") == 2  # DEL is not DENYOOM, and it makes room
    assert rc.set(b"z", b"1")


def fill(rc, prefix: bytes, n: int, ex: int | None = None) -> None:
    p = rc.pipeline(transaction=False)
    for i in range(n):
        p.set(prefix + b"%d" % i, VALUE, ex=ex)
        if i % 100 == 99:
            p.execute()
    p.execute()


@pytest.mark.parametrize("policy", ["allkeys-random", "allkeys-lru", "allkeys-lfu"])
def test_allkeys_policies_stay_under_limit(rc, policy):
    rc.config_set("maxmemory-policy", policy)
    limit = limit_above_now(rc)
    fill(rc, b"k", 3000)  # about twice the limit
    assert evicted(rc) > 500
    assert 500 < rc.dbsize() < 3000
    assert rc.info("memory")["used_memory"] <= limit + 20_000


@pytest.mark.parametrize("policy", ["volatile-random", "volatile-lru", "volatile-lfu", "volatile-ttl"])
def test_volatile_policies_evict_only_keys_with_ttl(rc, policy):
    rc.config_set("maxmemory-policy", policy)
    fill(rc, b"keep", 500)
    limit_above_now(rc, 800_000)
    fill(rc, b"vol", 1500, ex=10_000)
    assert evicted(rc) > 500
    assert all(rc.exists(b"keep%d" % i) for i in range(500))
    assert rc.dbsize() < 2000
    # With no volatile key left to evict, writes get the OOM error.
    rc.config_set("maxmemory", rc.info("memory")["used_memory"] - 10_000)
    assert rc.get(b"keep0") == VALUE  # not DENYOOM: runs (after evicting what it can)
    with pytest.raises(redis.ResponseError, match="OOM|maxmemory"):
        fill(rc, b"more", 2000)
    assert all(rc.exists(b"keep%d" % i) for i in range(0, 500, 7))


def test_volatile_ttl_evicts_the_soonest_first(rc):
    rc.config_set("maxmemory-policy", "volatile-ttl")
    limit_above_now(rc)
    # TTLs in a scrambled order, so that insertion order tells nothing.
    ttls = {b"v%d" % i: 1000 + (i * 7919) % 3000 for i in range(3000)}
    p = rc.pipeline(transaction=False)
    for key, ttl in ttls.items():
        p.set(key, VALUE, ex=ttl)
    p.execute()
    assert evicted(rc) > 500
    alive = {k for k in ttls if rc.exists(k)}
    gone = set(ttls) - alive
    mean_alive = sum(ttls[k] for k in alive) / len(alive)
    mean_gone = sum(ttls[k] for k in gone) / len(gone)
    assert mean_gone + 500 < mean_alive


def test_allkeys_lru_keeps_recently_read_keys(rc):
    rc.config_set("maxmemory-policy", "allkeys-lru")
    fill(rc, b"k", 1000)
    time.sleep(2.1)  # the LRU clock has a one-second resolution
    p = rc.pipeline(transaction=False)
    for i in range(0, 1000, 2):  # read the even keys
        p.get(b"k%d" % i)
    p.execute()
    limit_above_now(rc, 200_000)
    fill(rc, b"new", 600)  # forces about 600 of the old keys out
    assert evicted(rc) > 300
    hot = sum(rc.exists(b"k%d" % i) for i in range(0, 1000, 2))
    cold = sum(rc.exists(b"k%d" % i) for i in range(1, 1000, 2))
    assert hot > cold + 150, (hot, cold)


def test_allkeys_lfu_keeps_frequently_read_keys(rc):
    rc.config_set("maxmemory-policy", "allkeys-lfu")
    rc.config_set("lfu-log-factor", 0)  # every access counts
    fill(rc, b"k", 1000)
    p = rc.pipeline(transaction=False)
    for _ in range(5):
        for i in range(0, 1000, 2):
            p.get(b"k%d" % i)
    p.execute()
    # (keys sharing an access-table slot share a counter: compare the two halves, not two keys)
    p = rc.pipeline(transaction=False)
    for i in range(200):
        p.object("freq", b"k%d" % i)
    freqs = p.execute()
    assert sum(freqs[0::2]) > sum(freqs[1::2]) + 300
    limit_above_now(rc, 200_000)
    fill(rc, b"new", 600)
    assert evicted(rc) > 300
    hot = sum(rc.exists(b"k%d" % i) for i in range(0, 1000, 2))
    cold = sum(rc.exists(b"k%d" % i) for i in range(1, 1000, 2))
    assert hot > cold + 150, (hot, cold)


def test_eviction_touches_watch_and_notifies(rc, server):
    rc.config_set("notify-keyspace-events", "Ee")
    rc.config_set("maxmemory-policy", "volatile-random")
    fill(rc, b"keep", 300)
    rc.set(b"w", VALUE, ex=1000)  # the only key that can be evicted
    sub = redis.Redis(host="127.0.0.1", port=server.port).pubsub()
    sub.subscribe("__keyevent@0__:evicted")
    assert sub.get_message(timeout=2)["type"] == "subscribe"
    watcher = redis.Redis(host="127.0.0.1", port=server.port)
    p = watcher.pipeline()
    p.watch(b"w")
    limit_above_now(rc, 0)
    rc.config_set("maxmemory", rc.info("memory")["used_memory"] - 100)
    assert rc.get(b"keep1") == VALUE  # any command runs the eviction first
    assert rc.exists(b"w") == 0 and evicted(rc) == 1
    msg = sub.get_message(timeout=2)
    assert msg is not None and msg["data"] == b"w"
    rc.config_set("maxmemory", 0)
    p.multi()
    p.set(b"other", b"1")
    with pytest.raises(redis.WatchError):
        p.execute()
    sub.close()
    watcher.close()


def test_tracking_invalidated_on_eviction(rc, server):
    rc.config_set("maxmemory-policy", "volatile-random")
    fill(rc, b"keep", 100)
    rc.set(b"t", b"v", ex=1000)
    sink = redis.Redis(host="127.0.0.1", port=server.port, protocol=2).pubsub()
    sink.subscribe("__redis__:invalidate")
    assert sink.get_message(timeout=2)["type"] == "subscribe"
    sink_id = next(cl["id"] for cl in rc.client_list() if cl["cmd"] == "subscribe")
    tracked = redis.Redis(host="127.0.0.1", port=server.port, protocol=2)
    tracked.execute_command("CLIENT", "TRACKING", "on", "REDIRECT", sink_id)
    assert tracked.get(b"t") == b"v"
    limit_above_now(rc, 0)
    rc.config_set("maxmemory", rc.info("memory")["used_memory"] - 100)
    rc.get(b"keep1")
    assert evicted(rc) == 1
    msg = sink.get_message(timeout=2)
    assert msg is not None and msg["data"] == [b"t"]
    sink.close()
    tracked.close()


# -- error texts compared with a real redis-server -----------------------------

SCRIPT = [
    ("a", [b"SET", b"x", b"1"]),
    ("a", [b"GET", b"x"]),
    ("a", [b"DEL", b"x"]),
    ("a", [b"MULTI"]),
    ("a", [b"GET", b"x"]),  # anything queued while out of memory flags the transaction
    ("a", [b"EXEC"]),
    ("b", [b"CONFIG", b"SET", b"maxmemory", b"0"]),
    ("a", [b"MULTI"]),
    ("a", [b"SET", b"x", b"2"]),
    ("b", [b"CONFIG", b"SET", b"maxmemory", b"1"]),
    ("a", [b"EXEC"]),  # EXEC re-checks: the transaction is discarded
    ("a", [b"EXEC"]),
    ("b", [b"CONFIG", b"SET", b"maxmemory", b"0"]),
    ("a", [b"MULTI"]),
    ("a", [b"GET", b"x"]),
    ("b", [b"CONFIG", b"SET", b"maxmemory", b"1"]),
    ("a", [b"EXEC"]),  # no DENYOOM command queued: runs
    ("a", [b"DISCARD"]),
    ("a", [b"EVAL", b"return redis.call('set','q','1')", b"0"]),
    ("a", [b"EVAL", b"return redis.pcall('set','q','1')", b"0"]),
    ("a", [b"EVAL", b"redis.call('del','q'); return redis.call('set','q','1')", b"0"]),
    ("a", [b"EVAL", b"return redis.call('get','q')", b"0"]),
    ("a", [b"EVAL", b"#!lua\nreturn 1", b"0"]),
    ("a", [b"EVAL", b"#!lua flags=no-writes\nreturn 1", b"0"]),
    ("a", [b"EVAL", b"#!lua flags=allow-oom\nreturn redis.call('set','q','1')", b"0"]),
    ("a", [b"DEL", b"q"]),
    ("a", [b"SUBSCRIBE", b"ch"]),
]


def _run_script(port: int) -> list[bytes]:
    conns = {n: socket.create_connection(("127.0.0.1", port)) for n in "ab"}
    out = []

    def cmd(s, argv):
        s.sendall(b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv))
        data = b""
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            s.settimeout(0.1)
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                if data:
                    break
                continue
            if not chunk:
                break
            data += chunk
        return data

    cmd(conns["b"], [b"CONFIG", b"SET", b"maxmemory", b"1"])
    for who, argv in SCRIPT:
        out.append(cmd(conns[who], argv))
    for s in conns.values():
        s.close()
    return out


@pytest.mark.skipif(redis_server_path() is None, reason="redis-server not installed")
def test_oom_errors_match_redis():
    ours = start_respdb()
    theirs = start_redis()
    try:
        got, want = _run_script(ours.port), _run_script(theirs.port)
    finally:
        ours.stop()
        theirs.stop()
    assert want[0] == OOM
    assert got == want


def _evict_into_aof(srv, lazy: bytes) -> bytes:
    c = redis.Redis(host="127.0.0.1", port=srv.port)
    c.config_set("lazyfree-lazy-eviction", lazy)
    c.config_set("maxmemory-policy", "volatile-random")
    c.set(b"keep", b"1")
    c.set(b"w", b"2")
    c.pexpireat(b"w", 99_999_999_999_999)
    c.config_set("maxmemory", 1)
    c.get(b"keep")  # evicts w, the only key with a TTL
    assert c.exists(b"w") == 0 and c.info("stats")["evicted_keys"] == 1
    c.config_set("maxmemory", 0)
    c.set(b"after", b"3")
    c.close()
    time.sleep(1.2)  # appendfsync everysec
    with open(f"{srv.workdir}/appendonlydir/appendonly.aof.1.incr.aof", "rb") as f:
        return f.read()


@pytest.mark.skipif(redis_server_path() is None, reason="redis-server not installed")
@pytest.mark.parametrize("lazy", [b"no", b"yes"])
def test_evicted_keys_propagate_like_redis(lazy):
    args = ("--appendonly", "yes")
    ours, theirs = start_respdb(*args), start_redis(*args)
    try:
        got, want = _evict_into_aof(ours, lazy), _evict_into_aof(theirs, lazy)
    finally:
        ours.stop()
        theirs.stop()
    name = b"UNLINK" if lazy == b"yes" else b"DEL"
    assert b"*2\r\n$%d\r\n%b\r\n$1\r\nw\r\n" % (len(name), name) in want
    assert got == want


def test_a_write_bigger_than_its_arguments_is_charged_before_the_next_command(rc):
    limit_above_now(rc, 1_000_000)
    assert rc.setrange(b"big", 2_000_000, b"x") == 2_000_001  # allowed: under the limit before it
    with pytest.raises(redis.ResponseError, match="maxmemory"):
        rc.set(b"small", b"1")
    rc.delete(b"big")
    assert rc.set(b"small", b"1")


def test_lazily_charged_writes_show_in_info_at_once(rc):
    limit_above_now(rc, 50_000_000)
    before = rc.info("memory")["used_memory_dataset"]
    rc.mset({b"m%d" % i: VALUE for i in range(1000)})
    assert rc.info("memory")["used_memory_dataset"] - before >= 1_000_000


def test_eviction_cut_short_by_tenacity_goes_on_in_the_cron(rc):
    rc.config_set("maxmemory-policy", "allkeys-random")
    rc.config_set("maxmemory-eviction-tenacity", 0)  # no time at all: 16 keys per call
    try:
        fill(rc, b"k", 2000)
        limit = limit_above_now(rc, 0) - 1_000_000  # about 850 keys too many
        rc.config_set("maxmemory", limit)
        rc.ping()  # evicts 16 keys, then leaves the rest to the cron
        time.sleep(1.5)
        assert 700 < evicted(rc) < 1000  # (INFO itself could evict 16 more at most)
        assert rc.info("memory")["used_memory"] <= limit
    finally:
        rc.config_set("maxmemory-eviction-tenacity", 10)


def test_maxmemory_budgets_the_data_like_redis() -> None:
    # unit/maxmemory sets maxmemory 11mb and writes 5 MB: the account starts from what an
    # empty Redis uses (used_memory_startup), not from the interpreter's RSS
    from conftest import RawConn, start_respdb

    s = start_respdb()
    try:
        r = RawConn(s.port)
        r.cmd("CONFIG", "SET", "maxmemory", "11mb")
        r.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        for j in range(50):
            assert r.cmd("SETRANGE", str(j), "100000", "x") == b":100001\r\n"
        assert r.cmd("DBSIZE") == b":50\r\n"
        info = r.cmd("INFO", "memory").decode()
        used = int(info.split("used_memory:")[1].split("\r\n")[0])
        startup = int(info.split("used_memory_startup:")[1].split("\r\n")[0])
        assert startup < 2_000_000 and 5_000_000 < used < 11 * 1024 * 1024
    finally:
        s.stop()


def test_client_output_buffers_count_as_used_memory() -> None:
    # unit/maxmemory "eviction due to output buffers of many MGET clients": clients that do
    # not read their replies fill buffers that count against maxmemory and evict keys
    import socket as socketmod

    from conftest import start_respdb

    s = start_respdb()
    try:
        r = _five_mb_under_11mb(s.port)
        clients = [socketmod.create_connection(("127.0.0.1", s.port)) for _ in range(20)]
        try:
            deadline = time.monotonic() + 20
            evicted = 0
            while not evicted and time.monotonic() < deadline:
                _unread_mgets(clients)
                evicted = int(r.cmd("INFO", "stats").split(b"evicted_keys:")[1].split(b"\r\n")[0])
            assert evicted > 0
            assert int(r.cmd("DBSIZE")[1:-2]) < 50
        finally:
            for c in clients:
                c.close()
    finally:
        s.stop()


def test_closed_clients_buffers_no_longer_count() -> None:
    # unit/maxmemory runs its tests back to back: the buffers of clients closed at the end of one
    # must not make the next one's writes fail
    import socket as socketmod

    from conftest import start_respdb

    s = start_respdb()
    try:
        r = _five_mb_under_11mb(s.port)
        clients = [socketmod.create_connection(("127.0.0.1", s.port)) for _ in range(20)]
        for _ in range(30):
            _unread_mgets(clients)
        time.sleep(0.3)
        for c in clients:
            c.close()
        time.sleep(0.05)
        r.cmd("FLUSHDB")
        for j in range(50):
            assert r.cmd("SETRANGE", str(j), "100000", "x") == b":100001\r\n"
    finally:
        s.stop()


def _unread_mgets(clients) -> None:
    """20 MGETs of a 100 KB key from each client, whose replies it never reads."""
    for c in clients:
        c.sendall(b"*2\r\n$4\r\nMGET\r\n$1\r\n1\r\n" * 20)


def _five_mb_under_11mb(port: int):
    """unit/maxmemory's init_test: maxmemory 11mb, allkeys-lru, 50 keys of 100 KB."""
    from conftest import RawConn

    r = RawConn(port)
    r.cmd("CONFIG", "SET", "maxmemory", "11mb")
    r.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    for j in range(50):
        r.cmd("SETRANGE", str(j), "100000", "x")
    return r


@pytest.mark.parametrize("value_range", [32, 128, 1024])
def test_string_key_charge_tracks_real_allocations(value_range):
    """used_memory's per-key charge for strings is what CPython allocates for the key (within
    the allocator's rounding and the dict and access-table slots), measured with tracemalloc:
    the figure Redis's memory-efficiency test divides the data by."""
    import gc
    import random
    import re
    import tracemalloc

    from respdb.engine import Engine

    e = Engine()
    c = e.new_client()

    def used() -> int:
        info = e.execute(c, [b"INFO", b"memory"])
        return int(re.search(rb"used_memory:(\d+)", info).group(1))

    rnd = random.Random(7)
    lengths = [rnd.randrange(value_range) for _ in range(10_000)]
    base = used()
    gc.collect()
    tracemalloc.start()
    t0 = tracemalloc.get_traced_memory()[0]
    for j, n in enumerate(lengths):  # (the arguments are made here, as the parser makes them)
        e.execute(c, [b"SET", b"key:%d" % j, b"A" * n])
    real = (tracemalloc.get_traced_memory()[0] - t0) / 10_000
    tracemalloc.stop()
    charged = (used() - base) / 10_000
    assert real <= charged <= real + 45, (real, charged)


def test_used_memory_without_a_limit_counts_a_rare_big_key_once():
    """Without maxmemory, INFO sums every key's estimate up to 20,000 keys and extrapolates
    from a sample beyond: a big key in the sample counts once, not once per key."""
    from respdb.engine import Engine
    from respdb.eviction import EXACT_KEYS, estimate, extrapolate

    assert extrapolate([100] * 1000, 10_000) == 1_000_000  # a uniform sample: n x the mean
    assert extrapolate([100] * 999 + [10**7], 10_000) == 10**7 + 99_900 + 9_000 * 100
    e = Engine()
    c = e.new_client()
    e.execute(c, [b"RPUSH", b"big", *[b"x" * 100] * 200_000])  # first in the sample
    n = EXACT_KEYS + 5_000
    for i in range(0, n, 1000):
        e.execute(c, [b"MSET", *[x for k in range(i, i + 1000) for x in (b"k%d" % k, b"v")]])
    big = estimate(b"big", e.dbs[0].data[b"big"])
    small = estimate(b"k1", e.dbs[0].data[b"k1"])
    dataset = e.evictor.info_fields()["dataset"]
    assert big + n * small * 0.9 < dataset < big + n * small * 1.1
