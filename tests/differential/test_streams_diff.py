"""Streams, differentially: the same commands to redis-server and respdb, replies compared byte for byte
(RESP2 and RESP3 for every test through the `p` / `pair` fixtures).

IDs are given explicitly wherever the reply would show them, so that replies are deterministic;
the few time-dependent fields (idle times, delivery and seen times) are compared with a tolerance
by `xrun`. Everything else, error texts included, must be identical.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .harness import Mismatch, Pair, parse, script, serialize, to_bytes

# ---------------------------------------------------------------------------
# Time-dependent replies: which integers are clock readings, compared with a tolerance.

TOLERANCE_MS = 400


def _times_xpending(node, cmd) -> list:
    """XPENDING's extended form: [id, consumer, idle, count] items; idle is index 2."""
    t, v = node
    if t != "*" or not isinstance(v, list) or len(cmd) < 6:
        return []
    return [(item[1], 2) for item in v if item[0] == "*" and isinstance(item[1], list) and len(item[1]) == 4]


def _pairs(node) -> list:
    """The (name, value) pairs of a map reply (RESP3 map or RESP2 flat array)."""
    t, v = node
    if not isinstance(v, list):
        return []
    return [(v[i], v[i + 1]) for i in range(0, len(v) - 1, 2)]


def _slots(node, cmd) -> list:
    """(list, index) of every clock reading in this reply."""
    name = " ".join(str(a.decode() if isinstance(a, bytes) else a).upper() for a in cmd[:2])
    out: list = []
    if name.startswith("XPENDING"):
        return _times_xpending(node, cmd)
    if name == "XINFO CONSUMERS":
        for item in node[1] or []:
            v = item[1]
            for i in range(0, len(v) - 1, 2):
                if v[i][1] == b"idle":
                    out.append((v, i + 1))
        return out
    if name == "XINFO STREAM":
        top = node[1] or []
        for i in range(0, len(top) - 1, 2):
            if top[i][1] != b"groups" or top[i + 1][0] != "*" or not isinstance(top[i + 1][1], list):
                continue
            for grp in top[i + 1][1]:
                g = grp[1]
                for j in range(0, len(g) - 1, 2):
                    if g[j][1] == b"pending":
                        out.extend((item[1], 2) for item in g[j + 1][1])
                    if g[j][1] == b"consumers":
                        for cons in g[j + 1][1]:
                            cv = cons[1]
                            for k in range(0, len(cv) - 1, 2):
                                if cv[k][1] == b"seen-time":
                                    out.append((cv, k + 1))
                                if cv[k][1] == b"pending":
                                    out.extend((item[1], 1) for item in cv[k + 1][1])
    return out


def _close(a: bytes, b: bytes, cmd) -> bool:
    try:
        na, nb = parse(a), parse(b)
        sa, sb = _slots(na, cmd), _slots(nb, cmd)
    except (ValueError, IndexError, TypeError, KeyError):
        return False
    if len(sa) != len(sb) or not sa:
        return False
    for (la, ia), (lb, ib) in zip(sa, sb, strict=True):
        if la[ia][0] != ":" or lb[ib][0] != ":":
            return False
        if abs(int(la[ia][1]) - int(lb[ib][1])) > TOLERANCE_MS:
            return False
        la[ia] = lb[ib] = (":", b"0")
    return serialize(na) == serialize(nb)


def _close_auto_id(a: bytes, b: bytes, cmd) -> bool:
    """XADD with `*`: IDs made from each server's clock, a few ms apart, same sequence."""
    if to_bytes(cmd[0]).upper() != b"XADD" or b"*" not in [to_bytes(x) for x in cmd]:
        return False
    try:
        (ta, ia), (tb, ib) = parse(a), parse(b)
        (ma, sa), (mb, sb) = ia.split(b"-"), ib.split(b"-")
    except (ValueError, TypeError, AttributeError):
        return False
    return ta == tb == "$" and sa == sb and abs(int(ma) - int(mb)) <= TOLERANCE_MS


def xrun(p: Pair, *args) -> bytes:
    """Like Pair.run, but clock readings in XPENDING / XINFO replies may differ a little."""
    a, b = p.both(*args)
    if a != b and not _close(a, b, args) and not _close_auto_id(a, b, args):
        raise Mismatch(args, a, b, list(p.history))
    p.history.append(args)
    return a


def xcheck(p: Pair, commands, reset: bool = True) -> None:
    if reset:
        p.reset()
    for cmd in commands:
        xrun(p, *cmd)


# ---------------------------------------------------------------------------
# Scripted cases

XADD_CASES = """
    XADD s * a
    XADD s
    XADD s 0-0 a 1
    XADD s 0 a 1
    XADD s 0-* a 1
    XADD s 0-* a 1
    XADD s 5-* a 1
    XADD s 5-* a 1
    XADD s 5 a 1
    XADD s 4-9 a 1
    XADD s 5-1 a 1
    XADD s maxlen 1 limit 5 6-1 a 1
    XADD s limit 5 6-1 a 1
    XADD s limit 0 6-1 a 1
    XADD s maxlen 1 minid 5 6-1 a 1
    XADD s minid 5 maxlen 1 6-1 a 1
    XADD s maxlen -1 6-1 a 1
    XADD s maxlen x 6-1 a 1
    XADD s maxlen ~ 6-1 a 1
    XADD s maxlen ~ 1 limit -1 6-1 a 1
    XADD s maxlen ~ 1 limit x 6-1 a 1
    XADD s minid x 6-1 a 1
    XADD s minid - 6-1 a 1
    XADD s minid + 6-1 a 1
    XADD s minid 5-* 6-1 a 1
    XADD s foo a 1
    XADD s nomkstream foo a 1
    XADD nokey nomkstream 1-1 a 1
    EXISTS nokey
    XADD s 18446744073709551615-18446744073709551614 a 1
    XADD s 18446744073709551615-* a 1
    XADD s 18446744073709551615-* a 1
    XADD s * a 1
    XADD s2 18446744073709551615-18446744073709551615 a 1
    XADD s2 * a 1
    XADD s3 18446744073709551614-18446744073709551615 a 1
    XADD s3 * a 1
    XADD s4 1--01 a 1
    XADD s5 +5-+1 a 1
    XADD s6 " 5- 1" a 1
    XADD s7 "5 -1" a 1
    XADD s7 18446744073709551616 a 1
    XADD s7 -1 a 1
    XADD s7 - a 1
    XADD s7 + a 1
    XADD s7 5-** a 1
    XADD s7 *-5 a 1
    XADD s7 1-18446744073709551616 a 1
    XADD s7 00012-0003 a 1
    XADD s7 "3-1\\x00junk" a 1
    XADD s7 MAXLEN
    XADD s7 MAXLEN * a 1
    XADD s7 MAXLEN 5 5 a 1
    XADD s7 MAXLEN = 5 6 a 1 b 2 a 3
    XADD s7 nomkstream maxlen ~ 5 limit 3 7 f v
    XADD s7 NoMkStReAm MaXlEn ~ 5 LiMiT 3 8 f v
    XRANGE s7 - +
    XLEN s7
    SET str x
    XADD str * a 1
    XADD str nomkstream * a 1
    XADD str 0-0 a 1
    XADD str foo a 1
    XADD big 1 f "" "" v
    XRANGE big - +
"""

