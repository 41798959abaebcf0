"""``accountrules diff OLD NEW ACCOUNTS``: what a policy change would change, for whom, before it ships."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from pathlib import Path

from accountrules.cli_decide import ENGINE_HELP, engine_choice
from accountrules.evaluate.registry import ENGINES
from accountrules.policy import load_policy
from accountrules.testing.impact import impact


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "diff",
        help="decide a portfolio with two policy versions and list what changes for whom",
        description="Decide the same accounts with OLD and NEW and report every account whose tier, segments, "
                    "stage, churn or actions differ, with counts per move.",
    )
    p.add_argument("old", metavar="OLD", help="the policy as it is now")
    p.add_argument("new", metavar="NEW", help="the changed policy")
    p.add_argument("accounts", metavar="ACCOUNTS", help="accounts file (CSV, JSONL or Parquet)")
    p.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help="decision date (default today)")
    p.add_argument("-o", "--output", type=Path, default=None, help="write every change to this CSV file")
    p.add_argument("--engine", type=engine_choice, default="auto", metavar="{" + ",".join(ENGINES) + "}",
                   help=ENGINE_HELP)
    p.add_argument("--fail-on-change", action="store_true", help="exit 1 when any account changes")
    p.add_argument("--report", type=Path, default=None, metavar="HTML", help="also write an HTML diff report "
                   "(tier and stage migration, actions per owner, who moves); --lang zh|en (default en)")
    p.add_argument("--lang", choices=("zh", "en"), default="en", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    old, new = load_policy(args.old, engine=args.engine), load_policy(args.new, engine=args.engine)
    report = impact(old, new, str(args.accounts), as_of=args.as_of, engine=args.engine)
    for line in report.summary_lines():
        print(line)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        with args.output.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f)
            w.writerow(["account_id", "what", "old", "new", "old_rule", "new_rule"])
            for c in report.changes:
                w.writerow([c.account_id, c.what, c.old or "", c.new or "", c.old_rule or "", c.new_rule or ""])
        print(f"  changes: {args.output}")
    if args.report is not None:
        from accountrules.report.diff import write_diff_report  # only this option needs the report package

        write_diff_report(old, new, args.accounts, args.report, as_of=args.as_of, lang=args.lang, engine=args.engine)
    return 1 if args.fail_on_change and report.changes else 0
