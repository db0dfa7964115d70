"""RESP2/RESP3 wire format: a sans-IO request parser and reply encoders.

The parser turns bytes into argv lists. hiredis does the common case (well-formed
multibulk requests); a pure-Python parser that mirrors Redis's own rules handles
inline commands, protocol errors and the limits hiredis does not know about
(`proto-max-bulk-len`, line lengths), so clients see Redis's exact error text.

Reply encoders return finished RESP bytes. Where RESP2 and RESP3 differ the
encoder takes the client's protocol version.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import hiredis

PROTO_INLINE_MAX_SIZE = 1024 * 64
PROTO_MBULK_BIG_ARG = 1024 * 32
INT_MAX = 2**31 - 1


class ProtocolError(Exception):
    """A request that violates the protocol: reply the message, then close."""


# ---------------------------------------------------------------------------
# Request parsing


def split_inline(line: bytes) -> list[bytes] | None:
    """Split an inline command like Redis's sdssplitargs; None on unbalanced quotes."""
    args: list[bytes] = []
    i = 0
    n = len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f":
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    return None
                c = line[i]
                if c == 0x5C and i + 3 < n and line[i + 1] == 0x78 and _ishex(line[i + 2]) and _ishex(line[i + 3]):
                    cur.append(int(line[i + 2 : i + 4], 16))
                    i += 3
                elif c == 0x5C and i + 1 < n:
                    i += 1
                    c = line[i]
                    cur.append({0x6E: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x61: 7}.get(c, c))
                elif c == 0x22:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    inq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    return None
                c = line[i]
                if c == 0x5C and i + 1 < n and line[i + 1] == 0x27:
                    i += 1
                    cur.append(0x27)
                elif c == 0x27:
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    insq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in b" \n\r\t\v\f":
                    break
                if c == 0x22:
                    inq = True
                elif c == 0x27:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append(bytes(cur))


def _ishex(c: int) -> bool:
    return c in b"0123456789abcdefABCDEF"


def _parse_ll(b: bytes) -> int | None:
    """Strict integer parse like Redis's string2ll (no spaces, no '+', no leading zeros)."""
    if not b or len(b) > 20:
        return None
    if b == b"0":
        return 0
    s = b[1:] if b[:1] == b"-" else b
    if not s or s[:1] == b"0" or not s.isdigit():
        return None
    v = int(b)
    if v < -(2**63) or v >= 2**63:
        return None
    return v


class SlowParser:
    """Reference parser following Redis's processInlineBuffer/processMultibulkBuffer."""

    def __init__(self, max_bulk: int) -> None:
        self.max_bulk = max_bulk

    def parse(self, buf: bytes, pos: int, out: list) -> tuple[int, str | None]:
        """Parse complete requests from buf[pos:]; return (new_pos, error or None)."""
        n = len(buf)
        while pos < n:
            if buf[pos] == 0x2A:  # '*'
                nl = buf.find(b"\r\n", pos)
                if nl < 0:
                    if n - pos > PROTO_INLINE_MAX_SIZE:
                        return pos, "Protocol error: too big mbulk count string"
                    return pos, None
                count = _parse_ll(buf[pos + 1 : nl])
                if count is None or count > INT_MAX:
                    return pos, "Protocol error: invalid multibulk length"
                p = nl + 2
                if count <= 0:
                    pos = p
                    continue
                args = []
                complete = True
                for _ in range(count):
                    if p >= n:
                        complete = False
                        break
                    nl = buf.find(b"\r\n", p)
                    if nl < 0:
                        if n - p > PROTO_INLINE_MAX_SIZE:
                            return pos, "Protocol error: too big bulk count string"
                        complete = False
                        break
                    if buf[p] != 0x24:  # '$'
                        return pos, "Protocol error: expected '$', got '%s'" % chr(buf[p])
                    blen = _parse_ll(buf[p + 1 : nl])
                    if blen is None or blen < 0 or blen > self.max_bulk:
                        return pos, "Protocol error: invalid bulk length"
                    start = nl + 2
                    end = start + blen
                    if end + 2 > n:
                        complete = False
                        break
                    args.append(buf[start:end])
                    p = end + 2
                if not complete:
                    return pos, None
                out.append(args)
                pos = p
            else:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    if n - pos > PROTO_INLINE_MAX_SIZE:
                        return pos, "Protocol error: too big inline request"
                    return pos, None
                end = nl - 1 if nl > pos and buf[nl - 1] == 0x0D else nl
                args = split_inline(buf[pos:end])
                if args is None:
                    return pos, "Protocol error: unbalanced quotes in request"
                pos = nl + 1
                if args:
                    out.append(args)
        return pos, None


