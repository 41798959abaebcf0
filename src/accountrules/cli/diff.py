"""``accountrules diff OLD NEW ACCOUNTS``: what a policy change would change, for whom, before it ships.

``--format json`` prints the whole report as one JSON object on stdout; ``-o FILE`` (or
``-o -`` for stdout, the summary then on stderr) writes every change as CSV.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from accountrules.cli.args import (
    RAW_CSV_HELP,
    add_columns,
    add_engine,
    column_mapping,
    gettext_of,
    is_stdout,
    iso_date,
    output_help,
)
from accountrules.cli.messages import check_input_file
from accountrules.cli.output import print_json
from accountrules.cli.progress import Progress, progress_on
from accountrules.i18n import Gettext
from accountrules.io.formats import OUTPUT
from accountrules.io.writers import SPREADSHEET, CsvTableWriter, check_output, write_text_file
from accountrules.policy import load_policy
from accountrules.testing.impact import compare_results, decide_both

CHANGE_COLUMNS = ["account_id", "what", "old", "new", "old_rule", "new_rule"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _ = gettext_of(subparsers)
    p = subparsers.add_parser(
        "diff",
        help=_("decide a portfolio with two policy versions and list what changes for whom"),
        description=_("Decide the same accounts with OLD and NEW and report every account whose tier, segments, "
                      "stage, churn or actions differ, with counts per move."),
    )
    p.add_argument("old", metavar="OLD", help=_("the policy as it is now"))
    p.add_argument("new", metavar="NEW", help=_("the changed policy"))
    p.add_argument("accounts", metavar="ACCOUNTS", help=_("accounts file (CSV, JSONL or Parquet)"))
    p.add_argument("--as-of", type=iso_date(_), default=None, metavar="DATE",
                   help=_("decision date, YYYY-MM-DD (default: the day a features Parquet file records, else today)"))
    p.add_argument("-o", "--output", default=None, metavar="CSV",
                   help=output_help(_, _("write every change to this CSV file")))
    add_engine(p, _)
    p.add_argument("--fail-on-change", action="store_true", help=_("exit 1 when any account changes"))
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help=_("text (default) or one JSON object on stdout (moves, changes, errors)"))
    p.add_argument("--raw-csv", action="store_true", help=_(RAW_CSV_HELP))
    p.add_argument("--report", type=Path, default=None, metavar="HTML",
                   help=_("also write an HTML diff report (tier and stage migration, actions per owner, who moves) "
                          "in the --lang language"))
    add_columns(p, _)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """0 done (or no change), 1 some account changes with ``--fail-on-change``, 2 could not run."""
    _: Gettext = getattr(args, "gettext", str)
    to_stdout = args.output is not None and is_stdout(args.output)
    if to_stdout and args.format == "json":
        print("accountrules diff: " + _("error: --format json and -o - both write to standard output"),
              file=sys.stderr)
        return 2
    if args.output is not None and not to_stdout and OUTPUT.of(args.output) not in (None, "csv"):
        # the changes are written as CSV: under a .parquet or .jsonl name they would be a file no reader opens
        print("accountrules diff: " + _("error: -o {path}: the changes are written as CSV; name a .csv file").format(
            path=args.output), file=sys.stderr)
        return 2
    # with data on stdout (-o -), the summary goes to stderr; with --format json only the JSON is on stdout
    say: TextIO | None = None if args.quiet or args.format == "json" else sys.stderr if to_stdout else sys.stdout
    # an error below reaches the command line's handler, which prints it as 'accountrules diff: error: ...'
    columns = column_mapping(args)
    check_input_file(args.accounts, _)
    inputs = [args.old, args.new, args.accounts]
    if args.output is not None:  # refused before two portfolios are decided, not after
        check_output(args.output, inputs=inputs)
    if args.report is not None:
        check_output(args.report, inputs=inputs)
    old, new = load_policy(args.old, engine=args.engine), load_policy(args.new, engine=args.engine)
    with Progress(progress_on(args), _) as bar:
        # the page explains the accounts that move: the batches keep what their traces need
        before, after = decide_both(old, new, str(args.accounts), as_of=args.as_of, engine=args.engine,
                                    columns=columns, trace=args.report is not None, progress=bar.labelled)
    report = compare_results(before, after)
    if args.format == "json":
        print_json(report.to_dict())
    elif say is not None:
        for line in report.summary_lines(_):
            print(line, file=say)
    if args.output is not None:
        with CsvTableWriter(args.output, CHANGE_COLUMNS, SPREADSHEET,
                            formulas=bool(getattr(args, "raw_csv", False))) as w:
            # data, like decide's errors file: a refusal's reason stays English whatever --lang
            w.write_rows([c.account_id, c.what, c.old, c.new, c.old_rule, c.new_rule] for c in report.changes)
        if say is not None:
            print("  " + _("changes: {path}").format(path=_("standard output") if to_stdout else args.output),
                  file=say)
    if args.report is not None:
        from accountrules.report.diff import render_diff  # only this option needs the report package

        write_text_file(args.report, render_diff(before, after, lang=args.lang)[0])  # the batches above
    return 1 if args.fail_on_change and report.changes else 0
