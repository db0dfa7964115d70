"""Turn the tail calls of compiled script code into ordinary calls.

In Redis, `redis.call`, `pairs` and the other library functions are C functions, and Lua
never tail-calls a C function: in `return redis.call(...)` the script's frame stays on
the stack, so an error raised there reports the script line ("... script: <sha>, on
@user_script:3."). Here those functions are written in Lua, and a real tail call would
drop the script's frame. Scripts are therefore compiled, dumped, and reloaded with every
OP_TAILCALL rewritten as OP_CALL (with C=0 the call keeps all results, and the OP_RETURN
that always follows returns them), which Lua's own code generator emits for the same
`return f(...)` when it is not in tail position.

This walks the Lua 5.1 binary chunk format (lundump.c) for the x86-64 layout lupa uses.
"""

from __future__ import annotations

import struct

OP_CALL = 28
OP_TAILCALL = 29
_HEADER = 12


class _Reader:
    __slots__ = ("buf", "pos", "int_fmt", "int_size", "size_t_fmt", "size_t_size")

    def __init__(self, buf: bytearray) -> None:
        if buf[:4] != b"\x1bLua" or buf[4] != 0x51:
            raise ValueError("not a Lua 5.1 chunk")
        little = buf[6] == 1
        self.int_size = buf[7]
        self.size_t_size = buf[8]
        if buf[9] != 4 or buf[10] != 8 or buf[11] != 0:
            raise ValueError("unexpected chunk layout")
        e = "<" if little else ">"
        self.int_fmt = e + {4: "i", 8: "q"}[self.int_size]
        self.size_t_fmt = e + {4: "I", 8: "Q"}[self.size_t_size]
        self.buf = buf
        self.pos = _HEADER

    def int_(self) -> int:
        v = struct.unpack_from(self.int_fmt, self.buf, self.pos)[0]
        self.pos += self.int_size
        return v

    def string(self) -> None:
        n = struct.unpack_from(self.size_t_fmt, self.buf, self.pos)[0]
        self.pos += self.size_t_size + n

    def function(self) -> None:
        self.string()  # source
        self.pos += 2 * self.int_size + 4  # line defined, last line, nups, params, vararg, stack
        n = self.int_()
        buf = self.buf
        little = self.int_fmt[0] == "<"
        for i in range(n):
            at = self.pos + 4 * i
            op_at = at if little else at + 3
            if buf[op_at] & 0x3F == OP_TAILCALL:
                buf[op_at] = (buf[op_at] & 0xC0) | OP_CALL
        self.pos += 4 * n
        for _ in range(self.int_()):  # constants
            t = buf[self.pos]
            self.pos += 1
            if t == 1:
                self.pos += 1
            elif t == 3:
                self.pos += 8
            elif t == 4:
                self.string()
            elif t != 0:
                raise ValueError("bad constant")
        for _ in range(self.int_()):  # nested functions
            self.function()
        n = self.int_()  # line info
        self.pos += self.int_size * n
        for _ in range(self.int_()):  # local variables
            self.string()
            self.pos += 2 * self.int_size
        for _ in range(self.int_()):  # upvalue names
            self.string()


def without_tail_calls(chunk: bytes) -> bytes:
    """The same chunk with OP_TAILCALL replaced by OP_CALL everywhere."""
    buf = bytearray(chunk)
    r = _Reader(buf)
    r.function()
    if r.pos != len(buf):
        raise ValueError("trailing bytes in chunk")
    return bytes(buf)
