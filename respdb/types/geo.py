"""Geohashes as Redis's geo commands use them.

A position is stored as the score of a sorted-set member: a 52-bit geohash (26 bits of
latitude and 26 of longitude, interleaved, latitude in the even bits), over the Web-Mercator
latitude range (+-85.05112878) rather than +-90. Decoding gives the centre of the cell, so
coordinates read back are not exactly what was written, and every derived number (positions,
distances, which cells a search visits) must come out of the same double arithmetic as Redis's
for replies to match to the last printed digit. This module follows Redis 7.0's
geohash.c / geohash_helper.c step by step: the same operations in the same order, with the
C integer conversions (double to uint32/uint64, unsigned wraparound) done explicitly.
"""

from __future__ import annotations

import math

LAT_MIN = -85.05112878
LAT_MAX = 85.05112878
LONG_MIN = -180.0
LONG_MAX = 180.0
STEP_MAX = 26
EARTH_RADIUS = 6372797.560856
MERCATOR_MAX = 20037726.37
D_R = math.pi / 180.0

MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1
_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA

CIRCLE, BOX = 1, 2


def deg_rad(a: float) -> float:
    return a * D_R


def rad_deg(a: float) -> float:
    return a / D_R


def double_to_u64(d: float) -> int:
    """C's (uint64_t)d as gcc compiles it on x86-64 (scores out of range do reach it)."""
    if d < 9223372036854775808.0:
        if not d >= -9223372036854775808.0:
            return 0x8000000000000000  # cvttsd2si's "integer indefinite"
        return int(d) & MASK64
    t = d - 9223372036854775808.0
    r = 0x8000000000000000 if not t < 9223372036854775808.0 else int(t)
    return r ^ 0x8000000000000000


def _spread_slow(v: int) -> int:
    v = (v | (v << 4)) & 0x0F0F
    v = (v | (v << 2)) & 0x3333
    return (v | (v << 1)) & 0x5555


def _squash_slow(v: int) -> int:
    v &= 0x5555
    v = (v | (v >> 1)) & 0x3333
    v = (v | (v >> 2)) & 0x0F0F
    return (v | (v >> 4)) & 0x00FF


# Table-driven bit spreading: a byte to its bits at even positions of 16, and back.
_SPREAD8 = [_spread_slow(b) for b in range(256)]
_SQUASH16 = bytes(_squash_slow(v) for v in range(1 << 16))


def interleave(even: int, odd: int) -> int:
    """Bits of `even` at the even positions, of `odd` at the odd ones (32 bits each)."""
    t = _SPREAD8
    e = t[even & 0xFF] | t[(even >> 8) & 0xFF] << 16 | t[(even >> 16) & 0xFF] << 32 | t[(even >> 24) & 0xFF] << 48
    o = t[odd & 0xFF] | t[(odd >> 8) & 0xFF] << 16 | t[(odd >> 16) & 0xFF] << 32 | t[(odd >> 24) & 0xFF] << 48
    return e | o << 1


def deinterleave(bits: int) -> tuple[int, int]:
    """(even bits, odd bits) of a 64-bit value."""
    t = _SQUASH16
    o = bits >> 1
    even = t[bits & 0xFFFF] | t[(bits >> 16) & 0xFFFF] << 8 | t[(bits >> 32) & 0xFFFF] << 16 | t[bits >> 48] << 24
    odd = t[o & 0xFFFF] | t[(o >> 16) & 0xFFFF] << 8 | t[(o >> 32) & 0xFFFF] << 16 | t[o >> 48] << 24
    return even, odd


# ---------------------------------------------------------------------------
# Encoding and decoding cells. Ranges are (min, max) pairs.

WGS84_LONG = (LONG_MIN, LONG_MAX)
WGS84_LAT = (LAT_MIN, LAT_MAX)


