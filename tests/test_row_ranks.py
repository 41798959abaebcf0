"""Ranks read off the statistics pass's sort (issue 8, "linear": per-account cost at 1M within 1.3x of 100k).

``percentile`` and ``cumshare`` rank an account by bisect_left / bisect_right of its value into the
portfolio's sorted known values (C1 customer pyramid by value share, C3 Pareto/ABC by cumulative
share). When a batch is its own portfolio, the statistics pass sorts every row's value, so it
knows those positions; the decision pass reads them instead of searching, for portfolios large
enough that a search misses the CPU cache (``row_ranks.MIN_ROWS``). Here the threshold is lowered
so that small generated portfolios take the stored path, and every decision must equal the one
``Policy.decide`` gives against the statistics of the whole batch.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.batch import RowError
from accountrules.batch.engine import decide_batch, iter_batches
from accountrules.evaluate import row_ranks
from accountrules.evaluate.row_ranks import RowRanks, sorted_with_ranks
from accountrules.evaluate.vector_rank import portfolio_results, stats_from_arrays
from accountrules.model.decision import Decision
from accountrules.testing.strategies import portfolios

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
EXPRESS = accountrules.load_policy(ROOT / "rulesets" / "express")

_values = st.lists(st.one_of(st.none(), st.integers(-3, 3).map(float), st.floats(-1e6, 1e6)), max_size=60)


@SETTINGS
@given(values=_values)
def test_sorted_with_ranks_are_the_bisections(values: list[float | None]) -> None:
    xs = np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    sorted_vals, left, right = sorted_with_ranks(xs)
    known = sorted(v for v in values if v is not None)
    assert sorted_vals.tolist() == known
    for i, v in enumerate(values):
        if v is None:
            assert (left[i], right[i]) == (-1, -1)
        else:
            assert (left[i], right[i]) == (bisect.bisect_left(known, v), bisect.bisect_right(known, v))


def test_a_window_is_used_only_for_the_values_it_was_made_from() -> None:
    xs = np.array([5.0, math.nan, 1.0, 5.0, 3.0])
    sorted_vals, left, right = sorted_with_ranks(xs)
    ranks = RowRanks({"x": xs}, {"x": left}, {"x": right})
    window = ranks.window(2, 5)
    known = np.ones(3, dtype=np.bool_)
    got = window.positions("x", xs[2:5].copy(), known)
    assert got is not None and got[0].tolist() == [0, 2, 1] and got[1].tolist() == [1, 4, 2]
    assert window.positions("x", np.array([1.0, 5.0, 4.0]), known) is None  # another value: search
    assert window.positions("x", xs[2:4].copy(), known[:2]) is None  # another length: search
    assert window.positions("y", xs[2:5].copy(), known) is None  # a key it does not hold
    # an unknown row must be unknown in the window too
    assert window.positions("x", xs[2:5].copy(), np.array([True, False, True])) is None


def test_a_mismatched_window_gives_the_searched_result() -> None:
    xs = np.array([4.0, 2.0, 9.0, 2.0, 7.0])
    stats = stats_from_arrays({"x": xs}, 5)
    sites = [("percentile", "x", 0), ("cumshare", "x", 0), ("cumshare_above", "x", 0)]
    known = np.ones(5, dtype=np.bool_)
    searched = portfolio_results(sites, xs, known, stats, "x")
    _, left, right = sorted_with_ranks(xs)
    wrong = RowRanks({"x": xs[::-1].copy()}, {"x": left[::-1].copy()}, {"x": right[::-1].copy()})
    for rows in (RowRanks({"x": xs}, {"x": left}, {"x": right}), wrong):
        got = portfolio_results(sites, xs, known, stats, "x", rows=rows)
        for site in sites:
            g, w = got[site], searched[site]
            assert g is not None and w is not None
            assert g[0].tolist() == w[0].tolist() and g[1].tolist() == w[1].tolist()


def _flat(items: Iterator[Any] | Any) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, Decision):
            out.append(item.model_dump(mode="json"))
        else:
            assert isinstance(item, RowError)
            out.append({"row": item.row, "error": item.message})
    return out


@pytest.fixture
def stored_ranks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Ranks stored from one known value on; counts the chunk windows that were read instead of searched."""
    monkeypatch.setattr(row_ranks, "MIN_ROWS", 1)
    used: list[int] = []
    positions = RowRanks.positions

    def counted(self: RowRanks, key: str, xv: Any, xk: Any) -> Any:
        got = positions(self, key, xv, xk)
        used.append(got is not None)
        return got

    monkeypatch.setattr(RowRanks, "positions", counted)
    return used


def _with_bad_rows(accounts: list[dict[str, Any]], data: st.DataObject) -> list[Any]:
    """Refused rows among the valid ones (a wrong type, a repeated id): the windows count valid rows only."""
    rows: list[Any] = list(accounts)
    for _ in range(data.draw(st.integers(0, 3))):
        at = data.draw(st.integers(0, len(rows)))
        if rows and data.draw(st.booleans()):
            rows.insert(at, dict(rows[data.draw(st.integers(0, len(rows) - 1))]))
        else:
            rows.insert(at, {"id": f"BAD{at}", "transactions": {"annual_revenue": "lots"}})
    return rows


@SETTINGS
@given(data=st.data())
def test_stored_ranks_decide_as_decide_does(stored_ranks: list[int], data: st.DataObject) -> None:
    """C1/C3 (express tiers by revenue share and percentile): vector with stored ranks == Policy.decide."""
    accounts = data.draw(portfolios(EXPRESS, min_size=2, max_size=14))
    rows = _with_bad_rows(accounts, data)
    chunk = data.draw(st.integers(1, 5))
    want = _flat(decide_batch(EXPRESS, rows, as_of=AS_OF, engine="compiled", chunk_rows=chunk))
    before = len(stored_ranks)
    got = _flat(decide_batch(EXPRESS, rows, as_of=AS_OF, engine="vector", chunk_rows=chunk))
    assert got == want
    if any(a.get("transactions", {}).get("annual_revenue") is not None for a in accounts):
        assert any(stored_ranks[before:]), "the stored ranks of annual revenue were never read"


def test_streamed_file_reads_stored_ranks(stored_ranks: list[int], tmp_path: Path) -> None:
    """The streaming pass re-reads the file: its windows line up with the statistics pass's rows, refused
    rows (a repeated id, an unreadable revenue) included."""
    lines = (ROOT / "examples" / "portfolio" / "accounts.csv").read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    bad = lines[5].split(",")
    bad[header.index("transactions.annual_revenue")] = "lots"
    bad[0] = "BAD1"
    rows = [*lines[1:40], lines[3], *lines[40:120], ",".join(bad), *lines[120:]]
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    want = _flat(EXPRESS.decide_many(str(path), as_of=AS_OF, engine="compiled"))
    assert sum("error" in w for w in want) == 2
    got = [item for part in iter_batches(EXPRESS, str(path), as_of=AS_OF, engine="vector", chunk_rows=37)
           for item in _flat(part)]
    assert got == want
    assert any(stored_ranks)
