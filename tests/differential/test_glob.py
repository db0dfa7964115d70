"""Glob patterns (KEYS, SCAN MATCH): random patterns over the special characters against random
keys, on both servers; and respdb's compiled matcher against a line-by-line port of Redis's
stringmatchlen (which also covers the case-insensitive mode no key command exposes)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from respdb.glob import match

from .harness import Pair

ALPHABET = b"ab[]\\^-*?A\x00\xff"
keys = st.lists(st.binary(max_size=4).map(lambda b: bytes(ALPHABET[x % len(ALPHABET)] for x in b)), max_size=12)
pattern_bytes = st.lists(st.sampled_from(list(ALPHABET) + [ord("Z"), ord("z"), 0x80]), max_size=7).map(bytes)


@settings(max_examples=150, deadline=None)
@given(keys, st.lists(pattern_bytes, min_size=1, max_size=6))
def test_keys_patterns(pair2: Pair, key_list, patterns) -> None:
    cmds = []
    if key_list:
        cmds.append(("MSET", *[x for k in key_list for x in (k, b"v")]))
    for pat in patterns:
        cmds.append(("KEYS", pat))
        cmds.append(("SCAN", "0", "MATCH", pat, "COUNT", "1000"))
    pair2.check(cmds)


def _tolower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c


def _signed(b: int) -> int:
    return b - 256 if b >= 128 else b


def stringmatchlen(p: bytes, s: bytes, nocase: bool) -> bool:
    """Redis 7.0 util.c stringmatchlen_impl, transcribed with indexes (NUL-terminated reads
    past the end of the pattern are modelled as reading 0)."""
    skip = [False]

    def at(buf: bytes, i: int) -> int:
        return buf[i] if i < len(buf) else 0

    def impl(pi: int, plen: int, si: int, slen: int, nesting: int) -> bool:
        if nesting > 1000:
            return False
        while plen and slen:
            ch = at(p, pi)
            if ch == 0x2A:  # *
                while plen and at(p, pi + 1) == 0x2A:
                    pi += 1
                    plen -= 1
                if plen == 1:
                    return True
                while slen:
                    if impl(pi + 1, plen - 1, si, slen, nesting + 1):
                        return True
                    if skip[0]:
                        return False
                    si += 1
                    slen -= 1
                skip[0] = True
                return False
            elif ch == 0x3F:  # ?
                si += 1
                slen -= 1
            elif ch == 0x5B:  # [
                pi += 1
                plen -= 1
                neg = at(p, pi) == 0x5E
                if neg:
                    pi += 1
                    plen -= 1
                matched = False
                while True:
                    if at(p, pi) == 0x5C and plen >= 2:
                        pi += 1
                        plen -= 1
                        if at(p, pi) == s[si]:
                            matched = True
                    elif at(p, pi) == 0x5D:
                        break
                    elif plen == 0:
                        pi -= 1
                        plen += 1
                        break
                    elif plen >= 3 and at(p, pi + 1) == 0x2D:
                        start, end, c = _signed(at(p, pi)), _signed(at(p, pi + 2)), _signed(s[si])
                        if start > end:
                            start, end = end, start
                        if nocase:
                            start, end, c = _tolower(start), _tolower(end), _tolower(c)
                        pi += 2
                        plen -= 2
                        if start <= c <= end:
                            matched = True
                    elif not nocase:
                        if at(p, pi) == s[si]:
                            matched = True
                    elif _tolower(_signed(at(p, pi))) == _tolower(_signed(s[si])):
                        matched = True
                    pi += 1
                    plen -= 1
                if neg:
                    matched = not matched
                if not matched:
                    return False
                si += 1
                slen -= 1
            else:
                if ch == 0x5C and plen >= 2:
                    pi += 1
                    plen -= 1
                a, b = at(p, pi), s[si]
                if (a != b) if not nocase else (_tolower(_signed(a)) != _tolower(_signed(b))):
                    return False
                si += 1
                slen -= 1
            pi += 1
            plen -= 1
            if slen == 0:
                while at(p, pi) == 0x2A:
                    pi += 1
                    plen -= 1
                break
        return plen == 0 and slen == 0

    return impl(0, len(p), 0, len(s), 0)


@settings(max_examples=1000, deadline=None)
@given(pattern_bytes, st.binary(max_size=6).map(lambda b: bytes(ALPHABET[x % len(ALPHABET)] for x in b)), st.booleans())
def test_matcher_against_redis_algorithm(pattern, subject, nocase) -> None:
    assert match(pattern, subject, nocase) == stringmatchlen(pattern, subject, nocase)


def test_matcher_examples_nocase() -> None:
    assert match(b"H?LLO", b"hello", True)
    assert match(b"[a-c]x", b"BX", True)
    assert not match(b"[Z-a]", b"_", True)  # bounds lowered after the swap: 'z'..'a' is empty
    assert match(b"[Z-a]", b"_", False)
    assert match(b"\\A", b"a", True)  # an escape outside a class still folds case
    assert not match(b"[\\A]", b"a", True)  # inside a class it compares exactly
