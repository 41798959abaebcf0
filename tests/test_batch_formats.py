"""decide_many over every kind of source: same decisions, input order, one item per row."""

from __future__ import annotations

import csv
import datetime as dt
import json
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from accountrules.batch import BatchInputError, BatchResult, RowError, UnknownColumnError, iter_batches
from accountrules.io.columns import ColumnMapping
from accountrules.model.account import Account
from accountrules.model.decision import Decision
from accountrules.policy import Policy, load_policy

pa: Any = pytest.importorskip("pyarrow")
pq: Any = pytest.importorskip("pyarrow.parquet")
pd: Any = pytest.importorskip("pandas")

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS_CSV = ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"
AS_OF = dt.date(2026, 6, 30)
BAD_ROWS = {50: "relationship.share_of_wallet", 100: "relationship.last_contact_date", 150: "relationship.stage"}


@pytest.fixture(scope="module", params=["examples/small", "rulesets/express"])
def policy(request: pytest.FixtureRequest) -> Policy:
    return load_policy(ROOT / request.param)


@pytest.fixture(scope="module")
def accounts() -> list[Account]:
    """The valid accounts of the example portfolio, validated one by one through the model."""
    out = []
    with ACCOUNTS_CSV.open(encoding="utf-8-sig", newline="") as f:
        for i, row in enumerate(csv.DictReader(f), start=1):
            if i in BAD_ROWS:
                continue
            nested: dict[str, Any] = {}
            for k, v in row.items():
                if v == "":
                    continue
                if "." in k:
                    g, n = k.split(".", 1)
                    nested.setdefault(g, {})[n] = v
                else:
                    nested[k] = v
            out.append(Account.model_validate(nested))
    return out


def _err(x: Decision | RowError) -> RowError:
    assert isinstance(x, RowError), x
    return x


def _flat(a: Account) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in a.model_dump(exclude={"contacts", "extra"}).items():
        if isinstance(v, dict):
            for n, x in v.items():
                out[f"{k}.{n}"] = x.value if isinstance(x, Enum) else x
        else:
            out[k] = v
    return out


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.date):
        return v.isoformat()
    return repr(v) if isinstance(v, float) else str(v)


def _sources(accounts: list[Account], tmp: Path) -> dict[str, Any]:
    flat = [_flat(a) for a in accounts]
    table = pa.Table.from_pylist(flat)
    csv_path = tmp / "accounts.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(flat[0]))
        for r in flat:
            w.writerow([_text(v) for v in r.values()])
    jsonl = tmp / "accounts.jsonl"
    jsonl.write_text("".join(a.model_dump_json(exclude_none=True) + "\n" for a in accounts), encoding="utf-8")
    parquet = tmp / "accounts.parquet"
    pq.write_table(table, parquet)
    return {
        "dicts": [a.model_dump(mode="json", exclude_none=True) for a in accounts],
        "dotted dicts": [{k: v for k, v in r.items() if v is not None} for r in flat],
        "accounts": accounts,
        "generator": (a for a in accounts),
        "dataframe": pd.DataFrame(flat),
        "arrow": table,
        "csv": csv_path,
        "csv text path": str(csv_path),
        "jsonl": jsonl,
        "parquet": parquet,
    }


def test_every_format_gives_the_same_decisions(policy: Policy, accounts: list[Account], tmp_path: Path) -> None:
    stats = policy.portfolio_stats(accounts)
    expected = [policy.decide(a, as_of=AS_OF, portfolio=stats) for a in accounts]
    reference = policy.decide_many(accounts, as_of=AS_OF)
    assert isinstance(reference, BatchResult) and reference.ok
    assert reference.stats == stats
    assert reference == expected  # batch == one by one with the same statistics, in input order
    assert [d.account_id for d in reference.decisions] == [a.id for a in accounts]
    for name, source in _sources(accounts, tmp_path).items():
        got = policy.decide_many(source, as_of=AS_OF)
        assert got.ok, (name, got.errors[:3])
        assert got.to_records() == reference.to_records(), name
        assert got == reference, name


