"""SLOWLOG and LATENCY against a real redis-server.

Exact comparisons where the output is deterministic (help, errors, config validation,
entry argv/trimming/redaction, trimming by slowlog-max-len); where it carries times and
durations those fields are normalised (entry ids relative to the first, times and
durations only checked for sanity, client ports masked).
"""

from __future__ import annotations

import re
import time

import pytest
from conftest import RawConn

from .harness import Pair, parse, script

DEFAULTS = [
    ("slowlog-log-slower-than", "10000"),
    ("slowlog-max-len", "128"),
    ("latency-monitor-threshold", "0"),
    ("latency-tracking", "yes"),
    ("latency-tracking-info-percentiles", "50 99 99.9"),
]

# Report points LATENCY HISTOGRAM uses (µs).
HIST_KEYS = {1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16908, 33816, 67633, 135266}
HIST_KEYS |= {270532, 541065, 1073741}


def _clean(p: Pair):
    p.both("SLOWLOG", "RESET")
    p.both("LATENCY", "RESET")
    try:
        yield p
    finally:
        for name, value in DEFAULTS:
            p.both("CONFIG", "SET", name, value)
        p.both("SLOWLOG", "RESET")
        p.both("LATENCY", "RESET")
        p.both("CLIENT", "SETNAME", "")


@pytest.fixture
def sp(p: Pair):
    """Each protocol in turn; defaults restored afterwards (the servers live for the session)."""
    yield from _clean(p)


@pytest.fixture
def s2(pair2: Pair):
    pair2.reset()
    yield from _clean(pair2)


def _val(node):
    t, v = node
    if t == ":":
        return int(v)
    if isinstance(v, list):
        return [_val(x) for x in v]
    return v


def _entries(raw: bytes) -> list[list]:
    return _val(parse(raw))


def normalise_slowlog(raw: bytes) -> list[tuple]:
    """Entries with id made relative, time/duration checked and dropped, ports masked."""
    entries = _entries(raw)
    out = []
    now = time.time()
    last_id = entries[-1][0] if entries else 0
    for ident, when, duration, argv, peer, name in entries:
        assert abs(when - now) < 30, when
        assert 0 <= duration < 10_000_000, duration
        peer = re.sub(rb":\d+$", b":*", peer) if peer != b"?:0" else peer
        out.append((ident - last_id, tuple(argv), peer, name))
    return out


def compare_slowlog(p: Pair, count: str = "-1") -> list[tuple]:
    a, b = p.both("SLOWLOG", "GET", count)
    x, y = normalise_slowlog(a), normalise_slowlog(b)
    assert x == y, "\nredis:  %r\nrespdb: %r" % (x, y)
    return x


# ---------------------------------------------------------------------------------------------
# deterministic replies


def test_help_errors_and_empty_replies(sp: Pair) -> None:
    p = sp
    p.check(
        script(
            "SLOWLOG HELP",
            "LATENCY HELP",
            "slowlog help",
            "SLOWLOG GET -2",
            "SLOWLOG GET abc",
            "SLOWLOG GET 99999999999999999999",
            "SLOWLOG GET 1 2",
            "SLOWLOG Get 1 2",
            "SLOWLOG LEN x",
            "SLOWLOG RESET x",
            "SLOWLOG HELP x",
            "SLOWLOG",
            "SLOWLOG FOO",
            "LATENCY",
            "LATENCY FOO",
            "LATENCY HISTORY",
            "LATENCY LATEST x",
            "LATENCY GRAPH",
            "LATENCY HISTORY nosuch",
            "LATENCY GRAPH nosuch",
            "LATENCY RESET nosuch other",
            "LATENCY LATEST",
            "LATENCY DOCTOR",
            "CONFIG SET latency-monitor-threshold 1000",
            "LATENCY DOCTOR",
            "LATENCY RESET",
        ),
        reset=False,
    )


