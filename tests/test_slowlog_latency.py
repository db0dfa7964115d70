"""SLOWLOG / LATENCY internals, in-process: what the differential tests cannot reach (commands
respdb lacks, rendering details checked against output recorded from Redis 7.0.15, the
request path's single threshold)."""

from __future__ import annotations

import time

import pytest

from respdb import latency as lat_mod
from respdb import slowlog as sl_mod
from respdb.config import Config, ConfigError
from respdb.engine import Engine


@pytest.fixture
def engine() -> Engine:
    cfg = Config()
    cfg.set("enable-debug-command", "yes")
    return Engine(cfg)


def run(e: Engine, c, *args: str | bytes) -> bytes:
    return e.execute(c, [a.encode() if isinstance(a, str) else a for a in args])


def argvs(e: Engine) -> list[list[bytes]]:
    return [entry.argv for entry in e.slowlog.entries]


# -- redaction of commands respdb does not implement (outcomes recorded from Redis 7.0.15) ------


@pytest.mark.parametrize(
    "argv, hidden",
    [
        (["MIGRATE", "h", "1", "k", "0", "10", "AUTH", "pw"], (7,)),
        (["MIGRATE", "h", "1", "", "0", "10", "AUTH2", "u", "pw", "KEYS", "a"], (7, 8)),
        (["MIGRATE", "h", "1", "k", "0", "10", "COPY", "AUTH"], ()),
        (["MIGRATE", "h", "1", "k", "0", "10", "AUTH", "x", "BAD", "AUTH", "y"], (7,)),
        (["MIGRATE", "h", "1", "", "0", "10", "KEYS", "AUTH", "x"], ()),
        (["ACL", "SETUSER", "bob", "on", ">pw"], (2, 3, 4)),
        (["ACL", "DELUSER", "bob"], ()),
        (["CONFIG", "SET", "masteruser", "u", "MASTERAUTH", "p", "nosuch", "v", "requirepass", ""], (3, 5, 9)),
        (["CONFIG", "SET", "masteruser", "u", "masterauth"], ()),
        (["CONFIG", "SET", "tls-key-file-pass", "x"], ()),
        (["HELLO", "3", "SETNAME", "n", "AUTH", "a", "b", "AUTH", "c"], (5, 6)),
        (["HELLO", "4", "AUTH", "a", "b"], ()),
        (["HELLO", "x", "AUTH", "a", "b"], ()),
        (["AUTH", "a", "b", "c"], ()),
        (["AUTH", "a"], (1,)),
    ],
)
def test_redaction(argv: list[str], hidden: tuple[int, ...]) -> None:
    args = [a.encode() for a in argv]
    assert sl_mod._REDACTORS[args[0].lower()](args) == hidden


def test_entry_trimming_and_redacted_push(engine: Engine) -> None:
    c = engine.new_client(addr="10.0.0.1:5000")
    sl = engine.slowlog
    sl.push(c, [b"MIGRATE", b"h", b"1", b"k", b"0", b"10", b"AUTH", b"secret"], 7)
    sl.push(c, [b"X"] + [b"%d" % i for i in range(32)], 1)
    sl.push(c, [b"X", b"z" * 129], 1)
    new, mid, old = list(sl.entries)
    assert old.argv[-1] == b"(redacted)" and old.duration == 7 and old.peer == b"10.0.0.1:5000"
    assert len(mid.argv) == 32 and mid.argv[-1] == b"... (2 more arguments)" and mid.argv[-2] == b"29"
    assert new.argv[1] == b"z" * 128 + b"... (1 more bytes)"
    assert [e.id for e in sl.entries] == [2, 1, 0]


# -- the request path ------------------------------------------------------------------------


def test_one_threshold_on_the_request_path(engine: Engine) -> None:
    c = engine.new_client()
    # Defaults: slow log at 10 ms, monitor off, histograms from 1024 ns: the lowest wins.
    assert engine.slow_ns == lat_mod.FLOOR_NS
    run(engine, c, "CONFIG", "SET", "latency-tracking", "no")
    assert engine.slow_ns == 10_000_000
    run(engine, c, "CONFIG", "SET", "latency-monitor-threshold", "3")
    assert engine.slow_ns == 3_000_000
    run(engine, c, "CONFIG", "SET", "slowlog-log-slower-than", "-1", "latency-monitor-threshold", "0")
    assert engine.slow_ns == sl_mod.OFF
    run(engine, c, "CONFIG", "SET", "slowlog-log-slower-than", "0")
    assert engine.slow_ns == 0


