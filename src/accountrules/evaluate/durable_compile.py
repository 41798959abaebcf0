"""Translate a compiled :class:`~accountrules.compile.plan.Plan` into durable_rules rulesets given as data.

This module is pure: it does not import durable_rules, so the translation and the
limit checks can be read, tested and reasoned about on their own. The evaluator that
hands the rulesets to durable_rules is :mod:`accountrules.evaluate.durable`.

One ruleset per section (each segment table, ``tier``, ``stage``, ``churn``,
``actions``); one rule per row, named ``r<CRow.index>``. A rule's condition is a
durable condition over one fact (alias ``m``)::

    {"$and": [{"_t": "accountrules.fact"}, {"_s": "<section>"}, <the row's condition>...]}

How a row's ``when:`` becomes a durable condition
-------------------------------------------------

*Negation normal form, exactly.* Under the policy language's three-valued (Kleene)
logic a row fires only when its condition is *true*. The translator computes, for
every sub-expression ``e`` and ``want`` in {true, false}, a durable condition that
holds exactly when ``e`` evaluates to ``want``: ``not`` swaps ``want``; ``and``/``or``
follow De Morgan (``and`` is false when any operand is false...); a comparison that
must be false becomes the flipped comparison (``not (a < b)`` -> ``a >= b``), which is
exact because an *unknown* (``None``) operand is simply an **absent attribute** and
durable never matches a comparison on an absent attribute -- ``$neq`` included
(verified: durable indexes alpha tests by the attribute's name, so a test on a missing
attribute is never evaluated). So "unknown" needs no encoding at all.

========================================  ===========================================
policy construct                          durable condition (matched natively)
========================================  ===========================================
``field <op> constant``                   ``{"$lt": {"f": c}}`` ... ``{"f": c}`` (==)
``field <op> field``                      ``{"$and": [{"$ex": {"g": 1}}, {"$lt": {"f": {"$m": "g"}}}]}``
                                          (the ``$ex`` guard is required: durable reads
                                          garbage when the referenced attribute is absent)
``x is null`` / ``x is not null``         ``$nex`` / ``$ex``
``x in [a, b]`` / ``not in``              ``$or`` of equalities / ``$and`` of ``$neq``
``x in lo..hi`` / ``not in``              ``$gte`` and ``$lte`` / presence + ``$or`` of ``$lt``/``$gt``
bare boolean ``signals.fraud``            ``{"f": true}`` (and ``{"f": false}`` when negated)
``and`` / ``or`` / ``not``                ``$and`` / ``$or`` / pushed into the leaves
sub-expressions without fields            folded to a constant at load time
========================================  ===========================================

*Lifted operands.* What durable cannot express natively -- function calls
(``coalesce``, ``ratio``, ``min``/``max``/``abs``, ``days_since``, the portfolio functions
``percentile``/``cumshare``/``quantile``), ``rank(x)``, arithmetic and date differences
-- is *lifted*: the operand is computed per decision by its compiled closure
(:func:`~accountrules.compile.closures.compile_expr`), put into the fact as a generated
attribute ``x<n>``, and durable compares that attribute. The comparison itself, the
boolean structure and the choice of rows stay with durable. The same lifted expression
is computed once per fact however many rows read it.

*Constants durable cannot read.* durable's JSON reader rejects a number with an
exponent but no decimal point (``1e-05``, ``1e+20``: error 204) and reads integers as
64-bit. A comparison against such a constant (or an integer beyond +-2**53, or a
non-finite float) is lifted as a three-way comparison ``c<n>`` in {-1, 0, 1} that durable
compares with 0. Fact values are written by our own encoder, which spells such floats
durably (``1.0e-05``).

*Values.* Dates are sent as ordinal days (``date.toordinal()``), so date comparisons
stay native. Values durable cannot hold exactly (NaN, integers beyond +-2**53, huge
strings) and lifted operands whose computation raises make their attribute *poisoned*:
the evaluator then decides the rows that read it with the compiled closure, so results
and errors are exactly those of ``engine="compiled"`` (see :mod:`.durable`).

*Attributes.* Environment keys (``transactions.revenue``, ``segments.abc``, ``tier``)
become safe names (``f_transactions_revenue``). durable identifies attributes and even
operators by a 32-bit FNV-1a hash of their names, so every generated name is checked
against the others, the fixed attributes and durable's reserved hashes (``$and``,
``$or``, ``$forward``...) and renamed on a collision.

Limits
------
:func:`check_durable_limits` simulates how durable builds its alpha network from these
definitions and refuses, with :class:`~accountrules.errors.PolicyLimitError` naming the
policy file and line, what durable would reject or mishandle: more than 250 properties
in one fact (durable: 255, error 302), alpha tests that can be true together for one fact
beyond durable's evaluation stack (64, error 303) -- counted conservatively, assuming
every test may hold except equalities of one attribute with different constants --
512 or more sibling tests on one node (durable hangs), 127 ``$nex``/``$or`` branches on
one node, 255 rules ending on one node, 4096 rules per ruleset, and more than 15
``$and``/``$or`` groups in one rule (durable: 31 expressions per rule, error 113).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from accountrules.compile.closures import Fn, compile_expr
from accountrules.compile.plan import CRow, Plan
from accountrules.errors import SourceLocation
from accountrules.evaluate.durable_conditions import FALSE, TRUE, AllOf, Cond, Test, all_of, any_of, attrs_of, emit
from accountrules.parse.expr_ast import (
    PORTFOLIO_FUNCTIONS,
    Binary,
    Call,
    Expr,
    InList,
    InRange,
    IsNull,
    Literal,
    Logic,
    Not,
    Ref,
    Scalar,
    unparse,
    walk,
)

TYPE_ATTR = "_t"
TYPE_VALUE = "accountrules.fact"
SECTION_ATTR = "_s"
SID = "0"

MAX_FACT_PROPERTIES = 250  # durable: 255 including sid and id (state.h MAX_OBJECT_PROPERTIES)
MAX_TRUE_TESTS = 63  # durable: an evaluation stack of 64 alpha nodes (events.c MAX_STACK_SIZE)
MAX_SIBLING_TESTS = 511  # durable: 512 hash slots per node; creating the 512th hangs
MAX_LIST_CHILDREN = 126  # durable: 128 $nex / $or-forward links per node (rules.h NEXT_LIST_LENGTH)
MAX_RULES_PER_NODE = 254  # durable: 256 rules ending on one node (rules.h BETA_LIST_LENGTH)
MAX_RULES = 4095  # durable: 4096 actions per ruleset (rete.c MAX_ACTIONS)
MAX_GROUPS_PER_RULE = 15  # durable: 31 expressions per rule, 2 per $and/$or (rete.h MAX_SEQUENCE_EXPRESSIONS)
EXACT_INT = 2**53

FIXED_PROPERTIES = ("sid", "id", TYPE_ATTR, SECTION_ATTR)


def fnv1a32(text: str) -> int:
    """durable_rules' name hash (``fnv1Hash32`` in state.c), for ASCII names."""
    h = 0x811C9DC5
    for ch in text.encode():
        h ^= ch if ch < 128 else ch - 256 & 0xFFFFFFFF  # C `char` is signed on x86
        h = (h * 16777619) & 0xFFFFFFFF
    return h


