"""A missing optional dependency is a message naming the extra and exit code 2, never a traceback.

Each command runs in a fresh interpreter in which the optional module cannot be imported
(``sys.modules[name] = None``), as after the README's main install, which has no ``check``
extra, or on a machine without pyarrow.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from accountrules.cli import OPTIONAL_MODULES, missing_module_message

ROOT = Path(__file__).resolve().parents[1]
EXPRESS = ROOT / "rulesets" / "express"
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts.csv"


def _run_without(modules: list[str], argv: list[str]) -> subprocess.CompletedProcess[str]:
    script = (
        "import sys\n"
        f"for name in {modules!r}:\n"
        "    sys.modules[name] = None\n"
        "from accountrules.cli import main\n"
        f"sys.exit(main({argv!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_check_without_hypothesis_names_the_check_extra() -> None:
    done = _run_without(["hypothesis"], ["check", str(EXPRESS), "--examples", "5"])
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "pip install 'accountrules[check]'" in done.stderr


def test_check_help_says_which_extra_it_needs() -> None:
    done = _run_without(["hypothesis"], ["check", "--help"])
    assert done.returncode == 0
    assert "accountrules[check]" in " ".join(done.stdout.split())


HIDE_ARROW = ["pyarrow", "pyarrow.parquet", "pyarrow.csv", "pyarrow.compute", "pyarrow.json", "pyarrow.lib"]


def _assert_names_arrow_extra(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "accountrules[arrow]" in done.stderr


def test_decide_to_parquet_without_pyarrow_names_the_arrow_extra(tmp_path: Path) -> None:
    out = tmp_path / "decisions.parquet"
    _assert_names_arrow_extra(
        _run_without(HIDE_ARROW, ["decide", str(EXPRESS), str(ACCOUNTS), "-o", str(out), "--as-of", "2026-06-30"]))
    _assert_names_arrow_extra(
        _run_without(HIDE_ARROW, ["decide", str(EXPRESS), str(ACCOUNTS), "-o", str(tmp_path / "d.out"),
                                  "--format", "parquet", "--as-of", "2026-06-30"]))


def test_decide_from_parquet_without_pyarrow_names_the_arrow_extra(tmp_path: Path) -> None:
    pacsv = pytest.importorskip("pyarrow.csv", reason="pyarrow writes the Parquet input of this test")
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow writes the Parquet input of this test")
    source = tmp_path / "accounts.parquet"
    pq.write_table(pacsv.read_csv(ACCOUNTS), source)
    _assert_names_arrow_extra(
        _run_without(HIDE_ARROW, ["decide", str(EXPRESS), str(source), "-o", str(tmp_path / "d.csv"),
                                  "--as-of", "2026-06-30"]))


def test_features_without_pyarrow_names_the_arrow_extra(tmp_path: Path) -> None:
    orders = ROOT / "examples" / "cdnow" / "orders_sample.txt"
    done = _run_without(HIDE_ARROW, ["features", str(orders), "--as-of", "1998-07-01", "-o", str(tmp_path / "a.csv")])
    _assert_names_arrow_extra(done)


def test_decide_with_durable_missing_names_the_durable_extra(tmp_path: Path) -> None:
    out = tmp_path / "decisions.csv"
    done = _run_without(["durable", "durable.engine", "durable.lang", "durable_rules_engine"],
                        ["decide", str(EXPRESS), str(ACCOUNTS), "-o", str(out), "--engine", "durable",
                         "--as-of", "2026-06-30"])
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    if sys.version_info >= (3, 13):  # no extra would help: it says so instead of naming one
        assert "does not support Python 3.13" in done.stderr
    else:
        assert "accountrules[durable]" in done.stderr


def test_the_message_names_the_extra_of_every_optional_module() -> None:
    for module, extra in OPTIONAL_MODULES.items():
        e = ModuleNotFoundError(f"No module named '{module}.sub'", name=f"{module}.sub")
        assert missing_module_message(e) == (
            f"this command needs {module}, which is not installed: pip install 'accountrules[{extra}]'")
    assert missing_module_message(ModuleNotFoundError("No module named 'nope'", name="nope")) is None


def test_version_and_python_dash_m() -> None:
    from accountrules.cli import main

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    done = subprocess.run([sys.executable, "-m", "accountrules", "--version"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("accountrules ")


def test_a_closed_pipe_is_no_traceback(tmp_path: Path) -> None:
    # `accountrules test ... | head -1`: the reader closes the pipe after one line
    done = subprocess.run(f"{sys.executable} -m accountrules test {EXPRESS} | head -1", shell=True, cwd=ROOT,  # noqa: S602
                          capture_output=True, text=True, timeout=300)
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr
