"""Before/after of one public call on a noisy machine: two library trees, interleaved run by run.

On a shared VM the speed of the machine drifts by tens of percent over tens of seconds, so two
benchmark runs one after the other compare the drift, not the code. Here each sample is one fresh
process that imports accountrules from the given ``src`` folder, warms the call up on 1,000 rows,
then times the call once (CPU time of the process); the two trees alternate sample by sample, so
both see the same drift. Printed: every sample, the median of each side, after / before of the medians, and
the median of the pair-by-pair ratios (the two samples of a pair ran seconds apart).

    git archive <rev> | tar -x -C /tmp/base
    python benchmarks/ab.py --before /tmp/base/src --after src --input csv-plain --rows 200000 --pairs 8

Calls (``--input``): ``decide_many`` of the full express policy from a CSV file (``csv``: every
text cell quoted, as pyarrow writes it; ``csv-plain``: quoted only where needed, as Excel and pandas
write it) or a pyarrow Table (``table``) to a pyarrow Table of flat results; ``cli``: ``accountrules
decide`` of the CSV file (``--rows`` rows) to a CSV file, the CPU time of the whole command (``cli-explain``:
with ``--explain``, the two columns of explanations; ``cli-diff``: ``accountrules diff`` of the policy
and a copy whose platinum cut is 0.70 instead of 0.80, on that file, changes to a CSV file); ``load``:
``load_policy`` of a first-hit table of ``--rows`` range rows (``huge_table.py``'s policy; issue 10);
``jsonl``: ``decide_many`` of a JSONL file of nested accounts (one contact each, dates as ISO text);
``dicts``: the same accounts as a list of dicts read before the timer;
``decide``: ``Policy.decide(dict, portfolio=stats, trace=True)`` on the full express policy, ``--rows``
calls over 1,000 generated accounts, each sample the p50 of per-call CPU time; ``decide-trace``: the same
call and the first read of its trace (the entries are built then); ``decide-tier``: the same
with ``trace=False`` on the tier table of ``tiers.py``, the call ``run.py`` compares with the peers;
``tier-batch``: ``decide_many`` of ``--rows`` nested dicts on that tier table to a pyarrow Table, the
batch ``run.py`` compares with the peers; ``decisions``: ``BatchResult.decisions`` of a batch of
``--rows`` accounts (full express policy, with trace) decided before the timer, every Decision built and
held, as a caller listing them does (the cyclic collector's passes over the growing list included);
``small-batch``: ``decide_many`` of a pyarrow Table of ``--rows``
accounts (a CRM's page of them, say 20) to a pyarrow Table, 300 calls over distinct tables, each
sample the p50 of per-call CPU time: what a batch costs beyond its rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from timing import library_tree  # noqa: E402

AS_OF = dt.date(2026, 6, 30)

CHILD = """
import datetime as dt, sys, time
sys.path.insert(0, {here!r})
import accountrules, portfolio
policy = accountrules.load_policy({policy!r})
as_of = dt.date(2026, 6, 30)
kind, path = {kind!r}, {path!r}
if kind == "table":
    import pyarrow.parquet as pq
    source = pq.read_table(path)
    warm = source.slice(0, 1000)
elif kind == "dicts":  # read before the timer, as a caller holds them
    import json
    with open(path, encoding="utf-8") as f:
        source = [json.loads(line) for line in f]
    warm = source[:1000]
else:
    source = path
    warm = portfolio.to_table(portfolio.make_columns(1000, 1, as_of))
policy.decide_many(warm, as_of=as_of, trace=False).to_arrow()
t = time.process_time()
policy.decide_many(source, as_of=as_of, trace=False).to_arrow()
print(time.process_time() - t)
"""


# one account at a time: the p50 of per-call CPU time (thread_time_ns around each public call), over
# distinct accounts; "decide" is the full express policy on generated accounts, "decide-tier" the
# tier table of tiers.py (the peers' table) with trace=False, as run.py's single-call comparison
DECIDE = """
import datetime as dt, statistics, sys, time
sys.path.insert(0, {here!r})
import accountrules, portfolio, tiers
from pathlib import Path
kind, calls = {kind!r}, {rows!r}
as_of = dt.date(2026, 6, 30)
if kind in ("decide", "decide-trace"):
    policy = accountrules.load_policy({policy!r})
    accounts = portfolio.account_dicts(portfolio.make_columns(1000, 7, as_of), range(1000))
    stats = policy.portfolio_stats(accounts, as_of=as_of)
    trace = True
else:
    policy = accountrules.load_policy(tiers.write_policy(tiers.params(Path({policy!r})), Path({tmp!r}) / "tiers.json"))
    accounts = tiers.nested_accounts(tiers.flat_inputs(1000, 7), 1000)
    stats = None
    trace = False