def cell_index(long_range, lat_range, longitude: float, latitude: float, step: int) -> tuple[int, int] | None:
    """(latitude index, longitude index) of the cell holding a point at `step` bits per
    coordinate, or None outside the ranges (geohashEncode before the interleaving)."""
    if step > 32 or step == 0:
        return None
    if longitude > 180 or longitude < -180 or latitude > LAT_MAX or latitude < LAT_MIN:
        return None
    if latitude < lat_range[0] or latitude > lat_range[1] or longitude < long_range[0] or longitude > long_range[1]:
        return None
    lat_offset = (latitude - lat_range[0]) / (lat_range[1] - lat_range[0])
    long_offset = (longitude - long_range[0]) / (long_range[1] - long_range[0])
    lat_offset *= 1 << step
    long_offset *= 1 << step
    return int(lat_offset) & MASK32, int(long_offset) & MASK32


def encode(long_range, lat_range, longitude: float, latitude: float, step: int) -> int | None:
    """The cell bits of a point at `step` bits per coordinate, or None outside the ranges."""
    idx = cell_index(long_range, lat_range, longitude, latitude, step)
    return None if idx is None else interleave(*idx)


def encode_wgs84(longitude: float, latitude: float, step: int = STEP_MAX) -> int | None:
    return encode(WGS84_LONG, WGS84_LAT, longitude, latitude, step)


def score_of(longitude: float, latitude: float) -> int:
    """The 52-bit sorted-set score GEOADD stores for a valid position."""
    bits = encode_wgs84(longitude, latitude, STEP_MAX)
    return bits or 0


class Area:
    __slots__ = ("lon_min", "lon_max", "lat_min", "lat_max")

    def __init__(self, lon_min: float, lon_max: float, lat_min: float, lat_max: float) -> None:
        self.lon_min = lon_min
        self.lon_max = lon_max
        self.lat_min = lat_min
        self.lat_max = lat_max


def decode(long_range, lat_range, bits: int, step: int) -> Area:
    ilato, ilono = deinterleave(bits)
    lat_scale = lat_range[1] - lat_range[0]
    long_scale = long_range[1] - long_range[0]
    div = float(1 << step)
    return Area(
        long_range[0] + (ilono * 1.0 / div) * long_scale,
        long_range[0] + (((ilono + 1) & MASK32) * 1.0 / div) * long_scale,
        lat_range[0] + (ilato * 1.0 / div) * lat_scale,
        lat_range[0] + (((ilato + 1) & MASK32) * 1.0 / div) * lat_scale,
    )


_LAT_SCALE = LAT_MAX - LAT_MIN
_LONG_SCALE = LONG_MAX - LONG_MIN
_DIV26 = float(1 << STEP_MAX)


def decode_score(score: float) -> tuple[float, float]:
    """(longitude, latitude) of a member's score: the centre of its cell, clamped."""
    if 0 <= score < 9007199254740992.0:
        ilato, ilono = deinterleave(int(score))
    else:
        ilato, ilono = deinterleave(double_to_u64(score))
    lon = (
        (LONG_MIN + (ilono * 1.0 / _DIV26) * _LONG_SCALE)
        + (LONG_MIN + (((ilono + 1) & MASK32) * 1.0 / _DIV26) * _LONG_SCALE)
    ) / 2
    if lon > LONG_MAX:
        lon = LONG_MAX
    if lon < LONG_MIN:
        lon = LONG_MIN
    lat = (
        (LAT_MIN + (ilato * 1.0 / _DIV26) * _LAT_SCALE)
        + (LAT_MIN + (((ilato + 1) & MASK32) * 1.0 / _DIV26) * _LAT_SCALE)
    ) / 2
    if lat > LAT_MAX:
        lat = LAT_MAX
    if lat < LAT_MIN:
        lat = LAT_MIN
    return lon, lat


_ALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


