"""Deriving account fields from an order log (accountrules.features)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from accountrules.cli.features import add_parser
from accountrules.errors import AccountValidationError, EngineUnavailableError
from accountrules.features import ColumnMap, derive_accounts, derive_features
from accountrules.model.account import Account
from cdnow_data import cdnow_file

pa: Any = pytest.importorskip("pyarrow")
pq: Any = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "cdnow" / "orders_sample.txt"
SAMPLE_ACCOUNTS = ROOT / "examples" / "cdnow" / "accounts_1998-07-01.csv"
CDNOW = cdnow_file("CDNOW_master.txt")  # the real log, vendored in tests/data/cdnow/
CDNOW_COLUMNS = ColumnMap(
    account_id="customer_id",
    date="date",
    amount="dollar_value",
    quantity="number_of_cds",
    date_format="%Y%m%d",
)

# ---------------------------------------------------------------------------------------------
# hand-made log. as_of 2024-06-30, window 90 days:
#   window          (2024-04-01, 2024-06-30]
#   previous window (2024-01-02, 2024-04-01]     (2024-04-01 - 90 days = 2024-01-02)
#   last 365 days   (2023-07-01, 2024-06-30]     (2024 is a leap year)
AS_OF = date(2024, 6, 30)
WINDOW = 90
HEADER = ("acct", "day", "value", "cost", "qty", "ret", "due", "paid")
ORDERS: list[tuple[str, str, float, float | None, int | None, bool, str | None, str | None]] = [
    # A1: long-standing; order on as_of itself is in the window
    ("A1", "2023-06-01", 500.0, 300.0, 5, False, "2023-07-01", "2023-06-20"),
    ("A1", "2024-02-15", 200.0, 150.0, 2, False, "2024-03-15", "2024-03-20"),  # late, but prev window
    ("A1", "2024-05-10", 300.0, 200.0, 3, False, "2024-06-09", "2024-06-01"),
    ("A1", "2024-06-30", 100.5, 60.0, 1, True, "2024-07-30", None),  # not yet due
    # A2: nothing in the window; 2024-04-01 is the window's (open) start -> previous window
    ("A2", "2023-12-01", 80.0, 50.0, 1, False, "2023-12-31", "2024-01-10"),
    ("A2", "2024-04-01", 120.0, 70.0, 2, False, "2024-05-01", None),
    # A3: new account (first order inside the previous window); one cost missing; one order
    #     after as_of that must be ignored
    ("A3", "2024-03-01", 50.0, None, 1, False, None, None),
    ("A3", "2024-06-01", 70.0, 40.0, 1, False, "2024-06-15", "2024-06-20"),
    ("A3", "2024-07-15", 999.0, 1.0, 9, True, "2024-07-20", None),
    # A4: only orders after as_of -> not an account yet
    ("A4", "2024-07-01", 10.0, 5.0, 1, False, None, None),
    # A5: payment cases, all in the window
    ("A5", "2024-04-10", 10.0, 5.0, 1, True, "2024-05-10", "2024-05-11"),  # paid late
    ("A5", "2024-04-20", 20.0, 5.0, 1, False, "2024-05-20", None),  # unpaid, overdue
    ("A5", "2024-05-01", 30.0, 5.0, 1, True, "2024-06-30", None),  # due on as_of: not overdue
    ("A5", "2024-05-15", 40.0, 5.0, 1, False, "2024-06-14", "2024-07-05"),  # paid after as_of
    ("A5", "2024-06-10", 50.0, 5.0, 1, False, None, "2024-06-05"),  # prepaid, no due date
    # A6: first order exactly on the previous window's start (2024-01-02, not inside it)
    ("A6", "2024-01-02", 60.0, 30.0, 2, False, "2024-02-01", "2024-01-31"),
    ("A6", "2024-05-05", 90.0, 45.0, 3, False, "2024-06-04", "2024-06-04"),  # paid on due date
]
FULL = ColumnMap(
    account_id="acct",
    date="day",
    amount="value",
    cost="cost",
    quantity="qty",
    returned="ret",
    payment_due="due",
    payment_paid="paid",
)
BASIC = ColumnMap(account_id="acct", date="day", amount="value")

EXPECTED: dict[str, dict[str, Any]] = {
    "A1": {
        "transactions": {
            "window_days": 90,
            "count": 2,  # 2024-05-10, 2024-06-30
            "frequency": 0.666667,  # 2 * 30 / 90
            "first_order_date": date(2023, 6, 1),
            "last_order_date": date(2024, 6, 30),
            "tenure_days": 395,  # 2023-06-01 -> 2024-06-01 = 366 (leap), + 29
            "recency_days": 0,
            "avg_order_value": 200.25,  # (300 + 100.5) / 2
            "max_order_value": 300.0,
            "revenue": 400.5,
            "revenue_previous": 200.0,  # first order 2023-06-01 <= 2024-01-02; 2024-02-15
            "annual_revenue": 600.5,  # 200 + 300 + 100.5 (2023-06-01 is outside)
            "annual_profit": 190.5,  # 50 + 100 + 40.5
            "profit_margin": 0.317236,  # 190.5 / 600.5 = 0.3172356...
            "growth_rate": 1.0025,  # 400.5 / 200 - 1
            "returns_count": 1,  # 2024-06-30
            "returns_amount": 100.5,
        },
        "credit": {
            "overdue_payments": 0,  # 05-10 paid early; 06-30 not due yet; 02-15 not in window
            "avg_collection_days": 22.0,  # 2024-05-10 -> 2024-06-01
        },
        "extra": {"units": 4.0},  # 3 + 1
    },
    "A2": {
        "transactions": {
            "window_days": 90,
            "count": 0,
            "frequency": 0.0,
            "first_order_date": date(2023, 12, 1),
            "last_order_date": date(2024, 4, 1),
            "tenure_days": 212,  # 31 (Dec) + 31 + 29 + 31 + 30 + 31 + 29
            "recency_days": 90,
            "avg_order_value": None,
            "max_order_value": None,
            "revenue": 0.0,
            "revenue_previous": 120.0,  # 2024-04-01 is the previous window's last day
            "annual_revenue": 200.0,  # 80 + 120
            "annual_profit": 80.0,  # 30 + 50
            "profit_margin": 0.4,
            "growth_rate": -1.0,  # 0 / 120 - 1
            "returns_count": 0,
            "returns_amount": 0.0,
        },
        "credit": {
            "overdue_payments": 0,  # the unpaid 2024-04-01 order is not in the window
            "avg_collection_days": None,
        },
        "extra": {"units": 0.0},
    },
    "A3": {
        "transactions": {
            "window_days": 90,
            "count": 1,
            "frequency": 0.333333,  # 1 * 30 / 90
            "first_order_date": date(2024, 3, 1),
            "last_order_date": date(2024, 6, 1),  # 2024-07-15 is after as_of
            "tenure_days": 121,  # 31 + 30 + 31 + 29
            "recency_days": 29,
            "avg_order_value": 70.0,
            "max_order_value": 70.0,
            "revenue": 70.0,
            "revenue_previous": None,  # first order 2024-03-01 > 2024-01-02
            "annual_revenue": 120.0,  # 50 + 70
            "annual_profit": None,  # 2024-03-01 has no cost
            "profit_margin": None,
            "growth_rate": None,
            "returns_count": 0,  # the returned order is after as_of
            "returns_amount": 0.0,
        },
        "credit": {
            "overdue_payments": 1,  # paid 06-20, due 06-15
            "avg_collection_days": 19.0,  # 06-01 -> 06-20
        },
        "extra": {"units": 1.0},
    },
    "A5": {
        "transactions": {
            "window_days": 90,
            "count": 5,
            "frequency": 1.666667,  # 5 * 30 / 90
            "first_order_date": date(2024, 4, 10),
            "last_order_date": date(2024, 6, 10),
            "tenure_days": 81,  # 20 + 31 + 30
            "recency_days": 20,
            "avg_order_value": 30.0,  # 150 / 5
            "max_order_value": 50.0,
            "revenue": 150.0,  # 10 + 20 + 30 + 40 + 50
            "revenue_previous": None,
            "annual_revenue": 150.0,
            "annual_profit": 125.0,  # 150 - 5 * 5
            "profit_margin": 0.833333,  # 125 / 150
            "growth_rate": None,
            "returns_count": 2,  # 04-10, 05-01
            "returns_amount": 40.0,  # 10 + 30
        },
        "credit": {
            "overdue_payments": 3,  # paid late; unpaid past due; paid after as_of past due
            "avg_collection_days": 15.5,  # (31 [04-10 -> 05-11] + 0 [prepaid]) / 2
        },
        "extra": {"units": 5.0},
    },
    "A6": {
        "transactions": {
            "window_days": 90,
            "count": 1,
            "frequency": 0.333333,
            "first_order_date": date(2024, 1, 2),
            "last_order_date": date(2024, 5, 5),
            "tenure_days": 180,  # = window * 2
            "recency_days": 56,  # 26 + 30
            "avg_order_value": 90.0,
            "max_order_value": 90.0,
            "revenue": 90.0,
            "revenue_previous": 0.0,  # existed at the previous window's start, bought nothing in it
            "annual_revenue": 150.0,  # 60 + 90
            "annual_profit": 75.0,  # 30 + 45
            "profit_margin": 0.5,
            "growth_rate": None,  # previous is 0
            "returns_count": 0,
            "returns_amount": 0.0,
        },
        "credit": {
            "overdue_payments": 0,  # paid on the due date is on time
            "avg_collection_days": 30.0,  # 05-05 -> 06-04
        },
        "extra": {"units": 3.0},
    },
}


def _expected(ids: list[str], *, full: bool = True) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for account_id in ids:
        exp = EXPECTED[account_id]
        tx = dict(exp["transactions"])
        row: dict[str, Any] = {"id": account_id, "transactions": tx}
        if full:
            row["credit"] = dict(exp["credit"])
            row["extra"] = dict(exp["extra"])
        else:
            for name in ("annual_profit", "profit_margin", "returns_count", "returns_amount"):
                tx[name] = None
            row["credit"] = {"overdue_payments": None, "avg_collection_days": None}
        out.append(row)
    return out


def _table() -> Any:
    cols = list(zip(*ORDERS, strict=True))
    as_date = [date.fromisoformat(s) for s in cols[1]]

    def dates(values: tuple[Any, ...]) -> Any:
        return pa.array([None if v is None else date.fromisoformat(v) for v in values], pa.date32())

    return pa.table(
        {
            "acct": pa.array(cols[0], pa.string()),
            "day": pa.array(as_date, pa.date32()),
            "value": pa.array(cols[2], pa.float64()),
            "cost": pa.array(cols[3], pa.float64()),
            "qty": pa.array(cols[4], pa.int64()),
            "ret": pa.array(cols[5], pa.bool_()),
            "due": dates(cols[6]),
            "paid": dates(cols[7]),
        }
    )


def _csv_text() -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for row in ORDERS:
        w.writerow(
            ["" if v is None else ("true" if v is True else "false" if v is False else v) for v in row]
        )
    return buf.getvalue()


def _jsonl_text() -> str:
    return "".join(json.dumps(dict(zip(HEADER, row, strict=True))) + "\n" for row in ORDERS)


# ---------------------------------------------------------------------------------------------
# hand-made log


def test_hand_made_log_every_field() -> None:
    accounts = derive_accounts(_table(), as_of=AS_OF, window_days=WINDOW, columns=FULL)
    assert [a["id"] for a in accounts] == ["A1", "A2", "A3", "A5", "A6"]  # A4: only after as_of
    assert accounts == _expected(["A1", "A2", "A3", "A5", "A6"])


def test_without_optional_columns_unknown_is_none() -> None:
    accounts = derive_accounts(_table(), as_of=AS_OF, window_days=WINDOW, columns=BASIC)
    assert accounts == _expected(["A1", "A2", "A3", "A5", "A6"], full=False)


def test_metadata_counts_ignored_orders() -> None:
    table = derive_features(_table(), as_of=AS_OF, window_days=WINDOW, columns=FULL)
    meta = table.schema.metadata
    assert meta[b"accountrules.orders"] == b"17"
    assert meta[b"accountrules.orders_after_as_of"] == b"2"  # A3 2024-07-15, A4 2024-07-01


def test_returned_as_amount() -> None:
    table = _table()
    returned = pa.array([25.0 if r else None for r in table["ret"].to_pylist()], pa.float64())
    table = table.set_column(table.column_names.index("ret"), "ret", returned)
    accounts = derive_accounts(table, as_of=AS_OF, window_days=WINDOW, columns=FULL)
    by_id = {a["id"]: a["transactions"] for a in accounts}
    assert (by_id["A1"]["returns_count"], by_id["A1"]["returns_amount"]) == (1, 25.0)
    assert (by_id["A5"]["returns_count"], by_id["A5"]["returns_amount"]) == (2, 50.0)


def test_every_derived_dict_is_an_account() -> None:
    for account in derive_accounts(_table(), as_of=AS_OF, window_days=WINDOW, columns=FULL):
        model = Account.model_validate(account)
        assert model.id == account["id"]
        assert model.transactions.revenue == account["transactions"]["revenue"]


def test_input_kinds_give_identical_results(tmp_path: Path) -> None:
    pd: Any = pytest.importorskip("pandas")
    reference = derive_features(_table(), as_of=AS_OF, window_days=WINDOW, columns=FULL)

    csv_path = tmp_path / "orders.csv"
    csv_path.write_text(_csv_text(), encoding="utf-8")
    parquet_path = tmp_path / "orders.parquet"
    pq.write_table(_table(), parquet_path)
    jsonl_path = tmp_path / "orders.jsonl"
    jsonl_path.write_text(_jsonl_text(), encoding="utf-8")
    odd_suffix = tmp_path / "orders.export"
    odd_suffix.write_text(_csv_text(), encoding="utf-8")

    text_frame = pd.DataFrame([dict(zip(HEADER, row, strict=True)) for row in ORDERS])
    frame = text_frame.copy()
    for name in ("day", "due", "paid"):
        frame[name] = pd.to_datetime(frame[name])

    inputs: list[tuple[str, Any, Any]] = [
        ("csv", csv_path, None),
        ("csv as str", str(csv_path), None),
        ("parquet", parquet_path, None),
        ("jsonl", jsonl_path, None),
        ("format override", odd_suffix, "csv"),
        ("dataframe", frame, None),
        ("dataframe, text dates", text_frame, None),
    ]
    for label, orders, fmt in inputs:
        got = derive_features(orders, as_of=AS_OF, window_days=WINDOW, columns=FULL, format=fmt)
        assert got.equals(reference), label


def test_whitespace_text_matches_csv(tmp_path: Path) -> None:
    text = tmp_path / "orders.txt"
    lines = ["acct  day   value"] + [f"  {r[0]} {r[1]}\t{r[2]}  " for r in ORDERS]
    text.write_text("\r\n".join(lines) + "\r\n\r\n", encoding="utf-8")
    csv_path = tmp_path / "orders.csv"
    csv_path.write_text("acct,day,value\n" + "".join(f"{r[0]},{r[1]},{r[2]}\n" for r in ORDERS))
    a = derive_features(text, as_of=AS_OF, window_days=WINDOW, columns=BASIC)
    b = derive_features(csv_path, as_of=AS_OF, window_days=WINDOW, columns=BASIC)
    assert a.equals(b)
    assert derive_accounts(text, as_of=AS_OF, window_days=WINDOW, columns=BASIC) == _expected(
        ["A1", "A2", "A3", "A5", "A6"], full=False
    )


# ---------------------------------------------------------------------------------------------
# bad input


def test_missing_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("acct,day\nA1,2024-01-01\n")
    with pytest.raises(AccountValidationError) as info:
        derive_features(path, as_of=AS_OF, columns=BASIC)
    assert info.value.problems[0] == ("value", "missing column (ColumnMap.amount)")
    assert "value" in str(info.value)
    with pytest.raises(AccountValidationError, match="cost"):
        derive_features(_table().drop_columns(["cost"]), as_of=AS_OF, columns=FULL)


def test_bad_date_names_column_and_row(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("acct,day,value\nA1,2024-01-01,1\nA2,2024-01-02,2\nA3,2024-13-01,3\nA4,x,4\n")
    with pytest.raises(AccountValidationError) as info:
        derive_features(path, as_of=AS_OF, columns=BASIC)
    err = info.value
    assert err.row == 3
    assert err.account_id == "A3"
    assert err.problems[0][0] == "day"
    assert "'2024-13-01'" in err.problems[0][1]
    assert str(err).startswith("row 3, account 'A3': day: cannot parse")


def test_bad_amount_and_missing_values_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    rows = "".join(f"A{i},2024-01-01,{i}\n" for i in range(1, 40))
    path.write_text("acct,day,value\n" + rows + "B,2024-01-01,12\nC,2024-01-01,1.2.3\n")
    with pytest.raises(AccountValidationError) as info:
        derive_features(path, as_of=AS_OF, columns=BASIC)
    assert (info.value.row, info.value.problems[0][0]) == (41, "value")
    assert "'1.2.3'" in info.value.problems[0][1]

    path.write_text("acct,day,value\nA1,2024-01-01,1\n,2024-01-01,2\n")
    with pytest.raises(AccountValidationError) as info:
        derive_features(path, as_of=AS_OF, columns=BASIC)
    assert (info.value.row, info.value.problems) == (2, (("acct", "missing value"),))

    with pytest.raises(AccountValidationError) as info:
        derive_features(
            _table(),
            as_of=AS_OF,
            columns=ColumnMap(account_id="acct", date="day", amount="value", cost="ret"),
        )
    assert info.value.problems[0][0] == "ret"


def test_bad_jsonl_value_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_text(
        '{"acct": "A1", "day": "2024-01-01", "value": 1}\n'
        '{"acct": "A2", "day": "2024-01-01", "value": "lots"}\n'
    )
    with pytest.raises(AccountValidationError) as info:
        derive_features(path, as_of=AS_OF, columns=BASIC)
    assert (info.value.row, info.value.problems[0][0]) == (2, "value")


def test_bad_whitespace_row(tmp_path: Path) -> None:
    path = tmp_path / "orders.txt"
    path.write_text("acct day value\nA1 2024-01-01 1\nA2 2024-01-01\n")
    with pytest.raises(AccountValidationError) as info:
        derive_features(path, as_of=AS_OF, columns=BASIC)
    assert info.value.row == 2



@pytest.mark.parametrize("suffix", [".csv", ".txt", ".parquet"])
def test_a_needed_column_named_twice_is_named(tmp_path: Path, suffix: str) -> None:
    """Found by a hostile-input review: a CSV, whitespace or Parquet log naming ``value`` twice ended in
    a bare KeyError from Arrow (``accountrules features`` exited 1 with a traceback). A column no one
    reads may be named twice."""
    path = tmp_path / f"orders{suffix}"
    if suffix == ".parquet":
        pq = pytest.importorskip("pyarrow.parquet")
        pq.write_table(pa.Table.from_arrays([pa.array(["A1"]), pa.array(["2024-01-01"]), pa.array([1.0]),
                                             pa.array([2.0])], names=["acct", "day", "value", "value"]), path)
    else:
        sep = "," if suffix == ".csv" else " "
        path.write_text(sep.join(["acct", "day", "value", "value"]) + "\n" + sep.join(["A1", "2024-01-01", "1", "2"])
                        + "\n")
    with pytest.raises(AccountValidationError, match="column 'value' appears twice"):
        derive_features(path, as_of=AS_OF, columns=BASIC)
    if suffix == ".csv":
        path.write_text("acct,day,value,note,note\nA1,2024-01-01,1,a,b\n")
        assert derive_features(path, as_of=AS_OF, columns=BASIC).num_rows == 1


def test_integer_dates_need_a_format() -> None:
    table = pa.table({"acct": ["A"], "day": [20240101], "value": [1.0]})
    with pytest.raises(AccountValidationError, match="date_format"):
        derive_features(table, as_of=AS_OF, columns=BASIC)
    ok = derive_features(
        table,
        as_of=AS_OF,
        columns=ColumnMap(account_id="acct", date="day", amount="value", date_format="%Y%m%d"),
    )
    assert ok["transactions.first_order_date"].to_pylist() == [date(2024, 1, 1)]


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="window_days"):
        derive_features(_table(), as_of=AS_OF, window_days=0, columns=BASIC)
    with pytest.raises(ValueError, match="format"):
        derive_features("orders.xlsx", as_of=AS_OF, columns=BASIC)
    with pytest.raises(ValueError):
        ColumnMap(account_id="")


def test_missing_pyarrow_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(EngineUnavailableError, match=r"accountrules\[arrow\]"):
        derive_features("orders.csv", as_of=AS_OF)


# ---------------------------------------------------------------------------------------------
# real CDNOW customers (the shipped sample is a verbatim copy of their lines)

REAL_LINES = {
    # customer_id date number_of_cds dollar_value
    "00355": ["00355 19970102  3   43.51", "00355 19970107  3   39.30"],
    "15695": [
        "15695 19970225  3   37.43",
        "15695 19970531  1    5.99",
        "15695 19970826  1   12.25",
        "15695 19970915  1   26.49",
        "15695 19970924  1   12.49",
        "15695 19971020  1   12.99",
        "15695 19971020  2    5.98",
        "15695 19971022  1   12.49",
        "15695 19980502  1   12.58",
    ],
    "22893": [
        "22893 19970323 15  219.07",
        "22893 19970911  2   26.48",
        "22893 19971001  3   42.47",
        "22893 19971016  2   25.98",
        "22893 19971109  4   56.46",
        "22893 19980226  2   27.48",
        "22893 19980305  2   30.48",
        "22893 19980329  2   26.37",
        "22893 19980419  3   36.94",
        "22893 19980615  6   70.94",
    ],
    "23129": ["23129 19970324  1   11.77", "23129 19970701  2   23.54"],
}


def _tx(accounts: list[dict[str, Any]], account_id: str) -> dict[str, Any]:
    found = [a for a in accounts if a["id"] == account_id]
    assert len(found) == 1
    return dict(found[0]["transactions"], units=found[0]["extra"]["units"])


def test_sample_holds_the_real_lines() -> None:
    lines = [line.split() for line in SAMPLE.read_text().splitlines()[1:]]
    for customer, expected in REAL_LINES.items():
        assert [ln for ln in lines if ln[0] == customer] == [e.split() for e in expected]
    # and they are the complete history of those customers in the real file
    real = [ln.split() for ln in CDNOW.read_text().splitlines()[1:]]
    for customer, expected in REAL_LINES.items():
        assert [ln for ln in real if ln and ln[0] == customer] == [e.split() for e in expected]


def test_real_cdnow_customers_window_365() -> None:
    # as_of 1998-07-01, window (1997-07-01, 1998-07-01]; no account has a first order on or
    # before 1996-07-01 (= as_of - 730 days), so revenue_previous and growth are None for all.
    accounts = derive_accounts(SAMPLE, as_of=date(1998, 7, 1), columns=CDNOW_COLUMNS)
    common = {
        "window_days": 365,
        "revenue_previous": None,
        "growth_rate": None,
        "annual_profit": None,
        "profit_margin": None,
        "returns_count": None,
        "returns_amount": None,
    }
    assert _tx(accounts, "22893") == common | {
        # window: 26.48 + 42.47 + 25.98 + 56.46 + 27.48 + 30.48 + 26.37 + 36.94 + 70.94 = 343.60
        "count": 9,
        "frequency": 0.739726,  # 9 * 30 / 365 = 0.7397260...
        "first_order_date": date(1997, 3, 23),
        "last_order_date": date(1998, 6, 15),
        "tenure_days": 465,  # 1997-03-23 -> 1998-03-23 = 365, + 9 (-> 04-01) + 30 + 31 + 30
        "recency_days": 16,  # 06-15 -> 07-01
        "avg_order_value": 38.177778,  # 343.60 / 9 = 38.17777...
        "max_order_value": 70.94,
        "revenue": 343.6,
        "annual_revenue": 343.6,
        "units": 26.0,  # 2 + 3 + 2 + 4 + 2 + 2 + 2 + 3 + 6 (the 15 CDs of 1997-03-23 are out)
    }
    assert _tx(accounts, "15695") == common | {
        # window: 12.25 + 26.49 + 12.49 + (12.99 + 5.98) + 12.49 + 12.58 = 95.27; the two rows of
        # 1997-10-20 are one purchase occasion (occasion="day", the default) of 18.97
        "count": 6,
        "frequency": 0.493151,  # 6 * 30 / 365 = 0.4931506...
        "first_order_date": date(1997, 2, 25),
        "last_order_date": date(1998, 5, 2),
        "tenure_days": 491,  # 1997-02-25 -> 1998-02-25 = 365, + 4 (-> 03-01) + 31 + 30 + 31 + 30
        "recency_days": 60,  # 05-02 -> 07-01 = 29 + 31
        "avg_order_value": 15.878333,  # 95.27 / 6
        "max_order_value": 26.49,
        "revenue": 95.27,
        "annual_revenue": 95.27,
        "units": 8.0,  # 1 + 1 + 1 + 1 + 2 + 1 + 1
    }
    assert _tx(accounts, "23129") == common | {
        # 1997-07-01 is the window's open start: not in the window
        "count": 0,
        "frequency": 0.0,
        "first_order_date": date(1997, 3, 24),
        "last_order_date": date(1997, 7, 1),
        "tenure_days": 464,  # 1997-03-24 -> 1998-03-24 = 365, + 8 (-> 04-01) + 30 + 31 + 30
        "recency_days": 365,
        "avg_order_value": None,
        "max_order_value": None,
        "revenue": 0.0,
        "annual_revenue": 0.0,
        "units": 0.0,
    }
    assert _tx(accounts, "00355") == common | {
        "count": 0,
        "frequency": 0.0,
        "first_order_date": date(1997, 1, 2),
        "last_order_date": date(1997, 1, 7),
        "tenure_days": 545,  # 1997-01-02 -> 1998-01-02 = 365, + 31 + 28 + 31 + 30 + 31 + 30 - 1
        "recency_days": 540,  # 545 - 5
        "avg_order_value": None,
        "max_order_value": None,
        "revenue": 0.0,
        "annual_revenue": 0.0,
        "units": 0.0,
    }


def test_real_cdnow_customers_window_180() -> None:
    # as_of 1998-07-01, window 180: (1998-01-02, 1998-07-01]; previous (1997-07-06, 1998-01-02].
    # Every CDNOW first order is in Q1 1997, on or before 1997-07-06: revenue_previous is known.
    accounts = derive_accounts(SAMPLE, as_of=date(1998, 7, 1), window_days=180, columns=CDNOW_COLUMNS)
    t = _tx(accounts, "22893")
    assert (t["count"], t["revenue"]) == (5, 192.21)  # 27.48 + 30.48 + 26.37 + 36.94 + 70.94
    assert t["revenue_previous"] == 151.39  # 26.48 + 42.47 + 25.98 + 56.46
    assert t["growth_rate"] == 0.269635  # 192.21 / 151.39 - 1 = 0.26963...
    assert t["annual_revenue"] == 343.6  # the last 365 days do not depend on the window
    assert t["frequency"] == 0.833333  # 5 * 30 / 180
    t = _tx(accounts, "15695")
    assert (t["count"], t["revenue"]) == (1, 12.58)
    assert t["revenue_previous"] == 82.69  # 12.25 + 26.49 + 12.49 + 12.99 + 5.98 + 12.49
    assert t["growth_rate"] == -0.847866  # 12.58 / 82.69 - 1 = -0.847865...7
    t = _tx(accounts, "23129")  # 1997-07-01 is before the previous window: bought nothing in it
    assert (t["revenue"], t["revenue_previous"], t["growth_rate"]) == (0.0, 0.0, None)


def test_occasion_order_counts_every_row() -> None:
    # the two rows of 15695 on 1997-10-20 (12.99 and 5.98) are two purchases with occasion="order"
    accounts = derive_accounts(SAMPLE, as_of=date(1998, 7, 1), columns=CDNOW_COLUMNS, occasion="order")
    t = _tx(accounts, "15695")
    assert (t["count"], t["frequency"], t["avg_order_value"], t["max_order_value"]) == (7, 0.575342, 13.61, 26.49)
    assert t["revenue"] == 95.27  # sums do not depend on the occasion


def test_occasion_day_largest_order_is_a_days_total() -> None:
    # two rows on one day, 30 + 40, outweigh a single 50 on another day
    pa = pytest.importorskip("pyarrow")
    orders = pa.table({"account_id": ["a", "a", "a"], "date": ["2024-01-02", "2024-01-02", "2024-01-05"],
                       "amount": [30.0, 40.0, 50.0]})
    day = derive_accounts(orders, as_of=date(2024, 1, 31), window_days=30)[0]["transactions"]
    row = derive_accounts(orders, as_of=date(2024, 1, 31), window_days=30, occasion="order")[0]["transactions"]
    assert (day["count"], day["max_order_value"], day["avg_order_value"]) == (2, 70.0, 60.0)
    assert (row["count"], row["max_order_value"], row["avg_order_value"]) == (3, 50.0, 40.0)


def test_occasion_is_checked() -> None:
    with pytest.raises(ValueError, match="occasion"):
        derive_features(_table(), as_of=AS_OF, columns=BASIC, occasion="week")  # type: ignore[arg-type]


def test_sample_accounts_file_is_current(tmp_path: Path) -> None:
    out = tmp_path / "accounts.csv"
    assert (
        _cli(
            [
                str(SAMPLE),
                "--as-of",
                "1998-07-01",
                "-o",
                str(out),
                "--window-days",
                "365",
                "--id-col",
                "customer_id",
                "--amount-col",
                "dollar_value",
                "--quantity-col",
                "number_of_cds",
                "--date-format",
                "%Y%m%d",
            ]
        )
        == 0
    )
    assert out.read_text() == SAMPLE_ACCOUNTS.read_text()
    with SAMPLE_ACCOUNTS.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 200
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


def test_full_cdnow_file() -> None:
    table = derive_features(CDNOW, as_of=date(1998, 7, 1), columns=CDNOW_COLUMNS)
    assert table.num_rows == 23570  # the README's customer count
    assert table.schema.metadata[b"accountrules.orders"] == b"69659"
    sample = derive_features(SAMPLE, as_of=date(1998, 7, 1), columns=CDNOW_COLUMNS)
    # the sample holds complete customer histories, so their rows equal the full file's
    full_rows = {r["id"]: r for r in table.to_pylist()}
    for row in sample.to_pylist():
        assert full_rows[row["id"]] == row


# ---------------------------------------------------------------------------------------------
# CLI


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="accountrules")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["features", *argv])
    result: int = args.func(args)
    return result


def test_cli_writes_csv_jsonl_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(_csv_text(), encoding="utf-8")
    base = [
        str(orders),
        "--as-of",
        AS_OF.isoformat(),
        "--window-days",
        str(WINDOW),
        "--id-col",
        "acct",
        "--date-col",
        "day",
        "--amount-col",
        "value",
        "--cost-col",
        "cost",
        "--quantity-col",
        "qty",
        "--returned-col",
        "ret",
        "--payment-due-col",
        "due",
        "--payment-paid-col",
        "paid",
    ]
    expected = _expected(["A1", "A2", "A3", "A5", "A6"])

    assert _cli([*base, "-o", str(tmp_path / "a.jsonl")]) == 0
    summary = capsys.readouterr().out
    assert summary.count("\n") == 1
    assert "5 accounts from 17 orders (2 after 2024-06-30 ignored)" in summary
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    assert [Account.model_validate_json(line).model_dump(include={"id"}) for line in lines] == [
        {"id": e["id"]} for e in expected
    ]
    assert json.loads(lines[0])["transactions"]["first_order_date"] == "2023-06-01"

    assert _cli([*base, "-o", str(tmp_path / "a.csv")]) == 0
    with (tmp_path / "a.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["transactions.revenue"] == "400.5"
    assert rows[1]["transactions.avg_order_value"] == ""  # A2: unknown, not 0
    assert rows[1]["credit.overdue_payments"] == "0"

    assert _cli([*base, "-o", str(tmp_path / "a.parquet")]) == 0
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.equals(derive_features(_table(), as_of=AS_OF, window_days=WINDOW, columns=FULL))


def test_cli_reports_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("account_id,date,amount\nA,2024-02-30,1\n")
    assert _cli([str(orders), "--as-of", "2024-06-30", "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "row 1" in err and "date" in err
    assert _cli([str(orders), "--as-of", "2024-06-30", "-o", str(tmp_path / "x.xlsx")]) == 2
    assert not (tmp_path / "x.csv").exists()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_gbk_order_log_is_told_to_be_resaved(tmp_path: Path, suffix: str) -> None:
    """Order logs are read as UTF-8 only (no encoding option: ``derive_features`` and ``features`` take none);
    a GBK log was told to "read it with encoding='gbk'", a knob neither has. It is told to re-save as UTF-8."""
    orders = tmp_path / f"orders{suffix}"
    text = "account_id,date,amount\n华东,2024-02-01,1\n" if suffix == ".csv" else \
        '{"account_id": "华东", "date": "2024-02-01", "amount": 1}\n'
    orders.write_bytes(text.encode("gbk"))
    with pytest.raises(AccountValidationError) as e:
        derive_features(orders, as_of=AS_OF)
    assert "file is not UTF-8; it looks like GBK: re-save it as UTF-8" in str(e.value)
    assert "encoding=" not in str(e.value)
