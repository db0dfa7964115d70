"""CLIENT REPLY OFF / SKIP and Pub/Sub, compared with Redis byte for byte.

Redis pushes (un)subscribe confirmations past CLIENT REPLY OFF and SKIP (in RESP2 too), SKIP is
used up by the subscribing command, and published messages still arrive; other replies stay muted.
"""

from __future__ import annotations

import re
import socket
import time

import pytest

SCRIPTS = {
    "resp2-off": [b"CLIENT REPLY OFF", b"SUBSCRIBE ch", b"PSUBSCRIBE p*", b"UNSUBSCRIBE ch", b"PING"],
    "resp3-off": [b"HELLO 3", b"CLIENT REPLY OFF", b"SUBSCRIBE ch", b"PING", b"UNSUBSCRIBE", b"PING"],
    "resp2-skip": [b"CLIENT REPLY SKIP", b"PSUBSCRIBE *", b"PING"],
    "resp3-skip-then-off": [
        b"HELLO 3", b"CLIENT REPLY SKIP", b"SUBSCRIBE a b", b"ECHO x", b"CLIENT REPLY OFF", b"SSUBSCRIBE s",
        b"SUNSUBSCRIBE", b"PUNSUBSCRIBE", b"ECHO y",
    ],
}  # fmt: skip


def _session(port: int, script: list[bytes], publish: bool) -> bytes:
    s = socket.create_connection(("127.0.0.1", port))
    pub = socket.create_connection(("127.0.0.1", port))
    try:
        for cmd in script:
            s.sendall(cmd + b"\r\n")
            time.sleep(0.02)
            if publish and cmd.startswith(b"SUBSCRIBE"):
                # once the subscription is in (a loaded machine may take a while), a message
                # reaches the subscriber whatever its reply mode
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    pub.sendall(b"PUBSUB NUMSUB ch\r\n")
                    if not pub.recv(100).endswith(b":0\r\n"):
                        break
                    time.sleep(0.01)
                pub.sendall(b"PUBLISH ch hello\r\n")
                pub.recv(100)
        s.settimeout(0.3)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except TimeoutError:
            pass
        return re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"$2\r\nid\r\n:<id>\r\n", out)  # HELLO's client id
    finally:
        s.close()
        pub.close()


@pytest.mark.parametrize("publish", [False, True], ids=["alone", "published"])
@pytest.mark.parametrize("name", list(SCRIPTS))
def test_subscribe_confirmations_pass_reply_off(redis_server, respdb_server, name, publish):
    script = SCRIPTS[name]
    expected = _session(redis_server.port, script, publish)
    assert b"subscribe" in expected  # the confirmations are there to compare
    assert _session(respdb_server.port, script, publish) == expected
