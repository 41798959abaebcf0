"""CDNOW (the shared real log): purchase counts and the F quintile against an independent pandas computation.

Documented in docs/features-occasion.md. Skipped when the shared log is absent.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.features import ColumnMap, derive_features

ROOT = Path(__file__).resolve().parent.parent
CDNOW = ROOT.parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
COLUMNS = ColumnMap(account_id="customer_id", date="date", amount="dollar_value", date_format="%Y%m%d")
AS_OF = dt.date(1998, 6, 30)
WINDOW = 546  # (1997-01-01, 1998-06-30]: the whole log but its first day, the same for every customer

pytestmark = pytest.mark.skipif(
    not CDNOW.is_file(), reason="the shared CDNOW log ../shared/data/cdnow/CDNOW_master.txt is absent")


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
