"""``accountrules test`` (run a policy's test cases, with rule coverage) and ``accountrules check``
(property checks over generated accounts).

``--format json`` prints one JSON object instead of the text (``accountrules.testing.reports``);
``-q`` leaves out headers, passing cases, coverage and summaries; ``-v`` explains passing cases.
``check`` logs one progress line per property to stderr unless ``-q``.

Exit status: 0 when everything passed; 1 when a case failed or errored, no case ran,
coverage is below ``--min-coverage``, or a property does not hold; 2 for usage errors
and policies that do not load (reported by :func:`accountrules.cli.main`).
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from accountrules.errors import PolicyError, UnknownEngineError
from accountrules.evaluate.registry import check_engine
from accountrules.policy import Policy
from accountrules.testing.cases import CaseFile, default_case_paths, load_case_file
from accountrules.testing.reports import check_report, test_report
from accountrules.testing.runner import (
    TEST_ENGINES,
    format_coverage,
    format_location,
    format_result,
    load_policy_for,
    run_cases,
    summary_line,
)

__all__ = ["add_parser", "run", "run_check", "run_test"]


def _percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        value = -1.0
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be a percentage between 0 and 100: {text!r}")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive whole number: {text!r}")
    return value


def _engine(text: str) -> str:
    try:
        return check_engine(text, TEST_ENGINES)
    except UnknownEngineError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number: {text!r}") from None


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``test`` and ``check``; both set ``func=run``."""
    p = subparsers.add_parser(
        "test",
        help="run a policy's test cases (POLICY/tests/*.yaml) and report rule coverage",
        description=(
            "Run YAML test cases against a policy: PASS/FAIL per case, expected vs actual and the "
            "decision's explanation for failures, then which rules no case exercised. "
            "The last line is 'N passed, N failed'."
        ),
    )
    p.add_argument("policy", metavar="POLICY", help="policy directory (with policy.yaml) or policy file")
    p.add_argument("cases", metavar="CASES", nargs="*",
                   help="case files or directories (default: POLICY/tests/*.yaml)")
    p.add_argument("--engine", type=_engine, default=None, metavar="{" + ",".join(TEST_ENGINES) + "}",
                   help="evaluator(s) to run every case on: all (default: compiled, durable when durable_rules "
                        "is installed, vector when numpy is), one of compiled/durable/vector/auto, or both "
                        "(compiled and durable)")
    p.add_argument("--min-coverage", type=_percent, default=None, metavar="PCT",
                   help="fail when fewer than PCT percent of the rules decided a case")
    p.add_argument("--lang", choices=("en", "zh"), default="en",
                   help="language of the decision explanations (default en); -v explains passing cases too")
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text (default) or one JSON object on stdout (cases, coverage, counts, ok)")
    p.set_defaults(func=run)

    c = subparsers.add_parser(
        "check",
        help="check properties of a policy over generated accounts (completeness, determinism, monotonic); "
             "needs the 'check' extra",
        description=(
            "Generate accounts near the policy's thresholds and check: every account gets a tier and a "
            "stage, decisions are deterministic and survive JSON, and every 'monotonic:' declaration "
            "holds. A failure prints its smallest counterexample as a test case to paste into tests/. "
            "Needs hypothesis, from the 'check' extra: pip install 'accountrules[check]'."
        ),
    )
    c.add_argument("policy", metavar="POLICY", help="policy directory (with policy.yaml) or policy file")
    c.add_argument("--examples", type=_positive, default=100, metavar="N",
                   help="generated examples per property (default 100)")
    c.add_argument("--seed", type=_int, default=None, metavar="S", help="random seed, for a reproducible run")
    c.add_argument("--format", choices=("text", "json"), default="text",
                   help="text (default) or one JSON object on stdout (properties, counterexamples, counts, ok)")
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.command == "check":
        return run_check(args)
    return run_test(args)


# -- test -----------------------------------------------------------------------------------------


def _case_paths(policy_arg: str, given: Sequence[str]) -> tuple[list[Path], str]:
    if not given:
        p = Path(policy_arg)
        tests = (p if p.is_dir() else p.parent) / "tests"
        return default_case_paths(p), f"{tests}/*.yaml"
    out: list[Path] = []
    for g in given:
        path = Path(g)
        if path.is_dir():
            out.extend(sorted([*path.glob("*.yaml"), *path.glob("*.yml")]))
        else:
            out.append(path)
    return out, " ".join(given)


def _load(policy: Policy, paths: Sequence[Path]) -> tuple[list[CaseFile], list[str]]:
    files: list[CaseFile] = []
    errors: list[str] = []
    for path in paths:
        try:
            files.append(load_case_file(path, policy, display_name=str(path)))
        except PolicyError as e:
            errors.append(str(e))
    return files, errors