def _encoded_size(reqs: list[list[bytes]]) -> int:
    """Bytes that these requests take in canonical multibulk form."""
    n = 0
    for req in reqs:
        n += len(b"*%d\r\n" % len(req))
        for a in req:
            la = len(a)
            n += len(b"$%d\r\n" % la) + la + 2
    return n


class RequestParser:
    """Feed bytes, get argv lists. Raises nothing: a protocol error comes back as text.

    hiredis parses well-formed multibulk requests. The reference parser runs on inline
    requests, on anything hiredis rejects (to give Redis's exact message), and on the
    headers of an incomplete request (hiredis would otherwise wait for a declared 4 GB
    bulk instead of refusing it). Once an incomplete request is large, its bytes stay
    only inside hiredis so that a big value arriving in many reads is not re-copied.
    """

    __slots__ = ("_reader", "_tail", "_slow", "_big", "_fed")

    BIG = 1024 * 1024

    def __init__(self, max_bulk: int = 512 * 1024 * 1024) -> None:
        self._reader = hiredis.Reader()
        self._tail = b""  # copy of the incomplete request's bytes (while small)
        self._slow = SlowParser(max_bulk)
        self._big = False  # an incomplete request lives only in hiredis
        self._fed = 0  # bytes given to hiredis since the large incomplete request began

    @property
    def max_bulk(self) -> int:
        return self._slow.max_bulk

    @max_bulk.setter
    def max_bulk(self, value: int) -> None:
        self._slow.max_bulk = value

    def pending(self) -> int:
        return self.BIG if self._big else len(self._tail)

    def feed(self, data: bytes) -> tuple[list[list[bytes]], str | None]:
        tail = self._tail
        if tail:
            buf = tail + data
            if tail[0] != 0x2A:
                return self._feed_slow(buf, [])
        elif self._big:
            buf = None
            self._fed += len(data)
        else:
            buf = data
            if data[0] != 0x2A:
                return self._feed_slow(data, [])
        reader = self._reader
        reader.feed(data)
        out: list[list[bytes]] = []
        skipped = False
        try:
            while True:
                req = reader.gets()
                if req is False:
                    break
                if type(req) is not list:
                    if req is None:  # "*-1\r\n" is skipped, as Redis does
                        skipped = True
                        continue
                    raise hiredis.ProtocolError
                for a in req:
                    if type(a) is not bytes:
                        raise hiredis.ProtocolError
                if req:
                    out.append(req)
                else:
                    skipped = True
        except hiredis.ProtocolError:
            self._reset()
            if buf is None:
                return out, "Protocol error: invalid bulk length"
            return self._feed_slow(buf, [])
        # has_data() is False also when a read ends between two arguments of a multibulk that
        # hiredis has half consumed (or just after a '*' or '$'). An empty request tells these
        # apart: at top level it comes back as []; otherwise the half-read request is re-fed below.
        if buf is None:  # a large request: only a byte count can tell
            if not out or skipped:
                if not reader.has_data() and out:
                    self._tail = b""
                    self._big = False
                return out, None  # the same large request goes on arriving; headers were checked
            buf = data
            pos = _encoded_size(out) - (self._fed - len(data))
            if pos == len(buf) and not reader.has_data():
                self._tail = b""
                self._big = False
                return out, None
        elif not reader.has_data():
            reader.feed(b"*0\r\n")
            try:
                clean = reader.gets() == []
            except hiredis.ProtocolError:  # the read ended after a type byte, which hiredis eats
                clean = False
            if clean:
                self._tail = b""
                self._big = False
                return out, None
            self._reset()
            pos = -1 if skipped else _encoded_size(out)
            if pos >= 0 and buf[pos : pos + 1] == b"*":
                self._reader.feed(buf[pos:])
        else:
            pos = -1 if skipped else _encoded_size(out)
        # A request is incomplete: find where it starts (the bytes hiredis has not consumed)
        # and check its headers now, since hiredis would wait for a declared 4 GB bulk.
        if pos < 0 or pos > len(buf) or buf[pos : pos + 1] != b"*":
            self._reset()
            return self._feed_slow(buf, [])
        rest = buf[pos:]
        _, err = self._slow.parse(rest, 0, [])
        if err is not None:
            self._reset()
            return out, err
        if len(rest) > self.BIG:
            self._tail = b""
            self._big = True
            self._fed = len(rest)
        else:
            self._tail = rest
        return out, None

    def _reset(self) -> None:
        self._reader = hiredis.Reader()
        self._tail = b""
        self._big = False

    def _feed_slow(self, buf: bytes, out: list) -> tuple[list[list[bytes]], str | None]:
        pos, err = self._slow.parse(buf, 0, out)
        if err is not None:
            self._tail = b""
            return out, err
        rest = buf[pos:]
        self._tail = rest
        if rest and rest[0] == 0x2A:
            self._reader.feed(rest)
        return out, None


