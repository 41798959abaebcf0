"""What a case's ``expect.fired`` may name: the id of exactly one rule of the policy.

Ids are unique per table, not across sections, and the trace records a rule by section and id; a
``fired:`` id shared by rules of two sections would pass when either fired, not the one meant."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from accountrules.check.policy_check import all_rows
from accountrules.check.spec import PolicySpec
from accountrules.errors import PolicyReferenceError, SourceLocation
from accountrules.i18n import N_, Message
from accountrules.parse.yaml_source import YNode

Places = Mapping[str, Sequence[tuple[str, SourceLocation | None]]]


def rule_places(spec: PolicySpec) -> Places:
    """Rule id -> the section and place of each rule of that id, in the policy's order."""
    places: dict[str, list[tuple[str, SourceLocation | None]]] = {}
    for section, rows in all_rows(spec).items():
        for row in rows:
            places.setdefault(row.id, []).append((section, row.prov.location))
    return places


def fired_problems(ids: Sequence[str], items: Sequence[YNode], places: Places,
                   hint: Callable[[str, Iterable[str]], str | None]) -> list[PolicyReferenceError]:
    """The errors of ``fired: ids`` (``items``: their nodes): ids no rule has, and ids several rules share."""
    out = []
    for rid, item in zip(ids, items, strict=False):
        if rid not in places:
            out.append(PolicyReferenceError(Message(N_("expect.fired: the policy has no rule {id!r}"), id=rid),
                                            item.location, hint(rid, places)))
        elif len(found := places[rid]) > 1:
            out.append(PolicyReferenceError(
                Message(N_("expect.fired: {id!r} is the id of rules in more than one section ({sections}), so the "
                           "trace cannot tell which one fired"),
                        id=rid, sections=", ".join(dict.fromkeys(section for section, _ in found))),
                item.location,
                Message(N_("give them different ids: {places}"),
                        places=", ".join(str(at) for _, at in found if at is not None))))
    return out
