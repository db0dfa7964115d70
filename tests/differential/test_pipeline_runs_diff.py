"""Pipelined runs of one command against the real redis-server.

respdb executes a pipeline's consecutive repeats of one data command as a run
(Engine.execute_run: checks made once, one timing for the run). Whatever the run holds -
errors, wrong arity, other clients waiting or watching, a transaction, a zero SLOWLOG
threshold - every reply, event and statistic must be what Redis gives for the same bytes.
"""

from __future__ import annotations

import re
import time

import pytest
from conftest import RawConn

from .harness import Mismatch, Pair, parse

BIG = b"x" * 3000


def _pipeline(p: Pair, cmds) -> None:
    p.pipeline(cmds)


BATCHES = {
    "set get": [("SET", "k%d" % (i % 7), "v%d" % i) for i in range(20)] + [("GET", "k%d" % i) for i in range(10)],
    "big values": [("SET", "big", BIG)] * 3 + [("GET", "big")] * 3 + [("APPEND", "big", BIG)] * 3,
    "wrong type inside": [("SET", "s", "x"), ("LPUSH", "l", "a")]
    + [("GET", "s"), ("GET", "l"), ("GET", "s"), ("GET", "nope"), ("GET", "l")],
    "arity inside": [("GET", "a"), ("GET",), ("GET", "a", "b"), ("GET", "a"), ("GET", "a")],
    "incr to overflow": [("SET", "n", "9223372036854775805")] + [("INCR", "n")] * 4 + [("GET", "n")],
    "incr not a number": [("SET", "n", "abc")] + [("INCR", "n")] * 3 + [("INCRBY", "m", "x")] * 2,
    "lists": [("LPUSH", "q", "a%d" % i) for i in range(12)] + [("LPOP", "q")] * 14 + [("RPUSH", "q", "z")] * 3,
    "big list": [("RPUSH", "bl", *range(300))]
    + [("LPUSH", "bl", "x%d" % i) for i in range(5)]
    + [("LPOP", "bl")] * 5
    + [("RPOP", "bl")] * 5
    + [("RPUSH", "bl", "y")] * 3
    + [("LLEN", "bl")],
    "big hash and set": [("HSET", "bh", *[x for i in range(200) for x in ("f%d" % i, i)])]
    + [("HSET", "bh", "f%d" % i, "new") for i in range(195, 205)]
    + [("SADD", "bs", *["m%d" % i for i in range(200)])]
    + [("SADD", "bs", "m%d" % i) for i in range(195, 205)]
    + [("HLEN", "bh"), ("SCARD", "bs")],
    "hashes": [("HSET", "h", "f%d" % i, "v") for i in range(10)] + [("HGET", "h", "f%d" % i) for i in range(12)],
    "sets": [("SADD", "st", i) for i in range(10)] + [("SADD", "st", "m%d" % i) for i in range(10)] + [("SCARD", "st")],
    "zsets": [("ZADD", "z", i, "m%d" % i) for i in range(10)] + [("ZADD", "z", "nan?", "m")] * 2 + [("ZADD", "z", "1")],
    "case": [("get", "k"), ("GET", "k"), ("Get", "k"), ("GET", "k"), ("gEt", "k"), ("gEt", "k")],
    "unknown": [("NOSUCH", "a")] * 3 + [("PING",)] * 4 + [("ECHO", "hi")] * 3,
    "expiry": [("SET", "e%d" % i, "v", "EX", 100) for i in range(5)]
    + [("TTL", "e%d" % i) for i in range(6)]
    + [("PEXPIRE", "e1", "-1")] * 2
    + [("EXISTS", "e1")] * 2,
    "mset mget": [("MSET", "a", 1, "b", 2)] * 3 + [("MGET", "a", "b", "c")] * 3 + [("MSET", "a")] * 2,
    "transaction": [("MULTI",)] + [("SET", "t", i) for i in range(4)] + [("GET", "t")] * 2 + [("EXEC",)],
    "transaction error": [("MULTI",)] + [("SET", "t", 1)] * 2 + [("SET", "t")] * 2 + [("EXEC",), ("GET", "t")],
}


@pytest.mark.parametrize("name", list(BATCHES))
def test_pipelined_runs(p, name):
    _pipeline(p, BATCHES[name])


def _commandstats(raw: bytes) -> dict[str, str]:
    """INFO commandstats without the timings: calls, rejected_calls, failed_calls per command."""
    out = {}
    for line in raw.decode().splitlines():
        m = re.match(r"cmdstat_(\S+):calls=(\d+),usec=\d+,usec_per_call=[\d.]+,(.*)", line)
        if m:
            out[m.group(1)] = "calls=%s,%s" % (m.group(2), m.group(3))
    return out


def test_commandstats_count_every_request(p):
    p.both("CONFIG", "RESETSTAT")
    for name in ("wrong type inside", "arity inside", "incr to overflow", "lists", "zsets", "case", "unknown"):
        _pipeline(p, BATCHES[name])
    a, b = p.both("INFO", "commandstats")
    assert _commandstats(a) == _commandstats(b)
    a, b = p.both("INFO", "errorstats")
    assert a == b


