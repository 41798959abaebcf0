"""A whole number past 2**53 is refused with its field named, the same way on every path (issue 8).

The model's counts and days (seed D1-D2: 交易次数, 已交易时间, ...) and a policy's declared ``number``
fields end at 2**53, the last whole number a float64 holds exactly. Before, a count past int64 decided
as a dict and ended a CSV batch in a bare ``OverflowError`` from Arrow, and one past 2**53 could rank
differently in the vector evaluator (float64) than in the compiled one (Python int). Now every path
(``decide``, ``portfolio_stats``, ``decide_many`` from dicts, CSV, JSONL and Arrow, each evaluator)
gives a typed error naming the field, and 2**53 itself decides the same on every evaluator.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

import accountrules
from accountrules.errors import AccountValidationError
from accountrules.evaluate.accounts import coerce_extra

pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parent.parent
EXPRESS = accountrules.load_policy(ROOT / "rulesets" / "express")
AS_OF = dt.date(2026, 6, 30)
TOP = 2**53
COUNT_TOO_BIG = "Input should be less than or equal to 9007199254740992"


def _account(i: int, count: Any) -> dict[str, Any]:
    return {"id": f"A{i}", "transactions": {"count": count, "annual_profit": 100.0 * i, "marketing_cost": 10.0}}


@pytest.mark.parametrize("count", [TOP + 1, 2**63, 10**20, 10**400])
def test_decide_refuses_a_count_beyond_int64(count: int) -> None:
    stats = EXPRESS.portfolio_stats([_account(1, 5)], as_of=AS_OF)
    with pytest.raises(AccountValidationError) as e:
        EXPRESS.decide(_account(2, count), portfolio=stats, as_of=AS_OF)
    assert list(e.value.problems) == [("transactions.count", COUNT_TOO_BIG)]
    with pytest.raises(AccountValidationError):
        EXPRESS.portfolio_stats([_account(2, count)], as_of=AS_OF)


def test_the_largest_whole_number_is_still_a_count() -> None:
    accounts = [_account(1, 5), _account(2, TOP)]
    stats = EXPRESS.portfolio_stats(accounts, as_of=AS_OF)
    assert EXPRESS.decide(accounts[1], portfolio=stats, as_of=AS_OF).account_id == "A2"


@pytest.mark.parametrize("engine", ["compiled", "vector", "auto"])
@pytest.mark.parametrize("form", ["dicts", "csv", "jsonl"])
def test_every_batch_path_gives_the_same_row_errors(engine: str, form: str, tmp_path: Path) -> None:
    accounts = [_account(1, 5), _account(2, 10**20), _account(3, TOP), _account(4, TOP + 1), _account(5, 7)]
    source: Any = accounts
    if form == "csv":
        source = tmp_path / "a.csv"
        lines = ["id,transactions.count,transactions.annual_profit,transactions.marketing_cost"]
        lines += [f"{a['id']},{a['transactions']['count']},{a['transactions']['annual_profit']},10" for a in accounts]
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif form == "jsonl":
        source = tmp_path / "a.jsonl"
        source.write_text("".join(json.dumps(a) + "\n" for a in accounts), encoding="utf-8")
    result = EXPRESS.decide_many(source, as_of=AS_OF, engine=engine)
    assert [(e.row, e.field, e.message) for e in result.errors] == [
        (2, "transactions.count", COUNT_TOO_BIG), (4, "transactions.count", COUNT_TOO_BIG)]
    assert len(result) == 5  # every row a decision or an error


@pytest.mark.parametrize("text", [str(TOP + 1), str(-TOP - 1), str(2**63), "9" * 400])
def test_a_declared_number_beyond_int64_is_refused_like_other_bad_numbers(text: str) -> None:
    for value in (text, int(text)):
        with pytest.raises(ValueError, match="whole number from -9007199254740992 to 9007199254740992"):
            coerce_extra("x", "number", value)
    assert coerce_extra("x", "number", str(TOP)) == TOP
    assert coerce_extra("x", "number", TOP + 0.5) == float(TOP)  # a float is a float: its range is float's


def test_the_json_schema_of_an_account_says_the_bound() -> None:
    schema = accountrules.Account.model_json_schema()
    count = schema["$defs"]["Transactions"]["properties"]["count"]["anyOf"][0]
    assert count["maximum"] == TOP, count
    assert float(TOP) == TOP and float(TOP + 1) == TOP  # the last whole number float64 holds exactly


def test_the_evaluators_agree_at_the_bound() -> None:
    # at 2**53 a count is still exact as a float64: the vector evaluator ranks and compares it as the
    # compiled one does, trace included (2**53 + 1 would read as 2**53 there)
    accounts = [{"id": f"A{i}", "transactions": {"count": TOP - i, "recency_days": TOP - 2 * i, "window_days": TOP,
                                                "annual_profit": 100.0 * i, "marketing_cost": 10.0}}
                for i in range(4)]
    compiled = EXPRESS.decide_many(accounts, as_of=AS_OF, engine="compiled")
    vector = EXPRESS.decide_many(accounts, as_of=AS_OF, engine="vector")
    assert not compiled.errors
    assert [d.model_dump_json() for d in compiled] == [d.model_dump_json() for d in vector]


@pytest.mark.parametrize("engine", ["compiled", "vector"])
def test_an_arrow_column_past_the_bound_is_refused_cell_by_cell(engine: str, tmp_path: Path) -> None:
    import pyarrow as pa

    tiers = tmp_path / "p.yaml"
    tiers.write_text(json.dumps({
        "policy": {"name": "big", "version": "1", "label": {"zh": "大", "en": "big"}},
        "fields": {"x": "number"},
        "tiers": {"hit": "first", "values": {"a": {"zh": "甲", "en": "A"}, "b": {"zh": "乙", "en": "B"}},
                  "default": "b", "rows": [{"id": "big-x", "when": "extra.x >= 5", "then": "a"}]}}),
        encoding="utf-8")
    policy = accountrules.load_policy(tiers)
    table = pa.table({"id": ["A1", "A2", "A3"], "extra.x": pa.array([TOP, TOP + 1, 2**63 - 1], pa.int64()),
                      "transactions.count": pa.array([TOP, 2**63 - 1, 1], pa.int64())})
    result = policy.decide_many(table, as_of=AS_OF, engine=engine)
    # row 2's count is refused first, as the row path refuses the model before reading extra fields
    got = [(e.row, e.problems) for e in result.errors]
    assert [(row, [f for f, _ in problems]) for row, problems in got] == [(2, ["transactions.count"]), (3, ["extra.x"])]
    rows = [{"id": r["id"], "extra": {"x": r["extra.x"]}, "transactions": {"count": r["transactions.count"]}}
            for r in table.to_pylist()]
    as_dicts = policy.decide_many(rows, as_of=AS_OF, engine=engine)
    assert [(e.row, e.problems) for e in as_dicts.errors] == got
    assert result[0].tier is not None and result[0].tier.code == "a"
