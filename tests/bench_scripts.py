"""Shared by the tests of ``benchmarks/`` scripts: one script imported as a module by its file name
(``benchmarks/`` is no package; its scripts import one another by name, as run from there)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def bench_script(name: str, module_name: str | None = None) -> ModuleType:
    """``benchmarks/<name>.py`` imported under ``module_name`` (default: ``name``)."""
    module_name = module_name or name
    spec = importlib.util.spec_from_file_location(module_name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # a dataclass of the script looks its module up by this name
    spec.loader.exec_module(module)
    return module
