"""Time the HTML portfolio report end to end, as reported in docs/report.md.

    python benchmarks/html_report.py [--accounts 100000]

Writes a seeded portfolio (examples/portfolio/make_accounts.py) to a temporary CSV and times
public calls on one process: ``report_from_accounts`` (decide the file with the express policy,
read the input fields back, compute every figure, draw the page), ``decide_many`` alone (what the
report adds is the difference), and ``report_from_decisions`` on the decisions file ``decide``
writes (after an untimed warm-up on the 300-account example). Prints seconds and the size of each
HTML file. Run it alone: other processes on the machine skew the seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import accountrules
from accountrules.batch.writers import write_csv
from accountrules.report import report_from_accounts, report_from_decisions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples" / "portfolio"))
import make_accounts  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--accounts", type=int, default=100_000)
    n = ap.parse_args().accounts
    policy = accountrules.load_policy(ROOT / "rulesets" / "express")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "accounts.csv"
        make_accounts.write(csv_path, make_accounts.portfolio(n, seed=1))
        print(f"{n:,} accounts, CSV {csv_path.stat().st_size / 1e6:.0f} MB, policy rulesets/express")
        # warm-up (compiles the vector program once), untimed
        report_from_accounts(policy, ROOT / "examples" / "portfolio" / "accounts.csv", as_of=AS_OF)
        t0 = time.perf_counter()
        result = policy.decide_many(str(csv_path), as_of=AS_OF)
        decide_s = time.perf_counter() - t0
        decisions = Path(tmp) / "decisions.csv"
        write_csv(result, decisions)
        del result
        t0 = time.perf_counter()
        html = report_from_accounts(policy, csv_path, as_of=AS_OF, lang="en")
        report_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        from_file = report_from_decisions(policy, decisions, as_of=AS_OF, lang="zh")
        file_s = time.perf_counter() - t0
        print(f"{'call':<48}{'seconds':>9}{'HTML bytes':>12}")
        print(f"{'decide_many(csv) alone':<48}{decide_s:>9.2f}{'':>12}")
        print(f"{'report_from_accounts(csv), en':<48}{report_s:>9.2f}{len(html.encode()):>12,}")
        print(f"{'report_from_decisions(decisions.csv), zh':<48}{file_s:>9.2f}{len(from_file.encode()):>12,}")


if __name__ == "__main__":
    main()
