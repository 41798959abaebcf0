"""``accountrules decide POLICY INPUT -o OUTPUT``: decide a portfolio file, write decisions and errors.

Exit status: 0 every row decided, 1 completed with some rows refused (see the errors
file), 2 could not run: a usage, policy, output-path or whole-input error (unknown column,
unreadable file), or an unexpected failure — no decisions file is written then.

Both files are written under temporary names and published together at the end: the
errors file first, then the decisions file, so a decisions file under its name always has
its complete errors file beside it (see "Interrupted runs" in ``docs/batch.md``).

``-o -`` writes the decisions to standard output (CSV unless ``--format``) and the summary to
standard error; refused rows then go to ``--errors FILE`` if given, else to standard error,
one line each. An export is read as it comes with ``--map``/``--columns``/``--unknown-columns``/
``--encoding`` (:mod:`accountrules.io.columns`).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from contextlib import ExitStack
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from accountrules.batch.engine import iter_batches
from accountrules.batch.errors import RowError
from accountrules.batch.result import BatchSummary
from accountrules.batch.writers import FORMATS, ErrorsWriter, format_of, open_writer
from accountrules.cli.args import (
    ENGINE_HELP,
    RAW_CSV_HELP,
    add_columns,
    add_engine,
    column_mapping,
    engine_choice,
    gettext_of,
    is_stdout,
    iso_date,
    output_help,
)
from accountrules.cli.messages import CommandError, check_input_file, error_line
from accountrules.cli.progress import Progress, progress_on
from accountrules.errors import AccountRulesError
from accountrules.i18n import Gettext
from accountrules.io.formats import OUTPUT
from accountrules.io.recorded_day import recorded_day
from accountrules.io.writers import check_output
from accountrules.report.i18n import label

if TYPE_CHECKING:
    from accountrules.policy import Policy

__all__ = ["ENGINE_HELP", "RAW_CSV_HELP", "add_parser", "engine_choice", "run"]

# refused rows listed on stderr when there is no errors file (-o - without --errors); the rest are counted
_SHOWN_ERRORS = 20


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``decide POLICY INPUT -o OUTPUT ...``; sets ``func=run``."""
    _ = gettext_of(subparsers)
    p = subparsers.add_parser(
        "decide",
        help=_("decide a portfolio file (CSV, JSONL, Parquet) and write decisions and errors"),
        description=_(
            "Decide every account of INPUT (.csv with field-path columns, .jsonl of nested accounts, or "
            ".parquet) with POLICY and write one row per decided account to OUTPUT. Rows that cannot be "
            "decided go to the errors file; they never stop the batch. Exit status: 0 all decided, 1 some "
            "rows failed, 2 usage, policy or input error."
        ),
    )
    p.add_argument("policy", metavar="POLICY", help=_("policy directory or YAML file"))
    p.add_argument("input", metavar="INPUT", help=_("accounts: .csv, .jsonl/.ndjson or .parquet"))
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help=output_help(_, _("decisions file")))
    p.add_argument("--as-of", type=iso_date(_), default=None, metavar="DATE",
                   help=_("decision date, YYYY-MM-DD (default: the day a features Parquet file records, else today)"))
    p.add_argument("--format", choices=FORMATS, default=None,
                   help=_("output format (default: from the suffix of OUTPUT; csv for -o -)"))
    p.add_argument("--explain", action="store_true",
                   help=_("add explain_en / explain_zh columns (CSV, Parquet) or keep traces (JSONL)"))
    add_engine(p, _)
    p.add_argument("--errors", metavar="PATH", default=None,
                   help=_("errors CSV (default: OUTPUT with the suffix .errors.csv; with -o -: standard error)"))
    p.add_argument("--raw-csv", action="store_true", help=_(RAW_CSV_HELP))
    add_columns(p, _)
    p.add_argument("--spark", metavar="MASTER", default=None,
                   help=_("run on Apache Spark with this master (local[4], spark://host:7077, yarn): "
                          "see accountrules.spark.cli"))
    p.set_defaults(func=run)



def errors_path(output: Path) -> Path:
    return output.with_name(OUTPUT.split(output)[0] + ".errors.csv")


def run(args: argparse.Namespace) -> int:
    _: Gettext = getattr(args, "gettext", str)
    if getattr(args, "spark", None):
        from accountrules.spark.cli import run_decide

        return run_decide(args)
    try:
        return _run(args, _)
    except BrokenPipeError:
        raise  # the reader went away (| head): main() exits 141, as a shell expects
    except Exception:  # noqa: BLE001 - a bug must not exit 1, which means "some rows refused"
        traceback.print_exc()
        print(_("accountrules decide: error: unexpected failure (above); no decisions file was written"),
              file=sys.stderr)
        return 2


