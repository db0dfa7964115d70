"""The request parser on its own (no sockets): Redis 7.0's request rules, limits, and fuzzing.

Expected results were taken from a real redis-server 7.0 (tests/test_protocol.py checks the
same inputs over TCP against one). The hypothesis tests check that the hiredis fast path and
the pure-Python reference parser agree on any input, however it is cut into reads.
"""

from __future__ import annotations

import time

import hiredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from respdb.resp import (
    FAST_WINDOW,
    QUERY_BUF_LIMIT,
    ParserLimits,
    RequestParser,
    SlowParser,
    split_inline,
)


def enc(*args: bytes) -> bytes:
    return hiredis.pack_command(tuple(args))


def feed_chunks(chunks: list[bytes], parser: RequestParser | None = None) -> tuple[list[list[bytes]], str | None]:
    """Feed reads one after the other; stop at the first error, like the server does."""
    p = parser or RequestParser()
    out: list[list[bytes]] = []
    for chunk in chunks:
        reqs, err = p.feed(chunk)
        out += reqs
        if err is not None:
            return out, err
    return out, None


def reference(data: bytes, limits: ParserLimits | None = None) -> tuple[list[list[bytes]], str | None]:
    """The pure-Python parser alone, on all the data at once."""
    out: list[list[bytes]] = []
    _, err, _ = SlowParser(limits or ParserLimits()).parse(data, 0, out)
    return out, err


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    cuts = sorted({c for c in cuts if 0 < c < len(data)})
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


# (input, requests, error): what redis-server 7.0 executes and the error it replies before closing
CASES = [
    (b"PING\r\n", [[b"PING"]], None),
    (b"PING\n", [[b"PING"]], None),
    (b"\r\n\n  \t\r\nPING\r\n", [[b"PING"]], None),
    (b'SET k "a\\x41b\\n"\r\n', [[b"SET", b"k", b"aAb\n"]], None),
    (b"SET k 'a\\'b'\r\n", [[b"SET", b"k", b"a'b"]], None),
    (b'ECHO "\\x4g"\r\n', [[b"ECHO", b"x4g"]], None),
    (b"ECHO a\x0bb\r\n", [[b"ECHO", b"a\x0bb"]], None),  # \v and \f do not end a token
    (b'ECHO a"b c"d e\r\n', None, "ERR Protocol error: unbalanced quotes in request"),
    (b'ECHO "abc\r\n', [], "ERR Protocol error: unbalanced quotes in request"),
    (b"ECHO 'abc\r\n", [], "ERR Protocol error: unbalanced quotes in request"),
    (b'ECHO "a"b\r\n', [], "ERR Protocol error: unbalanced quotes in request"),
    (b'ECHO ""\r\n', [[b"ECHO", b""]], None),
    (b"*abc\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*-0\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*01\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*+1\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*2147483648\r\n", [], "ERR Protocol error: invalid multibulk length"),
    (b"*2147483647\r\n", [], None),  # accepted: waits for its arguments
    (b"*3\r\n:1\r\n", [], "ERR Protocol error: expected '$', got ':'"),
    (b"*1\r\n+PING\r\n", [], "ERR Protocol error: expected '$', got '+'"),
    (b"*1\r\n*1\r\n*1\r\n", [], "ERR Protocol error: expected '$', got '*'"),
    (b"*1\r\n\r\n", [], "ERR Protocol error: expected '$', got ' '"),  # CR/LF shown as a space
    (b"*1\r\n\rx", [], "ERR Protocol error: expected '$', got ' '"),
    (b"*1\r\n$-5\r\n", [], "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$-1\r\n", [], "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$04\r\nPING\r\n", [], "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$\r\n", [], "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$536870913\r\n", [], "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$536870912\r\n", [], None),
    (b"*1\r\n$99999999999999999999\r\n", [], "ERR Protocol error: invalid bulk length"),
    (b"*0\r\nPING\r\n", [[b"PING"]], None),
    (b"*-1\r\nPING\r\n", [[b"PING"]], None),
    (b"*-5\r\nPING\r\n", [[b"PING"]], None),
    (b"~1\r\n$4\r\nPING\r\n", [[b"~1"], [b"$4"], [b"PING"]], None),  # not '*': inline
    (b"$-1\r\n_\r\n", [[b"$-1"], [b"_"]], None),
    (b"*1\rX$4\r\nPING\r\n", [[b"PING"]], None),  # the byte after '\r' is not checked
    (b"*1\r\n$4\r\nPINGxyPING\r\n", [[b"PING"], [b"PING"]], None),  # nor the two after bulk data
    (b"PING\x00\r\nPING\r\n", [], None),  # a NUL hides the newline: Redis waits
    (b"*1\x00\r\n", [], None),
    (b"*1\r\n\x00\r\n", [], None),
    (b"*1\r\n$4\r\nPING\r\n*1\r\n:1\r\n", [[b"PING"]], "ERR Protocol error: expected '$', got ':'"),
    (b"*2\r\n$3\r\nGET\r\n$3\r\nk\x00\n\r\n", [[b"GET", b"k\x00\n"]], None),
    # pipelined after a request: hiredis's other types are not requests
    (b"*1\r\n$4\r\nPING\r\n>1\r\n$4\r\nPING\r\n", [[b"PING"], [b">1"], [b"$4"], [b"PING"]], None),
    (b"*1\r\n$4\r\nPING\r\n%1\r\n$1\r\na\r\n$1\r\nb\r\n", [[b"PING"], [b"%1"], [b"$1"], [b"a"], [b"$1"], [b"b"]], None),
    (b"*1\r\n$4\r\nPING\r\n#f\r\n*1\r\n$4\r\nPING\r\n", [[b"PING"], [b"#f"], [b"PING"]], None),
    (b"*1\r\n$4\r\nPING\r\n:0\r\n", [[b"PING"], [b":0"]], None),
    (b"*1\r\n$4\r\nPING\r\n*0\r\n*1\r\n$4\r\nPING\r\n", [[b"PING"], [b"PING"]], None),
    (b"*1\r\n$4\r\nPING\r\n*1\r\n:0\r\n", [[b"PING"]], "ERR Protocol error: expected '$', got ':'"),
]


