"""A seeded synthetic key-account portfolio, as numpy columns keyed by field path.

Revenue and profit are lognormal-ish (a few large accounts hold most of the revenue, as in
real portfolios; some accounts lose money), the other fields follow plausible distributions,
and every field carries a few percent of unknowns. All fields the express policy reads are
filled; the others are left out (unknown).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from numpy.typing import NDArray

STAGES = ["nurture", "initial", "stable", "strategic", "interrupted"]
LEVELS = ["outsider", "supplier", "friend", "partner"]
TIERS = ["platinum", "gold", "iron", "lead"]
REASONS = ["downsizing", "business_change", "moving_upstream", "relocation", "other"]


def make_columns(n: int, seed: int = 20260630, as_of: dt.date = dt.date(2026, 6, 30),
                 unknown: float = 0.03) -> dict[str, Any]:
    """``{path: numpy array}``; unknowns are NaN (numbers), or ``(values, known)`` masks via
    :func:`masks` for bool/string/date columns. Use :func:`to_batch` / :func:`account_dicts`."""
    rng = np.random.default_rng(seed)
    annual_revenue = np.round(rng.lognormal(13.0, 1.3, n), 2)
    margin = rng.normal(0.08, 0.10, n)
    annual_profit = np.round(annual_revenue * margin, 2)
    marketing_cost = np.round(annual_revenue * rng.uniform(0.005, 0.06, n), 2)
    revenue_previous = np.round(annual_revenue / 4 * rng.lognormal(0.0, 0.25, n), 2)
    revenue = np.round(revenue_previous * rng.lognormal(0.0, 0.35, n), 2)
    count = rng.poisson(rng.lognormal(2.5, 1.0, n)).astype(np.float64)
    window_days = 90.0
    recency = np.minimum(rng.exponential(25.0, n), 600).astype(np.int64).astype(np.float64)
    recency[count == 0] = np.maximum(recency[count == 0], 91)
    cols: dict[str, Any] = {
        "transactions.annual_revenue": annual_revenue,
        "transactions.annual_profit": annual_profit,
        "transactions.marketing_cost": marketing_cost,
        "transactions.revenue": revenue,
        "transactions.revenue_previous": revenue_previous,
        "transactions.count": count,
        "transactions.frequency": np.round(count / (window_days / 30), 3),
        "transactions.recency_days": recency,
        "transactions.growth_rate": np.round(rng.normal(0.05, 0.25, n), 4),
        "credit.overdue_payments": rng.poisson(0.6, n).astype(np.float64),
        "credit.arrears_ratio": np.round(rng.beta(1.0, 12.0, n), 4),
        "loyalty.satisfaction": np.round(rng.beta(8.0, 2.0, n), 3),
        "loyalty.complaint_count": rng.poisson(0.8, n).astype(np.float64),
        "relationship.share_of_wallet": np.round(rng.beta(2.0, 2.0, n), 3),
        "signals.potential_value": np.round(annual_revenue * rng.lognormal(0.3, 0.8, n), 2),
    }
    cols["loyalty.open_complaints"] = rng.binomial(cols["loyalty.complaint_count"].astype(np.int64), 0.3).astype(
        np.float64)
    for k, v in list(cols.items()):
        cols[k] = np.where(rng.random(n) < unknown, np.nan, v)
    cols["transactions.marketing_cost"] = np.where(rng.random(n) < 0.01, 0.0, cols["transactions.marketing_cost"])

    def bools(p: float) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        return rng.random(n) < p, rng.random(n) >= unknown

    def cats(values: list[str], p: list[float]) -> tuple[NDArray[np.int64], list[str]]:
        codes = rng.choice(len(values), size=n, p=p).astype(np.int64)
        codes[rng.random(n) < unknown] = -1
        return codes, values

    cols["signals.fraud"] = bools(0.004)
    cols["signals.bad_credit"] = bools(0.01)
    cols["signals.financial_distress"] = bools(0.01)
    cols["signals.moved_to_competitor"] = bools(0.02)
    cols["signals.competitor_offer"] = bools(0.06)
    cols["relationship.strategic_agreement"] = bools(0.15)
    cols["relationship.contract_active"] = bools(0.7)
    cols["relationship.dedicated_manager"] = bools(0.3)
    cols["contacts.decider_supports"] = (rng.random(n) < 0.4, np.ones(n, dtype=np.bool_))
    reason_codes = rng.choice(len(REASONS), size=n).astype(np.int64)
    reason_codes[rng.random(n) >= 0.05] = -1  # most accounts have no customer-side reason on record
    cols["signals.customer_reason"] = (reason_codes, REASONS)
    cols["relationship.previous_tier"] = cats(TIERS, [0.1, 0.3, 0.45, 0.15])
    cols["relationship.level"] = cats(LEVELS, [0.3, 0.35, 0.2, 0.15])
    cols["relationship.stage"] = cats(STAGES, [0.15, 0.3, 0.3, 0.1, 0.15])
    visit = as_of.toordinal() - rng.integers(0, 400, n)
    cols["relationship.last_executive_visit"] = (visit.astype(np.int64), rng.random(n) >= 0.2)
    cols["id"] = (np.arange(n, dtype=np.int64), None)
    return cols


def flat_rows(cols: dict[str, Any], rows: range | list[int]) -> list[dict[str, Any]]:
    """Flat ``{path: value}`` dicts (None = unknown) for the given rows."""
    out: list[dict[str, Any]] = []
    for i in rows:
        row: dict[str, Any] = {}
        for k, v in cols.items():
            if k == "id":
                row[k] = f"A{i}"
            elif isinstance(v, tuple) and isinstance(v[1], list):
                c = int(v[0][i])
                row[k] = v[1][c] if c >= 0 else None
            elif isinstance(v, tuple) and k == "relationship.last_executive_visit":
                row[k] = dt.date.fromordinal(int(v[0][i])) if v[1][i] else None
            elif isinstance(v, tuple):
                row[k] = bool(v[0][i]) if v[1] is None or v[1][i] else None
            else:
                x = float(v[i])
                row[k] = None if np.isnan(x) else (int(x) if k in _INTS else x)
        out.append(row)
    return out


_INTS = {"transactions.count", "transactions.recency_days", "credit.overdue_payments", "loyalty.complaint_count",
         "loyalty.open_complaints"}


def account_dicts(cols: dict[str, Any], rows: range | list[int]) -> list[dict[str, Any]]:
    """Nested account dicts (what ``Policy.decide`` takes) for the given rows."""
    out: list[dict[str, Any]] = []
    for flat in flat_rows(cols, rows):
        acc: dict[str, Any] = {"id": flat.pop("id")}
        decider = flat.pop("contacts.decider_supports", None)
        for k, v in flat.items():
            if v is None:
                continue
            group, name = k.split(".", 1)
            acc.setdefault(group, {})[name] = v
        if decider is not None:
            acc["contacts"] = [{"name": "D", "role": "decider", "supporter": bool(decider)}]
        out.append(acc)
    return out


# The flat-file schema has no contact list: the decider flag is left to the row-wise inputs.
_NOT_FLAT = {"contacts.decider_supports"}


def to_table(cols: dict[str, Any]) -> Any:
    """The portfolio as a typed ``pyarrow.Table`` with field-path column names (unknown = null).

    This is what a user hands to ``decide_many``; the CSV and the DataFrame are made from it.
    """
    import pyarrow as pa

    arrays: dict[str, Any] = {}
    for k, v in cols.items():
        if k in _NOT_FLAT:
            continue
        if k == "id":
            arrays[k] = pa.array([f"A{i}" for i in v[0]], pa.string())
        elif isinstance(v, tuple) and isinstance(v[1], list):
            codes = v[0]
            arrays[k] = pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0),
                                                       pa.array(v[1], pa.string())).cast(pa.string())
        elif isinstance(v, tuple) and k == "relationship.last_executive_visit":
            days = v[0] - dt.date(1970, 1, 1).toordinal()
            arrays[k] = pa.array(days.astype(np.int32), pa.int32(), mask=~v[1]).cast(pa.date32())
        elif isinstance(v, tuple):
            arrays[k] = pa.array(v[0], pa.bool_(), mask=None if v[1] is None else ~v[1])
        else:
            nan = np.isnan(v)
            if k in _INTS:
                arrays[k] = pa.array(np.where(nan, 0, v).astype(np.int64), pa.int64(), mask=nan)
            else:
                arrays[k] = pa.array(v, pa.float64(), mask=nan)
    return pa.table(arrays)


def write_csv(table: Any, path: Any) -> None:
    """The table as a CSV file with field-path headers, blank cells for unknowns (pyarrow quotes every
    text cell and header)."""
    import pyarrow.csv as pacsv

    pacsv.write_csv(table, str(path), pacsv.WriteOptions(quoting_style="needed"))


def write_plain_csv(table: Any, path: Any) -> None:
    """The table as Excel, pandas (``to_csv``) or a CRM export writes it: quotes only around a cell that
    needs them (none in these generated columns), so a file of plain lines."""
    import csv

    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        pacsv.write_csv(table, str(path), pacsv.WriteOptions(quoting_style="none"))
    except pa.ArrowInvalid:  # a cell holds a comma, quote or line break: the csv module quotes just that one
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(table.column_names)
            w.writerows(zip(*(["" if v is None else v for v in c.to_pylist()] for c in table.columns), strict=True))


def write_accounts(kind: str, rows: int, folder: Any, as_of: dt.date = dt.date(2026, 6, 30)) -> Any:
    """``rows`` generated accounts (seed 7) as a file in ``folder``: a Parquet file (``kind`` "table"), or
    a CSV file with every text cell quoted ("csv") or quoted only where needed ("csv-plain"). Returns its
    path; what ``ab.py`` and ``instructions.py`` hand their children to read."""
    from pathlib import Path

    table = to_table(make_columns(rows, 7, as_of))
    if kind == "table":
        import pyarrow.parquet as pq

        path = Path(folder) / "accounts.parquet"
        pq.write_table(table, path)
    else:
        path = Path(folder) / "accounts.csv"
        (write_csv if kind == "csv" else write_plain_csv)(table, path)
    return path


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """A flat ``{path: value}`` row as the nested account dict ``Policy.decide`` takes (None dropped)."""
    acc: dict[str, Any] = {}
    for k, v in flat.items():
        if v is None:
            continue
        if "." in k:
            group, name = k.split(".", 1)
            acc.setdefault(group, {})[name] = v
        else:
            acc[k] = v
    return acc