# ---------------------------------------------------------------------------
# Reply encoding

OK = b"+OK\r\n"
PONG = b"+PONG\r\n"
QUEUED = b"+QUEUED\r\n"
NULL2 = b"$-1\r\n"
NULL3 = b"_\r\n"
NULL_ARRAY2 = b"*-1\r\n"
EMPTY_ARRAY = b"*0\r\n"
ZERO = b":0\r\n"
ONE = b":1\r\n"
NEG_ONE = b":-1\r\n"
NEG_TWO = b":-2\r\n"
EMPTY_BULK = b"$0\r\n\r\n"

_SMALL_INTS = [b":%d\r\n" % i for i in range(10001)]


def integer(n: int) -> bytes:
    if 0 <= n <= 10000:
        return _SMALL_INTS[n]
    return b":%d\r\n" % n


def bulk(b: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(b), b)


def simple(s: str | bytes) -> bytes:
    if isinstance(s, str):
        s = s.encode()
    return b"+%b\r\n" % s


def error(msg: str) -> bytes:
    return b"-%b\r\n" % msg.encode("utf-8", "surrogateescape")


def null(proto: int) -> bytes:
    return NULL3 if proto == 3 else NULL2


def null_array(proto: int) -> bytes:
    return NULL3 if proto == 3 else NULL_ARRAY2


def array_header(n: int) -> bytes:
    return b"*%d\r\n" % n


def bulk_array(items: Iterable[bytes]) -> bytes:
    items = list(items)
    parts = [b"*%d\r\n" % len(items)]
    for b in items:
        parts.append(b"$%d\r\n%b\r\n" % (len(b), b))
    return b"".join(parts)


def array(encoded: list[bytes]) -> bytes:
    """An array of already-encoded elements."""
    return b"*%d\r\n" % len(encoded) + b"".join(encoded)


def map_(encoded_pairs: list[bytes], count: int, proto: int) -> bytes:
    """A map of `count` pairs; `encoded_pairs` holds key and value encodings alternately."""
    head = b"%%%d\r\n" % count if proto == 3 else b"*%d\r\n" % (count * 2)
    return head + b"".join(encoded_pairs)


def set_(encoded: list[bytes], proto: int) -> bytes:
    head = b"~%d\r\n" % len(encoded) if proto == 3 else b"*%d\r\n" % len(encoded)
    return head + b"".join(encoded)


def push(encoded: list[bytes], proto: int) -> bytes:
    head = b">%d\r\n" % len(encoded) if proto == 3 else b"*%d\r\n" % len(encoded)
    return head + b"".join(encoded)


def verbatim(text: bytes, proto: int, fmt: bytes = b"txt") -> bytes:
    if proto == 3:
        return b"=%d\r\n%b:%b\r\n" % (len(text) + 4, fmt, text)
    return bulk(text)


def boolean(v: bool, proto: int) -> bytes:
    if proto == 3:
        return b"#t\r\n" if v else b"#f\r\n"
    return ONE if v else ZERO


def format_double(d: float) -> bytes:
    """Redis's "%.17g" formatting used for RESP3 doubles and score replies."""
    if math.isinf(d):
        return b"inf" if d > 0 else b"-inf"
    if math.isnan(d):
        return b"nan"
    return b"%.17g" % d


def double(d: float, proto: int) -> bytes:
    if proto == 3:
        return b",%b\r\n" % format_double(d)
    return bulk(format_double(d))


def big_number(n: int, proto: int) -> bytes:
    if proto == 3:
        return b"(%d\r\n" % n
    return bulk(b"%d" % n)