def standard_geohash(longitude: float, latitude: float) -> bytes:
    """GEOHASH's 11 characters: the position re-encoded over +-90 latitude (the usual geohash
    ranges); only 52 bits exist, so the last character is always '0'."""
    bits = encode((-180.0, 180.0), (-90.0, 90.0), longitude, latitude, 26) or 0
    out = bytearray(11)
    for i in range(10):
        out[i] = _ALPHABET[(bits >> (52 - (i + 1) * 5)) & 0x1F]
    out[10] = _ALPHABET[0]
    return bytes(out)


# ---------------------------------------------------------------------------
# Neighbours


def _move_x(bits: int, step: int, d: int) -> int:
    if d == 0:
        return bits
    x = bits & _ODD
    y = bits & _EVEN
    zz = _EVEN >> (64 - step * 2)
    if d > 0:
        x = (x + (zz + 1)) & MASK64
    else:
        x = ((x | zz) - (zz + 1)) & MASK64
    x &= _ODD >> (64 - step * 2)
    return x | y


def _move_y(bits: int, step: int, d: int) -> int:
    if d == 0:
        return bits
    x = bits & _ODD
    y = bits & _EVEN
    zz = _ODD >> (64 - step * 2)
    if d > 0:
        y = (y + (zz + 1)) & MASK64
    else:
        y = ((y | zz) - (zz + 1)) & MASK64
    y &= _EVEN >> (64 - step * 2)
    return x | y


# The search order of the nine cells: the centre, then N S E W NE NW SE SW.
_MOVES = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))


def neighbours(bits: int, step: int) -> list[int]:
    """[north, south, east, west, north_east, north_west, south_east, south_west]."""
    return [_move_y(_move_x(bits, step, dx), step, dy) for dx, dy in _MOVES]


# ---------------------------------------------------------------------------
# Distances


