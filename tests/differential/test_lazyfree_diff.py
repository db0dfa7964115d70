"""INFO lazyfreed_objects against Redis: which deletions Redis hands to its lazy-free thread."""

from __future__ import annotations

import re
import time

from .harness import Pair


def _freed(p: Pair) -> tuple[int, int]:
    # Redis's lazy-free thread counts an object once it has freed it: wait for it to finish.
    deadline = time.monotonic() + 5
    while True:
        a, b = p.both("INFO", "memory")
        if b"lazyfree_pending_objects:0\r\n" in a or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    pick = re.compile(rb"lazyfreed_objects:(\d+)")
    return int(pick.search(a).group(1)), int(pick.search(b).group(1))


def test_lazyfreed_objects_like_redis(pair2: Pair):
    p = pair2
    p.reset()
    p.run("CONFIG", "RESETSTAT")
    steps = [
        [("SADD", "bigset", *[str(i) + "x" for i in range(100)]), ("UNLINK", "bigset")],  # 100 > 64
        [("SADD", "ints", *[str(i) for i in range(100)]), ("UNLINK", "ints")],  # an intset: one allocation
        [("SADD", "s", *[str(i) + "x" for i in range(100)]), ("DEL", "s")],  # DEL frees in place
        [("ZADD", "z", *[x for i in range(200) for x in (str(i), "m%d" % i)]), ("UNLINK", "z")],
        [("HSET", "h", *[x for i in range(50) for x in ("f%d" % i, "v")]), ("UNLINK", "h")],  # a listpack
        [("RPUSH", "l", *["v" * 100] * 2000), ("UNLINK", "l")],  # about 25 quicklist nodes
        [("XADD", "st", "1-1", "a", "b"), ("UNLINK", "st")],
        [("SET", "a", "1"), ("SET", "b", "2"), ("SELECT", "1"), ("SET", "c", "3"), ("FLUSHALL", "ASYNC")],
        [("SET", "a", "1"), ("FLUSHDB", "SYNC")],
        [
            ("CONFIG", "SET", "lazyfree-lazy-user-del", "yes"),
            ("SADD", "s", *[str(i) + "x" for i in range(100)]),
            ("DEL", "s"),
            ("CONFIG", "SET", "lazyfree-lazy-user-del", "no"),
        ],  # fmt: skip
    ]
    for cmds in steps:
        for cmd in cmds:
            p.run(*cmd)
        redis_n, respdb_n = _freed(p)
        assert respdb_n == redis_n, (cmds[-1], redis_n, respdb_n)
    assert redis_n == 6