def test_chunks_and_streaming_give_the_same_result(policy: Policy, tmp_path: Path) -> None:
    whole = policy.decide_many(ACCOUNTS_CSV, as_of=AS_OF)
    parts = list(iter_batches(policy, ACCOUNTS_CSV, as_of=AS_OF, chunk_rows=37))
    assert len(parts) == 9
    joined = BatchResult.concat(parts)
    assert joined.to_records(errors=True) == whole.to_records(errors=True)
    assert [joined[i] for i in (0, 49, 50, 298)] == [whole[i] for i in (0, 49, 50, 298)]
    assert list(policy.iter_decide(ACCOUNTS_CSV, as_of=AS_OF)) == list(whole)


def test_bad_rows_become_row_errors_in_place(policy: Policy) -> None:
    result = policy.decide_many(ACCOUNTS_CSV, as_of=AS_OF)
    assert len(result) == 300 and not result.ok
    assert {e.row: e.field for e in result.errors} == BAD_ROWS
    for row in BAD_ROWS:
        assert isinstance(result[row - 1], RowError)
        assert result[row - 1].account_id == f"KA{row:04d}"
    assert sum(isinstance(x, Decision) for x in result) == 297
    assert [x.account_id for x in result] == [f"KA{i:04d}" for i in range(1, 301)]


def test_each_kind_of_bad_row(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "id,relationship.stage,relationship.share_of_wallet,transactions.last_order_date,transactions.revenue\n"
        "A1,stable,0.5,2026-01-02,100\n"      # 1 fine
        "A2,stabel,0.5,2026-01-02,100\n"      # 2 unknown enum value
        "A3,stable,1.7,2026-01-02,100\n"      # 3 out of range
        "A4,stable,0.5,2026-13-01,100\n"      # 4 bad date
        "A5,stable,0.5,2026-01-02,12k\n"      # 5 bad number
        ",stable,0.5,2026-01-02,100\n"        # 6 missing id
        "A1,initial,0.2,2026-01-02,100\n"     # 7 duplicate id
        "A8,stable,0.5,2026-01-02,100,extra\n"  # 8 a cell too many
        "A9,,,,\n",                           # 9 fine, all unknown
        encoding="utf-8",
    )
    result = policy.decide_many(path, as_of=AS_OF)
    got = {e.row: (e.account_id, e.field) for e in result.errors}
    assert got == {
        2: ("A2", "relationship.stage"),
        3: ("A3", "relationship.share_of_wallet"),
        4: ("A4", "transactions.last_order_date"),
        5: ("A5", "transactions.revenue"),
        6: (None, "id"),
        7: ("A1", "id"),
        8: (None, None),
    }
    assert "already in row 1" in _err(result[6]).message
    assert "did you mean 'stable'" in _err(result[1]).message
    assert [type(x).__name__ for x in result] == ["Decision"] + ["RowError"] * 7 + ["Decision"]
    # the same rows from dicts give the same errors
    rows = [dict(zip(["id", "relationship.stage", "relationship.share_of_wallet",
                      "transactions.last_order_date", "transactions.revenue"], r, strict=True))
            for r in [("A1", "stable", 0.5, "2026-01-02", 100), ("A2", "stabel", 0.5, None, None),
                      ("A3", "stable", 1.7, None, None), ("A4", None, None, "2026-13-01", None),
                      ("A5", None, None, None, "12k"), (None, None, None, None, None),
                      ("A1", None, None, None, None)]]
    from_dicts = policy.decide_many([{k: v for k, v in r.items() if v is not None} for r in rows], as_of=AS_OF)
    assert {e.row: e.field for e in from_dicts.errors} == {2: "relationship.stage",
                                                          3: "relationship.share_of_wallet",
                                                          4: "transactions.last_order_date",
                                                          5: "transactions.revenue", 6: "id", 7: "id"}


