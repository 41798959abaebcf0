"""Portfolio statistics built from columns equal those built row by row, and rank the same.

Three builders must agree: ``PortfolioStats(values)`` (the scalar definition, what
``Policy.portfolio_stats`` uses), ``stats_from_arrays`` (numpy, what a batch uses) and the
batch statistics pass over validated chunks (``decide_many(...).stats``), on data with ties,
negatives, zeros of both signs, unknowns (None / NaN) and rows refused by validation.
Lookups agree too: scalar bisect against numpy searches over a whole column.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import pickle
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.batch import portfolio_pass
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.evaluate.vector import decide_columns
from accountrules.evaluate.vector_rank import stats_from_arrays
from accountrules.testing.strategies import portfolios

AS_OF = dt.date(2026, 6, 30)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
ROOT = Path(__file__).resolve().parents[1]

POLICY_TEXT = """
policy: {name: ranks, version: "1", label: {zh: x, en: x}}
fields: {score: number, other: number}
metrics:
  diff: extra.score - extra.other
  p: percentile(extra.score)
  c: cumshare(extra.score)
  ca: cumshare_above(extra.score)
  q2: quantile(extra.score, 2)
  q3: quantile(extra.score, 3)
  q7: quantile(extra.score, 7)
  pd: percentile(diff)
  cd: cumshare(diff * 2)
  cad: cumshare_above(diff * 2)
  q5d: quantile(transactions.revenue - diff, 5)
  ta: percentile(as_of - 2020-01-01)
segments:
  s:
    hit: first
    values: {a: {zh: x, en: x}, b: {zh: x, en: x}}
    default: b
    rows:
      - {id: s-a, when: p >= 0.5 or c < 0.3 or q2 > 1 or q3 > 1 or q7 > 1, then: a}
      - {id: s-b, when: pd > 0 or cd > 0 or q5d > 0 or ta > 0 or ca < 0.5 or cad < 0.5, then: a}
