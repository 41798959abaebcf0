"""BatchResult: a Sequence of Decision | RowError held as columns, summaries, tables, writers."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from accountrules.batch import BatchResult, RowError, RowErrors
from accountrules.batch.columns import env_keys
from accountrules.batch.result import decision_outputs, value_columns
from accountrules.batch.writers import write, write_csv, write_errors, write_jsonl, write_parquet
from accountrules.errors import AccountValidationError, EngineUnavailableError
from accountrules.model.decision import Decision
from accountrules.policy import Policy, load_policy

pa: Any = pytest.importorskip("pyarrow")
pq: Any = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS_CSV = ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"
AS_OF = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def express() -> Policy:
    return load_policy(ROOT / "rulesets" / "express")


@pytest.fixture(scope="module")
def result(express: Policy) -> BatchResult:
    return express.decide_many(ACCOUNTS_CSV, as_of=AS_OF)


def test_lazy_columns_agree_with_the_decisions(express: Policy, result: BatchResult) -> None:
    records = result.to_records()
    decisions = result.decisions
    assert len(records) == len(decisions) == 297
    for rec, d in zip(records, decisions, strict=True):
        assert rec["account_id"] == d.account_id
        expected = decision_outputs(express.plan, d)
        expected["actions"] = list(expected["actions"])
        assert {k: rec[k] for k in expected} == expected
    first = result[0]
    assert isinstance(first, Decision) and first.trace and first == result[0]  # built again on access
    assert result[-1] == result[299]
    assert result[10:13] == [result[10], result[11], result[12]]
    with pytest.raises(IndexError):
        result[300]


def test_items_and_columns_constructions_are_equal(express: Policy, result: BatchResult) -> None:
    eager = BatchResult.from_items(list(result), policy=express, stats=result.stats, as_of=AS_OF)
    assert eager == result and result == eager
    assert eager.to_records(errors=True) == result.to_records(errors=True)
    assert eager.summary() == result.summary()
    # from columns (what a vectorised evaluator returns): inputs are env columns of every row
    accounts = [{"id": "C1", "transactions": {"annual_profit": 5e5, "marketing_cost": 1e4}},
                {"id": "C2", "transactions": {"annual_profit": -1.0}}]
    from accountrules.evaluate.accounts import env_of, to_account

    envs: list[dict[str, Any]] = [env_of(to_account(a), express.plan.extra_fields) for a in accounts]
    inputs = {k: [e[k] for e in envs] for k in env_keys(express.plan)}
    stats = express.portfolio_stats(accounts)
    ref = express.decide_many(accounts, as_of=AS_OF)
    outputs: dict[str, list[Any]] = {c: [] for c in value_columns(express.plan)}
    for d in ref:
        assert isinstance(d, Decision)
        for c, v in decision_outputs(express.plan, d).items():
            outputs[c].append(v)
    built = BatchResult.from_columns(policy=express, inputs=inputs, outputs=outputs, stats=stats, as_of=AS_OF)
    assert built == ref


def test_equality_compares_items(express: Policy, result: BatchResult) -> None:
    other_day = express.decide_many(ACCOUNTS_CSV, as_of=AS_OF + dt.timedelta(days=400))
    assert other_day != result
    assert result != list(result)[:-1]
    assert (result == 5) is False


def test_errors_and_raise_for_errors(result: BatchResult) -> None:
    assert not result.ok and result.error_count == 3
    assert [e.row for e in result.errors] == [50, 100, 150]
    with pytest.raises(RowErrors) as e:
        result.raise_for_errors()
    assert isinstance(e.value, AccountValidationError) and e.value.row == 50 and len(e.value.errors) == 3
    assert "3 of 300 rows" in str(e.value)


def test_summary_counts(express: Policy, result: BatchResult) -> None:
    s = result.summary()
    assert (s.accounts, s.decided, s.errors) == (300, 297, 3)
    assert express.spec.tiers is not None
    assert sum(s.tiers.values()) == 297 and list(s.tiers) == [t for t in express.spec.tiers.values if t in s.tiers]
    assert sum(s.churn_kinds.values()) == 297
    records = result.to_records()
    assert s.actions == {code: n for code, n in s.actions.items()}
    for code, n in s.actions.items():
        assert n == sum(code in r["actions"] for r in records)
    changed = sum(1 for r in records if r["stage_transition"] is not None and r["stage_from"] != r["stage"])
    assert sum(s.stage_changes.values()) == changed
    assert "accounts: 300 (297 decided, 3 errors)" in str(s)
    assert s.to_dict()["tiers"] == s.tiers


def test_tables(result: BatchResult) -> None:
    table = result.to_arrow()
    assert table.num_rows == 297
    assert table.column_names[:5] == ["row", "account_id", "as_of", "tier", "tier_rule"]
    assert table.schema.field("actions").type == pa.list_(pa.string())
    assert table.to_pylist() == result.to_records()
    with_errors = result.to_arrow(errors=True)
    assert with_errors.num_rows == 300
    assert with_errors.column("error_field")[49].as_py() == "relationship.share_of_wallet"
    df = result.to_pandas()
    assert len(df) == 297 and list(df["account_id"][:2]) == ["KA0001", "KA0002"]
    assert isinstance(df["actions"][0], list)


def test_writers_round_trip(express: Policy, result: BatchResult, tmp_path: Path) -> None:
    write_csv(result, tmp_path / "d.csv", explain=True)
    raw = (tmp_path / "d.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 Chinese
    with (tmp_path / "d.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    records = result.to_records()
    assert len(rows) == 297
    assert rows[0]["account_id"] == records[0]["account_id"]
    assert rows[0]["actions"] == ";".join(records[0]["actions"])
    assert rows[0]["explain_zh"].startswith("客户 KA0001")
    assert all((r["stage_transition"] == "") == (rec["stage_transition"] is None)
               for r, rec in zip(rows, records, strict=True))

    write_jsonl(result, tmp_path / "d.jsonl")
    lines = (tmp_path / "d.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 297
    assert Decision.model_validate(json.loads(lines[0])) == result[0]

    write_parquet(result, tmp_path / "d.parquet")
    assert pq.read_table(tmp_path / "d.parquet").to_pylist() == records

    write_errors(result.errors, tmp_path / "e.csv")
    with (tmp_path / "e.csv").open(encoding="utf-8-sig", newline="") as f:
        errs = list(csv.DictReader(f))
    assert [e["row"] for e in errs] == ["50", "100", "150"] and errs[2]["field"] == "relationship.stage"

    write(result, tmp_path / "again.parquet")
    assert pq.read_table(tmp_path / "again.parquet").num_rows == 297


def test_decision_errors_become_row_errors(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(
        """
