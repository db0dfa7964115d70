"""Lua scripting and functions (EVAL, SCRIPT, FUNCTION, FCALL) on Lua 5.1 through lupa.

`get(engine)` returns the engine's `Scripting` (created on first use): the EVAL script
cache and Lua state, the function libraries and their Lua state, and the running script.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from respdb.engine import Engine
    from respdb.scripting.core import Scripting


def function_codes(engine: Engine) -> list[bytes]:
    """The code of every function library, as the RDB function opcode stores it."""
    sc = engine.__dict__.get("scripting")
    if sc is None:
        return []
    return [lib.code for lib in sc.functions.libraries.values()]


def load_function(engine: Engine, code: bytes, replace: bool = False) -> bytes:
    """Load one library (RDB/AOF loading): no time limit; raises CommandError like FUNCTION LOAD."""
    return get(engine).functions.create(code, replace, timeout=False)


def info_memory(engine: Engine) -> list[tuple[str, str]]:
    """The scripting fields of INFO memory, in Redis's order (for the INFO command).

    Before the first script the Lua states do not exist yet: their sizes are those of a
    fresh Redis 7.0."""
    sc = engine.__dict__.get("scripting")
    if sc is None:
        vm_eval, vm_functions, nscripts, nfuncs, nlibs = 32768, 33792, 0, 0, 0
        scripts_eval = 0
    else:
        vm_eval, vm_functions = sc.eval_vm.memory(), sc.functions.vm.memory()
        nscripts = len(sc.scripts)
        nlibs, nfuncs = sc.functions.stats()
        scripts_eval = sum(len(s.body) + 96 for s in sc.scripts.values())
    functions_mem = 200 + sum(len(lib.code) for lib in sc.functions.libraries.values()) if sc else 200
    return [
        ("used_memory_lua", str(vm_eval)),
        ("used_memory_vm_eval", str(vm_eval)),
        ("used_memory_lua_human", _human(vm_eval)),
        ("used_memory_scripts_eval", str(scripts_eval)),
        ("number_of_cached_scripts", str(nscripts)),
        ("number_of_functions", str(nfuncs)),
        ("number_of_libraries", str(nlibs)),
        ("used_memory_vm_functions", str(vm_functions)),
        ("used_memory_vm_total", str(vm_eval + vm_functions)),
        ("used_memory_vm_total_human", _human(vm_eval + vm_functions)),
        ("used_memory_functions", str(functions_mem)),
        ("used_memory_scripts", str(scripts_eval + functions_mem)),
        ("used_memory_scripts_human", _human(scripts_eval + functions_mem)),
    ]


def _human(n: int) -> str:
    """Redis's bytesToHuman."""
    for unit, size in (("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size:
            return "%.2f%s" % (n / size, unit)
    return "%dB" % n


def get(engine: Engine) -> Scripting:
    sc = engine.__dict__.get("scripting")
    if sc is None:
        from respdb.scripting.core import Scripting

        sc = engine.scripting = Scripting(engine)
    return sc


def command_flags(engine: Engine, fullname: str, argv: list[bytes], cmd_flags: int) -> int:
    """EVAL/EVALSHA/FCALL's flags as Redis's processCommand sees them (evalGetCommandFlags,
    fcallGetCommandFlags): a script or function that declares flags (a shebang, or
    register_function's flags) is a write command only without `no-writes`, and may run
    during CLIENT PAUSE WRITE or past maxmemory according to them."""
    from respdb.commands.table import DENYOOM, MAY_REPLICATE, STALE, WRITE
    from respdb.errors import CommandError
    from respdb.scripting.core import ALLOW_OOM, ALLOW_STALE, EVAL_COMPAT, NO_WRITES, parse_script_shebang

    if len(argv) < 2:
        return cmd_flags
    sc = engine.__dict__.get("scripting")
    if fullname in ("fcall", "fcall_ro"):
        f = sc.functions.find(argv[1]) if sc is not None else None
        if f is None:
            return cmd_flags
        flags = f.flags
    else:
        evalsha = fullname.startswith("evalsha")
        script = sc.cached(argv[1], evalsha) if sc is not None else None
        if script is not None:
            flags = script.flags
        elif evalsha:
            return cmd_flags  # an unknown script: EVALSHA itself answers NOSCRIPT
        else:
            try:
                flags, _ = parse_script_shebang(argv[1])
            except CommandError:
                return cmd_flags
        if flags & EVAL_COMPAT:
            # without a shebang: the command's flags, except that Redis 7.0 refuses such a
            # script on a stale replica (MASTERDOWN) although EVAL is marked STALE
            return cmd_flags & ~STALE
    out = cmd_flags & ~(STALE | DENYOOM | WRITE | MAY_REPLICATE)
    if not flags & (ALLOW_OOM | NO_WRITES):
        out |= DENYOOM
    if not flags & NO_WRITES:
        out |= WRITE
    if flags & ALLOW_STALE:
        out |= STALE
    return out