def test_duplicates_across_chunks_and_stats_from_valid_rows_only(policy: Policy) -> None:
    accs = [{"id": f"A{i}", "transactions": {"annual_profit": 1000.0 * i, "marketing_cost": 100.0}}
            for i in range(10)]
    accs.append({"id": "A3", "transactions": {"annual_profit": 1e9, "marketing_cost": 1.0}})
    accs.append({"id": "A11", "transactions": {"count": -1}})
    parts = list(iter_batches(policy, accs, as_of=AS_OF, chunk_rows=4))
    result = BatchResult.concat(parts)
    assert [(e.row, e.field) for e in result.errors] == [(11, "id"), (12, "transactions.count")]
    assert result.stats == policy.portfolio_stats(accs[:10])
    assert policy.decide_many(accs, as_of=AS_OF).stats == policy.portfolio_stats(accs[:10])


def test_jsonl_rows_may_be_nested_dotted_or_broken(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    lines = [
        json.dumps({"id": "J1", "transactions": {"annual_profit": 5}, "contacts": [
            {"name": "Li", "role": "decider", "supporter": True, "weight": 0.6}]}),
        json.dumps({"id": "J2", "transactions.annual_profit": 7, "relationship.stage": "initial"}),
        "{not json",
        "",
        json.dumps([1, 2]),
        json.dumps({"id": "J5", "transactions": {"anual_profit": 5}}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = policy.decide_many(path, as_of=AS_OF)
    assert len(result) == 5
    assert [type(x).__name__ for x in result] == ["Decision", "Decision", "RowError", "RowError", "RowError"]
    assert _err(result[4]).field == "transactions.anual_profit"
    assert "did you mean 'transactions.annual_profit'" in _err(result[4]).message
    assert _err(result[2]).row == 3 and _err(result[2]).field is None


def test_unknown_columns_fail_the_whole_input(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_text("id,transactions.anual_profit\nA,1\n", encoding="utf-8")
    with pytest.raises(UnknownColumnError, match="did you mean 'transactions.annual_profit'") as e:
        policy.decide_many(path)
    assert e.value.column == "transactions.anual_profit"
    with pytest.raises(UnknownColumnError, match="contacts"):
        policy.decide_many(pd.DataFrame({"id": ["A"], "contacts.count": [1]}))
    with pytest.raises(UnknownColumnError, match="declares no such field"):
        policy.decide_many(pa.table({"id": ["A"], "extra.segment": ["x"]}))
    with pytest.raises(BatchInputError, match="no 'id' column"):
        policy.decide_many(pa.table({"transactions.revenue": [1.0]}))
    odd = tmp_path / "u.txt"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(BatchInputError, match="suffix"):
        policy.decide_many(odd)


def test_column_names_are_read_as_a_csv_header_is_on_every_flat_input(policy: Policy, accounts: list[Account],
                                                                      tmp_path: Path) -> None:
    """Found by a hostile-input hunt: a CSV header's names are stripped (" id " is the id column) but a
    DataFrame's, an Arrow table's and a Parquet file's were not (UnknownColumnError: unknown column
    ' id '). Every flat input now reads its column names as a CSV header's, a mapping included."""
    flat = [_flat(a) for a in accounts[:20]]
    reference = policy.decide_many(pa.Table.from_pylist(flat), as_of=AS_OF)
    assert reference.ok
    padded = {f" {k}\t" if i % 2 else f"  {k}": [r[k] for r in flat] for i, k in enumerate(flat[0])}
    table = pa.table(padded)
    csv_path = tmp_path / "padded.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(padded))
        for r in flat:
            w.writerow([_text(v) for v in r.values()])
    pq.write_table(table, tmp_path / "padded.parquet")
    sources = {"csv": csv_path, "dataframe": pd.DataFrame(padded), "arrow": table,
               "record batch": table.to_batches()[0], "reader": table.to_reader(),
               "parquet": tmp_path / "padded.parquet"}
    for name, source in sources.items():
        assert policy.decide_many(source, as_of=AS_OF) == reference, name
    # a stripped name meeting one given plainly is a name given twice, on every flat input
    twice = {"id": ["A"], " id ": ["B"]}
    (tmp_path / "twice.csv").write_text("id, id \nA,B\n", encoding="utf-8")
    pq.write_table(pa.table(twice), tmp_path / "twice.parquet")
    for source in (tmp_path / "twice.csv", pd.DataFrame(twice), pa.table(twice), tmp_path / "twice.parquet"):
        with pytest.raises(BatchInputError, match="column 'id' appears twice"):
            policy.decide_many(source, as_of=AS_OF)
    # a mapping names the stripped column
    mapped = ColumnMapping({"客户": "id"})
    for source in (pd.DataFrame({" 客户 ": ["A"]}), pa.table({" 客户 ": ["A"]})):
        assert [d.account_id for d in policy.decide_many(source, as_of=AS_OF, columns=mapped)] == ["A"]


def test_csv_quirks(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(
        "\ufeffid,name,relationship.stage\r\n"
        'A1,"上海顺达, 有限公司",stable\r\n'
        'A2,"two\nlines",initial\r\n'
        "\r\n"
        "A3,,\r\n".encode()
    )
    result = policy.decide_many(path, as_of=AS_OF)
    assert result.ok and [d.account_id for d in result.decisions] == ["A1", "A2", "A3"]
    third = result[2]
    assert isinstance(third, Decision) and (third.stage is None or third.stage.from_ is None)  # blank = unknown


def test_a_dataframe_with_nan_and_integer_ids(policy: Policy) -> None:
    df = pd.DataFrame({"id": [1, 2, 3], "transactions.annual_profit": [1e6, float("nan"), -5.0],
                       "transactions.marketing_cost": [1e4, 1e4, None], "credit.overdue_payments": [0, None, 2]})
    result = policy.decide_many(df, as_of=AS_OF)
    assert result.ok
    assert [d.account_id for d in result.decisions] == ["1", "2", "3"]
    expected = policy.decide_many([
        {"id": "1", "transactions": {"annual_profit": 1e6, "marketing_cost": 1e4}, "credit": {"overdue_payments": 0}},
        {"id": "2", "transactions": {"marketing_cost": 1e4}},
        {"id": "3", "transactions": {"annual_profit": -5.0}, "credit": {"overdue_payments": 2}},
    ], as_of=AS_OF)
    assert result == expected


def test_an_empty_source(policy: Policy, tmp_path: Path) -> None:
    assert len(policy.decide_many([], as_of=AS_OF)) == 0
    path = tmp_path / "e.csv"
    path.write_text("id,transactions.revenue\n", encoding="utf-8")
    empty = policy.decide_many(path, as_of=AS_OF)
    assert len(empty) == 0 and empty.ok and empty.summary().accounts == 0
    with pytest.raises(BatchInputError):
        policy.decide_many({"id": "A"})


@pytest.mark.parametrize("engine", ["compiled", "vector"])
def test_a_dataframe_object_column_with_an_int_past_64_bits(policy: Policy, engine: str) -> None:
    """``pa.array`` raises OverflowError (not an ArrowInvalid) for a Python int past 64 bits in an object
    column, and it escaped ``decide_many`` bare. The column is read value by value, as a dict row is: that
    row is refused on its field (as ``{"annual_revenue": 10**30}`` in a dict), the others decided."""
    frame = pd.DataFrame({"id": ["K1", "K2", "K3"],
                          "transactions.annual_revenue": pd.Series([10**30, 5, 2**64], dtype=object)})
    result = policy.decide_many(frame, as_of=AS_OF, engine=engine)
    rows = [{"id": r, "transactions": {"annual_revenue": v}} for r, v in zip(frame["id"], [10**30, 5, 2**64],
                                                                           strict=True)]
    assert result == policy.decide_many(rows, as_of=AS_OF, engine=engine)
    assert len(result) == 3 and len(result.decisions) >= 1
