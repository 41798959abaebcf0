"""The README's Python snippets run as written (from the repository root), each after the install
command the README puts before it. ``.ci/run`` also runs them in a fresh environment that has only
that install, on every supported Python the machine has."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# what each extra must make importable; a snippet whose extras are missing here is skipped, naming them
EXTRA_MODULES = {"arrow": "pyarrow", "vector": "numpy", "pandas": "pandas", "check": "hypothesis",
                 "durable": "durable", "test": "pytest"}


def snippets() -> list[tuple[str, tuple[str, ...]]]:
    """Every ```python block with the extras of the last ``pip install`` command before it (the
    test command's install aside)."""
    out: list[tuple[str, tuple[str, ...]]] = []
    extras: tuple[str, ...] = ()
    for m in re.finditer(r"```(\w+)\n(.*?)```", README, re.S):
        lang, body = m.group(1), m.group(2)
        if lang == "sh":
            for install in re.findall(r"pip install [^\n]*?\"\.\[([\w,]+)\]\"", body):
                if "test" not in install.split(","):  # the test command installs for pytest, not for a snippet
                    extras = tuple(install.split(","))
        elif lang == "python":
            out.append((body, extras))
    return out


def test_the_readme_has_the_snippets_this_test_expects() -> None:
    found = snippets()
    assert len(found) >= 2
    assert found[0][1] == ("arrow",), "the quick start follows the main install command"
    assert any("durable" in extras for _, extras in found), "the durable snippet follows its own install"


@pytest.mark.parametrize(("code", "extras"), snippets(), ids=lambda v: v[:40] if isinstance(v, str) else str(v))
def test_snippet_runs_after_its_install(code: str, extras: tuple[str, ...], tmp_path: Path) -> None:
    missing = [EXTRA_MODULES[e] for e in extras if importlib.util.find_spec(EXTRA_MODULES[e]) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (extras {', '.join(extras)}), not installed here")
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "KA-001" in done.stdout


def test_quick_start_prints_both_accounts_in_chinese() -> None:
    code, _ = snippets()[0]
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "客户 KA-001" in done.stdout and "KA-002" in done.stdout


def test_example_script_prints_explanations() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "small" / "run.py"), "en"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Account KA-") == 6 and "Tier:" in done.stdout
