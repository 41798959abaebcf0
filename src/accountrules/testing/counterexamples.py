"""What a property failure prints: the policy's output orders (for ``monotonic:``) and a
shrunk counterexample written out as a ready-to-paste YAML test-case file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import yaml

from accountrules.model.decision import Decision
from accountrules.testing.runner import decide_among

if TYPE_CHECKING:
    from accountrules.policy import Policy

__all__ = ["AccountDict", "counterexample_yaml", "expect_of", "height", "output_order", "value_of"]

AccountDict = dict[str, Any]


# -- output orders (for monotonic) ----------------------------------------------------------------


def output_order(policy: Policy, output: str) -> list[str]:
    """The values of an ordered output, highest first.

    tier and segments: the order of their ``values`` (first is highest); churn.risk:
    high, medium, low; stage: the order of ``states`` reversed (later states are further
    along); churn.kind: any churn kind above none.
    """
    spec = policy.spec
    if output == "tier" and spec.tiers is not None:
        return list(spec.tiers.values)
    if output.startswith("segments.") and output[9:] in spec.segments:
        return list(spec.segments[output[9:]].values)
    if output == "churn.risk":
        return ["high", "medium", "low"]
    if output == "stage" and spec.stages is not None:
        return list(reversed(spec.stages.states))
    raise ValueError(f"{output!r} is not an ordered output of this policy")


def value_of(d: Decision, output: str) -> str | None:
    if output == "tier":
        return d.tier.code if d.tier else None
    if output.startswith("segments."):
        seg = d.segments.get(output[9:])
        return seg.code if seg else None
    if output == "churn.risk":
        return d.churn.risk.value if d.churn else None
    if output == "churn.kind":
        return d.churn.kind.value if d.churn else None
    if output == "stage":
        return d.stage.to.value if d.stage else None
    raise ValueError(output)


def height(policy: Policy, output: str, value: str | None) -> int | None:
    """Bigger is higher; None for no value."""
    if value is None:
        return None
    if output == "churn.kind":
        return 0 if value == "none" else 1
    order = output_order(policy, output)
    return len(order) - order.index(value) if value in order else None


# -- counterexamples as test cases ----------------------------------------------------------------


def _clean(v: Any) -> Any:
    """Drop unknown (None) values and empty groups: they mean the same as leaving them out."""
    if isinstance(v, dict):
        out = {k: c for k, x in v.items() if (c := _clean(x)) is not None and c != {}}
        return out
    if isinstance(v, list | tuple):
        return [_clean(x) for x in v]
    return v


def expect_of(policy: Policy, d: Decision) -> dict[str, Any]:
    """The ``expect:`` block that a decision meets exactly (as far as the case format states things)."""
    spec = policy.spec
    out: dict[str, Any] = {}
    if spec.tiers is not None:
        out["tier"] = d.tier.code if d.tier else None
    if d.segments:
        out["segments"] = {k: v.code for k, v in d.segments.items()}
    if d.stage is not None:
        s = d.stage
        out["stage"] = {"from": s.from_.value if s.from_ else None, "to": s.to.value,
                        "transition": s.transition}
    if d.churn is not None:
        churn: dict[str, Any] = {"kind": d.churn.kind.value, "risk": d.churn.risk.value}
        if d.churn.score is not None:
            churn["score"] = d.churn.score
        out["churn"] = churn
    if spec.actions is not None:
        out["actions"] = d.action_codes()
    # no `fired:` here: an owner who corrects the expected outcome should not also have to
    # rewrite which rule produced it
    return out


def counterexample_yaml(policy: Policy, title: str, others: Sequence[AccountDict],
                        cases: Sequence[tuple[str, AccountDict]], as_of: dt.date,
                        notes: Sequence[str] = ()) -> str:
    """A test-case file: ``others`` as the portfolio, one case per ``(name, account)``, each
    expecting what the policy decides for it now (deciding it among ``others`` plus itself)."""
    portfolio = [_clean(a) for a in others]
    doc_cases = []
    comments = [f"accountrules check: {title}", *notes]
    for name, acc in cases:
        case: dict[str, Any] = {"name": name, "given": _clean(acc)}
        d = decide_among(policy, [*others, acc], as_of=as_of)[-1]
        if isinstance(d, str):
            comments.append(f"case {name!r} cannot be decided: {d}")
        else:
            case["expect"] = expect_of(policy, d)
        doc_cases.append(case)
    doc: dict[str, Any] = {}
    if portfolio:
        doc["portfolio"] = portfolio
    doc["as_of"] = as_of
    doc["cases"] = doc_cases
    comments.append("Paste into the policy's tests/ directory. The expectations are what the policy decides")
    comments.append("now: change them to what it should decide, then fix the policy until the case passes.")
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, default_flow_style=None, width=110)
    head = "".join(f"# {line}\n" for c in comments for line in c.splitlines())
    return head + body


