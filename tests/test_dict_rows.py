"""A list of plain dicts decided through Arrow equals the same list decided row by row (issue 8).

``decide_many([...dicts...])`` hands a chunk of plain dicts to the flat path as one Arrow table
(``accountrules.batch.dict_rows``) when that reads every value as the pydantic row path would,
and otherwise validates row by row. Here both paths decide the same generated portfolios —
seed concepts C1–C5 (tiers, stages, churn, actions) through the shipped express policy — with
hostile values mixed in, and must give the same flat table: decisions, row errors (row number,
field, message) and rows refused, nothing dropped.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.batch import dict_rows
from accountrules.batch.columns import CONTACT_KEYS, unflatten
from accountrules.batch.dict_rows import dict_rows_table
from accountrules.batch.sources import _RowsSource
from accountrules.testing.strategies import portfolios

pa = pytest.importorskip("pyarrow")
np = pytest.importorskip("numpy")

ROOT = Path(__file__).resolve().parent.parent
EXPRESS = accountrules.load_policy(ROOT / "rulesets" / "express")
AS_OF = dt.date(2026, 6, 30)

# values whose meaning could differ between Arrow and the model: the conversion must refuse them or
# read them exactly as the model does
ODD: list[Any] = ["", "5", "5.5", "abc", " 7", None, math.nan, math.inf, -math.inf, True, False, 2**60, 2**70,
                  -1, -0.0, 0, 1.5, dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 5), dt.datetime(2026, 1, 1),
                  Decimal("1.5"), np.float64(2.5), np.int64(3), [1], {"x": 1}, "stable", "gold", "华东"]


def _plain(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "contacts"} for r in rows]


# contacts the dict reader reads (its contacts.* values become columns) or must leave to the model
# (the chunk then goes row by row): either way every row decides as the model reads it (D3, D4: the
# buying centre, its decider and its supporters)
ODD_CONTACTS: list[Any] = [
    [], (), None, 5, "decider", [None], [{}], [{"name": "A"}], [{"role": "decider"}],
    [{"name": "A", "role": "decider"}], ({"name": "A", "role": "decider", "supporter": True, "weight": 0.5},),
    [{"name": "A", "role": "Decider"}], [{"name": "", "role": "user"}], [{"name": "A", "role": "user", "weight": 1.5}],
    [{"name": "A", "role": "user", "weight": -0.1}], [{"name": "A", "role": "user", "weight": 1}],
    [{"name": "A", "role": "user", "supporter": "yes"}], [{"name": "A", "role": "user", "supporter": 1}],
    [{"name": "A", "role": "user", "weight": math.nan}], [{"name": "A", "role": "user", "phone": "1"}],
    [{"name": "A", "role": "decider", "supporter": True}, {"name": "B", "role": "user", "supporter": True,
                                                           "weight": 0.25}],
    [{"name": "A", "role": "decider", "supporter": True, "weight": None}],
]


@st.composite
def hostile(draw: st.DrawFn) -> list[dict[str, Any]]:
    drawn = draw(portfolios(EXPRESS, min_size=1, max_size=12))
    rows = drawn if draw(st.booleans()) else _plain(drawn)  # with the generated contacts, or none
    for _ in range(draw(st.integers(0, 4))):
        r = rows[draw(st.integers(0, len(rows) - 1))]
        how = draw(st.sampled_from(["leaf", "leaf", "section", "dotted", "unknown", "id", "drop_id", "dup",
                                    "contacts"]))
        sections = [k for k, v in r.items() if isinstance(v, dict) and v]
        if how == "leaf" and sections:
            sec = r[draw(st.sampled_from(sections))] = dict(r[draw(st.sampled_from(sections))])
            sec[draw(st.sampled_from(sorted(sec)))] = draw(st.sampled_from(ODD))
        elif how == "section":
            r[draw(st.sampled_from(["transactions", "credit", "relationship"]))] = draw(st.sampled_from([None, {}, 5]))
        elif how == "dotted":
            r[draw(st.sampled_from(["transactions.annual_revenue", "credit.overdue_payments"]))] = \
                draw(st.sampled_from(ODD))
        elif how == "unknown":
            r[draw(st.sampled_from(["revenue", "transactions.revnue", "extra.x"]))] = 1
        elif how == "id":
            r["id"] = draw(st.sampled_from(["", " A1", "A1 ", "Ａ１", 7, None, "A\u200b1"]))
        elif how == "drop_id":
            r.pop("id", None)
        elif how == "contacts":
            r["contacts"] = draw(st.sampled_from(ODD_CONTACTS))
        else:
            rows.append(dict(r))
    return rows


def _decide(rows: list[dict[str, Any]], columnar: bool, chunk: int) -> Any:
    return _result(rows, columnar, chunk).to_arrow(errors=True)


def _result(rows: list[dict[str, Any]], columnar: bool, chunk: int) -> Any:
    src = _RowsSource(rows, chunk, None, EXPRESS.plan if columnar else None)
    return EXPRESS.decide_many(src, as_of=AS_OF, trace=False, engine="compiled")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=hostile(), chunk=st.sampled_from([3, 1 << 14]), block=st.sampled_from([2, 5, 2048]))
def test_dicts_through_arrow_decide_like_row_by_row(rows: list[dict[str, Any]], chunk: int, block: int) -> None:
    # block: the rows dict_rows reads column by column at a time, small here so that the columns of
    # several blocks are joined (an int column in one block beside a float one in the next, ...)
    with mock.patch.object(dict_rows, "_BLOCK", block):
        fast_result = _result(rows, True, chunk)
    slow_result = _result(rows, False, chunk)
    fast, slow = fast_result.to_arrow(errors=True), slow_result.to_arrow(errors=True)
    assert fast.num_rows == slow.num_rows == len(rows)  # every row: one decision or one error
    assert fast.to_pylist() == slow.to_pylist()
    # every contacts.* value a decided row holds, not only the one the express policy reads
    decided = [i for i, e in enumerate(fast.column("error").to_pylist()) if e is None]
    got, want = fast_result.input_columns(CONTACT_KEYS), slow_result.input_columns(CONTACT_KEYS)
    for key in CONTACT_KEYS:
        assert [got[key][i].as_py() for i in decided] == [want[key][i].as_py() for i in decided], key


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=portfolios(EXPRESS, min_size=1, max_size=12))
def test_plain_dicts_take_the_arrow_path(rows: list[dict[str, Any]]) -> None:
    # the fast path is a proven path only if it is the one taken: plain CRM-shaped dicts go through Arrow,
    # with their contacts or without
    for shape in (_plain(rows), rows):
        table = dict_rows_table(shape, EXPRESS.plan)
        assert table is not None
        assert table.num_rows == len(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=hostile(), block=st.sampled_from([1, 2, 5]))
def test_columns_read_block_by_block_are_those_read_at_once(rows: list[dict[str, Any]], block: int) -> None:
    # a large chunk is read in blocks whose columns are then joined: the same columns as one block gives
    whole = dict_rows_table(rows, EXPRESS.plan)
    with mock.patch.object(dict_rows, "_BLOCK", block):
        blocks = dict_rows_table(rows, EXPRESS.plan)
    if whole is None:
        return  # a field given nested in one block and dotted in another joins into one column: allowed
    assert blocks is not None
    assert sorted(blocks.column_names) == sorted(whole.column_names)
    for name in whole.column_names:
        assert blocks.column(name).type == whole.column(name).type, name
        assert repr(blocks.column(name).to_pylist()) == repr(whole.column(name).to_pylist()), name


def test_a_count_in_one_block_and_an_amount_in_the_next_make_an_amount_column() -> None:
    rows = [{"id": f"A{i}", "transactions": {"annual_revenue": v}} for i, v in enumerate([3, 4, 1.5, None, 2])]
    with mock.patch.object(dict_rows, "_BLOCK", 2):
        table = dict_rows_table(rows, EXPRESS.plan)
    assert table is not None
    assert table.column("transactions.annual_revenue").type == pa.float64()
    assert table.column("transactions.annual_revenue").to_pylist() == [3.0, 4.0, 1.5, None, 2.0]


@pytest.mark.parametrize("row", [
    {"id": "A", "transactions": None},  # a section given as null: the model refuses it
    {"id": "A", "transactions": {"annual_revenue": ""}},  # "" is text to the model, blank to a flat file
    {"id": "A", "transactions": {"recency_days": dt.datetime(2026, 1, 1)}},
    {"id": "A", "transactions": {"annual_revenue": Decimal("1")}},
    {"id": 7},
    {"id": "A", "contacts": [{"role": "decider"}]},
    {"id": "A", "revenue": 5},  # no field: the row path refuses this row, not the batch
    {"id": "A", "name": ""},  # "" at the top level, as in a section
    # values whose == is element-wise: refused by type before any comparison with them is made
    {"id": "A", "transactions": {"annual_revenue": np.array([1.0, 2.0])}},
    {"id": "A", "name": np.array(["x", "y"])},
    {"id": "A", "name": np.str_("x")},  # a str subclass: the model's reading, not Arrow's
    # a field given twice, dotted and nested, in either order: the model says which one counts
    {"id": "A", "transactions.annual_revenue": 5.0, "transactions": {"annual_revenue": 6.0}},
    {"id": "A", "transactions": {"annual_revenue": 6.0}, "transactions.annual_revenue": 5.0},
])
def test_values_arrow_could_misread_stay_on_the_row_path(row: dict[str, Any]) -> None:
    assert dict_rows_table([row], EXPRESS.plan) is None


def test_mixed_int_and_float_in_an_integer_field_stays_on_the_row_path() -> None:
    # Arrow would type the column as float and round integers past 2**53
    rows = [{"id": "A", "transactions": {"recency_days": 2**53 + 1}},
            {"id": "B", "transactions": {"recency_days": 1.0}}]
    assert dict_rows_table(rows, EXPRESS.plan) is None


def test_deciding_never_writes_into_the_callers_dicts() -> None:
    # a nested section and a dotted key of the same section: the row path merges them into its own copy
    section = {"annual_revenue": 5.0}
    row = {"id": "A", "transactions": section, "transactions.recency_days": 3}
    EXPRESS.decide_many([row], as_of=AS_OF, trace=False).to_arrow()
    assert section == {"annual_revenue": 5.0}
    assert row == {"id": "A", "transactions": {"annual_revenue": 5.0}, "transactions.recency_days": 3}


@pytest.mark.parametrize("engine", ["compiled", "vector"])
def test_an_input_giving_no_field_the_policy_reads_still_decides_every_row(engine: str) -> None:
    # only ids: every field the policy reads is unknown, and each row still ends in one decision
    for source in ([{"id": "A"}, {"id": "B"}], pa.table({"id": ["A", "B"]})):
        result = EXPRESS.decide_many(source, as_of=AS_OF, trace=False, engine=engine)
        assert [d.account_id for d in result] == ["A", "B"]


def _inferred(rows: list[dict[str, Any]]) -> Any:
    """The rows as Arrow reads them on its own: one struct column inferred from every row, flattened."""
    table = pa.Table.from_batches([pa.RecordBatch.from_struct_array(pa.array(_plain(rows)))])
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=hostile())
def test_the_columns_given_to_arrow_are_those_arrow_infers(rows: list[dict[str, Any]]) -> None:
    # dict_rows reads the rows column by column and gives Arrow each column's type: every column, its
    # name, type and values, must be what Arrow infers from the rows on its own. Else an unknown key
    # could be dropped, True read as 1.0 in a number column or 1.5 as 1 in a count column, instead of
    # each refused as the model refuses it
    table = dict_rows_table(rows, EXPRESS.plan)
    if table is None:
        return
    want = _inferred(rows)
    assert sorted(n for n in table.column_names if n not in CONTACT_KEYS) == sorted(want.column_names)
    for name in want.column_names:  # the order of the columns matters to no reader of the table
        got = table.column(name)
        assert got.type == want.column(name).type, name
        assert repr(got.to_pylist()) == repr(want.column(name).to_pylist()), name  # NaN is NaN, -0.0 not 0.0


@pytest.mark.parametrize("rows", [
    [{"id": "A", "transactions": {"annual_revenue": 1.5}}, {"id": "B", "transactions": {"annual_revenue": True}}],
    [{"id": "A", "transactions": {"recency_days": 3}}, {"id": "B", "transactions": {"recency_days": 1.5}}],
    [{"id": "A", "transactions": {"annual_revenue": 1.5}}, {"id": "B", "transactions": {"annual_revnue": 2.0}}],
    [{"id": "A", "transactions": {"annual_revenue": 1.5}}, {"id": "B", "transactions": 5}],
    [{"id": "A", "transactions": {"annual_revenue": 1.5}}, {"id": "B", "transactions": {"annual_revenue": "x"}}],
])
def test_rows_no_one_arrow_type_reads_decide_as_the_model_reads_them(rows: list[dict[str, Any]]) -> None:
    # what a given type would silently convert (True -> 1.0, 1.5 -> 1) or drop (a misspelt key)
    assert _decide(rows, True, 1 << 14).to_pylist() == _decide(rows, False, 1 << 14).to_pylist()


def test_a_chunk_of_several_blocks_decides_like_row_by_row() -> None:
    # the shipped example portfolio as a CRM's JSON would give it (nested dicts of typed values, dates as
    # ISO text, unknown values left out), ten times over with new ids: 3,000 rows, read in two blocks
    # of 2,048 and 952 rows and joined (C1-C5 of the express policy, every row decided or refused alike)
    flat = EXPRESS.decide_many(ROOT / "examples" / "portfolio" / "accounts.csv", as_of=AS_OF, trace=False)
    given = flat.input_columns(["id", "transactions.annual_profit", "transactions.count", "credit.arrears_ratio",
                                "relationship.stage", "relationship.last_executive_visit", "signals.fraud"])
    base = [unflatten({key: col[i].as_py() for key, col in given.items()}) for i in range(len(given["id"]))]
    for r in base:
        for section in ("transactions", "credit", "relationship", "signals"):
            r[section] = {k: (v.isoformat() if isinstance(v, dt.date) else v)
                          for k, v in r.get(section, {}).items() if v is not None}
    rows = [{**r, "id": f"{r['id']}-{k}"} for k in range(10) for r in base]
    assert len(rows) > dict_rows._BLOCK
    assert dict_rows_table(rows, EXPRESS.plan) is not None  # the columnar path, not the row path
    assert _decide(rows, True, 1 << 14).to_pylist() == _decide(rows, False, 1 << 14).to_pylist()
