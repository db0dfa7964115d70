"""One Lua 5.1 state (lupa) set up as Redis's scripting environment.

The Lua side lives in `lua/`: `runtime.lua` builds the sandbox and the `redis` API,
the libraries Redis bundles in C (cjson, cmsgpack, struct, bit) are Lua ports loaded
first. Python talks to a state only through the functions `runtime.lua` returns and the
host callbacks it is given; scripts never see a Python object.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import lupa.lua51 as lua51

from respdb.scripting.bytecode import without_tail_calls

LUA_DIR = Path(__file__).resolve().parent / "lua"
_LIBS = ("aux", "ieee", "bit", "struct", "cmsgpack", "cjson", "runtime")
_SOURCES: dict[str, bytes] = {}


def _source(name: str) -> bytes:
    src = _SOURCES.get(name)
    if src is None:
        src = _SOURCES[name] = (LUA_DIR / f"{name}.lua").read_bytes()
    return src


def _no_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    # Lua code could only reach Python objects through a bug of ours; even then, no
    # attribute of them is readable or writable.
    raise AttributeError("not accessible")


_MAKE_NULL = b"""
local hidden = ...
local null = newproxy(true)
local mt = getmetatable(null)
mt.__tostring = function() return "userdata: (nil)" end
mt.__metatable = hidden
return null
"""


class LuaVM:
    """A Lua state in `mode` "eval" (EVAL scripts) or "function" (FUNCTION libraries)."""

    def __init__(self, mode: str, host: dict[bytes, Any]) -> None:
        self.mode = mode
        rt = lua51.LuaRuntime(
            encoding=None,
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_no_attributes,
        )
        self.runtime = rt
        loadstring = rt.eval(b"loadstring")

        def load(name: str) -> Any:
            return load_chunk(loadstring, _source(name), b"=[%s]" % name.encode())

        hidden = rt.table()
        null = load_chunk(loadstring, _MAKE_NULL, b"=[respdb]")(hidden)
        aux = load("aux")()
        ieee = load("ieee")()
        libs = rt.table_from(
            {
                b"aux": aux,
                b"bit": load("bit")(aux),
                b"struct": load("struct")(ieee, aux),
                b"cmsgpack": load("cmsgpack")(ieee, aux),
                b"cjson": load("cjson")(null, aux),
                b"hidden": hidden,
                b"sources": rt.table(*(b"=[%s]" % n.encode() for n in _LIBS)),
            }
        )
        host = dict(host)
        host[b"patch"] = without_tail_calls
        api = load("runtime")(rt.table_from(host), libs, mode.encode())
        self.compile: Callable[..., Any] = api[b"compile"]
        self.run: Callable[..., Any] = api[b"run"]
        self.debug_run: Callable[..., Any] = api[b"debug_run"]
        self.load_library: Callable[..., Any] = api[b"load_library"]
        self.table_from = rt.table_from
        rt.eval(b"collectgarbage('collect')")
        self.baseline = self._raw_memory()
        self.base_size = 32768 if mode == "eval" else 33792  # a fresh Redis 7.0's states

    def _raw_memory(self) -> int:
        return int(self.runtime.eval(b"collectgarbage('count')") * 1024)

    def memory(self) -> int:
        """Bytes the Lua state uses, as INFO reports them: the libraries are Lua code here and
        make the state ten times larger than Redis's, so what is counted is what scripts add
        to the state as built, on top of the size of Redis's fresh state."""
        return self.base_size + max(0, self._raw_memory() - self.baseline)


def load_chunk(loadstring: Any, src: bytes, name: bytes) -> Any:
    res = loadstring(src, name)
    if isinstance(res, tuple):  # nil and the message (one result on success)
        raise RuntimeError("cannot load %s: %s" % (name, res[1]))
    return res
