"""The condition IR the durable translation builds (:mod:`accountrules.evaluate.durable_compile`), and
its durable_rules (dict) form.

A condition is a tree of durable alpha tests (:class:`Test`) under ``$and`` (:class:`AllOf`) and
``$or`` (:class:`AnyOf`); :func:`all_of` / :func:`any_of` flatten and fold the constants ``TRUE`` /
``FALSE`` as they build, so the emitted ruleset holds no empty or single-element groups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accountrules.parse.expr_ast import Scalar

__all__ = ["FALSE", "TRUE", "AllOf", "AnyOf", "Cond", "Test", "all_of", "any_of", "attrs_of", "emit"]

_DURABLE_OP = {"!=": "$neq", "<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}


@dataclass(frozen=True, slots=True)
class Test:
    """One durable alpha test. ``op``: == != < <= > >= ex nex. ``ref``: compare with another attribute."""

    op: str
    attr: str
    value: Scalar = None
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class AllOf:
    parts: tuple[Cond, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    parts: tuple[Cond, ...]


Cond = Test | AllOf | AnyOf
TRUE: Cond = AllOf(())
FALSE: Cond = AnyOf(())


def all_of(*parts: Cond) -> Cond:
    return _flat(AllOf, FALSE, parts)


def any_of(*parts: Cond) -> Cond:
    return _flat(AnyOf, TRUE, parts)


def _flat(kind: type[AllOf] | type[AnyOf], absorbing: Cond, parts: tuple[Cond, ...]) -> Cond:
    """``parts`` joined by ``kind``: nested joins of the same kind flattened, repeats dropped, and
    ``absorbing`` (FALSE for a conjunction, TRUE for a disjunction) as soon as it is a part."""
    out: list[Cond] = []
    for p in parts:
        if p == absorbing:
            return absorbing
        for q in p.parts if isinstance(p, kind) else (p,):
            if q not in out:
                out.append(q)
    return out[0] if len(out) == 1 else kind(tuple(out))


def attrs_of(c: Cond) -> set[str]:
    if isinstance(c, Test):
        return {c.attr} if c.ref is None else {c.attr, c.ref}
    out: set[str] = set()
    for p in c.parts:
        out |= attrs_of(p)
    return out


def emit(c: Cond) -> dict[str, Any]:
    """The durable (dict) form of a condition."""
    if isinstance(c, AllOf):
        return {"$and": [emit(p) for p in c.parts]}
    if isinstance(c, AnyOf):
        return {"$or": [emit(p) for p in c.parts]}
    if c.op == "ex":
        return {"$ex": {c.attr: 1}}
    if c.op == "nex":
        return {"$nex": {c.attr: 1}}
    value: Any = {"$m": c.ref} if c.ref is not None else c.value
    if c.op == "==":
        return {c.attr: value}
    return {_DURABLE_OP[c.op]: {c.attr: value}}
