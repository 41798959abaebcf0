"""durable_rules' compile-time limits, checked before a ruleset is handed to it.

durable_rules hangs or fails with a bare error code past these (see the constants in
:mod:`accountrules.evaluate.durable_compile` and ``shared/engines/durable-rules.md``), so a
translated policy is walked as durable would build its network and refused, with the rule's
location, when a node would exceed one. Pure: it needs no durable session.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from accountrules.errors import PolicyError, PolicyLimitError, SourceLocation, raise_collected
from accountrules.evaluate.durable_compile import (
    FIXED_PROPERTIES,
    MAX_FACT_PROPERTIES,
    MAX_GROUPS_PER_RULE,
    MAX_LIST_CHILDREN,
    MAX_RULES,
    MAX_RULES_PER_NODE,
    MAX_SIBLING_TESTS,
    MAX_TRUE_TESTS,
    RuleSpec,
    SectionRuleset,
)

__all__ = ["check_durable_limits"]


class _Node:
    __slots__ = ("test", "children", "listed", "rules", "owner")

    def __init__(self, test: tuple[str, str, str] | None, owner: RuleSpec | None):
        self.test = test  # (attribute, operator, value as JSON); None for the root and $or joins
        self.children: dict[tuple[str, str, str], _Node] = {}  # hash-indexed tests
        self.listed: list[_Node] = []  # $nex tests and $or joins
        self.rules = 0  # rules whose condition ends here
        self.owner = owner  # the first rule that created this node


_OPS = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">=", "$neq": "!=", "$ex": "ex", "$nex": "nex"}


def _build(cond: Mapping[str, Any], parent: _Node, rule: RuleSpec, groups: list[int]) -> _Node:
    """Mirror of durable's createAlpha (rete.c): where this condition ends in the alpha network."""
    (key, body), = cond.items()
    if key == "$and":
        groups[0] += 1
        node = parent
        for part in body:
            node = _build(part, node, rule, groups)
        return node
    if key == "$or":
        groups[0] += 1
        join = _Node(None, rule)  # durable's "forward" node: one per $or, never shared
        for part in body:
            _build(part, parent, rule, groups).listed.append(join)
        return join
    if key in _OPS:
        ((attr, value),) = body.items()
        op = _OPS[key]
    else:
        attr, value, op = key, body, "=="
    test = (attr, op, json.dumps(value, sort_keys=True))
    if op == "nex":
        for n in parent.listed:
            if n.test == test:
                return n
        node = _Node(test, rule)
        parent.listed.append(node)
        return node
    child = parent.children.get(test)
    if child is None:
        child = parent.children[test] = _Node(test, rule)
    return child


def _eq_group_key(value_json: str) -> tuple[str, Any]:
    v = json.loads(value_json)
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, int | float):
        return ("n", float(v))
    return ("o", value_json)


def _true_together(node: _Node) -> list[_Node]:
    """The children of ``node`` that may all hold for one fact (conservatively: all but rival equalities)."""
    out: list[_Node] = list(node.listed)
    groups: dict[str, dict[tuple[str, Any], list[_Node]]] = {}
    for (attr, op, value), child in node.children.items():
        if op == "==" and not value.startswith("{"):
            groups.setdefault(attr, {}).setdefault(_eq_group_key(value), []).append(child)
        else:
            out.append(child)
    for by_value in groups.values():
        largest = max(len(ns) for ns in by_value.values())
        out.extend(next(ns for ns in by_value.values() if len(ns) == largest))
    return out


def _stack_need(node: _Node, memo: dict[int, int]) -> int:
    """Peak of durable's alpha evaluation stack below ``node`` (handleAlpha, events.c), worst case."""
    got = memo.get(id(node))
    if got is not None:
        return got
    kids = [*node.listed, *node.children.values()]
    k = len(_true_together(node))
    need = 0
    if kids:
        need = max(k, k - 1 + max(_stack_need(c, memo) for c in kids))
    memo[id(node)] = need
    return need


def _worst_node(node: _Node, seen: set[int]) -> _Node:
    """The node with the most children that may hold together (for the error message)."""
    best = node
    for c in [*node.listed, *node.children.values()]:
        if id(c) in seen:
            continue
        seen.add(id(c))
        w = _worst_node(c, seen)
        if len(_true_together(w)) > len(_true_together(best)):
            best = w
    return best


