"""``accountrules schema policy|case``: the JSON Schema of policy or test-case files, for an editor."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from accountrules.cli.args import gettext_of
from accountrules.json_schema import KINDS, schema_text


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _ = gettext_of(subparsers)
    p = subparsers.add_parser(
        "schema",
        help=_("print the JSON Schema of policy or test-case YAML (for editor completion and validation)"),
        description=_("Print the JSON Schema of policy files (policy) or of test-case files (case). The same "
                      "schemas ship in the package (accountrules/schemas/); name one in a YAML file with "
                      "'# yaml-language-server: $schema=PATH' for completion and validation in VS Code."),
    )
    p.add_argument("kind", choices=KINDS,
                   help=_("policy: policy.yaml and the files it includes; case: tests/*.yaml"))
    p.add_argument("-o", "--output", type=Path, default=None, help=_("write the schema to this file"))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = schema_text(args.kind)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    return 0
