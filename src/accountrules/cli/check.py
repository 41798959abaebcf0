"""``accountrules check``: property checks of a policy over generated accounts (needs hypothesis).

``--format json`` prints one JSON object instead of the text; ``-q`` leaves out headers,
passing properties and summaries. A progress bar (one step per property) is drawn on a
terminal; without one, one log line per property goes to stderr unless ``-q``.

Exit status: 0 when every property holds, 1 when one does not, 2 for usage errors and
policies that do not load.
"""

from __future__ import annotations

import argparse
import logging
import tempfile

from accountrules.cli.args import gettext_of, positive, whole_number
from accountrules.cli.output import is_quiet, print_json, silent
from accountrules.cli.progress import Progress, progress_on
from accountrules.i18n import Gettext, translated
from accountrules.testing.reports import check_report
from accountrules.testing.runner import format_location, load_policy_for, summary_line

__all__ = ["add_parser", "run", "run_check"]


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``check``; sets ``func=run``."""
    _ = gettext_of(subparsers)
    c = subparsers.add_parser(
        "check",
        help=_("check properties of a policy over generated accounts (completeness, determinism, monotonic); "
               "needs the 'check' extra"),
        description=_(
            "Generate accounts near the policy's thresholds and check: every account gets a tier and a "
            "stage, decisions are deterministic and survive JSON, and every 'monotonic:' declaration "
            "holds. A failure prints its smallest counterexample as a test case to paste into tests/. "
            "Needs hypothesis, from the 'check' extra: pip install 'accountrules[check]'."
        ),
    )
    c.add_argument("policy", metavar="POLICY", help=_("policy directory (with policy.yaml) or policy file"))
    c.add_argument("--examples", type=positive(_), default=100, metavar="N",
                   help=_("generated examples per property (default 100)"))
    c.add_argument("--seed", type=whole_number(_), default=None, metavar="S",
                   help=_("random seed, for a reproducible run"))
    c.add_argument("--format", choices=("text", "json"), default="text",
                   help=_("text (default) or one JSON object on stdout (properties, counterexamples, counts, ok)"))
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    return run_check(args)


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

    _: Gettext = getattr(args, "gettext", str)
    policy, engines, note = load_policy_for(args.policy)
    text = args.format == "text"
    say = print if text and not is_quiet(args) else silent
    out = print if text else silent
    why = f" ({note})" if note else ""
    seed = _(", seed {seed}").format(seed=args.seed) if args.seed is not None else ""
    say(_("policy {name} {version} ({path}); {examples} examples per property").format(
        name=policy.name, version=policy.version, path=args.policy, examples=args.examples)
        + seed + "; " + _("engine: {engines}").format(engines=", ".join(engines)) + why)
    # a full check runs for tens of seconds: a bar over the examples on a terminal; elsewhere one
    # log line per property on stderr; neither with -q
    bar_on = progress_on(args)
    lines_on = not is_quiet(args) and not bar_on
    logging.getLogger("accountrules.testing.properties").setLevel(logging.INFO if lines_on else logging.ERROR)
    with Progress(bar_on, _, unit="examples") as bar:
        results = run_properties(policy, examples=args.examples, seed=args.seed, engines=engines, progress=bar)
    passed = failed = 0
    for r in results:
        if r.skipped is not None:
            say(_("SKIP").ljust(5) + f" {r.name}: {translated(r.skipped, _)}")
        elif r.failure is None:
            passed += 1
            say(_("PASS").ljust(5) + f" {r.name}")
        else:
            failed += 1
            f = r.failure
            where = f"  ({format_location(f.location)})" if f.location else ""
            out(_("FAIL").ljust(5) + f" {r.name}{where}")
            out(f"      {translated(f.message, _)}")
            out("      " + _("counterexample, as a test case (paste into the policy's tests/ directory):"))
            for line in f.counterexample_in(_).splitlines():
                out(f"        {line}")
    say(summary_line(passed, failed, 0, _))
    if not text:
        print_json(check_report(policy, args.policy, results, examples=args.examples, seed=args.seed, engines=engines))
    return 1 if failed else 0
