"""The drawings behind LOLWUT VERSION 5 and 6, as Redis 7.0 computes them.

Version 5 is Georg Nees's "Schotter": a grid of squares that get more rotated and displaced
row after row, plotted on a canvas of dots and printed as braille characters (one character
holds 2x4 dots). Version 6 is a city skyline in the four grays of a terminal, each canvas
pixel printed as one space with a colour escape.

Redis draws with C `float`s and `rand()`. Everything that does not depend on rand() is
computed as Redis computes it, rounded to single precision at each float assignment, so the
canvas sizes (hence the number and width of the lines) and the unrandomised parts of the
pictures are Redis's dot for dot. The random numbers come from Python's generator, so the
rest differs from run to run as Redis's own output does.
"""

from __future__ import annotations

import math
import random
import struct

_F32 = struct.Struct("f")
RAND_MAX = 2**31 - 1  # glibc's


def f32(v: float) -> float:
    """`v` stored into a C float."""
    return _F32.unpack(_F32.pack(v))[0]


def c_round(v: float) -> int:
    """C's round(): halves go away from zero (Python's round() goes to even)."""
    return math.floor(v + 0.5) if v >= 0 else -math.floor(0.5 - v)


def _rand(rng: random.Random) -> int:
    """A stand-in for C's rand(): 0 .. RAND_MAX."""
    return rng.getrandbits(31)


# ---------------------------------------------------------------------------
# Version 5: Schotter on a braille canvas

# Braille dot numbering inside a 2x4 cell: bit for (column, row).
_DOT_BIT = {(0, 0): 0x01, (0, 1): 0x02, (0, 2): 0x04, (1, 0): 0x08,
            (1, 1): 0x10, (1, 2): 0x20, (0, 3): 0x40, (1, 3): 0x80}  # fmt: skip
# Index (row % 4) * 2 + (column % 2) -> bit, for the drawing loop.
_BITS = bytes(_DOT_BIT[(i & 1, i >> 1)] for i in range(8))
# U+2800 + b in UTF-8 is E2, A0|b>>6, 80|b&63: the last two bytes by table lookup.
_UTF8_MID = bytes(0xA0 | (b >> 6) for b in range(256))
_UTF8_LOW = bytes(0x80 | (b & 0x3F) for b in range(256))

SCHOTTER_CREDIT = b"Georg Nees - schotter, plotter on paper, 1968. Redis ver. "


Directions = tuple[tuple[float, float], ...]  # (sin, cos) towards each corner of a square


