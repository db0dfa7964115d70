"""Command handlers, one module per Redis group; `load_all()` registers them.

Every module of this package is imported: a handler module registers its commands
with `@command` at import time, so adding a group is adding a file.
"""

import importlib
import pkgutil


def load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
