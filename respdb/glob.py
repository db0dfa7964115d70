"""Redis's glob-style pattern matching (stringmatchlen), compiled to regular expressions.

The pattern is tokenized with Redis's exact rules, then turned into an anchored bytes regex,
so matching a million keys costs one C-level match each. Details that are part of the
behaviour and easy to get wrong:

- `\\x` is a literal x (also inside a class); a lone trailing backslash is a literal backslash.
- In a class, `a-z` is a range (ends swapped when reversed) compared as *signed* chars, so a
  range reaching a byte >= 0x80 covers what C's signed comparison covers; `]` as the first
  member closes the class (`[]` matches nothing, `[^]` any byte); an unterminated class runs
  to the end of the pattern; `[a-]` takes `]` as the range end.
- The empty string matches only the empty pattern (callers special-case a lone `*`).
- Redis gives up (no match) when more than 1000 `*` groups would have to recurse.

Matching is linear: every token but `*` matches exactly one byte, so after a `*` the earliest
place where the next fixed-length segment fits is always a safe choice. Each middle segment is
an atomic group `(?>.*?SEG)`, which keeps Python's backtracking from going exponential on
patterns like `*a*a*a*a*b` (Redis's skipLongerMatches plays the same role).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

_ALL = frozenset(range(256))
_STAR = None
_MAX_NESTING = 1000


def _signed(b: int) -> int:
    return b - 256 if b >= 128 else b


def _lower(c: int) -> int:
    """C tolower() in the C locale, on a signed char value."""
    return c + 32 if 65 <= c <= 90 else c


def _literal(ch: int, nocase: bool) -> frozenset[int]:
    if nocase:
        lo = _lower(_signed(ch))
        return frozenset(b for b in range(256) if _lower(_signed(b)) == lo)
    return frozenset((ch,))


def _tokens(p: bytes, nocase: bool) -> list[frozenset[int] | None]:
    """One entry per pattern token: the set of bytes it matches, or None for a `*` group."""
    out: list[frozenset[int] | None] = []
    i = 0
    n = len(p)
    while i < n:
        ch = p[i]
        if ch == 0x2A:  # '*'
            while i + 1 < n and p[i + 1] == 0x2A:
                i += 1
            out.append(_STAR)
        elif ch == 0x3F:  # '?'
            out.append(_ALL)
        elif ch == 0x5B:  # '['
            i += 1
            negate = i < n and p[i] == 0x5E
            if negate:
                i += 1
            members: set[int] = set()
            while True:
                if i < n and p[i] == 0x5C and n - i >= 2:
                    i += 1
                    members.add(p[i])  # escaped: exact comparison even with nocase
                elif i < n and p[i] == 0x5D:
                    break
                elif i >= n:
                    i -= 1
                    break
                elif n - i >= 3 and p[i + 1] == 0x2D:
                    lo, hi = _signed(p[i]), _signed(p[i + 2])
                    if lo > hi:
                        lo, hi = hi, lo
                    if nocase:
                        lo, hi = _lower(lo), _lower(hi)
                        members.update(b for b in range(256) if lo <= _lower(_signed(b)) <= hi)
                    else:
                        members.update(b for b in range(256) if lo <= _signed(b) <= hi)
                    i += 2
                else:
                    members |= _literal(p[i], nocase)
                i += 1
            out.append(_ALL - members if negate else frozenset(members))
        else:
            if ch == 0x5C and n - i >= 2:  # '\\' escapes the next byte
                i += 1
            out.append(_literal(p[i], nocase))
        i += 1
    return out


def _regex_token(members: frozenset[int]) -> bytes:
    if len(members) == 256:
        return b"[\\s\\S]"
    if not members:
        return b"(?!)"
    if len(members) == 1:
        return re.escape(bytes(members))
    if len(members) > 128:
        body = b"".join(b"\\x%02x" % m for m in sorted(_ALL - members))
        return b"[^" + body + b"]"
    return b"[" + b"".join(b"\\x%02x" % m for m in sorted(members)) + b"]"


def _never(subject: bytes) -> None:
    return None


@lru_cache(maxsize=256)
def compile_glob(pattern: bytes, nocase: bool = False) -> Callable[[bytes], object]:
    """A function returning a truthy value when `subject` matches `pattern`."""
    if not pattern:
        return re.compile(b"\\Z").match
    toks = _tokens(pattern, nocase)
    segments: list[list[bytes]] = [[]]
    for t in toks:
        if t is _STAR:
            segments.append([])
        else:
            segments[-1].append(_regex_token(t))
    stars = len(segments) - 1
    trailing = stars > 0 and not segments[-1]
    if stars - trailing > _MAX_NESTING:
        return _never
    # A non-empty pattern never matches the empty string in Redis, even "*".
    parts = [b"(?=[\\s\\S])", b"".join(segments[0])]
    if stars:
        for seg in segments[1:-1]:
            if seg:
                parts.append(b"(?>[\\s\\S]*?" + b"".join(seg) + b")")
        parts.append(b"[\\s\\S]*" + b"".join(segments[-1]))
    return re.compile(b"".join(parts) + b"\\Z").match


def match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    return compile_glob(pattern, nocase)(subject) is not None
