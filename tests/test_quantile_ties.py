"""``quantile(x, k, 'first')``: ties ranked by account id, so the buckets stay filled (issue 12, point 3).

The rule (docs/policy-language.md): sort the portfolio's known ``(value, id)`` pairs ascending
(ids by code point); an account at 0-based position ``p`` of ``n`` gets bucket
``1 + min(k - 1, p * k // n)``. Checked here against a naive definition and against pandas
(``rank(method="first")`` over rows sorted by id), for every builder of the statistics
(row by row, numpy, the batch pass with and without numpy) and every lookup (scalar bisect,
numpy over a column, the batch itself as the portfolio).
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import pickle
from array import array
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.batch import portfolio_pass
from accountrules.errors import PolicyTypeError, PortfolioRequiredError
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.evaluate.vector import decide_columns
from accountrules.evaluate.vector_rank import stats_from_arrays

AS_OF = dt.date(2026, 6, 30)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
KS = (2, 3, 5, 7, 10)

POLICY_TEXT = """
policy: {name: ties, version: "1", label: {zh: x, en: x}}
fields: {score: number}
metrics:
  q5f: quantile(extra.score, 5, 'first')
  q3f: quantile(extra.score, 3, 'first')
  q5s: quantile(extra.score, 5, 'same')
  q5: quantile(extra.score, 5)
  r5f: 6 - quantile(transactions.recency_days, 5, 'first')
segments:
  s:
    hit: first
    values: {a: {zh: x, en: x}, b: {zh: x, en: x}}
    default: b
    rows:
      - {id: s-a, when: q5f >= 4 or q3f == 2 or q5s > 1 or q5 > 1 or r5f == 5, then: a}
