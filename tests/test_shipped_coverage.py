"""The shipped policies' YAML cases pass and decide with every rule at least once (100% coverage),
as the README and the closing notes say; the pytest plugin runs the cases, this gate checks coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

import accountrules
from accountrules.testing.cases import default_case_paths, load_case_file
from accountrules.testing.runner import run_cases

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("name", "minimum_cases"), [("express", 40), ("postal", 40)])
def test_shipped_cases_pass_with_full_coverage(name: str, minimum_cases: int) -> None:
    path = ROOT / "rulesets" / name
    policy = accountrules.load_policy(path)
    files = [load_case_file(p, policy) for p in default_case_paths(path)]
    report = run_cases(policy, files)
    assert len(report.results) >= minimum_cases
    assert report.ok, [r.case.name for r in report.results if r.status != "PASS"]
    assert report.coverage.percent == 100.0, [i.id for i in report.coverage.uncovered]