# durable's reserved name hashes (rete.c, state.h, events.c): an attribute hashing to one of
# these would be read as an operator or a special property.
_RESERVED_HASHES = frozenset({
    321211332, 740945997, 1450887882, 967958004, 41178555, 1281379241, 542787579, 2350824890,
    507407960, 3645344263, 256037865, 2488026869, 576092554, 1472564215, 3261766877, 3379504400,
    373481198, 2605470202, 340911698, 3746487396, 1690058490, 2369371622, 4081054038, 1040718071,
    304370403, 130502, 1706836109, 1203507539, 739185624, 926444256, 3593476751, 1622948014,
})


# -- attributes and operands ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attr:
    """A property of the asserted fact: ``fn(env)`` is its value (``None`` = absent)."""

    name: str
    source: str  # the env key or the canonical text of the lifted expression
    fn: Fn
    lifted: bool


@dataclass(frozen=True, slots=True)
class Const:
    value: Scalar


@dataclass(frozen=True, slots=True)
class AttrOperand:
    name: str
    fn: Fn


Operand = Const | AttrOperand

_NEGATE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_PY_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_NOT_CONSTANT_CALLS = PORTFOLIO_FUNCTIONS | {"days_since"}  # read env entries besides fields


def durable_constant_ok(v: Scalar) -> bool:
    """Whether durable reads ``v``, written by ``json.dumps``, back as exactly this value."""
    if isinstance(v, bool | str | dt.date):
        return True
    if isinstance(v, int):
        return -EXACT_INT <= v <= EXACT_INT
    if isinstance(v, float):
        r = repr(v)
        return math.isfinite(v) and ("e" not in r or "." in r)
    return False


