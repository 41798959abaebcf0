"""``accountrules lint POLICY``: gaps, overlaps, dead rules and broken hand-offs before a change ships."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accountrules.analysis.findings import SEVERITIES
from accountrules.analysis.formats import to_json, to_sarif, to_text
from accountrules.cli.args import gettext_of, is_stdout
from accountrules.policy import load_policy


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _ = gettext_of(subparsers)
    p = subparsers.add_parser(
        "lint",
        help=_("find gaps, overlaps, dead rules, statechart defects and broken hand-offs in a policy"),
        description=_("Analyse a policy statically; every finding carries a witness account (a YAML test case) "
                      "that the compiled evaluator confirms. Exit 1 when a finding at or above --fail-on remains."),
    )
    p.add_argument("policy", metavar="POLICY", help=_("policy directory or YAML file"))
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                   help=_("text (default), one JSON object, or SARIF for code-scanning tools"))
    p.add_argument("--fail-on", choices=SEVERITIES, default="warning",
                   help=_("lowest severity that makes the exit status 1 (default: warning)"))
    p.add_argument("--witnesses", action="store_true", help=_("print each witness test case under its finding"))
    p.add_argument("-o", "--output", type=Path, default=None,
                   help=_("write the report to this file (default, or -: standard output)"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.output is not None and is_stdout(args.output):
        args.output = None
    # no progress bar: linting has no count to show, and a shipped policy lints in about the time it loads
    report = load_policy(args.policy).lint()
    if args.format == "json":
        text = to_json(report)
    elif args.format == "sarif":
        text = json.dumps(to_sarif(report), ensure_ascii=False, indent=2)
    else:
        colour = args.output is None and sys.stdout.isatty()
        text = to_text(report, lang=args.lang, colour=colour, witnesses=args.witnesses)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 1 if report.failing(args.fail_on) else 0