def test_fast_commands_skip_the_slow_path(engine: Engine, monkeypatch) -> None:
    seen = []
    monkeypatch.setattr("respdb.engine.slow_observe", lambda *a: seen.append(a[3][0][0]))
    c = engine.new_client()
    for _ in range(200):
        run(engine, c, "PING")
    assert seen.count(b"PING") < 20  # only the odd one over 1 µs (a cold cache, a GC pass)
    run(engine, c, "DEBUG", "SLEEP", "0")
    run(engine, c, "CONFIG", "SET", "latency-tracking", "no")
    seen.clear()
    run(engine, c, "DEBUG", "SLEEP", "0.001")
    assert seen == []


def test_observe_events_and_skips(engine: Engine) -> None:
    c = engine.new_client()
    aof = engine.new_client()
    aof.kind = "aof"
    run(engine, c, "CONFIG", "SET", "slowlog-log-slower-than", "0", "latency-monitor-threshold", "1")
    t = engine.table
    sl_mod.observe(engine, c, t.get("get"), ([b"GET", b"k"],), 5_000_000)
    sl_mod.observe(engine, c, t.get("sort"), ([b"SORT", b"k"],), 7_000_000)
    sl_mod.observe(engine, c, t.get("exec"), ([b"EXEC"],), 9_000_000)  # SKIP_SLOWLOG
    sl_mod.observe(engine, aof, t.get("set"), ([b"SET", b"k", b"v"],), 1000)  # AOF loading
    assert argvs(engine)[:2] == [[b"SORT", b"k"], [b"GET", b"k"]]
    assert [b"EXEC"] not in argvs(engine) and [b"SET", b"k", b"v"] not in argvs(engine)
    ev = engine.latency.events
    assert ev["fast-command"].latest()[1] == 5 and ev["command"].max == 9


def test_blocked_then_unblocked_is_no_sample(engine: Engine) -> None:
    a, b = engine.new_client(), engine.new_client()
    run(engine, b, "CONFIG", "RESETSTAT")
    run(engine, b, "CONFIG", "SET", "slowlog-log-slower-than", "0")
    run(engine, a, "BLPOP", "nokey", "0")
    assert [b"BLPOP", b"nokey", b"0"] not in argvs(engine)
    run(engine, b, "CLIENT", "UNBLOCK", str(a.id))
    blpop = engine.table.get("blpop")
    assert blpop.calls == 1  # INFO commandstats counts it, as Redis does
    assert engine.latency.cdf(blpop) == (0, [])  # but it is no latency sample
    assert [b"BLPOP", b"nokey", b"0"] not in argvs(engine)


def test_histogram_counts_and_tracking_toggle(engine: Engine) -> None:
    c = engine.new_client()
    run(engine, c, "CONFIG", "RESETSTAT")
    for _ in range(50):
        run(engine, c, "PING")
    ping = engine.table.get("ping")
    lat = engine.latency
    assert lat.cdf(ping)[0] == 50
    run(engine, c, "CONFIG", "SET", "latency-tracking", "no")
    frozen = lat.cdf(ping)
    for _ in range(10):
        run(engine, c, "PING")
    assert lat.cdf(ping) == frozen
    run(engine, c, "CONFIG", "SET", "latency-tracking", "yes")
    run(engine, c, "PING")
    assert lat.cdf(ping)[0] == 51
    run(engine, c, "CONFIG", "RESETSTAT")
    assert lat.cdf(ping) == (0, [])


def test_report_points() -> None:
    # The keys Redis 7.0.15 answered (LATENCY HISTOGRAM after DEBUG SLEEPs and fast commands).
    assert lat_mod._KEYS_US[:6] == [1, 2, 4, 8, 16, 33]
    assert {8454, 16908, 33816, 67633} <= set(lat_mod._KEYS_US)
    ms = 1_000_000
    assert lat_mod._KEYS_US[lat_mod.POINT_OF[(20 * ms).bit_length()]] == 33816
    assert lat_mod._KEYS_US[lat_mod.POINT_OF[(700 * ms).bit_length()]] == 1073741
    assert lat_mod._KEYS_US[lat_mod.POINT_OF[(500).bit_length()]] == 1


