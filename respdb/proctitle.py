"""The process title (`ps`, `top`): Redis's `proc-title-template` and `set-proc-title`.

The template's `{name}` variables are Redis's: title, listen-addr, server-mode, port,
tls-port, unixsocket and config-file; `{{` is a literal brace. An unknown variable or an
unfinished `{` makes the template invalid, as does one that expands to nothing. Forked
children take Redis's own titles (`redis-rdb-bgsave`, ...) so that tools watching for them
find them.

The title is written with the `setproctitle` package; without it, titles are validated but
not shown.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

try:
    from setproctitle import setproctitle as _setproctitle
except ImportError:  # pragma: no cover - setproctitle is a declared dependency
    _setproctitle = None

INVALID = "template format is invalid or contains unknown variables"

# Titles of forked children, as Redis names them.
RDB_BGSAVE = "redis-rdb-bgsave"
AOF_REWRITE = "redis-aof-rewrite"
RDB_TO_REPLICAS = "redis-rdb-to-slaves"


def executable_title() -> str:
    """Redis's default {title}: the server's name as it was started (`respdb-server`'s path,
    or the interpreter's for `python -m respdb`)."""
    first = sys.argv[0] if sys.argv else ""
    if not first or first.endswith("__main__.py") or first == "-m":
        return (sys.orig_argv[0] if sys.orig_argv else "python") + " -m respdb"
    return first


def expand(template: str, variable: Callable[[str], str | None]) -> str | None:
    """Redis's sdstemplate: `{name}` replaced by variable(name), `{{` by `{`; None when a
    variable is unknown or a brace is left open. Spaces at either end are trimmed."""
    out: list[str] = []
    i, n = 0, len(template)
    while i < n:
        start = template.find("{", i)
        if start < 0:
            out.append(template[i:])
            break
        out.append(template[i:start])
        if start + 1 >= n:
            return None
        if template[start + 1] == "{":
            out.append("{")
            i = start + 2
            continue
        end = template.find("}", start + 1)
        if end < 0:
            return None
        value = variable(template[start + 1 : end])
        if value is None:
            return None
        out.append(value)
        i = end + 1
    return "".join(out).strip(" ")


def variables(config: Any, title: str, port: int | None = None) -> Callable[[str], str | None]:
    """The template variables of a server with this configuration."""

    def variable(name: str) -> str | None:
        tcp = port if port is not None else int(config["port"])
        tls = int(config["tls-port"]) if "tls-port" in config.values else 0
        if name == "title":
            return title
        if name == "listen-addr":
            if tcp or tls:
                bind = config["bind"].split()
                return "%s:%d" % (bind[0] if bind else "*", tcp or tls)
            return "unixsocket:" + config["unixsocket"]
        if name == "server-mode":
            return "[cluster]" if config["cluster-enabled"] == "yes" else ""
        if name == "config-file":
            return os.path.abspath(config.file) if config.file else "-"
        if name == "port":
            return str(tcp)
        if name == "tls-port":
            return str(tls)
        if name == "unixsocket":
            return config["unixsocket"]
        return None

    return variable


def valid(template: str, config: Any) -> bool:
    """Redis's validateProcTitleTemplate: it expands, and not to nothing."""
    return bool(expand(template, variables(config, "")))


def set_title(config: Any, title: str | None = None, port: int | None = None) -> bool:
    """Show the title (Redis's redisSetProcTitle); False when the template does not expand."""
    text = expand(config["proc-title-template"], variables(config, title or executable_title(), port))
    if text is None:
        return False
    if _setproctitle is not None:
        _setproctitle(text)
    return True
