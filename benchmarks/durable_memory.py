"""Resident memory over load -> decide -> drop cycles of one durable policy (issue #10).

durable_rules keeps rulesets in its C core; a ruleset that has decided keeps session state that
``delete_ruleset`` does not free. accountrules shares the registered rulesets among policies that
translate to the same rules and keeps a used set for reuse (``evaluate/durable_networks.py``), so
loading, using and dropping the same policy N times should cost its memory once. Prints RSS growth
(Linux ``/proc/self/statm``) after warm-up, per cycle, and the live ruleset sets.

    python benchmarks/durable_memory.py --cycles 200
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os

import accountrules
from accountrules.evaluate.durable_networks import live_networks

ACCOUNTS = [{"id": f"A{i}", "transactions": {"annual_revenue": 900_000 * i, "annual_profit": 240_000 * (i - 3)}}
            for i in range(20)]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def cycle(name: str, decide: bool) -> None:
    policy = accountrules.load_policy(name, engine="durable")
    if decide:
        policy.decide_many(ACCOUNTS, as_of=dt.date(2026, 6, 30), engine="durable")
    del policy
    gc.collect()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--policy", default="express")
    args = ap.parse_args()
    for decide in (False, True):
        for _ in range(5):  # warm up: imports, allocator pools, the first registration
            cycle(args.policy, decide)
        start = rss_mb()
        for _ in range(args.cycles):
            cycle(args.policy, decide)
        grown = rss_mb() - start
        what = "load -> decide 20 accounts -> drop" if decide else "load -> drop (never decided)"
        live, kept = live_networks()
        print(f"{args.policy}, {args.cycles} cycles of {what}: RSS +{grown:.1f} MB "
              f"({grown / args.cycles * 1000:.0f} kB a cycle); live ruleset sets {live}, kept for reuse {kept}")


if __name__ == "__main__":
    main()
