"""RESP2/RESP3 wire format: a sans-IO request parser and reply encoders.

The parser turns bytes into argv lists. hiredis does the common case (well-formed
multibulk requests), and its result is used only when re-encoding it gives back the
exact bytes received; a pure-Python parser that mirrors Redis's own rules handles
everything else: inline commands, protocol errors, requests cut by the end of a read,
and the limits hiredis does not know about (`proto-max-bulk-len`, line lengths, the
query buffer limit), so clients see what Redis would do, byte for byte.

Reply encoders return finished RESP bytes. Where RESP2 and RESP3 differ the
encoder takes the client's protocol version.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable

import hiredis

PROTO_INLINE_MAX_SIZE = 1024 * 64
PROTO_IOBUF_LEN = 1024 * 16  # Redis's read size
PROTO_MBULK_BIG_ARG = 1024 * 32
INT_MAX = 2**31 - 1


class ProtocolError(Exception):
    """A request that violates the protocol: reply the message, then close."""


# ---------------------------------------------------------------------------
# Request parsing
#
# Redis's rules, as observed on 7.0 (networking.c processInlineBuffer/processMultibulkBuffer):
# - a request starting with '*' is a multibulk, anything else is an inline line;
# - header lines end at the first '\r' (the byte after it is skipped unchecked), inline lines
#   at the first '\n'; Redis searches with strchr, so a NUL byte before the terminator hides
#   it and the request just waits (until the 64KB line limit fires);
# - the two bytes after bulk data are skipped unchecked;
# - "*0" and negative counts are empty requests and skipped; counts over INT_MAX and bulk
#   lengths over proto-max-bulk-len are errors; unauthenticated clients get lower limits.

# Error replies (engine._error adds the '-').
ERR_MBULK_LEN = "ERR Protocol error: invalid multibulk length"
ERR_BULK_LEN = "ERR Protocol error: invalid bulk length"
ERR_MBULK_COUNT_BIG = "ERR Protocol error: too big mbulk count string"
ERR_BULK_COUNT_BIG = "ERR Protocol error: too big bulk count string"
ERR_INLINE_BIG = "ERR Protocol error: too big inline request"
ERR_QUOTES = "ERR Protocol error: unbalanced quotes in request"
ERR_UNAUTH_MBULK = "ERR Protocol error: unauthenticated multibulk length"
ERR_UNAUTH_BULK = "ERR Protocol error: unauthenticated bulk length"
# Not a reply: the client is closed silently, as Redis does when client-query-buffer-limit is hit.
QUERY_BUF_LIMIT = "query buffer limit"

UNAUTH_MAX_ARGS = 10
UNAUTH_MAX_BULK = 16384

_SPACE = b" \n\r\t\v\f"  # C isspace(): skips blanks and ends a closing quote
_TOKEN_END = b" \n\r\t"  # what ends an unquoted token in sdssplitargs (not \v or \f)
_ESCAPES = {0x6E: 10, 0x72: 13, 0x74: 9, 0x62: 8, 0x61: 7}


def split_inline(line: bytes) -> list[bytes] | None:
    """Split a line like Redis's sdssplitargs; None on unbalanced quotes.

    Redis works on a C string, so a NUL byte ends the input.
    """
    z = line.find(b"\0")
    if z >= 0:
        line = line[:z]
    args: list[bytes] = []
    i = 0
    n = len(line)
    while True:
        while i < n and line[i] in _SPACE:
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
                    cur.append(_ESCAPES.get(c, c))
                elif c == 0x22:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
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
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in _TOKEN_END:
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
    """Strict integer parse like Redis's string2ll (no spaces, no '+', no leading zeros).

    int() is lenient (spaces, '+', '_', leading zeros); printing the value back and
    comparing keeps only the canonical spelling, which is what string2ll accepts."""
    if len(b) > 20:
        return None
    try:
        v = int(b)
    except ValueError:
        return None
    if b"%d" % v != b or not -(2**63) <= v < 2**63:
        return None
    return v


def _find(buf: bytes, ch: bytes, pos: int) -> int:
    """strchr(buf + pos, ch): the terminator's index, or -1 if absent or behind a NUL byte."""
    i = buf.find(ch, pos)
    if i > pos and buf.find(b"\0", pos, i) >= 0:
        return -1
    return i


def _byte_repr(c: int) -> str:
    """How Redis's "%c" shows a byte in an error line (CR/LF become spaces)."""
    if c in (10, 13):
        return " "
    return bytes([c]).decode("utf-8", "surrogateescape")


