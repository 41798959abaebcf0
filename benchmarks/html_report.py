"""Time the HTML portfolio report end to end, as reported in docs/report.md.

    python benchmarks/html_report.py [--accounts 100000]

Writes a seeded portfolio (examples/portfolio/make_accounts.py) to a temporary CSV and times
public calls on one process: ``report_from_accounts`` (decide the file with the express policy,
read the input fields back, compute every figure, draw the page), ``decide_many`` alone (what the
report adds is the difference), and ``report_from_decisions`` on the decisions file ``decide``
writes (after an untimed warm-up on the 300-account example). Prints wall seconds, CPU seconds of
this process (``time.process_time``: what one core spends; pin it with ``taskset -c 0`` to be sure
it has only one) and the size of each HTML file. Run it alone: other processes on the machine skew
the wall seconds.
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
        w0, c0 = time.perf_counter(), time.process_time()
        result = policy.decide_many(str(csv_path), as_of=AS_OF)
        decide = time.perf_counter() - w0, time.process_time() - c0
        decisions = Path(tmp) / "decisions.csv"
        write_csv(result, decisions)
        del result
        w0, c0 = time.perf_counter(), time.process_time()
        html = report_from_accounts(policy, csv_path, as_of=AS_OF, lang="en")
        report = time.perf_counter() - w0, time.process_time() - c0
        w0, c0 = time.perf_counter(), time.process_time()
        from_file = report_from_decisions(policy, decisions, as_of=AS_OF, lang="zh")
        file = time.perf_counter() - w0, time.process_time() - c0
        print(f"{'call':<46}{'wall s':>8}{'CPU s':>8}{'HTML bytes':>12}")
        print(f"{'decide_many(csv) alone':<46}{decide[0]:>8.2f}{decide[1]:>8.2f}{'':>12}")
        print(f"{'report_from_accounts(csv), en':<46}{report[0]:>8.2f}{report[1]:>8.2f}{len(html.encode()):>12,}")
        print(f"{'report_from_decisions(decisions.csv), zh':<46}{file[0]:>8.2f}{file[1]:>8.2f}"
              f"{len(from_file.encode()):>12,}")


if __name__ == "__main__":
    main()
