"""``accountrules backtest POLICY ORDERS --as-of T --horizon 26w``: had the policy run on T, how well
would it have matched what the customers did after T? See ``docs/backtest.md``.

Every message is in the command line's language (``--lang`` or the locale, :mod:`accountrules.i18n`);
an error is one line, ``accountrules backtest: error: ...``, and exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

from accountrules.backtest.result import SweepRow
from accountrules.cli.args import ENGINE_HELP, gettext_of, iso_date, positive
from accountrules.cli.messages import CommandError, error_line
from accountrules.cli.progress import Progress, progress_on
from accountrules.errors import AccountRulesError, AccountValidationError, EngineUnavailableError
from accountrules.features import ColumnMap
from accountrules.i18n import N_, Gettext, Message, lang_from_env
from accountrules.io.optional import require

__all__ = ["add_parser", "run"]

_DEFAULTS = ColumnMap()
_PROG = "accountrules backtest"

# the library's one-line refusals of the dates (accountrules.backtest.log), translated here by pattern
_LIBRARY = (
    (re.compile(r"as_of (\S+) is before the log's first order \((\S+)\)"),
     N_("--as-of {0} is before the log's first order ({1})")),
    (re.compile(r"as_of (\S+) is not before the log's end \((\S+)\): nothing to observe after it"),
     N_("--as-of {0} is not before the log's end ({1}): nothing to observe after it")),
    (re.compile(r"as_of (\S+) \+ horizon (\d+) days = (\S+) is after the log's end \((\S+)\).*"),
     N_("--as-of {0} + horizon {1} days = {2} is after the log's end ({3}): the outcome would count "
        "silence we did not observe as churn (cut it there with --clip-horizon)")),
    (re.compile(r"not a horizon: (.*?)(?: \(write days or weeks.*\))?"),
     N_("not a horizon: {0} (write days or weeks, e.g. 182d or 26w)")),
)


def _share(_: Gettext) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not 0.0 <= value < 1.0:
            raise argparse.ArgumentTypeError(_("must be a share in [0, 1): {value!r}").format(value=text))
        return value

    return parse


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``backtest``; sets ``func=run``."""
    _ = gettext_of(subparsers)
    p = subparsers.add_parser(
        "backtest",
        help=_("had the policy run on a past date, how well would it have predicted churn? (order log)"),
        description=_(
            "Derive account fields at --as-of from the order log (orders up to that day only), decide, and "
            "compare with what the customers did in the --horizon after it: churn kinds and risk levels "
            "(precision, recall, lift), the churn score (ROC and PR AUC with intervals, calibration), each "
            "rule, revenue at stake, tier and stage stability, against the hiatus rule and BG/NBD P(alive). "
            "--sweep shows the trade-off of a threshold and never applies a value."
        ),
    )
    p.add_argument("policy", metavar="POLICY", help=_("policy directory, file or installed name"))
    p.add_argument("orders", metavar="ORDERS", help=_("order log (CSV, whitespace text, Parquet, JSONL)"))
    p.add_argument("--as-of", required=True, type=iso_date(_), metavar="T",
                   help=_("the day the policy decides, YYYY-MM-DD"))
    p.add_argument("--horizon", required=True, metavar="H",
                   help=_("outcome window after T: 26w, 182d or 182 (days)"))
    p.add_argument("--sweep", action="append", default=[], metavar="params.NAME=START:STOP:STEP",
                   help=_("sweep a parameter (stop included); give it twice for a grid of two"))
    p.add_argument("--format", choices=("text", "json"), default="text", help=_("output on stdout (default text)"))
    p.add_argument("--outcomes", metavar="FILE",
                   help=_("write one row per account: decision at T, baselines, outcome (.csv or .parquet)"))
    p.add_argument("--report", metavar="HTML", help=_("write the backtest as one self-contained HTML page"))
    p.add_argument("--log-end", type=iso_date(_), metavar="DATE",
                   help=_("the day the log is complete to (default: its last order); later orders are cut off, "
                           "their accounts kept"))
    p.add_argument("--clip-horizon", action="store_true",
                   help=_("cut a horizon that runs past the log's end there (reported) instead of refusing it"))
    p.add_argument("--window-days", type=positive(_), metavar="N", help=_("feature window at T (default: the horizon)"))
    p.add_argument("--decline-share", type=_share(_), default=0.5, metavar="S",
                   help=_("value decline = horizon revenue at most S x the window before T (default 0.5)"))
    p.add_argument("--resamples", type=positive(_), default=1000, metavar="N",
                   help=_("bootstrap resamples (default 1000)"))
    p.add_argument("--seed", type=int, default=0, help=_("bootstrap seed (default 0)"))
    p.add_argument("--engine", default="auto", help=_(ENGINE_HELP))
    cols = p.add_argument_group(_("input columns"))
    cols.add_argument("--id-col", default=_DEFAULTS.account_id, metavar="NAME",
                      help=_("account id column (default {default})").format(default=_DEFAULTS.account_id))
    cols.add_argument("--date-col", default=_DEFAULTS.date, metavar="NAME",
                      help=_("order date column (default {default})").format(default=_DEFAULTS.date))
    cols.add_argument("--amount-col", default=_DEFAULTS.amount, metavar="NAME",
                      help=_("order amount column (default {default})").format(default=_DEFAULTS.amount))
    cols.add_argument("--date-format", metavar="FMT",
                      help=_("strptime format of the dates, e.g. %%Y%%m%%d (default ISO)"))
    cols.add_argument("--input-format", choices=("csv", "whitespace", "parquet", "jsonl"),
                      help=_("order log format (default: from the suffix)"))
    p.set_defaults(func=run)


