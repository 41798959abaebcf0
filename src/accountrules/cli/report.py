"""``accountrules report POLICY ACCOUNTS -o report.html``: the portfolio report, one self-contained HTML file.

Also from a decisions file written by ``decide``: ``accountrules report POLICY --decisions FILE -o ...``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from accountrules.cli.args import add_columns, add_engine, column_mapping, gettext_of, is_stdout, iso_date
from accountrules.cli.messages import CommandError, check_input_file
from accountrules.cli.progress import Progress, progress_on
from accountrules.i18n import Gettext
from accountrules.io.readers import NotUtf8Error
from accountrules.io.writers import check_output, write_text_file
from accountrules.policy import load_policy
from accountrules.report import report_from_decisions, report_from_result
from accountrules.report.frames import decisions_errors_path

__all__ = ["add_parser", "run", "write_html"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``report POLICY [ACCOUNTS] [--decisions FILE] -o OUTPUT``; sets ``func=run``."""
    _ = gettext_of(subparsers)
    p = subparsers.add_parser(
        "report",
        help=_("draw a portfolio as one self-contained HTML report (pyramid, segments, stages, churn, actions)"),
        description=_("Decide ACCOUNTS with POLICY (or read a decisions file written by decide) and write one "
                      "HTML file that opens offline: charts with a table of their figures beside each, in zh or en."),
    )
    p.add_argument("policy", metavar="POLICY", help=_("policy directory or YAML file"))
    p.add_argument("accounts", metavar="ACCOUNTS", nargs="?", default=None,
                   help=_("accounts file (CSV, JSONL or Parquet); with --decisions it only adds amounts"))
    p.add_argument("--decisions", metavar="FILE", default=None,
                   help=_("a decisions file written by decide (CSV or Parquet) instead of deciding ACCOUNTS"))
    p.add_argument("--errors", metavar="PATH", default=None,
                   help=_("the errors file of --decisions (default: beside it, as decide names it)"))
    p.add_argument("-o", "--output", required=True, type=Path, metavar="OUTPUT",
                   help=_("the HTML file to write; - writes it to standard output"))
    p.add_argument("--as-of", type=iso_date(_), default=None, metavar="DATE",
                   help=_("decision date, YYYY-MM-DD (default: the day a features Parquet file records, else today); "
                          "with --decisions: the file's as_of column "
                          "gives it (a different --as-of is refused); a file without that column is dated "
                          "--as-of, else today"))
    p.add_argument("--today", type=iso_date(_), default=None, metavar="DATE",
                   help=_("report date: actions due before it are overdue (default: the decision date)"))
    add_engine(p, _)
    add_columns(p, _)
    # ACCOUNTS may follow the options too (report POLICY --decisions FILE ACCOUNTS): see app.Parser
    p.intermixed = True  # type: ignore[attr-defined]
    p.set_defaults(func=run)


def _not_utf8_decisions(e: NotUtf8Error, _: Gettext) -> str:
    """A decisions (or errors) file that is not UTF-8: decide writes UTF-8, so it was re-saved in another
    encoding (a spreadsheet's); --encoding is for ACCOUNTS, so the fix is to save it as UTF-8 again."""
    if e.guess:
        return _("{file}: file is not UTF-8; it looks like {guess}: re-save it as UTF-8 (a decisions file is "
                 "always read as UTF-8; --encoding applies to ACCOUNTS only)").format(file=e.source, guess=e.guess)
    return _("{file}: file is not UTF-8: re-save it as UTF-8 (a decisions file is always read as UTF-8; "
             "--encoding applies to ACCOUNTS only)").format(file=e.source)


def write_html(path: Path, html: str) -> None:
    write_text_file(path, html)


def run(args: argparse.Namespace) -> int:
    """0 written; an error reaches the command line's handler: one line, 'accountrules report: error: ...', exit 2."""
    _: Gettext = getattr(args, "gettext", str)
    columns = column_mapping(args)
    for given in (args.accounts, args.decisions, args.errors):  # a file given by name must be there
        if given is not None:
            check_input_file(given, _)
    # refused before the portfolio is decided: an input under -o would be replaced by the page
    inputs = [p for p in (args.accounts, args.decisions, args.errors, args.policy) if p is not None]
    if args.decisions is not None and args.errors is None:
        inputs.append(decisions_errors_path(Path(args.decisions)))
    check_output(args.output, inputs=inputs)
    policy = load_policy(args.policy, engine=args.engine)
    if args.decisions is not None:
        try:  # the date is the file's own (its as_of column): --as-of only checks it, or dates an older file
            html = report_from_decisions(policy, args.decisions, as_of=args.as_of, today=args.today, lang=args.lang,
                                         errors=args.errors, accounts=args.accounts, columns=columns)
        except NotUtf8Error as e:
            if args.accounts is not None and e.source == str(Path(args.accounts)):
                raise  # the accounts file: --encoding is the fix, as the common message says
            raise CommandError(_not_utf8_decisions(e, _)) from None
    elif args.accounts is not None:
        with Progress(progress_on(args), _) as bar:
            # no --as-of: the day a features file records, else today (decide_many's own default)
            result = policy.decide_many(str(args.accounts), as_of=args.as_of, engine=args.engine, columns=columns,
                                        progress=bar)
        html = report_from_result(result, args.accounts, lang=args.lang, today=args.today, columns=columns)
    else:
        raise CommandError(_("give ACCOUNTS or --decisions FILE"))
    if is_stdout(args.output):
        sys.stdout.write(html)
        sys.stdout.flush()
        return 0
    write_html(args.output, html)
    if not args.quiet:
        print(_("report: {path} ({size:,} bytes)").format(path=args.output, size=args.output.stat().st_size))
    return 0
