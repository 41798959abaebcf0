"""What a property failure prints: the policy's output orders (for ``monotonic:``) and a
shrunk counterexample written out as a ready-to-paste YAML test-case file."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import yaml

from accountrules.errors import refusal_reason
from accountrules.i18n import N_, Gettext, Message, translated
from accountrules.model.decision import Decision
from accountrules.testing.runner import decide_among

if TYPE_CHECKING:
    from accountrules.policy import Policy

__all__ = ["AccountDict", "counterexample_parts", "counterexample_yaml", "expect_of", "height", "output_order",
           "render_counterexample", "value_of"]

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
    comments, doc = counterexample_parts(policy, title, others, cases, as_of, notes)
    return render_counterexample(comments, doc)


def render_counterexample(comments: Sequence[str], doc: Mapping[str, Any], _: Gettext = str) -> str:
    """The file of :func:`counterexample_parts`: its comments worded by ``_`` (a catalogue's gettext;
    ``str``: English) as ``#`` lines, then the YAML, whose case names are worded by ``_`` too."""
    said = [str(translated(c, _)) for c in comments]
    named = {**doc, "cases": [{**c, "name": str(translated(c["name"], _))} for c in doc["cases"]]}
    body = yaml.safe_dump(named, sort_keys=False, allow_unicode=True, default_flow_style=None, width=110)
    return "".join(f"# {line}\n" for c in said for line in c.splitlines()) + body


def counterexample_parts(policy: Policy, title: str, others: Sequence[AccountDict],
                         cases: Sequence[tuple[str, AccountDict]], as_of: dt.date,
                         notes: Sequence[str] = ()) -> tuple[list[str], dict[str, Any]]:
    """:func:`counterexample_yaml` before it is worded: the comments and the document of the cases
    (comments and case names are catalogue messages where they are the library's words)."""
    portfolio = [_clean(a) for a in others]
    doc_cases = []
    comments: list[str] = [Message(N_("accountrules check: {title}"), title=title), *notes]
    for name, acc in cases:
        case: dict[str, Any] = {"name": name, "given": _clean(acc)}
        d = decide_among(policy, [*others, acc], as_of=as_of)[-1]
        if isinstance(d, str):
            comments.append(Message(N_("case {name!r} cannot be decided: {reason}"), name=name,
                                    reason=refusal_reason(d)))
        else:
            case["expect"] = expect_of(policy, d)
        doc_cases.append(case)
    doc: dict[str, Any] = {}
    if portfolio:
        doc["portfolio"] = portfolio
    doc["as_of"] = as_of
    doc["cases"] = doc_cases
    comments.append(Message(N_("Paste into the policy's tests/ directory. The expectations are what the policy "
                               "decides\nnow: change them to what it should decide, then fix the policy until the "
                               "case passes.")))
    return comments, doc


