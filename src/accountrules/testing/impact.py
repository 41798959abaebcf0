"""What changes for whom: decide one portfolio with two policies and list the differences.

A business owner runs this before a policy change ships (like Gainsight's "preview
results"): which accounts change tier, segment, stage, churn or actions, and how many
of each move there are.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from accountrules.batch.errors import RowError
from accountrules.model.decision import Decision
from accountrules.policy import Policy


@dataclass(frozen=True, slots=True)
class Change:
    account_id: str
    what: str  # tier | segment:<name> | stage | churn.kind | churn.risk | action+ | action-
    old: str | None
    new: str | None
    old_rule: str | None = None
    new_rule: str | None = None


@dataclass
class ImpactReport:
    old: str  # "name version"
    new: str
    accounts: int
    changes: list[Change] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def changed_accounts(self) -> int:
        return len({c.account_id for c in self.changes})

    def moves(self) -> Counter[tuple[str, str | None, str | None]]:
        """How many accounts make each (what, old, new) move."""
        return Counter((c.what, c.old, c.new) for c in self.changes)

    def summary_lines(self) -> list[str]:
        lines = [f"{self.changed_accounts} of {self.accounts} accounts change from {self.old} to {self.new}"]
        for (what, old, new), n in sorted(self.moves().items(), key=lambda kv: (kv[0][0], -kv[1])):
            if what.startswith("action"):
                sign = "gains" if what == "action+" else "loses"
                lines.append(f"  {n:>6}  {sign} action {new or old}")
            else:
                lines.append(f"  {n:>6}  {what}: {old} -> {new}")
        if self.errors:
            lines.append(f"  {len(self.errors)} rows could not be decided (see errors)")
        return lines


def _outputs(d: Decision) -> dict[str, tuple[str | None, str | None]]:
    out: dict[str, tuple[str | None, str | None]] = {}
    if d.tier is not None:
        out["tier"] = (d.tier.code, d.tier.rule)
    for name, seg in d.segments.items():
        out["segment:" + name] = (seg.code, seg.rule)
    if d.stage is not None:
        out["stage"] = (d.stage.to.value, d.stage.transition)
    if d.churn is not None:
        out["churn.kind"] = (d.churn.kind.value, d.churn.rule)
        out["churn.risk"] = (d.churn.risk.value, d.churn.rule)
    return out


def compare(old: Decision, new: Decision) -> list[Change]:
    a, b = _outputs(old), _outputs(new)
    changes = []
    for key in dict.fromkeys([*a, *b]):
        (ov, orule), (nv, nrule) = a.get(key, (None, None)), b.get(key, (None, None))
        if ov != nv:
            changes.append(Change(old.account_id, key, ov, nv, orule, nrule))
    old_actions, new_actions = set(old.action_codes()), set(new.action_codes())
    for code in new.action_codes():
        if code not in old_actions:
            changes.append(Change(old.account_id, "action+", None, code))
    for code in old.action_codes():
        if code not in new_actions:
            changes.append(Change(old.account_id, "action-", code, None))
    return changes


def impact(old: Policy, new: Policy, accounts: Iterable[Any] | str, *, as_of: dt.date | None = None,
           engine: str = "compiled") -> ImpactReport:
    """Decide ``accounts`` (anything ``decide_many`` takes) with both policies and compare."""
    day = as_of or dt.date.today()
    source = accounts if isinstance(accounts, str) else list(accounts)
    before = old.decide_many(source, as_of=day, engine=engine, trace=False)
    after = new.decide_many(source, as_of=day, engine=engine, trace=False)
    report = ImpactReport(f"{old.name} {old.version}", f"{new.name} {new.version}", len(before))
    for x, y in zip(before, after, strict=True):
        if isinstance(x, RowError) or isinstance(y, RowError):
            report.errors.append(x if isinstance(x, RowError) else y)  # type: ignore[arg-type]
            continue
        report.changes.extend(compare(x, y))
    return report
