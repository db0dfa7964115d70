"""Redis's glob-style pattern matching (stringmatchlen), compiled to regular expressions.

The pattern is tokenized with Redis's exact rules (escapes, `[^a-z]` classes, an
unterminated class running to the end of the pattern), then turned into an anchored
bytes regex, so matching a million keys costs one C-level match each.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache


def _escape(byte: int) -> bytes:
    return re.escape(bytes([byte]))


def _class(members: set[int], negate: bool) -> bytes:
    if not members:
        return b"[\\s\\S]" if negate else b"(?!)"
    body = b"".join(b"\\x%02x" % m for m in sorted(members))
    return b"[" + (b"^" if negate else b"") + body + b"]"


@lru_cache(maxsize=256)
def compile_glob(pattern: bytes, nocase: bool = False) -> Callable[[bytes], object]:
    out = []
    p = pattern
    i = 0
    n = len(p)
    while i < n:
        ch = p[i]
        if ch == 0x2A:  # '*'
            while i + 1 < n and p[i + 1] == 0x2A:
                i += 1
            out.append(b"[\\s\\S]*")
        elif ch == 0x3F:  # '?'
            out.append(b"[\\s\\S]")
        elif ch == 0x5B:  # '['
            i += 1
            negate = i < n and p[i] == 0x5E
            if negate:
                i += 1
            members: set[int] = set()
            while True:
                if i < n and p[i] == 0x5C and n - i >= 2:
                    i += 1
                    members.add(p[i])
                elif i < n and p[i] == 0x5D:
                    break
                elif i >= n:
                    i -= 1
                    break
                elif n - i >= 3 and p[i + 1] == 0x2D:
                    lo, hi = p[i], p[i + 2]
                    if lo > hi:
                        lo, hi = hi, lo
                    members.update(range(lo, hi + 1))
                    i += 2
                else:
                    members.add(p[i])
                i += 1
            if nocase:
                members |= {bytes([m]).lower()[0] for m in members} | {bytes([m]).upper()[0] for m in members}
            out.append(_class(members, negate))
        elif ch == 0x5C and n - i >= 2:  # '\\' escapes the next byte
            i += 1
            out.append(_escape(p[i]))
        else:
            out.append(_escape(ch))
        i += 1
    flags = re.IGNORECASE if nocase else 0
    return re.compile(b"".join(out) + b"\\Z", flags).match


def match(pattern: bytes, subject: bytes, nocase: bool = False) -> bool:
    return compile_glob(pattern, nocase)(subject) is not None