"""

# heavy ties: a handful of values, unknowns now and then
VALUE = st.one_of(st.sampled_from([1.0, 1.0, 1.0, 2.0, 3.0, -0.0, 0.0]), st.integers(1, 3), st.none(),
                  st.just(math.nan))
# ids whose code-point order differs from any "natural" order: case, digits, non-ASCII
ID = st.text(alphabet="aAbB09_é中", min_size=1, max_size=4)


@st.composite
def rows(draw: st.DrawFn, max_size: int = 40) -> list[tuple[Any, str]]:
    ids = draw(st.lists(ID, max_size=max_size, unique=True))
    return [(draw(VALUE), i) for i in ids]


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> accountrules.Policy:
    path = tmp_path_factory.mktemp("ties") / "policy.yaml"
    path.write_text(POLICY_TEXT)
    return accountrules.load_policy(path)


def _naive(pairs: list[tuple[Any, str]], x: float | None, account_id: str, k: int) -> int | None:
    known = sorted((float(v), i) for v, i in pairs if v is not None and v == v)
    if x is None or x != x or not known:
        return None
    p = sum(1 for pair in known if pair < (x, account_id))
    return 1 + min(k - 1, p * k // len(known))


def _nan(values: list[Any]) -> Any:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


# ---- the rule ----------------------------------------------------------------------------------------


@SETTINGS
@given(pairs=rows(), extra=st.lists(st.tuples(VALUE, ID), max_size=5))
def test_quantile_first_is_the_position_among_value_id_pairs(pairs: list[tuple[Any, str]],
                                                             extra: list[tuple[Any, str]]) -> None:
    values, ids = [v for v, _ in pairs], [i for _, i in pairs]
    rows_built = PortfolioStats({"x": values}, len(values), {"x": ids})
    cols_built = stats_from_arrays({"x": _nan(values)}, len(values), {"x": ids})
    assert rows_built == cols_built and cols_built == rows_built
    for v, i in [*pairs, *extra]:  # members and accounts outside the portfolio
        x = None if v is None else float(v)
        for k in KS:
            want = _naive(pairs, x, i, k)
            assert rows_built.quantile_first("x", x, i, k) == want
            assert cols_built.quantile_first("x", x, i, k) == want


@SETTINGS
@given(pairs=rows(max_size=60), k=st.sampled_from(KS))
def test_every_bucket_holds_n_over_k_accounts(pairs: list[tuple[Any, str]], k: int) -> None:
    """Unlike "same bucket", no tie can empty a bucket: each holds floor(n/k) or ceil(n/k) accounts."""
    stats = PortfolioStats({"x": [v for v, _ in pairs]}, len(pairs), {"x": [i for _, i in pairs]})
    members = [(float(v), i) for v, i in pairs if v is not None and v == v]
    counts = [0] * k
    for x, i in members:
        q = stats.quantile_first("x", x, i, k)
        assert q is not None
        counts[q - 1] += 1
    n = len(members)
    assert sum(counts) == n
    assert all(n // k <= c <= -(-n // k) for c in counts)


@SETTINGS
@given(pairs=rows(max_size=60), k=st.sampled_from(KS))
def test_pandas_rank_first_over_rows_sorted_by_id_agrees(pairs: list[tuple[Any, str]], k: int) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"id": [i for _, i in pairs], "x": _nan([v for v, _ in pairs])})
    frame = frame.dropna().sort_values("id", kind="stable")  # rank(method="first") breaks ties by row order
    n = len(frame)
    rank = frame["x"].rank(method="first").astype("int64")
    expected = (1 + ((rank - 1) * k // n).clip(upper=k - 1)) if n else rank
    stats = PortfolioStats({"x": [v for v, _ in pairs]}, len(pairs), {"x": [i for _, i in pairs]})
    got = [stats.quantile_first("x", float(x), i, k) for x, i in zip(frame["x"], frame["id"], strict=True)]
    assert got == expected.tolist()
    if n and n % k == 0:  # then the conventional qcut of the ranks gives the same buckets
        assert got == (pd.qcut(rank, k, labels=False) + 1).tolist()


def test_same_bucket_is_unchanged_and_unknowns_stay_unknown() -> None:
    values = [1, 1, 1, 1, 1, 1, 2, 3, None, math.nan]
    ids = [f"A{i}" for i in range(len(values))]
    stats = PortfolioStats({"x": values}, len(values), {"x": ids})
    assert [stats.quantile("x", float(v), 5) for v in values[:8]] == [1] * 6 + [4, 5]
    assert [stats.quantile_first("x", float(v), i, 5) for v, i in zip(values[:8], ids, strict=False)] == [
        1, 1, 2, 2, 3, 4, 4, 5]  # p * 5 // 8 for p = 0..7
    assert stats.quantile_first("x", None, "A8", 5) is None
    assert stats.quantile_first("x", math.nan, "A9", 5) is None
    empty = PortfolioStats({"x": []}, 0, {"x": []})
    assert empty.quantile_first("x", 1.0, "A", 5) is None


# ---- the statistics object -----------------------------------------------------------------------------


@SETTINGS
@given(pairs=rows())
def test_statistics_with_ids_round_trip(pairs: list[tuple[Any, str]]) -> None:
    values, ids = [v for v, _ in pairs], [i for _, i in pairs]
    for stats in (PortfolioStats({"x": values, "y": values}, len(values), {"x": ids}),
                  stats_from_arrays({"x": _nan(values), "y": _nan(values)}, len(values), {"x": ids})):
        copies = (pickle.loads(pickle.dumps(stats)), copy.deepcopy(stats), PortfolioStats.from_dict(stats.to_dict()))
        for again in copies:
            assert again == stats and hash(again) == hash(stats)
            assert again.sorted_ids("y") is None
            for v, i in pairs:
                x = None if v is None else float(v)
                assert again.quantile_first("x", x, i, 5) == stats.quantile_first("x", x, i, 5)
        held = stats.sorted_ids("x")
        assert held is not None
        assert list(zip(stats.sorted_values("x").tolist(), [str(i) for i in held], strict=True)) == sorted(
            (float(v), i) for v, i in pairs if v is not None and v == v)


def test_ids_take_part_in_equality_and_are_checked() -> None:
    a = PortfolioStats({"x": [1, 1]}, 2, {"x": ["A", "B"]})
    assert a != PortfolioStats({"x": [1, 1]}, 2, {"x": ["A", "C"]})
    assert a != PortfolioStats({"x": [1, 1]}, 2)
    assert a.to_dict() == {"size": 2, "columns": {"x": [1.0, 1.0]}, "ids": {"x": ["A", "B"]}}
    assert "ids" not in PortfolioStats({"x": [1]}, 1).to_dict()  # statistics without ids: the old form
    held = PortfolioStats.from_sorted({"x": (array("d", [1.0, 1.0]), None)}, 2, {"x": ("A", "B")})
    assert held == a
    with pytest.raises(ValueError):
        PortfolioStats.from_sorted({"x": (array("d", [1.0]), None)}, 1, {"x": ("A", "B")})
    with pytest.raises(TypeError):
        PortfolioStats({"x": [1]}, 1, {"x": [None]})  # type: ignore[list-item]
    with pytest.raises(PortfolioRequiredError, match="no account ids"):
        PortfolioStats({"x": [1]}, 1).quantile_first("x", 1.0, "A", 5)


def test_statistics_pickled_before_ids_still_load() -> None:
    stats = PortfolioStats({"x": [2, 1]}, 2)
    _, held = stats.__getstate__()
    old = PortfolioStats({}, 0)
    old.__setstate__((2, {k: (v, p) for k, (v, p, _) in held.items()}))
    assert old == stats


# ---- the language ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("expr", "message"), [
    ("quantile(extra.score, 5, 'frist')", "did you mean 'first'"),
    ("quantile(extra.score, 5, first)", "as text, 'first'"),
    ("quantile(extra.score, 5, extra.score)", "ties is 'same'"),
    ("quantile(extra.score, 5, 1)", "not 1"),
    ("quantile(extra.score, 5, 'first', 'same')", "takes 2 or 3 arguments"),
    ("quantile(extra.score)", "takes 2 or 3 arguments"),
    ("percentile(extra.score, 'first')", "takes 1 argument"),
])
def test_tie_rule_is_checked_at_load(tmp_path: Any, expr: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_TEXT.replace("quantile(extra.score, 3, 'first')", expr))
    with pytest.raises((PolicyTypeError, accountrules.PolicyError), match=message):
        accountrules.load_policy(path)


def test_tie_rule_may_be_a_param(tmp_path: Any) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY_TEXT.replace("quantile(extra.score, 3, 'first')", "quantile(extra.score, 3, params.ties)")
                    + "params: {ties: first}\n")
    policy = accountrules.load_policy(path)
    assert "extra.score" in policy.plan.id_ranked


# ---- lookups of whole columns, and batches ---------------------------------------------------------------


def _scores(pairs: list[tuple[Any, str]]) -> dict[str, list[Any]]:
    return {"id": [i for _, i in pairs], "extra.score": [None if v is None or v != v else float(v) for v, _ in pairs]}


@SETTINGS
@given(batch=rows(), portfolio=st.one_of(st.none(), rows()), held_as_text=st.booleans())
def test_column_lookups_equal_scalar_lookups(policy: accountrules.Policy, batch: list[tuple[Any, str]],
                                             portfolio: list[tuple[Any, str]] | None, held_as_text: bool) -> None:
    """``portfolio`` None: the batch is the portfolio; else the batch ranks against given statistics,
    their ids held by numpy (a batch's statistics) or as Python text (built row by row, or unpickled)."""
    cols = _scores(batch)
    others = {"transactions.recency_days": []}
    if portfolio is None:
        given_stats = None
        expected = PortfolioStats({"extra.score": cols["extra.score"]}, len(batch), {"extra.score": cols["id"]})
    else:
        p_cols = _scores(portfolio)
        if held_as_text:
            given_stats = PortfolioStats({"extra.score": p_cols["extra.score"], **others}, len(portfolio),
                                         {"extra.score": p_cols["id"], "transactions.recency_days": []})
        else:
            given_stats = stats_from_arrays({"extra.score": _nan(p_cols["extra.score"]), **others}, len(portfolio),
                                            {"extra.score": p_cols["id"], "transactions.recency_days": []})
        expected = given_stats
    got = decide_columns(policy, cols, as_of=AS_OF, stats=given_stats, metrics=True)
    for name, k in (("q5f", 5), ("q3f", 3)):
        want = [expected.quantile_first("extra.score", x, i, k) for x, i in zip(cols["extra.score"], cols["id"],
                                                                                   strict=True)]
        assert got[f"metric.{name}"] == want, name
    assert got["metric.q5s"] == [expected.quantile("extra.score", x, 5) for x in cols["extra.score"]]


def test_a_batch_without_ids_cannot_rank_ties_by_id(policy: accountrules.Policy) -> None:
    with pytest.raises(ValueError, match="needs an id"):
        decide_columns(policy, {"extra.score": [1.0, 1.0]}, as_of=AS_OF)
    with pytest.raises(ValueError, match="needs an id"):
        decide_columns(policy, {"id": ["A", None], "extra.score": [1.0, 1.0]}, as_of=AS_OF)
    # nothing to rank: no id needed, every rank unknown
    out = decide_columns(policy, {"id": ["A", None], "extra.score": [None, None]}, as_of=AS_OF, metrics=True)
    assert out["metric.q5f"] == [None, None]
    out = decide_columns(policy, {"extra.score": [None, None]}, as_of=AS_OF, metrics=True)
    assert out["metric.q5f"] == [None, None]
    with pytest.raises(TypeError):
        stats_from_arrays({"x": _nan([1.0])}, 1, {"x": [None]})
    assert stats_from_arrays({"x": _nan([None])}, 1, {"x": [None]}) == PortfolioStats({"x": [None]}, 1, {"x": ["A"]})


def _nested(pairs: list[tuple[Any, str]], recency: bool = False) -> list[dict[str, Any]]:
    out = []
    for n, (v, i) in enumerate(pairs):
        acc: dict[str, Any] = {"id": i}
        if v is not None and v == v:
            acc["extra"] = {"score": float(v)}
        if recency:
            acc["transactions"] = {"recency_days": n % 3}
        out.append(acc)
    return out


@settings(SETTINGS, max_examples=40)
@given(pairs=rows(), chunk_rows=st.sampled_from([1, 7, 10_000]))
def test_batch_statistics_hold_the_ids_row_statistics_hold(policy: accountrules.Policy, pairs: list[tuple[Any, str]],
                                                           chunk_rows: int) -> None:
    from accountrules.batch import decide_batch

    accounts = _nested(pairs, recency=True)
    expected = policy.portfolio_stats(accounts, as_of=AS_OF)
    assert expected.sorted_ids("extra.score") is not None
    assert expected.sorted_ids("transactions.recency_days") is not None
    # the same rows as an Arrow table, with a refused row (a repeated id) that must not count
    flat = [{"id": a["id"], "extra.score": a.get("extra", {}).get("score"),
             "transactions.recency_days": a["transactions"]["recency_days"]} for a in accounts]
    table = pa.Table.from_pylist(flat + flat[:1], schema=pa.schema([
        ("id", pa.string()), ("extra.score", pa.float64()), ("transactions.recency_days", pa.int64())]))
    for engine in ("compiled", "vector"):
        for source in (accounts, table):
            got = decide_batch(policy, source, as_of=AS_OF, engine=engine, chunk_rows=chunk_rows).stats
            assert got == expected
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(portfolio_pass, "_optional", lambda name: None)  # as if numpy were not installed
        assert policy.decide_many(accounts, as_of=AS_OF, engine="compiled").stats == expected


# ---- the lint --------------------------------------------------------------------------------------------

LINT_TEXT = """
policy: {name: lintties, version: "1", label: {zh: x, en: x}}
fields: {score: number}
metrics:
  q: quantile(extra.score, 5, 'first')
tiers:
  hit: first
  values: {platinum: {zh: a, en: a}, gold: {zh: b, en: b}, lead: {zh: d, en: d}}
  default: lead
  rows:
    - {id: t-p, when: q == 2, then: platinum}
    - {id: t-g, when: q == 2 and extra.score > 100, then: gold}
"""


def test_lint_witnesses_of_rank_first_reproduce(tmp_path: Any) -> None:
    """The lint builds a portfolio around a witness account; with ties ranked by id, equal members
    would move it by their ids, so they are placed strictly above it and the witness reproduces."""
    path = tmp_path / "policy.yaml"
    path.write_text(LINT_TEXT)
    report = accountrules.load_policy(path).lint()
    assert report.dropped == ()
    shadowed = [f for f in report.findings if f.code == "AR201"]  # t-g is shadowed by t-p
    assert [(f.status, f.witness is not None) for f in shadowed] == [("confirmed", True)]


@given(st.lists(st.one_of(st.sampled_from([0.0, 1.0, 2.5, -0.0, 7.0, -3.0, 65534.0, math.nan]),
                          st.integers(-70_000, 70_000).map(float),
                          st.floats(allow_nan=True, allow_infinity=True)), max_size=200))
def test_value_then_position_is_a_stable_sort_of_the_known_values(values: list[float]) -> None:
    # the (value, id) order of quantile(..., 'first') ties: the fast sort must be numpy's stable one
    # for every known value (ties, -0.0 beside 0.0, infinities); NaNs only need to come last
    from accountrules.evaluate.stats_build import _value_then_position

    xs = np.asarray(values, dtype=np.float64)
    known = int(np.count_nonzero(~np.isnan(xs)))
    got = _value_then_position(xs)
    assert sorted(got.tolist()) == list(range(len(values)))
    assert got[:known].tolist() == np.argsort(xs, kind="stable")[:known].tolist()
