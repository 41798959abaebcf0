"""Import an optional package, or say which extra to install (:class:`MissingDependencyError`)."""

from __future__ import annotations

import importlib
from types import ModuleType

from accountrules.errors import MissingDependencyError

ARROW_EXTRA = "arrow"


def require(module: str, purpose: str, extra: str = ARROW_EXTRA) -> ModuleType:
    """``module`` imported; a missing one (or its parent package) raises :class:`MissingDependencyError`."""
    top = module.partition(".")[0]
    try:
        # the top-level package first: a submodule left in sys.modules would hide a missing parent
        importlib.import_module(top)
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(purpose, top, extra) from e


def pyarrow(purpose: str) -> ModuleType:
    """``pyarrow``, for ``purpose`` (e.g. ``"writing Parquet"``)."""
    return require("pyarrow", purpose)


__all__ = ["ARROW_EXTRA", "pyarrow", "require"]
