"""Keyspace notification classes `n` (new key) and `m` (keymiss), and INFO keyspace_hits/misses.

Each command of a sequence runs on both servers; after it, the notifications it caused (read on a
subscriber to `__key*__:*`, delimited by a marker message) and its change to keyspace_hits /
keyspace_misses must be the same on both. Every mismatch of a sequence is reported at once.
"""

from __future__ import annotations

import time

import pytest
from conftest import RawConn, blocked_clients

from .harness import Command, Mismatch, encode_command, parse, script, show

MARK = "__keyevent@0__:~mark~"


def _raw(conn: RawConn, *args) -> bytes:
    conn.send(encode_command(args))
    return conn.read_reply()


def _hits_misses(conn: RawConn) -> tuple[int, int]:
    info = _raw(conn, "INFO", "stats").decode()
    fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
    return int(fields["keyspace_hits"]), int(fields["keyspace_misses"])


RANDOM_REPLIES = {b"HRANDFIELD", b"SRANDMEMBER", b"ZRANDMEMBER", b"SPOP", b"RANDOMKEY"}


def _timing_dependent(cmd: Command) -> bool:
    """Replies carrying idle times (ms) or random picks: only their events and stats are compared."""
    words = [a.upper() if isinstance(a, bytes) else a.upper().encode() for a in cmd[:2]]
    return words[0] in RANDOM_REPLIES or words == [b"XINFO", b"CONSUMERS"] or (words[0] == b"XPENDING" and len(cmd) > 3)


def _same_reply(p, cmd: Command, a: bytes, b: bytes) -> bool:
    """Equal after the harness's normalizers (KEYS order, TTL tolerance, ...)."""
    try:
        p.compare(cmd, a, b)
    except Mismatch:
        return False
    return True