XTRIM_CASES = """
    XTRIM s6
    XTRIM s6 maxlen 1 foo
    XTRIM nokey maxlen 1
    XTRIM nokey limit 1
    XTRIM nokey maxlen 1 limit 1
    XTRIM nokey maxlen ~ 1 limit 1
    XTRIM nokey maxlen 1 nomkstream
    XTRIM nokey minid x
    XTRIM nokey foo 1
    SET str x
    XTRIM str maxlen 1
    XTRIM str maxlen x
    XADD s 1-1 a 1
    XADD s 2-1 a 1
    XADD s 3-1 a 1
    XADD s 4-1 a 1
    XADD s 5-1 a 1
    XTRIM s maxlen 10
    XTRIM s maxlen = 4
    XTRIM s minid 3
    XTRIM s minid = 3-2
    XTRIM s maxlen ~ 0
    XTRIM s maxlen ~ 0 limit 1
    XRANGE s - +
    XTRIM s maxlen 0
    XLEN s
    EXISTS s
    XTRIM s minid 99
    XINFO STREAM s
"""

RANGE_CASES = """
    XADD s 1-1 a 1 b 2
    XADD s 2-2 a 1 b 2
    XADD s 3-3 c 3
    XADD s 3-4 c 3
    XRANGE s - + count 0
    XRANGE s - + count -5
    XRANGE s - + count 1 count 2
    XRANGE s - + count
    XRANGE s - + foo
    XRANGE s (- +
    XRANGE s ( +
    XRANGE s (1-1 +
    XRANGE s - (3-3
    XRANGE s - (0-0
    XRANGE s (18446744073709551615-18446744073709551615 +
    XRANGE s 2 2
    XRANGE s 2 1
    XRANGE s 3 3
    XRANGE s - (2
    XRANGE s (2 +
    XRANGE s (3 +
    XRANGE s 3-3 3-3
    XRANGE s - 2-2
    XRANGE s 1-2 3-3
    XRANGE s (1-1 (3-4
    XRANGE s - + count 2
    XREVRANGE s + - count 1
    XREVRANGE s (3-3 -
    XREVRANGE s + (1-1
    XREVRANGE s - +
    XREVRANGE s + - count 0
    XREVRANGE s + - COUNT 3
    XREVRANGE s 3 2
    XREVRANGE s (3 (1-1
    XRANGE nokey - +
    XRANGE nokey x +
    XRANGE nokey - + count 0
    XRANGE s x +
    XRANGE s - x
    XRANGE s ((1 +
    XRANGE s (+ +
    XRANGE s - (+
    XRANGE s - (-
    XREVRANGE nokey + - count 0
    XLEN s
    XLEN nokey
    SET str v
    XLEN str
    XRANGE str - +
    XRANGE str - + count 0
    XRANGE str x +
    XREVRANGE str + -
    XDEL s 1-1 9-9 1-1
    XDEL s 3
    XDEL s x
    XDEL s 2-2 x
    XDEL nokey 1-1
    XDEL nokey x
    XDEL str 1-1
    XDEL str x
    XLEN s
    XRANGE s - +
    XDEL s 2-2 3-3 3-4
    XLEN s
    EXISTS s
    XRANGE s - +
    XINFO STREAM s
"""

GROUP_CASES = """
    XGROUP CREATE nokey g $
    XGROUP CREATE nokey g $ foo
    XGROUP CREATE nokey g x mkstream
    XGROUP CREATE nokey g $ mkstream entriesread -2
    XGROUP CREATE nokey g $ mkstream entriesread x
    XGROUP CREATE nokey g $ mkstream entriesread
    XGROUP CREATE nokey g $ entriesread 5
    XGROUP SETID nokey g $
    XGROUP SETID nokey g $ entriesread 5
    XGROUP SETID nokey g $ foo 5
    XGROUP SETID nokey g $ entriesread x
    XGROUP SETID nokey g $ entriesread
    XGROUP DESTROY nokey g
    XGROUP CREATECONSUMER nokey g c
    XGROUP DELCONSUMER nokey g c
    XGROUP foo nokey g c
    XGROUP
    XGROUP CREATE s g $ mkstream
    XGROUP CREATE s g $ mkstream
    XGROUP CREATE s g2 5 mkstream entriesread 3
    XGROUP CREATE s g3 -
    XGROUP CREATE s g4 +
    XGROUP CREATE s g5 1-*
    XGROUP CREATE s g6 0 entriesread -1
    XGROUP CREATE s g7 0 MKSTREAM ENTRIESREAD 2 MKSTREAM
    XGROUP CREATE s g8 0 MKSTREAM ENTRIESREAD 2 MKSTREAM MKSTREAM
    XGROUP CREATE s g9 0 entriesread 1 entriesread 2
    XGROUP SETID s nog 1
    XGROUP SETID s g +
    XGROUP SETID s g -
    XGROUP SETID s g 5-*
    XGROUP SETID s g 7 entriesread 9
    XGROUP SETID s g 7 entriesread -1
    XGROUP CREATECONSUMER s nog c
    XGROUP DELCONSUMER s nog c
    XGROUP DESTROY s nog
    XGROUP CREATECONSUMER s g c
    XGROUP CREATECONSUMER s g c
    XGROUP CREATECONSUMER s g C
    XGROUP DELCONSUMER s g c
    XGROUP DELCONSUMER s g c
    SET str x
    XGROUP CREATE str g $
    XGROUP CREATE str g $ mkstream
    XGROUP SETID str g $
    XGROUP DESTROY str g
    XGROUP CREATECONSUMER str g c
    XINFO GROUPS s
    XINFO STREAM s
    XINFO STREAM s full
    XINFO STREAM s full count 1
    XINFO STREAM s full count 0
    XINFO STREAM s full count -3
    XINFO STREAM s full count
    XINFO STREAM s full count x
    XINFO STREAM s foo
    XINFO STREAM s full foo 1
    XINFO STREAM s full count 1 extra
    XINFO STREAM nokey
    XINFO GROUPS nokey
    XINFO CONSUMERS nokey g
    XINFO CONSUMERS s nog
    XINFO CONSUMERS s g
    XINFO CONSUMERS str g
    XINFO GROUPS str
    XINFO STREAM str
    XINFO foo s
    XINFO
    XINFO HELP
    XINFO help x
    XGROUP HELP
    XGROUP help x
    XGROUP DESTROY s g
    XGROUP DESTROY s g
    XINFO GROUPS s
"""

