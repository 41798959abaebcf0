"""``accountrules decide POLICY INPUT -o OUTPUT``: decide a portfolio file, write decisions and errors.

Exit status: 0 every row decided, 1 completed with some rows refused (see the errors
file), 2 could not run: a usage, policy, output-path or whole-input error (unknown column,
unreadable file), or an unexpected failure — no decisions file is written then.

Both files are written under temporary names and published together at the end: the
errors file first, then the decisions file, so a decisions file under its name always has
its complete errors file beside it (see "Interrupted runs" in ``docs/batch.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from datetime import date
from pathlib import Path
from typing import TextIO

from accountrules.batch.engine import iter_batches
from accountrules.batch.result import BatchSummary
from accountrules.batch.writers import FORMATS, ErrorsWriter, format_of, open_writer
from accountrules.errors import AccountRulesError, UnknownEngineError
from accountrules.evaluate.registry import ENGINES, check_engine
from accountrules.io.formats import OUTPUT
from accountrules.io.writers import check_output

__all__ = ["RAW_CSV_HELP", "add_parser", "engine_choice", "run"]


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def engine_choice(text: str) -> str:
    """An ``--engine`` value: a name of the evaluator registry, with its message and did-you-mean."""
    try:
        return check_engine(text)
    except UnknownEngineError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


RAW_CSV_HELP = ("write CSV cells exactly as they are, for programs; by default a text cell starting with "
                "= + - @, a tab or a CR gets a leading ' so a spreadsheet shows it instead of running it")
ENGINE_HELP = ("evaluator: auto (default: vector when numpy is installed, else compiled), compiled, durable or "
               "vector; all give the same decisions")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``decide POLICY INPUT -o OUTPUT ...``; sets ``func=run``."""
    p = subparsers.add_parser(
        "decide",
        help="decide a portfolio file (CSV, JSONL, Parquet) and write decisions and errors",
        description=(
            "Decide every account of INPUT (.csv with field-path columns, .jsonl of nested accounts, or "
            ".parquet) with POLICY and write one row per decided account to OUTPUT. Rows that cannot be "
            "decided go to the errors file; they never stop the batch. Exit status: 0 all decided, 1 some "
            "rows failed, 2 usage, policy or input error."
        ),
    )
    p.add_argument("policy", metavar="POLICY", help="policy directory or YAML file")
    p.add_argument("input", metavar="INPUT", help="accounts: .csv, .jsonl/.ndjson or .parquet")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="decisions file")
    p.add_argument("--as-of", type=_iso_date, default=None, metavar="DATE",
                   help="decision date, YYYY-MM-DD (default today)")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="output format (default: from the suffix of OUTPUT)")
    p.add_argument("--explain", action="store_true",
                   help="add explain_en / explain_zh columns (CSV, Parquet) or keep traces (JSONL)")
    p.add_argument("--engine", type=engine_choice, default="auto", metavar="{" + ",".join(ENGINES) + "}",
                   help=ENGINE_HELP)
    p.add_argument("--errors", metavar="PATH", default=None,
                   help="errors CSV (default: OUTPUT with the suffix .errors.csv)")
    p.add_argument("--raw-csv", action="store_true", help=RAW_CSV_HELP)
    p.add_argument("--spark", metavar="MASTER", default=None, help="run on Apache Spark with this master "
                   "(local[4], spark://host:7077, yarn): see accountrules.spark.cli")
    p.set_defaults(func=run)



def errors_path(output: Path) -> Path:
    return output.with_name(OUTPUT.split(output)[0] + ".errors.csv")


class _Bar:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, stream: TextIO):
        self._out = stream
        self._on = stream.isatty()
        self._t0 = time.perf_counter()
        self._last = 0.0
        self._drawn = False

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if not self._on:
            return
        now = time.perf_counter()
        if now - self._last < 0.1 and (total is None or done < total):
            return
        self._last = now
        rate = done / max(now - self._t0, 1e-9)
        if total:
            width = 30
            filled = int(width * done / total)
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {100 * done // total:3d}% {done:,}/{total:,}"
        else:
            bar = f"{done:,} rows"
        self._out.write(f"\r{phase:9s} {bar}  {rate:,.0f} rows/s ")
        self._out.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self._out.write("\r" + " " * 79 + "\r")
            self._out.flush()


def run(args: argparse.Namespace) -> int:
    prog = "accountrules decide"
    if getattr(args, "spark", None):
        from accountrules.spark.cli import run_decide

        return run_decide(args)
    try:
        return _run(args, prog)
    except Exception:  # noqa: BLE001 - a bug must not exit 1, which means "some rows refused"
        traceback.print_exc()
        print(f"{prog}: error: unexpected failure (above); no decisions file was written", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, prog: str) -> int:
    from accountrules.policy import load_policy

    out = Path(args.output)
    fmt = args.format or format_of(out)
    if fmt is None:
        print(f"{prog}: error: cannot tell the output format of {str(out)!r}: use .csv, .jsonl or .parquet, "
              "or --format", file=sys.stderr)
        return 2
    err_path = Path(args.errors) if args.errors else errors_path(out)
    if err_path.resolve() == out.resolve():
        print(f"{prog}: error: the errors file must differ from the output", file=sys.stderr)
        return 2
    raw = bool(getattr(args, "raw_csv", False))
    t0 = time.perf_counter()
    bar = _Bar(sys.stderr)
    summaries: list[BatchSummary] = []
    try:
        inputs = [args.input, args.policy]
        check_output(out, inputs=inputs)
        check_output(err_path, inputs=inputs)
        # the evaluator is built now, so its limits or a missing extra surface before any file is written
        policy = load_policy(args.policy, engine=args.engine)
        # JSONL keeps traces only with --explain; explanations need them
        trace = bool(args.explain)
        chunks = iter_batches(policy, args.input, as_of=args.as_of, engine=args.engine, trace=trace,
                              progress=bar)
        first = next(chunks, None)  # a bad input (unknown column...) fails here, before files are created
        with open_writer(out, fmt, policy, explain=args.explain, formulas=raw) as writer, \
                ErrorsWriter(err_path, formulas=raw) as errors:
            part = first
            while part is not None:
                writer.write(part)
                errors.write(part)
                summaries.append(part.summary())
                part = next(chunks, None)
            # errors on disk before decisions: a decisions file never stands without its errors
            errors.finish()
            writer.finish()
            # the old decisions go first: a kill between the renames leaves new errors and no
            # decisions (incomplete), never new errors beside the decisions of an earlier run
            out.unlink(missing_ok=True)
            errors.publish()
            writer.publish()
    except (AccountRulesError, OSError) as e:
        bar.close()
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    bar.close()
    elapsed = time.perf_counter() - t0
    total = BatchSummary.combine(summaries) if summaries else BatchSummary(0, 0, 0)
    print(f"decided {total.decided} of {total.accounts} accounts with {policy.name} {policy.version} "
          f"as of {(args.as_of or date.today()).isoformat()}")
    for line in total.lines():
        print("  " + line)
    rate = total.accounts / elapsed if elapsed > 0 else 0.0
    print(f"  elapsed: {elapsed:.2f} s ({rate:,.0f} accounts/s)")
    print(f"  decisions: {out}")
    print(f"  errors: {err_path}" + (f" ({total.errors} rows)" if total.errors else " (none)"))
    return 1 if total.errors else 0
