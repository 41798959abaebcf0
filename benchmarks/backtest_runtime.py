"""Runtime of the full CDNOW backtest on one core (docs/backtest.md quotes what this prints).

    python benchmarks/backtest_runtime.py [--reps 3] [--write docs/backtest.md]

Pinned to one CPU (``sched_setaffinity``, inherited by the child process) with numeric libraries
limited to one thread. Two measurements of the same work (express policy, CDNOW_master.txt,
T = 1997-12-31, 26 weeks cut at the log's end, 1,000 bootstrap resamples, no sweep):

* ``accountrules backtest ...`` as a fresh process: interpreter start, imports, reading the log,
  everything, as a user runs it (one run; wall and CPU time of the child);
* ``backtest(...)`` called in this process after one untimed warm-up: median of ``--reps`` runs.

Target: 10 s. The machine's load average is printed alongside: wall time on a shared machine
includes waiting for the CPU; CPU time does not.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported anywhere

import argparse  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import measure, run_child  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from cdnow_data import CDNOW_DIR  # noqa: E402

LOG = CDNOW_DIR / "CDNOW_master.txt"  # the real log vendored in tests/data/cdnow/
TARGET_S = 10.0
START, END = "<!-- backtest-runtime:start -->", "<!-- backtest-runtime:end -->"
ARGS = ["--as-of", "1997-12-31", "--horizon", "26w", "--clip-horizon", "--log-end", "1998-06-30",
        "--id-col", "customer_id", "--amount-col", "dollar_value", "--date-format", "%Y%m%d", "--format", "json"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="time the full CDNOW backtest on one core")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--write", type=Path, metavar="DOC", help="replace the runtime block of DOC with the output")
    args = p.parse_args(argv)
    if not LOG.is_file():
        print(f"missing: {LOG}", file=sys.stderr)
        return 2
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from accountrules.backtest import backtest
    from accountrules.features import ColumnMap

    exe = shutil.which("accountrules") or "accountrules"
    cold = run_child([exe, "backtest", "express", str(LOG), *ARGS])
    if cold.returncode != 0:
        print(f"accountrules backtest failed ({cold.returncode}): {cold.stderr}", file=sys.stderr)
        return 1
    columns = ColumnMap(account_id="customer_id", date="date", amount="dollar_value", date_format="%Y%m%d")

    def call(_: object) -> object:
        return backtest("express", LOG, as_of=date(1997, 12, 31), horizon="26w", clip_horizon=True,
                        log_end=date(1998, 6, 30), columns=columns)

    warm = measure(call, 1, args.reps)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    lines = [
        f"{date.today()}: full CDNOW backtest (69,659 orders, 23,570 accounts; 1,000 resamples; no sweep), "
        f"pinned to {cores} core, Python {platform.python_version()}, load average {load[0]:.1f}",
        "",
        "| run | wall s | CPU s | target |",
        "|---|---|---|---|",
        f"| `accountrules backtest` (fresh process, 1 run) | {cold.wall_s:.2f} | {cold.cpu_s:.2f} | "
        f"{_met(cold.cpu_s, cold.wall_s)} |",
        f"| `backtest()` warm (median of {args.reps}) | {warm.wall_s:.2f} | {warm.cpu_s:.2f} | "
        f"{_met(warm.cpu_s, warm.wall_s)} |",
    ]
    text = "\n".join(lines)
    if args.write:
        doc = args.write.read_text(encoding="utf-8")
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
        if not pattern.search(doc):
            print(f"no {START} ... {END} block in {args.write}", file=sys.stderr)
            return 2
        args.write.write_text(pattern.sub(lambda _: f"{START}\n{text}\n{END}", doc), encoding="utf-8")
    print(text)
    return 0


def _met(cpu: float, wall: float) -> str:
    if wall <= TARGET_S:
        return f"≤ {TARGET_S:.0f} s: met"
    if cpu <= TARGET_S:
        return f"≤ {TARGET_S:.0f} s: met in CPU time, not in wall time (shared machine)"
    return f"≤ {TARGET_S:.0f} s: **not met**"


if __name__ == "__main__":
    sys.exit(main())