READ_CASES = """
    XADD s 1-1 a 1
    XREADGROUP GROUP g c STREAMS s >
    XREADGROUP GROUP g c STREAMS s $
    XREADGROUP STREAMS s >
    XREADGROUP GROUP g STREAMS s >
    XREADGROUP GROUP g c STREAMS s
    XREADGROUP GROUP g c STREAMS s > x
    XREADGROUP GROUP g c COUNT x STREAMS s >
    XREADGROUP GROUP g c BLOCK x STREAMS s >
    XREADGROUP GROUP g c BLOCK -1 STREAMS s >
    XREADGROUP GROUP g c foo STREAMS s >
    XREADGROUP COUNT 1 NOACK STREAMS s > x y
    XREAD GROUP g c STREAMS s 0
    XREAD NOACK STREAMS s 0
    XREAD STREAMS s >
    XREAD STREAMS s x
    XREAD STREAMS s 0 1
    XREAD COUNT 1 STREAMS nokey s 0 0
    XREAD COUNT -1 STREAMS s 0
    XREAD COUNT 0 STREAMS s 0
    XREAD COUNT x STREAMS s 0
    XREAD BLOCK x STREAMS s 0
    XREAD BLOCK -5 STREAMS s 0
    XREAD BLOCK 0 STREAMS s 0
    XREAD STREAMS s +
    XREAD STREAMS s -
    XREAD STREAMS s (0
    XREAD STREAMS s $
    XREAD STREAMS s 1-1
    XREAD STREAMS s 1
    XREAD STREAMS s 1-0
    XREAD STREAMS s s 0 0
    XREAD foo STREAMS s 0
    XREAD COUNT 1 COUNT 2 STREAMS s 0
    SET str x
    XREAD STREAMS str 0
    XREAD STREAMS nokey 0
    XREAD STREAMS nokey str 0 0
    XREADGROUP GROUP g c STREAMS str >
    XGROUP CREATE s g 0
    XREADGROUP GROUP g c STREAMS nokey s > >
    XREADGROUP GROUP g c STREAMS s nokey > >
    XREADGROUP GROUP g c STREAMS s str > >
    XREADGROUP GROUP g c STREAMS s x
    XREADGROUP GROUP g c STREAMS s +
    XREADGROUP GROUP g c STREAMS s -
    XREADGROUP GROUP g c STREAMS s >
    XREADGROUP GROUP g c STREAMS s -
    XREADGROUP GROUP g c STREAMS s 0
    XREADGROUP GROUP g c2 STREAMS s 0
    XREADGROUP GROUP g c3 COUNT 0 NOACK STREAMS s >
    XREADGROUP GROUP g c3 BLOCK 0 STREAMS s 0
    XREADGROUP GROUP g c3 BLOCK 10 STREAMS s >
    XREADGROUP GROUP g c STREAMS s 18446744073709551615-18446744073709551615
    XADD s 2-1 b 2
    XADD s 3-1 c 3
    XREADGROUP GROUP g c STREAMS s 18446744073709551615-18446744073709551615
    XREADGROUP GROUP g c STREAMS s 0
    XREADGROUP GROUP g c COUNT 1 STREAMS s 1-1
    XREADGROUP GROUP g c4 NOACK STREAMS s >
    XDEL s 2-1
    XREADGROUP GROUP g c STREAMS s 0
    XREADGROUP GROUP g c COUNT 1 STREAMS s 0
    XGROUP SETID s g 0
    XREADGROUP GROUP g c5 COUNT 1 STREAMS s >
    XREADGROUP GROUP g c5 STREAMS s >
    XPENDING s g
    XINFO GROUPS s
    XINFO STREAM s
    XREAD STREAMS s s 0 1-1
    XREAD COUNT 1 STREAMS s 1-1
"""

MULTI_STREAM_CASES = """
    XADD a 1-0 f 1
    XADD a 2-0 f 2
    XADD b 1-5 g 1
    XGROUP CREATE a g 0
    XGROUP CREATE b g $
    XREADGROUP GROUP g c STREAMS a b > >
    XREADGROUP GROUP g c STREAMS a b 0 >
    XREADGROUP GROUP g c STREAMS a b > 0
    XADD b 2-0 g 2
    XADD a 3-0 f 3
    XREADGROUP GROUP g c COUNT 1 STREAMS b a > >
    XREADGROUP GROUP g d NOACK STREAMS a b > >
    XREADGROUP GROUP g c STREAMS a b 0 0
    XREADGROUP GROUP g c STREAMS a a 0 >
    XREADGROUP GROUP g c STREAMS a a > >
    XREADGROUP GROUP g c STREAMS a b a > > 0
    XREADGROUP GROUP g c STREAMS a b a > > 0 x
    XREAD STREAMS a b a 0 0 0
    XREAD COUNT 1 STREAMS a b 1-0 0
    XREAD STREAMS b a $ 2-0
    XINFO GROUPS a
    XINFO GROUPS b
    XPENDING a g
    XPENDING b g
"""

PENDING_CASES = """
    XADD s 1-1 a 1
    XGROUP CREATE s g 0
    XPENDING s g
    XREADGROUP GROUP g c STREAMS s >
    XPENDING s g x
    XPENDING s g - +
    XPENDING s g - + x
    XPENDING s g idle 5 - +
    XPENDING s g idle x - + 10
    XPENDING s g idle 5 - + 10 c x
    XPENDING s g x + 10
    XPENDING s g - x 10
    XPENDING s g (- + 10
    XPENDING s g - + -1
    XPENDING s g - + 0
    XPENDING s g
    XPENDING s nog
    XPENDING nokey g
    SET str x
    XPENDING str g
    XPENDING str g - + 1
    XPENDING nokey g - + x
    XPENDING nokey g x + 1
    XPENDING s g - + 10 nocons
    XPENDING s g - (1-1 10
    XPENDING s g (1-1 + 10
    XPENDING s g (0 (1-1 10
    XPENDING s g (18446744073709551615-18446744073709551615 + 10
    XPENDING s g - (0-0 10
    XPENDING s g IDLE 5 x + 10
    XPENDING s g foo 5 - + 10
    XPENDING s g IDLE 99999999 - + 10
    XACK s g
    XACK s g x
    XACK s nog x
    XACK nokey g x
    XACK str g 1-1
    XACK s g 1-1 x
    XACK s g 1-1 1-1 2-2
    XACK s g 1-1
    XPENDING s g
"""

