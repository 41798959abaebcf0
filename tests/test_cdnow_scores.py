"""CDNOW (the real log, vendored in tests/data/cdnow/): purchase counts and the F quintile against an
independent pandas computation.

Documented in docs/features-occasion.md, whose table examples/cdnow/f_scores.py generates (checked
here). Both tie rules of ``quantile``: same bucket, and rank first (the shipped express f_score).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.features import ColumnMap, derive_features
from accountrules.features.derive import feature_windows
from cdnow_data import cdnow_file

ROOT = Path(__file__).resolve().parent.parent
CDNOW = cdnow_file("CDNOW_master.txt")
COLUMNS = ColumnMap(account_id="customer_id", date="date", amount="dollar_value", date_format="%Y%m%d")
AS_OF = dt.date(1998, 6, 30)
WINDOW = 546  # (1996-12-31, 1998-06-30]: the whole log, its first day included, the same for every customer


def _script() -> ModuleType:
    path = ROOT / "examples" / "cdnow" / "f_scores.py"
    spec = importlib.util.spec_from_file_location("cdnow_f_scores", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return _script()


@pytest.fixture(scope="module")
def scores(script: ModuleType) -> dict[str, dict[str, list[Any]]]:
    """The shipped express f_score (rank first) and the same-bucket F of every customer, per occasion."""
    return {occasion: script.f_scores(occasion, CDNOW) for occasion in ("day", "order")}


@pytest.fixture(scope="module")
def log() -> object:
    pd = pytest.importorskip("pandas", reason="pandas is the independent computation")
    raw = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})
    raw["day"] = pd.to_datetime(raw["date"], format="%Y%m%d").dt.date
    start = AS_OF - dt.timedelta(days=WINDOW)
    return raw[(raw["day"] > start) & (raw["day"] <= AS_OF)]


@pytest.mark.parametrize("occasion", ["day", "order"])
def test_counts_match_pandas(log: object, occasion: str) -> None:
    pd = pytest.importorskip("pandas")
    window = log  # type: ignore[assignment]
    by = window.groupby("customer_id")  # type: ignore[attr-defined]
    expected = by["day"].nunique() if occasion == "day" else by.size()
    got = derive_features(CDNOW, as_of=AS_OF, window_days=WINDOW, columns=COLUMNS,
                          occasion=occasion).to_pandas().set_index("id")  # type: ignore[arg-type]
    counts = got["transactions.count"]
    assert len(counts) == 23570
    pd.testing.assert_series_equal(counts.loc[expected.index].astype("int64"), expected.astype("int64"),
                                   check_names=False)
    if occasion == "day":
        assert int((window.groupby("customer_id").size() != expected).sum()) > 0  # type: ignore[attr-defined]
        # the largest order is a day's total: never below the largest row
        rows_max = window.groupby("customer_id")["dollar_value"].max()  # type: ignore[attr-defined]
        assert (got["transactions.max_order_value"].loc[rows_max.index] >= rows_max - 1e-9).all()


def test_f_quintile_same_bucket_matches_pandas(log: object) -> None:
    """quantile(x, 5) today: ties share a bucket, 1 + floor(5 * (values strictly below) / n)."""
    pd = pytest.importorskip("pandas")
    window = log  # type: ignore[assignment]
    count = window.groupby("customer_id")["day"].nunique()  # type: ignore[attr-defined]
    n = len(count)
    below = count.rank(method="min").astype("int64") - 1
    expected = (1 + (below * 5 // n).clip(upper=4)).astype("int64")
    stats = PortfolioStats({"f": count.astype(float).tolist()}, n)
    got = pd.Series([stats.quantile("f", float(x), 5) for x in count], index=count.index)
    pd.testing.assert_series_equal(got.astype("int64"), expected, check_names=False)
    # the distribution the docs show
    assert got.value_counts().sort_index().to_dict() == {1: 12054, 3: 4040, 4: 3641, 5: 3835}


@pytest.mark.parametrize("occasion", ["day", "order"])
def test_f_scores_match_pandas_under_both_tie_rules(log: object, scores: dict[str, dict[str, list[Any]]],
                                                    occasion: str) -> None:
    """The rules of docs/policy-language.md, computed by pandas from the raw log:
    same bucket = 1 + min(4, 5 * (counts strictly below) // n); rank first = rank(method="first")
    over the customers sorted by id (code-point order), then 1 + (rank - 1) * 5 // n."""
    pd = pytest.importorskip("pandas")
    window = log  # type: ignore[assignment]
    by = window.groupby("customer_id")  # type: ignore[attr-defined]
    count = (by["day"].nunique() if occasion == "day" else by.size()).sort_index()
    assert count.index.is_monotonic_increasing  # ids as text: pandas sorts them as Python does
    n = len(count)
    first = 1 + (count.rank(method="first").astype("int64") - 1) * 5 // n
    same = 1 + ((count.rank(method="min").astype("int64") - 1) * 5 // n).clip(upper=4)
    got = scores[occasion]
    assert got["id"] == count.index.tolist()
    assert got["count"] == count.tolist()
    pd.testing.assert_series_equal(pd.Series(got["first"], index=count.index), first, check_names=False)
    pd.testing.assert_series_equal(pd.Series(got["same"], index=count.index), same.astype("int64"), check_names=False)
    assert first.value_counts().sort_index().to_dict() == dict.fromkeys(range(1, 6), 4714)
    # 5 divides n: the conventional qcut of the ranks gives the same buckets
    qcut = pd.qcut(count.rank(method="first"), 5, labels=False) + 1
    assert (qcut.astype("int64") == first).all()


def test_docs_table_is_what_the_script_prints(script: ModuleType, scores: dict[str, dict[str, list[Any]]]) -> None:
    doc = (ROOT / "docs" / "features-occasion.md").read_text(encoding="utf-8")
    block = script.table_text(CDNOW, scores)
    assert block in doc, "docs/features-occasion.md is stale: run python examples/cdnow/f_scores.py --write"


def test_docs_state_the_window_the_table_counts() -> None:
    """The page said the 546-day window was "the whole log but its first day", (1997-01-01, 1998-06-30]:
    it is (1996-12-31, 1998-06-30], the whole log, and the table counts the first day's buyers."""
    start = feature_windows(AS_OF, WINDOW, "order")[0]
    table = derive_features(CDNOW, as_of=AS_OF, window_days=WINDOW, columns=COLUMNS, occasion="order")
    first_day = min(table.column("transactions.first_order_date").to_pylist())
    assert start < first_day  # open at the start: every order of the log is in the window
    assert sum(table.column("transactions.count").to_pylist()) == int(table.schema.metadata[b"accountrules.orders"])
    doc = (ROOT / "docs" / "features-occasion.md").read_text(encoding="utf-8")
    assert f"({start}, {AS_OF}]" in doc and "but its first day" not in doc
