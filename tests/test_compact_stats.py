"""The compact statistics answer exactly as the full ones (issue 8: the streamed command's memory).

Statistics built by numpy hold the ids of a key ranked by id as :class:`PackedIds` (one UTF-8
buffer shared by the keys, a 4-byte index per value) and build their prefix sums when a cumshare
first reads them. Here, on generated portfolios with ties, duplicate values and duplicate ids,
unknown values whose rows have no id, and ids Arrow or Python gave (split into chunks anywhere):
the compact statistics equal ``PortfolioStats(values, size, ids)`` (tuples of str, sums built at
once), hold the same ids in the same order and give the same ``quantile(..., 'first')`` for
every pair and k; the lazily built sums are the floats ``itertools.accumulate`` gives. Statistics
kept for ``quantile(..., 'first')`` alone (``boundaries_only``, what ``accountrules decide`` ranks
against) give the same buckets, row by row and for a whole batch, and the command writes the same
decisions and explanations with them as with the whole statistics, for every evaluator.
"""

from __future__ import annotations

import copy
import math
import pickle
from array import array
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.batch.portfolio_pass import first_only
from accountrules.cli import main
from accountrules.errors import PortfolioRequiredError
from accountrules.evaluate.packed_ids import PackedIds
from accountrules.evaluate.portfolio import PortfolioStats, prefix_sums
from accountrules.evaluate.stats_build import IdOrder, append_floats, id_order, stats_from_held
from accountrules.evaluate.vector_rank import portfolio_results

ROOT = Path(__file__).resolve().parents[1]
EXPRESS = ROOT / "rulesets" / "express"
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"
MIXED = """
policy: {name: mixed, version: "1", label: {zh: x, en: x}}
fields: {score: number}
metrics:
  a: quantile(extra.score, 5, 'first')
  b: percentile(extra.score)
  c: quantile(transactions.revenue, 5, 'first') + quantile(transactions.revenue, 3, 'first')
  d: quantile(transactions.count, 4)
segments:
  s:
    hit: first
    values: {a: {zh: x, en: x}, b: {zh: x, en: x}}
    default: b
    rows:
      - {id: s-a, when: a > 1 or b > 0.5 or c > 2 or d > 1, then: a}
"""
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
KS = (1, 2, 3, 5, 7, 10)

# any text, lone surrogates and the empty id included: what a Python str may hold
TEXT = st.one_of(st.text(st.characters(codec=None, exclude_categories=()), max_size=5),
                 st.text(alphabet="a\ud800\udfff\x00é中\U0001f600", max_size=5))
# ids whose code-point order is no "natural" one, often repeated
ID = st.one_of(st.text(alphabet="aAbB09_é中\U0001f600", min_size=1, max_size=4), st.sampled_from(["A", "A", "B"]))
VALUE = st.one_of(st.sampled_from([1.0, 1.0, 2.0, -0.0, 0.0, -3.5]), st.integers(-2, 3), st.none(),
                  st.just(math.nan), st.floats(allow_nan=False, allow_infinity=False, width=32))


@st.composite
def portfolios(draw: st.DrawFn) -> list[tuple[Any, str | None]]:
    """(value, id) rows; a row with an unknown value may have no id (as a batch allows)."""
    rows = draw(st.lists(st.tuples(VALUE, ID), max_size=50))
    return [(v, None if (v is None or v != v) and draw(st.booleans()) else i) for v, i in rows]


@SETTINGS
@given(ids=st.lists(TEXT, max_size=30), data=st.data())
def test_packed_ids_read_back_what_was_packed(ids: list[str], data: st.DataObject) -> None:
    whole = PackedIds.of(ids)
    assert list(whole) == ids and len(whole) == len(ids)
    order = data.draw(st.permutations(range(len(ids))))
    shared = PackedIds(whole._data, whole._offsets, array("i", order))  # another order over the same text
    want = [ids[j] for j in order]
    assert list(shared) == want and len(shared) == len(want)
    for i in range(-len(want), len(want)):
        assert shared[i] == want[i] and whole[i] == ids[i]
    assert shared[1:-1] == tuple(want[1:-1]) and whole[::2] == tuple(ids[::2])
    with pytest.raises(IndexError):
        whole[len(ids)]
    for again in (pickle.loads(pickle.dumps(shared)), copy.deepcopy(shared)):
        assert list(again) == want


