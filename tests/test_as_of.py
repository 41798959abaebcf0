"""The decision date (``as_of``) is checked at every entry point, on every evaluator.

Seed concept: the retention actions' owners and due dates (docs/seed-coverage.md, P-rows): a due
date is ``as_of`` plus the action's ``due_days``, so ``as_of`` must be a day whose due dates exist.
Before this check a text date failed deep in the batch path with a bare ``AttributeError``, a
datetime gave datetime due dates, and ``date(9999, 12, 31)`` decided and then raised
``OverflowError`` when the actions were read (found by a hunt with hostile inputs).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import accountrules
from accountrules.errors import AccountRulesError, AsOfError
from accountrules.evaluate.day import last_decision_day
from accountrules.evaluate.registry import available

ROOT = Path(__file__).resolve().parents[1]
POLICY = accountrules.load_policy(ROOT / "rulesets" / "express")
AS_OF = dt.date(2026, 6, 30)
# a profitable gold account and a lapsing one (recency 200 days): the second is prescribed actions
ACCOUNTS: list[dict[str, Any]] = [
    {"id": "A-1", "transactions": {"annual_profit": 1_000_000.0, "marketing_cost": 100_000.0, "recency_days": 10},
     "relationship": {"stage": "stable", "previous_tier": "gold"}},
    {"id": "A-2", "transactions": {"annual_profit": 50_000.0, "marketing_cost": 100_000.0, "recency_days": 200},
     "relationship": {"stage": "initial"}},
]
STATS = POLICY.portfolio_stats(ACCOUNTS, as_of=AS_OF)
LAST = last_decision_day(POLICY.plan)
CATALOG = POLICY.plan.catalog


def _entries(as_of: Any) -> dict[str, Any]:
    return {
        "decide": lambda: POLICY.decide(ACCOUNTS[0], as_of=as_of, portfolio=STATS),
        "decide(vector)": lambda: POLICY.decide(ACCOUNTS[0], as_of=as_of, portfolio=STATS, engine="vector"),
        "decide_many": lambda: POLICY.decide_many(ACCOUNTS, as_of=as_of),
        "decide_many(compiled)": lambda: POLICY.decide_many(ACCOUNTS, as_of=as_of, engine="compiled"),
        "iter_decide": lambda: POLICY.iter_decide(ACCOUNTS, as_of=as_of),  # refused at the call, not when read
        "portfolio_stats": lambda: POLICY.portfolio_stats(ACCOUNTS, as_of=as_of),
    } | ({"decide(durable)": lambda: POLICY.decide(ACCOUNTS[0], as_of=as_of, portfolio=STATS, engine="durable")}
         if available("durable") else {})


@pytest.mark.parametrize("bad", ["2026-06-30", 20260630, dt.datetime(2026, 6, 30, 9, 30), dt.date.max, LAST
                                 + dt.timedelta(days=1)], ids=["text", "int", "datetime-with-time", "date.max",
                                                               "one-day-too-late"])
def test_every_entry_point_refuses_a_bad_as_of_with_a_typed_error(bad: Any) -> None:
    for name, call in _entries(bad).items():
        with pytest.raises(AsOfError) as info:
            call()
        assert isinstance(info.value, AccountRulesError) and isinstance(info.value, ValueError), name
        assert "as_of" in str(info.value), name


def test_the_messages_say_what_is_wrong() -> None:
    with pytest.raises(AsOfError, match=r"not str '2026-06-30'"):
        POLICY.decide(ACCOUNTS[0], as_of="2026-06-30", portfolio=STATS)  # type: ignore[arg-type]
    with pytest.raises(AsOfError, match=r"has a time of day: pass its \.date\(\)"):
        POLICY.decide(ACCOUNTS[0], as_of=dt.datetime(2026, 6, 30, 9, 30), portfolio=STATS)
    with pytest.raises(AsOfError, match=r"too late: an action due \d+ days later would fall past 9999-12-31"):
        POLICY.decide(ACCOUNTS[0], as_of=dt.date.max, portfolio=STATS)


def test_a_datetime_at_midnight_is_its_day() -> None:
    midnight = dt.datetime(2026, 6, 30)
    for name, call in _entries(midnight).items():
        if name == "portfolio_stats":
            assert call() == STATS
            continue
        got = call()
        want = _entries(AS_OF)[name]()
        if name == "iter_decide":
            got, want = list(got), list(want)
            assert [d.model_dump_json() for d in got] == [d.model_dump_json() for d in want], name
        elif name.startswith("decide_many"):
            assert got.columns() == want.columns(), name
        else:
            assert got.model_dump_json() == want.model_dump_json(), name
            assert type(got.as_of) is dt.date, name


def test_the_last_day_decides_and_its_actions_are_due_by_date_max() -> None:
    assert LAST < dt.date.max
    for engine in ("compiled", "vector"):
        d = POLICY.decide(ACCOUNTS[1], as_of=LAST, portfolio=POLICY.portfolio_stats(ACCOUNTS, as_of=LAST),
                          engine=engine)
        assert d.actions, engine
        # every due date is the day plus the action's due_days, the longest landing on date.max at most
        # (reading them raised OverflowError before the check)
        assert all(a.due == LAST + dt.timedelta(days=CATALOG[a.code].due_days) for a in d.actions), engine
    many = POLICY.decide_many(ACCOUNTS, as_of=LAST)
    assert not many.errors
    dues = [(a.code, a.due) for d in many for a in d.actions]
    assert dues and all(due == LAST + dt.timedelta(days=CATALOG[code].due_days) for code, due in dues)


def test_the_command_line_refuses_a_date_too_late_in_one_line(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    run = subprocess.run([sys.executable, "-m", "accountrules", "decide", str(ROOT / "rulesets" / "express"),
                          str(ROOT / "examples" / "portfolio" / "accounts.csv"), "-o", str(out),
                          "--as-of", "9999-12-31"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "as_of 9999-12-31 is too late" in run.stderr
    assert not out.exists()
