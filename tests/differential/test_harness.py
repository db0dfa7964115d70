"""The harness itself: it must notice differences, and its normalizations must stay narrow."""

from __future__ import annotations

import pytest

from .harness import Mismatch, Pair, parse, scan_reply, script, serialize, sorted_reply, split_line, tolerance


def test_parse_serialize_roundtrip() -> None:
    for raw in [
        b"+OK\r\n",
        b"-ERR x\r\n",
        b":-5\r\n",
        b"$-1\r\n",
        b"_\r\n",
        b"$3\r\na\r\n\r\n",
        b"*2\r\n$1\r\na\r\n*-1\r\n",
        b"%1\r\n$1\r\nk\r\n,1.5\r\n",
        b"~2\r\n:1\r\n:2\r\n",
        b"=7\r\ntxt:abc\r\n",
    ]:
        assert serialize(parse(raw)) == raw
    with pytest.raises(ValueError):
        parse(b"+OK\r\n+OK\r\n")


def test_split_line() -> None:
    assert split_line(r"SET k '' \x00") == (b"SET", b"k", b"", b"\x00")
    assert split_line('SET "a b" "\\xff\\r\\n"') == (b"SET", b"a b", b"\xff\r\n")
    assert script("GET a\n  # note\n\nGET b", ("X", "1")) == [(b"GET", b"a"), (b"GET", b"b"), ("X", "1")]


def test_normalizers_are_narrow() -> None:
    keys_a = parse(b"*2\r\n$1\r\na\r\n$1\r\nb\r\n")
    keys_b = parse(b"*2\r\n$1\r\nb\r\n$1\r\na\r\n")
    x, y = sorted_reply(keys_a, keys_b, ("KEYS", "*"))
    assert x == y
    x, y = sorted_reply(keys_a, parse(b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n"), ("KEYS", "*"))
    assert x != y

    ttl = tolerance(1)
    assert ttl(parse(b":10\r\n"), parse(b":9\r\n"), ())[0] == ttl(parse(b":10\r\n"), parse(b":9\r\n"), ())[1]
    x, y = ttl(parse(b":10\r\n"), parse(b":8\r\n"), ())
    assert x != y
    x, y = ttl(parse(b":0\r\n"), parse(b":-1\r\n"), ())
    assert x != y  # -1 / -2 are answers, not times

    done_a = parse(b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n")
    done_b = parse(b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n")
    x, y = scan_reply(done_a, done_b, ("SCAN", "0"))
    assert x == y
    short = parse(b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nb\r\n")
    x, y = scan_reply(done_a, short, ("SCAN", "0"))
    assert x != y
    resp3 = parse(b"*2\r\n$1\r\n0\r\n~0\r\n")
    x, y = scan_reply(parse(b"*2\r\n$1\r\n0\r\n*0\r\n"), resp3, ("SCAN", "0"))
    assert x != y


def test_compare_reports_the_first_mismatch(p: Pair) -> None:
    p.run("SET", "a", "1")
    with pytest.raises(Mismatch) as info:
        p.compare(("GET", "a"), b"$1\r\n1\r\n", b"$1\r\n2\r\n")
    text = str(info.value)
    assert "SET a 1" in text and "GET a" in text and "respdb" in text


def test_live_difference_is_detected(p: Pair) -> None:
    # The run ids of two different servers can never agree.
    with pytest.raises(Mismatch):
        p.run("INFO", "server")
