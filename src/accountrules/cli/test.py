"""``accountrules test``: run a policy's test cases, with rule coverage.

``--format json`` prints one JSON object instead of the text (``accountrules.testing.reports``);
``-q`` leaves out headers, passing cases, coverage and summaries; ``-v`` explains passing cases.

Exit status: 0 when everything passed; 1 when a case failed or errored, no case ran or
coverage is below ``--min-coverage``; 2 for usage errors and policies that do not load
(reported by :func:`accountrules.cli.main`).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from accountrules.cli.args import engine_choice, gettext_of, percent
from accountrules.cli.output import is_quiet, print_json, silent
from accountrules.cli.progress import Progress, progress_on
from accountrules.errors import PolicyError
from accountrules.i18n import Gettext
from accountrules.policy import Policy
from accountrules.testing.cases import CaseFile, default_case_paths, load_case_file
from accountrules.testing.reports import test_report
from accountrules.testing.runner import (
    TEST_ENGINES,
    format_coverage,
    format_result,
    load_policy_for,
    run_cases,
    summary_line,
)

__all__ = ["add_parser", "run", "run_test"]




def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``test``; sets ``func=run``."""
    _ = gettext_of(subparsers)
    p = subparsers.add_parser(
        "test",
        help=_("run a policy's test cases (POLICY/tests/*.yaml) and report rule coverage"),
        description=_(
            "Run YAML test cases against a policy: PASS/FAIL per case, expected vs actual and the "
            "decision's explanation for failures, then which rules no case exercised. "
            "The last line is 'N passed, N failed'."
        ),
    )
    p.add_argument("policy", metavar="POLICY", help=_("policy directory (with policy.yaml) or policy file"))
    p.add_argument("cases", metavar="CASES", nargs="*",
                   help=_("case files or directories (default: POLICY/tests/*.yaml)"))
    p.add_argument("--engine", type=lambda text: engine_choice(text, TEST_ENGINES, _), default=None,
                   metavar="{" + ",".join(TEST_ENGINES) + "}",
                   help=_("evaluator(s) to run every case on: all (default: compiled, durable when durable_rules "
                          "is installed, vector when numpy is), one of compiled/durable/vector/auto, or both "
                          "(compiled and durable)"))
    p.add_argument("--min-coverage", type=percent(_), default=None, metavar="PCT",
                   help=_("fail when fewer than PCT percent of the rules decided a case"))
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help=_("text (default) or one JSON object on stdout (cases, coverage, counts, ok)"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_test(args)


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


def _load(policy: Policy, paths: Sequence[Path]) -> tuple[list[CaseFile], list[PolicyError]]:
    files: list[CaseFile] = []
    errors: list[PolicyError] = []
    for path in paths:
        try:
            files.append(load_case_file(path, policy, display_name=str(path)))
        except PolicyError as e:
            errors.append(e)
    return files, errors


def run_test(args: argparse.Namespace) -> int:
    _: Gettext = getattr(args, "gettext", str)
    lang: str = getattr(args, "lang", None) or "en"
    policy, engines, note = load_policy_for(args.policy, args.engine)
    # an installed policy given by name ("express"): its cases are in its installed folder
    where = args.policy if Path(args.policy).exists() or policy.entry is None else policy.entry
    paths, shown = _case_paths(where, args.cases)
    text = args.format == "text"
    # -q: only failing cases and what failed the run; no header, coverage table or summary
    say = print if text and not is_quiet(args) else silent
    out = print if text else silent
    why = f" ({note})" if note else ""
    say(_("policy {name} {version} ({path}); engine: {engines}").format(
        name=policy.name, version=policy.version, path=args.policy, engines=", ".join(engines)) + why)
    files, load_errors = _load(policy, paths)
    for err in load_errors:
        out(_("ERROR") + f" {err.translated(_)}")
    with Progress(progress_on(args), _, unit="cases") as bar:  # the JSON report keeps the English text
        report = run_cases(policy, files, engines, load_errors=[str(e) for e in load_errors], progress=bar)
    details = True if (getattr(args, "verbose", 0) or 0) >= 1 else None
    for result in report.results:
        if result.passed and is_quiet(args):
            continue
        for line in format_result(result, lang=lang, details=details):
            out(line)
    status = 0
    if not report.results:
        out(_("no test cases ran (cases: {cases})").format(cases=shown or _("none given")))
        status = 1
    else:
        say()
        for line in format_coverage(report.coverage, by_engine=report.coverage_by_engine, lang=lang):
            say(line)
    if args.min_coverage is not None and report.results and report.min_coverage < args.min_coverage:
        low = [e for e, c in report.coverage_by_engine.items() if c.percent < args.min_coverage]
        on = _(" on {engines}").format(engines=", ".join(low)) if low and len(report.engines) > 1 else ""
        out(_("coverage {percent:.1f}%{on} is below the minimum of {minimum:g}%").format(
            percent=report.min_coverage, on=on, minimum=args.min_coverage))
        status = 1
    if report.failed or report.errors:
        status = 1
    say(summary_line(report.passed, report.failed, report.errors, _))
    if not text:
        print_json(test_report(policy, args.policy, report, min_coverage=args.min_coverage, ok=status == 0))
    return status
