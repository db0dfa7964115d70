"""Function libraries in RDB files, handed to and taken from the scripting engine.

An RDB file carries each FUNCTION library as its source code (RDB_OPCODE_FUNCTION2). Saving
asks the engine's scripting state (respdb.scripting, created only when scripting was used)
for the code of every library; loading hands the file's libraries over in one go, so that a
library the scripting engine refuses refuses the whole file before the keyspace is touched.
"""

from __future__ import annotations

from typing import Any


def libraries(engine: Any) -> list[bytes]:
    """The library sources to write into an RDB file."""
    sc = engine.__dict__.get("scripting")
    if sc is None:
        return []
    return [lib.code for lib in sc.functions.libraries.values()]


def restore(engine: Any, codes: list[bytes]) -> None:
    """Replace the function libraries with a loaded file's; raises ValueError when refused."""
    if not codes:
        return
    from respdb import scripting
    from respdb.errors import CommandError

    try:
        scripting.get(engine).functions.restore(list(codes), "flush")
    except CommandError as err:
        raise ValueError("Failed loading library: %s" % err.msg.removeprefix("ERR ")) from None