CLAIM_CASES = """
    XADD s 1-1 a 1
    XADD s 2-1 a 1
    XADD s 3-1 a 1
    XADD s 4-1 a 1
    XADD s 5-1 a 1
    XGROUP CREATE s g 0
    XREADGROUP GROUP g c STREAMS s >
    XDEL s 1-1 2-1 3-1
    XAUTOCLAIM s g c2 0 0 COUNT 2
    XINFO GROUPS s
    XCLAIM s g c3 0 5-1 idle x
    XCLAIM s g c3 0 5-1 time x
    XCLAIM s g c3 0 5-1 retrycount x
    XCLAIM s g c3 0 5-1 lastid x
    XCLAIM s g c3 0 5-1 foo
    XCLAIM s g c3 0 5-1 idle
    XCLAIM s g c3 x 5-1
    XCLAIM s g c3 0 x
    XCLAIM s g c3 0 5-1 x 4-1
    XCLAIM s nog c3 0 5-1
    XCLAIM nokey g c3 0 5-1
    XCLAIM nokey g c3 x 5-1
    SET str x
    XCLAIM str g c3 0 5-1
    XCLAIM s g c3 -5 5-1 justid
    XCLAIM s g c3 0 5-1 retrycount -5 justid
    XCLAIM s g c3 0 5-1 time 99999999999999 justid
    XCLAIM s g c3 0 5-1 time -7 justid
    XCLAIM s g c3 0 5-1 idle -7 justid
    XCLAIM s g c3 0 5-1 lastid - justid
    XCLAIM s g c3 0 5-1 force force justid justid
    XCLAIM s g c3 0 5-1 4-1 9-9 justid
    XCLAIM s g c4 0 3-1 2-1 force
    XCLAIM s g c4 0 5-1 force RETRYCOUNT 7 LASTID 9-9
    XCLAIM s g c5 999999 5-1
    XCLAIM s g c5 0 8-8 lastid 10-0
    XCLAIM s g c5 0 8-8 lastid 1-0
    XINFO GROUPS s
    XINFO CONSUMERS s g
    XAUTOCLAIM s g c4 x 0
    XAUTOCLAIM s g c4 0 x
    XAUTOCLAIM s g c4 0 0 count 0
    XAUTOCLAIM s g c4 0 0 count x
    XAUTOCLAIM s g c4 0 0 count -1
    XAUTOCLAIM s g c4 0 0 count 576460752303423487
    XAUTOCLAIM s g c4 0 0 count 576460752303423488
    XAUTOCLAIM s g c4 0 0 foo
    XAUTOCLAIM s g c4 0 0 count
    XAUTOCLAIM s g c4 0 (18446744073709551615-18446744073709551615
    XAUTOCLAIM s nog c4 0 0
    XAUTOCLAIM nokey g c4 0 0
    XAUTOCLAIM nokey g c4 x 0
    XAUTOCLAIM nokey g c4 0 0 count 0
    XAUTOCLAIM str g c4 0 0
    XAUTOCLAIM s g c4 0 (0
    XAUTOCLAIM s g c4 0 -
    XAUTOCLAIM s g c4 0 +
    XAUTOCLAIM s g c4 -1 0 justid count 1
    XAUTOCLAIM s g c6 0 0 justid count 1
    XAUTOCLAIM s g c6 0 4-1 justid count 1
    XAUTOCLAIM s g c6 0 5-1 count 100000000
    XAUTOCLAIM s g c7 99999999 0 count 1
    XINFO CONSUMERS s g
    XPENDING s g
"""

XSETID_CASES = """
    XADD s 1-1 a 1
    XADD s 2-1 a 1
    XADD s 3-1 a 1
    XADD s 4-1 a 1
    XADD s 5-1 a 1
    XDEL s 1-1 2-1 3-1
    XSETID s x
    XSETID s 1
    XSETID s 1-1 foo
    XSETID s 9-1 entriesadded x
    XSETID s 9-1 entriesadded -1
    XSETID s 9-1 entriesadded 1
    XSETID s 9-1 maxdeletedid x
    XSETID s 9-1 maxdeletedid 10-1
    XSETID s 9-1 maxdeletedid 0-1
    XSETID s 9-1 maxdeletedid
    XSETID nokey 9-1
    XSETID nokey x
    XSETID nokey 9-1 entriesadded 1
    SET str x
    XSETID str 9-1
    XSETID s 4-0
    XSETID s 5-1
    XSETID s 5-1 entriesadded 0
    XSETID s 5-1 entriesadded 2
    XSETID s $
    XINFO STREAM s
    XSETID s 5-2 maxdeletedid 4-0
    XINFO STREAM s
    XSETID s 6-1 maxdeletedid 5-3
    XSETID s 5-2 maxdeletedid 1-1
    XSETID s 5-2
    XSETID s -
    XSETID s +
    XSETID s 5-2 ENTRIESADDED 100 MAXDELETEDID 5-2
    XINFO STREAM s
    XADD s 5-2 x y
    XADD s 5-3 x y
    XDEL s 4-1 5-1 5-3
    XSETID s 1-1
    XSETID s 0-0 entriesadded 0
    XINFO STREAM s
    XADD s * x y
    XLEN s
    XSETID s 18446744073709551615-18446744073709551615
    XADD s * a b
"""

GENERIC_ON_STREAMS = """
    XADD s 1-1 a 1
    XADD s 2-1 b 2
    XGROUP CREATE s g 0
    XREADGROUP GROUP g c COUNT 1 STREAMS s >
    TYPE s
    OBJECT ENCODING s
    COPY s t
    XINFO STREAM t FULL
    XADD t 3-1 c 3
    XACK t g 1-1
    XLEN s
    XPENDING s g
    RENAME t u
    XINFO GROUPS u
    MOVE u 1
    SELECT 1
    XRANGE u - +
    XINFO GROUPS u
    SELECT 0
    EXISTS u
    EVAL "return redis.pcall('xread','block','0','streams','s','$')" 0
    EVAL "return redis.pcall('XreadGroup','group','g','c','block','0','streams','s','>')" 0
    EVAL "return redis.pcall('xread','count','1','streams','s','0')" 0
    EVAL "return redis.pcall('xreadgroup','group','g','c','streams','s','>')" 0
    EVAL "return redis.call('xadd','s','9-9','f','v')" 0
    XPENDING s g
"""