def distance(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine great-circle distance in meters, as Redis 7.0 computes it."""
    lat1r = deg_rad(lat1)
    lon1r = deg_rad(lon1)
    lat2r = deg_rad(lat2)
    lon2r = deg_rad(lon2)
    u = math.sin((lat2r - lat1r) / 2)
    v = math.sin((lon2r - lon1r) / 2)
    a = u * u + math.cos(lat1r) * math.cos(lat2r) * v * v
    try:
        return 2.0 * EARTH_RADIUS * math.asin(math.sqrt(a))
    except ValueError:  # asin of a value a rounding step above 1: C gives NaN
        return math.nan


def distance_if_in_box(width_m: float, height_m: float, x1: float, y1: float, x2: float, y2: float) -> float | None:
    """Distance from the box centre (x1, y1) to (x2, y2), or None outside the box."""
    lon_distance = distance(x2, y2, x1, y2)
    lat_distance = distance(x2, y2, x2, y1)
    if lon_distance > width_m / 2 or lat_distance > height_m / 2:
        return None
    return distance(x1, y1, x2, y2)


# ---------------------------------------------------------------------------
# Search areas


class Shape:
    """The search area: a circle (radius) or a box (width, height), in `conversion` units
    per meter, around (lon, lat)."""

    __slots__ = ("kind", "lon", "lat", "radius", "width", "height", "conversion")

    def __init__(self) -> None:
        self.kind = 0
        self.lon = 0.0
        self.lat = 0.0
        self.radius = 0.0
        self.width = 0.0
        self.height = 0.0
        self.conversion = 1.0

    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the area (geohashBoundingBox)."""
        longitude = self.lon
        latitude = self.lat
        if self.kind == CIRCLE:
            height = self.conversion * self.radius
            width = self.conversion * self.radius
        else:
            height = self.conversion * (self.height / 2)
            width = self.conversion * (self.width / 2)
        lat_delta = rad_deg(height / EARTH_RADIUS)
        long_delta_top = rad_deg(width / EARTH_RADIUS / math.cos(deg_rad(latitude + lat_delta)))
        long_delta_bottom = rad_deg(width / EARTH_RADIUS / math.cos(deg_rad(latitude - lat_delta)))
        south = latitude < 0
        min_lon = longitude - long_delta_bottom if south else longitude - long_delta_top
        max_lon = longitude + long_delta_bottom if south else longitude + long_delta_top
        return min_lon, latitude - lat_delta, max_lon, latitude + lat_delta

    def distance_if_inside(self, lon: float, lat: float) -> float | None:
        if self.kind == CIRCLE:
            d = distance(self.lon, self.lat, lon, lat)
            return None if d > self.radius * self.conversion else d
        return distance_if_in_box(self.width * self.conversion, self.height * self.conversion,
                                  self.lon, self.lat, lon, lat)  # fmt: skip


def estimate_steps(range_meters: float, lat: float) -> int:
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    if step < 1:
        step = 1
    if step > 26:
        step = 26
    return step


def search_cells(shape: Shape) -> list[tuple[int, int]]:
    """The nine (bits, step) cells to scan, in Redis's order; (0, 0) marks a cell left out
    (geohashCalculateAreasByShapeWGS84). Neighbours are worked out on the cell indexes:
    geohash_move_x/y add or subtract one to a coordinate modulo 2**step."""
    min_lon, min_lat, max_lon, max_lat = shape.bounds()
    longitude = shape.lon
    latitude = shape.lat
    if shape.kind == CIRCLE:
        radius_meters = shape.radius
    else:
        radius_meters = math.sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2))
    radius_meters *= shape.conversion
    steps = estimate_steps(radius_meters, latitude)
    ilat, ilon = cell_index(WGS84_LONG, WGS84_LAT, longitude, latitude, steps) or (0, 0)
    mask = (1 << steps) - 1
    div = float(1 << steps)
    if (
        LAT_MIN + (((((ilat + 1) & mask) + 1) & MASK32) * 1.0 / div) * _LAT_SCALE < max_lat  # north's top
        or LAT_MIN + (((ilat - 1) & mask) * 1.0 / div) * _LAT_SCALE > min_lat  # south's bottom
        or LONG_MIN + (((((ilon + 1) & mask) + 1) & MASK32) * 1.0 / div) * _LONG_SCALE < max_lon  # east's end
        or LONG_MIN + (((ilon - 1) & mask) * 1.0 / div) * _LONG_SCALE > min_lon  # west's start
    ) and steps > 1:
        steps -= 1
        ilat, ilon = cell_index(WGS84_LONG, WGS84_LAT, longitude, latitude, steps) or (0, 0)
        mask = (1 << steps) - 1
        div = float(1 << steps)
    n, s = (ilat + 1) & mask, (ilat - 1) & mask
    e, w = (ilon + 1) & mask, (ilon - 1) & mask
    # (lat index, lon index) of the centre, N, S, E, W, NE, NW, SE, SW.
    idx: list = [(ilat, ilon), (n, ilon), (s, ilon), (ilat, e), (ilat, w), (n, e), (n, w), (s, e), (s, w)]
    if steps >= 2:
        # Leave out the cells that cannot hold a point of the area.
        if LAT_MIN + (ilat * 1.0 / div) * _LAT_SCALE < min_lat:
            idx[2] = idx[7] = idx[8] = None  # south, south east, south west
        if LAT_MIN + (((ilat + 1) & MASK32) * 1.0 / div) * _LAT_SCALE > max_lat:
            idx[1] = idx[5] = idx[6] = None  # north, north east, north west
        if LONG_MIN + (ilon * 1.0 / div) * _LONG_SCALE < min_lon:
            idx[4] = idx[8] = idx[6] = None  # west, south west, north west
        if LONG_MIN + (((ilon + 1) & MASK32) * 1.0 / div) * _LONG_SCALE > max_lon:
            idx[3] = idx[7] = idx[5] = None  # east, south east, north east
    return [(0, 0) if i is None else (interleave(*i), steps) for i in idx]


def cell_score_range(bits: int, step: int) -> tuple[float, float]:
    """Scores [min, max) of the members inside a cell."""
    shift = 52 - step * 2
    return float((bits << shift) & MASK64), float(((bits + 1) << shift) & MASK64)
