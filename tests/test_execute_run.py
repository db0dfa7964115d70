"""Engine.execute_run: a pipelined run of one command, checked and timed once.

When it applies, each request must get what Engine.execute would give it (replies, statistics,
propagation); when it does not (a gated client, MONITOR, a low SLOWLOG threshold...), it
must take nothing, so that execute() runs each request with its own checks.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from respdb.engine import MAX_RUN, Engine


def _run(e: Engine, c, cmds: list[list[bytes]]) -> tuple[int, list[bytes]]:
    """(The replies come as bytes to be joined: a reply may be in more than one part.)"""
    out: list[bytes] = []
    return e.execute_run(c, cmds, 0, out), out


def _execute_all(e: Engine, c, cmds: list[list[bytes]]) -> list[bytes]:
    out = []
    i = 0
    while i < len(cmds):
        got: list[bytes] = []
        j = e.execute_run(c, cmds, i, got)
        if j == i:
            got = [e.execute(c, cmds[i])]
            j = i + 1
        out.extend(got)
        i = j
    return out


def test_same_replies_and_stats_as_execute():
    cmds = [[b"SET", b"s", b"x"], [b"LPUSH", b"l", b"a"]]
    cmds += [[b"GET", b"s"], [b"GET", b"l"], [b"GET", b"s"], [b"GET"], [b"GET", b"nope"], [b"GET", b"s", b"x"]]
    cmds += [[b"INCR", b"n"]] * 3 + [[b"INCRBY", b"n", b"x"]] * 2
    a, b = Engine(), Engine()
    ca, cb = a.new_client(), b.new_client()
    assert b"".join(_execute_all(a, ca, cmds)) == b"".join(b.execute(cb, x) for x in cmds)
    for name in ("get", "incr", "incrby", "set", "lpush"):
        x, y = a.table.get(name), b.table.get(name)
        assert (x.calls, x.failed_calls, x.rejected_calls) == (y.calls, y.failed_calls, y.rejected_calls), name
    assert a.stats["keyspace_hits"] == b.stats["keyspace_hits"] and a.stats["keyspace_misses"] == 1
    assert a.errorstats == b.errorstats


def test_a_run_is_taken_and_stops_where_the_command_changes():
    e = Engine()
    c = e.new_client()
    cmds = [[b"SET", b"k%d" % i, b"v"] for i in range(5)] + [[b"GET", b"k1"]]
    n, out = _run(e, c, cmds)
    assert n == 5 and b"".join(out) == b"+OK\r\n" * 5
    assert e.table.get("set").calls == 5 and e.dirty == 5
    # at most MAX_RUN at a time (the caller checks its output size between runs)
    n, out = _run(e, c, [[b"GET", b"k1"]] * (MAX_RUN + 10))
    assert n == MAX_RUN and b"".join(out) == b"$1\r\nv\r\n" * MAX_RUN


def test_no_run_when_each_request_needs_its_own_checks():
    e = Engine()
    c = e.new_client()
    gets = [[b"GET", b"k"]] * 3
    assert _run(e, c, [[b"CLIENT", b"ID"]] * 2)[0] == 0  # not a data command
    assert _run(e, c, [[b"BLPOP", b"q", b"1"]] * 2)[0] == 0  # may block
    e.execute(c, [b"MULTI"])
    assert _run(e, c, gets)[0] == 0  # queued one by one
    e.execute(c, [b"DISCARD"])
    e.execute(c, [b"CONFIG", b"SET", b"slowlog-log-slower-than", b"0"])
    assert _run(e, c, gets)[0] == 0  # every request timed alone
    e.execute(c, [b"CONFIG", b"SET", b"slowlog-log-slower-than", b"10000"])
    mon = e.new_client()
    e.execute(mon, [b"MONITOR"])
    assert _run(e, c, gets)[0] == 0
    e.drop_client(mon)
    assert _run(e, c, gets)[0] == 3


def test_propagates_what_execute_propagates():
    logs: list[list[list[bytes]]] = []
    cmds = [[b"SET", b"k", b"v", b"EX", b"100"]] * 2 + [[b"INCR", b"n"]] * 2 + [[b"GET", b"k"]] * 2
    for use_runs in (True, False):
        e = Engine()
        log: list[list[bytes]] = []
        e.propagators.append(lambda dbid, argv, log=log: log.append([bytes(x) for x in argv]))
        c = e.new_client()
        if use_runs:
            _execute_all(e, c, cmds)
        else:
            for x in cmds:
                e.execute(c, x)
        logs.append(log)
    shape = [[a for a in argv if not a.isdigit() or len(a) < 10] for argv in logs[0]]
    assert shape == [[a for a in argv if not a.isdigit() or len(a) < 10] for argv in logs[1]]
    assert [x[:4] for x in logs[0]] == [[b"SET", b"k", b"v", b"PXAT"]] * 2 + [[b"INCR", b"n"]] * 2


def test_a_run_ends_after_a_large_reply():
    """The network layer checks its output size between runs: a big reply ends the run."""
    e = Engine()
    c = e.new_client()
    e.execute(c, [b"RPUSH", b"l", *[b"x" * 100 for _ in range(1000)]])
    cmds = [[b"LRANGE", b"l", b"0", b"-1"]] * 5
    n, out = _run(e, c, cmds)
    assert n == 1 and len(out[0]) > 100_000
    assert _run(e, c, [[b"LRANGE", b"l", b"0", b"1"]] * 5)[0] == 5


# -- run handlers (GET, SET, INCR, the list pushes and pops): the same as their handlers ----

KEYS = [b"k0", b"k1", b"k2", b"n0", b"n1", b"l0", b"l1"]
_request = st.one_of(
    st.tuples(st.sampled_from([b"LPUSH", b"RPUSH"]), st.sampled_from(KEYS), st.sampled_from([b"e", b"y" * 1500])).map(
        list
    ),
    st.tuples(st.sampled_from([b"LPOP", b"RPOP"]), st.sampled_from(KEYS)).map(list),
    st.sampled_from([[b"LPUSH", b"l0", b"a", b"b"], [b"LPOP", b"l0", b"2"], [b"RPOP"], [b"lpush", b"l0", b"c"]]),
    st.tuples(st.just(b"GET"), st.sampled_from(KEYS)).map(list),
    st.tuples(st.just(b"SET"), st.sampled_from(KEYS), st.sampled_from([b"v", b"9998", b"-3", b"x" * 1500])).map(list),
    st.tuples(st.just(b"INCR"), st.sampled_from(KEYS)).map(list),
    st.sampled_from([[b"GET"], [b"GET", b"k0", b"x"], [b"SET", b"k0"], [b"INCR"], [b"get", b"k1"]]),
)
# a run of one command, repeated: what the run handlers see (with the odd request mixed in)
_batch = st.builds(lambda r, n, tail: [r] * n + tail, _request, st.integers(1, 20), st.lists(_request, max_size=3))
# what the keys hold first: strings, a counter at the edge of the shared ones, another type...
_SETUP = [
    [b"SET", b"n0", b"9998"],
    [b"SET", b"n1", b"007"],
    [b"RPUSH", b"k2", b"a"],
    [b"SETRANGE", b"k1", b"0", b"abc"],  # a bytearray value
    [b"RPUSH", b"l0", *[b"%020d" % i for i in range(450)]],  # a big list (a QuickList)...
    [b"RPUSH", b"l1", *[b"%020d" % i for i in range(36)]],  # ... that shrinks after a few pops
    [b"RPUSH", b"k0", b"a", b"b"],  # a small list (a ListPack)
]


def _snapshot(e: Engine) -> tuple:
    db = e.dbs[0]
    return (
        {k: (type(v).__name__, bytes(v) if isinstance(v, (bytes, bytearray)) else list(v)) for k, v in db.data.items()},
        sorted(db.expires),  # (their times differ by the milliseconds between the two runs)
        db.stats["keyspace_hits"],
        db.stats["keyspace_misses"],
        e.dirty,
        bytes(db.atime),
        dict(e.errorstats),
    )


def _command_stats(e: Engine) -> list[int]:
    """(The command table, and so these counts, is shared by all engines: compare differences.)"""
    cmds = [e.table.get(n) for n in ("get", "set", "incr", "lpush", "rpush", "lpop", "rpop")]
    return [n for c in cmds for n in (c.calls, c.failed_calls, c.rejected_calls)]


@settings(max_examples=200, deadline=None)
@given(
    batches=st.lists(_batch, min_size=1, max_size=6),
    setup=st.lists(st.sampled_from(_SETUP), max_size=4),
    expiry=st.booleans(),
    resp3=st.booleans(),
    events=st.booleans(),
    stale=st.booleans(),
)
def test_run_handlers_match_execute(batches, setup, expiry, resp3, events, stale) -> None:
    """Pipelined runs of GET, SET, INCR, LPUSH/RPUSH and LPOP/RPOP (served by their run handlers
    where they apply) leave the replies, values, counts, dirty, access table and command
    statistics of one-by-one
    execution, with or without expiries in the database (an expired key among them), RESP3,
    keyspace events on."""
    engines = Engine(), Engine()
    results = []
    for e, runs in zip(engines, (True, False), strict=True):
        c = e.new_client()
        if resp3:
            e.execute(c, [b"HELLO", b"3"])
        if events:
            e.execute(c, [b"CONFIG", b"SET", b"notify-keyspace-events", b"KEA"])
        for argv in setup:
            e.execute(c, argv)
        if expiry:
            e.execute(c, [b"SET", b"other", b"v", b"EX", b"1000"])
        if stale:  # k0 has expired, and nothing has looked at it yet
            e.execute(c, [b"SET", b"k0", b"old", b"EX", b"1000"])
            e.dbs[0].expires[b"k0"] = 1
        replies = []
        before = _command_stats(e)
        for batch in batches:
            replies.append(b"".join(_execute_all(e, c, batch) if runs else [e.execute(c, x) for x in batch]))
        counts = [b - a for a, b in zip(before, _command_stats(e), strict=True)]
        results.append((replies, _snapshot(e), counts))
    assert results[0] == results[1]


def test_run_handlers_serve_plain_runs_and_leave_the_rest():
    """The run handlers take the common case whole and stop where their handler must decide."""
    e = Engine()
    c = e.new_client()
    served: dict[str, int] = {}
    originals = {name: e.table.get(name).run_handler for name in ("get", "set", "incr", "lpush", "lpop")}

    def counting(name, inner):
        def handler(c, cmds, i, end, out):
            j = inner(c, cmds, i, end, out)
            served[name] = j - i
            return j

        return handler

    for name, inner in originals.items():
        e.table.get(name).run_handler = counting(name, inner)  # (the table is shared: restored below)
    try:
        _run(e, c, [[b"SET", b"k%d" % i, b"v"] for i in range(10)])
        _run(e, c, [[b"GET", b"k%d" % i] for i in range(12)])
        _run(e, c, [[b"INCR", b"n"]] * 8)
        assert served == {"set": 10, "get": 12, "incr": 8}
        e.execute(c, [b"RPUSH", b"q", *[b"x" * 20] * 100])
        _run(e, c, [[b"LPUSH", b"q", b"v"]] * 10)
        _run(e, c, [[b"LPOP", b"q"]] * 10 + [[b"LPOP", b"none"]] * 5)
        assert served["lpush"] == 10 and served["lpop"] == 15
        for key in (b"p1", b"p2"):
            e.execute(c, [b"RPUSH", key, *[b"x" * 20] * 100])
        pushes = [[b"LPUSH", k, b"v"] for k in (b"p1", b"p1", b"p2", b"p1", b"p2", b"p2")]
        n, out = _run(e, c, pushes)
        assert served["lpush"] == 6 and b"".join(out) == b":101\r\n:102\r\n:101\r\n:103\r\n:102\r\n:103\r\n"
        _run(e, c, [[b"LPOP", b"q"]] * 50)
        n, out = _run(e, c, [[b"LPOP", b"q"]] * 30)
        assert served["lpop"] == 50 - 33 and n == 30  # a list getting small: LPOP's own path
        e.execute(c, [b"SET", b"big", b"x" * 2000])
        _run(e, c, [[b"GET", b"k1"], [b"GET", b"big"], [b"GET", b"k2"]])
        assert served["get"] == 1  # a value of 1 KB or more: cmd_get's own path
        e.execute(c, [b"SET", b"n", b"9999"])
        n, out = _run(e, c, [[b"INCR", b"n"]] * 3)
        assert served["incr"] == 0 and n == 3 and out == [b":10000\r\n", b":10001\r\n", b":10002\r\n"]
        e.execute(c, [b"EXPIRE", b"k1", b"100"])
        _run(e, c, [[b"GET", b"k2"]] * 4)
        assert served["get"] == 0  # a database with expiries: cmd_get checks each key
    finally:
        for name, inner in originals.items():
            e.table.get(name).run_handler = inner


def test_a_slow_run_counts_each_request_in_histogram_and_slowlog(monkeypatch):
    """A run's requests share its timing: over the histogram floor each is counted in the same
    bucket, and over the SLOWLOG and latency thresholds each gets its entry and sample, as
    execute() would give them."""
    import respdb.engine as engine_mod

    e = Engine()
    c = e.new_client()
    e.execute(c, [b"CONFIG", b"SET", b"slowlog-log-slower-than", b"100000", b"latency-monitor-threshold", b"100"])
    cmd = e.table.get("get")
    bucket = (3000).bit_length()
    hist = cmd.hist[bucket]
    clock = iter([0, 8 * 3000])  # the run's start and end: 3 us per request
    monkeypatch.setattr(engine_mod, "perf_counter_ns", lambda: next(clock))
    n, _ = _run(e, c, [[b"GET", b"k%d" % i] for i in range(8)])
    assert n == 8 and cmd.hist[bucket] - hist == 8
    assert not e.slowlog.entries and "fast-command" not in e.latency.events
    clock = iter([0, 4 * 200_000_000])  # 200 ms per request: over both thresholds
    n, _ = _run(e, c, [[b"GET", b"s%d" % i] for i in range(4)])
    assert n == 4 and cmd.hist[(200_000_000).bit_length()] >= 4
    assert [x.argv for x in reversed(e.slowlog.entries)] == [[b"GET", b"s%d" % i] for i in range(4)]
    assert all(x.duration == 200_000 for x in e.slowlog.entries)
    assert e.latency.events["fast-command"].max == 200
