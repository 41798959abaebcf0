"""The package root is small: what an application needs to load, decide and catch errors. Everything
else is imported from its subpackage, and a name that moved says where it lives now."""

from __future__ import annotations

import importlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import accountrules

ROOT = Path(__file__).resolve().parents[1]

ROOT_NAMES = {
    "Account", "AccountRulesError", "AccountValidationError", "BatchResult", "Decision", "DecisionError",
    "EngineUnavailableError", "LoadLimits", "Policy", "PolicyError", "PortfolioStats", "RowError",
    "__version__", "load_policy", "load_policy_mapping", "load_policy_text",
}


def test_the_root_exports_exactly_these_names() -> None:
    assert set(accountrules.__all__) == ROOT_NAMES
    assert len(accountrules.__all__) == len(ROOT_NAMES), "no name twice"
    for name in accountrules.__all__:
        assert getattr(accountrules, name) is not None


def test_public_names_of_the_root_are_only_those_in_all() -> None:
    modules = {name for name, value in vars(accountrules).items() if type(value) is type(accountrules)}
    public = {n for n in vars(accountrules) if not n.startswith("_")} - modules
    assert public == ROOT_NAMES - {"__version__"}


@pytest.mark.parametrize(("name", "home"), sorted(accountrules._MOVED.items()))
def test_a_moved_name_is_importable_from_its_subpackage_and_the_root_says_where(name: str, home: str) -> None:
    module = importlib.import_module(home)
    assert name in module.__all__
    with pytest.raises(AttributeError, match=re.escape(f"import it from {home}")):
        getattr(accountrules, name)


def test_an_unknown_name_is_a_plain_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        accountrules.nonsense  # noqa: B018


def test_the_library_logger_prints_nothing_without_a_configured_handler() -> None:
    import logging

    handlers = logging.getLogger("accountrules").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def _snippets(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_and_docs_import_from_the_root_only_what_it_exports() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        for code in _snippets(page.read_text(encoding="utf-8")):
            for names in re.findall(r"^from accountrules import ([^\n(]+)$", code, re.M):
                for name in (n.strip() for n in names.split(",")):
                    assert name in ROOT_NAMES, f"{page.name}: {name} is not at the root"
            for name in re.findall(r"\baccountrules\.([A-Za-z_]\w*)\b", code):
                if name[0].isupper():
                    assert name in ROOT_NAMES, f"{page.name}: accountrules.{name} is not at the root"


def quick_start() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Quick start", 1)[1]
    return _snippets(section)[0]


@pytest.mark.skipif(shutil.which("mypy") is None and importlib.util.find_spec("mypy") is None,
                    reason="mypy is not installed (extra: dev)")
def test_the_readme_quick_start_passes_mypy_strict(tmp_path: Path) -> None:
    script = tmp_path / "quick_start.py"
    script.write_text(quick_start(), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir", str(tmp_path / "cache"),
         str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
