"""Client-side caching (CLIENT TRACKING and friends), compared with a real redis-server."""

from __future__ import annotations

import socket
import time

import pytest

from tests.conftest import RawConn


def _exchange(port: int, script: list[tuple[int, bytes]], nconn: int = 3) -> list[bytes]:
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(nconn)]
    got = [b""] * nconn
    try:
        for i, s in enumerate(conns):
            s.sendall(b"CLIENT SETNAME c%d\r\n" % i)
        time.sleep(0.05)
        for s in conns:
            s.recv(100)
        for idx, data in script:
            # "{ID1}" stands for the id of connection 1 (redirect targets).
            if b"{ID1}" in data:
                conns[1].sendall(b"CLIENT ID\r\n")
                time.sleep(0.05)
                cid = conns[1].recv(100)[1:-2]
                data = data.replace(b"{ID1}", cid)
            conns[idx].sendall(data)
            time.sleep(0.05)
        time.sleep(0.1)
        for i, s in enumerate(conns):
            s.settimeout(0.2)
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got[i] += chunk
            except TimeoutError:
                pass
    finally:
        for s in conns:
            s.close()
    return got


SCRIPTS = {
    "default-mode": [
        (0, b"HELLO 3\r\nCLIENT TRACKING ON\r\nGET k\r\nMGET a b\r\n"),
        (2, b"SET k 1\r\nSET k 2\r\nSET a 1\r\n"),
        (0, b"GET k\r\n"),
        (2, b"DEL k\r\n"),
    ],
    "own-writes-and-noloop": [
        (0, b"HELLO 3\r\nCLIENT TRACKING ON\r\nGET k\r\nSET k 1\r\nGET x\r\n"),
        (0, b"CLIENT TRACKING ON NOLOOP\r\nGET x\r\nSET x 1\r\nCLIENT TRACKINGINFO\r\n"),
    ],
    "optin-optout": [
        (0, b"HELLO 3\r\nCLIENT TRACKING ON OPTIN\r\nGET a\r\nCLIENT CACHING YES\r\nGET b\r\n"),
        (2, b"SET a 1\r\nSET b 1\r\n"),
        (1, b"HELLO 3\r\nCLIENT TRACKING ON OPTOUT\r\nCLIENT CACHING NO\r\nGET c\r\nGET d\r\n"),
        (2, b"SET c 1\r\nSET d 1\r\n"),
        (0, b"CLIENT CACHING NO\r\nCLIENT TRACKINGINFO\r\n"),
    ],
    "bcast-prefixes": [
        (0, b"HELLO 3\r\nCLIENT TRACKING ON BCAST PREFIX user: PREFIX obj:\r\n"),
        (2, b"SET user:1 a\r\nSET other 1\r\nSET obj:9 x\r\n"),
        (0, b"CLIENT TRACKINGINFO\r\nCLIENT TRACKING ON BCAST PREFIX user:x\r\n"),
        (0, b"CLIENT TRACKING ON PREFIX a\r\nCLIENT TRACKING ON BCAST PREFIX p PREFIX pq\r\n"),
    ],
    "resp2-redirect": [
        (1, b"SUBSCRIBE __redis__:invalidate\r\n"),
        (0, b"CLIENT TRACKING ON REDIRECT {ID1}\r\nGET k\r\nCLIENT GETREDIR\r\n"),
        (2, b"SET k v\r\nFLUSHALL\r\n"),
    ],
    "flush-and-errors": [
        (0, b"HELLO 3\r\nCLIENT TRACKING ON\r\nGET k\r\nFLUSHDB\r\n"),
        (1, b"CLIENT TRACKING ON REDIRECT 999999\r\nCLIENT TRACKING ON OPTIN OPTOUT\r\n"),
        (1, b"CLIENT TRACKING ON BCAST OPTIN\r\nCLIENT CACHING YES\r\nCLIENT TRACKING MAYBE\r\n"),
        (1, b"CLIENT GETREDIR\r\nCLIENT TRACKINGINFO\r\nCLIENT TRACKING OFF\r\n"),
    ],
}


def _normalize(data: bytes) -> bytes:
    # HELLO's reply and CLIENT ID carry connection ids, which differ between servers.
    while b"%7\r\n$6\r\nserver" in data:
        start = data.index(b"%7\r\n$6\r\nserver")
        end = data.index(b"$7\r\nmodules\r\n*0\r\n", start) + len(b"$7\r\nmodules\r\n*0\r\n")
        data = data[:start] + b"<HELLO>" + data[end:]
    return data


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_tracking_matches_redis(name, respdb_server, redis_server):
    for port in (respdb_server.port, redis_server.port):
        RawConn(port).cmd("FLUSHALL")
    ours = [_normalize(x) for x in _exchange(respdb_server.port, SCRIPTS[name])]
    theirs = [_normalize(x) for x in _exchange(redis_server.port, SCRIPTS[name])]
    if name == "resp2-redirect":
        # GETREDIR answers the redirect target's id.
        ours = [
            x.split(b"\r\n:")[0] + x[x.find(b"\r\n", x.find(b"\r\n:") + 3) :] if i == 0 else x
            for i, x in enumerate(ours)
        ]
        theirs = [
            x.split(b"\r\n:")[0] + x[x.find(b"\r\n", x.find(b"\r\n:") + 3) :] if i == 0 else x
            for i, x in enumerate(theirs)
        ]
    for i, (x, y) in enumerate(zip(ours, theirs, strict=True)):
        assert x.split(b"\r\n") == y.split(b"\r\n"), f"connection {i}"