def to_durable(v: Scalar) -> Scalar:
    """A constant as durable sees it: dates are ordinal days."""
    if isinstance(v, dt.date):
        return v.toordinal()
    return v


def _cmp3(a: Any, b: Any) -> Any:
    """Three-way comparison for lifted comparisons; NaN poisons (durable cannot hold it)."""
    if a is None or b is None:
        return None
    if a != a or b != b:  # NaN
        return math.nan
    return (a > b) - (a < b)


def _is_constant(e: Expr) -> bool:
    return not any(isinstance(n, Ref) or (isinstance(n, Call) and n.func in _NOT_CONSTANT_CALLS) for n in walk(e))


_NO_VALUE = object()


def _fold(e: Expr) -> Any:
    """The value of a field-free expression, or ``_NO_VALUE`` when it cannot be computed at load time."""
    if not _is_constant(e):
        return _NO_VALUE
    try:
        return compile_expr(e)({})
    except Exception:  # noqa: BLE001 - left to run time, where the compiled evaluator raises too
        return _NO_VALUE


class _Names:
    """Safe, hash-distinct property names."""

    def __init__(self) -> None:
        self.taken: set[str] = set(FIXED_PROPERTIES)
        self.hashes: set[int] = set(_RESERVED_HASHES) | {fnv1a32(n) for n in FIXED_PROPERTIES}

    def new(self, base: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", base)
        name, n = base, 1
        while name in self.taken or fnv1a32(name) in self.hashes:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        self.hashes.add(fnv1a32(name))
        return name


class _Translator:
    """Translates the rows of one section; owns the section's attributes."""

    def __init__(self) -> None:
        self.names = _Names()
        self.attrs: dict[str, Attr] = {}  # source -> attribute
        self._lifted = 0

    # operands
    def _attr(self, source: str, fn: Fn, lifted: bool, base: str) -> AttrOperand:
        a = self.attrs.get(source)
        if a is None:
            a = Attr(self.names.new(base), source, fn, lifted)
            self.attrs[source] = a
        return AttrOperand(a.name, a.fn)

    def operand(self, e: Expr) -> Operand:
        if isinstance(e, Literal):
            return Const(e.value)
        if isinstance(e, Ref):
            return self._attr(e.key, operator.itemgetter(e.key), False, "f_" + e.key)
        v = _fold(e)
        if v is not _NO_VALUE:
            return Const(v)
        source = unparse(e)
        if source not in self.attrs:
            self._lifted += 1
        return self._attr(source, compile_expr(e), True, f"x{self._lifted}")

    def present(self, o: Operand) -> Cond:
        if isinstance(o, Const):
            return FALSE if o.value is None else TRUE
        return Test("ex", o.name)

    def absent(self, o: Operand) -> Cond:
        if isinstance(o, Const):
            return TRUE if o.value is None else FALSE
        return Test("nex", o.name)

    def compare(self, op: str, a: Operand, b: Operand) -> Cond:
        """Holds exactly when ``a op b`` is true (both known)."""
        if (isinstance(a, Const) and a.value is None) or (isinstance(b, Const) and b.value is None):
            return FALSE
        if isinstance(a, Const) and isinstance(b, Const):
            return TRUE if _PY_CMP[op](a.value, b.value) else FALSE
        if isinstance(a, Const):
            a, b, op = b, a, _FLIP[op]
        assert isinstance(a, AttrOperand)
        if isinstance(b, AttrOperand):
            return all_of(Test("ex", b.name), Test(op, a.name, ref=b.name))
        if durable_constant_ok(b.value):
            return Test(op, a.name, to_durable(b.value))
        # a constant durable cannot read: compare in Python, let durable test the sign
        c, fa = b.value, a.fn
        source = f"cmp({a.name}, {c!r})"
        if source not in self.attrs:
            self._lifted += 1
        lifted = self._attr(source, lambda env: _cmp3(fa(env), c), True, f"c{self._lifted}")
        return Test(op, lifted.name, 0)

    # conditions
    def cond(self, e: Expr, want: bool) -> Cond:
        """A durable condition that holds exactly when ``e`` evaluates to ``want``."""
        v = _fold(e)
        if v is not _NO_VALUE:
            return TRUE if v is want else FALSE
        if isinstance(e, Not):
            return self.cond(e.operand, not want)
        if isinstance(e, Logic):
            parts = [self.cond(o, want) for o in e.operands]
            conj = (e.op == "and") == want  # and/true, or/false: every operand; else any operand
            return all_of(*parts) if conj else any_of(*parts)
        if isinstance(e, Binary) and e.op in _NEGATE:
            return self.compare(e.op if want else _NEGATE[e.op], self.operand(e.left), self.operand(e.right))
        if isinstance(e, IsNull):
            o = self.operand(e.operand)
            return self.absent(o) if want != e.negated else self.present(o)
        if isinstance(e, InList):
            return self._in_list(e, want != e.negated)
        if isinstance(e, InRange):
            return self._in_range(e, want != e.negated)
        o = self.operand(e)  # a boolean value used as a condition
        if isinstance(o, Const):
            return TRUE if o.value is want else FALSE
        return Test("==", o.name, want)

    def _in_list(self, e: InList, member: bool) -> Cond:
        v = self.operand(e.operand)
        if all(isinstance(i, Literal) for i in e.items):
            consts: list[Scalar] = []
            for i in e.items:
                assert isinstance(i, Literal)
                if i.value is not None and i.value not in consts:
                    consts.append(i.value)
            if member:
                return any_of(*(self.compare("==", v, Const(c)) for c in consts))
            return all_of(self.present(v), *(self.compare("!=", v, Const(c)) for c in consts))
        items = [self.operand(i) for i in e.items]
        if member:
            return any_of(*(self.compare("==", v, i) for i in items))
        if any(isinstance(i, Const) and i.value is None for i in items):
            return FALSE  # an unknown item: never certainly absent from the list
        return all_of(self.present(v), *(self.compare("!=", v, i) for i in items))

    def _in_range(self, e: InRange, inside: bool) -> Cond:
        v, lo, hi = self.operand(e.operand), self.operand(e.low), self.operand(e.high)
        if inside:
            return all_of(self.compare(">=", v, lo), self.compare("<=", v, hi))
        return all_of(self.present(v), self.present(lo), self.present(hi),
                      any_of(self.compare("<", v, lo), self.compare(">", v, hi)))


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One row as one durable rule."""

    name: str
    index: int  # CRow.index
    row_id: str
    location: SourceLocation | None
    condition: dict[str, Any]  # the pattern of alias "m"
    attrs: frozenset[str]


@dataclass(slots=True)
class SectionRuleset:
    """The durable form of one section: its rules as data and the attributes its facts carry."""

    section: str
    name: str  # the durable ruleset name (unique per matcher)
    location: SourceLocation | None
    attrs: dict[str, Attr]  # property name -> attribute
    rules: tuple[RuleSpec, ...]
    never: frozenset[int]  # rows whose condition is false whatever the account
    row_attrs: dict[int, frozenset[str]]  # CRow.index -> property names its condition reads
    _attrs_for: dict[frozenset[int], tuple[Attr, ...]] = field(default_factory=dict)

    def definition(self) -> dict[str, dict[str, Any]]:
        """The ruleset as durable takes it (without ``run``; the evaluator adds its actions)."""
        return {r.name: {"all": [{"m": r.condition}]} for r in self.rules}

    def attrs_for(self, indices: frozenset[int]) -> tuple[Attr, ...]:
        """The attributes the given rows read, in a stable order."""
        found = self._attrs_for.get(indices)
        if found is None:
            names: set[str] = set()
            for i in indices:
                names |= self.row_attrs.get(i, frozenset())
            found = tuple(a for n, a in self.attrs.items() if n in names)
            self._attrs_for[indices] = found
        return found


def compile_section(section: str, name: str, rows: Sequence[CRow],
                    location: SourceLocation | None) -> SectionRuleset:
    tr = _Translator()
    rules: list[RuleSpec] = []
    never: set[int] = set()
    row_attrs: dict[int, frozenset[str]] = {}
    head = [{TYPE_ATTR: TYPE_VALUE}, {SECTION_ATTR: section}]
    for r in rows:
        c = TRUE if r.row.when is None else tr.cond(r.row.when, True)
        if c == FALSE:
            never.add(r.index)
            continue
        body = [] if c == TRUE else [emit(p) for p in (c.parts if isinstance(c, AllOf) else (c,))]
        attrs = frozenset(attrs_of(c))
        row_attrs[r.index] = attrs
        rules.append(RuleSpec(f"r{r.index}", r.index, r.row.id, r.row.prov.location,
                              {"$and": [*head, *body]}, attrs))
    by_name = {a.name: a for a in tr.attrs.values()}
    return SectionRuleset(section, name, location, by_name, tuple(rules), frozenset(never), row_attrs)


def compile_plan(plan: Plan, name_prefix: str) -> list[SectionRuleset]:
    """One :class:`SectionRuleset` per section of the plan, named ``<name_prefix>_<n>``."""
    spec = plan.spec
    sections: list[tuple[str, Sequence[CRow], SourceLocation | None]] = []
    for t in plan.segments:
        sections.append((t.section, t.rows, t.table.location))
    if plan.tiers is not None:
        sections.append(("tier", plan.tiers.rows, plan.tiers.table.location))
    if plan.stages is not None:
        sections.append(("stage", plan.stages.rows, spec.stages.location if spec.stages else None))
    if plan.churn is not None:
        sections.append(("churn", plan.churn.rows, plan.churn.table.location))
    if plan.action_rules:
        sections.append(("actions", plan.action_rules, spec.actions.location if spec.actions else None))
    return [compile_section(s, f"{name_prefix}_{i}", rows, loc) for i, (s, rows, loc) in enumerate(sections)]


def encode_value(v: Any) -> str | None:
    """A fact value as durable-readable JSON; ``None`` when durable cannot hold it exactly."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v) if -EXACT_INT <= v <= EXACT_INT else None
    if isinstance(v, float):
        r = repr(v)
        if "e" in r:
            return r if "." in r else r.replace("e", ".0e")
        if "n" in r:  # inf, nan
            if v != v:
                return None
            return "1.0e999" if v > 0 else "-1.0e999"  # durable's atof reads these as +-infinity
        return r
    if isinstance(v, str):
        s = json.dumps(v, ensure_ascii=False)
        if len(s) > 16000 and len(s.encode()) > 60000:  # durable keeps string lengths in 16 bits
            return None
        return s
    if isinstance(v, dt.date):
        return str(v.toordinal())
    return None
