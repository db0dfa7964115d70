"""Pub/Sub and keyspace notifications over TCP, compared with a real redis-server."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
import redis

from tests.conftest import RawConn


def _drain(sock: socket.socket, wait: float = 0.3) -> bytes:
    sock.settimeout(wait)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    return data


def _exchange(port: int, script: list[tuple[int, bytes]], nconn: int = 2) -> list[bytes]:
    """Send each (connection index, bytes) in order; return what every connection received."""
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(nconn)]
    got = [b""] * nconn
    try:
        for idx, data in script:
            conns[idx].sendall(data)
            time.sleep(0.05)
        time.sleep(0.1)
        for i, s in enumerate(conns):
            got[i] = _drain(s, 0.2)
    finally:
        for s in conns:
            s.close()
    return got


SCRIPTS = {
    "subscribe-context": [
        (0, b"SUBSCRIBE a b\r\nPING\r\nPING x\r\nGET k\r\nUNSUBSCRIBE a b\r\nUNSUBSCRIBE\r\n"),
        (0, b"PSUBSCRIBE h*\r\nPUNSUBSCRIBE\r\nPUNSUBSCRIBE\r\nSSUBSCRIBE s1\r\nSUNSUBSCRIBE\r\nSUNSUBSCRIBE\r\n"),
    ],
    "resp3-push-interleaved": [
        (0, b"HELLO 3\r\n"),
        (0, b"SUBSCRIBE a\r\nSET k v\r\nGET k\r\nPING\r\n"),
        (1, b"PUBLISH a m1\r\nPUBLISH nobody m2\r\n"),
        (0, b"GET k\r\nUNSUBSCRIBE\r\nUNSUBSCRIBE\r\n"),
    ],
    "patterns-and-channels": [
        # Redis walks its patterns in hash order: each message here matches one pattern only.
        (0, b"SUBSCRIBE news.1\r\nPSUBSCRIBE news.* m?ws.[12]\r\n"),
        (1, b"PUBLISH news.1 hello\r\nPUBLISH mews.2 x\r\nPUBLISH mews.3 no\r\nPUBSUB NUMSUB news.1 news.2\r\n"),
        (1, b"PUBSUB NUMPAT\r\n"),
        (1, b"PUBSUB CHANNELS\r\nPUBSUB CHANNELS news*\r\nPUBSUB CHANNELS zz*\r\n"),
    ],
    "shard-channels": [
        (0, b"SSUBSCRIBE s1 s2\r\n"),
        (1, b"SPUBLISH s1 hi\r\nPUBLISH s1 not-shard\r\nPUBSUB SHARDCHANNELS s1*\r\nPUBSUB SHARDNUMSUB s1 s3\r\n"),
    ],
    "keyspace-notifications": [
        (1, b"CONFIG SET notify-keyspace-events KEA\r\n"),
        (0, b"PSUBSCRIBE __key*\r\n"),
        (1, b"SET k v\r\nSET k v EX 100\r\nEXPIRE k 50\r\nPERSIST k\r\nAPPEND k x\r\nINCR n\r\nINCRBYFLOAT n 1.5\r\n"),
        (1, b"RENAME k k2\r\nDEL k2 n\r\nSETRANGE s 1 x\r\nGETDEL s\r\nMSET a 1 b 2\r\nCOPY a c\r\nMOVE c 1\r\n"),
        (1, b"GETEX a EX 10\r\nGETEX a PERSIST\r\nSET a 1 GET\r\nFLUSHDB\r\n"),
        # expired events: GET forces the expiry if the cron has not done it yet
        (1, b"CONFIG SET notify-keyspace-events Kx\r\nSET f 1 PX 1\r\n"),
        (1, b"GET f\r\n"),
        (1, b'CONFIG SET notify-keyspace-events ""\r\n'),
    ],
    "notification-classes": [
        (1, b"CONFIG SET notify-keyspace-events E$\r\n"),
        (0, b"SUBSCRIBE __keyevent@0__:set __keyevent@0__:del\r\n"),
        (1, b"SET a 1\r\nDEL a\r\nSET b 2\r\n"),
        (1, b'CONFIG SET notify-keyspace-events ""\r\n'),
    ],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_pubsub_matches_redis(name, respdb_server, redis_server):
    for port in (respdb_server.port, redis_server.port):
        RawConn(port).cmd("FLUSHALL")
    script = SCRIPTS[name]
    ours = _exchange(respdb_server.port, script)
    theirs = _exchange(redis_server.port, script)
    # HELLO's reply carries the connection id, which differs between servers.
    if ours[0].startswith(b"%7"):
        ours[0] = ours[0][ours[0].index(b"*0\r\n") :]
        theirs[0] = theirs[0][theirs[0].index(b"*0\r\n") :]
    for i, (x, y) in enumerate(zip(ours, theirs, strict=True)):
        xs, ys = x.split(b"\r\n"), y.split(b"\r\n")
        if xs != ys:
            k = next((j for j in range(min(len(xs), len(ys))) if xs[j] != ys[j]), min(len(xs), len(ys)))
            pytest.fail(f"connection {i} differs at line {k}: respdb {xs[k - 3 : k + 6]} redis {ys[k - 3 : k + 6]}")


def test_redis_py_pubsub_api(r, respdb_server):
    p = r.pubsub()
    p.subscribe("chan")
    p.psubscribe("pat*")
    assert p.get_message(timeout=1)["type"] == "subscribe"
    assert p.get_message(timeout=1)["type"] == "psubscribe"
    assert r.publish("chan", "one") == 1
    assert r.publish("pattern", "two") == 1
    m1 = p.get_message(timeout=1)
    m2 = p.get_message(timeout=1)
    assert (m1["type"], m1["data"]) == ("message", b"one")
    assert (m2["type"], m2["pattern"], m2["channel"], m2["data"]) == ("pmessage", b"pat*", b"pattern", b"two")
    assert r.pubsub_numsub("chan") == [(b"chan", 1)]
    p.close()


def test_resp3_subscriber_can_run_commands(r3, respdb_server):
    p = r3.pubsub()
    p.subscribe("c3")
    assert p.get_message(timeout=1)["type"] == "subscribe"
    assert r3.publish("c3", "x") == 1
    assert p.get_message(timeout=1)["data"] == b"x"
    p.close()


def test_slow_subscriber_is_disconnected(respdb_server):
    admin = RawConn(respdb_server.port)
    sub = socket.create_connection(("127.0.0.1", respdb_server.port))
    sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        admin.cmd("CONFIG", "SET", "client-output-buffer-limit", "pubsub 262144 0 0")
        sub.sendall(b"SUBSCRIBE flood\r\n")
        time.sleep(0.1)
        payload = b"x" * 10000
        pipe = b"".join(
            b"*3\r\n$7\r\nPUBLISH\r\n$5\r\nflood\r\n$%d\r\n%b\r\n" % (len(payload), payload) for _ in range(2000)
        )
        admin.send(pipe)
        for _ in range(2000):
            admin.read_reply()
        time.sleep(0.2)
        assert b"flood" not in admin.cmd("PUBSUB", "CHANNELS")
    finally:
        admin.cmd(
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        )
        admin.close()
        sub.close()


def test_one_publisher_many_subscribers_nothing_lost(respdb_server):
    """1 publisher, 100 subscribers: every message arrives, in publish order."""
    nsubs = 100
    nmsgs = int(os.environ.get("RESPDB_PUBSUB_MESSAGES", "5000"))
    subs = [redis.Redis(port=respdb_server.port).pubsub() for _ in range(nsubs)]
    for p in subs:
        p.subscribe("load")
        assert p.get_message(timeout=2)["type"] == "subscribe"
    received = [0] * nsubs
    ordered = [True] * nsubs

    def reader(i: int) -> None:
        p = subs[i]
        expect = 0
        while expect < nmsgs:
            m = p.get_message(timeout=10)
            if m is None:
                break
            if int(m["data"]) != expect:
                ordered[i] = False
            expect += 1
        received[i] = expect

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(nsubs)]
    for t in threads:
        t.start()
    pub = RawConn(respdb_server.port)
    batch = 500
    for start in range(0, nmsgs, batch):
        pub.send(b"".join(b"*3\r\n$7\r\nPUBLISH\r\n$4\r\nload\r\n$%d\r\n%d\r\n" % (len(str(i)), i)
                          for i in range(start, min(nmsgs, start + batch))))  # fmt: skip
        for _ in range(start, min(nmsgs, start + batch)):
            assert pub.read_reply() == b":%d\r\n" % nsubs
    for t in threads:
        t.join(120)
    pub.close()
    for p in subs:
        p.close()
    assert received == [nmsgs] * nsubs
    assert all(ordered)
