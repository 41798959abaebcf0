"""The cost of progress reporting in ``derive_features``, public calls end to end, side by side in one process.

    python benchmarks/features_progress.py [--orders 1000000] [--reps 5]

CPU seconds (``time.process_time``), median of ``--reps`` alternating runs, of
``accountrules.features.derive_features(path)`` without and with ``progress=`` (a callable that
records its calls, as the CLI's bar is one) on a seeded order-log CSV and the same log as Parquet.
Printed as seconds and the ratio with / without.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from accountrules.features import ColumnMap, derive_features

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tabular_io import order_log  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    cols = ColumnMap(cost="cost")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "orders.csv"
        order_log(csv_path, args.orders)
        pq_path = Path(tmp) / "orders.parquet"
        pq.write_table(pacsv.read_csv(csv_path), pq_path)
        calls: list[Any] = []

        def record(phase: str, done: int, total: int | None) -> None:
            calls.append((phase, done, total))

        for path in (csv_path, pq_path):
            times: dict[str, list[float]] = {"without": [], "with": []}
            for _ in range(args.reps):
                for name, kw in (("without", {}), ("with", {"progress": record})):
                    t0 = time.process_time()
                    derive_features(path, as_of=AS_OF, columns=cols, **kw)  # type: ignore[arg-type]
                    times[name].append(time.process_time() - t0)
            a, b = statistics.median(times["without"]), statistics.median(times["with"])
            print(f"derive_features {args.orders:,} orders {path.suffix[1:]:<8} without progress {a:6.2f} s, "
                  f"with {b:6.2f} s: ratio {b / a:.3f} (CPU s, median of {args.reps})")


if __name__ == "__main__":
    main()