def test_config_validation(sp: Pair) -> None:
    sp.check(
        script(
            "CONFIG SET slowlog-max-len -1",
            "CONFIG SET latency-monitor-threshold -1",
            "CONFIG SET slowlog-log-slower-than -5",
            "CONFIG SET slowlog-log-slower-than -1",
            "CONFIG GET slowlog-log-slower-than",
            "CONFIG SET latency-tracking maybe",
            "CONFIG SET latency-tracking-info-percentiles 101",
            "CONFIG SET latency-tracking-info-percentiles abc",
            "CONFIG SET latency-tracking-info-percentiles ' 5 6'",
            "CONFIG SET latency-tracking-info-percentiles '5  6'",
            "CONFIG GET latency-tracking-info-percentiles",
            "CONFIG SET latency-tracking-info-percentiles '0.0000001 99.99999999 1e1 0x10 5 5'",
            "CONFIG GET latency-tracking-info-percentiles",
            "CONFIG SET latency-tracking-info-percentiles ''",
            "CONFIG GET latency-tracking-info-percentiles",
            "CONFIG SET latency-tracking-info-percentiles '50.5 1.25 99'",
            "CONFIG GET latency-tracking-info-percentiles",
        ),
        reset=False,
    )


# ---------------------------------------------------------------------------------------------
# slow log entries


def test_entries_trimming_redaction_transactions_scripts(s2: Pair) -> None:
    p = s2
    p.both("CONFIG", "SET", "slowlog-log-slower-than", "0")
    p.both("SLOWLOG", "RESET")
    sequence = [
        ("CLIENT", "SETNAME", "slowtest"),
        ("SET", "k", "x" * 200),
        ("RPUSH", "l", *[str(i) for i in range(40)]),
        ("RPUSH", "l2", *[str(i) for i in range(31)]),
        ("ECHO", "y" * 128),
        ("ECHO", "y" * 129),
        ("ECHO", "a\x00b"),
        ("AUTH", "foo"),
        ("AUTH", "user", "pass"),
        ("AUTH", "a", "b", "c"),
        ("HELLO", "2", "AUTH", "default", "wrong"),
        ("HELLO", "2", "auth", "someone", "else"),
        ("HELLO", "4", "AUTH", "a", "b"),
        ("HELLO", "2", "BAD", "AUTH", "a", "b"),
        ("HELLO", "2", "SETNAME", "slowtest", "AUTH", "a", "b"),
        ("CONFIG", "SET", "masteruser", "u", "MASTERAUTH", "p", "maxmemory", "0"),
        ("CONFIG", "SET", "masteruser", "", "masterauth", ""),
        ("CONFIG", "SET", "requirepass", ""),
        ("CONFIG", "SET", "masteruser", "u", "masterauth"),
        ("MULTI",),
        ("SET", "a", "1"),
        ("GET", "a"),
        ("EXEC",),
        ("EVAL", "redis.call('set','b','2'); return redis.call('get','b')", "0"),
        ("NOSUCHCOMMAND", "x"),
        ("GET",),
        ("PING",),
    ]
    for cmd in sequence:
        p.both(*cmd)
    entries = compare_slowlog(p)
    argvs = [e[1] for e in entries]
    # Spot checks on top of the comparison: EXEC itself is not logged, what it ran is.
    assert (b"EXEC",) not in argvs and (b"GET", b"a") in argvs
    assert (b"AUTH", b"(redacted)", b"(redacted)") in argvs
    assert [e for e in entries if e[1] == (b"get", b"b")][0][2] == b"?:0"
    # The default count is 10; 0 answers nothing.
    assert len(compare_slowlog(p, "10")) == 10
    assert p.run("SLOWLOG", "GET", "0") == b"*0\r\n"


