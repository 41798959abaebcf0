"""The expression AST. Parsed from policy text, checked, then compiled; never evaluated as Python."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from accountrules.errors import SourceLocation

Scalar = None | bool | int | float | str | dt.date


@dataclass(frozen=True, slots=True)
class Type:
    """A value type. ``enum`` names the vocabulary (``tier``, ``stage``, ``segment:abc``...)."""

    name: str  # number | string | bool | date | enum | null
    enum: str | None = None
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.enum}" if self.name == "enum" else self.name

    def __eq__(self, other: object) -> bool:
        # the generated comparison builds two tuples; the checker compares types a few times a row
        # (the dataclass still generates __hash__: frozen and eq)
        if self is other:
            return True
        if type(other) is not Type:
            return NotImplemented
        return self.name == other.name and self.enum == other.enum and self.values == other.values


NUMBER = Type("number")
STRING = Type("string")
BOOL = Type("bool")
DATE = Type("date")
NULL = Type("null")


@dataclass(frozen=True, slots=True)
class Expr:
    loc: SourceLocation = field(compare=False)


@dataclass(frozen=True, slots=True, init=False)
class Literal(Expr):
    value: Scalar
    type: Type

    def __init__(self, loc: SourceLocation, value: Scalar, type: Type) -> None:
        _SET_LOC(self, loc)  # see _slot_setters
        _SET_LITERAL_VALUE(self, value)
        _SET_LITERAL_TYPE(self, type)


@dataclass(frozen=True, slots=True, init=False)
class Name(Expr):
    """A dotted name as written; the checker resolves it to a :class:`Ref`."""

    path: str

    def __init__(self, loc: SourceLocation, path: str) -> None:
        _SET_LOC(self, loc)  # see _slot_setters
        _SET_NAME_PATH(self, path)


@dataclass(frozen=True, slots=True, init=False)
class Ref(Expr):
    """A resolved name. ``kind`` is field | metric | output | as_of; ``key`` is its env key."""

    kind: str
    key: str
    type: Type

    def __init__(self, loc: SourceLocation, kind: str, key: str, type: Type) -> None:
        _SET_LOC(self, loc)  # see _slot_setters
        _SET_REF_KIND(self, kind)
        _SET_REF_KEY(self, key)
        _SET_REF_TYPE(self, type)


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    op: str  # '-'
    operand: Expr


@dataclass(frozen=True, slots=True, init=False)
class Binary(Expr):
    op: str  # + - * / == != < <= > >=
    left: Expr
    right: Expr

    def __init__(self, loc: SourceLocation, op: str, left: Expr, right: Expr) -> None:
        _SET_LOC(self, loc)  # see _slot_setters
        _SET_BINARY_OP(self, op)
        _SET_BINARY_LEFT(self, left)
        _SET_BINARY_RIGHT(self, right)


def _slot_setters(cls: type, *names: str) -> tuple[Callable[[object, object], None], ...]:
    """The writers of ``cls``'s slots ``names``. The nodes every row of a long table makes (a literal,
    a name, a resolved name, a comparison) fill their slots with these instead of the frozen
    dataclass's object.__setattr__ calls: the same write, a fraction of the cost; the nodes stay
    frozen to everyone else."""
    return tuple(getattr(cls, n).__set__ for n in names)


(_SET_LOC,) = _slot_setters(Expr, "loc")
_SET_LITERAL_VALUE, _SET_LITERAL_TYPE = _slot_setters(Literal, "value", "type")
(_SET_NAME_PATH,) = _slot_setters(Name, "path")
_SET_REF_KIND, _SET_REF_KEY, _SET_REF_TYPE = _slot_setters(Ref, "kind", "key", "type")
_SET_BINARY_OP, _SET_BINARY_LEFT, _SET_BINARY_RIGHT = _slot_setters(Binary, "op", "left", "right")


@dataclass(frozen=True, slots=True)
class Logic(Expr):
    op: str  # and | or
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not(Expr):
    operand: Expr


@dataclass(frozen=True, slots=True)
class InList(Expr):
    operand: Expr
    items: tuple[Expr, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class InRange(Expr):
    operand: Expr
    low: Expr
    high: Expr
    negated: bool


@dataclass(frozen=True, slots=True)
class IsNull(Expr):
    operand: Expr
    negated: bool


@dataclass(frozen=True, slots=True)
class Call(Expr):
    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class EnumRank(Expr):
    """``rank(x)``: 1-based position of an enum value in its vocabulary (1 = highest tier)."""

    operand: Expr
    values: tuple[str, ...]


COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
ARITHMETIC = frozenset({"+", "-", "*", "/"})
PORTFOLIO_FUNCTIONS = frozenset({"percentile", "cumshare", "cumshare_above", "quantile"})
QUANTILE_TIES = ("same", "first")
"""The tie rules of ``quantile(x, k, ties)``: equal values share a bucket (the default), or are
ranked first by the account id (``docs/policy-language.md``)."""


def quantile_ties(call: Call) -> str:
    """The tie rule of a (checked) ``quantile`` call: ``"same"`` unless its third argument is ``'first'``."""
    if len(call.args) > 2:
        t = call.args[2]
        if isinstance(t, Literal) and t.value == "first":
            return "first"
    return "same"


def ranks_by_id(call: Call) -> bool:
    """Whether a portfolio call breaks ties by account id (so its statistics need the ids)."""
    return call.func == "quantile" and quantile_ties(call) == "first"


def unparse(e: Expr) -> str:
    """Canonical text of an expression: used in traces and as portfolio-statistics keys."""
    if isinstance(e, Literal):
        v = e.value
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return "'" + v.replace("'", "\\'") + "'"
        if isinstance(v, dt.date):
            return v.isoformat()
        return repr(v)
    if isinstance(e, Name):
        return e.path
    if isinstance(e, Ref):
        return e.key
    if isinstance(e, Unary):
        return f"-{_wrap(e.operand)}"
    if isinstance(e, Binary):
        return f"{_wrap(e.left)} {e.op} {_wrap(e.right)}"
    if isinstance(e, Logic):
        return f" {e.op} ".join(_wrap(o) for o in e.operands)
    if isinstance(e, Not):
        return f"not {_wrap(e.operand)}"
    if isinstance(e, InList):
        neg = "not in" if e.negated else "in"
        return f"{_wrap(e.operand)} {neg} [{', '.join(unparse(i) for i in e.items)}]"
    if isinstance(e, InRange):
        neg = "not in" if e.negated else "in"
        return f"{_wrap(e.operand)} {neg} {unparse(e.low)}..{unparse(e.high)}"
    if isinstance(e, IsNull):
        return f"{_wrap(e.operand)} is {'not ' if e.negated else ''}null"
    if isinstance(e, Call):
        return f"{e.func}({', '.join(unparse(a) for a in e.args)})"
    if isinstance(e, EnumRank):
        return f"rank({unparse(e.operand)})"
    raise TypeError(f"not an expression node: {e!r}")


def _wrap(e: Expr) -> str:
    simple = isinstance(e, (Literal, Name, Ref, Call, EnumRank))
    return unparse(e) if simple else f"({unparse(e)})"


def children(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, Unary | Not | EnumRank):
        return (e.operand,)
    if isinstance(e, Binary):
        return (e.left, e.right)
    if isinstance(e, Logic):
        return e.operands
    if isinstance(e, InList):
        return (e.operand, *e.items)
    if isinstance(e, InRange):
        return (e.operand, e.low, e.high)
    if isinstance(e, IsNull):
        return (e.operand,)
    if isinstance(e, Call):
        return e.args
    return ()


def walk(e: Expr) -> list[Expr]:
    """Pre-order list of every node."""
    out: list[Expr] = []
    stack = [e]
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(children(n)))
    return out
