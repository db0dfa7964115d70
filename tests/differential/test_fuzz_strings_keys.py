"""Random command sequences over a tiny alphabet, replies compared with real Redis.

String and generic-key commands with valid and invalid options mixed in, so that option
parsing, error precedence and the interplay of TTLs, types, databases and encodings are
exercised together. Expiry values are either far in the future or already in the past
(never a few milliseconds away), so results do not depend on timing.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .harness import Pair

NOW = int(time.time())
KEYS = [b"a", b"b", b"c"]
VALUES = [
    b"", b"0", b"1", b"-1", b"10", b"007", b"3.5", b"-0", b"1e3", b"abc", b"\x00\xff", b" 1",
    b"9223372036854775807", b"-9223372036854775808", b"x" * 50, b"inf", b"0x10", b"9999", b"10000",
]  # fmt: skip
INTS = [b"0", b"1", b"-1", b"2", b"5", b"100", b"-100", b"9223372036854775807", b"-9223372036854775808",
        b"abc", b"", b"1.5", b"536870912", b"99999999999999999999"]  # fmt: skip
FLOATS = [b"0.1", b"-0.5", b"1e3", b"3", b"inf", b"-inf", b"nan", b"1e308", b"1e4000", b"-1e-20", b"abc", b"",
          b"0x10", b"5e-324", b"1.5e400", b"-3", b"0.30000000000000004", b"1e-4951"]  # fmt: skip
# Relative expiries: far away, zero/negative (delete or error), or garbage.
REL_SECONDS = [b"100", b"1000000", b"0", b"-1", b"x", b"9223372036854775807", b"9223372036854775"]
REL_MS = [b"100000", b"1000000000", b"0", b"-1", b"x", b"9223372036854775807"]
ABS_SECONDS = [b"%d" % (NOW + 100000), b"%d" % (NOW + 200000), b"1", b"0", b"%d" % (NOW - 100), b"x"]
ABS_MS = [b"%d" % ((NOW + 100000) * 1000), b"%d" % ((NOW + 300000) * 1000), b"1", b"0", b"-5", b"x"]
DBS = [b"0", b"1", b"2", b"16", b"-1", b"x"]
PATTERNS = [b"*", b"a", b"?", b"[ab]", b"[^a]", b"*c*", b"[a-b]", b"\\a", b"[", b""]

key = st.sampled_from(KEYS)
value = st.sampled_from(VALUES)
integer = st.sampled_from(INTS)
small_offset = st.sampled_from([b"0", b"1", b"2", b"3", b"10", b"-1", b"-2", b"-100", b"100", b"x"])
db = st.sampled_from(DBS)


def _flat(*parts):
    out = []
    for p in parts:
        if isinstance(p, (list, tuple)):
            out.extend(p)
        else:
            out.append(p)
    return tuple(out)


expiry_option = st.one_of(
    st.tuples(st.sampled_from([b"EX", b"ex"]), st.sampled_from(REL_SECONDS)),
    st.tuples(st.just(b"PX"), st.sampled_from(REL_MS)),
    st.tuples(st.just(b"EXAT"), st.sampled_from(ABS_SECONDS)),
    st.tuples(st.just(b"PXAT"), st.sampled_from(ABS_MS)),
)
set_option = st.one_of(
    expiry_option,
    st.sampled_from([(b"NX",), (b"XX",), (b"GET",), (b"KEEPTTL",), (b"get",), (b"PERSIST",), (b"FOO",), (b"EX",)]),
)
getex_option = st.one_of(
    expiry_option,
    st.sampled_from([(b"PERSIST",), (b"persist",), (b"KEEPTTL",), (b"NX",), (b"PX",), (b"BAR",)]),
)
expire_flag = st.sampled_from([b"NX", b"XX", b"GT", b"LT", b"nx", b"gt", b"FOO"])


def options(strategy, max_size=3):
    return st.lists(strategy, max_size=max_size).map(lambda groups: [x for g in groups for x in g])


string_commands = st.one_of(
    st.tuples(st.just(b"GET"), key),
    st.builds(lambda k, v, o: _flat(b"SET", k, v, o), key, value, options(set_option)),
    st.builds(lambda k, v, o: _flat(b"SET", k, v, o), key, value, options(expiry_option, 1)),
    st.tuples(st.just(b"SETNX"), key, value),
    st.tuples(st.just(b"SETEX"), key, st.sampled_from(REL_SECONDS), value),
    st.tuples(st.just(b"PSETEX"), key, st.sampled_from(REL_MS), value),
    st.tuples(st.just(b"GETSET"), key, value),
    st.tuples(st.just(b"GETDEL"), key),
    st.builds(lambda k, o: _flat(b"GETEX", k, o), key, options(getex_option, 2)),
    st.builds(lambda ks: _flat(b"MGET", ks), st.lists(key, min_size=1, max_size=4)),
    st.builds(lambda kv: _flat(b"MSET", kv), st.lists(st.one_of(key, value), min_size=1, max_size=6)),
    st.builds(lambda kv: _flat(b"MSETNX", kv), st.lists(st.one_of(key, value), min_size=1, max_size=6)),
    st.tuples(st.just(b"APPEND"), key, value),
    st.tuples(st.just(b"STRLEN"), key),
    st.tuples(st.sampled_from([b"GETRANGE", b"SUBSTR"]), key, small_offset, small_offset),
    st.tuples(st.just(b"SETRANGE"), key, st.sampled_from([b"0", b"1", b"3", b"60", b"-1", b"536870912", b"x"]), value),
    st.tuples(st.sampled_from([b"INCR", b"DECR"]), key),
    st.tuples(st.sampled_from([b"INCRBY", b"DECRBY"]), key, integer),
    st.tuples(st.just(b"INCRBYFLOAT"), key, st.sampled_from(FLOATS)),
    st.builds(
        lambda a, b, o: _flat(b"LCS", a, b, o),
        key,
        key,
        st.lists(
            st.sampled_from([(b"LEN",), (b"IDX",), (b"WITHMATCHLEN",), (b"MINMATCHLEN", b"2"), (b"MINMATCHLEN", b"x")]),
            max_size=3,
        ).map(lambda gs: [x for g in gs for x in g]),
    ),
)

basic_string_commands = st.one_of(
    st.tuples(st.just(b"GET"), key),
    st.tuples(st.just(b"SET"), key, value),
    st.builds(lambda k, v, o: _flat(b"SET", k, v, o), key, value, options(expiry_option, 1)),
    st.tuples(st.just(b"INCR"), key),
    st.tuples(st.just(b"APPEND"), key, value),
)

key_commands = st.one_of(
    st.builds(lambda c, ks: _flat(c, ks), st.sampled_from([b"DEL", b"UNLINK", b"EXISTS", b"TOUCH"]),
              st.lists(key, min_size=1, max_size=3)),  # fmt: skip
    st.tuples(st.just(b"TYPE"), key),
    st.tuples(st.sampled_from([b"RENAME", b"RENAMENX"]), key, key),
    st.builds(
        lambda a, b, o: _flat(b"COPY", a, b, o),
        key,
        key,
        options(st.one_of(st.just((b"REPLACE",)), st.tuples(st.just(b"DB"), db)), 2),
    ),
    st.tuples(st.just(b"MOVE"), key, db),
    st.tuples(st.just(b"SWAPDB"), db, db),
    st.tuples(st.just(b"SELECT"), st.sampled_from([b"0", b"1", b"0", b"16", b"x"])),
    st.just((b"DBSIZE",)),
    st.builds(lambda o: _flat(b"FLUSHDB", o), st.lists(st.sampled_from([b"ASYNC", b"SYNC", b"x"]), max_size=2)),
    st.tuples(st.just(b"KEYS"), st.sampled_from(PATTERNS)),
    st.builds(
        lambda o: _flat(b"SCAN", b"0", o),
        options(
            st.one_of(
                st.tuples(st.just(b"MATCH"), st.sampled_from(PATTERNS)),
                st.tuples(st.just(b"COUNT"), st.sampled_from([b"100", b"0", b"x"])),
                st.tuples(st.just(b"TYPE"), st.sampled_from([b"string", b"list", b"zset", b"x"])),
                st.just((b"MATCH",)),
            ),
            2,
        ),
    ),
    st.just((b"RANDOMKEY",)),
    st.builds(lambda k, t, o: (b"EXPIRE", k, t, *o), key, st.sampled_from(REL_SECONDS), st.lists(expire_flag, max_size=2)),
    st.builds(lambda k, t, o: (b"PEXPIRE", k, t, *o), key, st.sampled_from(REL_MS), st.lists(expire_flag, max_size=2)),
    st.builds(lambda k, t, o: (b"EXPIREAT", k, t, *o), key, st.sampled_from(ABS_SECONDS), st.lists(expire_flag, max_size=2)),
    st.builds(lambda k, t, o: (b"PEXPIREAT", k, t, *o), key, st.sampled_from(ABS_MS), st.lists(expire_flag, max_size=2)),
    st.tuples(st.sampled_from([b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME", b"PERSIST"]), key),
    # No REFCOUNT: after COPY of a small integer respdb still says "shared" where Redis has a
    # private copy (the known difference, xfail in test_keys.py::test_object_refcount_after_copy).
    st.tuples(st.just(b"OBJECT"), st.sampled_from([b"ENCODING", b"FREQ", b"encoding"]), key),
)  # fmt: skip

# Any command name with a wrong number of (random) arguments, and names that do not exist.
NAMES = [b"GET", b"SET", b"SETNX", b"SETEX", b"PSETEX", b"GETSET", b"GETDEL", b"GETEX", b"MGET", b"MSET", b"MSETNX",
         b"APPEND", b"STRLEN", b"GETRANGE", b"SUBSTR", b"SETRANGE", b"INCR", b"DECR", b"INCRBY", b"DECRBY",
         b"INCRBYFLOAT", b"LCS", b"DEL", b"UNLINK", b"EXISTS", b"TYPE", b"TOUCH", b"RENAME", b"RENAMENX", b"COPY",
         b"MOVE", b"SWAPDB", b"DBSIZE", b"KEYS", b"SCAN", b"RANDOMKEY", b"EXPIRE", b"PEXPIRE", b"EXPIREAT",
         b"PEXPIREAT", b"TTL", b"PTTL", b"EXPIRETIME", b"PEXPIRETIME", b"PERSIST", b"OBJECT", b"NOSUCHCMD", b"get ",
         b"FLUSHDB", b"FLUSHALL"]  # fmt: skip
arity_commands = st.builds(
    lambda name, args: (name, *args),
    st.sampled_from(NAMES),
    st.lists(st.one_of(key, value, st.sampled_from([b"0", b"100", b"EX", b"NX", b"ENCODING", b"HELP"])), max_size=4),
)


_SECONDS_AFTER = {b"EXPIRE": 2, b"SETEX": 2, b"EX": 1}
_MS_AFTER = {b"PEXPIRE": 2, b"PSETEX": 2, b"PX": 1}


def distinct_expiries(cmds):
    """Shift every positive relative expiry by its command's position (seconds or ms*1000),
    so no two commands ask for the same relative time: with GT/LT, or SET EX then EXPIRE GT,
    equal requests would compare equal or not depending on whether the clock ticked.
    Also settles keys SET with a past absolute expiry (see below)."""
    out = []
    for i, cmd in enumerate(cmds):
        cmd = list(cmd)
        name = cmd[0].upper()
        for j, arg in enumerate(cmd):
            word = arg.upper()
            for table, scale in ((_SECONDS_AFTER, 1), (_MS_AFTER, 1000)):
                pos = table.get(word)
                if pos is None or (j != 0 and name not in (b"SET", b"GETEX")):
                    continue
                k = pos if j == 0 else j + 1
                if k < len(cmd) and cmd[k].isdigit() and 0 < int(cmd[k]) < 10**12:
                    cmd[k] = b"%d" % (int(cmd[k]) + i * scale)
        out.append(tuple(cmd))
        if name == b"SET" and any(a.upper() in (b"EXAT", b"PXAT") for a in cmd[3:]):
            # SET with an absolute time already past stores a key that is logically gone; when it
            # is reclaimed (lazily, or by either server's active expiry cycle) is timing, and
            # DBSIZE counts it until then. A read reclaims it now, on both servers.
            out.append((b"EXISTS", cmd[1]))
    return out


def _type_commands(respdb_port: int) -> list[tuple[bytes, ...]]:
    """Commands that create non-string keys, for the types respdb implements (WRONGTYPE paths)."""
    from conftest import RawConn

    probes = {
        (b"RPUSH", b"l", b"x"): b"list",
        (b"SADD", b"s", b"x"): b"set",
        (b"HSET", b"h", b"f", b"v"): b"hash",
        (b"ZADD", b"z", b"1", b"m"): b"zset",
    }
    conn = RawConn(respdb_port)
    try:
        ok = [cmd for cmd in probes if not conn.cmd(*cmd).startswith(b"-ERR unknown command")]
        conn.cmd("FLUSHALL")
    finally:
        conn.close()
    return ok


@pytest.fixture(scope="module")
def type_commands(respdb_server) -> list[tuple[bytes, ...]]:
    return _type_commands(respdb_server.port)


def _with_types(type_cmds):
    if not type_cmds:
        return st.nothing()
    return st.builds(lambda c, k: (c[0], k, *c[2:]), st.sampled_from(type_cmds), key)


def sequences(type_cmds, *families, min_size=8, max_size=30):
    cmd = st.one_of(*families, _with_types(type_cmds))
    return st.lists(cmd, min_size=min_size, max_size=max_size)


SETTINGS = settings(max_examples=150, deadline=None, derandomize=False)


@pytest.mark.parametrize("family", ["strings", "keys", "mixed"])
def test_random_sequences(pair: Pair, type_commands, family: str) -> None:
    families = {
        "strings": (string_commands,),
        "keys": (key_commands, basic_string_commands),
        "mixed": (string_commands, key_commands, arity_commands),
    }[family]

    @SETTINGS
    @given(sequences(type_commands, *families))
    def run(cmds):
        pair.check(distinct_expiries(cmds))

    run()


@SETTINGS
@given(
    st.lists(st.tuples(st.one_of(string_commands, basic_string_commands), st.integers(1, 4)), min_size=4, max_size=20)
)
def test_random_pipelines_with_runs(pair: Pair, runs) -> None:
    """The same kind of sequences, each command repeated 1-4 times in a row and the whole sent
    as one pipeline: repeats are executed as runs (Engine.execute_run)."""
    cmds = [c for c, times in runs for _ in range(times)]
    pair.reset()
    pair.pipeline(distinct_expiries(cmds))


# ---------------------------------------------------------------------------
# Wider value spaces for the commands that compute: float parsing/formatting, ranges, LCS.

float_text = st.one_of(
    st.floats(allow_nan=False).map(lambda f: repr(f).encode()),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: b"%.25e" % f),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f.hex().encode()),
    st.decimals(allow_nan=False, allow_infinity=False, places=20).map(lambda d: str(d).encode()),
    st.decimals(allow_nan=False, allow_infinity=False).map(lambda d: str(d).encode()),
    st.integers(-(2**70), 2**70).map(lambda i: b"%d" % i),
    st.builds(
        lambda m, e: b"%de%d" % (m, e),
        st.integers(-(10**25), 10**25),
        st.one_of(st.integers(-5000, 5000), st.integers(-40, 40)),
    ),
    st.text("0123456789.eE+-x", max_size=8).map(str.encode),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS[:2]), float_text), min_size=1, max_size=12))
def test_incrbyfloat_values(pair2: Pair, steps) -> None:
    cmds = [(b"INCRBYFLOAT", k, v) for k, v in steps] + [(b"GET", b"a"), (b"OBJECT", b"ENCODING", b"a")]
    pair2.check(cmds)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(KEYS[:2]), float_text), min_size=1, max_size=6))
def test_incrbyfloat_on_stored_text(pair2: Pair, steps) -> None:
    """The stored value goes through the same parser as the increment."""
    cmds = []
    for k, v in steps:
        cmds += [(b"SET", k, v), (b"INCRBYFLOAT", k, b"1.5"), (b"INCRBY", k, b"1")]
    pair2.check(cmds)


binary = st.binary(max_size=12)
index = st.integers(-20, 20).map(lambda i: b"%d" % i)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just(b"SET"), st.sampled_from(KEYS), binary),
            st.tuples(st.just(b"APPEND"), st.sampled_from(KEYS), binary),
            st.tuples(st.just(b"SETRANGE"), st.sampled_from(KEYS), st.integers(0, 20).map(lambda i: b"%d" % i), binary),
            st.tuples(st.sampled_from([b"GETRANGE", b"SUBSTR"]), st.sampled_from(KEYS), index, index),
            st.tuples(st.just(b"GET"), st.sampled_from(KEYS)),
            st.tuples(st.just(b"STRLEN"), st.sampled_from(KEYS)),
            st.tuples(st.just(b"OBJECT"), st.just(b"ENCODING"), st.sampled_from(KEYS)),
            st.tuples(st.sampled_from([b"INCR", b"DECR"]), st.sampled_from(KEYS)),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_ranges_and_encodings(pair: Pair, cmds) -> None:
    pair.check(cmds)


lcs_text = st.text("abc", max_size=14).map(str.encode)


@settings(max_examples=150, deadline=None)
@given(
    lcs_text,
    lcs_text,
    st.lists(st.sampled_from([b"IDX", b"WITHMATCHLEN", b"LEN", b"MINMATCHLEN"]), max_size=3),
    st.integers(-1, 4),
)
def test_lcs(pair: Pair, a, b, opts, minlen) -> None:
    args = []
    for o in opts:
        args.append(o)
        if o == b"MINMATCHLEN":
            args.append(b"%d" % minlen)
    pair.check([(b"MSET", b"a", a, b"b", b)] * 1 + [(b"LCS", b"a", b"b", *args), (b"LCS", b"b", b"a", b"IDX")])