HELP_AND_ARITY = """
    XADD
    XLEN
    XLEN a b
    XRANGE s -
    XREVRANGE s +
    XDEL s
    XTRIM s
    XACK s g
    XPENDING s
    XCLAIM s g c 0
    XAUTOCLAIM s g c 0
    XSETID s
    XGROUP CREATE s g
    XGROUP SETID s g
    XGROUP DESTROY s
    XGROUP DESTROY s g x
    XGROUP CREATECONSUMER s g
    XGROUP DELCONSUMER s g c x
    XINFO CONSUMERS s
    XINFO GROUPS
    XINFO GROUPS s x
    XINFO STREAM
    XREAD STREAMS
    XREADGROUP GROUP g c STREAMS
"""


@pytest.mark.parametrize(
    "text",
    [XADD_CASES, XTRIM_CASES, RANGE_CASES, GROUP_CASES, READ_CASES, MULTI_STREAM_CASES, PENDING_CASES, CLAIM_CASES, XSETID_CASES,
     GENERIC_ON_STREAMS, HELP_AND_ARITY],
    ids=["xadd", "xtrim", "xrange-xdel-xlen", "xgroup-xinfo", "xread-xreadgroup", "multi-stream", "xpending-xack", "xclaim-xautoclaim",
         "xsetid", "generic-and-scripts", "arity"],
)  # fmt: skip
def test_scripted(p, text):
    xcheck(p, script(text), reset=False)


# ---------------------------------------------------------------------------
# Generated sequences: small IDs and names so that commands collide often.

KEYS = ["s1", "s2", "str"]  # "str" usually holds a string (WRONGTYPE paths)
GROUPS = ["g1", "g2"]
CONSUMERS = ["c1", "c2", "c3"]

key = st.sampled_from(KEYS[:2] * 4 + KEYS[2:])
stream_key = st.sampled_from(KEYS[:2])
group = st.sampled_from(GROUPS)
consumer = st.sampled_from(CONSUMERS)
ms = st.integers(0, 12)
small = st.sampled_from(["0", "1", "2", "3", "5", "10"])


@st.composite
def an_id(draw, exclusive: bool = False, special: bool = False):
    kind = draw(st.integers(0, 9))
    if special and kind == 0:
        return draw(st.sampled_from(["-", "+"]))
    m = draw(ms)
    out = str(m) if kind == 1 else "%d-%d" % (m, draw(st.integers(0, 3)))
    if exclusive and draw(st.integers(0, 3)) == 0:
        out = "(" + out
    return out


@st.composite
def add_id(draw):
    kind = draw(st.integers(0, 5))
    m = draw(ms)
    if kind == 0:
        return "%d-*" % m
    if kind == 1:
        return str(m)
    return "%d-%d" % (m, draw(st.integers(0, 3)))


@st.composite
def trim_args(draw):
    strategy = draw(st.sampled_from(["MAXLEN", "MINID"]))
    op = draw(st.sampled_from([[], ["="], ["~"], ["~"]]))
    thr = draw(small) if strategy == "MAXLEN" else draw(an_id())
    out = [strategy, *op, thr]
    if op == ["~"] and draw(st.booleans()):
        out += ["LIMIT", draw(st.sampled_from(["0", "1", "2", "5", "100"]))]
    return out


FIELDS = ["f", "g", "123", "-7", "x" * 70, "", "9223372036854775808"]


@st.composite
def fields(draw):
    n = draw(st.integers(1, 3))
    out = []
    for _ in range(n):
        out += [draw(st.sampled_from(FIELDS)), draw(st.sampled_from(FIELDS + ["v" * 300]))]
    return out


@st.composite
def stream_command(draw):
    kind = draw(st.integers(0, 29))
    k = draw(key)
    if kind <= 4:
        opts = []
        if draw(st.integers(0, 5)) == 0:
            opts.append("NOMKSTREAM")
        if draw(st.integers(0, 2)) == 0:
            opts += draw(trim_args())
        return ("XADD", k, *opts, draw(add_id()), *draw(fields()))
    if kind == 5:
        return ("XDEL", k, *draw(st.lists(an_id(), min_size=1, max_size=3)))
    if kind == 6:
        return ("XTRIM", k, *draw(trim_args()))
    if kind in (7, 8):
        cmd = draw(st.sampled_from(["XRANGE", "XREVRANGE"]))
        a, b = draw(an_id(True, True)), draw(an_id(True, True))
        extra = ("COUNT", draw(small)) if draw(st.booleans()) else ()
        return (cmd, k, a, b, *extra)
    if kind == 9:
        return ("XLEN", k)
    if kind == 10:
        keys = draw(st.lists(key, min_size=1, max_size=2))
        ids = [draw(st.sampled_from(["$", "0", "0-0"])) if draw(st.booleans()) else draw(an_id()) for _ in keys]
        extra = ("COUNT", draw(small)) if draw(st.booleans()) else ()
        block = ("BLOCK", "1") if draw(st.integers(0, 4)) == 0 else ()
        return ("XREAD", *extra, *block, "STREAMS", *keys, *ids)
    if kind in (11, 12, 13):
        extra = []
        if draw(st.booleans()):
            extra += ["COUNT", draw(small)]
        if draw(st.integers(0, 3)) == 0:
            extra.append("NOACK")
        sid = draw(st.sampled_from([">", ">", ">", "0", "0-0"])) if draw(st.integers(0, 4)) else draw(an_id())
        return ("XREADGROUP", "GROUP", draw(group), draw(consumer), *extra, "STREAMS", k, sid)
    if kind == 14:
        opts = []
        if draw(st.booleans()):
            opts.append("MKSTREAM")
        if draw(st.integers(0, 3)) == 0:
            opts += ["ENTRIESREAD", draw(st.sampled_from(["-1", "0", "2", "5"]))]
        start = draw(st.sampled_from(["$", "0"])) if draw(st.booleans()) else draw(an_id())
        return ("XGROUP", "CREATE", k, draw(group), start, *opts)
    if kind == 15:
        opts = ["ENTRIESREAD", draw(st.sampled_from(["-1", "0", "1", "3"]))] if draw(st.booleans()) else []
        start = draw(st.sampled_from(["$", "0"])) if draw(st.booleans()) else draw(an_id())
        return ("XGROUP", "SETID", k, draw(group), start, *opts)
    if kind == 16:
        sub = draw(st.sampled_from(["DESTROY", "CREATECONSUMER", "DELCONSUMER"]))
        if sub == "DESTROY":
            return ("XGROUP", sub, k, draw(group))
        return ("XGROUP", sub, k, draw(group), draw(consumer))
    if kind == 17:
        return ("XACK", k, draw(group), *draw(st.lists(an_id(), min_size=1, max_size=3)))
    if kind == 18:
        if draw(st.booleans()):
            return ("XPENDING", k, draw(group))
        extra = ["IDLE", "0"] if draw(st.integers(0, 3)) == 0 else []
        tail = [draw(consumer)] if draw(st.booleans()) else []
        return (
            "XPENDING",
            k,
            draw(group),
            *extra,
            draw(an_id(True, True)),
            draw(an_id(True, True)),
            draw(small),
            *tail,
        )
    if kind in (19, 20):
        opts = []
        for opt in ("JUSTID", "FORCE"):
            if draw(st.integers(0, 2)) == 0:
                opts.append(opt)
        if draw(st.integers(0, 3)) == 0:
            opts += ["RETRYCOUNT", draw(small)]
        if draw(st.integers(0, 3)) == 0:
            opts += ["LASTID", draw(an_id())]
        if draw(st.integers(0, 4)) == 0:
            opts += ["TIME", "1000"]
        minidle = draw(st.sampled_from(["0", "0", "100000000"]))
        ids = draw(st.lists(an_id(), min_size=1, max_size=3))
        return ("XCLAIM", k, draw(group), draw(consumer), minidle, *ids, *opts)
    if kind == 21:
        opts = ["COUNT", draw(st.sampled_from(["1", "2", "3", "100"]))] if draw(st.booleans()) else []
        if draw(st.booleans()):
            opts.append("JUSTID")
        minidle = draw(st.sampled_from(["0", "0", "100000000"]))
        return ("XAUTOCLAIM", k, draw(group), draw(consumer), minidle, draw(an_id(True, True)), *opts)
    if kind == 22:
        opts = []
        if draw(st.integers(0, 2)) == 0:
            opts += ["ENTRIESADDED", draw(st.sampled_from(["0", "3", "20"]))]
        if draw(st.integers(0, 2)) == 0:
            opts += ["MAXDELETEDID", draw(an_id())]
        return ("XSETID", k, draw(an_id()), *opts)
    if kind == 23:
        return ("XINFO", "GROUPS", k)
    if kind == 24:
        return ("XINFO", "CONSUMERS", k, draw(group))
    if kind == 25:
        full = ("FULL", "COUNT", draw(small)) if draw(st.booleans()) else ()
        return ("XINFO", "STREAM", k, *full)
    if kind == 26:
        if draw(st.booleans()):
            return ("CONFIG", "SET", "stream-node-max-bytes", draw(st.sampled_from(["0", "60", "150", "400", "4096"])))
        return ("CONFIG", "SET", "stream-node-max-entries", draw(st.sampled_from(["0", "1", "2", "3", "100"])))
    if kind == 27:
        return ("SET", "str", "x")
    if kind == 28 and draw(st.booleans()):
        return ("DEL", k)
    return ("EXISTS", *KEYS)


