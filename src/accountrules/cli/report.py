"""``accountrules report POLICY ACCOUNTS -o report.html``: the portfolio report, one self-contained HTML file.

Also from a decisions file written by ``decide``: ``accountrules report POLICY --decisions FILE -o ...``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from accountrules.cli.decide import ENGINE_HELP, engine_choice
from accountrules.evaluate.registry import ENGINES
from accountrules.policy import load_policy
from accountrules.report import report_from_accounts, report_from_decisions
from accountrules.report.i18n import LANGS

__all__ = ["add_parser", "run", "write_html"]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``report POLICY [ACCOUNTS] [--decisions FILE] -o OUTPUT``; sets ``func=run``."""
    p = subparsers.add_parser(
        "report",
        help="draw a portfolio as one self-contained HTML report (pyramid, segments, stages, churn, actions)",
        description="Decide ACCOUNTS with POLICY (or read a decisions file written by decide) and write one "
                    "HTML file that opens offline: charts with a table of their figures beside each, in zh or en.",
    )
    p.add_argument("policy", metavar="POLICY", help="policy directory or YAML file")
    p.add_argument("accounts", metavar="ACCOUNTS", nargs="?", default=None,
                   help="accounts file (CSV, JSONL or Parquet); with --decisions it only adds amounts")
    p.add_argument("--decisions", metavar="FILE", default=None,
                   help="a decisions file written by decide (CSV or Parquet) instead of deciding ACCOUNTS")
    p.add_argument("--errors", metavar="PATH", default=None,
                   help="the errors file of --decisions (default: beside it, as decide names it)")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUTPUT", help="the HTML file to write")
    p.add_argument("--lang", choices=LANGS, default="en", help="language of the report (default en)")
    p.add_argument("--as-of", type=_date, default=None, metavar="DATE",
                   help="decision date, YYYY-MM-DD (default today); with --decisions: the date it was decided on")
    p.add_argument("--today", type=_date, default=None, metavar="DATE",
                   help="report date: actions due before it are overdue (default: the decision date)")
    p.add_argument("--engine", type=engine_choice, default="auto", metavar="{" + ",".join(ENGINES) + "}",
                   help=ENGINE_HELP)
    p.set_defaults(func=run)


def write_html(path: Path, html: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")


def run(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy, engine=args.engine)
    as_of: dt.date = args.as_of or dt.date.today()
    if args.decisions is not None:
        html = report_from_decisions(policy, args.decisions, as_of=as_of, today=args.today, lang=args.lang,
                                     errors=args.errors, accounts=args.accounts)
    elif args.accounts is not None:
        html = report_from_accounts(policy, args.accounts, as_of=as_of, today=args.today, lang=args.lang,
                                    engine=args.engine)
    else:
        print("error: give ACCOUNTS or --decisions FILE", file=sys.stderr)
        return 2
    write_html(args.output, html)
    if not args.quiet:
        print(f"report: {args.output} ({args.output.stat().st_size:,} bytes)")
    return 0