# "decide-trace" also reads the trace, as a caller showing why does: the entries are built on first access
read = kind == "decide-trace"
for a in accounts:
    d = policy.decide(a, as_of=as_of, portfolio=stats, trace=trace)
    if read:
        d.trace[0]
clock = time.thread_time_ns
took = []
for i in range(calls):
    a = accounts[i % len(accounts)]
    t = clock()
    d = policy.decide(a, as_of=as_of, portfolio=stats, trace=trace)
    if read:
        d.trace[0]
    took.append(clock() - t)
print(statistics.median(took) / 1e9)
"""


# the tier table's batch, as run.py's peers section calls it: nested dicts built before the timer
TIER_BATCH = """
import datetime as dt, sys, time
sys.path.insert(0, {here!r})
import accountrules, tiers
from pathlib import Path
as_of = dt.date(2026, 6, 30)
policy = accountrules.load_policy(tiers.write_policy(tiers.params(Path({policy!r})), Path({tmp!r}) / "tiers.json"))
accounts = tiers.nested_accounts(tiers.flat_inputs({rows!r}, 7), {rows!r})
policy.decide_many(accounts[:1000], as_of=as_of, trace=False).to_arrow()
t = time.process_time()
policy.decide_many(accounts, as_of=as_of, trace=False).to_arrow()
print(time.process_time() - t)
"""


# every Decision of a batch built and held: what BatchResult.decisions costs a caller
DECISIONS = """
import datetime as dt, sys, time
sys.path.insert(0, {here!r})
import accountrules, portfolio
as_of = dt.date(2026, 6, 30)
policy = accountrules.load_policy({policy!r})
table = portfolio.to_table(portfolio.make_columns({rows!r}, 7, as_of))
policy.decide_many(table.slice(0, 1000), as_of=as_of).decisions
result = policy.decide_many(table, as_of=as_of)
t = time.process_time()
held = result.decisions
print(time.process_time() - t)
"""


# a small batch, many times: the p50 of per-call CPU time over distinct tables of --rows accounts
SMALL_BATCH = """
import datetime as dt, statistics, sys, time
sys.path.insert(0, {here!r})
import accountrules, portfolio
as_of = dt.date(2026, 6, 30)
policy = accountrules.load_policy({policy!r})
rows, calls = {rows!r}, 300
whole = portfolio.to_table(portfolio.make_columns(rows * calls, 7, as_of))
tables = [whole.slice(i * rows, rows) for i in range(calls)]
for t in tables[:30]:
    policy.decide_many(t, as_of=as_of, trace=False).to_arrow()
clock = time.thread_time_ns
took = []
for t in tables:
    a = clock()
    policy.decide_many(t, as_of=as_of, trace=False).to_arrow()
    took.append(clock() - a)
