"""Bitmap commands against a real redis-server: hand-picked edge cases and generated sequences."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import Pair, script

SCENARIOS = {
    "setbit-getbit": """
        SETBIT b 7 1
        GET b
        GETBIT b 7
        GETBIT b 6
        GETBIT b 100
        SETBIT b 7 0
        SETBIT b 100 1
        STRLEN b
        OBJECT ENCODING b
        SETBIT b -1 1
        SETBIT b 4294967296 1
        SETBIT b abc 1
        SETBIT b 1 2
        SETBIT b 1 -1
        GETBIT nokey 5
        GETBIT b -1
        SET s foo
        SETBIT s 0 1
        GET s
        LPUSH l x
        SETBIT l 0 1
        GETBIT l 0
    """,
    "bitcount": """
        SET k foobar
        BITCOUNT k
        BITCOUNT k 0 0
        BITCOUNT k 1 1
        BITCOUNT k 1 -2
        BITCOUNT k -3 -1
        BITCOUNT k -1 -3
        BITCOUNT k 5 100
        BITCOUNT k 0 5 BIT
        BITCOUNT k 1 13 BIT
        BITCOUNT k -9 -1 BIT
        BITCOUNT k 0 0 BYTE
        BITCOUNT k 0 0 FOO
        BITCOUNT k 0
        BITCOUNT k a b
        BITCOUNT nokey 0
        BITCOUNT nokey
        LPUSH l x
        BITCOUNT l
    """,
    "bitpos": """
        SET k "\\xff\\xf0\\x00"
        BITPOS k 0
        BITPOS k 1
        BITPOS k 0 1
        BITPOS k 1 2
        BITPOS k 0 0 0
        BITPOS k 1 2 -1
        BITPOS k 0 0 -1
        SET f "\\xff\\xff\\xff"
        BITPOS f 0
        BITPOS f 0 0
        BITPOS f 0 0 -1
        BITPOS f 1 0 -1
        BITPOS f 0 3 BIT
        BITPOS k 0 3 20 BIT
        BITPOS k 1 7 15 BIT
        BITPOS k 0 8 11 BIT
        BITPOS k 1 17 23 BIT
        BITPOS k 0 0 7 BIT
        BITPOS k 1 0 0 BYTE
        BITPOS k 1 0 0 NOPE
        BITPOS k 2
        BITPOS nokey 0
        BITPOS nokey 1
        SET e ''
        BITPOS e 0
        BITPOS e 1
        BITPOS k 1 5 2
    """,
    "bitop": """
        SET a "\\x0f\\xf0"
        SET b "\\xff"
        BITOP AND d a b
        GET d
        BITOP OR d a b
        GET d
        BITOP XOR d a b nokey
        GET d
        BITOP NOT d a
        GET d
        BITOP NOT d a b
        BITOP NAND d a b
        BITOP AND d nokey nokey2
        EXISTS d
        SET d 1
        BITOP OR d nokey
        EXISTS d
        LPUSH l x
        BITOP OR d a l
    """,
    "bitfield": """
        BITFIELD bf SET i8 0 100 GET i8 0 INCRBY i8 0 100 GET u4 4
        BITFIELD bf OVERFLOW SAT INCRBY i8 0 100 OVERFLOW FAIL INCRBY i8 0 100 OVERFLOW WRAP INCRBY i8 0 100
        BITFIELD bf SET u8 #1 255 GET u8 #1 INCRBY u8 #1 10 OVERFLOW SAT INCRBY u8 #1 300
        BITFIELD bf SET u63 0 -1 GET u63 0 SET i64 0 -1 GET i64 0 GET u1 0
        BITFIELD bf OVERFLOW FAIL SET u2 0 4 SET i3 0 4 SET i3 0 -4 SET i3 0 -5
        BITFIELD bf OVERFLOW SAT SET u2 0 -1 SET i3 0 -9 GET i64 3
        BITFIELD bf INCRBY i64 0 9223372036854775807 OVERFLOW SAT INCRBY i64 0 9223372036854775807
        GET bf
        BITFIELD bf GET u64 0
        BITFIELD bf GET i65 0
        BITFIELD bf GET x8 0
        BITFIELD bf GET u8 -1
        BITFIELD bf GET u8 #-1
        BITFIELD bf OVERFLOW BOGUS
        BITFIELD bf SET u8 0
        BITFIELD bf FOO
        BITFIELD bf SET u8 0 abc
        BITFIELD_RO bf GET u8 0 GET i4 4
        BITFIELD_RO bf SET u8 0 1
        BITFIELD nokey GET u8 0
        BITFIELD nokey2
        BITFIELD new SET u4 100 3
        STRLEN new
        LPUSH l x
        BITFIELD l GET u8 0
        BITFIELD l SET u8 0 1
    """,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_bitmap_scenarios(name: str, p: Pair) -> None:
    p.check(script(*SCENARIOS[name].strip().splitlines()))


keys = st.sampled_from(["a", "b", "c"])
offsets = st.integers(min_value=-2, max_value=80).map(str)
small = st.integers(min_value=-20, max_value=20).map(str)
ftype = st.sampled_from(["i1", "i4", "u4", "i8", "u8", "i16", "u15", "i64", "u63", "u7"])
commands = st.one_of(
    st.tuples(st.just("SETBIT"), keys, offsets, st.sampled_from(["0", "1"])),
    st.tuples(st.just("GETBIT"), keys, offsets),
    st.tuples(st.just("BITCOUNT"), keys, small, small),
    st.tuples(st.just("BITCOUNT"), keys, small, small, st.sampled_from(["BIT", "BYTE"])),
    st.tuples(st.just("BITPOS"), keys, st.sampled_from(["0", "1"]), small),
    st.tuples(st.just("BITPOS"), keys, st.sampled_from(["0", "1"]), small, small),
    st.tuples(st.just("BITPOS"), keys, st.sampled_from(["0", "1"]), small, small, st.sampled_from(["BIT", "BYTE"])),
    st.tuples(st.just("BITOP"), st.sampled_from(["AND", "OR", "XOR"]), keys, keys, keys),
    st.tuples(st.just("BITOP"), st.just("NOT"), keys, keys),
    st.tuples(st.just("SET"), keys, st.binary(max_size=6)),
    st.tuples(st.just("GET"), keys),
    st.tuples(
        st.just("BITFIELD"),
        keys,
        st.just("OVERFLOW"),
        st.sampled_from(["WRAP", "SAT", "FAIL"]),
        st.sampled_from(["GET", "SET", "INCRBY"]),
        ftype,
        st.integers(min_value=0, max_value=70).map(str),
        st.integers(min_value=-(2**64), max_value=2**64).map(str),
    ),
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(commands, min_size=1, max_size=12))
def test_generated_bitmap_sequences(pair2: Pair, seq) -> None:
    cmds = []
    for cmd in seq:
        if cmd[0] == "BITFIELD" and cmd[4] == "GET":
            cmd = cmd[:7]
        cmds.append(cmd)
    pair2.check(cmds)