@pytest.mark.parametrize(("data", "reqs", "err"), CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_redis_request_rules(data: bytes, reqs: list | None, err: str | None) -> None:
    got = RequestParser().feed(data)
    if reqs is None:
        assert got[1] == err
    else:
        assert got == (reqs, err)
    assert reference(data)[1] == err


@pytest.mark.parametrize(("data", "reqs", "err"), CASES, ids=[repr(c[0])[:40] for c in CASES])
def test_one_byte_at_a_time(data: bytes, reqs: list | None, err: str | None) -> None:
    assert feed_chunks([data[i : i + 1] for i in range(len(data))]) == RequestParser().feed(data)


def test_split_inline_like_sdssplitargs() -> None:
    assert split_inline(b"  a  b\tc ") == [b"a", b"b", b"c"]
    assert split_inline(b"\"a b\" 'c d'") == [b"a b", b"c d"]
    assert split_inline(b'"\\x41\\x4a\\n\\r\\t\\b\\a\\z\\""') == [b'AJ\n\r\t\b\az"']
    assert split_inline(b"'\\x41\\n'") == [b"\\x41\\n"]  # no escapes in single quotes but \'
    assert split_inline(b'x"y"') == [b"xy"]
    assert split_inline(b'"a"b') is None
    assert split_inline(b'"a"\x0bb') == [b"a", b"b"]  # a closing quote may be followed by any isspace()
    assert split_inline(b"a\x0bb\x0cc") == [b"a\x0bb\x0cc"]  # ... but only " \n\r\t" end a bare token
    assert split_inline(b'"abc') is None
    assert split_inline(b'"abc\\') is None
    assert split_inline(b"a\x00b c") == [b"a"]  # a C string ends at NUL
    assert split_inline(b'"a\x00b"') is None
    assert split_inline(b"") == []


def test_unauthenticated_limits() -> None:
    def unauth(data: bytes) -> tuple[list, str | None]:
        p = RequestParser()
        p.auth_required = True
        return p.feed(data)

    assert unauth(b"*11\r\n") == ([], "ERR Protocol error: unauthenticated multibulk length")
    assert unauth(b"*10\r\n") == ([], None)
    assert unauth(b"*1\r\n$16385\r\n") == ([], "ERR Protocol error: unauthenticated bulk length")
    assert unauth(b"*1\r\n$16384\r\n") == ([], None)
    # one request at a time before AUTH, the rest waits in the parser
    p = RequestParser()
    p.auth_required = True
    assert p.feed(enc(b"AUTH", b"pw") + b"*11\r\n", one=True) == ([[b"AUTH", b"pw"]], None)
    p.auth_required = False  # AUTH succeeded: the rest is parsed with the normal limits
    assert p.feed(b"") == ([], None)
    assert p.feed(b"".join(b"$1\r\n%d\r\n" % (i % 10) for i in range(11))) == (
        [[b"%d" % (i % 10) for i in range(11)]],
        None,
    )


def test_limits_are_shared_and_live() -> None:
    limits = ParserLimits()
    a, b = RequestParser(limits=limits), RequestParser(limits=limits)
    limits.max_bulk = 1024 * 1024
    assert a.feed(b"*1\r\n$1048577\r\n")[1] == "ERR Protocol error: invalid bulk length"
    assert b.feed(b"*1\r\n$1048576\r\n") == ([], None)


def test_query_buffer_limit_on_a_big_bulk() -> None:
    limit = 1024 * 1024
    head = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"
    for size, closed in ((limit - 2, False), (limit - 1, True), (limit + 100, True)):
        data = head + b"$%d\r\n" % size + b"v" * size + b"\r\n"
        got = feed_chunks(split_at(data, list(range(0, len(data), 65536))), RequestParser(qbuf_limit=limit))
        assert got == (([], QUERY_BUF_LIMIT) if closed else ([[b"SET", b"k", b"v" * size]], None)), size
    # an incomplete bulk is refused once more than the limit has arrived, not before
    p = RequestParser(qbuf_limit=limit)
    assert p.feed(head + b"$2000000\r\n" + b"v" * limit) == ([], None)
    assert p.pending() == limit
    assert p.feed(b"v") == ([], QUERY_BUF_LIMIT)


def test_big_values_are_linear() -> None:
    value = bytes(range(256)) * (100 * 4096)  # 100MB
    data = enc(b"SET", b"big", value) + enc(b"GET", b"big")
    for step in (65536, 16384):
        p = RequestParser()
        t0 = time.perf_counter()
        out: list[list[bytes]] = []
        for i in range(0, len(data), step):
            reqs, err = p.feed(data[i : i + step])
            assert err is None
            out += reqs
        elapsed = time.perf_counter() - t0
        assert out == [[b"SET", b"big", value], [b"GET", b"big"]]
        assert elapsed < 3.0, (step, elapsed)  # well under a second when linear


@pytest.mark.parametrize(
    "data",
    [b"*1\r\n*2147483647\r\n", b"*2\r\n~2000000000\r\n", b"*1\r\n>2000000000\r\n", b"*1\r\n|2000000000\r\n"],
)
def test_huge_aggregate_counts_cost_nothing(data: bytes) -> None:
    # hiredis allocates the whole list when it reads such a header (seconds to free it)
    t0 = time.perf_counter()
    for _ in range(3):
        reqs, err = RequestParser().feed(data + enc(b"PING"))
        assert reqs == [] and err is not None and err.startswith("ERR Protocol error: expected '$'")
    assert time.perf_counter() - t0 < 0.5


def test_pipeline_across_fast_windows() -> None:
    reqs = [[b"SET", b"key:%d" % i, b"v" * (i * 37 % 3000)] for i in range(300)]
    data = b"".join(enc(*r) for r in reqs)
    assert len(data) > 100 * FAST_WINDOW
    assert RequestParser().feed(data) == (reqs, None)
    assert feed_chunks(split_at(data, list(range(0, len(data), 1000)))) == (reqs, None)


# -- fuzzing -----------------------------------------------------------------

args_st = st.lists(st.binary(max_size=40) | st.sampled_from([b"", b"\r\n", b"*1\r\n$4\r\nPING\r\n", b"x" * 3000]),
                   min_size=1, max_size=6)  # fmt: skip
inline_st = st.lists(st.sampled_from([b"PING", b"ECHO", b'"a b"', b"'c'", b"x"]), min_size=1, max_size=4).map(
    lambda a: b" ".join(a) + b"\r\n"
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reqs=st.lists(args_st | inline_st, min_size=1, max_size=12), data=st.data())
def test_any_split_of_a_valid_pipeline_gives_the_same_requests(reqs, data) -> None:
    stream = b"".join(r if isinstance(r, bytes) else enc(*r) for r in reqs)
    expected = [split_inline(r[:-2]) if isinstance(r, bytes) else r for r in reqs]
    assert RequestParser().feed(stream) == (expected, None)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    assert feed_chunks(split_at(stream, cuts)) == (expected, None)


TOKENS = [b"*", b"$", b"\r\n", b"\r", b"\n", b"0", b"1", b"-", b"\x00", b" ", b"\t", b"\x0b", b'"', b"'", b"\\",
          b"\\x4", b"PING", b"a"]  # fmt: skip
TYPES = [b"*", b"*", b"*", b"$", b"$", b"+", b":", b"-", b"~", b">", b"|", b"%", b"_", b"#", b"=", b"(", b",", b"!"]
NUMBERS = [b"-1", b"0", b"1", b"1", b"2", b"3", b"4", b"10", b"12345", b"01", b"-0", b"+1", b"", b"x"]
TERMS = [b"\r\n", b"\r\n", b"\r\n", b"\n", b"\r", b"\rX", b"", b"\x00\r\n"]
header_st = st.builds(
    lambda t, n, e: t + n + e, st.sampled_from(TYPES), st.sampled_from(NUMBERS), st.sampled_from(TERMS)
)
bulk_st = st.builds(
    lambda d, delta, end: b"$%d\r\n" % max(0, len(d) + delta) + d + end,
    st.binary(max_size=6) | st.sampled_from([b"PING", b"GET", b"txt:x"]),
    st.sampled_from([0, 0, 0, -1, 1, 4]),
    st.sampled_from([b"\r\n", b"\r\n", b"xy", b"\n"]),
)
garbage_st = st.lists(
    header_st | bulk_st | args_st.map(lambda a: enc(*a)) | inline_st | st.sampled_from(TOKENS) | st.binary(max_size=4),
    max_size=16,
).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(data=garbage_st, cuts=st.lists(st.integers(0, 200), max_size=6))
def test_garbage_never_raises_and_fast_path_agrees_with_reference(data: bytes, cuts: list[int]) -> None:
    whole = RequestParser().feed(data)
    reqs, err = whole
    assert err is None or err.startswith("ERR Protocol error: ")
    assert all(type(r) is list and r and all(type(a) is bytes for a in r) for r in reqs)
    assert whole == reference(data)
    assert feed_chunks(split_at(data, cuts)) == whole


@settings(max_examples=100, deadline=None)
@given(data=garbage_st)
def test_one_at_a_time_mode_agrees(data: bytes) -> None:
    p = RequestParser()
    out: list[list[bytes]] = []
    reqs, err = p.feed(data, one=True)
    while True:
        assert len(reqs) <= 1
        out += reqs
        if err is not None or not reqs:
            break
        reqs, err = p.feed(b"", one=True)
    assert (out, err) == RequestParser().feed(data)