print(statistics.median(took) / 1e9)
"""


LOAD = """
import sys, time
import accountrules
t = time.process_time()
accountrules.load_policy({path!r})
print(time.process_time() - t)
"""


def _inputs(kind: str, rows: int, tmp: Path) -> Path:
    import portfolio

    if kind.startswith("decide") or kind in ("tier-batch", "small-batch", "decisions"):
        return Path(str(rows))  # no input file: the child makes its accounts; the path carries the call count
    if kind == "load":
        import huge_table

        return huge_table.write_policy(tmp, rows)

    if kind in ("jsonl", "dicts"):  # nested accounts, one contact each, dates as ISO text
        import json

        path = tmp / "accounts.jsonl"
        cols = portfolio.make_columns(rows, 7, AS_OF)
        with path.open("w", encoding="utf-8") as f:
            for a in portfolio.account_dicts(cols, range(rows)):
                f.write(json.dumps(a, default=str) + "\n")
        return path
    path: Path = portfolio.write_accounts(kind, rows, tmp, AS_OF)
    return path


def _changed(policy: Path, tmp: Path) -> Path:
    """A copy of ``policy`` with a lower platinum cut: the change ``cli-diff`` previews."""
    import shutil

    dst = tmp / "changed"
    if not dst.exists():
        shutil.copytree(policy, dst)
        text = (dst / "policy.yaml").read_text(encoding="utf-8")
        assert "platinum_min_percentile: 0.80" in text
        (dst / "policy.yaml").write_text(text.replace("platinum_min_percentile: 0.80", "platinum_min_percentile: 0.70"),
                                         encoding="utf-8")
    return dst


def _sample(src: str, kind: str, path: Path, policy: str, tmp: Path) -> float:
    env = {**os.environ, "PYTHONPATH": src}
    if kind in ("cli", "cli-explain", "cli-diff"):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        if kind == "cli-diff":
            command = ["diff", policy, str(_changed(Path(policy), tmp)), str(path), "-o", str(tmp / "changes.csv")]
        else:
            command = ["decide", policy, str(path), "-o", str(tmp / "out.csv"),
                       *(["--explain"] if kind == "cli-explain" else [])]
        subprocess.run([sys.executable, "-m", "accountrules", *command, "--as-of", AS_OF.isoformat(), "-q"],
                       env=env, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if kind == "load":
        code = LOAD.format(path=str(path))
    elif kind.startswith("decide"):
        code = DECIDE.format(here=str(HERE), policy=policy, kind=kind, rows=int(path.name), tmp=str(tmp))
    elif kind == "tier-batch":
        code = TIER_BATCH.format(here=str(HERE), policy=policy, rows=int(path.name), tmp=str(tmp))
    elif kind == "small-batch":
        code = SMALL_BATCH.format(here=str(HERE), policy=policy, rows=int(path.name))
    elif kind == "decisions":
        code = DECISIONS.format(here=str(HERE), policy=policy, rows=int(path.name))
    else:
        code = CHILD.format(here=str(HERE), policy=policy, kind=kind, path=str(path))
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="the src folder of the tree before")
    ap.add_argument("--after", required=True, help="the src folder of the tree after")
    ap.add_argument("--input", choices=["csv", "csv-plain", "table", "jsonl", "dicts", "cli", "load", "decide",
                                        "decide-tier", "decide-trace", "tier-batch", "small-batch", "cli-explain",
                                        "cli-diff", "decisions"],
                    default="csv-plain")
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--policy", default=str(HERE.parent / "rulesets" / "express"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = _inputs("csv-plain" if args.input.startswith("cli") else args.input, args.rows, tmp)
        # compiled first: a tree without fresh caches (a fresh `git archive`) paid its compiling in every
        # sample of the inputs that time a whole process or an import (cli, cli-explain, cli-diff, load)
        sides = {"before": library_tree(args.before, "ab.py"), "after": library_tree(args.after, "ab.py")}
        got: dict[str, list[float]] = {"before": [], "after": []}
        load = os.getloadavg()[0]
        for i in range(args.pairs):
            order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
            for side in order:
                got[side].append(_sample(sides[side], args.input, path, args.policy, tmp))
            print(f"pair {i + 1}: before {got['before'][-1]:.7f} s, after {got['after'][-1]:.7f} s CPU",
                  file=sys.stderr, flush=True)
    med = {k: statistics.median(v) for k, v in got.items()}
    what = {"cli": "accountrules decide (CSV to CSV)", "cli-explain": "accountrules decide --explain (CSV to CSV)",
            "cli-diff": "accountrules diff (CSV to a CSV of changes)",
            "load": "load_policy (a first-hit table)",
            "decide": "decide(dict, portfolio=stats, trace=True), full express policy, p50 of",
            "decide-tier": "decide(dict, trace=False), the tier table, p50 of",
            "decide-trace": "decide(dict, trace=True).trace[0], p50 of",
            "tier-batch": "decide_many(nested dicts), the tier table",
            "small-batch": "decide_many(pyarrow Table).to_arrow(), full express policy, p50 of 300 calls of",
            "decisions": "BatchResult.decisions of decide_many(pyarrow Table), full express policy, with trace,"}.get(
        args.input, f"decide_many({args.input})")
    per_call = args.input.startswith("decide") or args.input == "small-batch"  # samples are p50s of a call
    print(f"{what}, {args.rows:,} {'calls' if args.input.startswith('decide') else 'rows'}, {args.pairs} interleaved "
          f"pairs, load average {load:.1f} -> {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    for side in ("before", "after"):
        if per_call:
            samples = ", ".join(f"{x * 1e6:.1f}" for x in got[side])
            print(f"  {side:6s} ({sides[side]}): median of p50s {med[side] * 1e6:.1f} us CPU per call; "
                  f"samples {samples}")
            continue
        # three significant digits: a sample of a small batch (0.0112 s) read 0.01 at two decimals
        samples = ", ".join(f"{x:.3g}" for x in got[side])
        print(f"  {side:6s} ({sides[side]}): median {med[side]:.3g} s CPU ({args.rows / med[side]:,.0f} rows/s); "
              f"samples {samples}")
    print(f"  after / before: {med['after'] / med['before']:.2f} of the CPU time ({med['before'] / med['after']:.2f}x)")
    # the two samples of a pair ran seconds apart: their ratio is the one least moved by the machine's drift
    pairs = sorted(a / b for a, b in zip(got["after"], got["before"], strict=True))
    print(f"  pair by pair: median {statistics.median(pairs):.2f} of the CPU time "
          f"({1 / statistics.median(pairs):.2f}x); ratios {', '.join(f'{r:.2f}' for r in pairs)}")


if __name__ == "__main__":
    main()
