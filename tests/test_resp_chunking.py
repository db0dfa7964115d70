"""The request parser must give the same argv lists however the byte stream is cut into reads.

Regression: a read ending exactly between two arguments of a multibulk left hiredis half-way
through the request while has_data() was False, and the rest was then parsed as inline commands.
"""

from __future__ import annotations

import random

from respdb.resp import RequestParser


def enc(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def feed_all(chunks: list[bytes]) -> list[list[bytes]]:
    p = RequestParser()
    out: list[list[bytes]] = []
    for chunk in chunks:
        reqs, err = p.feed(chunk)
        assert err is None, err
        out += reqs
    assert p.pending() == 0
    return out


REQS = [
    [b"SET", b"k1", b"v1"],
    [b"MSET", b"a", b"1", b"bb", b"22", b"ccc", b"333"],
    [b"GET", b""],
    [b"PING"],
    [b"SET", b"bin", b"*3\r\n$3\r\nxyz\r\n"],
]
STREAM = b"".join(enc(*r) for r in REQS)


def test_every_single_cut():
    for i in range(1, len(STREAM)):
        assert feed_all([STREAM[:i], STREAM[i:]]) == REQS, i


def test_every_pair_of_cuts():
    n = len(STREAM)
    for i in range(1, n - 1):
        for j in range(i + 1, n):
            assert feed_all([STREAM[:i], STREAM[i:j], STREAM[j:]]) == REQS, (i, j)


def test_byte_at_a_time():
    assert feed_all([STREAM[i : i + 1] for i in range(len(STREAM))]) == REQS


def test_cuts_on_argument_boundaries_of_a_long_pipeline():
    rng = random.Random(7)
    reqs = [[b"MSET"] + [b"key:%012d" % (i * 10 + k) for k in range(10)] for i in range(300)]
    data = b"".join(enc(*r) for r in reqs)
    # every position right after a "\r\n" is a header or argument boundary
    bounds = [i + 2 for i in range(len(data)) if data[i : i + 2] == b"\r\n"]
    for _ in range(20):
        cuts = sorted(rng.sample(bounds[:-1], 40))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        assert feed_all(chunks) == reqs


def test_large_request_cut_between_arguments():
    # over RequestParser.BIG, so the parser streams it through hiredis without keeping a copy
    big = [b"MSET"] + [b"%07d" % i + b"x" * 1000 for i in range(3000)]
    after = [b"SET", b"k", b"v"]
    data = enc(*big) + enc(*after) + enc(b"GET", b"k")
    bounds = [i + 2 for i in range(len(data)) if data[i : i + 2] == b"\r\n"]
    rng = random.Random(3)
    for _ in range(5):
        cuts = sorted(rng.sample(bounds[:-1], 30))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        assert feed_all(chunks) == [big, after, [b"GET", b"k"]]
    # and cut right after the large request, inside the next one
    end = len(enc(*big))
    assert feed_all([data[: end - 10], data[end - 10 : end + 8], data[end + 8 :]]) == [big, after, [b"GET", b"k"]]


def test_inline_after_a_cut_request_still_works():
    data = enc(b"SET", b"k", b"v") + b"PING\r\n"
    for i in range(1, len(data)):
        assert feed_all([data[:i], data[i:]]) == [[b"SET", b"k", b"v"], [b"PING"]], i
