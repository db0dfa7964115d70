"""ROLE, WAIT, FAILOVER and the cluster commands of a non-cluster master, compared with Redis.

respdb has no replicas and no cluster mode; these are the replies a Redis master in that
state gives, including argument errors and WAIT's blocking until its timeout.
"""

from __future__ import annotations

import time

from conftest import RawConn

from .harness import Pair, script


def test_role_and_wait(p: Pair) -> None:
    p.check(
        script(
            """
            ROLE
            ROLE x
            WAIT 0 0
            WAIT -1 0
            WAIT 0 -1
            WAIT x 0
            WAIT 0 x
            WAIT 0 1.5
            WAIT 99999999999999999999 0
            WAIT 0
            SET k v
            WAIT 1 30
            WAIT 3 1
            MULTI
            WAIT 1 0
            EXEC
            """
        )
    )


def test_failover_without_replicas(p: Pair) -> None:
    p.check(
        script(
            """
            FAILOVER
            FAILOVER ABORT
            FAILOVER abort x
            FAILOVER TO 127.0.0.1 1
            FAILOVER TO 127.0.0.1 x
            FAILOVER TO 127.0.0.1
            FAILOVER TIMEOUT 0
            FAILOVER TIMEOUT -5
            FAILOVER TIMEOUT x
            FAILOVER TIMEOUT 100 TIMEOUT 5
            FAILOVER FORCE
            FAILOVER FORCE FORCE
            FAILOVER x
            FAILOVER TO h 1 TO h 2
            FAILOVER TO h 1 FORCE TIMEOUT 10
            """
        )
    )


def test_cluster_commands_when_cluster_is_off(p: Pair) -> None:
    p.check(
        script(
            """
            CLUSTER
            CLUSTER INFO
            CLUSTER HELP
            CLUSTER KEYSLOT foo
            CLUSTER KEYSLOT
            CLUSTER NODES
            CLUSTER SLOTS
            CLUSTER SHARDS
            CLUSTER MYID
            CLUSTER NOSUCH
            cluster info
            READONLY
            READONLY x
            READWRITE
            ASKING
            """
        )
    )


def test_wait_blocks_until_timeout_or_unblock(redis_server, respdb_server) -> None:
    got = []
    for port in (redis_server.port, respdb_server.port):
        waiter, other = RawConn(port), RawConn(port)
        try:
            wid = waiter.client_id()
            t0 = time.monotonic()
            seen = [waiter.cmd("WAIT", "1", "200")]
            assert time.monotonic() - t0 >= 0.19
            for mode in ("TIMEOUT", "ERROR"):
                waiter.send_cmd("WAIT", "1", "0")  # forever, until unblocked
                deadline = time.monotonic() + 5
                while b"blocked_clients:1" not in other.cmd("INFO", "clients"):
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
                assert waiter.silent(0.1)
                seen.append(other.cmd("CLIENT", "UNBLOCK", str(wid), mode))
                seen.append(waiter.read_reply())
            got.append(seen)
        finally:
            waiter.close()
            other.close()
    assert got[0] == got[1]
    assert got[1][:3] == [b":0\r\n", b":1\r\n", b":0\r\n"]
