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


EXPORT = "客户编号,年利润,营销成本,备注\nK1,900000,100000,x\nK2,-5,100000,y\n"


@pytest.mark.parametrize("engine", ["compiled", "vector"])
@pytest.mark.parametrize("kind", ["csv", "table", "dataframe"])
def test_a_mapped_column_is_never_ignored(tmp_path: Path, engine: str, kind: str) -> None:
    """``--unknown-columns ignore`` is for the columns a mapping does not name (``备注``). A column the mapping
    names, mapped to no field (a typo: ``transactions.anual_profit``), was dropped silently under it, so every
    account's profit was unknown and the run exited 0; it is refused, naming the column and its target."""
    from accountrules.batch.errors import UnknownColumnError

    mapping = ColumnMapping({"客户编号": "id", "年利润": "transactions.anual_profit",
                             "营销成本": "transactions.marketing_cost"}, unknown="ignore")
    path = tmp_path / "export.csv"
    path.write_text(EXPORT, encoding="utf-8")
    source: Any = {"csv": str(path), "table": pytest.importorskip("pyarrow.csv").read_csv(path)}.get(kind)
    if source is None:
        source = pytest.importorskip("pandas").read_csv(path)
    with pytest.raises(UnknownColumnError, match="年利润.*it is mapped to 'transactions.anual_profit', which is no "
                                                 "field of this policy"):
        POLICY.decide_many(source, as_of=AS_OF, engine=engine, columns=mapping)
    fixed = ColumnMapping({**mapping.rename, "年利润": "transactions.annual_profit"}, unknown="ignore")
    assert len(POLICY.decide_many(source, as_of=AS_OF, engine=engine, columns=fixed).decisions) == 2


def test_a_mapping_file_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    """YAML keeps the last of two equal keys silently: ``客户编号: id`` then ``客户编号: name`` lost the id
    mapping (and the whole file failed on "no 'id' column" far from the cause). The file is refused, naming
    the column and the line; so is one column given twice by --map."""
    from accountrules.io.columns import ColumnMappingError

    f = tmp_path / "columns.yaml"
    f.write_text("客户编号: id\n年利润: transactions.annual_profit\n客户编号: name\n", encoding="utf-8")
    with pytest.raises(ColumnMappingError, match=r"columns.yaml: line 3: column '客户编号' is mapped twice"):
        ColumnMapping.parse([], file=f)
    with pytest.raises(ColumnMappingError, match=r"column '客户编号' is mapped twice"):
        ColumnMapping.parse(["客户编号=id", " 客户编号 =name"])
    f.write_text("客户编号: id\n", encoding="utf-8")  # a --map for a column of the file still wins over it
    assert ColumnMapping.parse(["客户编号=name"], file=f).rename == {"客户编号": "name"}


def test_a_mapping_file_is_read_without_blanks_as_map_options_are(tmp_path: Path) -> None:
    """A header is read without the blanks around it, and so is ``--map ' 客户编号 =id'``; a file's
    ``"客户编号 ": id`` was kept as it was, so it never matched the header it names."""
    f = tmp_path / "columns.yaml"
    f.write_text('"客户编号 ": " id"\n', encoding="utf-8")
    assert ColumnMapping.parse([], file=f).rename == {"客户编号": "id"}
