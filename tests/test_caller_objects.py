"""Callers' own objects decide like the dict they stand for: dataclasses, pydantic models, pandas
rows, named tuples, dotted keys; and NaN / NaT / NA mean unknown, in decide and decide_many alike."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import accountrules
from accountrules.errors import AccountValidationError
from accountrules.evaluate.accounts import account_data

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)
POLICY = accountrules.load_policy(ROOT / "rulesets" / "express")
SAMPLE = [
    {"id": "A1", "transactions": {"annual_revenue": 3_000_000.0, "annual_profit": 400_000.0, "count": 40},
     "relationship": {"stage": "stable"}},
    {"id": "A2", "transactions": {"annual_revenue": 20_000.0, "annual_profit": -10.0, "count": 2}},
    {"id": "A3", "company": {"industry": "retail"}},
]
STATS = POLICY.portfolio_stats(SAMPLE, as_of=AS_OF)


def decide(account: Any) -> dict[str, Any]:
    return POLICY.decide(account, as_of=AS_OF, portfolio=STATS).model_dump()


@dataclasses.dataclass
class Tx:
    annual_revenue: float | None = None
    annual_profit: float | None = None
    count: int | None = None


@dataclasses.dataclass
class MyAccount:
    id: str
    transactions: Tx


class TxModel(BaseModel):
    annual_revenue: float | None = None
    annual_profit: float | None = None
    count: int | None = None


class MyModel(BaseModel):  # any BaseModel, not ours
    id: str
    transactions: TxModel


class Row(NamedTuple):
    id: str
    transactions: dict[str, Any]


class HasToDict:
    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)


@pytest.mark.parametrize("make", [
    lambda a: MyAccount(a["id"], Tx(**a["transactions"])),
    lambda a: MyModel(id=a["id"], transactions=TxModel(**a["transactions"])),
    lambda a: Row(a["id"], a["transactions"]),
    lambda a: HasToDict({"id": a["id"], **{f"transactions.{k}": v for k, v in a["transactions"].items()}}),
    lambda a: {"id": a["id"], **{f"transactions.{k}": v for k, v in a["transactions"].items()}},
], ids=["dataclass", "pydantic", "namedtuple", "to_dict", "dotted"])
@pytest.mark.parametrize("account", SAMPLE[:2], ids=["A1", "A2"])
def test_an_object_decides_like_its_dict(make: Any, account: dict[str, Any]) -> None:
    plain = {"id": account["id"], "transactions": account["transactions"]}
    assert decide(make(plain)) == decide(plain)


def test_a_pandas_row_decides_like_its_dict() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(ROOT / "examples" / "portfolio" / "accounts.csv", nrows=40)
    assert frame.isna().any().any(), "the sample has blank cells: they must read as unknown"
    stats = POLICY.portfolio_stats(frame.to_dict("records"), as_of=AS_OF)
    by_frame = POLICY.decide_many(frame, as_of=AS_OF)
    for i, (_, row) in enumerate(frame.iterrows()):
        one = POLICY.decide(row, as_of=AS_OF, portfolio=stats, trace=False).model_dump()
        assert one == POLICY.decide(row.to_dict(), as_of=AS_OF, portfolio=stats, trace=False).model_dump()
        assert one["tier"] == by_frame[i].model_dump()["tier"]


def test_decide_many_of_records_equals_decide_many_of_the_frame() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(ROOT / "examples" / "portfolio" / "accounts.csv")
    from_frame = POLICY.decide_many(frame, as_of=AS_OF, trace=False)
    from_records = POLICY.decide_many(frame.to_dict("records"), as_of=AS_OF, trace=False)
    assert len(from_records.errors) == len(from_frame.errors) == 0
    assert [d.model_dump() for d in from_records] == [d.model_dump() for d in from_frame]


def test_unknown_kinds_of_blank_are_none() -> None:
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    data = account_data({"id": "x", "transactions.revenue": float("nan"), "transactions.count": np.float64("nan"),
                         "transactions.last_order_date": pd.NaT, "name": pd.NA,
                         "contacts": [{"name": "a", "role": np.nan}], "extra": {"budget": math.nan}})
    assert not isinstance(data, accountrules.Account)
    assert data == {"id": "x", "transactions": {"revenue": None, "count": None, "last_order_date": None},
                    "name": None, "contacts": [{"name": "a", "role": None}], "extra": {"budget": None}}


def test_a_clean_dict_is_passed_on_untouched() -> None:
    account = SAMPLE[0]
    assert account_data(account) is account


def test_an_object_of_no_known_shape_names_what_is_accepted() -> None:
    with pytest.raises(AccountValidationError, match="a dataclass, a pydantic model"):
        POLICY.decide(object(), portfolio=STATS)  # type: ignore[arg-type]
    result = POLICY.decide_many([*SAMPLE, 42], as_of=AS_OF)
    assert len(result.errors) == 1 and "got int" in str(result.errors[0])


NUMBERS = st.one_of(st.none(), st.just(math.nan), st.floats(0, 1e7, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(revenue=NUMBERS, profit=NUMBERS, count=st.one_of(st.none(), st.integers(0, 500)))
def test_nan_means_none_in_decide_and_decide_many(revenue: float | None, profit: float | None,
                                                   count: int | None) -> None:
    tx = {"annual_revenue": revenue, "annual_profit": profit, "count": count}
    with_nan = {"id": "h", "transactions": tx}
    with_none = {"id": "h", "transactions": {k: None if v is not None and v != v else v for k, v in tx.items()}}
    dotted = {"id": "h", **{f"transactions.{k}": v for k, v in tx.items()}}
    expected = decide(with_none)
    assert decide(with_nan) == expected
    assert decide(dotted) == expected
    batch = POLICY.decide_many([*SAMPLE, with_nan, {**dotted, "id": "h2"}], as_of=AS_OF)
    assert not batch.errors
    codes = [(d.tier, d.segments, d.stage, d.churn, [a.code for a in d.actions]) for d in batch]
    assert codes[-1] == codes[-2]  # the same account under two ids: only the ids (and action keys) differ
