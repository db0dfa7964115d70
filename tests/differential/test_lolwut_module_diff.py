"""LOLWUT and MODULE against the real redis-server, byte for byte where Redis is deterministic.

MODULE LOAD/LOADEX/UNLOAD only reach their handlers with `enable-module-command yes`, an
option fixed at start-up, so this module starts a pair of servers of its own with it (the
session servers keep Redis's default, `no`, for the refusal test).

LOLWUT's drawings use rand(), so only what does not depend on it is compared exactly: the
version line, every error, the whole of VERSION 5 with one or two rows of squares (Redis
moves and rotates squares from the third row on) and the first lines of taller drawings,
the one-row VERSION 6 skyline (all sky), and for the rest the shape: line count, the width
of every line, the cells used, the credit lines.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import pytest
from conftest import start_redis, start_respdb

from .harness import Pair, parse

ENABLE = ("--enable-module-command", "yes")
BRAILLE = re.compile("[\u2800-\u28ff]*")


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[int, int]]:
    r = start_redis(*ENABLE)
    try:
        d = start_respdb(*ENABLE)
    except Exception:
        r.stop()
        raise
    yield (r.port, d.port)
    r.stop()
    d.stop()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def mp(servers, request) -> Iterator[Pair]:
    p = Pair(*servers, proto=request.param)
    yield p
    p.close()


# ---------------------------------------------------------------------------
# MODULE


def test_module_replies(mp):
    for args in (
        ("MODULE", "LIST"), ("module", "list"), ("MODULE", "HELP"), ("MODULE", "help"),
        ("MODULE", "LOAD", "/nonexistent/module.so"), ("MODULE", "LOAD", "/nonexistent/module.so", "a", "b"),
        ("MODULE", "LOAD", ""), ("MODULE", "LOAD", "/etc/passwd"), ("MODULE", "LOAD", "/tmp"),
        ("MODULE", "LOADEX", "/nonexistent/module.so"),
        ("MODULE", "LOADEX", "/nonexistent/module.so", "CONFIG", "a", "b", "CONFIG", "c", "d", "ARGS", "x", "y"),
        ("MODULE", "LOADEX", "/nonexistent/module.so", "CONFIG", "a"),
        ("MODULE", "LOADEX", "/nonexistent/module.so", "ARGS"),
        ("MODULE", "LOADEX", "/nonexistent/module.so", "bogus"),
        ("MODULE", "UNLOAD", "foo"), ("MODULE", "UNLOAD", ""),
        ("MODULE", "LIST"),
        ("MODULE",), ("MODULE", "foo"), ("MODULE", "foo", "bar"), ("MODULE", "LIST", "x"), ("MODULE", "HELP", "x"),
        ("MODULE", "LOAD"), ("MODULE", "LOADEX"), ("MODULE", "UNLOAD"), ("MODULE", "UNLOAD", "a", "b"),
        ("INFO", "modules"),
    ):  # fmt: skip
        mp.run(*args)


def test_in_multi_and_scripts(mp):
    mp.run("MULTI")
    mp.run("MODULE", "LIST")
    mp.run("MODULE", "UNLOAD", "x")
    mp.run("LOLWUT", "VERSION", "5", "8", "2", "2")
    mp.run("EXEC")
    mp.run("EVAL", "return redis.call('lolwut')", "0")
    mp.run("EVAL", "return redis.call('lolwut', 'version', '6', '4', '1')", "0")
    mp.run("EVAL", "return redis.pcall('lolwut', 'version', 'x')", "0")
    mp.run("EVAL", "return redis.pcall('module', 'list')", "0")  # NOSCRIPT


def test_module_command_introspection(mp):
    for args in (
        ("COMMAND", "INFO", "module|list", "module|load", "module|loadex", "module|unload", "module|help", "lolwut"),
        ("COMMAND", "GETKEYS", "MODULE", "LOAD", "x"),
        ("COMMAND", "LIST", "FILTERBY", "PATTERN", "lolwut"),
    ):
        mp.run(*args)
    a, b = mp.both("COMMAND", "LIST", "FILTERBY", "PATTERN", "module*")  # hash-table order in Redis
    assert sorted(parse(a)[1]) == sorted(parse(b)[1])
    # MODULE's own entry lists its subcommands in hash-table order: compare them as a set.
    a, b = mp.both("COMMAND", "INFO", "module")
    na, nb = parse(a), parse(b)
    subs_a, subs_b = na[1][0][1][9], nb[1][0][1][9]
    assert sorted(map(repr, subs_a[1])) == sorted(map(repr, subs_b[1]))
    assert na[1][0][1][:9] == nb[1][0][1][:9]


def test_module_refused_by_default(p):
    # The session servers run with Redis's default enable-module-command no.
    p.run("MODULE", "LIST")  # not PROTECTED: always allowed
    p.run("MODULE", "LOAD", "/nonexistent/module.so")
    p.run("MODULE", "UNLOAD", "foo")


# ---------------------------------------------------------------------------
# LOLWUT: everything that does not depend on rand(), byte for byte


def test_lolwut_version_line_and_errors(mp):
    for args in (
        (), ("foo",), ("foo", "bar"), ("5", "6", "7"), ("VERSION",), ("version", "7"), ("VERSION", "0"),
        ("VERSION", "4"), ("VERSION", "-1"), ("VERSION", "55"), ("VERSION", "7", "x"), ("VERSION", "9223372036854775807"),
        ("VERSION", "-9223372036854775808"), ("VERSION", "4294967296"),
        ("VERSION", "x"), ("VERSION", ""), ("VERSION", "5.0"), ("VERSION", " 5"), ("VERSION", "+5"), ("VERSION", "05"),
        ("VERSION", "99999999999999999999"), ("VERSION", "5", "x"), ("VERSION", "5", "1", "x"),
        ("VERSION", "5", "1", "1", "x"), ("VERSION", "5", "99999999999999999999"), ("VERSION", "5", "1e3"),
        ("VERSION", "6", "x"), ("VERSION", "6", "1", "x"), ("VERSION", "6", "-0x1"),
        # deterministic drawings: one or two rows of squares, a one-row skyline
        ("VERSION", "5", "1", "1", "1"), ("VERSION", "5", "0", "0", "0"), ("VERSION", "5", "1", "200", "1"),
        ("VERSION", "5", "10", "3", "1"), ("VERSION", "5", "66", "8", "2"), ("VERSION", "5", "5000", "300", "2"),
        ("VERSION", "5", "40", "4", "2", "extra", "args"), ("version", "4294967301", "20", "3", "2"),
        ("VERSION", "-4294967291", "7", "2", "1"),
        ("VERSION", "6", "1", "1"), ("VERSION", "6", "0", "0"), ("VERSION", "6", "80", "1"),
        ("VERSION", "6", "5000", "-3", "x"), ("VERSION", "4294967302", "9", "1"),
    ):  # fmt: skip
        mp.run("LOLWUT", *args)


def test_lolwut_schotter_short_grids_exactly(mp):
    rng = random.Random(5)
    for _ in range(60):
        cols = rng.choice([rng.randint(-3, 12), rng.randint(13, 300), rng.randint(900, 1200)])
        per_row = rng.choice([rng.randint(-2, 10), rng.randint(11, 250)])
        mp.run("LOLWUT", "VERSION", "5", cols, per_row, rng.choice([-1, 0, 1, 2]))


def test_lolwut_schotter_first_rows_exactly(mp):
    # Rows 0 and 1 of squares are drawn without randomness; row 2's squares move by at most a
    # third of a square (plus rotation), so the bands above 1.1 squares from the top are fixed.
    rng = random.Random(6)
    for _ in range(40):
        cols, per_row, per_col = rng.randint(3, 400), rng.randint(1, 40), rng.randint(3, 60)
        side = (cols * 2 - 4) / per_row
        fixed = int((2 + 1.1 * side) // 4)
        a, b = mp.both("LOLWUT", "VERSION", 5, cols, per_row, per_col)
        ta, tb = _text(a, mp.proto), _text(b, mp.proto)
        assert ta.split(b"\n")[:fixed] == tb.split(b"\n")[:fixed], (cols, per_row, per_col)


# ---------------------------------------------------------------------------
# LOLWUT: the shape of the random drawings


def _text(raw: bytes, proto: int) -> bytes:
    """The text of a LOLWUT reply, checking its type: verbatim 'txt' on RESP3, bulk on RESP2."""
    head, _, rest = raw.partition(b"\r\n")
    assert head[:1] == (b"=" if proto == 3 else b"$")
    assert int(head[1:]) == len(rest) - 2 and rest.endswith(b"\r\n")
    body = rest[:-2]
    if proto == 3:
        assert body.startswith(b"txt:")
        body = body[4:]
    return body


def _shape(text: bytes) -> tuple:
    """The number of lines of the drawing, each one's width (braille characters, or skyline
    cells), whether the drawing ends in a newline of its own, and the credit lines."""
    lines = text.split(b"\n")
    credit = next(i for i, line in enumerate(lines) if line.startswith((b"Georg Nees", b"Dedicated to")))
    widths = []
    for line in lines[:credit]:
        if b"\x1b" in line:
            cells = line.split(b"\x1b[0m")
            assert cells[-1] == b""
            assert set(cells[:-1]) <= {b"\x1b[0;30;40m ", b"\x1b[0;90;100m ", b"\x1b[0;37;47m ", b"\x1b[0;97;107m "}
            widths.append(len(cells) - 1)
        else:
            chars = line.decode()
            assert BRAILLE.fullmatch(chars)
            widths.append(len(chars))
    return len(lines), widths, lines[credit:]


# Replies of a few megabytes at most: the limits themselves (1000 columns, 200 squares, 1000
# rows) appear with small other dimensions.
SHAPES = [
    ("VERSION", 5), ("VERSION", 5, 66, 8, 13), ("VERSION", 5, 10, 3, 7), ("VERSION", 5, 3), ("VERSION", 5, 2),
    ("VERSION", 5, 5000), ("VERSION", 5, -5, 300, 300), ("VERSION", 5, 1000, 200, 200), ("VERSION", 5, 40, 1, 3),
    ("VERSION", 6), ("VERSION", 6, 3, 4), ("VERSION", 6, 7), ("VERSION", 6, 0, 2), ("VERSION", 6, 5000, 3),
    ("VERSION", 6, 2, 5000),
]  # fmt: skip


def _random_shapes(n: int) -> list[tuple]:
    rng = random.Random(7)
    cases: list[tuple] = []
    while len(cases) < n:
        cols, per_row, per_col = rng.randint(-5, 300), rng.randint(-5, 250), rng.randint(3, 250)
        size = max(cols, 1) * 2 / max(per_row, 1) * min(per_col, 200) * max(cols, 1) * 3 / 4
        if size < 500_000:  # bytes of drawing, roughly: tall canvases get big fast
            cases.append(("VERSION", 5, cols, per_row, per_col))
    return cases + [("VERSION", 6, rng.randint(-5, 200), rng.randint(2, 100)) for _ in range(n)]


def test_lolwut_drawing_shapes(mp):
    # The random cases on RESP2 only: RESP3 changes the framing, which the fixed ones cover.
    for args in SHAPES + (_random_shapes(40) if mp.proto == 2 else []):
        a, b = mp.both("LOLWUT", *args)
        assert _shape(_text(a, mp.proto)) == _shape(_text(b, mp.proto)), args