def _arrow_ids(ids: list[str | None], cuts: list[int]) -> pa.ChunkedArray:
    bounds = sorted({0, len(ids), *(c for c in cuts if c <= len(ids))})
    return pa.chunked_array([pa.array(ids[a:b], pa.string()) for a, b in zip(bounds, bounds[1:], strict=False)]
                            or [pa.array([], pa.string())])


def _arrow_order(ids: pa.ChunkedArray) -> IdOrder:
    import pyarrow.compute as pc

    return IdOrder(ids, pc.sort_indices(ids).to_numpy())  # as the batch pass orders them


def _held(values: list[Any]) -> array[float]:
    out = array("d")
    append_floats(out, np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64))
    return out


@SETTINGS
@given(rows=portfolios(), cuts=st.lists(st.integers(0, 50), max_size=3))
def test_compact_statistics_answer_as_the_full_ones(rows: list[tuple[Any, str | None]], cuts: list[int]) -> None:
    values = [v for v, _ in rows]
    ids = [i for _, i in rows]
    known = [(float(v), i) for v, i in rows if v is not None and v == v]
    full = PortfolioStats({"x": [v for v, _ in known], "y": values}, len(rows), {"x": [i for _, i in known]})
    negated = [None if v is None else -float(v) for v in values]  # unknown where values are: rows with no id
    arrow = _arrow_ids(ids, cuts)
    for ordered in (id_order(ids), _arrow_order(arrow)):
        # two keys ranked by the same ids share one packed buffer; a third key is ranked without ids
        compact = stats_from_held({"x": _held(values), "z": _held(negated), "y": _held(values)}, len(rows),
                                  {"x": ordered, "z": ordered})
        held = compact.sorted_ids("x")
        assert isinstance(held, PackedIds)
        assert list(zip(compact.sorted_values("x").tolist(), held, strict=True)) == sorted(known)
        assert compact.sorted_ids("y") is None
        assert compact == PortfolioStats({"x": values, "z": negated, "y": values}, len(rows), {"x": ids, "z": ids})
        assert compact.to_dict()["columns"]["x"] == full.to_dict()["columns"]["x"]
        assert compact.to_dict()["ids"]["x"] == full.to_dict()["ids"]["x"]
        for again in (compact, pickle.loads(pickle.dumps(compact))):
            for x, i in [*known, (0.0, "A"), (1.0, ""), (2.0, "\U0001f600")]:
                for k in KS:
                    assert again.quantile_first("x", x, i, k) == full.quantile_first("x", x, i, k)
            for x in [*(v for v, _ in known), 0.0, -1.0, None, math.nan]:
                assert again.percentile("y", x) == full.percentile("y", x)
                assert again.cumshare("y", x) == full.cumshare("y", x)
                assert again.cumshare_above("y", x) == full.cumshare_above("y", x)


@SETTINGS
@given(rows=portfolios())
def test_a_known_value_without_an_id_is_refused(rows: list[tuple[Any, str | None]]) -> None:
    rows = [*rows, (1.0, None)]
    ids = [i for _, i in rows]
    for ordered in (id_order(ids), _arrow_order(_arrow_ids(ids, []))):
        with pytest.raises(TypeError, match="needs the id of every account"):
            stats_from_held({"x": _held([v for v, _ in rows])}, len(rows), {"x": ordered})


@SETTINGS
@given(values=st.lists(st.floats(allow_nan=False, width=32), max_size=40))
def test_prefix_sums_are_built_when_read_and_are_the_sequential_sums(values: list[float]) -> None:
    column = array("d", sorted(values))
    want = [0.0, *accumulate(max(v, 0.0) for v in column)]
    assert prefix_sums(column).tolist() == want  # numpy's cumsum, as itertools.accumulate adds
    stats = PortfolioStats.from_sorted({"x": (column, None)}, len(values))
    assert stats._col("x").built_prefix is None  # not built for statistics no cumshare reads
    again = pickle.loads(pickle.dumps(stats))
    assert again._col("x").built_prefix is None  # pickling does not build them either
    assert stats.positive_prefix("x").tolist() == want
    assert stats.positive_prefix("x") is stats.positive_prefix("x")  # built once
    assert again.positive_prefix("x").tolist() == want


