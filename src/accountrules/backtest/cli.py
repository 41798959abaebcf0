"""``accountrules backtest POLICY ORDERS --as-of T --horizon 26w``: had the policy run on T, how well
would it have matched what the customers did after T? See ``docs/backtest.md``."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import date
from typing import Any

from accountrules.backtest.result import SweepRow
from accountrules.errors import AccountRulesError, EngineUnavailableError
from accountrules.features import ColumnMap

__all__ = ["add_parser", "run"]

_DEFAULTS = ColumnMap()


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be a share in [0, 1): {text!r}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number: {text!r}")
    return value


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``backtest``; sets ``func=run``."""
    p = subparsers.add_parser(
        "backtest",
        help="had the policy run on a past date, how well would it have predicted churn? (order log)",
        description=(
            "Derive account fields at --as-of from the order log (orders up to that day only), decide, and "
            "compare with what the customers did in the --horizon after it: churn kinds and risk levels "
            "(precision, recall, lift), the churn score (ROC and PR AUC with intervals, calibration), each "
            "rule, revenue at stake, tier and stage stability, against the hiatus rule and BG/NBD P(alive). "
            "--sweep shows the trade-off of a threshold and never applies a value."
        ),
    )
    p.add_argument("policy", metavar="POLICY", help="policy directory, file or installed name")
    p.add_argument("orders", metavar="ORDERS", help="order log (CSV, whitespace text, Parquet, JSONL)")
    p.add_argument("--as-of", required=True, type=_iso_date, metavar="T", help="the day the policy decides, YYYY-MM-DD")
    p.add_argument("--horizon", required=True, metavar="H", help="outcome window after T: 26w, 182d or 182 (days)")
    p.add_argument("--sweep", action="append", default=[], metavar="params.NAME=START:STOP:STEP",
                   help="sweep a parameter (stop included); give it twice for a grid of two")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output on stdout (default text)")
    p.add_argument("--outcomes", metavar="CSV", help="write one row per account: decision at T, baselines, outcome")
    p.add_argument("--report", metavar="HTML", help="write the backtest as one self-contained HTML page")
    p.add_argument("--log-end", type=_iso_date, metavar="DATE",
                   help="the day the log is complete to (default: its last order); later orders are excluded")
    p.add_argument("--clip-horizon", action="store_true",
                   help="cut a horizon that runs past the log's end there (reported) instead of refusing it")
    p.add_argument("--window-days", type=_count, metavar="N", help="feature window at T (default: the horizon)")
    p.add_argument("--decline-share", type=_share, default=0.5, metavar="S",
                   help="value decline = horizon revenue at most S x the window before T (default 0.5)")
    p.add_argument("--resamples", type=_count, default=1000, metavar="N", help="bootstrap resamples (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--engine", default="auto", help="evaluator: auto, compiled, durable, vector (default auto)")
    cols = p.add_argument_group("input columns")
    cols.add_argument("--id-col", default=_DEFAULTS.account_id, metavar="NAME",
                      help=f"account id column (default {_DEFAULTS.account_id})")
    cols.add_argument("--date-col", default=_DEFAULTS.date, metavar="NAME",
                      help=f"order date column (default {_DEFAULTS.date})")
    cols.add_argument("--amount-col", default=_DEFAULTS.amount, metavar="NAME",
                      help=f"order amount column (default {_DEFAULTS.amount})")
    cols.add_argument("--date-format", metavar="FMT", help="strptime format of the dates, e.g. %%Y%%m%%d (default ISO)")
    cols.add_argument("--input-format", choices=("csv", "whitespace", "parquet", "jsonl"),
                      help="order log format (default: from the suffix)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """0 = done; 2 = could not run (bad arguments, input, dates or policy), with one line on stderr."""
    try:
        return _run(args)
    except (ValueError, EngineUnavailableError, AccountRulesError, OSError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"accountrules backtest: error: {message}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from accountrules.backtest.html import render_html
    from accountrules.backtest.prepare import as_policy, prepare
    from accountrules.backtest.run import backtest
    from accountrules.backtest.sweep import parse_sweep, sweep
    from accountrules.backtest.text import render_text
    from accountrules.io.writers import CsvTableWriter, check_output

    if len(args.sweep) > 2:
        raise ValueError("--sweep: one or two parameters")
    grid = dict(parse_sweep(s) for s in args.sweep)
    if len(grid) != len(args.sweep):
        raise ValueError("--sweep: the same parameter twice")
    inputs = [args.orders, args.policy]
    outcomes_path = check_output(args.outcomes, inputs=inputs) if args.outcomes else None
    report_path = check_output(args.report, inputs=inputs) if args.report else None
    columns = ColumnMap(account_id=args.id_col, date=args.date_col, amount=args.amount_col,
                        date_format=args.date_format)
    common: dict[str, Any] = {"as_of": args.as_of, "horizon": args.horizon, "columns": columns,
                              "format": args.input_format, "log_end": args.log_end,
                              "window_days": args.window_days, "clip_horizon": args.clip_horizon}
    policy = as_policy(args.policy)
    rows: list[SweepRow] = []
    if grid:
        prep = prepare(args.orders, decline_share=args.decline_share, **common)
        rows = sweep(policy, args.orders, grid, engine=args.engine, prepared=prep, **common)
        if outcomes_path is None and report_path is None:
            _print_sweep(rows, args)
            return 0
    # the full backtest: always without --sweep; with it, only for the files asked for
    result = backtest(policy, args.orders, decline_share=args.decline_share, n_resamples=args.resamples,
                      seed=args.seed, engine=args.engine, **common)
    if outcomes_path is not None:
        table = result.outcomes
        with CsvTableWriter(outcomes_path, table.column_names) as w:
            w.write_arrow(table)
    if report_path is not None:
        report_path.write_text(render_html(result, args.lang, rows), encoding="utf-8")
    if grid:
        _print_sweep(rows, args)
    elif args.format == "json":
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    else:
        print(render_text(result, args.lang), end="")
    return 0


def _print_sweep(rows: list[SweepRow], args: argparse.Namespace) -> None:
    from accountrules.backtest.text import render_sweep

    if args.format == "json":
        print(json.dumps({"sweep": [_plain(r) for r in rows], "applied": None}, ensure_ascii=False, indent=1))
    else:
        print(render_sweep(rows, args.lang), end="")


def _plain(row: Any) -> Any:
    return dataclasses.asdict(row)

