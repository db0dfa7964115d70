"""String commands, hand-picked cases: every option, combination and error path, compared with real Redis.

Each scenario runs from an empty keyspace on RESP2 and on RESP3.
"""

from __future__ import annotations

import random
import time

import pytest

from .harness import Pair, script

LONG = b"x" * 100
NEAR_EMBSTR = b"y" * 44  # the longest embstr
PAST_EMBSTR = b"y" * 45


def _future(seconds: int) -> bytes:
    return b"%d" % (int(time.time()) + seconds)


def _future_ms(seconds: int) -> bytes:
    return b"%d" % (int(time.time() * 1000) + seconds * 1000)


SCENARIOS: dict[str, object] = {
    "get": """
        GET a
        SET a 1
        GET a
        SET a ''
        GET a
        SET a "\\x00\\xff\\r\\n"
        GET a
        GET a b
    """,
    "set-options-valid": """
        SET a 1 EX 100
        TTL a
        SET a 1 PX 100000
        PTTL a
        SET a 1 KEEPTTL
        TTL a
        SET a 2
        TTL a
        SET a 1 nx
        SET b 1 NX
        SET b 2 XX
        SET c 2 XX
        GET b
        SET b 3 GET
        SET c 3 GET
        SET b 4 NX GET
        SET d 4 NX GET
        SET d 5 XX GET
        SET e 5 XX GET
        SET b 6 EX 10 GET
        TTL b
        SET b 7 KEEPTTL GET
        TTL b
        SET b 8 get ex 20 xx
        TTL b
        SET a 1 EX 10 EX 20
        TTL a
        SET a 1 KEEPTTL KEEPTTL
        SET a 1 GET GET
        SET a 1 NX NX
        SET a 1 XX XX
    """,
    "set-options-invalid": """
        SET a 1 EX 10 PX 10
        SET a 1 PX 10 EX 10
        SET a 1 EX 10 EXAT 10
        SET a 1 PXAT 10 PX 10
        SET a 1 KEEPTTL EX 10
        SET a 1 EX 10 KEEPTTL
        SET a 1 PXAT 10 KEEPTTL
        SET a 1 NX XX
        SET a 1 XX NX
        SET a 1 EX
        SET a 1 PX
        SET a 1 EXAT
        SET a 1 PXAT
        SET a 1 foo
        SET a 1 NX foo
        SET a 1 PERSIST
        SET a 1 EX abc
        SET a 1 EX 1.5
        SET a 1 EX ''
        SET a 1 EX 0
        SET a 1 EX -1
        SET a 1 PX 0
        SET a 1 EXAT 0
        SET a 1 PXAT -5
        SET a 1 EX 9223372036854775807
        SET a 1 EX 9223372036854775
        SET a 1 EX 9223372036854776
        SET a 1 PX 9223372036854775807
        SET a 1 EXAT 9223372036854776
        SET a 1 EX 99999999999999999999
        SET a 1 NX EX 0
        SET a 1 GET EX 0
        EXISTS a
        SET
        SET a
    """,
    "set-absolute-expiry": lambda: script(
        ("SET", "a", "1", "EXAT", _future(100)),
        ("TTL", "a"),
        ("EXPIRETIME", "a"),
        ("SET", "a", "1", "PXAT", _future_ms(100)),
        ("PTTL", "a"),
        ("PEXPIRETIME", "a"),
        "SET a 1 EXAT 9223372036854775",
        "SET a 1 PXAT 9223372036854775807",
        "PEXPIRETIME a",
        "SET a 1 EXAT 1",
        "GET a",
        "EXISTS a",
        "SET a 1 PXAT 1 GET",
        "SET a 1",
        "SET a 2 PXAT 1 GET",
        "GET a",
    ),
    "set-get-wrongtype-setnx-setex": """
        SETNX a 1
        SETNX a 2
        GET a
        SETNX
        SETEX a 10 v
        TTL a
        SETEX a 0 v
        SETEX a -1 v
        SETEX a x v
        SETEX a 9223372036854775807 v
        PSETEX a 100000 v
        PTTL a
        PSETEX a 0 v
        PSETEX a 9223372036854775807 v
        SETEX a 10
        PSETEX a
        SET a 1 EX 100
        SETNX a 3
        TTL a
    """,
    "getset-getdel": """
        GETSET a 1
        GETSET a 2
        GET a
        SET b 1 EX 100
        GETSET b 2
        TTL b
        GETDEL b
        GETDEL b
        EXISTS b
        GETDEL nope
        GETDEL
        GETSET a
    """,
    "getex": """
        GETEX a
        GETEX a EX 10
        GETEX a foo
        SET a v
        GETEX a
        TTL a
        GETEX a EX 100
        TTL a
        GETEX a PX 200000
        PTTL a
        GETEX a PERSIST
        TTL a
        GETEX a PERSIST
        GETEX a EX 10 PX 10
        GETEX a PERSIST EX 10
        GETEX a EX 10 PERSIST
        GETEX a PERSIST PERSIST
        GETEX a EX 10 EX 20
        TTL a
        GETEX a KEEPTTL
        GETEX a NX
        GETEX a XX
        GETEX a GET
        GETEX a EX
        GETEX a EX 0
        GETEX a EX -1
        GETEX a EX x
        GETEX a PX 9223372036854775807
        GETEX a EXAT 1
        EXISTS a
        SET a v
        GETEX a PXAT 1
        GET a
        GETEX nokey EX 0
        GETEX nokey foo
        GETEX
    """,
    "getex-absolute": lambda: script(
        "SET a v",
        ("GETEX", "a", "EXAT", _future(100)),
        "TTL a",
        ("GETEX", "a", "PXAT", _future_ms(200)),
        "PTTL a",
    ),
    "mget-mset-msetnx": """
        MGET a b c
        MSET a 1 b 2
        MGET a b c a
        MSET a
        MSET a 1 b
        MSET
        MSETNX a 1
        MSETNX a 1 b
        MSETNX x 1 y 2
        MSETNX x 1 z 2
        MGET x y z
        MSETNX q 1 q 2
        GET q
        MSET a 1 a 2
        GET a
        SET e 1 EX 100
        MSET e 2
        TTL e
        MGET
    """,
    "append-strlen": """
        APPEND a ''
        EXISTS a
        APPEND a xyz
        APPEND a 123
        GET a
        STRLEN a
        STRLEN nokey
        SET n 10
        APPEND n 5
        GET n
        SET t 1 EX 100
        APPEND t x
        TTL t
        APPEND
        STRLEN
        STRLEN a b
    """,
    "getrange-substr": """
        SET a "Hello, world"
        GETRANGE a 0 -1
        GETRANGE a 0 4
        GETRANGE a 5 2
        GETRANGE a -100 100
        GETRANGE a -1 -5
        GETRANGE a -5 -1
        GETRANGE a -1 -1
        GETRANGE a 100 200
        GETRANGE a 11 11
        GETRANGE a 12 12
        GETRANGE a 0 0
        GETRANGE a x 1
        GETRANGE a 1 x
        GETRANGE a 1.0 2
        GETRANGE a 9223372036854775807 -9223372036854775808
        GETRANGE a -9223372036854775808 9223372036854775807
        GETRANGE nokey 0 1
        GETRANGE nokey x 1
        SET e ''
        GETRANGE e 0 -1
        GETRANGE e -1 0
        SET i 12345
        GETRANGE i 1 2
        SUBSTR a 0 1
        SUBSTR a -3 -1
        SUBSTR a
        GETRANGE a 0
    """,
    "setrange": """
        SETRANGE a 0 ''
        SETRANGE nokey 0 ''
        SETRANGE nokey 5 ''
        EXISTS nokey
        SETRANGE nokey -1 x
        SETRANGE nokey -1 ''
        SETRANGE nokey x x
        SETRANGE nokey 536870911 ''
        SETRANGE nokey 536870912 x
        SETRANGE nokey 536870912 ''
        SETRANGE nokey 9223372036854775807 x
        SETRANGE a 3 zz
        GET a
        SETRANGE a 0 X
        GET a
        SETRANGE a 1 abcdefgh
        GET a
        SETRANGE a 20 ''
        GET a
        SETRANGE a 536870912 x
        SETRANGE a 536870911 ''
        SET n 12345
        SETRANGE n 1 9
        GET n
        SETRANGE
        SETRANGE a 1
    """,
    "incr-decr": """
        INCR a
        INCR a
        DECR a
        DECR b
        INCRBY a 10
        INCRBY a -20
        DECRBY a 5
        DECRBY a -5
        GET a
        INCRBY a x
        INCRBY a 1.5
        INCRBY a ''
        INCRBY a 01
        INCRBY a +1
        INCRBY a 9223372036854775808
        DECRBY a -9223372036854775808
        DECRBY a 9223372036854775807
        SET m 9223372036854775807
        INCR m
        INCRBY m 1
        INCRBY m 0
        INCRBY m -1
        SET m -9223372036854775808
        DECR m
        DECRBY m 1
        INCRBY m 9223372036854775807
        INCRBY m -9223372036854775808
        DECRBY n -9223372036854775808
        DECRBY n -9223372036854775807
        SET t 5 EX 100
        INCR t
        TTL t
        INCR
        INCRBY a
        DECRBY a 1 2
    """,
    "incr-non-integers": """
        SET a " 1"
        INCR a
        SET a "1 "
        INCR a
        SET a 01
        INCR a
        SET a +1
        INCR a
        SET a -0
        INCR a
        SET a ''
        INCR a
        SET a 1.5
        INCR a
        SET a 1e3
        INCR a
        SET a 0x10
        INCR a
        SET a "1\\x00"
        INCR a
        SET a 99999999999999999999
        INCR a
        SET a abc
        DECR a
        INCRBY a 1
        DECRBY a 1
    """,
    "incrbyfloat-formatting": """
        INCRBYFLOAT f 10.5
        INCRBYFLOAT f 0.1
        INCRBYFLOAT f -5.0e3
        INCRBYFLOAT f 1e308
        INCRBYFLOAT f 1e4000
        INCRBYFLOAT g 1.0
        INCRBYFLOAT g 1e-20
        INCRBYFLOAT g -1e-20
        INCRBYFLOAT h -1.5
        INCRBYFLOAT h 0.0000000000000000001
        INCRBYFLOAT z 0.1
        INCRBYFLOAT z 0.2
        INCRBYFLOAT z 1e-17
        INCRBYFLOAT z 1e-18
        INCRBYFLOAT z 12345678901234567890123
        INCRBYFLOAT z 3.0e3
        INCRBYFLOAT w 5.0e3
        INCRBYFLOAT w 1E2
        INCRBYFLOAT w .5
        INCRBYFLOAT w 5.
        INCRBYFLOAT w +5
        INCRBYFLOAT v 3
        GET v
        INCRBYFLOAT u 1.23456789012345678901234567890
        INCRBYFLOAT t 0.30000000000000000001
        INCRBYFLOAT s 1e-400
        INCRBYFLOAT s -1e-400
        INCRBYFLOAT big 1e4932
        INCRBYFLOAT big 1.1e4932
        INCRBYFLOAT big -1e4932
        INCRBYFLOAT neg -1.189731495357231765e4932
        INCRBYFLOAT neg 1.189731495357231765e4932
    """,
    "incrbyfloat-negative-zero": """
        SET z 0
        INCRBYFLOAT z -0.0
        INCRBYFLOAT z -0
        SET z -0
        INCRBYFLOAT z 0
        SET z -0.0
        INCRBYFLOAT z -0.0
        GET z
        INCRBYFLOAT y -0.000000000000000001
        INCRBYFLOAT x -0.000000000000000005
        INCRBYFLOAT x -0.000000000000000006
    """,
    "incrbyfloat-inputs": """
        INCRBYFLOAT x inf
        INCRBYFLOAT x -inf
        INCRBYFLOAT x +inf
        INCRBYFLOAT x Infinity
        INCRBYFLOAT x -INFINITY
        INCRBYFLOAT x infin
        INCRBYFLOAT x nan
        INCRBYFLOAT x -nan
        INCRBYFLOAT x nan(123)
        INCRBYFLOAT x ''
        INCRBYFLOAT x " 1"
        INCRBYFLOAT x "1 "
        INCRBYFLOAT x "\\t1"
        INCRBYFLOAT x 1_0
        INCRBYFLOAT x 1e
        INCRBYFLOAT x e1
        INCRBYFLOAT x 1e+
        INCRBYFLOAT x 1.2.3
        INCRBYFLOAT x .
        INCRBYFLOAT x -
        INCRBYFLOAT x "\\x00"
        INCRBYFLOAT x "1\\x00"
        INCRBYFLOAT x "1\\x00abc"
        INCRBYFLOAT x 1e99999999999999999999
        INCRBYFLOAT x 1e-99999999999999999999
        INCRBYFLOAT x 0e99999999999999999999
        INCRBYFLOAT x 1e-5000
        INCRBYFLOAT x 1e-4951
        INCRBYFLOAT x 3.6e-4951
        INCRBYFLOAT x 1e-4940
        INCRBYFLOAT x 1e+2
        GET x
        INCRBYFLOAT x
        INCRBYFLOAT
    """,
    "incrbyfloat-hex": """
        INCRBYFLOAT x 0x10
        INCRBYFLOAT x 0x1p3
        INCRBYFLOAT x 0X1P-2
        INCRBYFLOAT x 0x.8
        INCRBYFLOAT x 0x
        INCRBYFLOAT x 0x1p
        INCRBYFLOAT x 0xg
        INCRBYFLOAT x -0x1.fffffffffffffffep16383
        INCRBYFLOAT y 0x1.fffffffffffffffe8p16383
        INCRBYFLOAT y 0x1.ffffffffffffffff8p16383
        INCRBYFLOAT y 0x1p-16445
        INCRBYFLOAT y 0x1p-16446
        INCRBYFLOAT y 0x1.1p-16446
        GET x
    """,
    "incrbyfloat-existing-values": """
        SET a abc
        INCRBYFLOAT a 1
        SET a 1e3000
        INCRBYFLOAT a 1
        SET a 1e4933
        INCRBYFLOAT a 1
        SET a inf
        INCRBYFLOAT a 1
        SET a " 1"
        INCRBYFLOAT a 1
        SET a "\\x00"
        INCRBYFLOAT a 1
        SET a 9223372036854775807
        INCRBYFLOAT a 1
        SET a 5.0e3
        INCRBYFLOAT a 1
        SET t 1 EX 100
        INCRBYFLOAT t 1.5
        TTL t
    """,
    "lcs": """
        MSET a ohmytext b mynewtext
        LCS a b
        LCS a b LEN
        LCS a b IDX
        LCS a b IDX MINMATCHLEN 4
        LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN
        LCS a b IDX WITHMATCHLEN
        LCS a b idx minmatchlen -5 withmatchlen
        LCS a b IDX MINMATCHLEN 0
        LCS a b LEN IDX
        LCS a b IDX LEN
        LCS a b LEN LEN
        LCS a b MINMATCHLEN
        LCS a b MINMATCHLEN x
        LCS a b MINMATCHLEN 2
        LCS a b WITHMATCHLEN
        LCS a b LEN WITHMATCHLEN
        LCS a b foo
        LCS a nope
        LCS nope a IDX
        LCS nope nope2 IDX WITHMATCHLEN
        LCS nope nope2
        LCS a a
        LCS a a IDX WITHMATCHLEN
        MSET x ABCBDAB y BDCABA
        LCS x y
        LCS x y IDX WITHMATCHLEN
        LCS y x IDX
        MSET p "\\x00\\xff\\x00" q "\\xff\\x00"
        LCS p q IDX WITHMATCHLEN
        SET e ''
        LCS e a IDX
        LCS
        LCS a
    """,
    "object-encoding-transitions": script(
        """
        SET a 12345
        OBJECT ENCODING a
        SET a -9223372036854775808
        OBJECT ENCODING a
        SET a 9223372036854775808
        OBJECT ENCODING a
        SET a 01
        OBJECT ENCODING a
        SET a ''
        OBJECT ENCODING a
        SET a " 1"
        OBJECT ENCODING a
        SET a 1.5
        OBJECT ENCODING a
        APPEND a 0
        OBJECT ENCODING a
        SET b 12
        APPEND b 3
        OBJECT ENCODING b
        GET b
        INCR b
        OBJECT ENCODING b
        SET c abc
        SETRANGE c 0 x
        OBJECT ENCODING c
        SET d 100
        SETRANGE d 0 2
        OBJECT ENCODING d
        INCR d
        OBJECT ENCODING d
        INCRBYFLOAT e 3
        OBJECT ENCODING e
        INCRBYFLOAT e 0.5
        OBJECT ENCODING e
        INCRBYFLOAT f 1e20
        OBJECT ENCODING f
        SETNX g 5
        OBJECT ENCODING g
        GETSET g 6
        OBJECT ENCODING g
        MSET h 7 i 8
        OBJECT ENCODING h
        SETEX j 100 9
        OBJECT ENCODING j
        APPEND k 10
        OBJECT ENCODING k
        """,
        ("SET", "l", NEAR_EMBSTR),
        ("OBJECT", "ENCODING", "l"),
        ("SET", "l", PAST_EMBSTR),
        ("OBJECT", "ENCODING", "l"),
        ("SET", "l", LONG),
        ("OBJECT", "ENCODING", "l"),
        ("APPEND", "m", NEAR_EMBSTR),
        ("OBJECT", "ENCODING", "m"),
        ("GETSET", "m", PAST_EMBSTR),
        ("OBJECT", "ENCODING", "m"),
        ("SET", "n", "1"),
        ("SETRANGE", "n", "50", "x"),
        ("OBJECT", "ENCODING", "n"),
        "OBJECT ENCODING nope",
    ),
    "object-refcount-idletime-freq-help": """
        SET a 100
        OBJECT REFCOUNT a
        SET a 9999
        OBJECT REFCOUNT a
        SET a 10000
        OBJECT REFCOUNT a
        SET a -1
        OBJECT REFCOUNT a
        SET a abc
        OBJECT REFCOUNT a
        OBJECT REFCOUNT nope
        OBJECT IDLETIME a
        OBJECT IDLETIME nope
        OBJECT FREQ a
        OBJECT FREQ nope
        OBJECT HELP
        OBJECT help
        OBJECT HELP extra
        OBJECT
        OBJECT FOO
        OBJECT FOO a
        OBJECT ENCODING
        OBJECT ENCODING a b
    """,
    "unknown-commands-and-arity": """
        FOO
        FOO bar baz
        "GET "
        GETX a
        GET
        STRLEN a b
        GETRANGE a 1
        SETRANGE a 1
        LCS a
        MGET
        MSETNX
        INCRBYFLOAT a
        GETEX
        APPEND a
    """,
    "set-get-long-and-binary": script(
        ("SET", "a", LONG),
        "GET a",
        "STRLEN a",
        ("SET", "b", bytes(range(256))),
        "GET b",
        "GETRANGE b 250 -1",
        "LCS a b",
        ("APPEND", "b", LONG),
        "STRLEN b",
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_strings(p: Pair, name: str) -> None:
    steps = SCENARIOS[name]
    if callable(steps):
        steps = steps()
    if isinstance(steps, str):
        steps = script(steps)
    p.check(steps)


def test_incrbyfloat_length_limit(p: Pair) -> None:
    """Numbers of 5120 characters or more are not parsed at all (MAX_LONG_DOUBLE_CHARS)."""
    p.check(
        [
            ("INCRBYFLOAT", "a", b"0" * 5118 + b"1"),
            ("INCRBYFLOAT", "a", b"0" * 5119 + b"1"),
            ("INCRBYFLOAT", "a", b"1" + b"0" * 4931),
            ("INCRBYFLOAT", "a", b"1" + b"0" * 4932),
            ("INCRBYFLOAT", "a", b"-1" + b"0" * 4931),
            ("SET", "b", b"0" * 5119 + b"2"),
            ("INCRBYFLOAT", "b", "1"),
            ("SET", "b", b"0" * 5118 + b"2"),
            ("INCRBYFLOAT", "b", "1"),
            ("SET", "c", b"0." + b"0" * 5000 + b"1"),
            ("INCRBYFLOAT", "c", "1"),
            ("INCRBYFLOAT", "d", b"1." + b"9" * 5000),
        ]
    )


def test_expired_keys_vanish_for_every_reader(p: Pair) -> None:
    p.check(
        script(
            "SET a 1 PX 30",
            "SET b 2 PX 30",
            "SET c 3 PX 30",
            "SET d 4 PX 30",
            "SET e 10 PX 30",
            "SET f 1 PX 30",
            "SET g abc PX 30",
        )
    )
    p.wait(0.1)
    for cmd in script(
        """
        GET a
        STRLEN b
        APPEND c x
        GET c
        TTL c
        INCR e
        TTL e
        SETNX f 5
        GETRANGE g 0 -1
        SETRANGE d 2 x
        GET d
        EXISTS a b c d e f g
        DBSIZE
        """
    ):
        p.run(*cmd)


def test_string_size_limit(p: Pair) -> None:
    """SETRANGE and APPEND past proto-max-bulk-len are refused (checked at a 1mb limit)."""
    p.check(script("CONFIG SET proto-max-bulk-len 1mb"))
    try:
        p.check(
            script(
                "SETRANGE k 1048575 x",
                "STRLEN k",
                "SETRANGE k 1048576 x",
                "SETRANGE k 1048575 xy",
                "SETRANGE k 1048576 ''",
                "APPEND k y",
                "STRLEN k",
                "SETRANGE n 1048576 x",
                "EXISTS n",
                "SETRANGE n 1048575 xy",
                "SETRANGE n 9223372036854775807 x",
            ),
            reset=False,
        )
    finally:
        p.both("CONFIG", "SET", "proto-max-bulk-len", "512mb")
        p.both("FLUSHALL")


@pytest.mark.parametrize("alphabet", [b"ab", b"abcd", bytes(range(256))])
def test_lcs_long_random_strings(p: Pair, alphabet: bytes) -> None:
    rng = random.Random(len(alphabet))
    for n, m in [(300, 280), (1, 200), (200, 1), (0, 50), (450, 450)]:
        a = bytes(rng.choice(alphabet) for _ in range(n))
        b = bytes(rng.choice(alphabet) for _ in range(m))
        p.check(
            [
                ("MSET", "a", a, "b", b),
                ("LCS", "a", "b"),
                ("LCS", "a", "b", "LEN"),
                ("LCS", "a", "b", "IDX", "WITHMATCHLEN"),
                ("LCS", "b", "a", "IDX", "MINMATCHLEN", "3"),
            ]
        )


def test_lcs_memory_limit(p: Pair) -> None:
    """LCS refuses when its (len(a)+1)*(len(b)+1) uint32 table would pass proto-max-bulk-len."""
    p.check(script("CONFIG SET proto-max-bulk-len 1mb"))
    try:
        for alen, blen in [(511, 511), (512, 511), (0, 262143), (0, 262144), (1, 131071), (1, 131072)]:
            p.check(
                [
                    ("SET", "a", b"x" * alen),
                    ("SET", "b", b"xy" * (blen // 2) + b"z" * (blen % 2)),
                    ("LCS", "a", "b", "LEN"),
                    ("LCS", "b", "nope"),
                    ("LCS", "a", "b", "FOO"),
                    ("LCS", "a", "b", "IDX", "LEN"),
                ]
            )
    finally:
        p.both("CONFIG", "SET", "proto-max-bulk-len", "512mb")
        p.both("FLUSHALL")


def test_lcs_walk_matches_reference_dp() -> None:
    """The bit-parallel table gives the same answers as the plain DP on random inputs."""
    from respdb.types.strings import lcs_length, lcs_rows

    rng = random.Random(7)
    for _ in range(200):
        a = bytes(rng.choice(b"abc") for _ in range(rng.randint(0, 30)))
        b = bytes(rng.choice(b"abc") for _ in range(rng.randint(0, 30)))
        dp = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i in range(1, len(a) + 1):
            for j in range(1, len(b) + 1):
                dp[i][j] = dp[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(dp[i - 1][j], dp[i][j - 1])
        rows = lcs_rows(a, b)
        for i in range(len(a) + 1):
            for j in range(len(b) + 1):
                assert j - (rows[i] & ((1 << j) - 1)).bit_count() == dp[i][j]
        assert lcs_length(a, b) == dp[len(a)][len(b)]


WRONGTYPE_SCRIPT = """
    GET l
    SET l v GET
    SET l v NX GET
    SET l v XX GET EX 0
    SET l v EX 0 GET
    GETSET l v
    GETDEL l
    GETEX l
    GETEX l EX 0
    GETEX l PERSIST FOO
    MGET a l b
    APPEND l x
    STRLEN l
    GETRANGE l 0 -1
    GETRANGE l x 1
    SUBSTR l 0 1
    SETRANGE l 0 ''
    SETRANGE l 0 x
    SETRANGE l -1 x
    SETRANGE l 536870912 x
    INCR l
    DECR l
    INCRBY l 1
    INCRBY l x
    DECRBY l 1
    INCRBYFLOAT l 1
    INCRBYFLOAT l x
    LCS l s
    LCS s l LEN
    LCS l s FOO
    SETNX l v
    MSETNX l v q w
    EXISTS q
    TYPE l
    OBJECT ENCODING l
    COPY l l2
    TYPE l2
    RENAME l l3
    TYPE l3
    SET l3 v
    TYPE l3
"""


def test_wrongtype(p: Pair) -> None:
    """Every string command on a non-string key, including which error wins when several apply."""
    if p.respdb.cmd("RPUSH", "probe", "x").startswith(b"-ERR unknown command"):
        pytest.skip("respdb has no lists yet")
    p.check(script("SET s hello", "RPUSH l a b c", WRONGTYPE_SCRIPT))
