"""Backtest input: every row checked, bad rows and their accounts counted by reason, dates refused clearly."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from accountrules.backtest import BacktestInputError
from accountrules.backtest.log import check_dates, read_log
from accountrules.backtest.prepare import parse_horizon, prepare

pa: Any = pytest.importorskip("pyarrow")
pytest.importorskip("numpy")


def _csv(tmp_path: Path, rows: list[str], name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text("account_id,date,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


GOOD = ["A,2024-01-05,10", "A,2024-03-01,20", "B,2024-02-01,5", "C,2024-06-01,7", "D,2024-07-15,9"]


def test_clean_log_keeps_every_row(tmp_path: Path) -> None:
    log = read_log(_csv(tmp_path, GOOD))
    assert log.rows_read == 5 and log.table.num_rows == 5
    assert log.accounts_read == 4 and log.excluded_accounts == 0 and log.excluded_rows == {}
    assert (log.start, log.end, log.end_declared) == (date(2024, 1, 5), date(2024, 7, 15), False)


def test_bad_rows_are_counted_by_reason_and_their_accounts_excluded(tmp_path: Path) -> None:
    rows = [*GOOD,
            "E,2024-13-01,3",      # bad date
            "E,2024-02-30,3",      # impossible day (Arrow would roll it over)
            "F,2024-02-02,12k",    # not a number
            "G,2024-02-02,-4",     # negative
            ",2024-02-02,4",       # no id
            "A,2024-02-03,nan"]    # not finite: A's history is no longer trustworthy
    log = read_log(_csv(tmp_path, rows))
    assert log.rows_read == 11
    assert log.excluded_rows == {"bad_date": 2, "bad_amount": 2, "negative_amount": 1, "missing_id": 1}
    assert log.first_bad_rows == {"bad_date": 6, "bad_amount": 8, "negative_amount": 9, "missing_id": 10}
    # E, F, G and A had a bad row; B, C, D are left
    assert log.excluded_accounts == 4
    assert sorted(set(log.ids.to_pylist())) == ["B", "C", "D"]
    assert log.accounts_read == 7  # A B C D E F G (the row without an id names no account)


def test_orders_after_a_declared_log_end_are_cut_off_and_their_accounts_kept(tmp_path: Path) -> None:
    # the log is cut at its declared end: B's order after it is left out, B's orders before it stay
    # (dropping B would drop an account that was still ordering, and inflate the measured churn)
    log = read_log(_csv(tmp_path, [*GOOD, "B,2097-01-01,5"]), log_end=date(2024, 12, 31))
    assert log.excluded_rows == {"after_log_end": 1}
    assert log.excluded_accounts == 0
    assert log.ids.to_pylist().count("B") == 1 and log.table.num_rows == len(GOOD)
    assert date(2097, 1, 1) not in log.dates.to_pylist()
    assert log.end == date(2024, 12, 31) and log.end_declared


def test_as_of_outside_the_log_is_refused(tmp_path: Path) -> None:
    log = read_log(_csv(tmp_path, GOOD))
    with pytest.raises(BacktestInputError, match="before the log's first order"):
        check_dates(log, date(2023, 12, 31), 30)
    with pytest.raises(BacktestInputError, match="not before the log's end"):
        check_dates(log, date(2024, 7, 15), 30)
    with pytest.raises(BacktestInputError, match="after the log's end"):
        check_dates(log, date(2024, 7, 1), 30)
    assert check_dates(log, date(2024, 7, 1), 30, clip=True) == 14
    assert check_dates(log, date(2024, 6, 1), 30) == 30


def test_unreadable_inputs_raise_typed_errors(tmp_path: Path) -> None:
    everything_bad = _csv(tmp_path, ["A,someday,1", "B,never,2"])
    with pytest.raises(BacktestInputError, match=r"no date of the order log reads with the format '%Y-%m-%d' "
                                                 r"\(the first is 'someday'\)"):
        read_log(everything_bad)
    all_negative = _csv(tmp_path, ["A,2024-01-01,-1"], "neg.csv")
    with pytest.raises(BacktestInputError, match="no usable order left.*negative_amount 1"):
        read_log(all_negative)
    with pytest.raises(FileNotFoundError):
        read_log(tmp_path / "absent.csv")


def test_integer_dates_need_a_format() -> None:
    table = pa.table({"account_id": ["A"], "date": [20240101], "amount": [1.0]})
    with pytest.raises(BacktestInputError, match="date format"):
        read_log(table)


def test_first_order_after_t_is_excluded_and_counted(tmp_path: Path) -> None:
    prep = prepare(_csv(tmp_path, GOOD), as_of=date(2024, 3, 1), horizon=30)
    assert prep.ids == ["A", "B"]
    ex = prep.exclusions()
    assert ex.accounts_excluded == {"bad_rows": 0, "first_order_after_as_of": 2}
    assert ex.accounts_included + sum(ex.accounts_excluded.values()) == ex.accounts_in_log == 4
    assert ex.orders_after_horizon == 2  # C on 06-01 and D on 07-15 are after 2024-03-31


@pytest.mark.parametrize(("text", "days"), [("26w", 182), ("182d", 182), ("182", 182), (" 4 w", 28), (30, 30)])
def test_parse_horizon(text: Any, days: int) -> None:
    assert parse_horizon(text) == days


@pytest.mark.parametrize("text", ["", "6m", "-3d", "0w", "w", "1.5w", True, 2.5])
def test_parse_horizon_refuses(text: Any) -> None:
    with pytest.raises(BacktestInputError):
        parse_horizon(text)
