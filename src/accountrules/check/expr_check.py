"""Type checking and name resolution of expressions against the account model.

The checker turns a parsed tree into a *resolved* tree: names become ``Ref`` nodes
(field, metric, output, as_of) or constants (params). Only resolved trees are compiled.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from accountrules.errors import PolicyTypeError, SourceLocation, did_you_mean
from accountrules.i18n import N_, Message
from accountrules.parse.expr_ast import (
    BOOL,
    DATE,
    NULL,
    NUMBER,
    PORTFOLIO_FUNCTIONS,
    QUANTILE_TIES,
    STRING,
    Binary,
    Call,
    EnumRank,
    Expr,
    InList,
    InRange,
    IsNull,
    Literal,
    Logic,
    Name,
    Not,
    Ref,
    Scalar,
    Type,
    Unary,
    walk,
)

_ORDERED = frozenset({"number", "date"})
_EXPONENT = re.compile(r"[-+]?(?:[0-9][0-9_]*\.?[0-9_]*|\.[0-9]+)[eE][-+]?[0-9]+")  # a number to Python, not YAML


@dataclass(frozen=True)
class Scope:
    """What an expression may read at its place in the policy."""

    fields: Mapping[str, Type]
    params: Mapping[str, Scalar]
    metrics: Mapping[str, Type] = field(default_factory=dict)
    portfolio_metrics: frozenset[str] = frozenset()  # metrics that use portfolio functions
    outputs: Mapping[str, Type] = field(default_factory=dict)
    later_outputs: Mapping[str, str] = field(default_factory=dict)  # name -> why it is not readable here
    # outputs of a section the policy does not define (no tiers:, no churn score...) -> why: not a typo of a field
    absent: Mapping[str, str] = field(default_factory=dict)
    param_locations: Mapping[str, SourceLocation] = field(default_factory=dict)  # where each param is set
    refused: frozenset[str] = frozenset()  # 'params.x' and metrics defined but refused: see FollowOnError


class FollowOnError(PolicyTypeError):
    """A use of a parameter or metric whose own definition was refused with an error.

    The definition's error says what is wrong; the uses would only repeat it as an unknown name with a
    misleading "did you mean". :func:`~accountrules.check.policy_check.check_policy` drops these, and
    only refused names raise them, so some other error is always reported."""


def type_of_value(v: Scalar) -> Type:
    if v is None:
        return NULL
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, int | float):
        return NUMBER
    if isinstance(v, dt.date):
        return DATE
    return STRING


def _did_you_mean(word: str, candidates: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    return did_you_mean(*close) if close else None


class ExprChecker:
    def __init__(self, scope: Scope):
        self.scope = scope
        # where a parameter was read -> its name: a type error there is the parameter's value at fault
        self._param_uses: dict[SourceLocation, str] = {}

    def check(self, e: Expr, expect: Type | None = None, what: str = Message(N_("expression"))) -> tuple[Expr, Type]:
        try:
            resolved, t = self._check(e)
            if expect is not None and t != NULL and not _assignable(t, expect):
                raise PolicyTypeError(Message(N_("{what} must be {expect}, but this is {t}"),
                                              what=what, expect=_word(expect), t=_word(t)), e.loc)
        except PolicyTypeError as err:
            raise self._at_parameter(err) from None
        return resolved, t

    def _at_parameter(self, err: PolicyTypeError) -> PolicyTypeError:
        """An error at a parameter's use, moved to where its value is set (what the owner changes), with the
        use as a second location; any other error as it is."""
        name = self._param_uses.get(err.location) if err.location is not None else None
        defined = self.scope.param_locations.get(name) if name is not None else None
        if name is None or defined is None or err.location is None:
            return err
        value = self.scope.params[name]
        problem = Message(N_("parameter {name!r} is {type} ({value!r}), which does not fit where it is used: "
                             "{message}"), name=name, type=_word(type_of_value(value)), value=value,
                          message=err.message)
        hint = err.hint
        if isinstance(value, str) and _EXPONENT.fullmatch(value.strip()):
            # YAML 1.1 reads a number with an exponent only with a '.' and a signed exponent: 1e3 is text
            hint = Message(N_("YAML reads {value!r} as text, not as a number: write a number with an exponent with "
                              "a decimal point and a sign, like 1.0e+3"), value=value)
        return PolicyTypeError(problem, defined, hint, related=(err.location,))

    # -- names
    def _resolve(self, n: Name) -> tuple[Expr, Type]:
        s = self.scope
        path = n.path
        if path.startswith("params."):
            key = path[len("params."):]
            if key not in s.params:
                if path in s.refused:
                    raise FollowOnError(Message(N_("{path!r} is defined, but its definition has an error"), path=path),
                                        n.loc)
                raise PolicyTypeError(
                    Message(N_("unknown parameter {path!r}"), path=path), n.loc, _did_you_mean(key, list(s.params)) or
                    Message(N_("declare it under params:"))
                )
            v = s.params[key]
            self._param_uses[n.loc] = key
            return Literal(n.loc, v, type_of_value(v)), type_of_value(v)
        if path == "as_of":
            return Ref(n.loc, "as_of", "as_of", DATE), DATE
        if path in s.metrics:
            return Ref(n.loc, "metric", path, s.metrics[path]), s.metrics[path]
        if path in s.outputs:
            return Ref(n.loc, "output", path, s.outputs[path]), s.outputs[path]
        if path in s.absent:  # before later_outputs: a section that is not there is decided at no time
            raise PolicyTypeError(s.absent[path], n.loc)
        if path in s.later_outputs:
            raise PolicyTypeError(Message(N_("{path!r} cannot be read here: {path2}"),
                                          path=path, path2=s.later_outputs[path]), n.loc)
        if path in s.fields:
            return Ref(n.loc, "field", path, s.fields[path]), s.fields[path]
        if path in s.refused:
            raise FollowOnError(Message(N_("{path!r} is defined, but its definition has an error"), path=path), n.loc)
        if path.startswith("segments."):
            have = [k for k in (*s.outputs, *s.later_outputs) if k.startswith("segments.")]
            hint = _did_you_mean(path, have) or (None if have else Message(N_("it defines no segments")))
            raise PolicyTypeError(Message(N_("{path!r} cannot be read: the policy has no segment {name!r}"), path=path,
                                          name=path[len("segments."):]), n.loc, hint)
        if path.startswith("extra."):
            raise PolicyTypeError(
                Message(N_("unknown field {path!r}"),
                        path=path), n.loc, Message(N_("CRM fields outside the model must be declared under fields:"))
            )
        candidates = [*s.fields, *s.metrics, *s.outputs, *("params." + p for p in s.params)]
        raise PolicyTypeError(Message(N_("unknown field {path!r}"), path=path), n.loc, _did_you_mean(path, candidates))

    # -- nodes
    def _check(self, e: Expr) -> tuple[Expr, Type]:
        if type(e) is Binary:  # the commonest node (every comparison) first
            return self._binary(e)
        if isinstance(e, Literal):
            return e, e.type
        if isinstance(e, Name):
            return self._resolve(e)
        if isinstance(e, Ref):
            return e, e.type
        if isinstance(e, Unary):
            op, t = self._check(e.operand)
            self._need(t, NUMBER, e.operand, "'-'")
            return Unary(e.loc, e.op, op), NUMBER
        if isinstance(e, Not):
            op, t = self._check(e.operand)
            self._need(t, BOOL, e.operand, "'not'")
            return Not(e.loc, op), BOOL
        if isinstance(e, Logic):
            ops = []
            for o in e.operands:
                r, t = self._check(o)
                self._need(t, BOOL, o, f"'{e.op}'")
                ops.append(r)
            return Logic(e.loc, e.op, tuple(ops)), BOOL
        if isinstance(e, Binary):
            return self._binary(e)
        if isinstance(e, IsNull):
            op, _ = self._check(e.operand)
            return IsNull(e.loc, op, e.negated), BOOL
        if isinstance(e, InList):
            op, t = self._check(e.operand)
            items = []
            for item in e.items:
                r, it = self._check(item)
                self._comparable(t, it, op, r, item, "in")
                items.append(r)
            return InList(e.loc, op, tuple(items), e.negated), BOOL
        if isinstance(e, InRange):
            op, t = self._check(e.operand)
            lo, lt = self._check(e.low)
            hi, ht = self._check(e.high)
            if t.name not in _ORDERED and t != NULL:
                raise PolicyTypeError(Message(N_("a range needs a number or a date, not {t}"),
                                              t=_word(t)), e.operand.loc)
            self._comparable(t, lt, op, lo, e.low, "in")
            self._comparable(t, ht, op, hi, e.high, "in")
            return InRange(e.loc, op, lo, hi, e.negated), BOOL
        if isinstance(e, Call):
            return self._call(e)
        raise PolicyTypeError(Message(N_("unsupported expression {name}"), name=type(e).__name__), e.loc)

    def _need(self, t: Type, want: Type, e: Expr, where: str) -> None:
        if t != want and t != NULL:
            raise PolicyTypeError(Message(N_("{where} needs {want}, but this is {t}"),
                                          where=where, want=_word(want), t=_word(t)), e.loc)

    def _binary(self, e: Binary) -> tuple[Expr, Type]:
        left, lt = self._check(e.left)
        right, rt = self._check(e.right)
        if e.op in ("+", "-", "*", "/"):
            if e.op == "-" and lt == DATE and rt == DATE:
                return Binary(e.loc, e.op, left, right), NUMBER
            self._need(lt, NUMBER, e.left, f"'{e.op}'")
            self._need(rt, NUMBER, e.right, f"'{e.op}'")
            return Binary(e.loc, e.op, left, right), NUMBER
        if NULL in (lt, rt):
            raise PolicyTypeError(Message(N_("comparing with null using '{op}' is never true"), op=e.op), e.loc,
                                  Message(N_("write 'x is null' or 'x is not null'")))
        if e.op not in ("==", "!="):
            for t, side in ((lt, e.left), (rt, e.right)):
                if t.name not in _ORDERED:
                    hint = Message(N_("compare ranks with rank(x)")) if t.name == "enum" else None
                    raise PolicyTypeError(Message(N_("'{op}' needs numbers or dates, but this is {t}"),
                                                  op=e.op, t=_word(t)), side.loc, hint)
        self._comparable(lt, rt, left, right, e.right, e.op)
        return Binary(e.loc, e.op, left, right), BOOL

    def _comparable(self, lt: Type, rt: Type, left: Expr, right: Expr, at: Expr, op: str) -> None:
        if NULL in (lt, rt):
            return
        for enum_t, other_t, other in ((lt, rt, right), (rt, lt, left)):
            if enum_t.name == "enum" and other_t == STRING and isinstance(other, Literal):
                assert isinstance(other.value, str)
                if other.value not in enum_t.values:
                    raise PolicyTypeError(
                        Message(N_("{value!r} is not a {enum} (one of {values})"),
                                value=other.value, enum=enum_t.enum, values=', '.join(enum_t.values)),
                        other.loc, _did_you_mean(other.value, enum_t.values),
                    )
                return
        if lt.name == "enum" and rt.name == "enum":
            if lt.enum != rt.enum:
                raise PolicyTypeError(Message(N_("cannot compare {lt} with {rt}"), lt=_word(lt), rt=_word(rt)), at.loc)
            return
        if _base(lt) != _base(rt):
            # when one side is a parameter, its value is what is wrong (a field's type is fixed)
            blame = next((x.loc for x in (right, left) if x.loc in self._param_uses), at.loc)
            raise PolicyTypeError(Message(N_("cannot compare {lt} with {rt} using '{op}'"),
                                          lt=_word(lt), rt=_word(rt), op=op), blame)

    def _call(self, e: Call) -> tuple[Expr, Type]:
        f = e.func
        n = len(e.args)
        if f in PORTFOLIO_FUNCTIONS:
            if f == "quantile":
                if n not in (2, 3):
                    raise PolicyTypeError(
                        Message(N_("quantile() takes 2 or 3 arguments: quantile(x, k) or quantile(x, k, 'first')")),
                                                                                                  e.loc)
            elif n != 1:
                raise PolicyTypeError(Message(N_("{f}() takes 1 argument"), f=f), e.loc)
            arg, t = self._check(e.args[0])
            self._need(t, NUMBER, e.args[0], f"{f}()")
            self._local(arg, f)
            args: tuple[Expr, ...] = (arg,)
            if f == "quantile":
                k = e.args[1]
                if not (isinstance(k, Literal) and isinstance(k.value, int) and 2 <= k.value <= 100):
                    raise PolicyTypeError(Message(N_("quantile(x, k) needs a whole number k from 2 to 100")), k.loc)
                args = (arg, k)
                if n == 3:
                    args = (arg, k, self._ties(e.args[2]))
            return Call(e.loc, f, args), NUMBER
        if f == "rank":
            if n != 1:
                raise PolicyTypeError(Message(N_("rank() takes 1 argument")), e.loc)
            arg, t = self._check(e.args[0])
            if t.name != "enum":
                raise PolicyTypeError(Message(N_("rank() needs a tier or segment value, not {t}"),
                                              t=_word(t)), e.args[0].loc)
            return EnumRank(e.loc, arg, t.values), NUMBER
        if f not in _SIGNATURES:
            raise PolicyTypeError(Message(N_("unknown function {f!r}"), f=f), e.loc,
                                  _did_you_mean(f, [*_SIGNATURES, *PORTFOLIO_FUNCTIONS, "rank"]))
        lo, hi, arg_t, ret = _SIGNATURES[f]
        if n < lo or (hi is not None and n > hi):
            count: object = lo if hi == lo else Message(N_("at least {lo}"), lo=lo)
            many = N_("{f}() takes {count} arguments, got {n}") if lo > 1 else \
                N_("{f}() takes {count} argument, got {n}")
            raise PolicyTypeError(Message(many, f=f, count=count, n=n), e.loc)
        checked = [self._check(a) for a in e.args]
        if f == "coalesce":
            types = {t for _, t in checked if t != NULL}
            bases = {_base(t) for t in types}
            if len(bases) > 1:
                raise PolicyTypeError(Message(N_("coalesce() needs arguments of one type")), e.loc)
            ret = next(iter(types)) if types else NULL
        else:
            assert arg_t is not None
            for (_, t), a in zip(checked, e.args, strict=True):
                self._need(t, arg_t, a, f"{f}()")
        assert ret is not None
        return Call(e.loc, f, tuple(r for r, _ in checked)), ret

    def _ties(self, e: Expr) -> Literal:
        """The tie rule of ``quantile(x, k, ties)``: a string constant, one of :data:`QUANTILE_TIES`."""
        if isinstance(e, Name) and e.path in QUANTILE_TIES:
            raise PolicyTypeError(Message(N_("quantile(x, k, ties): write the tie rule as text, '{path}'"),
                                          path=e.path), e.loc)
        checked, _ = self._check(e)
        if not (isinstance(checked, Literal) and isinstance(checked.value, str)
                and checked.value in QUANTILE_TIES):
            shown = repr(checked.value) if isinstance(checked, Literal) else "an expression"
            hint = _did_you_mean(checked.value, list(QUANTILE_TIES)) if (
                isinstance(checked, Literal) and isinstance(checked.value, str)) else None
            raise PolicyTypeError(
                Message(N_("quantile(x, k, ties): ties is 'same' (equal values share a bucket) or 'first' (ties "
                           "ranked by account id), not {shown}"), shown=shown), e.loc, hint)
        return checked

    def _local(self, arg: Expr, f: str) -> None:
        """Portfolio statistics are computed from single accounts, so their argument must be local."""
        for node in walk(arg):
            if isinstance(node, Call) and node.func in PORTFOLIO_FUNCTIONS:
                raise PolicyTypeError(Message(N_("{f}() cannot contain another portfolio function"), f=f), node.loc)
            if isinstance(node, Ref) and (
                node.kind == "output" or (node.kind == "metric" and node.key in self.scope.portfolio_metrics)
            ):
                raise PolicyTypeError(
                    Message(N_("{f}() needs a value of the account alone; {key!r} depends on decisions or the "
                               "portfolio"), f=f, key=node.key),
                    node.loc,
                )


class ConditionChecker:
    """Checks the conditions of one section (one scope, one expected type) for one check run, reusing
    what it learnt from ``name <op> constant`` conditions that passed.

    Such a comparison (most rows of a long table) checks the same for every row with the same name,
    operator, constant type and, for text, constant: the name resolves to the same reference and the
    types fit or not alike. Its first passing check is kept; a later one builds the same tree from the
    kept reference, with this row's own locations. A condition that fails is never kept: every such
    row is checked in full and its error names its own place. Parameters (``params.x``) are checked
    in full every time (an error at a parameter names where its value is set). Made per section per
    :func:`~accountrules.check.policy_check.check_policy` call, so nothing learnt outlives that call
    or crosses to another policy.
    """

    __slots__ = ("scope", "expect", "what", "_refs")

    def __init__(self, scope: Scope, expect: Type | None, what: str) -> None:
        self.scope = scope
        self.expect = expect
        self.what = what
        # (name, operator, constant type, text constant or None) -> (kind, key, type) of the name's Ref
        self._refs: dict[tuple[str, str, str, Scalar], tuple[str, str, Type]] = {}

    def check(self, e: Expr) -> Expr:
        """``e`` resolved and checked, as ``ExprChecker(scope).check(e, expect, what)[0]``; raises as it does."""
        if type(e) is not Binary:
            return ExprChecker(self.scope).check(e, self.expect, self.what)[0]
        name, right = e.left, e.right
        if type(name) is not Name or type(right) is not Literal:
            return ExprChecker(self.scope).check(e, self.expect, self.what)[0]
        # a text constant is part of the key: whether it is one of an enum's values depends on it
        kind = right.type.name
        key = (name.path, e.op, kind, right.value if kind == "string" else None)
        ref = self._refs.get(key)
        if ref is not None:
            return Binary(e.loc, e.op, Ref(name.loc, ref[0], ref[1], ref[2]), right)
        resolved = ExprChecker(self.scope).check(e, self.expect, self.what)[0]
        left = resolved.left if type(resolved) is Binary else None
        if type(left) is Ref and not name.path.startswith("params."):
            self._refs[key] = (left.kind, left.key, left.type)
        return resolved


# the words of the base types in messages (an enum is shown by its vocabulary's name)
_TYPE_WORDS = {"number": N_("number"), "string": N_("string"), "bool": N_("bool"), "date": N_("date"),
               "null": N_("null")}


def _word(t: Type) -> object:
    """A type as a message shows it: a base type's word translatable, an enum by its name."""
    return Message(_TYPE_WORDS[t.name]) if t.name in _TYPE_WORDS else str(t)


def _base(t: Type) -> str:
    return "string" if t.name == "enum" else t.name


def _assignable(t: Type, want: Type) -> bool:
    return t == want or _base(t) == _base(want)


# name -> (min args, max args, argument type, return type)
_SIGNATURES: dict[str, tuple[int, int | None, Type | None, Type | None]] = {
    "min": (2, None, NUMBER, NUMBER),
    "max": (2, None, NUMBER, NUMBER),
    "abs": (1, 1, NUMBER, NUMBER),
    "ratio": (2, 2, NUMBER, NUMBER),
    "days_since": (1, 1, DATE, NUMBER),
    "coalesce": (2, None, None, None),
}


def uses_portfolio(e: Expr, portfolio_metrics: frozenset[str] = frozenset()) -> bool:
    return any(
        (isinstance(n, Call) and n.func in PORTFOLIO_FUNCTIONS)
        or (isinstance(n, Ref) and n.kind == "metric" and n.key in portfolio_metrics)
        for n in walk(e)
    )


def portfolio_calls(e: Expr) -> list[Call]:
    return [n for n in walk(e) if isinstance(n, Call) and n.func in PORTFOLIO_FUNCTIONS]