def test_percentiles(engine: Engine) -> None:
    lat = engine.latency
    hist = lat_mod.new_hist()
    hist[0] = 90  # under 1 µs
    hist[13] = 10  # 4096..8191 ns
    assert lat.percentile_us(hist, 100, 50) == 0.001
    assert lat.percentile_us(hist, 100, 99) == 8.191
    assert lat.percentile_us(hist, 100, 0) == 0.001
    assert lat.percentile_us(hist[:0] + [0] * 13 + [5] + [0] * 51, 5, 0) == 4.096
    assert lat_mod.format_percentile(99.9) == "99.9" and lat_mod.format_percentile(50.0) == "50"
    assert lat_mod.format_percentile(99.99999999) == "100"
    assert lat_mod.parse_percentiles("0x10 1e1") == [16.0, 10.0]
    for bad in (" 5", "5  6", "nan", "1_0", "abc"):
        with pytest.raises(ConfigError, match="Invalid"):
            lat_mod.parse_percentiles(bad)
    with pytest.raises(ConfigError, match="between"):
        lat_mod.parse_percentiles("inf")


# -- reports (text recorded from Redis 7.0.15) --------------------------------------------------


def test_sparkline_matches_redis() -> None:
    out = lat_mod.sparkline([30, 5, 50], ["2s", "1s", "0s"], 80, 4)
    assert out == "  #\n_ |\n| |\n|_|\n   \n210\nsss\n"
    assert lat_mod.sparkline([20], ["0s"], 80, 4) == " \n \n \n_\n \n0\ns\n"


def test_graph_and_doctor_figures(engine: Engine) -> None:
    lat = engine.latency
    now = int(time.time())
    s = lat_mod.Series()
    for t, ms in ((now - 2, 30), (now - 1, 5), (now, 50)):
        s.add(t, ms)
    lat.events["command"] = s
    lat.threshold_ms = 1
    graph = lat.graph("command", s)
    assert graph.startswith("command - high 50 ms, low 5 ms (all time high 50 ms)\n" + "-" * 80 + "\n")
    assert graph.endswith("  #\n_ |\n| |\n|_|\n   \n210\nsss\n")
    report = lat.doctor()
    assert (
        "1. command: 3 latency spikes (average 28ms, mean deviation 15ms, period 0.67 sec). "
        "Worst all time event 50ms.\n" in report
    )
    assert "SLOWLOG GET" in report


def test_same_second_keeps_highest_and_ring() -> None:
    s = lat_mod.Series()
    s.add(100, 10)
    s.add(100, 30)
    s.add(100, 20)
    assert s.samples() == [(100, 30)] and s.max == 30
    for t in range(101, 101 + lat_mod.TS_LEN + 5):
        s.add(t, 1)
    assert len(s.samples()) == lat_mod.TS_LEN and s.samples()[0][0] == 106


# -- redis-py over TCP ------------------------------------------------------------------------


def test_redis_py_helpers(r, r3) -> None:
    try:
        r.config_set("slowlog-log-slower-than", 0)
        r.slowlog_reset()
        r.client_setname("pyclient")
        r.set("foo", "bar")
        entries = r.slowlog_get(2)
        assert entries[0]["command"] == b"SET foo bar" and entries[0]["client_name"] == b"pyclient"
        assert entries[0]["client_address"].startswith(b"127.0.0.1:") and entries[0]["duration"] >= 0
        assert r.slowlog_len() >= 2
        assert r.slowlog_reset()
        r.config_set("latency-monitor-threshold", 10)
        r.execute_command("DEBUG", "SLEEP", "0.02")
        for client in (r, r3):
            latest = client.latency_latest()
            assert latest[0][0] == b"command" and latest[0][2] >= 20
            assert len(client.latency_history("command")) == 1
        assert r.latency_reset() == 1
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
        r.config_set("latency-monitor-threshold", 0)
        r.client_setname("")
        r.latency_reset()
        r.slowlog_reset()
