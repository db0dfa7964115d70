"""Geo commands against a real redis-server: positions, hashes, distances and searches (which
members, in which order, with which printed numbers), STORE forms, errors, and generated
searches near the edges that matter (poles, the antimeridian, huge radii, ties).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import Pair, encode_command, script

SICILY = "GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania 12.758489 38.788135 edge1 17.241510 38.222781 edge2"  # noqa: E501

SCENARIOS = {
    "add-pos-hash-dist": f"""
        {SICILY}
        GEOADD Sicily 13.361389 38.115556 Palermo
        GEOADD Sicily CH 13.361389 38.115556 Palermo 13.5 38.1 Palermo
        GEOADD Sicily NX 1 1 Palermo 2 2 new
        GEOADD Sicily XX CH 1 1 Palermo 2 2 new2
        GEOADD Sicily xx ch nx 1 1 a
        ZRANGE Sicily 0 -1 WITHSCORES
        OBJECT ENCODING Sicily
        GEOPOS Sicily Palermo Catania nope new
        GEOPOS nokey a b
        GEOPOS Sicily
        GEOHASH Sicily Palermo Catania nope
        GEOHASH nokey a
        GEOHASH Sicily
        GEODIST Sicily Palermo Catania
        GEODIST Sicily Palermo Catania m
        GEODIST Sicily Palermo Catania KM
        GEODIST Sicily Palermo Catania mi
        GEODIST Sicily Palermo Catania ft
        GEODIST Sicily Palermo Palermo
        GEODIST Sicily Palermo nope
        GEODIST Sicily nope Palermo
        GEODIST nokey a b
        GEODIST nokey a b parsec
        GEODIST Sicily Palermo Catania parsec
        GEODIST Sicily Palermo Catania km extra
    """,
    "add-errors": """
        GEOADD g 200 100 x
        GEOADD g -180.000001 0 x
        GEOADD g 0 85.05112879 x
        GEOADD g 0 -85.05112879 x
        GEOADD g 180 85.05112878 x
        GEOADD g -180 -85.05112878 y
        GEOPOS g x y
        GEOHASH g x y
        GEOADD g inf 0 x
        GEOADD g 0 -inf x
        GEOADD g 1e300 1 x
        GEOADD g nan 0 x
        GEOADD g abc 0 x
        GEOADD g "1 " 0 x
        GEOADD g 0x10 0x1p3 hex
        GEOPOS g hex
        GEOADD g 1 1 a 2
        GEOADD g nx xx 1 1 a
        GEOADD g ch ch ch
        GEOADD g gt 1 1 a
        GEOADD g 1 1
        GEOADD g 1 1 a 200 0 b
        EXISTS b
        ZCARD g
        SET s x
        GEOADD s 1 1 a
        GEOADD s 200 1 a
        GEOPOS s a
        GEOHASH s a
        GEODIST s a b
        GEOSEARCH s FROMLONLAT 0 0 BYRADIUS 1 km
        GEORADIUS s 0 0 1 km
        GEORADIUSBYMEMBER s a 1 km
    """,
    "odd-scores": """
        ZADD w -1 a inf b -inf c 1e30 d 4503599627370495 e 4503599627370496 f 9007199254740992 g 0 h 1e19 i -1e19 k 0.5 l 3.7 m
        GEOPOS w a b c d e f g h i k l m
        GEOHASH w a b c d e f g h i k l m
        GEODIST w a e
        GEODIST w e h km
        GEOSEARCH w FROMLONLAT 0 0 BYRADIUS 20000 km ASC WITHCOORD WITHHASH WITHDIST
        GEOSEARCH w FROMMEMBER m BYRADIUS 1 m WITHHASH
        GEORADIUSBYMEMBER w e 10 km WITHCOORD
    """,
    "search-options": f"""
        {SICILY}
        GEORADIUS Sicily 15 37 200 km
        GEORADIUS Sicily 15 37 200 km WITHDIST WITHCOORD WITHHASH
        GEORADIUS Sicily 15 37 200 km ASC WITHDIST
        GEORADIUS Sicily 15 37 200 km DESC WITHDIST
        GEORADIUS Sicily 15 37 200 km COUNT 1
        GEORADIUS Sicily 15 37 200 km COUNT 1 DESC
        GEORADIUS Sicily 15 37 200 km COUNT 2 ANY
        GEORADIUS Sicily 15 37 200 km ANY
        GEORADIUS Sicily 15 37 2000 mi withdist
        GEORADIUS Sicily 15 37 0 km
        GEORADIUS_RO Sicily 15 37 200 km WITHDIST ASC
        GEORADIUS_RO Sicily 15 37 200 km STORE x
        GEORADIUSBYMEMBER Sicily Palermo 100 km
        GEORADIUSBYMEMBER Sicily Palermo 300 km WITHDIST WITHCOORD DESC COUNT 3
        GEORADIUSBYMEMBER_RO Sicily Palermo 300 km WITHHASH
        GEORADIUSBYMEMBER Sicily nope 100 km
        GEORADIUSBYMEMBER nokey nope 100 km
        GEORADIUSBYMEMBER nokey nope abc parsec
        GEORADIUS nokey 15 37 200 km
        GEORADIUS nokey 200 37 200 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ASC
        GEOSEARCH Sicily FROMMEMBER Palermo BYRADIUS 200 km ASC WITHDIST
        GEOSEARCH Sicily FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 200 km ASC WITHDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km ASC WITHCOORD WITHDIST WITHHASH
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km DESC COUNT 2
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 400 400 km COUNT 2 ANY
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 0 0 km
        geosearch Sicily fromlonlat 15 37 bybox 300 300 mi asc count 10 withdist
        GEOSEARCH nokey FROMMEMBER x BYRADIUS 1 km
        GEOSEARCH nokey FROMLONLAT 0 0 BYRADIUS 1 km
    """,
    "search-errors": f"""
        {SICILY}
        GEOSEARCH Sicily BYRADIUS 200 km
        geosearch Sicily BYRADIUS 200 km
        GEOSEARCH Sicily FROMLONLAT 15 37
        GeoSearch Sicily FROMLONLAT 15 37
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km FROMMEMBER Palermo
        GEOSEARCH Sicily FROMMEMBER Palermo FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km BYBOX 1 1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 200 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 0
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT -1
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT x
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST NOPE
        GEOSEARCH Sicily FROMLONLAT 15 BYRADIUS 200 km
        GEOSEARCH Sicily FROMLONLAT 200 37 BYRADIUS 200 km
        GEOSEARCH Sicily FROMLONLAT x 37 BYRADIUS 200 km
        GEOSEARCH Sicily FROMMEMBER nope BYRADIUS 200 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS -1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS x km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 parsec
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX -1 1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 -1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX x -1 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 y km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1 parsec
        GEOSEARCH Sicily FROMLONLAT 15 37 BYBOX 1 1
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 1 km "WITHDIST\\x00x"
        GEORADIUS Sicily 15 37 200 km STORE x WITHDIST
        GEORADIUS Sicily 15 37 200 km STOREDIST x WITHCOORD
        GEORADIUS Sicily 15 37 200 km STORE
        GEORADIUS Sicily 15 37 200 km FROMMEMBER Palermo
        GEORADIUS Sicily 15 37 -200 km
        GEORADIUS Sicily 15 37 200 parsec
        GEORADIUS Sicily 15 370 200 km
        GEORADIUS Sicily 15 37 200 km COUNT 0
        GEORADIUS_RO Sicily 15 37 200 km STOREDIST x
        GEORADIUSBYMEMBER_RO Sicily Palermo 200 km STORE x
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km WITHDIST
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STORE x
        GEOSEARCHSTORE dst Sicily BYRADIUS 200 km
        geosearchstore dst Sicily FROMLONLAT 15 37
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km ANY
    """,
    "store": f"""
        {SICILY}
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        ZRANGE dst 0 -1 WITHSCORES
        OBJECT ENCODING dst
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 mi STOREDIST ASC COUNT 1
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYBOX 400 400 km DESC COUNT 2 STOREDIST
        ZRANGE dst 0 -1 WITHSCORES
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km COUNT 1 ANY
        ZRANGE dst 0 -1 WITHSCORES
        SET dst x
        EXPIRE dst 1000
        GEOSEARCHSTORE dst Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        TTL dst
        TYPE dst
        GEOSEARCHSTORE dst Sicily FROMLONLAT 0 0 BYRADIUS 1 km
        EXISTS dst
        GEOSEARCHSTORE dst nokey FROMLONLAT 0 0 BYRADIUS 1 km
        GEORADIUS Sicily 15 37 200 km STORE r
        ZRANGE r 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STOREDIST r
        ZRANGE r 0 -1 WITHSCORES
        GEORADIUS Sicily 15 37 200 km STORE r STOREDIST r2 COUNT 2 DESC
        ZRANGE r2 0 -1 WITHSCORES
        EXISTS r
        GEORADIUSBYMEMBER Sicily Palermo 200 km STORE r3
        ZRANGE r3 0 -1 WITHSCORES
        GEORADIUSBYMEMBER nokey Palermo 200 km STORE r3
        EXISTS r3
        GEORADIUS Sicily 0 0 1 km STORE r
        EXISTS r
        GEOSEARCHSTORE Sicily Sicily FROMMEMBER Palermo BYRADIUS 100 km
        ZRANGE Sicily 0 -1 WITHSCORES
    """,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scripted(p: Pair, name: str) -> None:
    p.check(script(SCENARIOS[name]))


def test_store_encodings_follow_listpack_limits(p: Pair) -> None:
    cmds = [("GEOADD", "g", *[x for i in range(40) for x in ("%.4f" % (10 + i / 100), "45", "m%d" % i)])]
    cmds += [("GEOADD", "g", "10.5", "45", "x" * 80)]
    for entries, value in (("128", "64"), ("10", "64"), ("128", "10")):
        cmds += [
            ("CONFIG", "SET", "zset-max-listpack-entries", entries),
            ("CONFIG", "SET", "zset-max-listpack-value", value),
            ("GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "10.2", "45", "BYRADIUS", "100", "km"),
            ("OBJECT", "ENCODING", "d"),
            ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
            ("GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "10.2", "45", "BYRADIUS", "5", "km", "STOREDIST"),
            ("OBJECT", "ENCODING", "d"),
            ("ZRANGE", "d", "0", "-1", "WITHSCORES"),
            ("GEOSEARCH", "g", "FROMLONLAT", "10.2", "45", "BYRADIUS", "12", "km", "WITHDIST", "WITHCOORD", "ASC"),
        ]
    try:
        p.check(cmds)
    finally:
        p.run("CONFIG", "SET", "zset-max-listpack-entries", "128")
        p.run("CONFIG", "SET", "zset-max-listpack-value", "64")


def test_dirty_counter(p: Pair) -> None:
    def dirty(conn) -> int:
        conn.send(encode_command(("INFO", "persistence")))
        for line in conn.read_reply().split(b"\r\n"):
            if line.startswith(b"rdb_changes_since_last_save:"):
                return int(line.split(b":")[1])
        raise AssertionError("no rdb_changes_since_last_save")

    cmds = script(f"""
        {SICILY}
        GEOADD Sicily 13.361389 38.115556 Palermo
        GEOADD Sicily CH 1 1 Palermo 2 2 x
        GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCHSTORE d Sicily FROMLONLAT 0 0 BYRADIUS 1 km
        GEOSEARCHSTORE d Sicily FROMLONLAT 0 0 BYRADIUS 1 km
        GEORADIUS Sicily 15 37 200 km STORE r
        GEORADIUS Sicily 15 37 200 km
        GEOSEARCH Sicily FROMLONLAT 15 37 BYRADIUS 200 km
    """)
    for cmd in cmds:
        before = dirty(p.redis), dirty(p.respdb)
        p.run(*cmd)
        after = dirty(p.redis), dirty(p.respdb)
        assert after[0] - before[0] == after[1] - before[1], (cmd, before, after)


def test_keyspace_events(p: Pair, redis_server, respdb_server) -> None:
    from conftest import RawConn

    p.run("CONFIG", "SET", "notify-keyspace-events", "KEA")
    subs = []
    for port in (redis_server.port, respdb_server.port):
        s = RawConn(port)
        s.send(encode_command(("PSUBSCRIBE", "__key*__:*")))
        s.read_reply()
        subs.append(s)
    try:
        p.check(
            script(f"""
                {SICILY}
                GEOADD Sicily 13.361389 38.115556 Palermo
                GEOSEARCHSTORE d Sicily FROMLONLAT 15 37 BYRADIUS 200 km
                GEOSEARCHSTORE d Sicily FROMLONLAT 0 0 BYRADIUS 1 km
                GEORADIUS Sicily 15 37 200 km STORE r
                GEORADIUSBYMEMBER Sicily Palermo 10 km STOREDIST r
                GEORADIUS Sicily 0 0 1 km STORE r
                SET done 1
            """),
            reset=False,
        )
        streams = []
        for s in subs:
            msgs = []
            while True:
                m = s.read_reply()
                msgs.append(m)
                if b"done" in m and b"__keyevent" in m:
                    break
            streams.append(msgs)
        assert streams[0] == streams[1]
        assert any(b"geosearchstore" in m for m in streams[0]) and any(b"georadiusstore" in m for m in streams[0])
    finally:
        for s in subs:
            s.close()
        p.run("CONFIG", "SET", "notify-keyspace-events", "")


# ---------------------------------------------------------------------------
# Searches over generated sets: the cells, the edges and the ordering must all agree.

PLACES = [(10.0, 20.0), (10.001, 20.0), (10.0, 20.001), (-170.0, -80.0), (170.0, 80.0), (0.0, 0.0), (180.0, 0.0),
          (-180.0, 0.0), (0.0, 85.05112878), (0.0, -85.05112878), (179.9999, 66.5), (-0.0001, -66.5)]  # fmt: skip


def _points(rnd: random.Random, n: int) -> list[str]:
    out = []
    for i in range(n):
        r = rnd.random()
        if r < 0.3:
            lon, lat = rnd.choice(PLACES)  # many exact ties
        elif r < 0.6:
            lon, lat = rnd.uniform(9.5, 10.5), rnd.uniform(19.5, 20.5)
        else:
            lon, lat = rnd.uniform(-180, 180), rnd.uniform(-85.05112878, 85.05112878)
        out += ["%.6f" % lon, "%.6f" % lat, "m%d" % i]
    return out


def _search(rnd: random.Random, key: str, members: int) -> list[tuple]:
    unit = rnd.choice(["m", "km", "mi", "ft"])
    size = rnd.choice([0.0, 0.5, 10.0, 300.0, 3000.0, 12000.0, 25000.0]) * rnd.random()
    scale = {"m": 1000.0, "km": 1.0, "mi": 0.62, "ft": 3280.0}[unit]
    radius = "%g" % (size * scale)
    if rnd.random() < 0.3:
        frm = ["FROMMEMBER", "m%d" % rnd.randrange(members + 2)]
    else:
        lon, lat = rnd.choice(PLACES) if rnd.random() < 0.5 else (rnd.uniform(-180, 180), rnd.uniform(-85, 85))
        frm = ["FROMLONLAT", "%.5f" % lon, "%.5f" % lat]
    by = (
        ["BYRADIUS", radius, unit]
        if rnd.random() < 0.5
        else ["BYBOX", radius, "%g" % (rnd.random() * size * scale), unit]
    )
    opts = rnd.sample(["WITHDIST", "WITHCOORD", "WITHHASH"], rnd.randint(0, 3))
    sort = rnd.choice([[], ["ASC"], ["DESC"]])
    count = rnd.choice([[], [], ["COUNT", str(rnd.randint(1, 30))], ["COUNT", str(rnd.randint(1, 5)), "ANY"]])
    cmds = [("GEOSEARCH", key, *frm, *by, *opts, *sort, *count)]
    if rnd.random() < 0.2:
        cmds.append(("GEOSEARCHSTORE", "dst", key, *frm, *by, *sort, *count, *rnd.choice([[], ["STOREDIST"]])))
        cmds.append(("ZRANGE", "dst", "0", "-1", "WITHSCORES"))
    if rnd.random() < 0.2 and frm[0] == "FROMLONLAT":
        cmds.append(("GEORADIUS", key, frm[1], frm[2], radius, unit, *opts, *sort, *count))
    if rnd.random() < 0.2:
        a, b = rnd.randrange(members), rnd.randrange(members)
        cmds.append(("GEODIST", key, "m%d" % a, "m%d" % b, unit))
    return cmds


@pytest.mark.parametrize("members", [60, 400])
def test_generated_searches(p: Pair, members: int) -> None:
    """Sets in both encodings (60 members: listpack, 400: skiplist) and a few hundred searches."""
    rnd = random.Random(members)
    pts = _points(rnd, members)
    cmds = [("GEOADD", "g", *pts[i : i + 300]) for i in range(0, len(pts), 300)]
    for _ in range(150):
        cmds += _search(rnd, "g", members)
    cmds.append(("GEOPOS", "g", *["m%d" % i for i in range(members)]))
    cmds.append(("GEOHASH", "g", *["m%d" % i for i in range(members)]))
    p.check(cmds)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), members=st.sampled_from([5, 30, 150]))
def test_random_searches(pair: Pair, seed: int, members: int) -> None:
    rnd = random.Random(seed)
    pair.reset()
    pts = _points(rnd, members)
    cmds = [("GEOADD", "g", *pts)]
    for _ in range(8):
        cmds += _search(rnd, "g", members)
    pair.check(cmds, reset=False)