def _lang(args: argparse.Namespace) -> str:
    """The command line's language: ``--lang`` (main() fills it in), else the locale's, as main() computes it."""
    lang = getattr(args, "lang", None)
    return str(lang) if lang else lang_from_env()


def _library_message(e: BaseException, _: Gettext) -> str:
    if isinstance(e, AccountRulesError) and e.args and isinstance(e.args[0], Message):
        return e.args[0].translated(_).strip().splitlines()[0]
    text = str(e).strip()
    first = text.splitlines()[0] if text else type(e).__name__
    for pattern, msgid in _LIBRARY:
        m = pattern.fullmatch(first)
        if m:
            return _(msgid).format(*m.groups())
    return first


def run(args: argparse.Namespace) -> int:
    """0 = done; 2 = could not run (bad arguments, input, dates or policy), with one line on stderr."""
    _: Gettext = getattr(args, "gettext", str)
    try:
        return _run(args, _)
    except (CommandError, OSError, AccountValidationError) as exc:  # a bad order log: worded as by features
        print(f"{_PROG}: {error_line(exc, _)}", file=sys.stderr)
        return 2
    except (ValueError, EngineUnavailableError, AccountRulesError) as exc:
        print(f"{_PROG}: " + _("error: {message}").format(message=_library_message(exc, _)), file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, _: Gettext) -> int:
    for module in ("numpy", "scipy"):  # the backtest extra: said by name, not as numpy's own (vector) extra
        require(module, "backtesting a policy", "backtest")
    from accountrules.backtest.html import render_html
    from accountrules.backtest.prepare import as_policy, prepare
    from accountrules.backtest.run import backtest
    from accountrules.backtest.sweeps import parse_sweep, sweep
    from accountrules.backtest.text import render_text
    from accountrules.io.formats import OUTPUT
    from accountrules.io.writers import CsvTableWriter, check_output, write_parquet_table, write_text_file

    lang = _lang(args)
    if len(args.sweep) > 2:
        raise CommandError(_("--sweep: one or two parameters"))
    grid = dict(parse_sweep(s) for s in args.sweep)
    if len(grid) != len(args.sweep):
        raise CommandError(_("--sweep: the same parameter twice"))
    if not Path(args.orders).exists():
        raise CommandError(_("order log not found: {file}").format(file=args.orders))
    inputs = [args.orders, args.policy]
    outcomes_path = check_output(args.outcomes, inputs=inputs) if args.outcomes else None
    outcomes_format = OUTPUT.of(args.outcomes) if args.outcomes else None
    if outcomes_format not in (None, "csv", "parquet"):
        # refused before the backtest runs: a JSONL name would otherwise get CSV that no JSONL reader opens
        raise CommandError(_("--outcomes {path}: the outcomes are written as CSV or Parquet; name a .csv or "
                             ".parquet file").format(path=args.outcomes))
    report_path = check_output(args.report, inputs=inputs) if args.report else None
    columns = ColumnMap(account_id=args.id_col, date=args.date_col, amount=args.amount_col,
                        date_format=args.date_format)
    common: dict[str, Any] = {"as_of": args.as_of, "horizon": args.horizon, "columns": columns,
                              "format": args.input_format, "log_end": args.log_end,
                              "window_days": args.window_days, "clip_horizon": args.clip_horizon}
    policy = as_policy(args.policy)
    rows: list[SweepRow] = []
    if grid:
        with Progress(progress_on(args), _, units={"sweeping": "settings"}) as bar:
            prep = prepare(args.orders, decline_share=args.decline_share, progress=bar, **common)
            rows = sweep(policy, args.orders, grid, engine=args.engine, prepared=prep, progress=bar, **common)
        if outcomes_path is None and report_path is None:
            _print_sweep(rows, args, lang)
            return 0
    # the full backtest: always without --sweep; with it, only for the files asked for
    with Progress(progress_on(args), _, units={"backtesting": "steps"}) as bar:
        result = backtest(policy, args.orders, decline_share=args.decline_share, n_resamples=args.resamples,
                          seed=args.seed, engine=args.engine, progress=bar, **common)
    if outcomes_path is not None:
        table = result.outcomes
        if outcomes_format == "parquet":
            write_parquet_table(table, outcomes_path)
        else:
            with CsvTableWriter(outcomes_path, table.column_names) as w:
                w.write_arrow(table)
    if report_path is not None:
        write_text_file(report_path, render_html(result, lang, rows))
    if grid:
        _print_sweep(rows, args, lang)
    elif args.format == "json":
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(render_text(result, lang), end="")
    return 0


def _print_sweep(rows: list[SweepRow], args: argparse.Namespace, lang: str) -> None:
    from accountrules.backtest.text import render_sweep

    if args.format == "json":
        print(json.dumps({"sweep": [_plain(r) for r in rows], "applied": None}, ensure_ascii=False, indent=1))
    else:
        print(render_sweep(rows, lang), end="")


def _plain(row: Any) -> Any:
    return dataclasses.asdict(row)

