"""LOLWUT and MODULE in-process, the drawing code on its own, and both through redis-py.

The replies themselves are checked against redis-server in
tests/differential/test_lolwut_module_diff.py; here are the parts that need no reference:
version selection, argument errors and clamping, the geometry of the canvases and the
properties of the randomised pictures that Redis's own output has as well.
"""

from __future__ import annotations

import io
import random

import pytest

from respdb import REDIS_VERSION, lolwut
from respdb.commands.table import TABLE
from respdb.config import Config
from respdb.engine import Engine

VERSION_LINE = b"Redis ver. %s\n" % REDIS_VERSION.encode()
NOT_INT = b"-ERR value is not an integer or out of range\r\n"
SCHOTTER_END = b"\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. %s\n" % REDIS_VERSION.encode()
SKYLINE_END = (
    b"\nDedicated to the 8 bit game developers of past and present.\n"
    b"Original 8 bit image from Plaguemon by hikikomori. Redis ver. %s\n" % REDIS_VERSION.encode()
)
CELLS = {b"\x1b[%s \x1b[0m" % code: i for i, code in enumerate((b"0;30;40m", b"0;90;100m", b"0;37;47m", b"0;97;107m"))}


@pytest.fixture
def eng() -> Engine:
    cfg = Config()
    # LOAD/LOADEX/UNLOAD are PROTECTED: let the gate through whichever option it consults.
    cfg.set("enable-debug-command", "yes")
    cfg.set("enable-module-command", "yes")
    e = Engine(cfg)
    e.logfile = io.StringIO()
    return e


@pytest.fixture
def c(eng):
    return eng.new_client()


def run(eng: Engine, c, *args: str | int) -> bytes:
    return eng.execute(c, [str(a).encode() for a in args])


def text(eng: Engine, c, *args: str | int) -> bytes:
    """The text of a LOLWUT reply on RESP2 (a bulk string)."""
    reply = run(eng, c, "LOLWUT", *args)
    head, _, rest = reply.partition(b"\r\n")
    assert head[:1] == b"$" and int(head[1:]) == len(rest) - 2 and rest.endswith(b"\r\n"), reply[:80]
    return rest[:-2]


# ---------------------------------------------------------------------------
# LOLWUT: versions, arguments, reply type


def test_default_is_the_version_line(eng, c):
    assert run(eng, c, "LOLWUT") == b"$18\r\n" + VERSION_LINE + b"\r\n"
    run(eng, c, "HELLO", "3")
    assert run(eng, c, "LOLWUT") == b"=22\r\ntxt:" + VERSION_LINE + b"\r\n"


@pytest.mark.parametrize(
    "args",
    [
        ("foo",),
        ("VERSION",),  # VERSION needs its number to count as the option
        ("foo", "bar", "baz"),
        ("5", "6", "7"),  # numbers without VERSION are ignored
        ("VERSION", "7"),
        ("VERSION", "0"),
        ("VERSION", "4"),
        ("VERSION", "-1"),  # 4294967295.0.0
        ("VERSION", "55"),
        ("version", "7", "x", "y"),  # a version without drawing ignores its arguments
    ],
)
def test_versions_without_a_drawing(eng, c, args):
    assert text(eng, c, *args) == VERSION_LINE


@pytest.mark.parametrize(("keyword", "v"), [("VERSION", 5), ("version", 4294967301), ("VeRsIoN", -4294967291)])
def test_version_is_taken_modulo_2_to_32(eng, c, keyword, v):
    # Redis prints the number as a C unsigned int before looking at it.
    assert text(eng, c, keyword, v, 3, 1, 1).endswith(SCHOTTER_END)
    assert text(eng, c, keyword, v + 1, 1, 1).endswith(SKYLINE_END)


