"""A batch that is its own portfolio ranks its rows by the statistics' one sort, and decides the same.

Seed concepts: the customer pyramid's and ABC analysis's ranks over the whole portfolio (T4, T5:
percentile, cumulative share). ``decide_many`` without given statistics builds them from its own valid
rows; the positions found by that sort (``own_ranks.sort_with_positions``) must be the bisections the
statistics define, must be used only for the values they were found for, and must give every chunk the
decisions the per-account evaluator gives.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.batch import portfolio_pass
from accountrules.batch.engine import decide_batch, decide_chunk
from accountrules.batch.validate import validate_table
from accountrules.evaluate import own_ranks
from accountrules.evaluate.own_ranks import ChunkRanks, OwnRanks, sort_with_positions

AS_OF = dt.date(2026, 6, 30)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

POLICY_TEXT = """
policy: {name: own-ranks, version: "1", label: {zh: x, en: x}}
fields: {score: number, other: number}
metrics:
  diff: extra.score - extra.other
  p: percentile(extra.score)
  c: cumshare(extra.score)
  ca: cumshare_above(extra.score)
  q3: quantile(extra.score, 3)
  pd: percentile(diff)
  qf: quantile(transactions.revenue, 4, 'first')
segments:
  s:
    hit: first
    values: {a: {zh: x, en: x}, b: {zh: x, en: x}, c: {zh: x, en: x}}
    default: c
    rows:
      - {id: s-a, when: p >= 0.5 and ca < 0.8, then: a}
      - {id: s-b, when: pd > 0.3 or c > 0.6 or q3 > 2 or qf > 3, then: b}
