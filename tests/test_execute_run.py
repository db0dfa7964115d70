"""Engine.execute_run: a pipelined run of one command, checked and timed once.

When it applies, each request must get what Engine.execute would give it (replies, statistics,
propagation); when it does not (a gated client, MONITOR, a low SLOWLOG threshold...), it
must take nothing, so that execute() runs each request with its own checks.
"""

from __future__ import annotations

from respdb.engine import MAX_RUN, Engine


def _run(e: Engine, c, cmds: list[list[bytes]]) -> tuple[int, list[bytes]]:
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
    assert _execute_all(a, ca, cmds) == [b.execute(cb, x) for x in cmds]
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
    assert n == 5 and out == [b"+OK\r\n"] * 5
    assert e.table.get("set").calls == 5 and e.dirty == 5
    # at most MAX_RUN at a time (the caller checks its output size between runs)
    n, out = _run(e, c, [[b"GET", b"k1"]] * (MAX_RUN + 10))
    assert n == MAX_RUN and out == [b"$1\r\nv\r\n"] * MAX_RUN


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