class DotCanvas:
    """A 1-bit canvas kept directly as braille cells (one byte per 2x4 dots).

    Redis keeps one byte per dot and packs them when rendering; packing as we draw uses an
    eighth of the memory, which matters for the tallest canvases the limits allow
    (2000 x 400,000 dots)."""

    __slots__ = ("width", "height", "cols", "bands", "cells")

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.cols = (width + 1) // 2
        self.bands = (height + 3) // 4
        self.cells = bytearray(self.cols * self.bands)

    def line(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """Bresenham's line, both ends included; dots off the canvas are dropped."""
        w, h, cols, cells, bits = self.width, self.height, self.cols, self.cells, _BITS
        dx = abs(x1 - x0)
        dy = abs(y1 - y0)
        sx = 1 if x0 < x1 else -1
        sy = 1 if y0 < y1 else -1
        err = dx - dy
        while True:
            if 0 <= x0 < w and 0 <= y0 < h:
                cells[(y0 >> 2) * cols + (x0 >> 1)] |= bits[((y0 & 3) << 1) | (x0 & 1)]
            if x0 == x1 and y0 == y1:
                return
            e2 = err * 2
            if e2 > -dy:
                err -= dy
                x0 += sx
            if e2 < dx:
                err += dx
                y0 += sy

    def square(self, cx: int, cy: int, radius: float, directions: Directions) -> None:
        """A square centred on (cx, cy) with its corners `radius` away along `directions`."""
        rnd = c_round
        (ax, ay), (bx, by), (qx, qy), (dx, dy) = [(rnd(s * radius + cx), rnd(c * radius + cy)) for s, c in directions]
        self.line(ax, ay, bx, by)
        self.line(bx, by, qx, qy)
        self.line(qx, qy, dx, dy)
        self.line(dx, dy, ax, ay)

    def render(self) -> bytes:
        """One line of braille per band of four dot rows.

        Each band ends with a newline except when its first row is the canvas's last one
        (Redis's test compares the band's start with height - 1), so most drawings end with
        a newline of their own."""
        cols = self.cols
        cells = self.cells
        out = []
        for band in range(self.bands):
            row = cells[band * cols : (band + 1) * cols]
            text = bytearray(3 * cols)
            text[0::3] = b"\xe2" * cols
            text[1::3] = row.translate(_UTF8_MID)
            text[2::3] = row.translate(_UTF8_LOW)
            out.append(bytes(text))
            if band * 4 != self.height - 1:
                out.append(b"\n")
        return b"".join(out)


def corner_directions(angle: float) -> Directions:
    """(sin k, cos k) of the four corners of a square rotated by `angle`: the corners lie on
    a circle, k starts at 45 degrees plus the rotation and steps by 90 (kept in a C float, as
    Redis's loop variable is)."""
    k = f32(math.pi / 4 + angle)
    out = []
    for _ in range(4):
        out.append((math.sin(k), math.cos(k)))
        k = f32(k + math.pi / 2)
    return tuple(out)


def corner_radius(side: float) -> float:
    """That circle's radius for a square of `side`: side / sqrt 2, rounded, as Redis does."""
    return float(c_round(f32(side / 1.4142135623)))


def schotter(cols: int, per_row: int, per_col: int, version: str, rng: random.Random | None = None) -> bytes:
    """LOLWUT 5's text: `cols` characters wide, per_row x per_col squares, then the credit."""
    rng = rng or random.Random()
    width = cols * 2
    pad = 2 if width > 4 else 0
    side = f32(f32(width - pad * 2) / per_row)
    height = int(f32(f32(side * per_col) + pad * 2))
    canvas = DotCanvas(width, height)
    half = f32(side / 2)
    radius = corner_radius(side)
    upright = corner_directions(0.0)

    def centre(i: int) -> int:
        # The i-th square's centre along either axis before any displacement
        # (int() truncates, as C's float-to-int conversion does).
        return int(f32(f32(f32(i * side) + half) + pad))

    columns = [centre(x) for x in range(per_row)]
    shift = side / 3
    for y in range(per_col):
        cy = centre(y)
        if y < 2:  # the first two rows stand still
            for cx in columns:
                canvas.square(cx, cy, radius, upright)
            continue
        # From the third row on, each square turns by up to y/per_col radians and moves by up
        # to y/per_col thirds of a side along each axis, every amount of random sign. These
        # random values are drawn in doubles: only their distribution matters.
        scale = y / per_col
        for cx in columns:
            signs = rng.getrandbits(3)
            turn = rng.random() * scale
            mx = rng.random() * scale * shift
            my = rng.random() * scale * shift
            canvas.square(
                int(cx - mx if signs & 2 else cx + mx),
                int(cy - my if signs & 4 else cy + my),
                radius,
                corner_directions(-turn if signs & 1 else turn),
            )
    return canvas.render() + b"\n" + SCHOTTER_CREDIT + version.encode() + b"\n"


# ---------------------------------------------------------------------------
# Version 6: a skyline in four grays

BLACK, GRAY1, GRAY2, WHITE = 0, 1, 2, 3
# Foreground and background set together, so terminals agree on the result.
_CELL = tuple(b"\x1b[%s \x1b[0m" % code for code in (b"0;30;40m", b"0;90;100m", b"0;37;47m", b"0;97;107m"))
SKYLINE_CREDIT = (
    b"Dedicated to the 8 bit game developers of past and present.\n"
    b"Original 8 bit image from Plaguemon by hikikomori. Redis ver. "
)


class GrayCanvas:
    """One byte per pixel, colours 0-3; the background is white."""

    __slots__ = ("width", "height", "pixels")

    def __init__(self, width: int, height: int, background: int = WHITE) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray([background]) * (width * height)

    def get(self, x: int, y: int) -> int:
        if 0 <= x < self.width and 0 <= y < self.height:
            return self.pixels[y * self.width + x]
        return BLACK  # off-canvas reads as 0, as in Redis

    def put(self, x: int, y: int, color: int) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[y * self.width + x] = color

    def span(self, x0: int, x1: int, y: int, color: int) -> None:
        """Pixels x0 .. x1-1 of row y, clipped to the canvas."""
        x0 = max(x0, 0)
        x1 = min(x1, self.width)
        if x0 < x1 and 0 <= y < self.height:
            start = y * self.width
            self.pixels[start + x0 : start + x1] = bytes([color]) * (x1 - x0)

    def building(self, left: int, width: int, height: int, color: int, windows: bool, rng: random.Random) -> None:
        """A skyscraper standing on the bottom row.

        The roof row is two pixels narrower on each side. With `windows`, the inner part
        (two pixels from the sides, two rows from top and bottom) gets windows two pixels
        wide and one tall (terminal pixels are tall) on every other row, each of a random
        gray; a window whose left pixel is off the canvas takes that pixel's colour (black)."""
        bottom = self.height - 1
        top = bottom - height + 1
        right = left + width  # exclusive
        for y in range(bottom, top - 1, -1):
            if y == top:
                self.span(left + 2, right - 2, y, color)
                continue
            self.span(left, right, y, color)
            if not windows or not top + 1 < y < bottom - 1 or (y - top - 1) % 2 == 0:
                continue
            # Window pixels are those whose offset from left+1, halved, is odd: pairs
            # starting at left+3, every four pixels, inside left+1 < x < right-2.
            for wx in range(left + 3, right - 2, 4):
                shade = color
                while shade == color:
                    shade = 1 + _rand(rng) % 2
                self.put(wx, y, shade)
                if wx + 1 < right - 2:
                    self.put(wx + 1, y, self.get(wx, y))

    def render(self) -> bytes:
        w = self.width
        rows = [b"".join(map(_CELL.__getitem__, self.pixels[y * w : (y + 1) * w])) for y in range(self.height)]
        return b"\n".join(rows)


def skyline(cols: int, rows: int, version: str, rng: random.Random | None = None) -> bytes:
    """LOLWUT 6's text: a cols x rows skyline, then the credit lines."""
    rng = rng or random.Random()
    canvas = GrayCanvas(cols, rows)
    w, h = cols, rows
    # Two background passes without windows, the lighter gray first so it stays behind.
    for color in (GRAY2, GRAY1):
        offset = -10
        while offset < w:
            offset += _rand(rng) % 8
            width = 10 + _rand(rng) % 9
            if color == GRAY2:
                height = h // 2 + (_rand(rng) % h) // 2
            else:
                height = h // 2 + (_rand(rng) % h) // 3
            canvas.building(offset, width, height, color, False, rng)
            offset += width // 2 if color == GRAY2 else width + 1
    # The black foreground, with windows.
    offset = -10
    while offset < w:
        offset += _rand(rng) % 8
        width = 5 + _rand(rng) % 14
        if width % 4:
            width += width % 3
        height = h // 3 + (_rand(rng) % h) // 2
        canvas.building(offset, width, height, BLACK, True, rng)
        offset += width + 5
    return canvas.render() + b"\n" + SKYLINE_CREDIT + version.encode() + b"\n"