def test_len_reset_and_max_len(s2: Pair) -> None:
    p = s2
    p.both("CONFIG", "SET", "slowlog-log-slower-than", "0")
    p.run("SLOWLOG", "RESET")
    p.run("CONFIG", "SET", "slowlog-max-len", "3")
    for i in range(5):
        p.run("ECHO", str(i))
    p.run("SLOWLOG", "LEN")
    compare_slowlog(p)
    # Lowering the length trims at once (the CONFIG SET itself is logged first).
    p.run("CONFIG", "SET", "slowlog-max-len", "1")
    assert p.run("SLOWLOG", "LEN") == b":1\r\n"
    compare_slowlog(p)
    # Disabled: nothing is logged and nothing trimmed, even with a shorter max length.
    p.run("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    p.run("PING")
    p.run("CONFIG", "SET", "slowlog-max-len", "0")
    p.run("SLOWLOG", "LEN")
    p.run("CONFIG", "SET", "slowlog-log-slower-than", "0")
    p.run("SLOWLOG", "LEN")
    p.run("CONFIG", "SET", "slowlog-max-len", "128")
    p.run("SLOWLOG", "RESET")
    p.run("SLOWLOG", "LEN")


def test_threshold(s2: Pair) -> None:
    p = s2
    p.run("CONFIG", "SET", "slowlog-log-slower-than", "100000")
    p.run("SLOWLOG", "RESET")
    p.run("PING")
    p.run("DEBUG", "SLEEP", "0.12")
    entries = compare_slowlog(p)
    assert [e[1] for e in entries] == [(b"DEBUG", b"SLEEP", b"0.12")]
    for raw in p.both("SLOWLOG", "GET"):
        assert _entries(raw)[0][2] >= 120000  # the duration field, µs


def test_blocked_command_logged_when_served(s2: Pair) -> None:
    p = s2
    p.both("CONFIG", "SET", "slowlog-log-slower-than", "0")
    p.both("DEL", "bl")
    waiters = [RawConn(port) for port in p.ports]
    try:
        for w in waiters:
            assert w.cmd("BLPOP", "nokey", "0.05") == b"*-1\r\n"  # a timeout is never logged
        p.both("SLOWLOG", "RESET")
        for w in waiters:
            w.send_cmd("BLPOP", "bl", "0")
        time.sleep(0.2)
        assert all(b"BLPOP" not in x for x in p.both("SLOWLOG", "GET"))
        p.both("LPUSH", "bl", "x")
        for w in waiters:
            assert w.read_reply() == b"*2\r\n$2\r\nbl\r\n$1\r\nx\r\n"
        entries = compare_slowlog(p)
        assert [e[1][0] for e in entries] == [b"BLPOP", b"LPUSH", b"SLOWLOG", b"SLOWLOG"]
    finally:
        for w in waiters:
            w.close()


# ---------------------------------------------------------------------------------------------
# latency monitor


def _numbers_masked(b: bytes) -> bytes:
    return re.sub(rb"\d+", b"N", b)


def test_monitor_events(sp: Pair) -> None:
    p = sp
    p.run("CONFIG", "SET", "latency-monitor-threshold", "5")
    p.run("PING")  # fast: no event
    p.run("LATENCY", "LATEST")
    # The two sleeps must fall in the same wall-clock second on both servers (one sample each):
    # start early in a second.
    while time.time() % 1 > 0.3:
        time.sleep(0.02)
    p.run("DEBUG", "SLEEP", "0.03")
    p.run("DEBUG", "SLEEP", "0.01")  # same second: the sample keeps the highest
    a, b = p.both("LATENCY", "LATEST")
    for raw in (a, b):
        [[name, when, latest, worst]] = _val(parse(raw))
        assert name == b"command" and abs(when - time.time()) < 5
        assert 30 <= latest < 100 and worst == latest
    a, b = p.both("LATENCY", "HISTORY", "command")
    assert len(_val(parse(a))) == len(_val(parse(b))) == 1
    p.run("LATENCY", "HISTORY", "COMMAND")  # event names are case-sensitive here
    a, b = p.both("LATENCY", "GRAPH", "command")
    assert a[:1] == b[:1] == (b"=" if p.proto == 3 else b"$")
    assert _numbers_masked(a) == _numbers_masked(b)
    a, b = p.both("LATENCY", "DOCTOR")
    assert a[:1] == b[:1]
    head = rb"Dave, I have observed latency spikes in this Redis instance\. You don't mind talking about it, do you Dave\?\n\n"
    line = rb"1\. command: 1 latency spikes \(average \d+ms, mean deviation 0ms, period 1\.00 sec\)\. Worst all time event \d+ms\.\n"
    for raw in (a, b):
        assert re.search(head + line, raw), raw
    p.run("LATENCY", "RESET", "COMMAND", "command")  # but not for RESET: counts 1
    p.run("LATENCY", "LATEST")
    p.run("LATENCY", "GRAPH", "command")


# ---------------------------------------------------------------------------------------------
# histograms and INFO latencystats


def _histograms(raw: bytes) -> dict[bytes, tuple[int, list[int]]]:
    node = parse(raw)
    items = node[1]
    out = {}
    for i in range(0, len(items), 2):
        name = items[i][1]
        fields = _val(items[i + 1])
        assert fields[0] == b"calls" and fields[2] == b"histogram_usec"
        flat = fields[3]
        keys, cum = flat[0::2], flat[1::2]
        assert set(keys) <= HIST_KEYS and keys == sorted(keys), keys
        assert cum == sorted(cum) and cum[-1] == fields[1], cum
        out[name] = (fields[1], keys)
    return out


def test_histogram(sp: Pair) -> None:
    p = sp
    p.both("SET", "a", "1")
    p.both("CONFIG", "RESETSTAT")
    for _ in range(3):
        p.run("SET", "a", "1")
    for _ in range(2):
        p.run("GET", "a")
    p.run("DEBUG", "SLEEP", "0.02")
    args = ("LATENCY", "HISTOGRAM", "set", "GET", "nosuch", "debug", "config|resetstat", "slowlog", "zadd")
    a, b = p.both(*args)
    if p.proto == 3:
        assert a.startswith(b"%") and b.startswith(b"%")
        assert b"%2\r\n$5\r\ncalls\r\n" in b and b"$14\r\nhistogram_usec\r\n%" in b
    ha, hb = _histograms(a), _histograms(b)
    assert list(ha) == list(hb) == [b"set", b"get", b"debug", b"config|resetstat"]
    assert {k: v[0] for k, v in ha.items()} == {k: v[0] for k, v in hb.items()}
    assert ha[b"debug"][1] == hb[b"debug"][1] == [33816]  # 20 ms lands in the same bucket
    # Without arguments: every command with samples (Redis's order is its hash order).
    a, b = p.both("LATENCY", "HISTOGRAM")
    ha, hb = _histograms(a), _histograms(b)
    assert {k: v[0] for k, v in ha.items()} == {k: v[0] for k, v in hb.items()}


def _latencystats(raw: bytes) -> dict[str, str]:
    text = _val(parse(raw))
    text = text[4:] if text[:4] == b"txt:" else text
    lines = text.decode().split("\r\n")
    assert lines[0] == "# Latencystats"
    out = {}
    for line in lines[1:]:
        if line:
            name, _, fields = line.partition(":")
            out[name] = fields
    return out


def test_info_latencystats_and_tracking(sp: Pair) -> None:
    p = sp
    p.both("CONFIG", "RESETSTAT")
    p.run("SET", "a", "1")
    p.run("GET", "a")
    a, b = p.both("INFO", "latencystats")
    sa, sb = _latencystats(a), _latencystats(b)
    assert (
        set(sa)
        == set(sb)
        == {
            "latency_percentiles_usec_config|resetstat",
            "latency_percentiles_usec_set",
            "latency_percentiles_usec_get",
        }
    )
    field = r"p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}"
    assert all(re.fullmatch(field, v) for v in list(sa.values()) + list(sb.values())), (sa, sb)
    p.run("CONFIG", "SET", "latency-tracking-info-percentiles", "50.5 0 100")
    a, b = p.both("INFO", "latencystats")
    field = r"p50\.5=\d+\.\d{3},p0=\d+\.\d{3},p100=\d+\.\d{3}"
    assert all(re.fullmatch(field, v) for v in list(_latencystats(a).values()) + list(_latencystats(b).values()))
    p.run("CONFIG", "SET", "latency-tracking-info-percentiles", "")
    a, b = p.both("INFO", "latencystats")
    assert set(_latencystats(a).values()) == set(_latencystats(b).values()) == {""}
    # Tracking off: the section is empty, the histograms stay as they were.
    p.run("CONFIG", "SET", "latency-tracking", "no")
    p.run("INFO", "latencystats")
    p.run("GET", "a")
    a, b = p.both("LATENCY", "HISTOGRAM", "get")
    assert _histograms(a)[b"get"][0] == _histograms(b)[b"get"][0] == 1
    p.run("CONFIG", "SET", "latency-tracking", "yes")
    p.run("GET", "a")
    a, b = p.both("LATENCY", "HISTOGRAM", "get")
    assert _histograms(a)[b"get"][0] == _histograms(b)[b"get"][0] == 2
    # INFO ALL has the section between errorstats and cluster.
    for raw in p.both("INFO", "everything"):
        text = raw.decode(errors="replace")
        assert text.index("# Errorstats") < text.index("# Latencystats") < text.index("# Cluster")
    for raw in p.both("INFO"):
        assert b"# Latencystats" not in raw
