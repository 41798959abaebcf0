"""Where ``compiled`` and ``vector`` cross on small batches: what ``registry.SMALL_CHUNK`` rests on.

    python benchmarks/small_batches.py [--calls 200] [--sizes 8,16,32,48,64,96,128,256]

Times the public call ``policy.decide_many(table, engine=E, trace=False).to_arrow()`` for ``E`` in
``compiled``, ``vector`` and ``auto`` on pyarrow Tables of a few rows, for the shipped ``express`` and
``postal`` policies and the tier table of ``tiers.py``. Each figure is the p50 of the CPU time of one
call (``time.thread_time_ns`` around it) over ``--calls`` calls on distinct tables of that size; the
engines take turns call by call, each first in turn, so background load and whatever one call
leaves behind for the next hit them alike. Printed: a
Markdown table per policy and, for each, the smallest size at which ``vector`` is no slower than
``compiled`` (below it, per-account evaluation wins: the vector evaluator's set-up per chunk costs
more than the rows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import portfolio  # noqa: E402
import tiers  # noqa: E402

import accountrules  # noqa: E402

AS_OF = dt.date(2026, 6, 30)
ENGINES = ("compiled", "vector", "auto")


def _tables(policy: str, size: int, calls: int) -> list[Any]:
    """``calls`` distinct tables of ``size`` accounts for ``policy``."""
    import pyarrow as pa

    if policy == "tiers":
        cols = tiers.flat_inputs(size * calls, 11)
        whole = pa.table({"id": [f"T{i}" for i in range(size * calls)], **cols})
    else:
        whole = portfolio.to_table(portfolio.make_columns(size * calls, 11, AS_OF))
    return [whole.slice(i * size, size) for i in range(calls)]


def _p50_us(calls: dict[str, Callable[[Any], Any]], tables: list[Any]) -> dict[str, float]:
    for t in tables[:10]:  # warm-up, untimed, the same for every engine
        for call in calls.values():
            call(t)
    took: dict[str, list[int]] = {e: [] for e in calls}
    clock = time.thread_time_ns
    order = list(calls)
    for i, t in enumerate(tables):
        # each engine goes first, second and third in turn: none always runs right after another
        for engine in order[i % len(order):] + order[:i % len(order)]:
            call = calls[engine]
            a = clock()
            call(t)
            took[engine].append(clock() - a)
    return {e: statistics.median(v) / 1e3 for e, v in took.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--sizes", default="8,16,32,48,64,96,128,256")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = Path(tempfile.mkdtemp())
    policies = {
        "express": accountrules.load_policy(ROOT / "rulesets" / "express"),
        "postal": accountrules.load_policy(ROOT / "rulesets" / "postal"),
        "tiers": accountrules.load_policy(tiers.write_policy(tiers.params(ROOT / "rulesets" / "express"),
                                                             tmp / "tiers.json")),
    }
    from accountrules.evaluate.registry import SMALL_CHUNK

    machine = platform.processor() or platform.machine()
    print(f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {machine}, "
          f"Python {platform.python_version()}, accountrules {accountrules.__version__}; p50 CPU µs per call of "
          f"`decide_many(Table, engine=E, trace=False).to_arrow()` over {args.calls} calls; "
          f"`registry.SMALL_CHUNK` = {SMALL_CHUNK}.\n")
    for name, policy in policies.items():
        calls = {e: (lambda t, e=e, p=policy: p.decide_many(t, as_of=AS_OF, engine=e, trace=False).to_arrow())
                 for e in ENGINES}
        rows = []
        cross = None
        for size in sizes:
            got = _p50_us(calls, _tables(name, size, args.calls))
            if cross is None and got["vector"] <= got["compiled"]:
                cross = size
            rows.append(f"| {size} | {got['compiled']:,.0f} | {got['vector']:,.0f} | {got['auto']:,.0f} | "
                        f"{'vector' if got['vector'] <= got['compiled'] else 'compiled'} |")
        print(f"### `{name}`\n\n| rows | compiled µs | vector µs | auto µs | faster |\n|---:|---:|---:|---:|---|")
        print("\n".join(rows))
        where = f"at {cross} rows" if cross is not None else f"at none of the sizes up to {sizes[-1]}"
        print(f"\n`vector` is first no slower than `compiled` {where}.\n")


if __name__ == "__main__":
    main()
