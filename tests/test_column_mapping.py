"""ColumnMapping: renaming an input's columns and mapping them back changes no decision; ignored
columns change nothing either; the renamed header keeps its length and order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules import load_policy
from accountrules.io.columns import ColumnMapping, is_ignored

pa: Any = pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parents[1]
POLICY = load_policy(ROOT / "examples" / "small" / "policy.yaml")
AS_OF = dt.date(2026, 6, 30)
TABLE = pa.table({
    "id": ["A1", "A2", "A3", "A4"],
    "transactions.annual_profit": [900000.0, -5.0, 300000.0, None],
    "transactions.marketing_cost": [100000.0, 100000.0, 100000.0, 100000.0],
    "relationship.stage": ["stable", "initial", "nurture", None],
})
BASELINE = [d.model_dump() for d in POLICY.decide_many(TABLE, as_of=AS_OF)]

names = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x4E80), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None)
@given(new=st.lists(names, min_size=TABLE.num_columns, max_size=TABLE.num_columns, unique=True),
       extra=st.lists(names, max_size=3, unique=True))
def test_renamed_and_mapped_back_decides_the_same(new: list[str], extra: list[str]) -> None:
    extra = [e for e in extra if e not in new]
    renamed = TABLE.rename_columns(new)
    for e in extra:  # columns no field reads, ignored
        renamed = renamed.append_column(e, pa.array(["x"] * TABLE.num_rows))
    mapping = ColumnMapping(dict(zip(new, TABLE.column_names, strict=True)), unknown="ignore")
    got = [d.model_dump() for d in POLICY.decide_many(renamed, as_of=AS_OF, columns=mapping)]
    assert got == BASELINE


@given(header=st.lists(st.text(min_size=1, max_size=8).filter(str.strip), max_size=8, unique=True),
       unknown=st.sampled_from(["refuse", "ignore"]))
def test_names_keep_length_and_order(header: list[str], unknown: str) -> None:
    known = {"id", "name"}
    rename = {h: "id" for h in header[:1]}  # a blank name is refused by ColumnMapping: not generated
    mapping = ColumnMapping(rename, unknown=unknown)  # type: ignore[arg-type]
    out = mapping.names(header, known)
    assert len(out) == len(header)
    for h, n in zip(header, out, strict=True):
        expected = rename.get(h, h)
        if unknown == "ignore" and expected not in known:
            assert is_ignored(n)
        else:
            assert n == expected


@pytest.mark.parametrize("engine", ["compiled", "vector"])
def test_a_renamed_key_meeting_one_the_dict_has_is_a_row_error(engine: str) -> None:
    """Found by a hostile-input review: renaming a dict's key onto a key the dict also has kept one of
    the two values silently (the id ``K2`` here), where a file or DataFrame with those columns is
    refused whole. A dict is a row: that row is refused, the others decided."""
    mapping = ColumnMapping({"客户编号": "id"})
    rows = [{"客户编号": "K1", "id": "K2"}, {"客户编号": "K3"}]
    result = load_policy("express").decide_many(rows, as_of=dt.date(2026, 6, 30), engine=engine, columns=mapping)
    assert len(result) == 2 and [e.row for e in result.errors] == [1]
    assert "'客户编号' is mapped to 'id'" in result.errors[0].message
    assert result[1].account_id == "K3"
