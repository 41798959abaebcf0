"""``accountrules features``: derive account fields from an order log and write them out.

Output format by suffix: ``.csv`` (flat dotted columns such as ``transactions.revenue``),
``.jsonl``/``.ndjson`` (one nested account dict a line), ``.parquet``/``.pq`` (flat columns).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Final

from accountrules.cli.args import gettext_of, is_stdout, iso_date, output_help, positive
from accountrules.cli.messages import CommandError, check_input_file, error_line
from accountrules.cli.progress import Progress, progress_on
from accountrules.errors import AccountRulesError, EngineUnavailableError
from accountrules.features.derive import accounts_from_table, derive_features
from accountrules.features.orders import INPUT_FORMATS, ColumnMap, InputFormat
from accountrules.i18n import Gettext
from accountrules.io.formats import OUTPUT
from accountrules.io.writers import (
    PLAIN,
    CsvTableWriter,
    JsonlWriter,
    OutputPathError,
    check_output,
    write_parquet_table,
)

__all__ = ["add_parser", "run"]

_DEFAULTS: Final = ColumnMap()
_WRITE_ROWS: Final = 1 << 16  # accounts written between two updates of the bar


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``features ORDERS --as-of DATE -o ACCOUNTS ...``; sets ``func=run``."""
    _ = gettext_of(subparsers)
    p = subparsers.add_parser(
        "features",
        help=_("derive account fields (transactions.*, credit.*) from an order log"),
        description=_(
            "Derive account fields from an order log (CSV, whitespace text, Parquet, JSONL). "
            "One row per order line; orders after --as-of are ignored. Writes CSV, JSONL or Parquet "
            "by the output suffix."
        ),
    )
    p.add_argument("orders", metavar="ORDERS", help=_("order log file"))
    p.add_argument(
        "--as-of",
        required=True,
        type=iso_date(_),
        metavar="DATE",
        help=_("decision date, YYYY-MM-DD; the window ends on it"),
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="ACCOUNTS",
        help=output_help(_, _("output file: .csv, .jsonl/.ndjson or .parquet/.pq")),
    )
    p.add_argument(
        "--window-days",
        type=positive(_, "days"),
        default=365,
        metavar="N",
        help=_("observation window in days (default 365)"),
    )
    p.add_argument(
        "--occasion",
        choices=("day", "order"),
        default="day",
        help=_("what one purchase is: 'day' = an account's rows of one day (default; RFM/BTYD practice), "
               "'order' = every row; count, frequency, average and largest order follow it"),
    )
    p.add_argument(
        "--format", choices=INPUT_FORMATS, default=None, help=_("input format (default: from the suffix)")
    )
    cols = p.add_argument_group(_("input columns"))
    cols.add_argument(
        "--id-col",
        default=_DEFAULTS.account_id,
        metavar="NAME",
        help=_("account id column (default {default})").format(default=_DEFAULTS.account_id),
    )
    cols.add_argument(
        "--date-col",
        default=_DEFAULTS.date,
        metavar="NAME",
        help=_("order date column (default {default})").format(default=_DEFAULTS.date),
    )
    cols.add_argument(
        "--amount-col",
        default=_DEFAULTS.amount,
        metavar="NAME",
        help=_("order amount column (default {default})").format(default=_DEFAULTS.amount),
    )
    cols.add_argument("--cost-col", metavar="NAME", help=_("order cost column (enables profit)"))
    cols.add_argument("--quantity-col", metavar="NAME", help=_("quantity column (adds extra.units)"))
    cols.add_argument(
        "--returned-col", metavar="NAME", help=_("returned flag (bool) or returned amount (number) column")
    )
    cols.add_argument("--payment-due-col", metavar="NAME", help=_("payment due date column"))
    cols.add_argument("--payment-paid-col", metavar="NAME", help=_("payment date column"))
    cols.add_argument(
        "--date-format",
        metavar="FMT",
        help=_("strptime format of text/integer dates, e.g. %%Y%%m%%d (default ISO)"),
    )
    p.add_argument(
        "--raw-csv",
        action="store_true",
        help=_("write CSV cells exactly as they are (for a program, e.g. accountrules decide); by default a text "
               "cell starting with = + - @, a tab or a CR gets a leading ' so a spreadsheet does not run it"),
    )
    p.add_argument("--spark", metavar="MASTER", default=None,
                   help=_("run on Apache Spark with this master (local[4], spark://host:7077, yarn): "
                          "see accountrules.spark.cli"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Derive, write, print a one-line summary (not with -q). 0 = done, 2 = bad arguments or input.

    ``-o -`` writes CSV to standard output and the summary to standard error."""
    _: Gettext = getattr(args, "gettext", str)
    to_stdout = is_stdout(args.output)
    if getattr(args, "spark", None):
        from accountrules.spark.cli import run_features

        return run_features(args)
    out = Path(args.output)
    out_format = "csv" if to_stdout else OUTPUT.of(out)
    if out_format is None:
        print("accountrules features: " + _("error: output must end in {suffixes}: {path!r}").format(
            suffixes=", ".join(OUTPUT.suffixes), path=str(out)), file=sys.stderr)
        return 2
    fmt: InputFormat | None = args.format
    try:
        columns = ColumnMap(
            account_id=args.id_col,
            date=args.date_col,
            amount=args.amount_col,
            cost=args.cost_col,
            quantity=args.quantity_col,
            returned=args.returned_col,
            payment_due=args.payment_due_col,
            payment_paid=args.payment_paid_col,
            date_format=args.date_format,
        )
        check_input_file(args.orders, _)
        check_output(out, inputs=[args.orders])
        # reading (rows against the file's row count), grouping, writing: a bar each on stderr
        with Progress(progress_on(args), _) as bar:
            table = derive_features(
                args.orders, as_of=args.as_of, window_days=args.window_days, columns=columns, format=fmt,
                occasion=args.occasion, progress=bar,
            )
            _write(table, out, out_format, raw_csv=bool(getattr(args, "raw_csv", False)), progress=bar)
    except (ValueError, EngineUnavailableError, OutputPathError, AccountRulesError, OSError, CommandError) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        # bad arguments, a missing extra, a bad output path, unreadable input: could not run, 2 as in every command
        print(f"accountrules features: {error_line(exc, _)}", file=sys.stderr)
        return 2
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    late = int(meta.get("accountrules.orders_after_as_of", "0"))
    if getattr(args, "quiet", False):
        return 0
    print(_("features: {accounts} accounts from {orders} orders ({late} after {as_of} ignored), window {days} "
            "days -> {path}").format(accounts=table.num_rows, orders=meta.get("accountrules.orders", "?"), late=late,
                                     as_of=args.as_of.isoformat(), days=args.window_days,
                                     path=_("standard output") if to_stdout else out),
          file=sys.stderr if to_stdout else sys.stdout)
    return 0


def _write(table: Any, path: Path, fmt: str, *, raw_csv: bool, progress: Progress) -> None:
    """CSV: flat dotted columns (UTF-8, LF), formulas neutralised unless ``raw_csv``; JSONL: one
    nested account a line; Parquet: the table. Each file appears under its name only when complete.
    CSV and JSONL are written ``_WRITE_ROWS`` accounts at a time, each reported to ``progress``."""
    total = table.num_rows
    progress("writing", 0, total)
    if fmt == "parquet":
        write_parquet_table(table, path)  # one call: its bar goes from none to all
    else:
        with CsvTableWriter(path, table.column_names, PLAIN, formulas=raw_csv) if fmt == "csv" \
                else JsonlWriter(path) as w:
            for start in range(0, total, _WRITE_ROWS):
                part = table.slice(start, _WRITE_ROWS)
                if isinstance(w, CsvTableWriter):
                    w.write_arrow(part)
                else:
                    for account in accounts_from_table(part):
                        w.write_object(account)
                progress("writing", start + part.num_rows, total)
    progress("writing", total, total)
