"""The ``accountrules`` command line. Each subcommand lives in its own module of this package.

A subcommand module exposes ``add_parser(subparsers)`` (registering its parser
and setting ``func=run``) and ``run(args) -> int``; a new command is a new module and one
line in ``_SUBCOMMANDS``. The CLI is the only place that prints; library code logs.

argparse, not click: it is the standard library (the base install stays pydantic and
PyYAML), every command module registers itself through ``add_parser(subparsers)``, which
commands written in parallel (and third parties) already follow, and its usage errors
already exit 2 as ours must. What made the old CLI hard to keep was not argparse but five
copies of the same helpers; they now live once in :mod:`accountrules.cli.args`.

Every message is in Chinese or English (:mod:`accountrules.i18n`): ``--lang`` before or
after the command, else the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import logging
import os
import re
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from accountrules.cli.args import gettext_of, lang_choice
from accountrules.cli.messages import CommandError, error_line
from accountrules.errors import AccountRulesError
from accountrules.i18n import N_, Gettext, UnknownLanguageError, gettext_for, lang_from_env, normalise_lang

# a command that reaches a missing optional module says which extra to install and exits 2
from accountrules.io.optional import OPTIONAL_MODULES

__all__ = ["OPTIONAL_MODULES", "Parser", "build_parser", "console", "exit_codes", "log_level", "main",
           "missing_module_message", "requested_lang"]

# module paths of subcommands, imported lazily so a missing optional extra only breaks its own command
_SUBCOMMANDS = (
    "accountrules.cli.decide",
    "accountrules.cli.test",
    "accountrules.cli.check",
    "accountrules.cli.features",
    "accountrules.cli.diff",
    "accountrules.cli.lint",
    "accountrules.cli.report",
    "accountrules.backtest.cli",
    "accountrules.cli.schema",
)


# what exit status 1 means, per command; 0 and 2 mean the same everywhere
_FINDINGS = {
    "decide": N_("some rows were refused (see the errors file)"),
    "test": N_("a case failed or errored, no case ran, or coverage is below --min-coverage"),
    "check": N_("a property does not hold"),
    "diff": N_("decisions changed (with --fail-on-change)"),
    "lint": N_("findings at or above --fail-on"),
    "features": N_("not used"),
    "report": N_("not used"),
    "backtest": N_("not used"),
    "schema": N_("not used"),
}


def exit_codes(command: str, _: Gettext = str) -> str:
    """The ``--help`` epilog of ``command``: its exit statuses."""
    one = _(_FINDINGS.get(command, N_("findings")))
    return _("exit status: 0 ok; 1 {findings}; 2 could not run (usage, input or policy error, missing extra)"
             ).format(findings=one)


# argparse's own messages, as it formats them (it translates through the process-wide gettext domain,
# which a library must not set): translated here by pattern
_ARGPARSE = (
    (re.compile(r"the following arguments are required: (.*)"), N_("the following arguments are required: {0}")),
    (re.compile(r"unrecognized arguments: (.*)"), N_("unrecognized arguments: {0}")),
    (re.compile(r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)"),
     N_("argument {0}: invalid choice: {1} (choose from {2})")),
    (re.compile(r"argument (\S+): expected one argument"), N_("argument {0}: expected one argument")),
    (re.compile(r"argument (\S+): not allowed with argument (\S+)"), N_("argument {0}: not allowed with argument {1}")),
    (re.compile(r"argument (\S+): invalid \S+ value: (.*)"), N_("argument {0}: invalid value: {1}")),
    (re.compile(r"argument (\S+): (.*)"), N_("argument {0}: {1}")),
)
_HEADINGS = (N_("usage: "), N_("positional arguments:"), N_("options:"), N_("show this help message and exit"),
             N_("show program's version number and exit"))


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose own messages and headings are in the command line's language."""

    def __init__(self, *args: Any, gettext: Gettext = str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.gettext = gettext
        # a command with an optional positional after a required one (report POLICY [ACCOUNTS]) sets this:
        # plain argparse fills both positionals from the first run of them, so ACCOUNTS after an option is refused
        self.intermixed = False
        self._parsing = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if not self.intermixed or self._parsing:
            return super().parse_known_args(args, namespace)
        self._parsing = True  # parse_known_intermixed_args calls back into parse_known_args
        saved = self.usage
        if saved is None:
            # argparse keeps format_usage()[7:] as the usage while it parses, cutting off "usage: ": of our
            # translated heading ("用法：", 3 characters) it cut the program's name ("untrules report")
            self.usage = argparse.ArgumentParser.format_usage(self).removeprefix("usage: ")
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._parsing = False
            self.usage = saved

    def _tr(self, text: str) -> str:
        for english in _HEADINGS:
            text = text.replace(english, self.gettext(english))
        return text

    def format_usage(self) -> str:
        return self._tr(super().format_usage())

    def format_help(self) -> str:
        return self._tr(super().format_help())

    def error(self, message: str) -> Any:
        _ = self.gettext
        for pattern, msgid in _ARGPARSE:
            m = pattern.fullmatch(message)
            if m:
                message = _(msgid).format(*m.groups())
                break
        # one line, as for every bad input; the usage is one --help away
        line = _("error: {message}").format(message=message)
        self.exit(2, f"{self.prog}: {line} " + _("(see {prog} --help)").format(prog=self.prog) + "\n")


def _add_common_options(parser: argparse.ArgumentParser, default: object, _: Gettext) -> None:
    group = parser.add_mutually_exclusive_group()
    options: list[tuple[Any, tuple[str, ...], dict[str, object]]] = [
        (group, ("-v", "--verbose"), {"action": "count", "help": _("log more to stderr (-vv: debug)")}),
        (group, ("-q", "--quiet"), {"action": "store_true",
                                    "help": _("only errors and results: no progress, headers or summaries")}),
        (parser, ("--progress",), {"action": "store_true",
                                   "help": _("draw progress bars on stderr even when it is not a terminal")}),
        (parser, ("--lang",), {"type": lang_choice(_), "metavar": "{zh,en}",
                               "help": _("language of messages, labels and explanations: zh or en (default: "
                                         "from the locale, LANGUAGE/LC_ALL/LC_MESSAGES/LANG)")}),
    ]
    for where, flags, kwargs in options:
        try:
            where.add_argument(*flags, default=default, **kwargs)
        except argparse.ArgumentError:
            pass  # the command defines this flag itself (with the same dest, it feeds the same value)


def build_parser(lang: str = "en") -> argparse.ArgumentParser:
    """The whole command line, its texts in ``lang``."""
    _ = gettext_for(lang)
    parser = Parser(
        prog="accountrules",
        description=_("Policy as code for key-account management: decide, test and check YAML policies."),
        epilog=_("exit status: 0 ok; 1 findings, failed cases or refused rows; 2 could not run. "
                 "-v / -q / --lang work before or after the command."),
        gettext=_,
    )
    _add_common_options(parser, None, _)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help=_("show program's version number and exit"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.gettext = _  # type: ignore[attr-defined]  # read by args.gettext_of in each add_parser
    for name in _SUBCOMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:  # not built yet / not shipped: the other commands still work
                continue
            raise
        module.add_parser(sub)
    for command, p in sub.choices.items():
        p.gettext = _
        # SUPPRESS: given only before the command, the top-level value is kept
        _add_common_options(p, argparse.SUPPRESS, _)
        if p.epilog is None:
            p.epilog = exit_codes(command, _)
    return parser


def log_level(args: argparse.Namespace) -> int:
    """The logging level -v / -q ask for (WARNING by default)."""
    if getattr(args, "quiet", False):
        return logging.ERROR
    verbose = getattr(args, "verbose", None) or 0
    return logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING


def requested_lang(argv: Sequence[str], environ: Any = None) -> str:
    """The language of this run before its arguments are parsed (so usage errors are in it too):
    the last ``--lang`` given, else the locale's."""
    lang: str | None = None
    for i, a in enumerate(argv):
        value = a.partition("=")[2] if a.startswith("--lang=") else argv[i + 1] if a == "--lang" and \
            i + 1 < len(argv) else None
        if value is not None:
            try:
                lang = normalise_lang(value)
            except UnknownLanguageError:
                pass  # the parser reports it
    return lang or lang_from_env(environ)


def console() -> int:
    """The ``accountrules`` program (the console script and ``python -m accountrules``): :func:`main` on
    ``sys.argv``, in a process of its own.

    numpy's bundled OpenBLAS starts a worker for each core beyond the first when numpy is imported, and
    each spins on its core a while (OpenBLAS's thread timeout) waiting for matrix work: of the commands,
    only ``backtest``'s BG/NBD fit calls BLAS at all (vector products). The program asks for one BLAS
    thread unless its caller chose a number (``docs/performance.md`` has what ``benchmarks/ab.py --input
    cli`` printed for it). Only here: :func:`main` may run inside someone else's process, whose
    environment is not ours to change. Importing this
    package does not import numpy (``tests/test_cli_console.py``), so the setting is read in time."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return main()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    lang = requested_lang(argv)
    parser = build_parser(lang)
    args = parser.parse_args(argv)
    args.verbose = args.verbose or 0
    args.quiet = bool(args.quiet)
    args.progress = bool(getattr(args, "progress", False))
    args.lang = args.lang or lang
    _ = gettext_of(parser)
    args.gettext = _
    logging.basicConfig(level=log_level(args), format="%(message)s", force=True)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    # every command's error line names it, as argparse's do and as decide/diff/report/features print theirs
    who = f"accountrules {args.command}: " if getattr(args, "command", None) else "accountrules: "
    try:
        code: int = args.func(args)
        return code
    except AccountRulesError as e:
        print(who + error_line(e, _), file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        message = missing_module_message(e, _)
        if message is None:
            raise
        print(who + _("error: {message}").format(message=message), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`| head`): what it wanted was written; silence the flush at exit too
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a command cut off by its pipe
    except (CommandError, OSError) as e:  # a path that is missing, a folder, not readable: one line
        print(who + error_line(e, _), file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - a bug must not exit 1, which means findings or refused rows
        traceback.print_exc()
        print(who + _("error: unexpected failure (above)"), file=sys.stderr)
        return 2


def _version() -> str:
    try:
        return importlib.metadata.version("accountrules")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def missing_module_message(e: ModuleNotFoundError, _: Gettext = str) -> str | None:
    """What to install for a missing optional module; None when ``e`` is not about one."""
    root = (e.name or "").partition(".")[0]
    extra = OPTIONAL_MODULES.get(root)
    if extra is None:
        return None
    return _("this command needs {module}, which is not installed: pip install 'accountrules[{extra}]'").format(
        module=root, extra=extra)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
