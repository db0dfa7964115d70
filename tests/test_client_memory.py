"""Client memory over TCP: CLIENT LIST's figures, maxmemory-clients eviction and
client-output-buffer-limit for normal clients (Redis's unit/client-eviction and
unit/obuf-limits cases, on fresh servers so the limits do not leak into other tests)."""

from __future__ import annotations

import time

import pytest
import redis
from conftest import RawConn, start_redis, start_respdb


@pytest.fixture
def server():
    s = start_respdb()
    yield s
    s.stop()


def _fields(r: redis.Redis, name: str) -> dict | None:
    return next((c for c in r.client_list() if c["name"] == name), None)


def _wait(cond, timeout: float = 3.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def _partial(port: int, name: str, size: int) -> RawConn:
    """A client that sent `size` bytes of a bulk argument it never finishes."""
    c = RawConn(port)
    c.cmd("CLIENT", "SETNAME", name)
    c.send(b"*2\r\n$%d\r\n" % size + b"v" * size)
    return c


def test_client_list_memory_fields_match_redis():
    """An idle client, a client in MULTI, and the client running CLIENT LIST: the same
    tot-mem, argv-mem, multi-mem and multi figures as Redis 7.0 gives."""
    got = {}
    for who, start in (("redis", start_redis), ("respdb", start_respdb)):
        s = start()
        try:
            ctl = redis.Redis(port=s.port)
            idle = redis.Redis(port=s.port)
            idle.client_setname("idle")
            ctl.client_setname("ctl")
            rows = [ctl.client_list()]
            idle.execute_command("MULTI")
            idle.execute_command("SET", "k", "v" * 100)
            rows.append(ctl.client_list())
            keep = ("name", "sub", "psub", "multi", "argv-mem", "multi-mem", "omem", "tot-mem")
            got[who] = [[{k: c[k] for k in keep} for c in sorted(r, key=lambda c: c["name"])] for r in rows]
        finally:
            s.stop()
    assert got["respdb"] == got["redis"]


def test_partial_request_counts_and_largest_client_is_evicted(server):
    r = redis.Redis(port=server.port)
    r.client_setname("control")
    r.execute_command("CLIENT", "NO-EVICT", "ON")
    small = _partial(server.port, "small", 100_000)
    big = _partial(server.port, "big", 1_000_000)
    assert _wait(lambda: int(_fields(r, "big")["tot-mem"]) > 1_000_000)
    assert int(_fields(r, "small")["tot-mem"]) > 100_000
    r.config_set("maxmemory-clients", 1_000_000)
    assert _wait(lambda: _fields(r, "big") is None)
    assert big.closed()
    assert _fields(r, "small") is not None  # under the limit once the big one went
    assert _fields(r, "control") is not None  # no-evict
    assert r.info("stats")["evicted_clients"] == 1
    small.close()


def test_no_evict_client_is_kept_over_the_limit(server):
    r = redis.Redis(port=server.port)
    r.client_setname("control")
    r.execute_command("CLIENT", "NO-EVICT", "ON")
    c = RawConn(server.port)
    c.cmd("CLIENT", "NO-EVICT", "ON")
    c.cmd("CLIENT", "SETNAME", "keeper")
    r.config_set("maxmemory-clients", 200_000)
    c.send(b"*2\r\n$300000\r\n" + b"v" * 300_000)
    assert _wait(lambda: int(_fields(r, "keeper")["tot-mem"]) > 300_000)
    r.ping()
    assert _fields(r, "keeper") is not None
    c.close()


def test_percentage_of_maxmemory_and_output_growth(server):
    r = redis.Redis(port=server.port)
    r.client_setname("control")
    r.execute_command("CLIENT", "NO-EVICT", "ON")
    r.config_set("maxmemory", 10 * 1024 * 1024)
    r.config_set("maxmemory-clients", "5%")  # 524288 bytes
    r.setrange("k", 200_000, "v")
    c = RawConn(server.port)
    c.cmd("CLIENT", "SETNAME", "reader")
    for i in range(500):  # replies it never reads: past the socket buffers, its output grows
        try:
            c.send_cmd("GET", "k")
        except OSError:
            break  # evicted
        if i % 20 == 19 and _fields(r, "reader") is None:
            break
    assert _wait(lambda: _fields(r, "reader") is None)
    assert r.info("stats")["evicted_clients"] == 1
    assert r.dbsize() == 1


def test_config_set_output_buffer_limit_errors(server):
    r = redis.Redis(port=server.port)
    prefix = "CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - "
    for value, reason in (
        ("wrong number", "Wrong number of arguments in buffer limit configuration."),
        ("master 10mb 10mb 60", "Invalid client class specified in buffer limit configuration."),
        ("normal 10mbs 10mb 60", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
        ("pubsub 10mb 10mb 60s", "Error in hard, soft or soft_seconds setting in buffer limit configuration."),
    ):
        with pytest.raises(redis.ResponseError) as e:
            r.config_set("client-output-buffer-limit", value)
        assert str(e.value) == prefix + reason
    assert r.config_get("client-output-buffer-limit")["client-output-buffer-limit"] == (
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    )  # untouched by the refused values


def test_normal_hard_limit_closes_without_a_reply(server):
    r = redis.Redis(port=server.port)
    r.config_set("client-output-buffer-limit", "normal 100000 0 0")
    r.setrange("big", 200_000, "x")
    c = RawConn(server.port)
    c.send_cmd("GET", "big")
    assert c.closed()
    assert r.strlen("big") == 200_001  # the data is untouched
    r.config_set("client-output-buffer-limit", "normal 0 0 0")


def test_huge_random_count_stops_at_the_hard_limit(server):
    r = redis.Redis(port=server.port)
    r.config_set("client-output-buffer-limit", "normal 1000000 0 0")
    r.hset("h", "a", "b")
    r.sadd("s", "a")
    r.zadd("z", {"a": 1})
    for cmd in (("HRANDFIELD", "h", "-999999999"), ("SRANDMEMBER", "s", "-999999999"),
                ("ZRANDMEMBER", "z", "-999999999")):  # fmt: skip
        c = RawConn(server.port)
        t0 = time.monotonic()
        c.send_cmd(*cmd)
        assert c.closed()
        assert time.monotonic() - t0 < 2
    assert r.hrandfield("h", -3) == [b"a", b"a", b"a"]  # small counts are answered


def test_soft_limit_is_enforced_without_more_traffic(server):
    r = redis.Redis(port=server.port)
    r.config_set("client-output-buffer-limit", "pubsub 0 100000 1")
    sub = RawConn(server.port)
    sub.cmd("CLIENT", "SETNAME", "sub")
    sub.cmd("SUBSCRIBE", "ch")
    payload = "x" * 1000
    # publish until the subscriber (which reads nothing) holds more than the soft limit
    for _ in range(200):
        pipe = r.pipeline(transaction=False)
        for _ in range(100):
            pipe.publish("ch", payload)
        pipe.execute()
        if int(_fields(r, "sub")["omem"]) > 100_000:
            break
    assert int(_fields(r, "sub")["omem"]) > 100_000
    # then stop: the cron closes it once the soft seconds have passed
    assert _wait(lambda: _fields(r, "sub") is None, timeout=4)


def test_debug_client_eviction_buckets(server):
    r = redis.Redis(port=server.port)
    with pytest.raises(redis.ResponseError, match="maxmemory-clients is disabled"):
        r.execute_command("DEBUG", "CLIENT-EVICTION")
    r.config_set("maxmemory-clients", "100mb")
    big = _partial(server.port, "big", 100_000)  # 37632 + 100002 - 20474 bytes: the 64-128 KB bucket
    assert _wait(lambda: int(_fields(r, "big")["tot-mem"]) > 100_000)
    lines = r.execute_command("DEBUG", "CLIENT-EVICTION").decode().splitlines()
    assert len(lines) == 19
    assert lines[0] == "bucket          0 -      32767: tot-mem:          0, clients: 0"
    assert lines[-1].startswith("bucket 4294967296+            : tot-mem:")
    assert lines[2] == "bucket      65536 -     131071: tot-mem:     117160, clients: 1"
    assert lines[1].endswith("clients: 0")  # the one running DEBUG is left out, as in Redis
    big.close()
