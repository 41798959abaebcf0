"""Every Python snippet of docs/embedding.md runs as written from the repository root."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNIPPETS = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "embedding.md").read_text(encoding="utf-8"), re.S)


def test_the_page_has_its_snippets() -> None:
    assert len(SNIPPETS) == 5


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_snippet_runs(code: str, tmp_path: Path) -> None:
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    for expected in re.findall(r"# (crm:\S+)", code):  # a location the page promises in a comment
        assert expected in done.stdout


def test_the_library_logs_nothing_an_application_did_not_ask_for() -> None:
    code = "import logging, accountrules; logging.getLogger('accountrules.batch').warning('not shown')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
