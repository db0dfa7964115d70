"""Value types. Strings are bytes; other types carry a `redis_type` class attribute."""

from __future__ import annotations

from typing import Any

from respdb.types.strings import PlainBytes, encoding_of


def type_name(value: Any) -> str:
    t = type(value)
    if t is bytes or t is bytearray or t is PlainBytes:
        return "string"
    return value.redis_type


def encoding(value: Any) -> str:
    t = type(value)
    if t is bytes or t is bytearray or t is PlainBytes:
        return encoding_of(value)
    return value.encoding()


def copy_value(value: Any) -> Any:
    t = type(value)
    if t is bytes or t is PlainBytes:
        return value
    return value.copy()