def _final_state(p: Pair) -> None:
    for k in KEYS:
        xrun(p, "TYPE", k)
        if k != "str":
            xrun(p, "XRANGE", k, "-", "+")
            xrun(p, "XINFO", "STREAM", k, "FULL", "COUNT", "0")
            xrun(p, "XINFO", "GROUPS", k)


@st.composite
def preamble(draw):
    """Streams with entries, groups and pending entries to start from, so most commands find them."""
    out = [("SET", "str", "x")]
    for k in KEYS[:2]:
        n = draw(st.integers(0, 9))
        for i in range(1, n + 1):
            out.append(("XADD", k, "%d-%d" % (i, draw(st.integers(0, 1))), *draw(fields())))
        if draw(st.integers(0, 4)) == 0:
            out.append(("XDEL", k, "%d-0" % draw(st.integers(1, 9)), "%d-1" % draw(st.integers(1, 9))))
        for g in GROUPS:
            if draw(st.integers(0, 3)):
                start = draw(st.sampled_from(["0", "$", "2-0", "4-1", "0-0"]))
                out.append(("XGROUP", "CREATE", k, g, start, "MKSTREAM"))
                for _ in range(draw(st.integers(0, 2))):
                    count = draw(st.sampled_from(["1", "2", "3"]))
                    out.append(("XREADGROUP", "GROUP", g, draw(consumer), "COUNT", count, "STREAMS", k, ">"))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pre=preamble(), cmds=st.lists(stream_command(), min_size=1, max_size=30))
def test_random_sequences(pair, pre, cmds):
    pair.reset()
    xrun(pair, "CONFIG", "SET", "stream-node-max-entries", "3")
    xcheck(pair, pre + cmds, reset=False)
    _final_state(pair)
    xrun(pair, "CONFIG", "SET", "stream-node-max-entries", "100")
    xrun(pair, "CONFIG", "SET", "stream-node-max-bytes", "4096")


# ---------------------------------------------------------------------------
# Node boundaries: which entries share a listpack shows in XINFO STREAM and in `~` trimming.


def _info_counts(p: Pair, key: str) -> None:
    xrun(p, "XINFO", "STREAM", key)


def test_node_bytes_boundaries(p):
    """Entries of many sizes (strings, integer-like strings, both header widths) under the byte limit."""
    sizes = [1, 10, 62, 63, 64, 100, 500, 1000, 2000, 4095, 4096, 5000]
    n = 0
    for size in sizes:
        for value in ("v" * size, "7" * min(size, 18), "-" + "3" * min(size, 18)):
            n += 1
            xrun(p, "XADD", "s", "%d-1" % n, "field", value, "n", str(n))
            xrun(p, "XINFO", "STREAM", "s")
    xrun(p, "XADD", "s", "MAXLEN", "~", "10", "%d-1" % (n + 1), "f", "v")
    xrun(p, "XINFO", "STREAM", "s")
    xrun(p, "XRANGE", "s", "-", "+", "COUNT", "3")


