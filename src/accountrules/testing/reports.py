"""Machine-readable reports of ``accountrules test`` and ``accountrules check`` (``--format json``).

Plain JSON-ready dicts: one object per run, with the counts the text summary prints and an
``ok`` that matches the exit status (``ok`` is true exactly when the command exits 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from accountrules.errors import SourceLocation
from accountrules.policy import Policy
from accountrules.testing.runner import CaseResult, Coverage, RunReport

if TYPE_CHECKING:  # properties needs hypothesis (the 'check' extra); `test` must run without it
    from accountrules.testing.properties import PropertyResult

__all__ = ["check_report", "test_report"]


def _where(loc: SourceLocation | None) -> dict[str, Any]:
    return {"file": loc.file if loc else None, "line": loc.line if loc else None,
            "column": loc.column if loc else None}


def _policy(policy: Policy, path: str) -> dict[str, Any]:
    return {"name": policy.name, "version": policy.version, "hash": policy.ref.hash, "path": path}


def _case(r: CaseResult) -> dict[str, Any]:
    return {
        "name": r.case.name, **_where(r.case.location), "engine": r.engine, "status": r.status,
        "mismatches": [{"key": m.key, "expected": m.expected, "actual": m.actual, **_where(m.location)}
                       for m in r.mismatches],
        "error": r.error,
    }


def _coverage(c: Coverage) -> dict[str, Any]:
    return {
        "percent": round(c.percent, 2), "covered": c.covered, "total": c.total,
        "sections": {s.section: {"covered": s.covered, "total": s.total} for s in c.sections},
        "uncovered": [{"section": i.section, "id": i.id, **_where(i.location)} for i in c.uncovered],
    }


def test_report(policy: Policy, path: str, report: RunReport, *, min_coverage: float | None,
                ok: bool) -> dict[str, Any]:
    """The ``accountrules test --format json`` object."""
    return {
        "policy": _policy(policy, path),
        "engines": list(report.engines),
        "cases": [_case(r) for r in report.results],
        "load_errors": list(report.load_errors),
        "coverage": {**_coverage(report.coverage),
                     "by_engine": {e: round(c.percent, 2) for e, c in report.coverage_by_engine.items()},
                     "minimum": min_coverage},
        "passed": report.passed, "failed": report.failed, "errors": report.errors,
        "ok": ok,
    }


def check_report(policy: Policy, path: str, results: Sequence[PropertyResult], *, examples: int,
                 seed: int | None, engines: Sequence[str]) -> dict[str, Any]:
    """The ``accountrules check --format json`` object."""
    props = []
    for r in results:
        f = r.failure
        status = "skip" if r.skipped is not None else "pass" if f is None else "fail"
        props.append({
            "name": r.name, "status": status, "skipped": r.skipped,
            "message": f.message if f else None, **_where(f.location if f else None),
            "counterexample": f.counterexample if f else None,
        })
    failed = sum(p["status"] == "fail" for p in props)
    return {
        "policy": _policy(policy, path), "examples": examples, "seed": seed, "engines": list(engines),
        "properties": props,
        "passed": sum(p["status"] == "pass" for p in props), "failed": failed,
        "skipped": sum(p["status"] == "skip" for p in props),
        "ok": failed == 0,
    }