@pytest.mark.parametrize(
    "args",
    [
        ("VERSION", "x"),
        ("VERSION", "5.0"),
        ("VERSION", "99999999999999999999"),
        ("VERSION", " 5"),
        ("VERSION", "+5"),
        ("VERSION", "05"),
        ("VERSION", "5", "x"),
        ("VERSION", "5", "1", "1.5"),
        ("VERSION", "5", "1", "1", "x"),
        ("VERSION", "5", "99999999999999999999"),  # parsed before clamping
        ("VERSION", "6", "x"),
        ("VERSION", "6", "1", ""),
    ],
)
def test_argument_errors(eng, c, args):
    assert run(eng, c, "LOLWUT", *args) == NOT_INT


def test_extra_arguments_are_ignored(eng, c):
    assert text(eng, c, "VERSION", 5, 1, 1, 1, "x", "y").endswith(SCHOTTER_END)
    assert text(eng, c, "VERSION", 6, 1, 1, "x") == cell(3) + SKYLINE_END


def cell(color: int) -> bytes:
    return next(k for k, v in CELLS.items() if v == color)


def schotter_lines(t: bytes) -> list[str]:
    """The braille lines of a LOLWUT 5 text."""
    assert t.endswith(SCHOTTER_END)
    body = t[: -len(SCHOTTER_END)].decode()
    return body.removesuffix("\n").split("\n") if body else []


@pytest.mark.parametrize(
    ("args", "lines", "width", "newline"),
    [
        ((), 49, 66, True),  # 66 columns: a 132 x 196 dot canvas (16-dot squares, 8 x 12, 2 of padding)
        ((66, 8, 13), 53, 66, True),
        ((10, 3, 7), 11, 10, False),  # 41 dots tall: the last band starts on the last row
        ((0, 0, 0), 1, 1, True),  # clamped to 1, 1, 1: a 2 x 2 canvas, no padding
        ((-5, 300, 300), 1, 1, True),  # squares clamped to 200 (0.01 dots), 1 column
        ((5000,), 750, 1000, True),  # columns clamped to 1000
        ((2,), 2, 2, True),  # 4 dots wide: no padding
        ((3,), 2, 3, True),
    ],
)
def test_schotter_geometry(eng, c, args, lines, width, newline):
    t = text(eng, c, "VERSION", 5, *args)
    body = schotter_lines(t)
    # A band of four dot rows is a line, ended by a newline unless it starts on the last row.
    assert t.endswith(b"\n" + SCHOTTER_END) == newline
    assert len(body) == lines
    assert {len(line) for line in body} == {width}
    assert all(0x2800 <= ord(ch) <= 0x28FF for line in body for ch in line)


def test_schotter_empty_canvas(eng, c):
    # 1 column, 200 squares per row, 1 per column: 0.01-dot squares on a 0-dot-tall canvas.
    assert text(eng, c, "VERSION", 5, 1, 200, 1) == SCHOTTER_END


def test_band_on_the_last_row_has_no_newline():
    # Bands start at rows 0 and 4; on a 5-row canvas 4 is the last row, on a 6-row one it is not.
    canvas = lolwut.DotCanvas(4, 5)
    assert canvas.render() == "\u2800\u2800\n\u2800\u2800".encode()
    canvas = lolwut.DotCanvas(4, 6)
    assert canvas.render() == "\u2800\u2800\n\u2800\u2800\n".encode()


def test_skyline_geometry(eng, c):
    for args, cols, rows in (((), 80, 20), ((3, 4), 3, 4), ((0, 0), 1, 1), ((5000, 2), 1000, 2), ((7,), 7, 20)):
        t = text(eng, c, "VERSION", 6, *args)
        assert t.endswith(SKYLINE_END)
        body = t[: -len(SKYLINE_END)].split(b"\n")
        assert len(body) == rows
        for line in body:
            cells = [part + b"\x1b[0m" for part in line.split(b"\x1b[0m")[:-1]]
            assert len(cells) == cols and all(cell in CELLS for cell in cells)


def test_one_row_skyline_is_all_sky(eng, c):
    # With one row every building is 0 rows tall.
    assert text(eng, c, "VERSION", 6, 5, 1) == cell(3) * 5 + SKYLINE_END


# ---------------------------------------------------------------------------
# The drawing code