"""

# ties (few distinct values), both zeros, negatives, unknowns, and now and then any finite float
VALUE = st.one_of(
    st.sampled_from([-3.0, -1.5, -0.0, 0.0, 0.5, 1.0, 2.0, 2.0, 7.25, 1e6]),
    st.integers(-4, 4),
    st.none(),
    st.just(math.nan),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
VALUES = st.lists(VALUE, max_size=60)
KS = (1, 2, 3, 5, 7, 10)


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> accountrules.Policy:
    path = tmp_path_factory.mktemp("ranks") / "policy.yaml"
    path.write_text(POLICY_TEXT)
    return accountrules.load_policy(path)


def _same(a: float | int | None, b: float | int | None) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


def _as_nan(values: list[Any]) -> Any:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


# ---- the statistics object ------------------------------------------------------------------------


@SETTINGS
@given(values=VALUES, queries=VALUES)
def test_column_built_statistics_equal_row_built(values: list[Any], queries: list[Any]) -> None:
    rows = PortfolioStats({"x": values}, len(values))
    cols = stats_from_arrays({"x": _as_nan(values)}, len(values))
    assert cols == rows
    assert cols.to_dict() == rows.to_dict()
    known = sorted(float(v) for v in values if v is not None and v == v)
    assert cols.sorted_values("x").tolist() == known
    assert cols.positive_prefix("x").tolist() == rows.positive_prefix("x").tolist()
    for q in [*queries, *values, None, math.nan]:
        assert _same(cols.percentile("x", q), rows.percentile("x", q))
        assert _same(cols.cumshare("x", q), rows.cumshare("x", q))
        for k in KS:
            assert cols.quantile("x", q, k) == rows.quantile("x", q, k)
    if known:
        assert rows.percentile("x", known[0]) == 0.0  # strictly below the smallest: none
    assert rows.percentile("x", None) is None and rows.percentile("x", math.nan) is None


@SETTINGS
@given(values=VALUES)
def test_statistics_pickle_and_copy_to_equal_working_statistics(values: list[Any]) -> None:
    stats = stats_from_arrays({"x": _as_nan(values), "y": _as_nan(values[::-1])}, len(values))
    for again in (pickle.loads(pickle.dumps(stats)), copy.deepcopy(stats),
                  PortfolioStats.from_dict(stats.to_dict())):
        assert again == stats and hash(again) == hash(stats)
        for q in values:
            assert _same(again.cumshare("x", q), stats.cumshare("x", q))
            assert again.quantile("y", q, 4) == stats.quantile("y", q, 4)


def test_from_sorted_holds_arrays_it_is_given_and_checks_them() -> None:
    from array import array

    values = array("d", [1.0, 2.0, 2.0])
    stats = PortfolioStats.from_sorted({"x": (values, None)}, 3)
    assert stats.sorted_values("x") is values
    assert stats.positive_prefix("x").tolist() == [0.0, 1.0, 3.0, 5.0]
    assert stats == PortfolioStats({"x": [2, 1, 2]}, 3)
    with pytest.raises(TypeError):
        PortfolioStats.from_sorted({"x": (array("f", [1.0]), None)}, 1)
    with pytest.raises(ValueError):
        PortfolioStats.from_sorted({"x": (values, array("d", [0.0]))}, 3)


# ---- lookups of a whole column (the vector evaluator) ------------------------------------------------


_METRICS = {"p": ("percentile", 0), "c": ("cumshare", 0), "ca": ("cumshare_above", 0), "q2": ("quantile", 2),
            "q3": ("quantile", 3), "q7": ("quantile", 7)}


def _scalar(stats: PortfolioStats, func: str, k: int, x: float | None) -> float | int | None:
    if func == "percentile":
        return stats.percentile("extra.score", x)
    if func == "cumshare":
        return stats.cumshare("extra.score", x)
    if func == "cumshare_above":
        return stats.cumshare_above("extra.score", x)
    return stats.quantile("extra.score", x, k)


@SETTINGS
@given(values=VALUES, portfolio=st.one_of(st.none(), VALUES))
def test_column_lookups_equal_scalar_lookups(policy: accountrules.Policy, values: list[Any],
                                             portfolio: list[Any] | None) -> None:
    """``portfolio`` None: the batch itself is the portfolio; else the batch ranks against given stats."""
    scores = [None if v is None or v != v else float(v) for v in values]  # a column's unknown is None
    others = {k: [] for k, _ in policy.plan.portfolio_args if k != "extra.score"}
    given_stats = None if portfolio is None else stats_from_arrays(
        {"extra.score": _as_nan(portfolio), **others}, len(portfolio))
    expected = given_stats or PortfolioStats({"extra.score": scores}, len(scores))
    got = decide_columns(policy, {"extra.score": scores}, as_of=AS_OF, stats=given_stats, metrics=True)
    for name, (func, k) in _METRICS.items():
        want = [_scalar(expected, func, k, x) for x in scores]
        assert all(_same(g, w) for g, w in zip(got[f"metric.{name}"], want, strict=True)), name


# ---- the batch statistics pass -----------------------------------------------------------------------


def _rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(0, 40))
    rows = []
    for _ in range(n):
        row: dict[str, Any] = {"id": f"A{draw(st.integers(0, 30))}"}  # repeated ids are refused rows
        for key in ("extra.score", "extra.other", "transactions.revenue"):
            v = draw(st.one_of(st.none(), st.sampled_from([-2.0, 0.0, 1.0, 1.0, 3.5]), st.integers(-3, 3),
                               st.floats(-1e6, 1e6)))
            row[key] = v
        rows.append(row)
    return rows


def _valid(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for r in rows:
        if r["id"] not in seen and not isinstance(r["extra.score"], str):
            seen.add(r["id"])
            out.append(r)
    return out


def _nested(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row["id"]}
    for key, v in row.items():
        if key != "id" and v is not None:
            group, name = key.split(".", 1)
            out.setdefault(group, {})[name] = v
    return out


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema([("id", pa.string()), ("extra.score", pa.float64()), ("extra.other", pa.float64()),
                        ("transactions.revenue", pa.float64())])
    return pa.Table.from_pylist([{k: (None if v is None else (v if k == "id" else float(v)))
                                  for k, v in r.items()} for r in rows], schema=schema)


@SETTINGS
@given(data=st.data())
def test_batch_statistics_equal_row_statistics(policy: accountrules.Policy, data: st.DataObject) -> None:
    rows = data.draw(st.composite(lambda draw: _rows(draw))())
    bad = data.draw(st.lists(st.integers(0, max(0, len(rows) - 1)), max_size=3)) if rows else []
    with_bad = [dict(r, **{"extra.score": "many"}) if i in bad else r for i, r in enumerate(rows)]
    expected = policy.portfolio_stats([_nested(r) for r in _valid(with_bad)], as_of=AS_OF)
    chunk_rows = data.draw(st.sampled_from([1, 7, 10_000]))
    from accountrules.batch import decide_batch

    sources: list[Any] = [[_nested(r) for r in with_bad], _table(rows)]
    for source in sources:
        for engine in ("compiled", "vector"):
            got = decide_batch(policy, source, as_of=AS_OF, engine=engine, chunk_rows=chunk_rows).stats
            if source is sources[1]:
                assert got == policy.portfolio_stats([_nested(r) for r in _valid(rows)], as_of=AS_OF)
            else:
                assert got == expected


@settings(SETTINGS, max_examples=25)
@given(data=st.data())
def test_batch_statistics_without_numpy_equal_row_statistics(policy: accountrules.Policy, data: st.DataObject,
                                                             ) -> None:
    rows = _valid(data.draw(st.composite(lambda draw: _rows(draw))()))
    expected = policy.portfolio_stats([_nested(r) for r in rows], as_of=AS_OF)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(portfolio_pass, "_optional", lambda name: None)  # as if numpy were not installed
        got_rows = policy.decide_many([_nested(r) for r in rows], as_of=AS_OF).stats
        got_table = policy.decide_many(_table(rows), as_of=AS_OF).stats
    assert got_rows == expected
    assert got_table == expected


@settings(SETTINGS, max_examples=20)
@given(accounts=portfolios(accountrules.load_policy(ROOT / "rulesets" / "express"), max_size=30))
def test_express_batch_statistics_equal_row_statistics(accounts: list[dict[str, Any]]) -> None:
    express = accountrules.load_policy(ROOT / "rulesets" / "express")
    expected = express.portfolio_stats(accounts, as_of=AS_OF)
    for engine in ("compiled", "vector"):
        assert express.decide_many(accounts, as_of=AS_OF, engine=engine).stats == expected


@SETTINGS
@given(values=VALUES, x=st.one_of(st.integers(-3, 3).map(float), st.floats(-1e6, 1e6)))
def test_cumshare_above_is_the_share_before_the_account(values: list[Any], x: float) -> None:
    """cumshare_above(x): the positive total of the values strictly above x, over the positive total;
    with the account's own share it gives cumshare(x) (issue 12: ABC by the class an account completes)."""
    known = [float(v) for v in values if v is not None and v == v]
    stats = PortfolioStats({"x": known}, len(known))
    total = sum(max(v, 0.0) for v in known)
    got = stats.cumshare_above("x", x)
    if not known or total <= 0:
        assert got is None
        return
    assert got is not None
    want = min(1.0, sum(v for v in known if v > x and v > 0) / total)
    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)
    with_self = stats.cumshare("x", x)
    assert with_self is not None
    if x > 0:
        assert math.isclose(with_self, min(1.0, got + x / total), rel_tol=1e-9, abs_tol=1e-12)
    if known and x >= max(known):
        assert got == 0.0  # nothing ranks above the largest: it is always A


