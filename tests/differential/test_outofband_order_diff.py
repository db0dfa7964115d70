"""Out-of-band output (Pub/Sub messages, invalidations) interleaved with replies, against Redis.

respdb holds a connection's messages until the end of the loop iteration and sends them in one
write; these tests pin that the bytes each client receives, in order, are Redis's: a RESP3
subscriber publishing to itself inside a pipeline, a subscriber sending commands while a
pipelined publisher floods it, and tracking invalidations ahead of the next read's reply.
"""

from __future__ import annotations

import time

import pytest
from conftest import RawConn


def _drain(conn: RawConn, replies: int) -> bytes:
    return b"".join(conn.read_reply() for _ in range(replies))


def _pipeline(*cmds: tuple[bytes | str, ...]) -> bytes:
    out = []
    for args in cmds:
        out.append(b"*%d\r\n" % len(args))
        for a in args:
            b = a.encode() if isinstance(a, str) else a
            out.append(b"$%d\r\n%b\r\n" % (len(b), b))
    return b"".join(out)


@pytest.fixture
def ports(respdb_server, redis_server):
    for port in (respdb_server.port, redis_server.port):
        c = RawConn(port)
        c.cmd("FLUSHALL")
        c.close()
    return {"respdb": respdb_server.port, "redis": redis_server.port}


def _both(ports, scenario) -> None:
    got = {name: scenario(port) for name, port in ports.items()}
    assert got["respdb"] == got["redis"]


def test_resp3_subscriber_publishing_to_itself_in_a_pipeline(ports) -> None:
    def scenario(port: int) -> bytes:
        c = RawConn(port, proto=3)
        try:
            c.cmd("SUBSCRIBE", "ch")
            c.send(
                _pipeline(
                    ("PING",), ("PUBLISH", "ch", "m1"), ("SET", "k", "v"), ("PUBLISH", "ch", "m2"),
                    ("PUBLISH", "other", "x"), ("GET", "k"), ("PING",),
                )
            )  # fmt: skip
            out = _drain(c, 9)  # 7 replies and 2 pushes
            assert c.silent(0.1)
            return out
        finally:
            c.close()

    _both(ports, scenario)


@pytest.mark.parametrize("proto", [2, 3])
def test_flooded_subscriber_sees_messages_before_its_own_reply(ports, proto: int) -> None:
    def scenario(port: int) -> bytes:
        sub = RawConn(port, proto=proto)
        pub = RawConn(port)
        try:
            sub.cmd("SUBSCRIBE", "ch")
            pub.send(_pipeline(*[("PUBLISH", "ch", "msg-%d" % i) for i in range(200)]))
            assert _drain(pub, 200) == b":1\r\n" * 200
            sub.send_cmd("PING")
            out = _drain(sub, 201)
            assert sub.silent(0.1)
            return out
        finally:
            sub.close()
            pub.close()

    _both(ports, scenario)


def test_messages_from_several_publishers_keep_publish_order(ports) -> None:
    def scenario(port: int) -> bytes:
        sub = RawConn(port)
        pubs = [RawConn(port) for _ in range(3)]
        try:
            sub.cmd("PSUBSCRIBE", "c*")
            sub.cmd("SUBSCRIBE", "ch")
            for i in range(30):
                assert pubs[i % 3].cmd("PUBLISH", "ch", "n%d" % i) == b":2\r\n"
            out = _drain(sub, 60)
            assert sub.silent(0.1)
            return out
        finally:
            sub.close()
            for p in pubs:
                p.close()

    _both(ports, scenario)


def test_invalidation_arrives_before_the_next_reply(ports) -> None:
    def scenario(port: int) -> bytes:
        t = RawConn(port, proto=3)
        w = RawConn(port)
        try:
            assert t.cmd("CLIENT", "TRACKING", "ON") == b"+OK\r\n"
            w.cmd("SET", "k", "1")
            first = t.cmd("GET", "k")
            w.send(_pipeline(("SET", "k", "2"), ("SET", "k", "3"), ("INCR", "k")))
            assert _drain(w, 3) == b"+OK\r\n+OK\r\n:4\r\n"
            time.sleep(0.05)
            t.send_cmd("GET", "k")
            out = first + _drain(t, 2)  # the invalidation push, then the reply
            assert t.silent(0.1)
            return out
        finally:
            t.close()
            w.close()

    _both(ports, scenario)
