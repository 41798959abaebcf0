"""The ``accountrules`` command line. Each subcommand lives in its own module.

A subcommand module exposes ``add_parser(subparsers)`` (registering its parser
and setting ``func=run``) and ``run(args) -> int``. The CLI is the only place that
prints; library code logs.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import logging
import os
import sys
from collections.abc import Sequence

from accountrules.errors import AccountRulesError

# a command that reaches a missing optional module says which extra to install and exits 2
from accountrules.io.optional import OPTIONAL_MODULES

# module paths of subcommands, imported lazily so a missing optional extra only breaks its own command
_SUBCOMMANDS = (
    "accountrules.cli_decide",
    "accountrules.testing.cli",
    "accountrules.features.cli",
    "accountrules.cli_diff",
    "accountrules.cli_lint",
    "accountrules.cli_report",
    "accountrules.cli_schema",
)


# what exit status 1 means, per command; 0 and 2 mean the same everywhere
_FINDINGS = {
    "decide": "some rows were refused (see the errors file)",
    "test": "a case failed or errored, no case ran, or coverage is below --min-coverage",
    "check": "a property does not hold",
    "diff": "decisions changed (with --fail-on-change)",
    "lint": "findings at or above --fail-on",
    "features": "not used",
    "report": "not used",
    "schema": "not used",
}


def exit_codes(command: str) -> str:
    """The ``--help`` epilog of ``command``: its exit statuses."""
    one = _FINDINGS.get(command, "findings")
    return f"exit status: 0 ok; 1 {one}; 2 could not run (usage, input or policy error, missing extra)"


def _add_logging_options(parser: argparse.ArgumentParser, default: object) -> None:
    group = parser.add_mutually_exclusive_group()
    options: list[tuple[tuple[str, str], dict[str, object]]] = [
        (("-v", "--verbose"), {"action": "count", "help": "log more to stderr (-vv: debug)"}),
        (("-q", "--quiet"), {"action": "store_true",
                             "help": "only errors and results: no progress, headers or summaries"}),
    ]
    for flags, kwargs in options:
        try:
            group.add_argument(*flags, default=default, **kwargs)  # type: ignore[arg-type]
        except argparse.ArgumentError:
            pass  # the command defines this flag itself (with the same dest, it feeds the same level)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accountrules",
        description="Policy as code for key-account management: decide, test and check YAML policies.",
        epilog="exit status: 0 ok; 1 findings, failed cases or refused rows; 2 could not run. "
               "-v / -q work before or after the command.",
    )
    _add_logging_options(parser, None)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:  # not built yet / not shipped: the other commands still work
                continue
            raise
        module.add_parser(sub)
    for command, p in sub.choices.items():
        # SUPPRESS: given only before the command, the top-level value is kept
        _add_logging_options(p, argparse.SUPPRESS)
        if p.epilog is None:
            p.epilog = exit_codes(command)
    return parser


def log_level(args: argparse.Namespace) -> int:
    """The logging level -v / -q ask for (WARNING by default)."""
    if getattr(args, "quiet", False):
        return logging.ERROR
    verbose = getattr(args, "verbose", None) or 0
    return logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.verbose = args.verbose or 0
    args.quiet = bool(args.quiet)
    logging.basicConfig(level=log_level(args), format="%(message)s", force=True)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code: int = args.func(args)
        return code
    except AccountRulesError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        message = missing_module_message(e)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`| head`): what it wanted was written; silence the flush at exit too
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command cut off by its pipe


def _version() -> str:
    try:
        return importlib.metadata.version("accountrules")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def missing_module_message(e: ModuleNotFoundError) -> str | None:
    """What to install for a missing optional module; None when ``e`` is not about one."""
    root = (e.name or "").partition(".")[0]
    extra = OPTIONAL_MODULES.get(root)
    if extra is None:
        return None
    return f"this command needs {root}, which is not installed: pip install 'accountrules[{extra}]'"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