class Watch:
    """Runs commands on both servers of a Pair and records, per command, reply, events and stats."""

    def __init__(self, p, flags: str) -> None:
        self.p = p
        self.flags = flags
        self.subs: list[RawConn] = []
        self.problems: list[str] = []

    def __enter__(self) -> Watch:
        p = self.p
        for conn in (p.redis, p.respdb):
            assert _raw(conn, "CONFIG", "SET", "notify-keyspace-events", self.flags) == b"+OK\r\n"
            assert _raw(conn, "DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"+OK\r\n"
            assert _raw(conn, "CONFIG", "RESETSTAT") == b"+OK\r\n"
        for port in p.ports:
            s = RawConn(port)
            s.cmd("PSUBSCRIBE", "__key*__:*")
            self.subs.append(s)
        self.stats = [_hits_misses(p.redis), _hits_misses(p.respdb)]
        self.n = 0
        self.in_multi = False
        return self

    def __exit__(self, *exc) -> None:
        for s in self.subs:
            s.close()
        for conn in (self.p.redis, self.p.respdb):
            _raw(conn, "CONFIG", "SET", "notify-keyspace-events", "")
            _raw(conn, "DEBUG", "SET-ACTIVE-EXPIRE", "1")

    def _events(self, i: int) -> list[list[tuple[bytes, bytes]]]:
        out = []
        for s in self.subs:
            got = []
            while True:
                msg = parse(s.read_reply())
                channel, payload = msg[1][2][1], msg[1][3][1]
                if channel == MARK.encode():
                    assert payload == b"%d" % i, (payload, i)
                    break
                got.append((channel, payload))
            out.append(got)
        return out

    def run(self, cmd: Command, compare_reply: bool = True) -> bytes:
        p = self.p
        a, b = p.both(*cmd)
        name = cmd[0].upper() if isinstance(cmd[0], bytes) else cmd[0].upper().encode()
        if name in (b"EXEC", b"DISCARD"):
            self.in_multi = False
        elif self.in_multi or name == b"MULTI":  # queued: its events and stats come with EXEC
            self.in_multi = True
            if a != b:
                self.problems.append("%s\n    reply  redis %r\n           respdb %r" % (show(cmd), a, b))
            p.history.append(cmd)
            return a
        self.n += 1
        for conn in (p.redis, p.respdb):
            _raw(conn, "PUBLISH", MARK, str(self.n))
        ev = self._events(self.n)
        stats = [_hits_misses(p.redis), _hits_misses(p.respdb)]
        deltas = [(s[0] - o[0], s[1] - o[1]) for s, o in zip(stats, self.stats, strict=True)]
        self.stats = stats
        line = show(cmd)
        if compare_reply and a != b and not _same_reply(p, cmd, a, b):
            self.problems.append("%s\n    reply  redis %r\n           respdb %r" % (line, a, b))
        if ev[0] != ev[1]:
            self.problems.append("%s\n    events redis %r\n           respdb %r" % (line, ev[0], ev[1]))
        if deltas[0] != deltas[1]:
            self.problems.append("%s\n    hits/misses redis %r respdb %r" % (line, deltas[0], deltas[1]))
        p.history.append(cmd)
        return a

    def run_all(self, commands: list[Command]) -> None:
        for cmd in commands:
            self.run(cmd, compare_reply=not _timing_dependent(cmd))

    def check(self) -> None:
        assert not self.problems, "%d mismatches (flags %r):\n%s" % (
            len(self.problems),
            self.flags,
            "\n".join(self.problems),
        )
        # The servers' totals agree too (they started from CONFIG RESETSTAT).
        assert _hits_misses(self.p.redis) == _hits_misses(self.p.respdb)


STRINGS = """
SET s1 v
SET s1 v2
GET s1
GET nokey
GETEX s1
GETEX nokey
GETEX s1 PX 100000
GETEX s1 PERSIST
GETEX nokey EX 0
GETEX s1 EX 0
GETEX s1 BADOPT
GETDEL nokey
GETDEL s1
SET s1 v GET
SET s1 w GET
SET s2 v NX
SET s2 v NX
SET s2 x XX
SET s3 v XX
SET s3 v NX GET
SET s3 v XX GET
SETNX s4 v
SETNX s4 v
SETEX s5 100 v
SETEX s5 100 w
PSETEX s6 100000 v
GETSET s7 v
GETSET s7 w
MSET a 1 b 2 a 3
MSETNX c 1 d 2
MSETNX c 1 e 2
MGET a nokey b e
APPEND ap x
APPEND ap y
STRLEN ap
STRLEN nokey
GETRANGE ap 0 1
GETRANGE nokey 0 1
SUBSTR ap 0 1
SETRANGE sr 5 x
SETRANGE sr2 0 ''
SETRANGE sr 0 y
INCR i
INCR i
INCRBY i2 5
DECR i3
DECRBY i4 2
INCRBYFLOAT f 1.5
INCRBYFLOAT f 1
LCS a b
LCS nokey1 nokey2
LCS a nokey LEN
RPUSH l x
SET l v GET
GET l
GETDEL l
GETEX l
STRLEN l
GETRANGE l 0 1
MGET l
APPEND l x
INCR l
SET l v
"""

KEYS = """
MSET a 1 b 2 c 3
EXISTS a nokey a
TYPE a
TYPE nokey
TTL a
TTL nokey
PTTL nokey
EXPIRETIME a
PEXPIRETIME nokey
TOUCH a nokey b
OBJECT ENCODING a
OBJECT ENCODING nokey
OBJECT REFCOUNT nokey
OBJECT IDLETIME a
OBJECT IDLETIME nokey
OBJECT FREQ a
DEL nokey
DEL c
UNLINK nokey b
SET b 2
EXPIRE a 100
EXPIRE nokey 100
PEXPIRE a 100000
EXPIREAT nokey 99999999999
PERSIST a
PERSIST nokey
RENAME a ra
RENAME ra b
RENAME nokey x
RENAMENX b rb
SET b 2
RENAMENX b rb
COPY b cb
COPY b cb
COPY b cb REPLACE
COPY nokey x
COPY b cb DB 1
COPY b cb2 DB 1
MOVE cb 1
MOVE nokey 1
MOVE rb 1
DUMP b
DUMP nokey
DBSIZE
KEYS *
SCAN 0
SCAN 0 TYPE string
SCAN 0 MATCH b* TYPE list
RPUSH sl 3 1 2
MSET w_1 3 w_2 1 w_3 2 o_1 a o_2 b
SORT sl
SORT nokey
SORT sl BY w_* GET o_* GET #
SORT sl BY nosort
SORT sl STORE dst
SORT sl STORE dst
SORT nokey STORE dst
SORT nokey STORE dst2
SORT_RO sl
SORT_RO nokey
SORT sl LIMIT 0 1 GET o_*
SORT sl BY w_* STORE dst3
"""

LISTS = """
LPUSH l a b
RPUSH l c
LPUSHX nol x
RPUSHX l d
LINSERT l BEFORE a z
LINSERT nol BEFORE a z
LLEN l
LLEN nol
LINDEX l 0
LINDEX nol 0
LRANGE l 0 -1
LRANGE nol 0 -1
LPOS l a
LPOS nol a
LPOS l a RANK 1 COUNT 2
LPOS l a RANK 0
LPOS nol a MAXLEN -1
LSET l 0 q
LSET nol 0 q
LREM l 1 q
LREM nol 1 q
LTRIM l 0 10
LTRIM nol 0 1
LPOP l
RPOP l
LPOP nol
RPOP l 2
RPUSH l a b c d e f
RPOPLPUSH l l2
RPOPLPUSH nol l2
LMOVE l l2 LEFT RIGHT
LMOVE nol l2 LEFT LEFT
LMOVE l l LEFT RIGHT
LMOVE l l3 LEFT RIGHT
BLPOP l 1
BRPOPLPUSH l l4 1
BLMOVE l l5 LEFT LEFT 1
LMPOP 2 nol l LEFT
BLMPOP 1 2 nol l RIGHT COUNT 5
LPOP l 10
LLEN l
RPUSH l a
LTRIM l 1 0
LINSERT l AFTER a b
SET s x
LPUSH s x
LLEN s
LRANGE s 0 1
LPOP s
"""

HASHES = """
HSET h a 1 b 2
HSET h a 3
HSETNX h b 2
HSETNX h2 b 2
HMSET h3 a 1
HINCRBY h4 n 1
HINCRBY h4 n 1
HINCRBYFLOAT h5 f 1.5
HGET h a
HGET noh a
HGET h zz
HMGET h a b
HMGET noh a
HLEN h
HLEN noh
HSTRLEN h a
HSTRLEN noh a
HEXISTS h a
HEXISTS noh a
HGETALL h
HGETALL noh
HKEYS noh
HVALS h
HRANDFIELD h
HRANDFIELD noh
HRANDFIELD noh 2
HSCAN h 0
HSCAN noh 0
HDEL h a
HDEL noh a
HDEL h b
SET s x
HGET s a
HSET s a 1
"""

SETS = """
SADD s 1 2 3
SADD s 1
SADD si 1 2 3
SREM s 1
SREM nos 1
SISMEMBER s 2
SISMEMBER nos b
SMISMEMBER s 2 9
SMISMEMBER nos b
SCARD s
SCARD nos
SMEMBERS si
SMEMBERS nos
SRANDMEMBER nos
SRANDMEMBER nos 2
SSCAN si 0
SSCAN nos 0
SPOP nos
SPOP nos 1
SMOVE s s2 2
SMOVE nos s2 x
SMOVE s s2 99
SMOVE s s2 3
SADD s 1 2 3
SINTER s nos s2
SINTER nos s s2
SUNION s nos s2
SDIFF s nos s2
SDIFF nos s
SINTERCARD 2 s s2
SINTERCARD 2 nos s2
SINTERSTORE d s s2
SUNIONSTORE d2 s s2
SUNIONSTORE d2 s s2
SDIFFSTORE d3 s s2
SINTERSTORE d s nos
SUNIONSTORE d4 nos nos2
SADD one x
SPOP one
SADD one x
SREM one x
SET str x
SADD str a
SISMEMBER str a
SINTER s str
"""

ZSETS = """
ZADD z 1 a 2 b 3 c
ZADD z INCR 1 a
ZADD z2 XX 1 a
ZADD z2 NX 1 a
ZINCRBY z3 1 a
ZREM z zz
ZREM noz a
ZSCORE z a
ZSCORE noz a
ZMSCORE z a x
ZMSCORE noz a
ZCARD z
ZCARD noz
ZCOUNT z 0 10
ZCOUNT noz 0 10
ZLEXCOUNT z - +
ZLEXCOUNT noz - +
ZRANK z a
ZRANK noz a
ZREVRANK z a
ZREVRANK noz a
ZRANGE z 0 -1
ZRANGE noz 0 -1
ZRANGE z 0 10 BYSCORE
ZRANGEBYSCORE z 0 10
ZRANGEBYSCORE noz 0 10
ZREVRANGE z 0 -1
ZREVRANGEBYSCORE noz 10 0
ZRANGEBYLEX z - +
ZREVRANGEBYLEX noz + -
ZRANDMEMBER noz
ZRANDMEMBER noz 2
ZSCAN z 0
ZSCAN noz 0
ZRANGESTORE dz z 0 -1
ZRANGESTORE dz noz 0 -1
ZRANGESTORE dz2 noz 0 -1
ZUNIONSTORE u 2 z noz
ZUNIONSTORE u 2 z noz
ZINTERSTORE i 2 z noz
ZINTERSTORE i2 2 z z
ZDIFFSTORE d 2 z noz
ZDIFFSTORE d 2 noz z
ZUNION 2 z noz
ZINTER 2 noz z
ZDIFF 2 z noz
ZINTERCARD 2 z noz
ZINTERCARD 2 noz z
ZPOPMIN z
ZPOPMIN noz
ZPOPMAX z 1
BZPOPMIN z 1
BZPOPMAX noz z 1
ZMPOP 2 noz z MIN
ZADD z 1 a 2 b 3 c 4 d
ZREMRANGEBYRANK z 0 0
ZREMRANGEBYRANK noz 0 0
ZREMRANGEBYSCORE z 2 2
ZREMRANGEBYSCORE noz 0 1
ZREMRANGEBYLEX z - +
ZREMRANGEBYLEX noz - +
SET str x
ZSCORE str a
ZUNIONSTORE u 2 str z
ZADD sset 1 a
SADD set a b
ZUNIONSTORE u2 2 sset set
ZINTERCARD 2 set sset
"""

STREAMS = """
XADD x 1-1 f v
XADD x 2-1 f v
XADD nox NOMKSTREAM 2-1 f v
XLEN x
XLEN nox
XRANGE x - +
XRANGE nox - +
XREVRANGE x + -
XREVRANGE nox + -
XREAD STREAMS x 0
XREAD COUNT 1 STREAMS x 0
XGROUP CREATE x g 0
XGROUP CREATE nox g 0
XGROUP CREATE nox2 g 0 MKSTREAM
XGROUP CREATECONSUMER x g c0
XREADGROUP GROUP g c STREAMS x >
XREADGROUP GROUP g c STREAMS x 0
XPENDING x g
XPENDING x g - + 10
XACK x g 1-1
XACK nox g 1-1
XCLAIM x g c2 0 2-1
XCLAIM nox g c2 0 2-1
XAUTOCLAIM x g c3 0 0
XINFO STREAM x
XINFO GROUPS x
XINFO GROUPS nox
XINFO CONSUMERS x g
XINFO STREAM nox
XDEL x 1-1
XDEL nox 1-1
XSETID x 5-0
XTRIM x MAXLEN 0
XTRIM nox MAXLEN 0
XGROUP DELCONSUMER x g c
XGROUP DESTROY x g
XGROUP SETID x g 0
XADD x 6-1 f v
XREAD STREAMS nox x 0 0
"""

HLL_GEO_BITS = """
PFADD hl a b
PFADD hl a
PFADD hl2
PFADD hl2
PFCOUNT hl
PFCOUNT nohl
PFCOUNT hl nohl
PFCOUNT nohl nohl2
PFMERGE hm hl nohl
PFMERGE hm hl
PFMERGE hl hl2
PFMERGE hm2
PFDEBUG GETREG nohl
GEOADD g 13.361389 38.115556 a 15.087269 37.502669 b
GEOADD g 13.361389 38.115556 a
GEOPOS g a
GEOPOS nog a
GEODIST g a b
GEODIST nog a b
GEOHASH g a
GEOHASH nog a
GEORADIUS g 15 37 200 km
GEORADIUS nog 15 37 200 km
GEORADIUSBYMEMBER g a 100 km
GEORADIUS_RO g 15 37 200 km
GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km
GEOSEARCH nog FROMLONLAT 15 37 BYRADIUS 200 km
GEOSEARCHSTORE gs g FROMMEMBER a BYRADIUS 500 km
GEOSEARCHSTORE gs g FROMMEMBER a BYRADIUS 500 km
GEOSEARCHSTORE gs2 nog FROMLONLAT 15 37 BYRADIUS 200 km
GEORADIUS g 15 37 200 km STORE gr
GEORADIUS g 15 37 200 km STOREDIST grd
GEORADIUS nog 15 37 200 km STORE gr2
SETBIT b 7 1
SETBIT b 8 1
SETBIT b 8 0
GETBIT b 7
GETBIT nob 1
BITCOUNT b
BITCOUNT nob
BITPOS b 1
BITPOS nob 1
BITOP AND d b nob
BITOP OR d2 b
BITOP OR d2 b
BITOP NOT d3 nob
BITOP XOR d4 nob nob2
BITFIELD bf SET u8 0 1
BITFIELD bf2 GET u8 0
BITFIELD bf3 INCRBY u8 0 1
BITFIELD nobf
BITFIELD_RO bf GET u8 0
BITFIELD_RO nobf GET u8 0
BITFIELD bf OVERFLOW FAIL INCRBY u2 0 9
"""

SEQUENCES = {
    "strings": STRINGS,
    "keys": KEYS,
    "lists": LISTS,
    "hashes": HASHES,
    "sets": SETS,
    "zsets": ZSETS,
    "streams": STREAMS,
    "hll_geo_bits": HLL_GEO_BITS,
}


@pytest.mark.parametrize("flags", ["KEAnm", "Em", "KEn"])
@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_sequence(pair2, name, flags):
    pair2.reset()
    with Watch(pair2, flags) as w:
        w.run_all(script(SEQUENCES[name]))
    w.check()


def test_a_excludes_new_and_keymiss(pair2):
    """`A` has neither `n` nor `m`; CONFIG GET spells the flags as Redis does (`n` dropped with `A`)."""
    pair2.reset()
    for flags in ("KEA", "KEAnm", "KEn", "Kgn", "Em", "$lshzxetdnm", "Am", "An"):
        with Watch(pair2, flags) as w:
            w.run(("CONFIG", "GET", "notify-keyspace-events"))
            w.run_all(script("SET k v", "GET nokey", "DEL k", "LPUSH l a", "LPOP l"))
        w.check()


def test_expired_then_keymiss(pair2):
    """A read of a key found expired: `expired`, then `keymiss`; a write lookup: `expired` only."""
    pair2.reset()
    with Watch(pair2, "KEAnm") as w:
        # 20 ms, not 1: with 1 ms, a server slowed down for a millisecond inside PEXPIRE finds
        # the time already past and deletes the key at once (`del`, not `pexpire`).
        w.run_all(script("SET k v PX 20", "SET k2 v PX 20", "RPUSH l a", "PEXPIRE l 20"))
        pair2.wait(0.06)
        w.run_all(script("GET k", "SET k2 x", "LLEN l", "EXISTS k", "TTL k2"))
    w.check()


def test_restore_and_multi_and_scripts(pair2):
    pair2.reset()
    _raw(pair2.redis, "SET", "src", "value")
    payload = parse(_raw(pair2.redis, "DUMP", "src"))[1]
    _raw(pair2.redis, "DEL", "src")
    with Watch(pair2, "KEAnm") as w:
        w.run(("RESTORE", "r", "0", payload))
        w.run(("RESTORE", "r", "0", payload, "REPLACE"))
        w.run(("RESTORE", "r", "0", payload))
        w.run_all(
            script(
                "MULTI",
                "GET nokey",
                "SET k v",
                "GET k",
                "EXEC",
                "EVAL \"redis.call('get', KEYS[1]); return redis.call('set', KEYS[2], 'x')\" 2 nokey k2",
                "EVAL \"return redis.call('exists', KEYS[1])\" 1 nokey",
                "SELECT 1",
                "GET nokey",
                "SET k1 v",
                "SELECT 0",
                "SWAPDB 0 1",
                "GET k1",
                "FLUSHDB",
                "GET k1",
            )
        )
    w.check()


def test_hits_misses_totals(pair2):
    """INFO keyspace_hits/keyspace_misses after every sequence above run back to back."""
    pair2.reset()
    with Watch(pair2, "") as w:
        for name in sorted(SEQUENCES):
            w.run_all(script(SEQUENCES[name]))
            pair2.both("FLUSHALL")
    w.check()


BLOCKERS = [
    (("BLPOP", "bl", "5"), ("RPUSH", "bl", "a", "b")),
    (("BLMOVE", "bl2", "dst", "LEFT", "RIGHT", "5"), ("LPUSH", "bl2", "a")),
    (("BZPOPMIN", "bz", "5"), ("ZADD", "bz", "1", "m")),
    (("XREAD", "BLOCK", "5000", "STREAMS", "bx", "$"), ("XADD", "bx", "1-1", "f", "v")),
    (("XREADGROUP", "GROUP", "g", "c", "BLOCK", "5000", "STREAMS", "gx", ">"), ("XADD", "gx", "2-1", "f", "v")),
]


@pytest.mark.parametrize("blocker,writer", BLOCKERS, ids=[b[0][0] for b in BLOCKERS])
def test_blocked_client_served(pair2, blocker, writer):
    """A blocked client served by another's write: the serving lookups are neither counted nor
    notified as misses; the new key's `new` comes before the write's own event."""
    pair2.reset()
    pair2.both("XGROUP", "CREATE", "gx", "g", "$", "MKSTREAM")
    with Watch(pair2, "KEAnm") as w:
        conns = [RawConn(port) for port in pair2.ports]
        try:
            for conn in conns:
                conn.send(encode_command(blocker))
            deadline = time.monotonic() + 5
            while not all(blocked_clients(x) == 1 for x in (pair2.redis, pair2.respdb)):
                assert time.monotonic() < deadline, "client did not block"
                time.sleep(0.01)
            w.run(writer)
            replies = [conn.read_reply() for conn in conns]
        finally:
            for conn in conns:
                conn.close()
    w.check()
    assert replies[0] == replies[1]