# ---- statistics kept for quantile(..., 'first') alone (the streamed command) ------------------------------


@SETTINGS
@given(rows=portfolios(), ks=st.sets(st.sampled_from(KS), min_size=1, max_size=3))
def test_boundaries_only_answer_as_the_whole_column(rows: list[tuple[Any, str | None]], ks: set[int]) -> None:
    known = [(float(v), i) for v, i in rows if v is not None and v == v]
    full = stats_from_held({"x": _held([v for v, _ in rows]), "y": _held([v for v, _ in rows])}, len(rows),
                           {"x": id_order([i for _, i in rows])})
    lean = full.boundaries_only({"x": ks, "y": ks})  # y holds no ids: kept whole
    assert lean.keys() == full.keys() and lean.count("x") == full.count("x") == len(known)
    assert lean.sorted_values("y") is full.sorted_values("y")
    probes = [*known, (0.0, "A"), (1.0, ""), (2.0, "\U0001f600"), (None, "A"), (math.nan, "A")]
    for again in (lean, pickle.loads(pickle.dumps(lean)), copy.deepcopy(lean)):
        assert again == lean and again != full and hash(again) == hash(full)
        for k in ks:
            assert again.first_boundaries("x", k) == full.first_boundaries("x", k)
            for x, i in probes:
                assert again.quantile_first("x", x, i, k) == full.quantile_first("x", x, i, k)
        with pytest.raises(PortfolioRequiredError, match="only"):
            again.quantile_first("x", 1.0, "A", max(ks) + 1)
        for lookup in (lambda s: s.percentile("x", 1.0), lambda s: s.quantile("x", 1.0, 5),
                       lambda s: s.cumshare("x", 1.0), lambda s: s.sorted_values("x"), lambda s: s.to_dict()):
            with pytest.raises(PortfolioRequiredError, match="quantile"):
                lookup(again)
    # the vector evaluator's lookup of a whole batch: the same buckets from the boundaries
    xv = np.array([math.nan if x is None else x for x, _ in probes], dtype=np.float64)
    xk = np.array([x is not None for x, _ in probes])
    ids = np.array([i for _, i in probes], dtype=object)
    sites = [("quantile_first", "x", k) for k in sorted(ks)]
    got, want = (portfolio_results(sites, xv, xk, s, "x", ids) for s in (lean, full))
    for site in sites:
        a, b = got[site], want[site]
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist()


def test_first_only_names_the_keys_ranked_by_quantile_first_alone(tmp_path: Path) -> None:
    express = accountrules.load_policy(EXPRESS)
    assert first_only(express.plan) == dict.fromkeys(
        ["transactions.recency_days", "transactions.count", "transactions.revenue"], frozenset({5}))
    path = Path(tmp_path) / "mixed.yaml"
    path.write_text(MIXED, encoding="utf-8")
    mixed = accountrules.load_policy(path)
    assert first_only(mixed.plan) == {"transactions.revenue": frozenset({3, 5})}


@pytest.mark.parametrize("engine", [None, "vector", "compiled", "durable"])
def test_the_command_decides_as_with_whole_statistics(engine: str | None, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """``accountrules decide`` keeps boundaries only; its decisions and explanations are those the
    whole statistics give (``boundaries_only`` made a no-op)."""
    args = ["decide", str(EXPRESS), str(ACCOUNTS), "--as-of", "2026-06-30", "--explain"]
    if engine:
        args += ["--engine", engine]
    lean = tmp_path / "lean.jsonl"
    code = main([*args, "-o", str(lean)])
    if code == 2 and engine == "durable":
        pytest.skip("durable_rules is not installed")
    monkeypatch.setattr(PortfolioStats, "boundaries_only", lambda self, first: self)
    whole = tmp_path / "whole.jsonl"
    assert main([*args, "-o", str(whole)]) == code == 1
    assert lean.read_bytes() == whole.read_bytes() and len(lean.read_text(encoding="utf-8").splitlines()) == 297
    capsys.readouterr()