# amounts whose positive total passes the float maximum (1.8e308): ties, a negative, an unknown, a tiny one
HUGE = [1e308, 9e307, 9e307, 5e307, 1e306, 1.0, -1e308, None]


def _exact_shares(values: list[float | None]) -> list[tuple[float | None, float | None]]:
    """(cumshare, cumshare_above) of each value in exact arithmetic."""
    positive = [Fraction(v) for v in values if v is not None and v > 0]
    total = sum(positive, Fraction(0))
    out: list[tuple[float | None, float | None]] = []
    for v in values:
        if v is None:
            out.append((None, None))
            continue
        above = sum((p for p in positive if p > Fraction(v)), Fraction(0))
        out.append((1.0 if v <= 0 else float(min(Fraction(1), (above + Fraction(v)) / total)),
                    float(min(Fraction(1), above / total))))
    return out


def test_cumshare_past_the_float_maximum_is_right_and_warns_no_one(policy: accountrules.Policy) -> None:
    """Found by a hostile-input hunt: valid amounts summing past the float maximum made numpy warn
    (RuntimeWarning: overflow in accumulate) out of the library, and every share came out 1.0 (an
    infinite total). Now the sums are taken at a power-of-two scale: exact shares, no warning, and the
    evaluators, decide() with statistics and the statistics' builders all agree."""
    rows = [{"id": f"A{i}", "extra": {"score": v}} for i, v in enumerate(HUGE)]
    got: dict[str, list[tuple[Any, Any]]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = policy.portfolio_stats(rows, as_of=AS_OF)
        for engine in ("compiled", "durable", "vector"):
            decided = policy.decide_many(rows, as_of=AS_OF, engine=engine)
            got[engine] = [(d.metrics["c"], d.metrics["ca"]) for d in decided]
            assert decided.stats == stats
        for name, held in (("decide", stats), ("pickled", pickle.loads(pickle.dumps(stats))),
                           ("columns", stats_from_arrays({"x": _as_nan(HUGE)}, len(HUGE)))):
            if name == "columns":
                got[name] = [(held.cumshare("x", v), held.cumshare_above("x", v)) for v in HUGE]
            else:
                got[name] = [(d.metrics["c"], d.metrics["ca"]) for d in
                             (policy.decide(r, as_of=AS_OF, portfolio=held) for r in rows)]
        got["vector, held statistics"] = [(d.metrics["c"], d.metrics["ca"]) for d in
                                          (policy.decide(r, as_of=AS_OF, portfolio=stats, engine="vector")
                                           for r in rows)]
    assert all(g == got["compiled"] for g in got.values()), got
    for (c, ca), (want_c, want_ca) in zip(got["compiled"], _exact_shares(HUGE), strict=True):
        if want_c is None:  # the unknown amount
            assert (c, ca) == (None, None)
        else:
            assert (c, ca) == (pytest.approx(want_c, rel=1e-12), pytest.approx(want_ca, rel=1e-12))
    assert got["compiled"][0][1] == 0.0 and 0.3 < got["compiled"][0][0] < 0.31  # the largest: 1e308 of 3.31e308