"""

VALUE = st.one_of(
    st.sampled_from([-3.0, -1.5, -0.0, 0.0, 0.5, 1.0, 2.0, 2.0, 7.25, 1e6]),
    st.integers(-4, 4).map(float),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> accountrules.Policy:
    path = tmp_path_factory.mktemp("own") / "policy.yaml"
    path.write_text(POLICY_TEXT)
    return accountrules.load_policy(path)


# ---- the positions ---------------------------------------------------------------------------------


@SETTINGS
@given(values=st.lists(VALUE, max_size=80))
def test_positions_are_the_bisections_of_the_sorted_values(values: list[float]) -> None:
    held = array("d", values)
    got = sort_with_positions(held)
    assert got is not None
    row, left, right = got
    ordered = sorted(values)
    assert held.tolist() == ordered  # sorted in place, as the statistics keep it
    assert row.tolist() == values  # and the values in row order, to match chunks against
    assert left.tolist() == [bisect.bisect_left(ordered, v) for v in values]
    assert right.tolist() == [bisect.bisect_right(ordered, v) for v in values]


def test_a_nan_gives_no_positions_and_is_cut_off() -> None:
    held = array("d", [3.0, math.nan, 1.0])
    assert sort_with_positions(held) is None
    assert held.tolist() == [1.0, 3.0]


def test_positions_are_given_only_for_the_values_they_were_found_for() -> None:
    values = np.array([5.0, 1.0, 5.0, 2.0])
    left = np.array([2, 0, 2, 1], dtype=np.int32)
    right = np.array([4, 1, 4, 2], dtype=np.int32)
    ranks = OwnRanks({"x": (values, left, right)}, {0: {"x": 0}, 10: {"x": 2}})
    second = ranks.chunk(10)
    assert second is not None
    got = second.positions("x", np.array([5.0, 2.0]))
    assert got is not None
    assert [a.tolist() for a in got] == [[2, 1], [4, 2]] and got[0].dtype == np.int64
    assert second.positions("x", np.array([5.0, 2.5])) is None  # other values
    assert second.positions("x", np.array([5.0, 2.0, 9.0])) is None  # past the end
    assert second.positions("y", np.array([5.0])) is None  # a key without positions
    assert ranks.chunk(5) is None  # a chunk the statistics did not see begin there


# ---- deciding with them ----------------------------------------------------------------------------


def _rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for _ in range(draw(st.integers(0, 40))):
        row: dict[str, Any] = {"id": f"A{draw(st.integers(0, 30))}"}  # a repeated id is a refused row
        for key in ("extra.score", "extra.other", "transactions.revenue"):
            row[key] = draw(st.one_of(st.none(), VALUE))
        rows.append(row)
    return rows


def _table(rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema([("id", pa.string()), ("extra.score", pa.float64()), ("extra.other", pa.float64()),
                        ("transactions.revenue", pa.float64())])
    return pa.Table.from_pylist(rows, schema=schema)


def _counting(mp: pytest.MonkeyPatch) -> list[int]:
    """[positions given, positions refused] over the calls that follow."""
    counts = [0, 0]
    found = ChunkRanks.positions

    def positions(self: ChunkRanks, key: str, xi: Any) -> Any:
        got = found(self, key, xi)
        counts[got is None] += 1
        return got

    mp.setattr(own_ranks.ChunkRanks, "positions", positions)
    return counts


@SETTINGS
@given(data=st.data())
def test_a_batch_ranked_by_its_own_positions_decides_as_each_account_alone(policy: accountrules.Policy,
                                                                          data: st.DataObject) -> None:
    rows = data.draw(st.composite(_rows)())
    chunk_rows = data.draw(st.sampled_from([1, 7, 10_000]))
    table = _table(rows)
    want = decide_batch(policy, table, as_of=AS_OF, engine="compiled", chunk_rows=chunk_rows).to_arrow(errors=True)
    with pytest.MonkeyPatch.context() as mp:
        counts = _counting(mp)
        got = decide_batch(policy, table, as_of=AS_OF, engine="vector", chunk_rows=chunk_rows)
    assert got.to_arrow(errors=True).equals(want)
    assert counts[1] == 0  # every chunk's values were those the positions were found for
    scored = {r["id"] for r in rows if r["extra.score"] is not None}
    if scored and len(scored) == len({r["id"] for r in rows}) == len(rows):
        assert counts[0] > 0  # and they were read, not searched for again


def test_the_positions_are_kept_only_for_keys_ranked_by_position(policy: accountrules.Policy) -> None:
    # quantile with ties by id reads its boundary pairs; a plain quantile of no other rank reads none
    assert portfolio_pass.position_ranked(policy.plan) == {"extra.score", "diff"}


def test_positions_out_of_step_are_searched_for_again(policy: accountrules.Policy) -> None:
    # the positions of one chunk handed to another: refused by their values, and the rows searched
    rows = [{"id": f"A{i}", "extra.score": float(i % 5), "extra.other": float(i % 3),
             "transactions.revenue": float(i)} for i in range(30)]
    table = _table(rows)
    stats = policy.decide_many(table, as_of=AS_OF, engine="compiled").stats
    want = decide_batch(policy, table, as_of=AS_OF, engine="compiled").to_arrow()
    shifted = OwnRanks({"extra.score": (np.arange(30, dtype=np.float64), np.zeros(30, dtype=np.int32),
                                        np.zeros(30, dtype=np.int32))}, {0: {"extra.score": 0}})
    chunk = validate_table(table, policy.plan, 0)
    with pytest.MonkeyPatch.context() as mp:
        counts = _counting(mp)
        got = decide_chunk(policy, chunk, stats, AS_OF, "vector", False, ranks=shifted)
    assert counts == [0, 2]  # both keys ranked by position asked for, neither given
    assert got.to_arrow().drop_columns(["as_of"]).equals(want.drop_columns(["as_of"]))


def test_express_csv_ranked_by_own_positions_decides_as_the_compiled_evaluator(tmp_path: Path) -> None:
    # the file the README's command reads, decided in chunks of 100 rows
    root = Path(__file__).resolve().parents[1]
    express = accountrules.load_policy(root / "rulesets" / "express")
    source = root / "examples" / "portfolio" / "accounts.csv"
    want = decide_batch(express, source, as_of=AS_OF, engine="compiled", chunk_rows=100).to_arrow(errors=True)
    with pytest.MonkeyPatch.context() as mp:
        counts = _counting(mp)
        got = decide_batch(express, source, as_of=AS_OF, engine="vector", chunk_rows=100).to_arrow(errors=True)
    assert got.equals(want)
    assert counts[0] > 0 and counts[1] == 0


def test_the_positions_are_let_go_when_the_batch_is_decided(policy: accountrules.Policy) -> None:
    # docs/batch.md: held while deciding, not by the result (a result keeps only its statistics)
    import gc

    rows = [{"id": f"A{i}", "extra.score": float(i % 7), "extra.other": 1.0, "transactions.revenue": float(i)}
            for i in range(50)]
    with pytest.MonkeyPatch.context() as mp:
        counts = _counting(mp)
        result = decide_batch(policy, _table(rows), as_of=AS_OF, engine="vector", chunk_rows=20)
    assert counts[0] > 0  # the positions were there to let go
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, OwnRanks | ChunkRanks)]
    assert len(result) == 50
