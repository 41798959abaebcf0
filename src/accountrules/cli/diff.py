"""``accountrules diff OLD NEW ACCOUNTS``: what a policy change would change, for whom, before it ships."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from accountrules.cli.decide import ENGINE_HELP, RAW_CSV_HELP, engine_choice
from accountrules.errors import AccountRulesError
from accountrules.evaluate.registry import ENGINES
from accountrules.io.writers import SPREADSHEET, CsvTableWriter, check_output
from accountrules.policy import load_policy
from accountrules.testing.impact import impact

CHANGE_COLUMNS = ["account_id", "what", "old", "new", "old_rule", "new_rule"]


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
    p.add_argument("--raw-csv", action="store_true", help=RAW_CSV_HELP)
    p.add_argument("--report", type=Path, default=None, metavar="HTML", help="also write an HTML diff report "
                   "(tier and stage migration, actions per owner, who moves); --lang zh|en (default en)")
    p.add_argument("--lang", choices=("zh", "en"), default="en", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """0 done (or no change), 1 some account changes with ``--fail-on-change``, 2 could not run."""
    try:
        if args.output is not None:  # refused before two portfolios are decided, not after
            check_output(args.output, inputs=[args.old, args.new, args.accounts])
        if args.report is not None:
            check_output(args.report, inputs=[args.old, args.new, args.accounts])
        old, new = load_policy(args.old, engine=args.engine), load_policy(args.new, engine=args.engine)
        report = impact(old, new, str(args.accounts), as_of=args.as_of, engine=args.engine)
        for line in report.summary_lines():
            print(line)
        if args.output is not None:
            with CsvTableWriter(args.output, CHANGE_COLUMNS, SPREADSHEET,
                                formulas=bool(getattr(args, "raw_csv", False))) as w:
                w.write_rows([c.account_id, c.what, c.old, c.new, c.old_rule, c.new_rule] for c in report.changes)
            print(f"  changes: {args.output}")
        if args.report is not None:
            from accountrules.report.diff import write_diff_report  # only this option needs the report package

            write_diff_report(old, new, args.accounts, args.report, as_of=args.as_of, lang=args.lang,
                              engine=args.engine)
    except (AccountRulesError, OSError) as e:
        print(f"accountrules diff: error: {e}", file=sys.stderr)
        return 2
    return 1 if args.fail_on_change and report.changes else 0