def _describe(rs: SectionRuleset, nodes: Iterable[_Node]) -> tuple[str, SourceLocation | None]:
    """Which attributes and rows a crowded node's tests come from."""
    attrs: list[str] = []
    owners: list[RuleSpec] = []
    for n in nodes:
        if n.test is not None:
            a = rs.attrs.get(n.test[0])
            src = a.source if a is not None else n.test[0]
            if src not in attrs:
                attrs.append(src)
        if n.owner is not None and n.owner not in owners:
            owners.append(n.owner)
    owners.sort(key=lambda r: r.index)
    ids = ", ".join(r.row_id for r in owners[:6]) + (", ..." if len(owners) > 6 else "")
    what = f"rows {ids} test {', '.join(repr(a) for a in attrs[:4])}" if attrs else f"rows {ids}"
    loc = owners[min(len(owners) - 1, MAX_TRUE_TESTS)].location if owners else None
    return what, loc or rs.location


def _check_section(rs: SectionRuleset) -> list[PolicyError]:
    problems: list[PolicyError] = []
    where = f"{rs.section} (durable evaluator)"
    n_props = len(rs.attrs) + len(FIXED_PROPERTIES)
    if n_props > MAX_FACT_PROPERTIES:
        problems.append(PolicyLimitError(
            f"{where}: its rows read {len(rs.attrs)} distinct values; durable_rules holds at most "
            f"{MAX_FACT_PROPERTIES - len(FIXED_PROPERTIES)} in one fact (error 302)",
            rs.location, "split the table into several, or make the rows read fewer fields and expressions"))
    if len(rs.rules) > MAX_RULES:
        problems.append(PolicyLimitError(
            f"{where}: {len(rs.rules)} rows; durable_rules takes at most {MAX_RULES} rules per ruleset",
            rs.location, "split the table"))
    root = _Node(None, None)
    for rule in rs.rules:
        groups = [0]
        _build(rule.condition, root, rule, groups).rules += 1
        if groups[0] > MAX_GROUPS_PER_RULE:
            problems.append(PolicyLimitError(
                f"{where}: the condition of row {rule.row_id} has {groups[0]} and/or groups once translated; "
                f"durable_rules takes at most {MAX_GROUPS_PER_RULE} per rule (error 113)",
                rule.location or rs.location, "simplify the condition or split it over several rows"))
    seen: set[int] = set()
    stack: list[_Node] = [root]
    while stack:
        node = stack.pop()
        kids = [*node.listed, *node.children.values()]
        for c in kids:
            if id(c) not in seen:
                seen.add(id(c))
                stack.append(c)
        if len(node.children) > MAX_SIBLING_TESTS:
            what, loc = _describe(rs, node.children.values())
            problems.append(PolicyLimitError(
                f"{where}: {len(node.children)} different tests side by side ({what}); durable_rules hangs "
                f"at {MAX_SIBLING_TESTS + 1}", loc, "split the table or use fewer rows"))
        if len(node.listed) > MAX_LIST_CHILDREN:
            what, loc = _describe(rs, node.listed)
            problems.append(PolicyLimitError(
                f"{where}: {len(node.listed)} 'is null' tests or 'or' branches side by side ({what}); "
                f"durable_rules takes at most {MAX_LIST_CHILDREN}", loc, "split the table or use fewer rows"))
        if node.rules > MAX_RULES_PER_NODE:
            problems.append(PolicyLimitError(
                f"{where}: {node.rules} rows have the same condition; durable_rules takes at most "
                f"{MAX_RULES_PER_NODE}", rs.location, "merge the rows or split the table"))
    need = _stack_need(root, {})
    if need > MAX_TRUE_TESTS:
        worst = _worst_node(root, set())
        what, loc = _describe(rs, _true_together(worst))
        problems.append(PolicyLimitError(
            f"{where}: up to {need} tests can hold together for one account ({what}); durable_rules' "
            f"evaluation stack holds {MAX_TRUE_TESTS + 1} (error 303), so at most {MAX_TRUE_TESTS} are allowed",
            loc, "split the table or use fewer rows; equality tests on one field with different values are fine"))
    return problems


def check_durable_limits(rulesets: Iterable[SectionRuleset]) -> None:
    """Refuse, before durable_rules sees them, rulesets it would reject, hang on or mishandle.

    Raises :class:`~accountrules.errors.PolicyLimitError` (several as
    :class:`~accountrules.errors.PolicyErrors`) naming the section or row's file and line.
    """
    problems: list[PolicyError] = []
    for rs in rulesets:
        problems.extend(_check_section(rs))
    raise_collected(problems)


