"""RESTORE of damaged payloads with and without deep sanitization (sanitize-dump-payload), the
same steps on respdb and a real redis-server.

Without deep sanitization Redis keeps a listpack whose header is sound as it is: the RESTORE
succeeds, the key behaves as a key, and the first command that walks into the damage stops the
server with an assertion (here with use-exit-on-panic, so the process exits with status 1).
With it, the RESTORE is refused. The payloads are made here: a real DUMP with one byte changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import STARTERS, RawConn, ServerProc
from test_replication import _info

from respdb.persistence import rdb
from respdb.persistence.crc64 import crc64
from respdb.persistence.packed import lp_pack, lp_str


def _bulk(reply: bytes) -> bytes:
    assert reply.startswith(b"$"), reply
    head, _, rest = reply.partition(b"\r\n")
    return rest[: int(head[1:])]


@contextmanager
def _server(kind: str, sanitize: str) -> Iterator[tuple[ServerProc, RawConn]]:
    s = STARTERS[kind]("--use-exit-on-panic", "yes", "--sanitize-dump-payload", sanitize)
    try:
        c = RawConn(s.port)
        assert c.cmd("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1") == b"+OK\r\n"
        yield s, c
    finally:
        s.stop()


def _damaged_hash(c: RawConn) -> bytes:
    """A listpack hash whose last value's back-length byte is wrong: the header is sound, the
    walk to the last element fails."""
    c.cmd("HSET", "h", "f1", "v1", "f2", "v2", "f3", "value3")
    payload = bytearray(_bulk(c.cmd("DUMP", "h")))
    assert payload[0] == rdb.T_HASH_LISTPACK
    end = len(payload) - 10  # the listpack ends with 0xFF right before the version and CRC
    assert payload[end - 1] == 0xFF and payload[end - 2] == 7  # "value3": 1 + 6 bytes
    payload[end - 2] = 9
    return bytes(payload)


def _damaged_stream(c: RawConn) -> bytes:
    """A stream whose last entry's lp-count back length is wrong."""
    c.cmd("CONFIG", "SET", "rdbcompression", "no")  # the listpack as it is in the payload
    for i in range(1, 4):
        c.cmd("XADD", "s", "%d-1" % i, "field", "value%d" % i)
    payload = bytearray(_bulk(c.cmd("DUMP", "s")))
    assert payload[0] == rdb.T_STREAM_LISTPACKS_2
    r = rdb.Reader(bytes(payload), 1)
    assert r.length() == 1 and len(r.string()) == 16  # one node and its master ID
    blob = r.string()
    end = r.pos - 1  # the node's terminator
    assert payload[end] == 0xFF and blob[-1] == 0xFF
    assert payload[end - 1] == 1  # the last lp-count: a 7-bit integer, back length 1
    payload[end - 1] = 2
    return bytes(payload)


def _stopped(s, c: RawConn, *cmd) -> str:
    """`cmd` stops the server: no reply, exit status 1 (use-exit-on-panic). Returns its log."""
    c.send_cmd(*cmd)
    with pytest.raises((ConnectionError, OSError)):
        reply = c.read_reply()
        raise AssertionError("replied %r" % reply)
    assert s.proc.wait(10) == 1
    with open(s.log, encoding="utf-8", errors="replace") as f:
        return f.read()


def _crashed(s, c: RawConn, *cmd: str) -> None:
    """`cmd` stops the server as an assertion does, with the report logged."""
    log = _stopped(s, c, *cmd)
    assert log.count("ASSERTION FAILED") == 1
    assert "crashed by signal" not in log


@pytest.mark.parametrize("kind", ["respdb", "redis"])
@pytest.mark.parametrize("make", [_damaged_hash, _damaged_stream], ids=["hash", "stream"])
def test_sanitized_restore_refuses_the_damage(kind: str, make) -> None:
    with _server(kind, "yes") as (s, c):
        payload = make(c)
        before = int(_info(c, "stats")["dump_payload_sanitizations"])
        assert c.cmd("RESTORE", "copy", "0", payload) == b"-ERR Bad data format\r\n"
        assert c.cmd("EXISTS", "copy") == b":0\r\n"
        assert int(_info(c, "stats")["dump_payload_sanitizations"]) > before


