"""Function libraries (FUNCTION LOAD, FCALL): the registry persistence saves and restores.

A library is its name, its engine ("LUA") and its code, exactly as loaded: the RDB
function opcode and FUNCTION DUMP store the code, and loading it back runs it again.
Its functions are compiled closures in the functions' Lua state. Function names are
case-insensitive (and unique across libraries); library names are case-sensitive.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from respdb.errors import CommandError
from respdb.resp import split_inline
from respdb.scripting.core import FLAG_NAMES, Scripting, _text

if TYPE_CHECKING:
    from respdb.scripting.vm import LuaVM

LOAD_TIMEOUT = 0.5  # seconds FUNCTION LOAD's code may run
ENGINE = b"LUA"
NAME_ERROR = (
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"
)


class Function:
    __slots__ = ("name", "fn", "flags", "desc", "library")

    def __init__(self, name: bytes, fn: Any, flags: int, desc: bytes | None, library: Library) -> None:
        self.name = name
        self.fn = fn
        self.flags = flags
        self.desc = desc
        self.library = library

    def flag_names(self) -> list[bytes]:
        return [name for bit, name in FLAG_NAMES if self.flags & bit]


class Library:
    __slots__ = ("name", "engine", "code", "functions")

    def __init__(self, name: bytes, code: bytes) -> None:
        self.name = name
        self.engine = ENGINE
        self.code = code
        self.functions: dict[bytes, Function] = {}  # registration order


class LibrarySet:
    """Libraries and the functions they define (FUNCTION RESTORE builds a second one)."""

    def __init__(self) -> None:
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[bytes, Function] = {}  # lowercase name -> function

    def link(self, lib: Library) -> None:
        for f in lib.functions.values():
            self.functions.setdefault(f.name.lower(), f)
        self.libraries[lib.name] = lib

    def unlink(self, lib: Library) -> None:
        for f in lib.functions.values():
            if self.functions.get(f.name.lower()) is f:
                del self.functions[f.name.lower()]
        del self.libraries[lib.name]


def valid_name(name: bytes) -> bool:
    return bool(name) and all(c == 95 or 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 for c in name)


def parse_metadata(code: bytes) -> tuple[bytes, bytes, int]:
    """functionExtractLibMetaData: (engine, library name, length of the shebang line)."""
    if not code.startswith(b"#!"):
        raise CommandError("ERR Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise CommandError("ERR Invalid library metadata")
    parts = split_inline(code[:end])
    if not parts:
        raise CommandError("ERR Invalid library metadata")
    engine = parts[0][2:]
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                raise CommandError("ERR Invalid metadata value, name argument was given multiple times")
            name = part[5:]
            continue
        raise CommandError("ERR Invalid metadata value given: %s" % _text(part))
    if name is None:
        raise CommandError("ERR Library name was not given")
    return engine, name, end


class Functions:
    def __init__(self, scripting: Scripting) -> None:
        self.scripting = scripting
        self.vm: LuaVM = scripting._new_vm("function")
        self.current = LibrarySet()

    @property
    def libraries(self) -> dict[bytes, Library]:
        return self.current.libraries

    def find(self, name: bytes) -> Function | None:
        return self.current.functions.get(name.lower())

    def create(self, code: bytes, replace: bool, target: LibrarySet | None = None, timeout: bool = True) -> bytes:
        """functionsCreateWithLibraryCtx: load a library into `target` (the current set by
        default); returns its name. Raises CommandError with Redis's message."""
        target = target or self.current
        engine, name, shebang_len = parse_metadata(code)
        if not valid_name(name):
            raise CommandError("ERR " + NAME_ERROR)
        if engine.upper() != ENGINE:
            raise CommandError("ERR Engine '%s' not found" % _text(engine))
        old = target.libraries.get(name)
        if old is not None and not replace:
            raise CommandError("ERR Library '%s' already exists" % _text(name))
        lib = Library(name, code)
        self._compile(lib, code[shebang_len:], timeout)
        if old is not None:
            target.unlink(old)
        try:
            if not lib.functions:
                raise CommandError("ERR No functions registered")
            for f in lib.functions.values():
                if f.name.lower() in target.functions:
                    raise CommandError("ERR Function %s already exists" % _text(f.name))
        except CommandError:
            if old is not None:
                target.link(old)
            raise
        target.link(lib)
        return name

    def _compile(self, lib: Library, code: bytes, timeout: bool) -> None:
        sc = self.scripting
        sc.load_timed_out = False
        sc.load_deadline = time.monotonic() + LOAD_TIMEOUT if timeout else 0.0
        try:
            res = self.vm.load_library(code)
        finally:
            sc.load_deadline = 0.0
        if isinstance(res, tuple) and res[0] is None:
            raise CommandError("ERR " + _text(res[1]))
        registered, n = res
        for i in range(1, int(n) + 1):
            entry = registered[i]
            name, fn, flags, desc = entry[1], entry[2], entry[3], entry[4]
            lib.functions[name] = Function(name, fn, int(flags), desc, lib)

    def delete(self, name: bytes) -> None:
        lib = self.current.libraries.get(name)
        if lib is None:
            raise CommandError("ERR Library not found")
        self.current.unlink(lib)

    def flush(self) -> None:
        self.current = LibrarySet()

    def restore(self, libs: list[bytes], policy: str) -> None:
        """FUNCTION RESTORE (and RDB loading): `libs` are library codes."""
        staged = LibrarySet()
        for code in libs:
            self.create(code, False, staged, timeout=False)
        if policy == "flush":
            self.current = staged
            return
        cur = self.current
        replaced = []
        try:
            for lib in staged.libraries.values():
                old = cur.libraries.get(lib.name)
                if old is not None:
                    if policy != "replace":
                        raise CommandError("ERR Library %s already exists" % _text(lib.name))
                    cur.unlink(old)
                    replaced.append(old)
            for key, f in staged.functions.items():
                if key in cur.functions:
                    raise CommandError("ERR Function %s already exists" % _text(f.name))
        except CommandError:
            for old in replaced:
                cur.link(old)
            raise
        for lib in staged.libraries.values():
            cur.link(lib)

    def stats(self) -> tuple[int, int]:
        return len(self.current.libraries), len(self.current.functions)

    def fcall(self, c: Any, cmd: Any, argv: list[bytes], ro: bool) -> bytes:
        f = self.find(argv[1])
        if f is None:
            raise CommandError("ERR Function not found")
        from respdb.commands.args import parse_ll

        nkeys = parse_ll(argv[2])
        if nkeys is None:
            raise CommandError("ERR Bad number of keys provided")
        if nkeys > len(argv) - 3:
            raise CommandError("ERR Number of keys can't be greater than number of args")
        if nkeys < 0:
            raise CommandError("ERR Number of keys can't be negative")
        return self.scripting.invoke(c, cmd, argv, self.vm, f.fn, _text(f.name), False, f.flags, ro, nkeys)
