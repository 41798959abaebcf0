"""Decide the shipped sample accounts with the small example policy and print the explanations.

    python examples/small/run.py [zh|en]
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import accountrules

HERE = Path(__file__).resolve().parent


def main(lang: str = "en") -> None:
    policy = accountrules.load_policy(HERE)
    accounts = [json.loads(line) for line in (HERE / "accounts.jsonl").read_text(encoding="utf-8").splitlines()]
    for decision in policy.decide_many(accounts, as_of=dt.date(2026, 6, 30)):
        print(decision.explain(lang))
        print()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "en")