@pytest.mark.parametrize("max_bytes", ["0", "100", "256", "1000"])
def test_node_bytes_config(p, max_bytes):
    xrun(p, "CONFIG", "SET", "stream-node-max-bytes", max_bytes)
    try:
        for i in range(1, 120):
            fields = ["a", "x" * (i % 37), "b", str(i * 977), "c", "-%d" % (i * 131071)]
            if i % 5 == 0:
                fields = ["other", "y" * (i % 13)]
            xrun(p, "XADD", "s", "%d-%d" % (i // 3, i % 3), *fields)
            if i % 7 == 0:
                xrun(p, "XDEL", "s", "%d-%d" % ((i - 4) // 3, (i - 4) % 3))
            if i % 10 == 0:
                xrun(p, "XINFO", "STREAM", "s")
        for thr in ("100", "90", "60", "33", "0"):
            xrun(p, "XTRIM", "s", "MAXLEN", "~", thr)
            xrun(p, "XINFO", "STREAM", "s")
    finally:
        xrun(p, "CONFIG", "SET", "stream-node-max-bytes", "4096")


def test_node_entries_and_approx_trimming(p):
    """Count limits (live + deleted), `~` with and without LIMIT, MINID on node edges."""
    xrun(p, "CONFIG", "SET", "stream-node-max-entries", "4")
    try:
        for i in range(1, 41):
            xrun(p, "XADD", "s", "%d-0" % i, "f", "v")
        xrun(p, "XDEL", "s", "5-0", "6-0", "7-0", "8-0", "12-0", "40-0")
        xrun(p, "XINFO", "STREAM", "s")
        for args in (("MAXLEN", "~", "35"), ("MAXLEN", "~", "31", "LIMIT", "3"), ("MAXLEN", "~", "31", "LIMIT", "4"),
                     ("MINID", "~", "14"), ("MINID", "~", "17", "LIMIT", "1"), ("MINID", "=", "18-0"),
                     ("MINID", "~", "21"), ("MAXLEN", "=", "15"), ("MAXLEN", "~", "0", "LIMIT", "0"),
                     ("MAXLEN", "~", "2")):  # fmt: skip
            xrun(p, "XTRIM", "s", *args)
            xrun(p, "XINFO", "STREAM", "s")
        for i in range(41, 60):
            xrun(p, "XADD", "s", "MAXLEN", "~", "6", "%d-0" % i, "f", "v")
            xrun(p, "XADD", "s", "MINID", "~", "%d" % (i - 5), "%d-1" % i, "f", "v")
        xrun(p, "XINFO", "STREAM", "s", "FULL")
        xrun(p, "CONFIG", "SET", "stream-node-max-entries", "0")
        for i in range(60, 300):
            xrun(p, "XADD", "s", "%d-0" % i, "f", "v")
        xrun(p, "XINFO", "STREAM", "s")
    finally:
        xrun(p, "CONFIG", "SET", "stream-node-max-entries", "100")


@pytest.mark.parametrize("seed", range(4))
def test_radix_tree_shapes(p, seed):
    """Many nodes with IDs that share prefixes in odd ways: radix-tree-nodes must match Redis's count."""
    import random

    rnd = random.Random(seed)
    xrun(p, "CONFIG", "SET", "stream-node-max-entries", "1")
    try:
        ids = set()
        while len(ids) < 150:
            ms = rnd.choice([rnd.randrange(300), rnd.randrange(1 << 40), rnd.randrange(1 << 64), 255, 256, 65535])
            seq = rnd.choice([0, 1, rnd.randrange(1 << 64), 255, 256])
            ids.add((ms, seq))
        for ms, seq in sorted(ids):
            xrun(p, "XADD", "s", "%d-%d" % (ms, seq), "f", "v")
        xrun(p, "XINFO", "STREAM", "s")
        order = sorted(ids)
        rnd.shuffle(order)
        for ms, seq in order[:120]:
            xrun(p, "XDEL", "s", "%d-%d" % (ms, seq))
            xrun(p, "XINFO", "STREAM", "s")
    finally:
        xrun(p, "CONFIG", "SET", "stream-node-max-entries", "100")


@pytest.mark.parametrize("seed", range(3))
def test_node_bytes_with_wild_ids(p, seed):
    """Byte-limited nodes with large and negative ID deltas and integer-looking values: the computed
    listpack size must split nodes exactly where Redis does."""
    import random

    rnd = random.Random(seed)
    xrun(p, "CONFIG", "SET", "stream-node-max-entries", "0")
    xrun(p, "CONFIG", "SET", "stream-node-max-bytes", str(rnd.choice([90, 150, 300, 700])))
    try:
        ms, seq = 0, 0
        for _ in range(250):
            step = rnd.choice(["seq", "seq", "ms", "big-ms", "big-seq"])
            if step == "seq":
                seq += rnd.randrange(1, 300)
            elif step == "big-seq":
                seq += rnd.randrange(1, 1 << 62)
            elif step == "ms":
                ms, seq = ms + rnd.randrange(1, 5000), rnd.randrange(0, 1 << rnd.choice([1, 8, 16, 40, 63]))
            else:
                ms, seq = ms + rnd.randrange(1, 1 << 62), rnd.randrange(0, 100)
            value = rnd.choice(["x" * rnd.randrange(0, 80), str(rnd.randrange(-(1 << 40), 1 << 40)), "0", "-1"])
            fields = ["f", value] if rnd.random() < 0.7 else ["g", value, "h", str(rnd.randrange(1 << 20))]
            xrun(p, "XADD", "s", "%d-%d" % (ms, seq), *fields)
            if rnd.random() < 0.1:
                xrun(p, "XINFO", "STREAM", "s")
        xrun(p, "XINFO", "STREAM", "s")
    finally:
        xrun(p, "CONFIG", "SET", "stream-node-max-entries", "100")
        xrun(p, "CONFIG", "SET", "stream-node-max-bytes", "4096")


def test_generated_ids(p):
    """`*` and `ms-*`: generated from the clock (shape compared) or from the last ID (exact)."""
    for args in (("XADD", "s", "*", "a", "1"), ("XADD", "s", "*", "b", "2")):
        a, b = p.both(*args)
        assert a[:1] == b[:1] == b"$" and a.split(b"\r\n")[1].split(b"-")[1] in (b"0", b"1", b"2"), (a, b)
        assert abs(int(a.split(b"\r\n")[1].split(b"-")[0]) - int(b.split(b"\r\n")[1].split(b"-")[0])) < 5000
    p.history.append(("XADD", "s", "*", "..."))
    xrun(p, "XLEN", "s")
    xrun(p, "XADD", "t", "99999999999999-5", "a", "1")
    xrun(p, "XADD", "t", "*", "a", "1")
    xrun(p, "XADD", "t", "99999999999999-*", "a", "1")
    xrun(p, "XADD", "t", "MAXLEN", "~", "1", "*", "a", "1")
    xrun(p, "XADD", "t", "99999999999998-*", "a", "1")
    xrun(p, "XADD", "t", "100000000000000-*", "a", "1")
    xrun(p, "XRANGE", "t", "-", "+")
    xrun(p, "XINFO", "STREAM", "t")


def test_xinfo_full_default_count(p):
    for i in range(1, 26):
        xrun(p, "XADD", "s", "%d-0" % i, "f", str(i))
    xrun(p, "XGROUP", "CREATE", "s", "g", "0")
    xrun(p, "XREADGROUP", "GROUP", "g", "alice", "COUNT", "12", "STREAMS", "s", ">")
    xrun(p, "XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">")
    xrun(p, "XCLAIM", "s", "g", "carol", "0", "3-0", "20-0", "TIME", "123456", "RETRYCOUNT", "4")
    for args in ((), ("COUNT", "0"), ("COUNT", "3"), ("COUNT", "30"), ("COUNT", "-1")):
        xrun(p, "XINFO", "STREAM", "s", "FULL", *args)
    xrun(p, "XINFO", "CONSUMERS", "s", "g")
    xrun(p, "XPENDING", "s", "g")
    xrun(p, "XPENDING", "s", "g", "-", "+", "100")
    xrun(p, "XPENDING", "s", "g", "IDLE", "1000000", "-", "+", "100")
    xrun(p, "XPENDING", "s", "g", "-", "+", "5", "carol")
    xrun(p, "XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT", "7")
    xrun(p, "XAUTOCLAIM", "s", "g", "dave", "0", "8-0", "COUNT", "7", "JUSTID")
    xrun(p, "XINFO", "STREAM", "s", "FULL", "COUNT", "0")


# ---------------------------------------------------------------------------
# Side effects: keyspace events, WATCH, the dirty counter


def _events(conn) -> list[bytes]:
    import time as _time

    conn.sock.settimeout(0.2)
    out = []
    deadline = _time.monotonic() + 0.3
    try:
        while _time.monotonic() < deadline:
            r = conn.read_reply()
            out.append(r)
    except (TimeoutError, OSError):
        pass
    finally:
        conn.sock.settimeout(5)
    return out


SIDE_EFFECTS = [
    ("XADD", "s", "3-1", "a", "1"), ("XADD", "s", "MAXLEN", "1", "4-1", "a", "1"), ("XADD", "s", "MAXLEN", "5", "5-1", "a", "1"),
    ("XTRIM", "s", "MAXLEN", "0"), ("XTRIM", "s", "MAXLEN", "5"), ("XDEL", "s", "1-1"), ("XDEL", "s", "9-9"),
    ("XSETID", "s", "9-9"), ("XGROUP", "CREATE", "s", "g2", "0"), ("XGROUP", "CREATE", "s", "g", "0"),
    ("XGROUP", "CREATE", "s3", "g2", "$", "MKSTREAM"), ("XGROUP", "SETID", "s", "g", "0"), ("XGROUP", "DESTROY", "s", "g"),
    ("XGROUP", "DESTROY", "s", "zz"), ("XGROUP", "CREATECONSUMER", "s", "g", "c2"), ("XGROUP", "CREATECONSUMER", "s", "g", "c"),
    ("XGROUP", "DELCONSUMER", "s", "g", "c"), ("XGROUP", "DELCONSUMER", "s", "g", "zz"),
    ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"), ("XREADGROUP", "GROUP", "g", "c9", "STREAMS", "s", "0"),
    ("XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "s", ">"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"),
    ("XREADGROUP", "GROUP", "g", "c7", "STREAMS", "s", ">"), ("XACK", "s", "g", "1-1"), ("XACK", "s", "g", "9-9"),
    ("XCLAIM", "s", "g", "c2", "0", "1-1"), ("XCLAIM", "s", "g", "c3", "0", "9-9"), ("XAUTOCLAIM", "s", "g", "c4", "0", "0"),
    ("XAUTOCLAIM", "s", "g", "c", "99999", "0"), ("XCLAIM", "s", "g", "c", "0", "9-9", "LASTID", "5-5"),
    ("XADD", "s", "NOMKSTREAM", "3-1", "a", "1"), ("XADD", "s4", "NOMKSTREAM", "3-1", "a", "1"),
    ("XADD", "s", "MAXLEN", "~", "0", "3-1", "a", "1"), ("XINFO", "STREAM", "s"), ("XPENDING", "s", "g"),
    ("XRANGE", "s", "-", "+"), ("XREAD", "STREAMS", "s", "0"),
]  # fmt: skip
SETUP = script(
    """
    XADD s 1-1 a 1
    XADD s 2-1 a 1
    XGROUP CREATE s g 0
    XREADGROUP GROUP g c COUNT 1 STREAMS s >
    """
)


def _conns(redis_server, respdb_server, n: int) -> list[tuple]:
    from conftest import RawConn

    return [(RawConn(redis_server.port), RawConn(respdb_server.port)) for _ in range(n)]


def test_keyspace_events(redis_server, respdb_server):
    """The notifications each command emits, in order, as Redis emits them."""
    p = Pair(redis_server.port, respdb_server.port)
    subs = _conns(redis_server, respdb_server, 1)[0]
    try:
        p.run("CONFIG", "SET", "notify-keyspace-events", "KEA")
        for sub in subs:
            sub.cmd("PSUBSCRIBE", "__keyevent@0__:*")
        for cmd in SIDE_EFFECTS:
            p.reset()
            for s in SETUP:
                p.run(*s)
            for sub in subs:
                _events(sub)
            xrun(p, *cmd)
            got = [_events(sub) for sub in subs]
            assert got[0] == got[1], (cmd, got)
    finally:
        p.run("CONFIG", "SET", "notify-keyspace-events", "")
        p.close()
        for sub in subs:
            sub.close()


def test_watch_sees_what_redis_sees(redis_server, respdb_server):
    """Which stream commands make a WATCHing transaction fail (signalModifiedKey), as in Redis."""
    p = Pair(redis_server.port, respdb_server.port)
    watchers = _conns(redis_server, respdb_server, 1)[0]
    try:
        for cmd in SIDE_EFFECTS:
            p.reset()
            for s in SETUP:
                p.run(*s)
            replies = []
            for w in watchers:
                w.cmd("WATCH", "s", "s3", "s4")
            xrun(p, *cmd)
            for w in watchers:
                w.cmd("MULTI")
                w.cmd("PING")
                replies.append(w.cmd("EXEC"))
            assert replies[0] == replies[1], (cmd, replies)
    finally:
        p.close()
        for w in watchers:
            w.close()


def test_dirty_counter_per_command(p):
    """rdb_changes_since_last_save moves as Redis counts stream changes."""

    def dirty(conn) -> int:
        from .harness import encode_command

        conn.send(encode_command(("INFO", "persistence")))
        for line in conn.read_reply().split(b"\r\n"):
            if line.startswith(b"rdb_changes_since_last_save:"):
                return int(line.split(b":")[1])
        raise AssertionError("no rdb_changes_since_last_save")

    for s in SETUP:
        p.run(*s)
    for cmd in SIDE_EFFECTS:
        before = dirty(p.redis), dirty(p.respdb)
        xrun(p, *cmd)
        after = dirty(p.redis), dirty(p.respdb)
        assert after[0] - before[0] == after[1] - before[1], (cmd, before, after)
