"""Time ``Policy.lint()`` end to end: the shipped policies, and generated first-hit tables of
100 / 1,000 / 5,000 rows over 3 numeric inputs (issue 11: < 2 s per shipped policy, < 5 s at 1,000 rows).

    python benchmarks/lint.py            # prints one line per case; --rows 100 1000 to choose sizes

Each generated row is a box ``a in [x, x+w) and b in [y, y+w) and c >= z`` on a coarse grid, with
some rows repeated further down (shadowed) and no default, so every check has work to do: gap
search, shadowing, witnesses.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import accountrules

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("transactions.annual_revenue", "transactions.annual_profit", "transactions.service_cost")


def generated(rows: int, seed: int = 11) -> str:
    rnd = random.Random(seed)
    side = max(2, round(rows ** (1 / 3)))
    lines = ['policy: {name: generated, version: "1", label: generated}', "tiers:", "  hit: first",
             "  values: {a: A, b: B, c: C}", "  rows:"]
    for i in range(rows):
        x, y, z = rnd.randrange(side), rnd.randrange(side), rnd.randrange(side)
        cond = (f"{FIELDS[0]} >= {x * 10} and {FIELDS[0]} < {x * 10 + 10} and "
                f"{FIELDS[1]} >= {y * 10} and {FIELDS[1]} < {y * 10 + 10} and {FIELDS[2]} >= {z * 10}")
        lines.append(f"    - {{id: r{i}, when: {cond}, then: {'abc'[i % 3]}}}")
    return "\n".join(lines) + "\n"


def timed(policy: accountrules.Policy) -> tuple[float, int]:
    t0 = time.perf_counter()
    report = policy.lint()
    return time.perf_counter() - t0, len(report.findings)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, nargs="*", default=[100, 1000, 5000])
    args = ap.parse_args()
    for name in ("express", "postal"):
        secs, n = timed(accountrules.load_policy(ROOT / "rulesets" / name))
        print(f"shipped {name:8s}  lint {secs:6.2f} s  findings {n}")
    previous: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory() as d:
        for rows in args.rows:
            path = Path(d) / f"g{rows}.yaml"
            path.write_text(generated(rows), encoding="utf-8")
            secs, n = timed(accountrules.load_policy(path))
            growth = ""
            if previous is not None:
                growth = f"  x{secs / previous[1]:.1f} time for x{rows / previous[0]:.0f} rows"
            print(f"generated {rows:5d} rows  lint {secs:6.2f} s  findings {n}{growth}")
            previous = (rows, secs)


if __name__ == "__main__":
    main()