@pytest.mark.parametrize("kind", ["respdb", "redis"])
@pytest.mark.parametrize(
    ("make", "kind_name", "reader"),
    [(_damaged_hash, b"hash", ("HGETALL", "copy")), (_damaged_stream, b"stream", ("XRANGE", "copy", "-", "+"))],
    ids=["hash", "stream"],
)
def test_unsanitized_restore_keeps_the_bytes_until_read(kind: str, make, kind_name: bytes, reader) -> None:
    with _server(kind, "no") as (s, c):
        payload = make(c)
        assert c.cmd("RESTORE", "copy", "0", payload) == b"+OK\r\n"
        # the key itself is fine: type, TTL, rename, and DUMP gives back the bytes as read
        assert c.cmd("TYPE", "copy") == b"+" + kind_name + b"\r\n"
        assert c.cmd("EXPIRE", "copy", "1000") == b":1\r\n"
        assert c.cmd("RENAME", "copy", "moved") == b"+OK\r\n"
        assert _bulk(c.cmd("DUMP", "moved"))[:-10] == payload[:-10]
        assert c.cmd("RENAME", "moved", "copy") == b"+OK\r\n"
        _crashed(s, c, *reader)


@pytest.mark.parametrize("kind", ["respdb", "redis"])
def test_unsanitized_restore_can_be_deleted_untouched(kind: str) -> None:
    with _server(kind, "no") as (s, c):
        payload = _damaged_hash(c)
        assert c.cmd("RESTORE", "copy", "0", payload) == b"+OK\r\n"
        assert c.cmd("DEL", "copy") == b":1\r\n"
        assert (
            c.cmd("HGETALL", "h")
            == b"*6\r\n$2\r\nf1\r\n$2\r\nv1\r\n$2\r\nf2\r\n$2\r\nv2\r\n$2\r\nf3\r\n$6\r\nvalue3\r\n"
        )


@pytest.mark.parametrize("kind", ["respdb", "redis"])
def test_a_damaged_header_is_refused_even_unsanitized(kind: str) -> None:
    with _server(kind, "no") as (s, c):
        c.cmd("HSET", "h", "f", "v")
        payload = bytearray(_bulk(c.cmd("DUMP", "h")))
        payload[2] += 1  # the listpack's total-bytes field no longer matches its length
        assert c.cmd("RESTORE", "copy", "0", bytes(payload)) == b"-ERR Bad data format\r\n"
        assert c.cmd("PING") == b"+PONG\r\n"


def _dup_hash_payload() -> bytes:
    """A listpack hash with the field "a" twice (made here, as no server writes one)."""
    blob = lp_pack([lp_str(x) for x in (b"a", b"1", b"b", b"2", b"a", b"3")])
    body = bytes([rdb.T_HASH_LISTPACK]) + rdb.enc_str(blob, False) + b"\x0a\x00"
    return body + crc64(body).to_bytes(8, "little")


@pytest.mark.parametrize("kind", ["respdb", "redis"])
def test_duplicate_fields_panic_when_the_load_converts_the_hash(kind: str) -> None:
    with _server(kind, "no") as (s, c):
        c.cmd("CONFIG", "SET", "hash-max-listpack-entries", "1")
        log = _stopped(s, c, "RESTORE", "dup", "0", _dup_hash_payload())
        assert log.count("listpack with dup elements") == 1
        assert "Guru Meditation: Listpack corruption detected" in log


@pytest.mark.parametrize("kind", ["respdb", "redis"])
def test_clients_mode_sanitizes_all_but_skip_sanitize_users(kind: str) -> None:
    with _server(kind, "clients") as (s, c):
        payload = _damaged_hash(c)
        assert c.cmd("RESTORE", "copy", "0", payload) == b"-ERR Bad data format\r\n"
        c.cmd("ACL", "SETUSER", "trusted", "on", "nopass", "skip-sanitize-payload", "+@all", "~*")
        assert c.cmd("AUTH", "trusted", "x") == b"+OK\r\n"
        assert c.cmd("RESTORE", "copy", "0", payload) == b"+OK\r\n"
        assert c.cmd("TYPE", "copy") == b"+hash\r\n"
