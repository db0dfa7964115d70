"""Geo internals and engine-level behaviour: geohash cells and neighbours, C conversions of odd
scores, propagation (GEOADD goes out as ZADD), blocked clients served by a STORE, and a search
on a 1M-member set that only looks at the cells it needs.

Replies are compared with Redis in tests/differential/test_geo_diff.py.
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from respdb.commands import geo as geo_cmds
from respdb.engine import Engine
from respdb.types import geo as G
from respdb.types.zsets import ZsetSkiplist

lons = st.floats(-180, 180, allow_nan=False)
lats = st.floats(G.LAT_MIN, G.LAT_MAX, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(lon=lons, lat=lats)
def test_cells_hold_their_points(lon, lat):
    bits = G.encode_wgs84(lon, lat)
    assert bits is not None and 0 <= bits < (1 << 54)
    cell = G.decode(G.WGS84_LONG, G.WGS84_LAT, bits, G.STEP_MAX)
    # (Up to rounding: the offset into the range is computed in doubles, as Redis does.)
    eps = 1e-9
    assert cell.lon_min - eps <= lon <= cell.lon_max + eps and cell.lat_min - eps <= lat <= cell.lat_max + eps
    if bits >= 1 << 53:
        return  # longitude 180: the score a double can hold is not the cell's exact bits
    dlon, dlat = G.decode_score(float(bits))
    # The centre of a 26-bit cell is within half a cell (~0.6 m) of the point.
    assert abs(dlon - lon) <= 360 / 2**27 + 1e-9 and abs(dlat - lat) <= 170.1 / 2**27 + 1e-9


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(-179, 179), lat=st.floats(-84, 84), step=st.integers(2, 26))
def test_neighbours_are_the_adjacent_cells(lon, lat, step):
    bits = G.encode_wgs84(lon, lat, step)
    n, s, e, w, ne, nw, se, sw = G.neighbours(bits, step)
    area = G.decode(G.WGS84_LONG, G.WGS84_LAT, bits, step)
    north = G.decode(G.WGS84_LONG, G.WGS84_LAT, n, step)
    east = G.decode(G.WGS84_LONG, G.WGS84_LAT, e, step)
    if area.lat_max < G.LAT_MAX:
        assert north.lat_min == pytest.approx(area.lat_max) and north.lon_min == area.lon_min
    if area.lon_max < G.LONG_MAX:
        assert east.lon_min == pytest.approx(area.lon_max) and east.lat_min == area.lat_min
    assert G.neighbours(e, step)[3] == bits and G.neighbours(n, step)[1] == bits
    assert G.neighbours(ne, step)[7] == bits and G.neighbours(sw, step)[4] == bits


@settings(max_examples=200, deadline=None)
@given(step=st.integers(1, 26), data=st.data())
def test_neighbour_indexes_match_geohash_moves(step, data):
    """search_cells works on cell indexes; the bit-level moves give the same cells, also for
    the extra top index a latitude of exactly +85.05112878 encodes to."""
    ilat = data.draw(st.integers(0, 1 << step))
    ilon = data.draw(st.integers(0, (1 << step) - 1))
    mask = (1 << step) - 1
    n, s, e, w = (ilat + 1) & mask, (ilat - 1) & mask, (ilon + 1) & mask, (ilon - 1) & mask
    expected = [(n, ilon), (s, ilon), (ilat, e), (ilat, w), (n, e), (n, w), (s, e), (s, w)]
    assert G.neighbours(G.interleave(ilat, ilon), step) == [G.interleave(a, b) for a, b in expected]


def test_interleave_round_trip():
    rnd = random.Random(1)
    for _ in range(1000):
        a, b = rnd.getrandbits(32), rnd.getrandbits(32)
        assert G.deinterleave(G.interleave(a, b)) == (a, b)


@pytest.mark.parametrize(
    "score,expected",
    [
        (0.0, 0), (0.5, 0), (3.7, 3), (-1.0, 2**64 - 1), (-math.inf, 2**63), (-1e19, 2**63), (math.inf, 0),
        (1e30, 0), (2.0**64, 0), (1e19, 10000000000000000000), (2.0**63, 2**63), (4503599627370495.0, 2**52 - 1),
    ],
)  # fmt: skip
def test_score_conversion_like_gcc(score, expected):
    """(uint64_t)score for the scores a plain ZADD can store (checked against Redis's GEOPOS)."""
    assert G.double_to_u64(score) == expected


def test_distances():
    palermo = G.decode_score(3479099956230698.0)
    catania = G.decode_score(3479447370796909.0)
    assert b"%.4f" % G.distance(*palermo, *catania) == b"166274.1516"
    assert G.distance(0, 0, 0, 0) == 0.0
    assert G.distance(0, 0, 180, 0) == pytest.approx(math.pi * G.EARTH_RADIUS)


def test_estimated_steps():
    assert G.estimate_steps(0, 0) == 26
    assert G.estimate_steps(1, 0) == 24
    assert G.estimate_steps(5000, 70) == 10
    assert G.estimate_steps(5000, 85) == 9
    assert G.estimate_steps(1e9, 0) == 1


def run(e, c, *args):
    return e.execute(c, [a.encode() if isinstance(a, str) else a for a in args])


def test_propagated_forms():
    e = Engine()
    c = e.new_client()
    out: list[list[bytes]] = []
    e.propagators.append(lambda dbid, argv: out.append(argv))
    run(e, c, "GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
    run(e, c, "GEOADD", "g", "13.361389", "38.115556", "Palermo")  # no change
    run(e, c, "GEOADD", "g", "ch", "XX", "13.5", "38.1", "Palermo")
    run(e, c, "GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km")
    run(e, c, "GEORADIUS", "g", "15", "37", "200", "km")
    run(e, c, "GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km")
    run(e, c, "GEORADIUS", "g", "15", "37", "200", "km", "STORE", "r")
    run(e, c, "GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")  # deletes d
    run(e, c, "GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")  # nothing to delete
    assert out == [
        [b"zadd", b"g", b"3479099956230698", b"Palermo", b"3479447370796909", b"Catania"],
        [b"zadd", b"g", b"ch", b"XX", b"3479100566894653", b"Palermo"],
        [b"GEOSEARCHSTORE", b"d", b"g", b"FROMLONLAT", b"15", b"37", b"BYRADIUS", b"200", b"km"],
        [b"GEORADIUS", b"g", b"15", b"37", b"200", b"km", b"STORE", b"r"],
        [b"GEOSEARCHSTORE", b"d", b"g", b"FROMLONLAT", b"0", b"0", b"BYRADIUS", b"1", b"km"],
    ]


def test_store_serves_a_blocked_client():
    e = Engine()
    waiter = e.new_client()
    writer = e.new_client()
    run(e, writer, "GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
    assert run(e, waiter, "BZPOPMIN", "d", "0") == b""
    run(e, writer, "GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST", "ASC")
    assert len(waiter.pushed) == 1 and waiter.pushed[0].startswith(b"*3\r\n$1\r\nd\r\n$7\r\nCatania\r\n")


def test_search_on_a_million_members_scans_only_its_cells(monkeypatch):
    """1M members spread over the world: a 5 km search decodes a handful of them, not the set
    (the sorted set's score ranges do the work), and agrees with a brute-force check."""
    rnd = random.Random(9)
    n = 1_000_000
    scores = sorted({float(rnd.getrandbits(52)) for _ in range(n)})
    z = ZsetSkiplist.from_pairs([(s, b"m%d" % i) for i, s in enumerate(scores)])
    e = Engine()
    c = e.new_client()
    e.dbs[0].set(b"world", z)
    decoded = []
    real = G.decode_score

    def counting(score):
        decoded.append(score)
        return real(score)

    monkeypatch.setattr(G, "decode_score", counting)
    reply = run(e, c, "GEOSEARCH", "world", "FROMLONLAT", "2.35", "48.85", "BYRADIUS", "50", "km", "ASC", "WITHDIST")
    assert reply.startswith(b"*")
    assert 0 < len(decoded) < 2000
    found = int(reply[1 : reply.index(b"\r\n")])
    monkeypatch.undo()
    # Brute force over the members in coarse (6-bit) cells overlapping a box around Paris.
    prefixes = set()
    for cell in range(1 << 12):
        a = G.decode(G.WGS84_LONG, G.WGS84_LAT, cell, 6)
        if a.lat_max >= 47.5 and a.lat_min <= 50.2 and a.lon_max >= 0.3 and a.lon_min <= 4.4:
            prefixes.add(cell)
    near = 0
    for s in scores:
        if int(s) >> 40 in prefixes:
            lon, lat = G.decode_score(s)
            near += G.distance(2.35, 48.85, lon, lat) <= 50000
    assert found == near > 0


def test_reply_helpers():
    assert geo_cmds._coord(13.361389338970184) == b"13.36138933897018433"
    assert geo_cmds._coord(-0.0) == b"0"
    assert geo_cmds._coord(180.0) == b"180"
    assert geo_cmds._to_long_long(1e30) == -(2**63)


@settings(max_examples=50, deadline=None)
@given(
    scores=st.lists(st.integers(0, 60), min_size=1, max_size=1500),
    lo=st.integers(-1, 62),
    width=st.integers(0, 30),
)
def test_chunk_scan_matches_the_public_range(scores, lo, width):
    """The search's direct scan of SortedPairs chunks gives what the positional API gives."""
    from respdb.types import zsets as Z

    pairs = sorted({(float(s), b"m%d" % i) for i, s in enumerate(scores)})
    z = ZsetSkiplist.from_pairs(pairs)
    hi = lo + width
    expected = Z.pairs_between(z, z.sl.bisect_score(lo), z.sl.bisect_score(hi))
    assert geo_cmds._skiplist_range(z.sl, float(lo), float(hi)) == expected