class ParserLimits:
    """Limits shared by every connection of a server, so CONFIG SET reaches them all at once."""

    __slots__ = ("max_bulk", "qbuf_limit")

    def __init__(self, max_bulk: int = 512 * 1024 * 1024, qbuf_limit: int = 1024 * 1024 * 1024) -> None:
        self.max_bulk = max_bulk  # proto-max-bulk-len
        self.qbuf_limit = qbuf_limit  # client-query-buffer-limit


class SlowParser:
    """The reference parser: Redis's request rules, incremental, in pure Python.

    It keeps Redis's per-client state (arguments still expected, length of the bulk
    being read, arguments so far), so it can stop anywhere and go on with the next read.
    Bulk data that arrives in pieces is collected in a list and joined once, so a large
    value costs linear time however it is cut.
    """

    __slots__ = ("limits", "auth_required", "mbulk", "blen", "argv", "parts", "have", "grid")

    def __init__(self, limits: ParserLimits) -> None:
        self.limits = limits
        self.auth_required = False  # Redis's authRequired(c): lower limits before AUTH
        self.mbulk = 0  # arguments still expected by the current multibulk (0: between requests)
        self.blen = -1  # length of the bulk being read (-1: its header is not read yet)
        self.argv: list[bytes] = []
        self.parts: list[bytes] = []  # data of the current bulk received in earlier reads
        self.have = 0  # bytes of the current bulk (data and CRLF) received in earlier reads
        # Where Redis's reads would have been aligned, as a position in the buffer being parsed;
        # see _too_long.
        self.grid = 0

    def parse(
        self, buf: bytes, pos: int, out: list, one: bool = False, stop_at_star: bool = False
    ) -> tuple[int, str | None, bool]:
        """Parse from buf[pos:], appending complete (non-empty) requests to `out`.

        Returns (pos, error, more). `more` means the parser stopped for lack of data:
        bytes from pos on (an incomplete header or inline line) were not consumed and
        must be given again, followed by more data. With `one`, stop after one request;
        with `stop_at_star`, stop after at least one request when the next starts with '*'
        (so the fast path can take over).
        """
        n = len(buf)
        done = 0
        while True:
            if not self.mbulk:
                if pos >= n:
                    return pos, None, False
                if done and (one or (stop_at_star and buf[pos] == 0x2A)):
                    return pos, None, False
                if buf[pos] == 0x2A:  # '*': a multibulk header
                    nl = _find(buf, b"\r", pos)
                    if nl < 0 or nl - pos > PROTO_INLINE_MAX_SIZE:
                        if n - pos > PROTO_INLINE_MAX_SIZE and (nl < 0 or self._too_long(pos, nl)):
                            return pos, ERR_MBULK_COUNT_BIG, False
                        if nl < 0:
                            return pos, None, True
                    if nl + 1 >= n:
                        return pos, None, True  # the byte after '\r' has not arrived
                    count = _parse_ll(buf[pos + 1 : nl])
                    if count is None or count > INT_MAX:
                        return pos, ERR_MBULK_LEN, False
                    if count > UNAUTH_MAX_ARGS and self.auth_required:
                        return pos, ERR_UNAUTH_MBULK, False
                    pos = nl + 2
                    if count <= 0:
                        continue  # an empty request: skipped
                    self.mbulk = count
                    self.argv = []
                else:
                    nl = _find(buf, b"\n", pos)
                    if nl < 0 or nl - pos > PROTO_INLINE_MAX_SIZE:
                        if n - pos > PROTO_INLINE_MAX_SIZE and (nl < 0 or self._too_long(pos, nl)):
                            return pos, ERR_INLINE_BIG, False
                        if nl < 0:
                            return pos, None, True
                    end = nl - 1 if nl > pos and buf[nl - 1] == 0x0D else nl
                    args = split_inline(buf[pos:end])
                    if args is None:
                        return pos, ERR_QUOTES, False
                    pos = nl + 1
                    if args:
                        out.append(args)
                        done += 1
                    continue
            # inside a multibulk: read its arguments
            limits = self.limits
            while self.mbulk:
                blen = self.blen
                if blen < 0:
                    if pos >= n:
                        return pos, None, True
                    nl = _find(buf, b"\r", pos)
                    if nl < 0 or nl - pos > PROTO_INLINE_MAX_SIZE:
                        if n - pos > PROTO_INLINE_MAX_SIZE and (nl < 0 or self._too_long(pos, nl)):
                            return pos, ERR_BULK_COUNT_BIG, False
                        if nl < 0:
                            return pos, None, True
                    if nl + 1 >= n:
                        return pos, None, True
                    if buf[pos] != 0x24:  # '$'
                        return pos, "ERR Protocol error: expected '$', got '%s'" % _byte_repr(buf[pos]), False
                    blen = _parse_ll(buf[pos + 1 : nl])
                    if blen is None or blen < 0 or blen > limits.max_bulk:
                        return pos, ERR_BULK_LEN, False
                    if blen > UNAUTH_MAX_BULK and self.auth_required:
                        return pos, ERR_UNAUTH_BULK, False
                    pos = nl + 2
                    self.blen = blen
                # Redis reads a big bulk into a query buffer of its own and closes the client
                # once that holds more than client-query-buffer-limit bytes.
                have = self.have
                need = blen + 2 - have  # data and the two bytes after it
                if n - pos < need:
                    take = n - pos
                    if take:
                        data_end = pos + min(take, max(0, blen - have))
                        if data_end > pos:
                            self.parts.append(buf[pos:data_end])
                        self.have = have = have + take
                    if have > limits.qbuf_limit:
                        return n, QUERY_BUF_LIMIT, False
                    return n, None, True
                if blen + 2 > limits.qbuf_limit:
                    return n, QUERY_BUF_LIMIT, False
                if have:
                    data_end = pos + max(0, blen - have)
                    if data_end > pos:
                        self.parts.append(buf[pos:data_end])
                    parts = self.parts
                    arg = parts[0] if len(parts) == 1 else b"".join(parts)
                    self.parts = []
                    self.have = 0
                else:
                    arg = buf[pos : pos + blen]
                pos += need
                if blen >= PROTO_MBULK_BIG_ARG:
                    self.grid = pos  # Redis reads a big bulk exactly to its end
                self.blen = -1
                self.argv.append(arg)
                self.mbulk -= 1
            out.append(self.argv)
            self.argv = []
            done += 1

    def _too_long(self, start: int, end: int) -> bool:
        """Would Redis have refused a line from `start` whose terminator is at `end`?

        Redis refuses a line when a read leaves more than 64KB of it in the buffer with no
        terminator yet. So the answer depends on where its reads ended: at each of our reads
        (the client paused there) and then every 16KB (Redis's read size) after it or after
        a big bulk. The line is refused if one of those points falls past start + 64KB
        and before the terminator.
        """
        limit = start + PROTO_INLINE_MAX_SIZE
        grid = self.grid
        first = grid + PROTO_IOBUF_LEN * ((limit - grid) // PROTO_IOBUF_LEN + 1)
        return end >= first

    def reset(self) -> None:
        self.mbulk = 0
        self.blen = -1
        self.argv = []
        self.parts = []
        self.have = 0


_pack = hiredis.pack_command
_join = b"".join
_consume = deque(maxlen=0).extend  # runs an iterator to its end in C
# What the readers' gets() returns while a request is incomplete: not False, which a RESP3
# boolean also gives (and which equals 0 as iter()'s sentinel).
_MORE = object()


def _new_reader() -> hiredis.Reader:
    return hiredis.Reader(notEnoughData=_MORE)


FAST_WINDOW = 2048
# "*00000" and "!00000" in the translation below (a regular expression finds the literal
# about twice as fast as bytes.find does among runs of digits)
_big_count = re.compile(rb"\*00000").search
_big_marked = re.compile(rb"!00000").search
# One translate() answers two questions about bytes given to hiredis. Digits become '0',
# '*' and '>' (array, push) become '*', and '!' marks sets, attributes and the types '+', '='
# and '(' ; the rest becomes 'a'.
# - "*00000" or "!00000": an aggregate header with a count of five digits or more, which
#   hiredis would allocate whole on reading it (seconds for "*2147483647"): not for hiredis
#   (a marked simple string of digits is left to the slow parser too, harmlessly).
# - no '!': hiredis can turn nothing but a '$' bulk into bytes here (it also does
#   for simple strings, verbatim strings and big numbers, and returns top-level sets and
#   attributes as lists). Its string2ll only takes canonical lengths and counts and it skips
#   the two bytes after bulk data unchecked, as Redis does; so requests it parsed completely
#   from such bytes, whose elements are all bytes, are exactly what Redis reads and need not
#   be re-encoded to be checked.
_GUARD_TABLE = bytes(
    0x30 if 0x30 <= i <= 0x39 else 0x2A if i in b"*>" else 0x21 if i in b"~|+=(" else 0x61 for i in range(256)
)


class RequestParser:
    """Feed bytes, get argv lists. Never raises: a protocol error comes back as its reply text.

    hiredis parses runs of multibulk requests that start at a request boundary. What it
    returns is trusted only if re-encoding it gives back exactly the bytes received:
    hiredis also accepts things Redis refuses ('+' or ':' elements, RESP3 types, sets at
    top level) and does not know proto-max-bulk-len. Everything else - inline commands,
    errors, and a request cut by the end of a read - goes through the reference parser,
    which then hands back to hiredis at the next request boundary.

    `feed()` returns (requests, error). The error is Redis's reply text (without '-'),
    or QUERY_BUF_LIMIT when the client must be closed without a reply. Requests before
    an error are valid and should be executed first.
    """

    __slots__ = ("_reader", "_slow", "_carry", "_grid", "limits")

    def __init__(
        self,
        max_bulk: int = 512 * 1024 * 1024,
        qbuf_limit: int = 1024 * 1024 * 1024,
        limits: ParserLimits | None = None,
    ) -> None:
        self.limits = limits if limits is not None else ParserLimits(max_bulk, qbuf_limit)
        self._reader = _new_reader()
        self._slow = SlowParser(self.limits)
        self._carry = b""  # unconsumed bytes: an incomplete header or inline line
        self._grid = 0  # slow.grid relative to the carry's start

    @property
    def max_bulk(self) -> int:
        return self.limits.max_bulk

    @max_bulk.setter
    def max_bulk(self, value: int) -> None:
        self.limits.max_bulk = value

    @property
    def auth_required(self) -> bool:
        return self._slow.auth_required

    @auth_required.setter
    def auth_required(self, value: bool) -> None:
        self._slow.auth_required = value

    def pending(self) -> int:
        """Size of the incomplete request's unconsumed part (what Redis shows as qbuf)."""
        return len(self._carry) + self._slow.have

    def bulk_pending(self) -> tuple[int, int]:
        """(length, bytes received so far) of a bulk argument being read, or (-1, 0)."""
        slow = self._slow
        if slow.mbulk and slow.blen >= 0:
            return slow.blen, slow.have
        return -1, 0

    def has_pending(self) -> bool:
        """Part of a request is held: bytes, or the arguments of an unfinished multibulk."""
        return bool(self._carry or self._slow.have or self._slow.mbulk)

    def input_memory(self) -> int:
        """What Redis would hold for the incomplete request: its query buffer, allocated whole
        for a big bulk (PROTO_MBULK_BIG_ARG and up) as soon as its length is known, plus the
        arguments already read."""
        slow = self._slow
        held = len(self._carry) + slow.have
        if slow.blen >= PROTO_MBULK_BIG_ARG:
            held = max(held, slow.blen + 2)
        if slow.argv:
            held += sum(map(len, slow.argv))
        return held

    def small(self, data: bytes) -> list[list[bytes]] | None:
        """The common case on its own: a read of a few whole requests and nothing buffered.

        Returns the requests, or None (nothing consumed) when the read needs feed(): part of a
        request pending, a large read, an incomplete request, anything hiredis must not be
        trusted with. The checks are those of _fast, inline.
        """
        if self._carry or self._slow.mbulk or len(data) > FAST_WINDOW or data[:1] != b"*" or self._slow.auth_required:
            return None
        g = data.translate(_GUARD_TABLE)
        marked = 0x21 in g
        if _big_count(g) is not None or (marked and _big_marked(g) is not None):
            return None
        reader = self._reader
        reader.feed(data)
        try:
            req = reader.gets()
            if type(req) is list and req:
                if marked:
                    if _pack(tuple(req)) == data:
                        return [req]
                # has_data() is exact here: hiredis stops after a complete reply
                elif not reader.has_data():
                    _join(req)  # TypeError unless every element is bytes
                    return [req]
                else:  # a few pipelined requests: as in _fast, the loop in C
                    got = [req]
                    got += iter(reader.gets, _MORE)
                    # each a non-empty list (not a push, a map...) of bytes (else TypeError)
                    if list(map(type, got)).count(list) == len(got) and all(got):
                        _consume(map(_join, got))
                        reader.feed(b"*0\r\n")  # [] back: nothing was pending (see _fast)
                        if reader.gets() == []:
                            return got
        except (hiredis.HiredisError, TypeError):
            pass
        self._reader = _new_reader()
        return None

    def feed(self, data: bytes, one: bool = False) -> tuple[list[list[bytes]], str | None]:
        """Parse `data` after what came before.

        With `one`, return at most one request and keep the rest buffered (call again with
        b"" for the next): before AUTH each request must run before the next is parsed.
        """
        carry = self._carry
        slow = self._slow
        if carry:
            # this read starts a new run of Redis-sized reads; with no new data the old one goes on
            slow.grid = len(carry) if data else self._grid
            data = carry + data
            self._carry = b""
        else:
            if not one:
                got = self.small(data)
                if got is not None:
                    return got, None
            slow.grid = 0
        out: list[list[bytes]] = []
        n = len(data)
        fast = not one and not slow.auth_required
        switches = 0
        pos = 0
        while pos < n:
            if fast and not slow.mbulk and data[pos] == 0x2A:
                pos = self._fast(data, pos, out)
                if pos >= n:
                    break
                # hiredis stopped early. Going back and forth re-feeds it the rest of the
                # data each time, so a read that keeps doing this is left to the slow parser.
                switches += 1
                if switches > 2:
                    fast = False
            pos, err, more = slow.parse(data, pos, out, one, fast)
            if err is not None:
                return out, err
            if more or one:
                if pos < n:
                    self._carry = data[pos:]
                    self._grid = slow.grid - pos
                break
        return out, None

    def _fast(self, data: bytes, pos: int, out: list) -> int:
        """hiredis over data[pos:], a window at a time; returns where the verified requests end.

        Windows keep hiredis's buffer compaction cheap and hand a large request over to the
        slow parser early (it collects big bulks without re-copying). Before hiredis sees a
        window it is checked for aggregate headers with large counts: hiredis allocates the
        whole list when it reads such a header, and "*2147483647" would cost seconds.
        A window ends where a request probably starts, so that hiredis usually finishes all it
        was given: its requests are then taken as they are when the guard allows it (see
        _GUARD_TABLE), and re-encoded and compared with the bytes received otherwise.
        """
        reader = self._reader
        n = len(data)
        start = fed = pos
        while fed < n:
            end = fed + FAST_WINDOW
            if end < n:
                b = data.rfind(b"\r\n*", fed, end)
                if b > fed:
                    end = b + 2
            else:
                end = n
            g = data[max(start, fed - 5) : end].translate(_GUARD_TABLE)
            marked = 0x21 in g
            if _big_count(g) is not None or (marked and _big_marked(g) is not None):
                break
            whole = pos == fed  # hiredis holds no part of a request from an earlier window
            reader.feed(data, fed, end - fed)
            fed = end
            got = []
            clean = True
            try:
                while True:
                    req = reader.gets()
                    if req is _MORE:
                        break
                    if type(req) is not list or not req:
                        clean = False
                        break
                    got.append(req)
            except (hiredis.HiredisError, TypeError):  # TypeError: a map with a list as key
                clean = False
            if not got:
                break  # a request larger than a window, or something hiredis should not parse
            trusted = whole and clean and not marked
            if trusted:
                try:
                    b"".join(map(b"".join, got))  # TypeError unless every element is bytes
                except TypeError:
                    trusted = False
            if trusted:
                # Did hiredis read everything it was given? has_data() cannot tell (hiredis takes
                # a type byte before its line is complete), but an empty request fed now comes
                # back as [] only if no part of a request was pending.
                reader.feed(b"*0\r\n")
                try:
                    trusted = reader.gets() == []
                except (hiredis.HiredisError, TypeError):
                    trusted = False
                if trusted:
                    out += got
                    pos = fed
                    continue
                clean = False  # the probe went into a request: check the rest, then leave it
            try:
                packed = b"".join(map(_pack, map(tuple, got)))
            except TypeError:
                packed = None
            if packed is not None and data.startswith(packed, pos):
                out += got
                pos += len(packed)
            else:
                for req in got:  # keep the requests that are exactly what was sent
                    try:
                        p = _pack(tuple(req))
                    except TypeError:
                        break
                    if not data.startswith(p, pos):
                        break
                    out.append(req)
                    pos += len(p)
                break
            if not clean:
                break
        if pos < fed:
            # hiredis holds part of a request, or stopped on something Redis parses otherwise
            self._reader = _new_reader()
        return pos


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

SMALL_INTS = [b":%d\r\n" % i for i in range(10001)]  # integer() for 0..10000, for inlining


def integer(n: int) -> bytes:
    if 0 <= n <= 10000:
        return SMALL_INTS[n]
    return b":%d\r\n" % n


# "$<len>\r\n" for the lengths most values have: concatenation beats %-formatting by a third.
BULK_HEADERS = tuple(b"$%d\r\n" % i for i in range(1024))


def bulk(b: bytes) -> bytes:
    n = len(b)
    if n < 1024:
        return BULK_HEADERS[n] + b + b"\r\n"
    return b"$%d\r\n%b\r\n" % (n, b)


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
