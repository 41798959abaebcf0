"""Bytecodes and Python calls one public ``decide(dict)`` runs: a count, not a timing.

    python benchmarks/bytecodes.py [--calls 200] [--src src] [--top 0]

On a machine whose speed drifts, a count of the work a call does is a figure two trees can be
compared by without interleaving: ``sys.settrace`` with opcode events counts the bytecodes each
Python function executes and the Python functions entered, over ``--calls`` distinct accounts after
as many untimed calls. Built-in (C) calls and what they do inside are not counted; the time a
bytecode takes varies with what it does, so this says where the interpreter's work is, not how
long it takes (``ab.py`` says that). Two calls:

- ``tiers``: ``decide(dict, trace=False)`` on the tier table of ``tiers.py``, the call ``run.py``
  compares with zen-engine's and durable_rules' single calls;
- ``express``: ``decide(dict, portfolio=stats, trace=True)`` on the full express policy, the
  accounts of ``portfolio.account_dicts``.

``--src`` imports accountrules from that folder (another tree, ``git archive <rev> src``); ``--top N``
also prints the N functions that run the most bytecodes.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import importlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import portfolio  # noqa: E402
import tiers  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


def count(call: Callable[[Any], Any], args: list[Any]) -> tuple[collections.Counter[str], collections.Counter[str]]:
    """Bytecodes and entries per function (``file:name``) over one call per item of ``args``."""
    ops: collections.Counter[str] = collections.Counter()
    entered: collections.Counter[str] = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        key = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
        if event == "call":
            entered[key] += 1
        elif event == "opcode":
            ops[key] += 1
        return tracer

    sys.settrace(tracer)
    try:
        for a in args:
            call(a)
    finally:
        sys.settrace(None)
    return ops, entered


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--src", help="import accountrules from this folder")
    ap.add_argument("--policy", default=str(HERE.parent / "rulesets" / "express"))
    ap.add_argument("--top", type=int, default=0)
    args = ap.parse_args()
    if args.src:
        sys.path.insert(0, str(Path(args.src).resolve()))
    accountrules = importlib.import_module("accountrules")
    n = args.calls

    with tempfile.TemporaryDirectory() as tmp:
        tpol = accountrules.load_policy(tiers.write_policy(tiers.params(Path(args.policy)), Path(tmp) / "t.json"))
    tier_accounts = tiers.nested_accounts(tiers.flat_inputs(2 * n, 7), 2 * n)
    express = accountrules.load_policy(args.policy)
    accounts = portfolio.account_dicts(portfolio.make_columns(2 * n, 7, AS_OF), range(2 * n))
    stats = express.portfolio_stats(accounts, as_of=AS_OF)
    calls: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {
        "tiers": (lambda a: tpol.decide(a, as_of=AS_OF, trace=False), tier_accounts),
        "express": (lambda a: express.decide(a, as_of=AS_OF, portfolio=stats, trace=True), accounts),
    }
    print(f"accountrules from {Path(accountrules.__file__).parent}; {n:,} calls each, after {n:,} untimed ones")
    for name, (call, pool) in calls.items():
        for a in pool[n:]:
            call(a)
        ops, entered = count(call, pool[:n])
        print(f"{name:8s} {sum(ops.values()) / n:8.1f} bytecodes, {sum(entered.values()) / n:6.1f} Python calls "
              "a decision")
        for key, k in ops.most_common(args.top):
            print(f"    {k / n:8.1f} {entered[key] / n:6.2f}  {key}")


if __name__ == "__main__":
    main()
