"""Before/after of one public call as a count of machine instructions: what the machine's drift cannot move.

``ab.py`` times the two trees pair by pair, and on this VM one process can run 1.5x slower than the
next on the same code: a change worth a tenth of the time needs dozens of pairs before its ratio stands
out. Here each side is counted under Valgrind (``cachegrind``, no cache simulation): every instruction
the process executes, the interpreter's, numpy's and Arrow's alike. A process that sets the call up and
makes it once (the warm-up) is counted, and one that makes it ``--calls`` more times; the difference,
divided, is what one call executes. Printed: each count, the median per call of each side, and after /
before.

An instruction count is not a time: a cache miss or a slow division costs more than an addition, so a
claim that a change is faster still needs ``ab.py``. What a count shows is whether the call does less
work, and it shows it with repeats that agree to a fraction of a percent.

    python benchmarks/instructions.py --before /tmp/base/src --after src --input tier-batch --rows 5000

Calls (``--input``), as ``ab.py`` names them: ``tier-batch``: ``decide_many`` of ``--rows`` nested dicts
on the tier table of ``tiers.py`` to a pyarrow Table, per call; ``decide-tier``: ``decide(dict,
trace=False)`` on that table over ``--rows`` accounts, per decision; ``decide``: ``decide(dict,
portfolio=stats, trace=True)`` on the full express policy, per decision; ``csv``, ``csv-plain``,
``table``: ``decide_many`` of the full express policy from a CSV file (every text cell quoted; quoted
only where needed) or a pyarrow Table of ``--rows`` accounts to a pyarrow Table, per call. Needs
``valgrind`` on the PATH (Debian: ``apt-get install valgrind``); the children run with
``PYTHONHASHSEED=0`` so that both sides hash alike.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from timing import library_tree  # noqa: E402

INPUTS = ("tier-batch", "decide-tier", "decide", "csv", "csv-plain", "table")

# one process: set up, one warm call (first-call imports and caches are not counted), then `calls` more
CHILD = """
import datetime as dt, sys
sys.path.insert(0, {here!r})
import accountrules, portfolio, tiers
from pathlib import Path
kind, rows, calls, path = {kind!r}, {rows!r}, {calls!r}, {path!r}
as_of = dt.date(2026, 6, 30)
if kind in ("tier-batch", "decide-tier"):
    policy = accountrules.load_policy(tiers.write_policy(tiers.params(Path({policy!r})), Path({tmp!r}) / "tiers.json"))
    accounts = tiers.nested_accounts(tiers.flat_inputs(rows, 7), rows)
    stats = None
else:
    policy = accountrules.load_policy({policy!r})
if kind == "tier-batch":
    def call():
        policy.decide_many(accounts, as_of=as_of, trace=False).to_arrow()
elif kind in ("decide", "decide-tier"):
    if kind == "decide":
        accounts = portfolio.account_dicts(portfolio.make_columns(rows, 7, as_of), range(rows))
        stats = policy.portfolio_stats(accounts, as_of=as_of)
    trace = kind == "decide"
    def call():
        for a in accounts:
            policy.decide(a, as_of=as_of, portfolio=stats, trace=trace)
else:
    if kind == "table":
        import pyarrow.parquet as pq
        source = pq.read_table(path)
    else:
        source = path
    def call():
        policy.decide_many(source, as_of=as_of, trace=False).to_arrow()
call()
for _ in range(calls):
    call()
"""

_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(stderr: str) -> int:
    """The instruction count of a Valgrind summary (``I refs: 1,234``)."""
    found = _REFS.findall(stderr)
    if not found:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{stderr[-2000:]}")
    return int(found[-1].replace(",", ""))


def per_call(base: int, more: int, calls: int, per: int) -> float:
    """Instructions of one call (``per``: of one decision, a call making ``per`` of them), from the count
    of a process that made the warm call alone (``base``) and of one that made ``calls`` more (``more``)."""
    return (more - base) / (calls * per)


def _inputs(kind: str, rows: int, tmp: Path) -> str:
    """The file the call reads ("" for the calls that make their accounts in the child)."""
    if kind not in ("csv", "csv-plain", "table"):
        return ""
    import portfolio

    return str(portfolio.write_accounts(kind, rows, tmp))


def _count(src: str, kind: str, rows: int, calls: int, path: str, policy: str, tmp: Path) -> int:
    # a folder of its own: the children run at once, and each writes the tier table's policy file
    own = tempfile.mkdtemp(dir=tmp)
    code = CHILD.format(here=str(HERE), policy=policy, kind=kind, rows=rows, calls=calls, path=path, tmp=own)
    # one BLAS thread: OpenBLAS's idle workers spin, and under Valgrind their spinning is counted
    env = {**os.environ, "PYTHONPATH": src, "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--branch-sim=no",
                          "--cachegrind-out-file=/dev/null", sys.executable, "-c", code],
                         env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"the child failed under valgrind ({out.returncode}):\n{out.stderr[-3000:]}")
    return instructions(out.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="the src folder of the tree before")
    ap.add_argument("--after", required=True, help="the src folder of the tree after")
    ap.add_argument("--input", choices=INPUTS, default="tier-batch")
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--calls", type=int, default=4, help="calls beyond the warm one in the counted process")
    ap.add_argument("--repeats", type=int, default=2, help="counts of each side")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes at once (a count is not "
                    "moved by what else runs)")
    ap.add_argument("--policy", default=str(HERE.parent / "rulesets" / "express"))
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("instructions.py: valgrind is not on the PATH (Debian: apt-get install valgrind)")
    # both sides import from caches: compiling is not counted on one side only
    sides = {"before": library_tree(args.before, "instructions.py"),
             "after": library_tree(args.after, "instructions.py")}
    per = args.rows if args.input.startswith("decide") else 1
    unit = "decision" if per > 1 else "call"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        path = _inputs(args.input, args.rows, tmp)
        jobs = [(side, rep, calls) for rep in range(args.repeats) for side in sides for calls in (0, args.calls)]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            counts = list(pool.map(lambda j: _count(sides[j[0]], args.input, args.rows, j[2], path, args.policy,
                                                     tmp), jobs))
    got: dict[str, list[float]] = {"before": [], "after": []}
    done = dict(zip(jobs, counts, strict=True))
    print(f"instructions of {args.input}, {args.rows:,} rows, {args.calls} counted calls, {args.repeats} repeats "
          f"(valgrind cachegrind; per {unit})")
    for side in sides:
        for rep in range(args.repeats):
            base, more = done[(side, rep, 0)], done[(side, rep, args.calls)]
            got[side].append(per_call(base, more, args.calls, per))
            print(f"  {side:6} repeat {rep + 1}: warm call alone {base:,}, with {args.calls} more {more:,}: "
                  f"{got[side][-1]:,.0f} per {unit}")
    med = {k: statistics.median(v) for k, v in got.items()}
    for side in sides:
        print(f"  {side:6} ({sides[side]}): median {med[side]:,.0f} instructions per {unit}")
    print(f"  after / before: {med['after'] / med['before']:.3f} of the instructions")


if __name__ == "__main__":
    main()
