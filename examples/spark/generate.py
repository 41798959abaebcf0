"""Generate large portfolios and order logs for the Spark example, tests and benchmark.

    python examples/spark/generate.py accounts 100000 out/accounts.parquet
    python examples/spark/generate.py orders 1000000 out/orders.parquet

Deterministic (seeded). A portfolio is the 300 example accounts (examples/portfolio/accounts.csv)
repeated under new ids, with money scaled by one of a few factors (so ranked values tie often),
about 5% of cells blanked (unknown), and a few bad rows on purpose: an unknown stage, a share of
wallet above 1, a repeated id. Cells are text, as a CSV gives them. An order log has ``account_id``,
``date``, ``amount``, ``cost`` and ``quantity``, with amounts in cents so same-day sums tie too.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "portfolio" / "accounts.csv"
MONEY = ("transactions.annual_profit", "transactions.annual_revenue", "transactions.revenue",
         "transactions.revenue_previous", "transactions.marketing_cost", "transactions.service_cost")


def example_table() -> Any:
    """The example portfolio, every cell as text (blank = null), as the CSV reader gives it."""
    names = pacsv.read_csv(EXAMPLE).column_names
    names = [n.lstrip("\ufeff") for n in names]
    opts = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True)
    return pacsv.read_csv(EXAMPLE, read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
                          convert_options=opts)


def portfolio(n: int, seed: int = 15) -> Any:
    """``n`` flat accounts with ties, unknowns and a few bad rows (see the module docstring)."""
    rng = np.random.default_rng(seed)
    base = example_table()
    pick = pa.array(rng.integers(0, base.num_rows, n))
    t = base.take(pick)
    cols: dict[str, Any] = {}
    for name in t.column_names:
        col = t.column(name).combine_chunks()
        if name == "id":
            col = pa.array(np.char.add("G", np.char.zfill(np.arange(n).astype(str), 7)))
            dup = rng.random(n) < 0.002
            dup[0] = False
            earlier = (rng.random(n) * np.arange(n)).astype(np.int64)
            col = pc.if_else(pa.array(dup), col.take(pa.array(earlier)), col)
        elif name in MONEY:
            factor = pa.array(rng.choice([0.5, 1.0, 1.0, 2.0], n))
            col = pc.cast(pc.multiply(pc.cast(col, pa.float64()), factor), pa.string())
        if name != "id":
            blank = pa.array(rng.random(n) < 0.05)
            col = pc.if_else(blank, pa.scalar(None, pa.string()), col)
        cols[name] = col
    bad = rng.random(n)
    cols["relationship.stage"] = pc.if_else(pa.array(bad < 0.001), "stabel", cols["relationship.stage"])
    cols["relationship.share_of_wallet"] = pc.if_else(pa.array((bad >= 0.001) & (bad < 0.002)), "1.7",
                                                      cols["relationship.share_of_wallet"])
    return pa.table(cols)


def order_log(rows: int, accounts: int, seed: int = 15, start: dt.date = dt.date(2024, 1, 1),
              days: int = 900) -> Any:
    """``rows`` orders of ``accounts`` accounts over ``days`` days from ``start``: id, date, amount,
    cost (blank for 1%), quantity."""
    rng = np.random.default_rng(seed)
    ids = rng.zipf(1.3, rows) % accounts
    day = np.datetime64(start) + rng.integers(0, days, rows).astype("timedelta64[D]")
    cents = np.round(rng.lognormal(4.0, 1.0, rows) * 100)
    amount = cents / 100
    cost = np.round(amount * rng.choice([0.6, 0.7, 0.8], rows) * 100) / 100
    return pa.table({
        "account_id": pa.array(np.char.add("C", ids.astype(str))),
        "date": pa.array(day, pa.date32()),
        "amount": pa.array(amount),
        "cost": pa.array(cost, mask=rng.random(rows) < 0.01),
        "quantity": pa.array(rng.integers(1, 10, rows).astype(np.float64)),
    })


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("accounts", "orders"):
        print(__doc__, file=sys.stderr)
        return 2
    kind, n, out = argv[0], int(argv[1]), Path(argv[2])
    out.parent.mkdir(parents=True, exist_ok=True)
    table = portfolio(n) if kind == "accounts" else order_log(n, max(1, n // 20))
    if out.suffix == ".csv":
        pacsv.write_csv(table, out)
    else:
        pq.write_table(table, out)
    print(f"{table.num_rows} rows -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
