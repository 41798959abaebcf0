"""Latency and weight of one ``Policy.decide()`` call, end to end, on the express policy.

    python benchmarks/latency.py [--calls 20000] [--policy rulesets/express] [--json out.json]

The accounts are the two of the README quick start; ``portfolio`` is
``policy.portfolio_stats(accounts)``, as the README shows. Every figure is the CPU time of
one public call (``time.thread_time_ns`` around it), p50 and p99 over the same number of
calls, each variant timed in turn (round robin) so background load hits them alike.

Sections:
  (a) public calls: ``decide(dict)`` with and without trace, ``decide(Account)`` with and
      without trace, and what a caller pays later on a returned Decision (first access to the
      trace, ``model_dump_json()``, ``explain()``);
  (b) the per-stage split (INTERNAL figures, labelled as such: they time the library's internal
      functions one by one, not a public call): reading a plain dict into its env with the reader
      decide(dict) uses (the rules' lines then run on that env), or validating it into an Account
      and flattening that (the way of an Account and of a dict the reader steps aside for),
      evaluating the rules (and the same with the matches replayed from a recording: what the driver and
      the metrics cost around the row conditions), dressing the Decision; and, first, decide(dict)'s
      own steps in a row (its reader, the rules, the dressing with trace), then the same with the
      matches replayed: in one round robin, what the call would cost if no row condition took any time;
  (c) the weight of one Decision: a deep size (``sys.getsizeof`` summed over every object
      reachable from the Decision, each counted once, not counting objects the Policy or the
      imported modules already hold: labels, titles, the policy reference, small ints), as
      returned and after its trace is built; and, as a cross-check, the bytes tracemalloc sees
      retained per Decision when 2,000 of them are kept;
  (d) the calls one ``decide()`` makes: Python functions entered and built-in (C) functions called,
      counted by a ``sys.setprofile`` hook over 200 calls (a count, not a timing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import accountrules  # noqa: E402
from accountrules.evaluate.accounts import env_of, to_account  # noqa: E402
from accountrules.evaluate.dict_env import lean_reader_of  # noqa: E402
from accountrules.evaluate.driver import COMPILED, run, to_decision  # noqa: E402

AS_OF = dt.date(2026, 6, 30)
ACCOUNTS: list[dict[str, Any]] = [  # the README quick start
    {"id": "KA-001", "transactions": {"annual_profit": 2_400_000, "marketing_cost": 120_000,
                                      "annual_revenue": 9_000_000, "recency_days": 3},
     "relationship": {"stage": "stable", "share_of_wallet": 0.72, "previous_tier": "gold"}},
    {"id": "KA-002", "transactions": {"annual_profit": 90_000, "marketing_cost": 150_000,
                                      "annual_revenue": 800_000, "recency_days": 200},
     "relationship": {"stage": "initial", "share_of_wallet": 0.3}},
]


# ---- timing --------------------------------------------------------------------------------------------


def round_robin(variants: dict[str, Callable[[], Any]], calls: int) -> dict[str, dict[str, float]]:
    """CPU µs per call of each variant: p50, p99 and mean over ``calls`` calls, interleaved."""
    samples: dict[str, list[int]] = {name: [] for name in variants}
    clock = time.thread_time_ns
    for fn in variants.values():  # warm up (first-call imports, lazily built parts)
        for _ in range(50):
            fn()
    for _ in range(calls):
        for name, fn in variants.items():
            t0 = clock()
            fn()
            samples[name].append(clock() - t0)
    out = {}
    for name, xs in samples.items():
        xs.sort()
        out[name] = {"p50": xs[len(xs) // 2] / 1000, "p99": xs[int(len(xs) * 0.99)] / 1000,
                     "mean": sum(xs) / len(xs) / 1000}
    return out


class Replay:
    """A matcher answering from a recording of the compiled one: ``run`` with it costs what the
    driver costs around the conditions (metrics and the churn score are still computed)."""

    def __init__(self, plan: Any, env: dict[str, Any], account_id: str, stats: Any) -> None:
        self.answers: list[list[int]] = []
        recorder = self

        class Recording:
            def match(self, section: str, rows: Any, env: Any, first_only: bool) -> list[int]:
                out = COMPILED.match(section, rows, env, first_only)
                recorder.answers.append(out)
                return out

        run(plan, dict(env), Recording(), account_id, AS_OF, stats)
        self.i = 0

    def match(self, section: str, rows: Any, env: Any, first_only: bool) -> list[int]:
        out = self.answers[self.i % len(self.answers)]
        self.i += 1
        return out


def dict_reader(policy: accountrules.Policy, one: dict[str, Any]) -> Callable[[Any], dict[str, Any]]:
    """The reader ``decide(dict)`` uses for ``policy``, checked to read ``one`` (None: decide would take the
    model's way, and the split would time a step the call does not make)."""
    reader = lean_reader_of(policy.plan)
    if reader.env(one) is None:
        raise ValueError("decide() would read this account through the model, not the dict reader")
    return cast(Callable[[Any], dict[str, Any]], reader.env)


def decide_steps(policy: accountrules.Policy, one: dict[str, Any], stats: Any, matcher: Any) -> Callable[[], Any]:
    """``decide(one, trace=True)``'s own steps in a row (its dict reader, the rules over ``matcher``, the
    dressing), without the call's argument checks: with a :class:`Replay`, what the call would cost if no
    row condition took any time."""
    plan = policy.plan
    read = dict_reader(policy, one)
    aid = one["id"]
    return lambda: to_decision(plan, run(plan, read(one), matcher, aid, AS_OF, stats), aid, AS_OF, policy.ref, True)


# ---- weight --------------------------------------------------------------------------------------------


def reachable(roots: Iterable[Any]) -> set[int]:
    """Ids of every object reachable from ``roots`` (by ``gc.get_referents``)."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        stack.extend(gc.get_referents(o))
    return seen


def deep_size(obj: Any, shared: set[int]) -> tuple[int, int]:
    """``(bytes, objects)`` reachable from ``obj``, each object once, none of ``shared``."""
    seen = set(shared)
    total = count = 0
    stack = [obj]
    while stack:
        o = stack.pop()
        if id(o) in seen or isinstance(o, type):
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        count += 1
        stack.extend(gc.get_referents(o))
    return total, count


def shared_objects(policy: accountrules.Policy) -> set[int]:
    """What a Decision may point to without owning it: the Policy and everything the modules hold."""
    roots: list[Any] = [policy, None, True, False, *range(-5, 257)]
    roots += [vars(m) for name, m in list(sys.modules.items())
              if name.split(".")[0] in ("accountrules", "pydantic", "pydantic_core", "datetime", "enum")]
    return reachable(roots)


def retained_per_decision(make: Callable[[], Any], n: int = 2000) -> float:
    """Bytes tracemalloc sees allocated and still held per Decision when ``n`` are kept."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept = [make() for _ in range(n)]
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del kept
    return (after - before) / n


# ---- main ----------------------------------------------------------------------------------------------


def calls_per_decision(call: Callable[[], Any], n: int = 200) -> tuple[float, float]:
    """(Python functions entered, built-in functions called) per call of ``call``, averaged over ``n``."""
    counts = {"call": 0, "c_call": 0}

    def hook(frame: Any, event: str, arg: Any) -> None:
        if event in counts:
            counts[event] += 1

    call()  # first-use work (lazily built parts) is not counted
    sys.setprofile(hook)
    try:
        for _ in range(n):
            call()
    finally:
        sys.setprofile(None)
    return counts["call"] / n, counts["c_call"] / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--policy", default=str(ROOT / "rulesets" / "express"))
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()

    policy = accountrules.load_policy(args.policy)
    stats = policy.portfolio_stats(ACCOUNTS, as_of=AS_OF)
    one = ACCOUNTS[0]
    account = accountrules.Account.model_validate(one)
    plan = policy.plan
    R: dict[str, Any] = {"machine": {"python": platform.python_version(), "platform": platform.platform()},
                         "calls": args.calls, "policy": policy.name}

    def decide(acc: Any, trace: bool) -> Callable[[], Any]:
        return lambda: policy.decide(acc, as_of=AS_OF, portfolio=stats, trace=trace)

    def fresh() -> Any:
        return policy.decide(one, as_of=AS_OF, portfolio=stats)

    # the accounts run.py's single-call section decides: generated, more fields set, one contact each
    import portfolio
    generated = portfolio.account_dicts(portfolio.make_columns(1000, 7, AS_OF), range(1000))
    generated_stats = policy.portfolio_stats(generated, as_of=AS_OF)
    turn = iter(range(1 << 62))

    def decide_generated() -> Any:
        a = generated[next(turn) % len(generated)]
        return policy.decide(a, as_of=AS_OF, portfolio=generated_stats, trace=True)

    print(f"policy {policy.name} {policy.version}; python {platform.python_version()}; accountrules from "
          f"{Path(accountrules.__file__).parent}; {args.calls:,} calls per variant, CPU time per call (µs)\n")
    public = round_robin({
        "decide(dict, trace=True)": decide(one, True),
        "decide(dict, trace=False)": decide(one, False),
        "decide(Account, trace=True)": decide(account, True),
        "decide(Account, trace=False)": decide(account, False),
        "decide(dict) + first access to .trace": lambda: fresh().trace[0],
        "decide(dict) + model_dump_json()": lambda: fresh().model_dump_json(),
        "decide(dict) + explain('en')": lambda: fresh().explain("en"),
        "decide(generated dicts, trace=True)": decide_generated,
    }, args.calls)
    R["public"] = public
    print("(a) public calls                                     p50        p99       mean")
    for name, v in public.items():
        print(f"    {name:<44} {v['p50']:>8.1f} {v['p99']:>10.1f} {v['mean']:>10.1f}")

    # every line reads the dict as decide(dict) does, and runs on the env that reader gives
    read_dict = dict_reader(policy, one)
    env = read_dict(one)
    raw = run(plan, dict(env), COMPILED, account.id, AS_OF, stats)
    # one replay serves both of its lines: a run asks it as many times as it recorded, so each starts in step
    replay = Replay(plan, env, account.id, stats)
    internal = round_robin({
        "decide(dict)'s steps, trace=True": decide_steps(policy, one, stats, COMPILED),
        "  the same, matches replayed": decide_steps(policy, one, stats, replay),
        "read the dict into its env (dict_env)": lambda: read_dict(one),
        "or: validate the dict (to_account)": lambda: to_account(one),
        "  and flatten it (env_of)": lambda: env_of(account, plan.extra_fields),
        "evaluate the rules (driver.run)": lambda: run(plan, dict(env), COMPILED, account.id, AS_OF, stats),
        "  of which: run with matches replayed": lambda: run(plan, dict(env), replay, account.id, AS_OF, stats),
        "dress, trace=True (to_decision)": lambda: to_decision(plan, raw, account.id, AS_OF, policy.ref, True),
        "dress, trace=False (to_decision)": lambda: to_decision(plan, raw, account.id, AS_OF, policy.ref, False),
        "copy of the env (included in the run line)": lambda: dict(env),
    }, args.calls // 2)
    R["internal"] = internal
    print("\n(b) INTERNAL per-stage split (internal functions, not public calls)")
    for name, v in internal.items():
        print(f"    {name:<44} {v['p50']:>8.1f} {v['p99']:>10.1f} {v['mean']:>10.1f}")

    shared = shared_objects(policy)
    with_trace = fresh()
    without = policy.decide(one, as_of=AS_OF, portfolio=stats, trace=False)
    sizes = {"trace=True, as returned": deep_size(with_trace, shared),
             "trace=False": deep_size(without, shared)}
    with_trace.trace[0]  # noqa: B018  (build the trace)
    sizes["trace=True, trace built"] = deep_size(with_trace, shared)
    retained = {"trace=True, as returned": retained_per_decision(fresh),
                "trace=False": retained_per_decision(
                    lambda: policy.decide(one, as_of=AS_OF, portfolio=stats, trace=False)),
                "trace=True, trace built": retained_per_decision(lambda: (d := fresh(), len(d.trace))[0])}
    R["size"] = {k: {"bytes": b, "objects": n} for k, (b, n) in sizes.items()}
    R["retained"] = retained
    print("\n(c) weight of one Decision                deep size   objects   tracemalloc retained")
    for key, (b, n) in sizes.items():
        print(f"    {key:<36} {b:>9,} B {n:>9} {retained[key]:>14,.0f} B")
    print(f"    ({len(with_trace.trace)} trace entries, {len(with_trace.actions)} actions)")
    print("\n(d) calls one decide() makes (a count)       Python   built-in")
    R["calls_per_decision"] = {}
    for name, fn in (("decide(dict, trace=True)", decide(one, True)),
                     ("decide(dict, trace=False)", decide(one, False))):
        py, c = calls_per_decision(fn)
        R["calls_per_decision"][name] = {"python": py, "builtin": c}
        print(f"    {name:<40} {py:>8.0f} {c:>10.0f}")
    if args.json:
        Path(args.json).write_text(json.dumps(R, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
