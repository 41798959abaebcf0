"""Without pyarrow (or pandas): a typed error naming the extra to install, never a traceback; JSONL still works."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

from accountrules.batch.result import BatchResult
from accountrules.batch.writers import open_writer, write_parquet
from accountrules.cli import main
from accountrules.errors import EngineUnavailableError, MissingDependencyError
from accountrules.policy import Policy, load_policy

pq: Any = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small"
ACCOUNTS_JSONL = SMALL / "accounts.jsonl"
ACCOUNTS_CSV = ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"
EXPRESS = ROOT / "rulesets" / "express"
AS_OF = dt.date(2026, 6, 30)
ARROW_HINT = r"pip install 'accountrules\[arrow\]'"


@pytest.fixture(scope="module")
def small() -> Policy:
    return load_policy(SMALL)


@pytest.fixture(scope="module")
def result(small: Policy) -> BatchResult:
    return small.decide_many(ACCOUNTS_JSONL, as_of=AS_OF)


@pytest.fixture
def no_arrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow as if not installed: ``import pyarrow`` (and its submodules) raises ImportError."""
    for name in ("pyarrow", "pyarrow.parquet", "pyarrow.csv", "pyarrow.json", "pyarrow.compute"):
        monkeypatch.setitem(sys.modules, name, None)


def _is_arrow_error(e: MissingDependencyError) -> None:
    assert isinstance(e, EngineUnavailableError)  # what callers caught before
    assert e.module == "pyarrow" and e.extra == "arrow"


@pytest.mark.usefixtures("no_arrow")
def test_writing_parquet_names_the_extra(result: BatchResult, small: Policy, tmp_path: Path) -> None:
    out = tmp_path / "d.parquet"
    with pytest.raises(MissingDependencyError, match=ARROW_HINT) as info:
        write_parquet(result, out)
    _is_arrow_error(info.value)
    with pytest.raises(MissingDependencyError, match=ARROW_HINT):
        open_writer(out, "parquet", small)
    assert not out.exists()
    with pytest.raises(MissingDependencyError, match=ARROW_HINT):
        result.to_arrow()


@pytest.mark.usefixtures("no_arrow")
def test_reading_csv_names_the_extra() -> None:
    with pytest.raises(MissingDependencyError, match=ARROW_HINT) as info:
        load_policy(EXPRESS).decide_many(ACCOUNTS_CSV, as_of=AS_OF)
    _is_arrow_error(info.value)


def test_reading_parquet_names_the_extra(result: BatchResult, small: Policy, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "accounts.parquet"
    pq.write_table(_flat(result), path)
    for name in ("pyarrow", "pyarrow.parquet"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(MissingDependencyError, match=ARROW_HINT):
        small.decide_many(path, as_of=AS_OF)


def _flat(result: BatchResult) -> Any:
    import pyarrow as pa

    return pa.table({"id": [d.account_id for d in result.decisions]})


def test_jsonl_needs_no_pyarrow(result: BatchResult, small: Policy, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    expected = result.to_records(errors=True)
    for name in ("pyarrow", "pyarrow.parquet", "pyarrow.csv", "pyarrow.json", "pyarrow.compute"):
        monkeypatch.setitem(sys.modules, name, None)
    got = small.decide_many(ACCOUNTS_JSONL, as_of=AS_OF)
    assert got.to_records(errors=True) == expected and len(expected) > 0
    assert main(["decide", str(SMALL), str(ACCOUNTS_JSONL), "-o", str(tmp_path / "d.csv"),
                 "--as-of", AS_OF.isoformat()]) in (0, 1)
    assert (tmp_path / "d.csv").read_text(encoding="utf-8-sig").count("\n") == len(got.decisions) + 1


@pytest.mark.usefixtures("no_arrow")
def test_cli_reports_the_missing_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["decide", str(SMALL), str(ACCOUNTS_JSONL), "-o", str(tmp_path / "d.parquet"),
                 "--as-of", AS_OF.isoformat()])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'accountrules[arrow]'" in err and "Traceback" not in err
    assert not (tmp_path / "d.parquet").exists()
    orders = tmp_path / "orders.csv"
    orders.write_text("account_id,date,amount\nA,2024-01-01,5\n", encoding="utf-8")
    code = main(["features", str(orders), "--as-of", "2024-06-30", "-o", str(tmp_path / "f.parquet")])
    err = capsys.readouterr().err
    assert code == 2 and "pip install 'accountrules[arrow]'" in err and "Traceback" not in err


def test_to_pandas_names_the_pandas_extra(result: BatchResult, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'accountrules\[pandas\]'") as info:
        result.to_pandas()
    assert info.value.module == "pandas"