def test_slowlog_threshold_zero_logs_each_request(p):
    try:
        p.both("CONFIG", "SET", "slowlog-log-slower-than", "0")
        p.both("SLOWLOG", "RESET")
        _pipeline(p, [("SET", "k", i) for i in range(5)] + [("GET", "k")] * 5)
        p.run("SLOWLOG", "LEN")
        a, b = p.both("SLOWLOG", "GET", "20")
        # ids, times, durations and the client address differ; the commands logged may not
        args = [[[x[1] for x in entry[1][3][1]] for entry in parse(raw)[1]] for raw in (a, b)]
        assert args[0] == args[1] and len(args[0]) >= 10
    finally:
        p.both("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        p.both("SLOWLOG", "RESET")


def _conns(p: Pair) -> list[RawConn]:
    return [RawConn(port, proto=p.proto) for port in p.ports]


def test_run_wakes_a_blocked_client_in_order(p):
    waiters = _conns(p)
    try:
        for w in waiters:
            w.send_cmd("BLPOP", "q", "0")
        for x in (p.redis, p.respdb):
            deadline = time.monotonic() + 5
            while b"blocked_clients:1\r\n" not in x.cmd("INFO", "clients"):
                assert time.monotonic() < deadline, "BLPOP did not block"
                time.sleep(0.01)
        _pipeline(p, [("RPUSH", "q", "a"), ("RPUSH", "q", "b"), ("RPUSH", "q", "c"), ("LLEN", "q")] * 2)
        a, b = (w.read_reply() for w in waiters)
        if a != b:
            raise Mismatch(("BLPOP", "q", "0"), a, b, list(p.history), "the blocked client")
        p.run("LRANGE", "q", "0", "-1")
    finally:
        for w in waiters:
            w.close()


WATCHED = {
    "set": [("SET", "other", 1)] * 3 + [("SET", "k", 1)] * 2,
    "lpush": [("LPUSH", "k", 1)] * 3,
    "lpop": [("LPOP", "k")] * 3,
    "hset": [("HSET", "k", "f%d" % i, 1) for i in range(3)],
    "sadd": [("SADD", "k", "m%d" % i) for i in range(3)],
}
PREPARE = {
    "lpush": ("RPUSH", "k", *range(300)),
    "lpop": ("RPUSH", "k", *range(300)),
    "hset": ("HSET", "k", *range(600)),
    "sadd": ("SADD", "k", *range(600)),
}


@pytest.mark.parametrize("name", list(WATCHED))
def test_run_touches_watched_keys(p, name):
    if name in PREPARE:
        p.run(*PREPARE[name])
    watchers = _conns(p)
    try:
        for w in watchers:
            assert w.cmd("WATCH", "k") == b"+OK\r\n"
            assert w.cmd("MULTI") == b"+OK\r\n"
            w.cmd("TYPE", "k")
        _pipeline(p, WATCHED[name])
        a, b = (w.cmd("EXEC") for w in watchers)
        if a != b:
            raise Mismatch(("EXEC",), a, b, list(p.history), "the watching client")
    finally:
        for w in watchers:
            w.close()


def _drain(conn: RawConn) -> bytes:
    """Everything the connection receives until it has been quiet for 0.2 s."""
    data, conn.buf = conn.buf, b""
    while conn.silent(0.2) is False:
        data += conn.buf
        conn.buf = b""
    return data


def test_run_sends_invalidations_and_keyspace_events(p):
    trackers = _conns(p)
    subs = _conns(p)
    try:
        p.both("CONFIG", "SET", "notify-keyspace-events", "KEA")
        for t, s in zip(trackers, subs, strict=True):
            sid = s.cmd("CLIENT", "ID")[1:-2]
            s.cmd("PSUBSCRIBE", "__key*__:*")
            if p.proto == 2:  # RESP2: invalidations go to a subscribed connection
                s.cmd("SUBSCRIBE", "__redis__:invalidate")
                assert t.cmd("CLIENT", "TRACKING", "on", "REDIRECT", sid) == b"+OK\r\n"
            else:
                assert t.cmd("CLIENT", "TRACKING", "on") == b"+OK\r\n"
            t.cmd("GET", "k1")
            t.cmd("GET", "k2")
        _pipeline(p, [("SET", "k1", 1), ("SET", "k2", 2), ("SET", "k1", 3), ("INCR", "k3"), ("INCR", "k3")])
        _pipeline(p, [("RPUSH", "l", *range(200)), ("HSET", "h", *range(300)), ("SADD", "s", *range(600))])
        _pipeline(p, [("LPUSH", "l", "a")] * 3 + [("LPOP", "l")] * 3 + [("RPOP", "l")] * 2)
        _pipeline(p, [("HSET", "h", "f", i) for i in range(3)] + [("SADD", "s", "m%d" % i) for i in range(3)])
        _pipeline(p, [("DEL", "k1"), ("DEL", "k2"), ("DEL", "k3")])
        got = [_drain(t) + b"|" + _drain(s) for t, s in zip(trackers, subs, strict=True)]
        assert b"k3" in got[0]
        if got[0] != got[1]:
            raise Mismatch(("<messages>",), got[0], got[1], list(p.history), "what other clients received")
    finally:
        p.both("CONFIG", "SET", "notify-keyspace-events", "")
        for x in trackers + subs:
            x.close()