def _fail(message: str) -> int:
    print(f"accountrules decide: {message}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace, _: Gettext) -> int:
    from accountrules.policy import load_policy

    to_stdout = is_stdout(args.output)
    out = Path(args.output)
    fmt = args.format or ("csv" if to_stdout else format_of(out))
    if fmt is None:
        return _fail(_("error: cannot tell the output format of {path!r}: use .csv, .jsonl or .parquet, or --format"
                       ).format(path=str(out)))
    if to_stdout and fmt == "parquet" and sys.stdout.isatty():
        return _fail(_("error: Parquet is binary: redirect standard output to a file or a program"))
    err_path: Path | None = Path(args.errors) if args.errors else None if to_stdout else errors_path(out)
    if err_path is not None and not to_stdout and err_path.resolve() == out.resolve():
        return _fail(_("error: the errors file must differ from the output"))
    raw = bool(getattr(args, "raw_csv", False))
    # with the data on stdout, everything said to a person goes to stderr
    say: TextIO = sys.stderr if to_stdout else sys.stdout
    t0 = time.perf_counter()
    summaries: list[BatchSummary] = []
    shown: list[RowError] = []
    with Progress(progress_on(args), _) as bar:
        try:
            columns = column_mapping(args)
            check_input_file(args.input, _)
            day = _decision_day(args, _)
            inputs = [args.input, args.policy]
            check_output(out, inputs=inputs)
            if err_path is not None:
                check_output(err_path, inputs=inputs)
            # the evaluator is built now, so its limits or a missing extra surface before any file is written
            policy = load_policy(args.policy, engine=args.engine)
            # JSONL keeps traces only with --explain; explanations need them
            trace = bool(args.explain)
            # lean_stats: the statistics reach no one here, so a key ranked by quantile(..., 'first') alone
            # keeps its k - 1 boundary pairs, not a column as long as the file
            chunks = iter_batches(policy, args.input, as_of=day, engine=args.engine, trace=trace,
                                  progress=bar, columns=columns, lean_stats=True)
            first = next(chunks, None)  # a bad input (unknown column...) fails here, before files are created
            with ExitStack() as files:
                # the errors file is data, in English whatever --lang (docs/command-line.md): the rows
                # said on the terminal are in the run's language
                errors = files.enter_context(ErrorsWriter(err_path, formulas=raw)) if err_path is not None else None
                writer = files.enter_context(open_writer(out, fmt, policy, explain=args.explain, formulas=raw))
                part = first
                while part is not None:
                    writer.write(part)
                    if errors is not None:
                        errors.write(part)
                    elif len(shown) < _SHOWN_ERRORS:
                        shown.extend(part.errors[: _SHOWN_ERRORS - len(shown)])
                    summaries.append(part.summary())
                    part = next(chunks, None)
                # errors on disk before decisions: a decisions file never stands without its errors
                if errors is not None:
                    errors.finish()
                writer.finish()
                # the old decisions go first: a kill between the renames leaves new errors and no
                # decisions (incomplete), never new errors beside the decisions of an earlier run
                if not to_stdout:
                    out.unlink(missing_ok=True)
                if errors is not None:
                    errors.publish()
                writer.publish()
        except (AccountRulesError, OSError, CommandError) as e:
            if isinstance(e, BrokenPipeError):
                raise
            bar.close()
            print(f"accountrules decide: {error_line(e, _)}", file=sys.stderr)
            return 2
    elapsed = time.perf_counter() - t0
    total = BatchSummary.combine(summaries) if summaries else BatchSummary(0, 0, 0)
    if not args.quiet:
        _summary(args, total, policy, day, elapsed, err_path, say, _)
    if err_path is None and total.errors:  # no errors file: the refused rows are said here, even with -q
        print("  " + _("refused rows: {count} (--errors FILE keeps them all)").format(count=total.errors), file=say)
        for row in shown:
            print(f"    {row.translated(_)}", file=say)
        if total.errors > len(shown):
            print("    " + _("... and {count} more").format(count=total.errors - len(shown)), file=say)
    return 1 if total.errors else 0


def _decision_day(args: argparse.Namespace, _: Gettext) -> date:
    """``--as-of``, else the day the input was derived as of (``features`` records it in Parquet), else today;
    a ``--as-of`` other than the recorded day is said, as it mixes two dates in each decision."""
    recorded = recorded_day(args.input)
    given: date | None = args.as_of
    if given is not None and recorded is not None and given != recorded and not args.quiet:
        print(_("warning: {file} was derived as of {recorded}; deciding it as of {as_of} counts recency to "
                "{recorded} and due dates from {as_of}").format(file=args.input, recorded=recorded.isoformat(),
                                                                as_of=given.isoformat()), file=sys.stderr)
    return given or recorded or date.today()


def _summary(args: argparse.Namespace, total: BatchSummary, policy: Policy, day: date, elapsed: float,
             err_path: Path | None, say: TextIO, _: Gettext) -> None:
    to_stdout = is_stdout(args.output)
    print(_("decided {decided} of {accounts} accounts with {policy} {version} as of {as_of}").format(
        decided=total.decided, accounts=total.accounts, policy=policy.name, version=policy.version,
        as_of=day.isoformat()), file=say)
    lang = getattr(args, "lang", None) or "en"
    # the policy's labels in the command line's language (铂金 / Platinum), as the report and explain show them
    for line in total.lines(_, lambda section, code: label(policy.spec, code, lang, section)):
        print("  " + line, file=say)
    rate = total.accounts / elapsed if elapsed > 0 else 0.0
    print("  " + _("elapsed: {seconds:.2f} s ({rate:,.0f} accounts/s)").format(seconds=elapsed, rate=rate), file=say)
    print("  " + _("decisions: {path}").format(path=_("standard output") if to_stdout else args.output), file=say)
    if err_path is not None:
        rows = _("({count} rows)").format(count=total.errors) if total.errors else _("(none)")
        print("  " + _("errors: {path}").format(path=err_path) + f" {rows}", file=say)
