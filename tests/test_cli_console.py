"""The ``accountrules`` program's own process setting: one BLAS thread, chosen before numpy is imported.

numpy's bundled OpenBLAS starts a spinning worker per core at import; no command multiplies matrices
large enough to share out, so the program asks for one thread (``accountrules.cli.console``). The
setting only takes effect if nothing imported numpy before it, and it must never reach a process
that merely calls :func:`accountrules.cli.main`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import accountrules.cli.app as app
from accountrules.cli import console, main

ROOT = Path(__file__).resolve().parents[1]


def test_the_program_asks_for_one_blas_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    seen: list[str | None] = []
    monkeypatch.setattr(app, "main", lambda: seen.append(os.environ.get("OPENBLAS_NUM_THREADS")) or 0)
    assert console() == 0
    assert seen == ["1"]


def test_a_number_the_caller_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    monkeypatch.setattr(app, "main", lambda: 0)
    console()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"


def test_main_leaves_its_callers_environment_alone(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert main(["check", str(ROOT / "rulesets" / "express")]) == 0
    capsys.readouterr()
    assert "OPENBLAS_NUM_THREADS" not in os.environ


def test_the_program_reaches_the_setting_before_numpy_is_imported() -> None:
    # a fresh interpreter, as the console script starts: what `accountrules` and `python -m accountrules`
    # import before console() runs must not load numpy, or OpenBLAS has started its workers already
    code = "import sys; import accountrules.cli; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_python_m_accountrules_runs_the_program(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = tmp_path / "d.csv"
    done = subprocess.run([sys.executable, "-m", "accountrules", "decide", str(ROOT / "rulesets" / "express"),
                           str(ROOT / "examples" / "portfolio" / "accounts.csv"), "-o", str(out),
                           "--as-of", "2026-06-30", "-q"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8-sig").startswith("row,account_id,")
