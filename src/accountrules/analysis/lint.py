"""Run every check on a compiled policy, re-check every witness, apply the policy's allowances and report
those that accept nothing."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from accountrules.analysis.allowances import apply_allowances
from accountrules.analysis.context import Context
from accountrules.analysis.findings import Finding, at_least
from accountrules.analysis.handoffs import check_handoffs
from accountrules.analysis.monotonic import check_monotonic
from accountrules.analysis.realize import Witness
from accountrules.analysis.statechart import check_stages
from accountrules.analysis.tables import check_tables
from accountrules.errors import AccountRulesError, DecisionError
from accountrules.model.decision import Decision

if TYPE_CHECKING:
    from accountrules.policy import Policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LintReport:
    policy: str
    version: str
    findings: tuple[Finding, ...]
    dropped: tuple[Finding, ...] = ()  # findings whose witness did not reproduce (lint bugs), logged

    @property
    def active(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.suppressed is None)

    def failing(self, threshold: str) -> tuple[Finding, ...]:
        return tuple(f for f in self.active if at_least(f.severity, threshold))

    def codes(self) -> list[str]:
        return [f.code for f in self.active]


def lint_policy(policy: Policy) -> LintReport:
    ctx = Context(policy)
    raw = [*check_tables(ctx), *check_stages(ctx), *check_handoffs(ctx), *check_monotonic(ctx)]
    kept: list[Finding] = []
    dropped: list[Finding] = []
    for f in raw:
        if f.witness is not None and f.status == "confirmed":
            if not _reproduces(ctx, f.witness):
                dropped.append(f)
                log.warning("lint bug: witness of %s (%s) does not reproduce; finding dropped", f.code,
                            ", ".join(r.rule for r in f.rules))
                continue
        kept.append(f)
    # a dropped finding is not in the report, so an allowance matching only dropped ones accepts nothing
    allowed, unused = apply_allowances(kept, policy.spec.lint_allow)
    return LintReport(policy.name, policy.version, (*allowed, *unused), tuple(dropped))


def _reproduces(ctx: Context, w: Witness) -> bool:
    return all(_reproduces_one(ctx, one) for one in w.cases())


def _reproduces_one(ctx: Context, w: Witness) -> bool:
    """Decide the witness again from its test-case data alone and compare with what the finding expects.

    The case holds only plain JSON values (dates as ISO text), so a JSON round trip is what its
    YAML text reads back as, at a fraction of the cost."""
    doc = json.loads(json.dumps(w.case("recheck")))
    case = doc["cases"][0]
    again = replace(w, account=case["given"], portfolio=tuple(doc.get("portfolio", ())),
                    as_of=dt.date.fromisoformat(str(doc["as_of"])))
    try:
        decision, _, error = ctx.realizer.replay(again, public=True)
    except AccountRulesError:
        return False
    return expectation_holds(w.expect, decision, error)


def expectation_holds(expect: dict[str, Any], d: Decision | None, error: DecisionError | None) -> bool:
    if expect.get("error"):
        return error is not None
    if d is None:
        return False
    for key, want in expect.items():
        if key == "tier" and (d.tier.code if d.tier else None) != want:
            return False
        if key == "segments":
            for name, code in want.items():
                seg = d.segments.get(name)
                if (seg.code if seg else None) != code:
                    return False
        if key == "churn" and "kind" in want and (d.churn.kind.value if d.churn else None) != want["kind"]:
            return False
        if key == "churn" and "risk" in want and (d.churn.risk.value if d.churn else None) != want["risk"]:
            return False
        if key == "stage":
            if d.stage is None or d.stage.to.value != want.get("to"):
                return False
            if "transition" in want and d.stage.transition != want["transition"]:
                return False
        if key == "fired" and not set(want) <= {e.rule for e in d.trace}:
            return False
    return True
