"""Import an optional package, or say which extra to install (:class:`MissingDependencyError`)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from accountrules.errors import MissingDependencyError

ARROW_EXTRA = "arrow"
# every optional module and the extra that installs it: the library's errors and the CLI's messages
OPTIONAL_MODULES = {
    "pyarrow": ARROW_EXTRA,
    "numpy": "vector",
    "pandas": "pandas",
    "scipy": "backtest",
    "hypothesis": "check",
    "durable": "durable",
    "durable_rules_engine": "durable",
    "pyspark": "spark",
}


def require(module: str, purpose: str, extra: str | None = None) -> ModuleType:
    """``module`` imported; a missing one (or its parent package) raises :class:`MissingDependencyError`
    naming ``extra`` (by default the one :data:`OPTIONAL_MODULES` gives)."""
    top = module.partition(".")[0]
    # asked once per column of every block a CSV reader hands out: two dict look-ups when both are imported
    # (a package blocked by ``sys.modules[name] = None`` takes the import below, which refuses it)
    got = sys.modules.get(module)
    if got is not None and sys.modules.get(top) is not None:
        return got
    extra = extra or OPTIONAL_MODULES.get(top, ARROW_EXTRA)
    try:
        # the top-level package first: a submodule left in sys.modules would hide a missing parent
        importlib.import_module(top)
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(purpose, top, extra) from e


def imported(module: str) -> ModuleType | None:
    """``module`` if the application has imported it, else None (it is not imported here): an input
    of one of its types can only exist once it has been.

    While another thread is still importing it, ``sys.modules`` already holds the module half
    initialised (``pyarrow.Table`` not defined yet): importing it again waits for that thread to finish.
    """
    if module not in sys.modules:
        return None
    return importlib.import_module(module)


def pyarrow(purpose: str) -> ModuleType:
    """``pyarrow``, for ``purpose`` (e.g. ``"writing Parquet"``)."""
    return require("pyarrow", purpose)


__all__ = ["ARROW_EXTRA", "OPTIONAL_MODULES", "imported", "pyarrow", "require"]
