"""DEBUG HTSTATS-KEY against Redis: a set's hash tables through growth, deletions while a forked
child runs, shrinking and rehashing (the scenario of the Tcl suite's "SRANDMEMBER with a dict
containing long chain"). Chains depend on each server's hash seed, so what is compared is the
tables' sizes, their element counts and whether a rehash is under way; at the end the scenario
leaves every member in one chain, which both must show."""

from __future__ import annotations

import os
import re
import signal
import subprocess

from conftest import RawConn
from test_replication import _info, _wait

from .harness import Pair

SECTION = re.compile(
    rb"Hash table (\d) stats \(([a-z ]+)\):\n(?:No stats|(?: table size: (\d+)\n number of elements: (\d+)))"
)


def _tables(conn: RawConn, key: str = "myset") -> list[tuple[int, int]]:
    """(size, elements) of each table, 0 for an empty one; two entries while rehashing."""
    text = conn.cmd("DEBUG", "HTSTATS-KEY", key)
    return [(int(m.group(3) or 0), int(m.group(4) or 0)) for m in SECTION.finditer(text)]


def _bgsave_running(conn: RawConn) -> bool:
    return _info(conn, "persistence")["rdb_bgsave_in_progress"] == "1"


def _kill_children(conn: RawConn) -> None:
    """kill -9 the server's forked child, as the Tcl test does, and wait until it is reaped."""
    pid = _info(conn, "server")["process_id"]
    for child in subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True).stdout.split():
        os.kill(int(child), signal.SIGKILL)
    _wait(lambda: not _bgsave_running(conn), what="the child to be reaped")


def _remove_to(conn: RawConn, keep: int) -> None:
    """Remove all but `keep` members, the first ones SSCAN returns (rem_hash_set_top_N)."""
    card = int(conn.cmd("SCARD", "myset")[1:-2])
    n = card - keep
    members: list[bytes] = []
    cursor = b"0"
    while len(members) < n:
        reply = conn.cmd("SSCAN", "myset", cursor)
        parts = reply.split(b"\r\n")
        cursor = parts[2]
        members += parts[5::2][: n - len(members)]
        if cursor == b"0":
            break
    conn.cmd("SREM", "myset", *members)


def _until_rehashed(conn: RawConn) -> None:
    for _ in range(100_000):
        if len(_tables(conn)) == 1:
            return
        conn.cmd("SRANDMEMBER", "myset", "1")
    raise AssertionError("still rehashing")


def test_set_tables_like_redis(pair2: Pair):
    p = pair2
    p.reset()
    conns = (p.redis, p.respdb)
    saved = [p.both("CONFIG", "GET", name)[0].split(b"\r\n")[-2] for name in ("save", "rdb-key-save-delay")]
    p.both("CONFIG", "SET", "save", "")
    p.both("CONFIG", "SET", "set-max-intset-entries", "0")
    try:
        for i in range(0, 100_000, 1000):
            p.both("SADD", "myset", *["m:%d" % j for j in range(i, i + 1000)])
        for conn in conns:
            while len(_tables(conn)) > 1:
                conn.cmd("SRANDMEMBER", "myset", "100")
        assert [_tables(c) for c in conns] == [[(131072, 100_000)]] * 2

        # deletions while a child runs: no shrinking
        p.both("CONFIG", "SET", "rdb-key-save-delay", "2147483647")
        assert p.both("BGSAVE") == (b"+Background saving started\r\n",) * 2
        for conn in conns:
            _remove_to(conn, 500)
        assert [_tables(c) for c in conns] == [[(131072, 500)]] * 2
        for conn in conns:
            _kill_children(conn)

        # the next deletion shrinks: a rehash into 512 buckets begins
        p.both("SPOP", "myset", "1")
        assert [_tables(c) for c in conns] == [[(131072, 499), (0, 0)]] * 2

        # a child runs again, but the tables are far apart: rehashing goes on and finishes
        assert p.both("BGSAVE") == (b"+Background saving started\r\n",) * 2
        for conn in conns:
            _until_rehashed(conn)
        assert [_tables(c) for c in conns] == [[(512, 499)]] * 2
        for conn in conns:
            _kill_children(conn)

        # down to 30: the shrink to 64 starts, and the members left share the old table's
        # last bucket in scan order, which the rehash has not reached yet
        for conn in conns:
            _remove_to(conn, 30)
        for text in p.both("DEBUG", "HTSTATS-KEY", "myset"):
            assert b"different slots: 1\n max chain length: 30\n" in text
        assert [_tables(c) for c in conns] == [[(512, 30), (0, 0)]] * 2
    finally:
        p.both("CONFIG", "SET", "rdb-key-save-delay", saved[1].decode())
        p.both("CONFIG", "SET", "save", saved[0].decode())
        p.both("CONFIG", "SET", "set-max-intset-entries", "512")
        for conn in conns:
            if _bgsave_running(conn):
                _kill_children(conn)
        p.reset()


def _keyspace_sizes(conn: RawConn) -> list[int]:
    return [int(x) for x in re.findall(rb"table size: (\d+)", conn.cmd("DEBUG", "HTSTATS", "0"))]


def test_keyspace_table_waits_for_the_child_like_redis(pair2: Pair):
    """unit/other's "Don't rehash if redis has child process": the keyspace's dict does not grow
    while a BGSAVE child runs, and grows at the first insertion after it."""
    p = pair2
    p.reset()
    conns = (p.redis, p.respdb)
    delay = p.both("CONFIG", "GET", "rdb-key-save-delay")[0].split(b"\r\n")[-2]
    try:
        p.both("DEBUG", "POPULATE", "4096", "", "1")
        assert [_keyspace_sizes(c) for c in conns] == [[4096]] * 2
        p.both("CONFIG", "SET", "rdb-key-save-delay", "1000000")
        assert p.both("BGSAVE") == (b"+Background saving started\r\n",) * 2
        p.both("MSET", "k1", "v1", "k2", "v2")
        assert [_keyspace_sizes(c) for c in conns] == [[4096]] * 2
        for conn in conns:
            _kill_children(conn)
        assert [_keyspace_sizes(c) for c in conns] == [[4096]] * 2
        p.both("SET", "k3", "v3")
        redis_sizes, respdb_sizes = (_keyspace_sizes(c) for c in conns)
        assert 8192 in redis_sizes and respdb_sizes == [8192]  # (Redis may still be rehashing)
    finally:
        p.both("CONFIG", "SET", "rdb-key-save-delay", delay.decode())
        for conn in conns:
            if _bgsave_running(conn):
                _kill_children(conn)
        p.reset()