def _quiet(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))


def _json(report: dict[str, Any]) -> None:
    print(json.dumps(report, ensure_ascii=False, indent=2, default=str))


def run_test(args: argparse.Namespace) -> int:
    policy, engines, note = load_policy_for(args.policy, args.engine)
    # an installed policy given by name ("express"): its cases are in its installed folder
    where = args.policy if Path(args.policy).exists() or policy.entry is None else policy.entry
    paths, shown = _case_paths(where, args.cases)
    text = args.format == "text"
    # -q: only failing cases and what failed the run; no header, coverage table or summary
    say = print if text and not _quiet(args) else _silent
    out = print if text else _silent
    why = f" ({note})" if note else ""
    say(f"policy {policy.name} {policy.version} ({args.policy}); engine: {', '.join(engines)}{why}")
    files, load_errors = _load(policy, paths)
    for err in load_errors:
        out(f"ERROR {err}")
    report = run_cases(policy, files, engines, load_errors=load_errors)
    details = True if (getattr(args, "verbose", 0) or 0) >= 1 else None
    for result in report.results:
        if result.passed and _quiet(args):
            continue
        for line in format_result(result, lang=args.lang, details=details):
            out(line)
    status = 0
    if not report.results:
        out(f"no test cases ran (cases: {shown or 'none given'})")
        status = 1
    else:
        say()
        for line in format_coverage(report.coverage, by_engine=report.coverage_by_engine):
            say(line)
    if args.min_coverage is not None and report.results and report.min_coverage < args.min_coverage:
        low = [e for e, c in report.coverage_by_engine.items() if c.percent < args.min_coverage]
        on = f" on {', '.join(low)}" if low and len(report.engines) > 1 else ""
        out(f"coverage {report.min_coverage:.1f}%{on} is below the minimum of {args.min_coverage:g}%")
        status = 1
    if report.failed or report.errors:
        status = 1
    say(summary_line(report.passed, report.failed, report.errors))
    if not text:
        _json(test_report(policy, args.policy, report, min_coverage=args.min_coverage, ok=status == 0))
    return status


def _silent(*_: object) -> None:
    """Print nothing (a line that -q or --format json leaves out)."""


# -- check ----------------------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    # hypothesis keeps a cache of constants in ./.hypothesis; a command run by a business owner must
    # not leave files in their folder, so it goes to a temporary directory removed at exit
    from hypothesis import configuration

    # restored afterwards: main() also runs inside other programs (and our tests) that use hypothesis;
    # if hypothesis renames this global, None restores its default lookup, which is what it was
    previous = getattr(configuration, "__hypothesis_home_directory", None)
    with tempfile.TemporaryDirectory(prefix="accountrules-check-") as home:
        configuration.set_hypothesis_home_dir(home)
        try:
            return _run_check(args)
        finally:
            configuration.set_hypothesis_home_dir(previous)


def _run_check(args: argparse.Namespace) -> int:
    from accountrules.testing.properties import run_properties

    policy, engines, note = load_policy_for(args.policy)
    text = args.format == "text"
    say = print if text and not _quiet(args) else _silent
    out = print if text else _silent
    why = f" ({note})" if note else ""
    seed = f", seed {args.seed}" if args.seed is not None else ""
    say(f"policy {policy.name} {policy.version} ({args.policy}); {args.examples} examples per property"
        f"{seed}; engine: {', '.join(engines)}{why}")
    # progress, one line per property on stderr (a full check runs for tens of seconds), unless -q
    logging.getLogger("accountrules.testing.properties").setLevel(logging.ERROR if _quiet(args) else logging.INFO)
    results = run_properties(policy, examples=args.examples, seed=args.seed, engines=engines)
    passed = failed = 0
    for r in results:
        if r.skipped is not None:
            say(f"SKIP  {r.name}: {r.skipped}")
        elif r.failure is None:
            passed += 1
            say(f"PASS  {r.name}")
        else:
            failed += 1
            f = r.failure
            where = f"  ({format_location(f.location)})" if f.location else ""
            out(f"FAIL  {r.name}{where}")
            out(f"      {f.message}")
            out("      counterexample, as a test case (paste into the policy's tests/ directory):")
            for line in f.counterexample.splitlines():
                out(f"        {line}")
    say(summary_line(passed, failed, 0))
    if not text:
        _json(check_report(policy, args.policy, results, examples=args.examples, seed=args.seed, engines=engines))
    return 1 if failed else 0
