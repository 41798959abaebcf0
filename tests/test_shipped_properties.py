"""The shipped policies keep their properties: complete, deterministic, JSON-safe, monotonic as declared.

The same checks as ``accountrules check rulesets/<name>``, with fewer examples so CI stays fast;
the seed is fixed so a failure reproduces.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import accountrules
from accountrules.testing.properties import check_policy_properties

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["express", "postal"])
def test_shipped_policy_properties_hold(name: str) -> None:
    policy = accountrules.load_policy(ROOT / "rulesets" / name)
    assert policy.spec.monotonic, "the shipped policies declare monotonic properties"
    failures = check_policy_properties(policy, examples=40, seed=20260630)
    assert not failures, "\n\n".join(f"{f}\n{f.counterexample}" for f in failures)
