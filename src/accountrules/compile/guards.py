"""Skip the scanned rows whose first test already fails: dispatch on ``name == 'code'`` guards.

A section such as ``actions`` is a list of rules on different values, most of them opening with
a test of one decided output against a code: ``tier == 'gold' and ...``, ``stage in ['initial',
'stable'] and ...``, ``segments.rfm == 'champions' and ...``. Of the rules that open on the same
name at most a few can hold for one account; scanning evaluates them all. :class:`Guards` groups
the rows by the name their condition opens on, and for an env lists, in row order, only the rows
that could fire: those with no such opening test, and those whose opening test names the value
the env holds.

Exactness. A row is guarded only on the *first* operand of its outermost ``and`` (or its whole
condition), when that operand is ``name == 'text'`` or ``name in ['text', ...]`` with text
constants only. When the env holds a ``str`` that is none of the row's constants, that test is
``False``, and the row's compiled condition returns ``False`` from its first operand without
evaluating anything else (``and`` stops at the first ``False``): skipping the row gives the same
answer, and cannot hide an error a later operand would have raised. Any other value (unknown,
another type, a missing key) makes every row of that name a candidate, evaluated as a scan does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from accountrules.compile.closures import Env
from accountrules.parse.expr_ast import Binary, Expr, InList, Literal, Logic, Ref

__all__ = ["MIN_GUARDED", "Guards", "build_guards"]

MIN_GUARDED = 6
"""Fewer guarded rows than this (or than half the section) are cheaper to scan than to dispatch."""


@dataclass(frozen=True, slots=True)
class Guards:
    """The rows of a scanned section grouped by the text test their condition opens with."""

    unguarded: tuple[int, ...]  # rows that open on no such test: always candidates
    # (env key, row indices by the text value that lets them through, every row guarded on the key)
    keys: tuple[tuple[str, dict[str, tuple[int, ...]], tuple[int, ...]], ...]

    def candidates(self, env: Env) -> list[int]:
        """The indices, ascending, of the rows whose condition may be true for ``env``."""
        found = list(self.unguarded)
        for key, by_value, every in self.keys:
            v = env.get(key)
            if type(v) is str:
                found.extend(by_value.get(v, ()))
            else:  # unknown or not text: the guard does not decide, the rows are evaluated
                found.extend(every)
        found.sort()
        return found


def _guard(when: Expr | None) -> tuple[str, frozenset[str]] | None:
    """``(env key, text constants)`` when ``when`` opens with ``key == 'c'`` or ``key in ['c', ...]``."""
    first = when.operands[0] if isinstance(when, Logic) and when.op == "and" else when
    if type(first) is Binary and first.op == "==" and type(first.left) is Ref:
        lit = first.right
        if type(lit) is Literal and type(lit.value) is str:
            return first.left.key, frozenset((lit.value,))
    if type(first) is InList and not first.negated and type(first.operand) is Ref and first.items:
        texts = [i.value for i in first.items if type(i) is Literal and type(i.value) is str]
        if len(texts) == len(first.items):  # text constants only
            return first.operand.key, frozenset(texts)
    return None


def build_guards(whens: Sequence[Expr | None], min_guarded: int = MIN_GUARDED) -> Guards | None:
    """The :class:`Guards` of a section's conditions, or None when too few rows open on a text test."""
    unguarded: list[int] = []
    by_key: dict[str, dict[str, list[int]]] = {}
    every: dict[str, list[int]] = {}
    for i, when in enumerate(whens):
        g = _guard(when)
        if g is None:
            unguarded.append(i)
            continue
        key, values = g
        every.setdefault(key, []).append(i)
        slots = by_key.setdefault(key, {})
        for v in values:
            slots.setdefault(v, []).append(i)
    guarded = len(whens) - len(unguarded)
    # the dispatch costs a few dict reads and a sort per decision: worth it when it can skip many rows
    if guarded < min_guarded or 2 * guarded < len(whens):
        return None
    keys = tuple((k, {v: tuple(rows) for v, rows in by_key[k].items()}, tuple(every[k])) for k in every)
    return Guards(tuple(unguarded), keys)
