"""Lua scripting and functions (EVAL, SCRIPT, FUNCTION, FCALL) on Lua 5.1 through lupa.

`get(engine)` returns the engine's `Scripting` (created on first use): the EVAL script
cache and Lua state, the function libraries and their Lua state, and the running script.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from respdb.engine import Engine
    from respdb.scripting.core import Scripting


def get(engine: Engine) -> Scripting:
    sc = engine.__dict__.get("scripting")
    if sc is None:
        from respdb.scripting.core import Scripting

        sc = engine.scripting = Scripting(engine)
    return sc
