"""A policy's ``lint: allow:`` entries: which finding each accepts, and which accept none (AR601 unused-allow).

A finding is accepted by the first allowance that matches it, the policy's own in the order written, then
those inherited through ``extends:`` (the closest wins, as in any layered configuration: an extending policy's
owner cannot edit the base, so an own allowance must not be shadowed by an inherited one). Matching: the
same code and, when the allowance names a rule, a rule of that name among the rules the finding involves.
An allowance that is the first match of no finding changes nothing in the report (removing
it leaves every finding as it was), so it is stale: it would silently accept the next finding of its code on
its rule. AR601 reports it, as ruff's RUF100 (unused ``noqa``) and pylint's useless-suppression do.

Only the policy's own allowances are reported: one inherited from a base policy is not the extending
policy's to delete, and the base policy's own lint reports it when it is stale there.
"""

from __future__ import annotations

from collections.abc import Sequence

from accountrules.analysis.findings import Finding, RuleRef
from accountrules.check.policy_shapes import UNUSED_ALLOW
from accountrules.check.spec import LintAllow
from accountrules.i18n import N_, Message, gettext_for
from accountrules.model.decision import Label

__all__ = ["accepting", "apply_allowances", "matches"]


def matches(a: LintAllow, f: Finding) -> bool:
    """Whether allowance ``a`` would accept finding ``f`` (were no earlier allowance to accept it first)."""
    return a.code == f.code and (a.rule is None or any(r.rule == a.rule for r in f.rules))


def accepting(findings: Sequence[Finding], allowances: Sequence[LintAllow]) -> list[int | None]:
    """For each finding, the index in ``allowances`` of the allowance that accepts it, or None: the policy's
    own allowances are tried first, then the inherited ones, each in the order given."""
    order = [i for i, a in enumerate(allowances) if not a.inherited] + \
        [i for i, a in enumerate(allowances) if a.inherited]
    return [next((i for i in order if matches(allowances[i], f)), None) for f in findings]


def apply_allowances(findings: Sequence[Finding],
                     allowances: Sequence[LintAllow]) -> tuple[list[Finding], list[Finding]]:
    """``findings`` with each accepted one marked with its allowance's reason, and an AR601 finding for each of
    the policy's own allowances that accepts none, in the order they are written."""
    taken = accepting(findings, allowances)
    out = [f if i is None else f.suppress(allowances[i].reason) for f, i in zip(findings, taken, strict=True)]
    used = set(taken)
    unused = []
    for i, a in enumerate(allowances):
        if i in used or a.inherited:
            continue
        # an allowance that matches findings all accepted by an earlier one is as stale as one matching none,
        # but "no finding left" would send the owner looking for a finding that is there
        first = next((t for f, t in zip(findings, taken, strict=True) if t is not None and matches(a, f)), None)
        unused.append(_unused(a, allowances[first] if first is not None else None))
    return out, unused


def _unused(a: LintAllow, earlier: LintAllow | None) -> Finding:
    if earlier is not None:
        message = Message(N_("this allowance of {code} accepts no finding: every {code} it matches is accepted "
                             "first by the allowance at {other}, so its reason is never shown; remove it, or move "
                             "its reason into that one"), code=a.code, other=str(earlier.location))
    elif a.rule is not None:
        message = Message(N_("this allowance of {code} for {rule!r} accepts no finding: lint reports no {code} "
                             "on {rule!r} any more; remove it, or it will silently accept the next {code} there"),
                          code=a.code, rule=a.rule)
    else:
        message = Message(N_("this allowance of {code} accepts no finding: lint reports no {code} in this policy "
                             "any more; remove it, or it will silently accept the next {code} anywhere in it"),
                          code=a.code)
    # the allowance as written names it: its code, and its rule when it has one
    name = a.code if a.rule is None else f"{a.code} {a.rule}"
    return Finding(UNUSED_ALLOW, Label(zh=message.translated(gettext_for("zh")), en=str(message)),
                   (RuleRef("lint.allow", name, a.location),), status="proven",
                   extra={"code": a.code, "rule": a.rule, "reason": a.reason})