def test_float_and_rounding_helpers():
    assert lolwut.f32(0.1) != 0.1 and abs(lolwut.f32(0.1) - 0.1) < 1e-8
    assert [lolwut.c_round(v) for v in (0.5, 1.5, 2.5, -0.5, -2.5, 2.4999)] == [1, 2, 3, -1, -3, 2]


def dots(canvas: lolwut.DotCanvas) -> set[tuple[int, int]]:
    """The set dots of a canvas, read back from its braille cells."""
    out = set()
    for y in range(canvas.height):
        for x in range(canvas.width):
            cell = canvas.cells[(y // 4) * canvas.cols + x // 2]
            if cell & lolwut._BITS[(y % 4) * 2 + x % 2]:
                out.add((x, y))
    return out


def test_dot_canvas_lines_and_braille_bits():
    canvas = lolwut.DotCanvas(2, 4)
    canvas.line(0, 0, 0, 3)
    assert canvas.render() == "\u2847\n".encode()  # left column: dots 1, 2, 3, 7
    canvas.line(1, 0, 1, 3)
    assert canvas.render() == "\u28ff\n".encode()
    canvas = lolwut.DotCanvas(10, 8)
    canvas.line(0, 0, 9, 3)
    got = dots(canvas)
    assert (0, 0) in got and (9, 3) in got and len(got) == 10  # one dot per column of a shallow line
    canvas = lolwut.DotCanvas(4, 4)
    canvas.line(-5, 1, 10, 1)  # clipped, no error
    assert dots(canvas) == {(x, 1) for x in range(4)}


def test_square_without_rotation_is_axis_aligned():
    canvas = lolwut.DotCanvas(20, 20)
    radius = lolwut.corner_radius(8.0)
    assert radius == 6.0  # round(8 / sqrt 2)
    canvas.square(10, 10, radius, lolwut.corner_directions(0.0))  # corners at 10 +- round(6 sin 45)
    got = dots(canvas)
    xs = {x for x, _ in got}
    ys = {y for _, y in got}
    assert min(xs) == 6 and max(xs) == 14 and min(ys) == 6 and max(ys) == 14
    assert len(got) == 32  # the outline of a 9 x 9 square


def test_schotter_randomness_only_after_the_second_row():
    a = lolwut.schotter(40, 5, 2, "v", random.Random(1))
    b = lolwut.schotter(40, 5, 2, "v", random.Random(2))
    assert a == b
    a = lolwut.schotter(40, 5, 6, "v", random.Random(1))
    assert a == lolwut.schotter(40, 5, 6, "v", random.Random(1))
    assert a != lolwut.schotter(40, 5, 6, "v", random.Random(2))


def test_building_roof_windows_and_clipping():
    rng = random.Random(7)
    canvas = lolwut.GrayCanvas(20, 10)
    canvas.building(1, 12, 8, lolwut.BLACK, True, rng)  # x 1..12, rows 2..9, roof row 2
    px = canvas.get
    assert [px(x, 2) for x in range(0, 14)] == [3, 3, 3] + [0] * 8 + [3, 3, 3]
    for y in range(3, 10):
        assert px(0, y) == 3 and px(13, y) == 3
        for x in range(1, 13):
            rel_x, rel_y = x - 2, y - 3
            window = 3 < y < 8 and 2 < x < 11 and rel_x // 2 % 2 and rel_y % 2
            if window:
                assert px(x, y) in (1, 2)
                if rel_x % 2:
                    assert px(x, y) == px(x - 1, y)  # windows are two pixels wide
            else:
                assert px(x, y) == 0, (x, y)
    # A window whose left pixel is off the canvas: its right one copies that pixel, black.
    canvas = lolwut.GrayCanvas(10, 10)
    canvas.building(-4, 12, 8, lolwut.BLACK, True, rng)
    assert {canvas.get(0, y) for y in range(3, 10)} == {0}
    assert {canvas.get(3, y) for y in (4, 6)} <= {1, 2}
    assert [canvas.get(4, y) for y in (4, 6)] == [canvas.get(3, y) for y in (4, 6)]


def test_skyline_is_deterministic_per_seed():
    assert lolwut.skyline(30, 12, "v", random.Random(3)) == lolwut.skyline(30, 12, "v", random.Random(3))


def test_large_drawings_stay_bounded(eng, c):
    # The limits cap the work: the widest canvas with the most squares, the biggest skyline.
    t = text(eng, c, "VERSION", 5, 1000, 200, 200)
    assert len(schotter_lines(t)) == 500
    t = text(eng, c, "VERSION", 6, 1000, 1000)
    assert t.count(b"\n") == 1000 + 2


# ---------------------------------------------------------------------------
# MODULE


def test_module_list_and_help(eng, c):
    assert run(eng, c, "MODULE", "LIST") == b"*0\r\n"
    helptext = run(eng, c, "MODULE", "HELP")
    assert helptext.startswith(b"*11\r\n+MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n")
    assert helptext.endswith(b"+HELP\r\n+    Prints this help.\r\n")
    run(eng, c, "HELLO", "3")
    assert run(eng, c, "module", "list") == b"*0\r\n"


def test_module_load_fails_and_logs(eng, c):
    failed = b"-ERR Error loading the extension. Please check the server logs.\r\n"
    assert run(eng, c, "MODULE", "LOAD", "/nonexistent/mod.so") == failed
    assert run(eng, c, "MODULE", "LOAD", "/nonexistent/mod.so", "a", "b") == failed
    assert "Module /nonexistent/mod.so failed to load" in eng.logfile.getvalue()
    for extra in ([], ["CONFIG", "a", "b", "ARGS", "x"], ["CONFIG", "a"], ["bogus"], ["ARGS"]):
        assert run(eng, c, "MODULE", "LOADEX", "/x.so", *extra) == failed
    log = eng.logfile.getvalue()
    assert "CONFIG given without a name and a value" in log and "near bogus" in log
    assert run(eng, c, "MODULE", "UNLOAD", "foo") == b"-ERR Error unloading module: no such module with that name\r\n"
    assert run(eng, c, "MODULE", "LIST") == b"*0\r\n"


def test_module_errors_from_the_table(eng, c):
    assert run(eng, c, "MODULE") == b"-ERR wrong number of arguments for 'module' command\r\n"
    assert run(eng, c, "MODULE", "foo") == b"-ERR unknown subcommand 'foo'. Try MODULE HELP.\r\n"
    assert run(eng, c, "MODULE", "LIST", "x") == b"-ERR wrong number of arguments for 'module|list' command\r\n"
    assert run(eng, c, "MODULE", "UNLOAD") == b"-ERR wrong number of arguments for 'module|unload' command\r\n"


def test_commands_are_in_the_table(eng, c):
    assert TABLE.get("lolwut").handler is not None
    for sub in ("list", "load", "loadex", "unload", "help"):
        assert TABLE.get("module|" + sub).handler is not None
    assert run(eng, c, "COMMAND", "INFO", "lolwut").startswith(b"*1\r\n*10\r\n$6\r\nlolwut\r\n:-1\r\n")
    info = run(eng, c, "COMMAND", "INFO", "module")
    assert all(b"module|" + s in info for s in (b"list", b"load", b"loadex", b"unload", b"help"))


def test_info_modules_section_is_empty(eng, c):
    assert run(eng, c, "INFO", "modules") == b"$11\r\n# Modules\r\n\r\n"


# ---------------------------------------------------------------------------
# Over TCP with redis-py


def test_redis_py(r, r3):
    assert b"Redis ver." in r.lolwut()
    out = r.lolwut(5, 6, 7, 8)  # VERSION 5, 6 columns, 7 x 8 squares
    assert b"Redis ver." in out
    assert [len(line) for line in schotter_lines(out)] == [6] * 4
    assert b"Redis ver." in r.lolwut(6)
    assert r.module_list() == []
    assert "Redis ver." in str(r3.lolwut())
    assert r3.module_list() == []
