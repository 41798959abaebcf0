"""Arguments a service gets wrong are refused with typed accountrules errors, not an AttributeError
from deep inside a decision (docs/embedding.md)."""

from __future__ import annotations

from typing import Any

import pytest

import accountrules
from accountrules.errors import AccountRulesError, PortfolioRequiredError
from accountrules.io.columns import ColumnMapping, ColumnMappingError

EXPRESS = accountrules.load_policy("express")
ACCOUNTS = [{"id": f"KA-{i}", "transactions": {"annual_profit": 1_000.0 * i, "marketing_cost": 300.0}}
            for i in range(1, 6)]


@pytest.mark.parametrize("engine", ["compiled", "vector", "auto"])
@pytest.mark.parametrize("given", [{"transactions.annual_profit": [1.0]}, [1.0, 2.0], "stats"])
def test_a_portfolio_that_is_no_portfolio_stats_is_refused(engine: str, given: Any) -> None:
    with pytest.raises(PortfolioRequiredError, match=f"not {type(given).__name__}"):
        EXPRESS.decide(ACCOUNTS[0], portfolio=given, engine=engine)


def test_the_portfolio_stats_still_decide() -> None:
    stats = EXPRESS.portfolio_stats(ACCOUNTS)
    assert EXPRESS.decide(ACCOUNTS[0], portfolio=stats) == EXPRESS.decide_many(ACCOUNTS)[0]


@pytest.mark.parametrize("call", ["decide_many", "iter_decide"])
def test_columns_that_are_no_column_mapping_are_refused(call: str) -> None:
    with pytest.raises(ColumnMappingError, match="ColumnMapping") as info:
        list(getattr(EXPRESS, call)(ACCOUNTS, columns={"客户编号": "id"}))
    assert isinstance(info.value, AccountRulesError)
    mapped = [{"客户编号": a["id"], **{k: v for k, v in a.items() if k != "id"}} for a in ACCOUNTS]
    renamed = ColumnMapping(rename={"客户编号": "id"})
    assert EXPRESS.decide_many(mapped, columns=renamed) == EXPRESS.decide_many(ACCOUNTS)
