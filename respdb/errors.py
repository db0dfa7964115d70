"""Error replies with Redis 7.0's exact text, in one place."""

from __future__ import annotations


class CommandError(Exception):
    """Raised by a handler: the message (without the leading '-') becomes the reply."""

    __slots__ = ("msg",)

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
NO_SUCH_KEY = "ERR no such key"
DB_INDEX = "ERR DB index is out of range"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
INVALID_EXPIRE = "ERR invalid expire time in '%s' command"
SAME_OBJECT = "ERR source and destination objects are the same"
NAN_OR_INF = "ERR increment would produce NaN or Infinity"
OFFSET_RANGE = "ERR offset is out of range"
INVALID_CURSOR = "ERR invalid cursor"
NOAUTH = "NOAUTH Authentication required."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
# SRANDMEMBER / HRANDFIELD / ZRANDMEMBER counts: -LLONG_MAX..LLONG_MAX (a count of LLONG_MIN has no |count|)
RAND_COUNT_RANGE = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"


def wrong_args(fullname: str) -> str:
    return "ERR wrong number of arguments for '%s' command" % fullname


def unknown_subcommand(sub: bytes, container: str) -> str:
    return "ERR unknown subcommand '%s'. Try %s HELP." % (
        sub[:128].decode("utf-8", "surrogateescape"),
        container.upper(),
    )


READONLY_REPLICA = "READONLY You can't write against a read only replica."


def logged_error(reply: bytes) -> str:
    """An error reply as Redis's afterErrorReply logs it: a formatted error without its "ERR "
    code, others with their "-CODE"; at most 4096 characters."""
    text = reply[1:].rstrip(b"\r\n").decode("utf-8", "replace")
    return (text[4:] if text.startswith("ERR ") else "-" + text)[:4096]