policy: {name: u, version: "1", label: {zh: u, en: u}}
tiers:
  hit: unique
  values: {a: {zh: A, en: A}, b: {zh: B, en: B}}
  rows:
    - {id: r1, when: transactions.revenue > 1, then: a}
    - {id: r2, when: transactions.revenue > 2, then: b}
""", encoding="utf-8")
    p = load_policy(tmp_path / "policy.yaml")
    res = p.decide_many([{"id": "A", "transactions": {"revenue": 1.5}}, {"id": "B", "transactions": {"revenue": 3}}],
                        as_of=AS_OF)
    assert isinstance(res[0], Decision) and isinstance(res[1], RowError)
    assert res[1].row == 2 and res[1].account_id == "B" and "r1, r2" in res[1].message


def test_engines_agree(express: Policy, result: BatchResult) -> None:
    for engine in ("vector", "durable"):
        try:
            other = express.decide_many(ACCOUNTS_CSV, as_of=AS_OF, engine=engine)
        except EngineUnavailableError:
            continue
        assert other.to_records(errors=True) == result.to_records(errors=True), engine
        assert other == result, engine


def test_without_trace(express: Policy) -> None:
    first = express.decide_many(ACCOUNTS_CSV, as_of=AS_OF, trace=False)[0]
    assert isinstance(first, Decision) and first.trace == () and first.tier is not None


def test_columns_by_name_are_those_of_every_column() -> None:
    import accountrules as ar

    policy = ar.load_policy(ROOT / "rulesets" / "express")
    for engine in ("compiled", "vector"):
        res = policy.decide_many(str(ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"),
                                 as_of=dt.date(2026, 6, 30), engine=engine, trace=False)
        for errors in (False, True):
            every = res.columns(errors=errors)
            some = res.columns(errors=errors, names=["actions", "tier"])
            assert list(some) == ["row", "account_id", "tier", "actions", *(["error_field", "error"] if errors else [])]
            assert all(some[c] == every[c] for c in some)
        with pytest.raises(KeyError, match="tierr"):
            res.columns(names=["tierr"])
