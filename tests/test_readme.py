"""The README's quick start runs as written (from the repository root)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_start_runs(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\s+```python\n(.*?)```", text, re.S)
    assert block, "README has a Python quick start"
    script = tmp_path / "quick_start.py"
    script.write_text(block.group(1), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "客户 KA-001" in done.stdout and "KA-002" in done.stdout


def test_example_script_prints_explanations() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "small" / "run.py"), "en"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Account KA-") == 6 and "Tier:" in done.stdout
