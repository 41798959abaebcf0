"""Counts over a batch (:class:`BatchSummary`): tiers, segments, stages and their changes, churn, actions.

A part of Python lists is counted with ``Counter``; a part of Arrow columns (the vector
evaluator's) in Arrow, its actions per distinct set of fired rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from accountrules.batch.flat import arrow_changes, arrow_counts, as_array, valid_mask
from accountrules.evaluate.record import ACTION_RULES

if TYPE_CHECKING:
    from accountrules.compile.plan import Plan


Label = Callable[[str, str], str]
"""``label(section, code)``: how a summary names a code of ``section`` (``tier``, ``action``...)."""


def _code(section: str, code: str) -> str:
    return code


@dataclass(frozen=True)
class BatchSummary:
    """Counts over a batch. ``stage_changes`` keys read ``from -> to`` (``(none)`` = no stage given)."""

    accounts: int
    decided: int
    errors: int
    tiers: dict[str, int] = field(default_factory=dict)
    segments: dict[str, dict[str, int]] = field(default_factory=dict)
    stages: dict[str, int] = field(default_factory=dict)
    stage_changes: dict[str, int] = field(default_factory=dict)
    churn_kinds: dict[str, int] = field(default_factory=dict)
    churn_risks: dict[str, int] = field(default_factory=dict)
    actions: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts, "decided": self.decided, "errors": self.errors, "tiers": self.tiers,
            "segments": self.segments, "stages": self.stages, "stage_changes": self.stage_changes,
            "churn_kinds": self.churn_kinds, "churn_risks": self.churn_risks, "actions": self.actions,
        }

    def lines(self, _: Callable[[str], str] = str, label: Label | None = None) -> list[str]:
        """The summary, a line per count; ``_`` translates its words (a catalogue's ``gettext``) and
        ``label(section, code)`` names its codes (the policy's labels, e.g.
        :func:`accountrules.report.i18n.label`); without it the codes are shown. Sections: ``tier``,
        ``segment_name``, ``segment.NAME``, ``stage``, ``churn_kind``, ``churn_risk``, ``action``."""
        name_of: Label = label if label is not None else _code
        sep = ", " if label is None else "; "  # a label may hold a comma ("Organise events (seminars, ...)")

        def fmt(counts: Mapping[str, int], section: str) -> str:
            return sep.join(f"{name_of(section, k)} {v}" for k, v in counts.items()) or "-"

        def change(key: str) -> str:  # "from -> to", "(none)" for no stage given
            src, _arrow, dst = key.partition(" -> ")
            return f"{name_of('stage', src)} -> {name_of('stage', dst)}"

        out = [_("accounts: {accounts} ({decided} decided, {errors} errors)").format(
            accounts=self.accounts, decided=self.decided, errors=self.errors)]
        if self.tiers:
            out.append(_("tiers: {counts}").format(counts=fmt(self.tiers, "tier")))
        for name, counts in self.segments.items():
            out.append(_("segment {name}: {counts}").format(name=name_of("segment_name", name),
                                                             counts=fmt(counts, f"segment.{name}")))
        if self.stages:
            out.append(_("stages: {counts}").format(counts=fmt(self.stages, "stage")))
            total = sum(self.stage_changes.values())
            changes = sep.join(f"{change(k)} {v}" for k, v in self.stage_changes.items())
            out.append(_("stage changes: {total}").format(total=total) + (f" ({changes})" if total else ""))
        if self.churn_kinds:
            out.append(_("churn kinds: {counts}").format(counts=fmt(self.churn_kinds, "churn_kind")))
            out.append(_("churn risk: {counts}").format(counts=fmt(self.churn_risks, "churn_risk")))
        out.append(_("actions: {counts}").format(counts=fmt(self.actions, "action")))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    @classmethod
    def combine(cls, parts: Iterable[BatchSummary]) -> BatchSummary:
        """Add up the summaries of the chunks of one batch."""
        parts = list(parts)

        def add(name: str) -> dict[str, int]:
            total: Counter[str] = Counter()
            for p in parts:
                total.update(getattr(p, name))
            first: dict[str, int] = next((getattr(p, name) for p in parts if getattr(p, name)), {})
            return {k: total[k] for k in [*first, *sorted(set(total) - set(first))]}

        segs: dict[str, dict[str, int]] = {}
        for p in parts:
            for name, counts in p.segments.items():
                acc = segs.setdefault(name, {})
                for k, v in counts.items():
                    acc[k] = acc.get(k, 0) + v
        return cls(
            accounts=sum(p.accounts for p in parts), decided=sum(p.decided for p in parts),
            errors=sum(p.errors for p in parts), tiers=add("tiers"), segments=segs, stages=add("stages"),
            stage_changes=add("stage_changes"), churn_kinds=add("churn_kinds"), churn_risks=add("churn_risks"),
            actions=add("actions"),
        )


def summarise(plan: Plan, parts: Sequence[Any], total: int) -> BatchSummary:
    """The counts of a batch's parts (each with ``outputs``, ``errors`` and ``n``)."""
    tiers: Counter[str] = Counter()
    segs: dict[str, Counter[str]] = {t.section[len("segment:"):]: Counter() for t in plan.segments}
    stages: Counter[str] = Counter()
    changes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    risks: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    for p in parts:
        if any(not isinstance(col, list) for col in p.outputs.values()):
            _count_arrow(plan, p, tiers, segs, stages, changes, kinds, risks, actions)
            continue
        o = p.outputs
        rows = [j for j in range(p.n) if j not in p.errors]
        if plan.tiers is not None:
            tiers.update(o["tier"][j] for j in rows if o["tier"][j] is not None)
        for name, counter in segs.items():
            col = o[f"segment.{name}"]
            counter.update(col[j] for j in rows if col[j] is not None)
        if plan.stages is not None:
            stages.update(o["stage"][j] for j in rows if o["stage"][j] is not None)
            for j in rows:
                src, dst = o["stage_from"][j], o["stage"][j]
                if o["stage_transition"][j] is not None and src != dst:
                    changes[f"{src or '(none)'} -> {dst}"] += 1
        if plan.churn is not None:
            kinds.update(o["churn_kind"][j] for j in rows if o["churn_kind"][j] is not None)
            risks.update(o["churn_risk"][j] for j in rows if o["churn_risk"][j] is not None)
        for j in rows:
            actions.update(o["actions"][j])

    def ordered(c: Counter[str], order: Iterable[str] = ()) -> dict[str, int]:
        first = [k for k in order if k in c]
        return {k: c[k] for k in [*first, *sorted(set(c) - set(first))]}

    spec = plan.spec
    n_err = sum(len(p.errors) for p in parts)
    return BatchSummary(
        accounts=total, decided=total - n_err, errors=n_err,
        tiers=ordered(tiers, spec.tiers.values if spec.tiers else ()),
        segments={n: ordered(c, spec.segments[n].values) for n, c in segs.items()},
        stages=ordered(stages, plan.stages.states if plan.stages else ()),
        stage_changes=ordered(changes),
        churn_kinds=ordered(kinds, ("none", "voluntary", "competitor", "expelled", "value_decline")),
        churn_risks=ordered(risks, ("low", "medium", "high")),
        actions=ordered(actions, plan.catalog),
    )


def _count_arrow(plan: Plan, p: Any, tiers: Counter[str], segs: dict[str, Counter[str]], stages: Counter[str],
                 changes: Counter[str], kinds: Counter[str], risks: Counter[str], actions: Counter[str]) -> None:
    """:meth:`BatchResult.summary` of one part of Arrow columns, counted in Arrow."""
    # actions stay a dictionary of distinct sets (counted per set), the rest are plain string arrays
    o = {c: col if c == "actions" and not isinstance(col, list) else as_array(c, col)
         for c, col in p.outputs.items() if c != ACTION_RULES}
    keep = valid_mask(p.n, p.errors) if p.errors else None
    if plan.tiers is not None:
        tiers.update(arrow_counts(o["tier"], keep))
    for name, counter in segs.items():
        counter.update(arrow_counts(o[f"segment.{name}"], keep))
    if plan.stages is not None:
        stages.update(arrow_counts(o["stage"], keep))
        changes.update(arrow_changes(o["stage_from"], o["stage"], o["stage_transition"], keep))
    if plan.churn is not None:
        kinds.update(arrow_counts(o["churn_kind"], keep))
        risks.update(arrow_counts(o["churn_risk"], keep))
    actions.update(arrow_counts(o["actions"], keep))


__all__ = ["BatchSummary", "Label", "summarise"]
