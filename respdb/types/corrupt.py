"""A value whose encoding is broken, loaded without deep sanitization.

With `sanitize-dump-payload no` (the default) Redis checks only the headers of the listpacks in
a RESTORE payload or an RDB file and keeps them as they are: a broken entry is found when a
command walks to it, and the server stops there with an assertion. respdb decodes every value
when it loads it, so it notices the damage at once; for the encodings Redis keeps without
walking them (listpack hashes and sorted sets, quicklists, streams) it then does what Redis
would: refuses what Redis's shallow checks refuse, stops where Redis's loading code would trip
over the damage (see persistence/unsanitized.py), and otherwise stores this placeholder. The
key behaves as a key (TYPE, TTL, RENAME, DEL, DUMP and saving, which write the bytes back as
read); the first command that reads or changes its contents ends the server as Redis's
assertion does (Engine._check_gates, `crash`).
"""

from __future__ import annotations

from typing import Any

# What Redis's assertion on a broken listpack entry reports (lpAssertValidEntry), by file.
ASSERT_LISTPACK = "%s:0 'lpValidateNext(lp, &p, lpbytes)' is not true"


class Corrupt:
    __slots__ = ("rdbtype", "body", "redis_type", "enc")

    def __init__(self, rdbtype: int, body: bytes, redis_type: str, enc: str) -> None:
        self.rdbtype = rdbtype  # the RDB type byte it was read with
        self.body = body  # the serialized value after the type byte, as read
        self.redis_type = redis_type
        self.enc = enc

    def encoding(self) -> str:
        return self.enc

    def copy(self) -> Corrupt:
        return Corrupt(self.rdbtype, self.body, self.redis_type, self.enc)


def crash(engine: Any, value: Corrupt) -> None:
    """End the server as Redis does when a command walks into the broken encoding."""
    from respdb.commands.debug import crash_assert

    crash_assert(engine, ASSERT_LISTPACK % ("t_stream.c" if value.redis_type == "stream" else "listpack.c"))
