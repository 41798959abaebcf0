"""Witness accounts: turn a box of cells into a concrete account (and the portfolio it is ranked
among) and run it through the compiled evaluator.

Metrics and opaque terms are inverted through their definitions (``ratio(a, b)`` with ``b = 1``,
``days_since(d)`` with ``d = as_of - n``, ``percentile(x)`` by placing portfolio accounts below
and above ``x``). Nothing here is trusted: the account is validated by the pydantic model, decided
by the compiled evaluator, and every cell of the box is checked against the values it really got.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from accountrules.analysis.conditions import Conditions, var_value_ok
from accountrules.analysis.domain import Box, Cell
from accountrules.compile.closures import compile_expr
from accountrules.errors import AccountRulesError, DecisionError
from accountrules.evaluate.accounts import env_of
from accountrules.evaluate.driver import COMPILED, run, to_decision
from accountrules.model.account import Account
from accountrules.model.decision import Decision
from accountrules.model.fields import FIELDS
from accountrules.parse.expr_ast import (
    PORTFOLIO_FUNCTIONS,
    Binary,
    Call,
    EnumRank,
    Expr,
    Literal,
    Ref,
    Unary,
    ranks_by_id,
    unparse,
)

if TYPE_CHECKING:
    from accountrules.policy import Policy

log = logging.getLogger(__name__)

WITNESS_AS_OF = dt.date(2026, 6, 30)
Env = dict[str, Any]
# (decision or None when deciding raised, env, the DecisionError if any) -> the expectation confirmed, or None
Check = Callable[[Decision | None, Env, DecisionError | None], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Witness:
    """An account (with the portfolio it is ranked among) that shows a finding on the compiled evaluator."""

    account: dict[str, Any]
    portfolio: tuple[dict[str, Any], ...]
    as_of: dt.date
    expect: dict[str, Any]
    stage_from: str | None = None
    more: tuple[tuple[dict[str, Any], dict[str, Any]], ...] = ()  # further (account, expect) cases

    def cases(self) -> list[Witness]:
        """This witness and each further account as a witness of its own."""
        return [self, *(Witness(a, self.portfolio, self.as_of, e) for a, e in self.more)]

    def case(self, name: str) -> dict[str, Any]:
        doc: dict[str, Any] = {"as_of": self.as_of.isoformat()}
        if self.portfolio:
            doc["portfolio"] = [dict(p) for p in self.portfolio]
        case: dict[str, Any] = {"name": name, "given": self.account}
        if self.expect.get("error"):
            case["description"] = {"zh": "决策此账户会抛出 DecisionError, 指出相互冲突的行",
                                   "en": "deciding this account raises a DecisionError naming the conflicting rows"}
        else:
            case["expect"] = self.expect
        doc["cases"] = [case, *({"name": f"{name} ({i})", "given": a, "expect": e}
                                for i, (a, e) in enumerate(self.more, 2))]
        return doc


def point(v: Any) -> Cell:
    return Cell(v, f"= {v}", v, v, True, True, ordered=True)


def _map(c: Cell, f: Callable[[Any], Any], decreasing: bool = False) -> Cell | None:
    if not c.ordered or isinstance(c.rep, dt.date):
        return None
    lo = f(c.lo) if c.lo is not None else None
    hi = f(c.hi) if c.hi is not None else None
    if decreasing:
        return Cell(f(c.rep), c.text, hi, lo, c.hi_incl, c.lo_incl, ordered=True)
    return Cell(f(c.rep), c.text, lo, hi, c.lo_incl, c.hi_incl, ordered=True)


@dataclass
class _State:
    values: dict[str, Any] = field(default_factory=dict)
    nulls: set[str] = field(default_factory=set)
    wants: list[tuple[str, Expr, Cell, int]] = field(default_factory=list)  # func, ranked expr, target, k


class Realizer:
    def __init__(self, policy: Policy, conds: Conditions,
                 expand: Callable[[Box], list[Box]], as_of: dt.date = WITNESS_AS_OF):
        self.policy = policy
        self.plan = policy.plan
        self.conds = conds
        self.expand = expand
        self.as_of = as_of
        self._term_fns: dict[str, Callable[[Env], Any]] = {}

    # -- public
    def find(self, boxes: list[Box], check: Check, *, stage: str | None = None, limit: int = 12,
             samples: int = 8) -> Witness | None:
        """A witness from the first cells that work; then, when those fail, from randomly sampled cells
        (seeded, so a report is reproducible)."""
        tried = 0
        flats: list[Box] = []
        for box in boxes:
            for flat in self.expand(box):
                flats.append(flat)
                for choice in self._choices(flat):
                    tried += 1
                    if tried > limit:
                        break
                    w = self._attempt(flat, choice, check, stage)
                    if w is not None:
                        return w
                if tried > limit:
                    break
            if tried > limit:
                break
        rnd = random.Random(len(flats))
        for _ in range(samples if flats else 0):
            flat = rnd.choice(flats)
            sampled = self._sample(flat, rnd)
            if sampled is not None:
                w = self._attempt(flat, sampled, check, stage)
                if w is not None:
                    return w
        return None

    def _sample(self, box: Box, rnd: random.Random) -> dict[str, Cell] | None:
        sp = self.conds.space
        out: dict[str, Cell] = {}
        for k, m in box.items():
            cells = [sp.vars[k].cells[i] for i in range(len(sp.vars[k].cells)) if (m >> i) & 1]
            if not cells:
                return None
            out[k] = rnd.choice(cells)
        return out

    def replay(self, w: Witness, *, public: bool = False) -> tuple[Decision | None, Env, DecisionError | None]:
        """Decide a witness from its plain data (as its YAML case would).

        While searching, the compiled evaluator's own steps (``run`` then ``to_decision``, which is
        what ``Policy.decide`` does) are called directly, because checks also read the env.
        ``public=True`` is the final re-check through ``Policy.decide`` itself; its env is empty.
        """
        acc = Account.model_validate(w.account)
        members = [Account.model_validate(p) for p in w.portfolio]
        stats = self.policy.portfolio_stats([*members, acc], as_of=w.as_of) if self.plan.uses_portfolio else None
        decision: Decision | None = None
        error: DecisionError | None = None
        env: Env = {}
        if public:
            try:
                decision = self.policy.decide(acc, as_of=w.as_of, portfolio=stats)
            except DecisionError as e:
                error = e
            return decision, env, error
        env = env_of(acc, self.plan.extra_fields)
        try:
            raw = run(self.plan, env, COMPILED, acc.id, w.as_of, stats)
            decision = to_decision(self.plan, raw, acc.id, w.as_of, self.policy.ref)
        except DecisionError as e:
            error = e  # env holds every value decided before the failing section, which is what checks read
        return decision, env, error

    # -- choosing cells
    def _choices(self, box: Box) -> list[dict[str, Cell]]:
        sp = self.conds.space
        first: dict[str, Cell] = {}
        alt: dict[str, Cell] = {}
        for k, m in box.items():
            v = sp.vars[k]
            cells = [c for i, c in enumerate(v.cells) if (m >> i) & 1]
            if not cells:
                return []
            non_null = [c for c in cells if not c.null]
            first[k] = non_null[0] if non_null else cells[0]
            alt[k] = non_null[-1] if non_null else cells[0]
        return [first, alt] if alt != first else [first]

    def _attempt(self, box: Box, choice: dict[str, Cell], check: Check, stage: str | None) -> Witness | None:
        st = _State()
        if stage is not None:
            st.values["relationship.stage"] = stage
        sp = self.conds.space
        order = sorted(choice, key=lambda k: {"field": 0, "term": 1, "metric": 2}.get(sp.vars[k].origin, 3))
        for k in order:
            v = sp.vars[k]
            target = choice[k]
            if v.origin == "field":
                ok = self._field(k, target, st)
            elif v.expr is not None:
                ok = self._realize(v.expr, target, st)
            else:
                ok = False
            if not ok:
                return None
        try:
            account, portfolio = self._accounts(st)
            w = Witness(account, portfolio, self.as_of, {}, stage)
            decision, env, error = self.replay(w)
        except (ValidationError, AccountRulesError, _Unrealizable, ArithmeticError, TypeError, ValueError) as e:
            log.debug("witness attempt failed: %s", e)
            return None
        for k, m in box.items():
            try:
                if not var_value_ok(sp.vars[k], self.value_of(k, env), m):
                    return None
            except (KeyError, TypeError, ArithmeticError):
                return None
        expect = check(decision, env, error)
        if expect is None:
            return None
        return Witness(account, portfolio, self.as_of, expect, stage)

    def value_of(self, key: str, env: Env) -> Any:
        if key in env:
            return env[key]
        fn = self._term_fns.get(key)
        if fn is None:
            v = self.conds.space.vars[key]
            assert v.expr is not None
            fn = self._term_fns[key] = compile_expr(v.expr)
        return fn(env)

    # -- realizing values
    def _field(self, key: str, c: Cell, st: _State) -> bool:
        if c.null:
            if key in st.values:
                return st.values[key] is None
            st.nulls.add(key)
            return True
        if key in st.values:
            return c.holds(st.values[key])
        if key in st.nulls:
            return False
        value = c.rep
        f = FIELDS.get(key)
        if f is not None and f.integer and isinstance(value, float):
            cands = [v for v in (round(value), math.floor(value), math.ceil(value)) if c.holds(v)]
            if not cands:
                return False
            value = int(cands[0])
        if f is not None and isinstance(value, int | float) and not isinstance(value, bool):
            if (f.ge is not None and value < f.ge) or (f.le is not None and value > f.le):
                return False
        st.values[key] = value
        return True

    def _determined(self, e: Expr, st: _State) -> Any:
        """The value of ``e`` if every field it reads is already chosen, else a sentinel."""
        if isinstance(e, Literal):
            return e.value
        if isinstance(e, Ref) and e.kind == "field":
            if e.key in st.values:
                return st.values[e.key]
            return _MISSING if e.key not in st.nulls else None
        if isinstance(e, Ref) and e.kind == "metric":
            m = self.conds.metric_exprs.get(e.key)
            return self._determined(m, st) if m is not None else _MISSING
        if isinstance(e, Binary) and e.op in ("+", "-", "*", "/") or isinstance(e, Call) and e.func == "ratio":
            a, b = (e.left, e.right) if isinstance(e, Binary) else e.args
            x, y = self._determined(a, st), self._determined(b, st)
            if x is _MISSING or y is _MISSING:
                return _MISSING
            if x is None or y is None:
                return None
            op = e.op if isinstance(e, Binary) else "/"
            if op == "/":
                return None if y == 0 else x / y
            return x + y if op == "+" else x - y if op == "-" else x * y
        return _MISSING

    def _realize(self, e: Expr, c: Cell, st: _State) -> bool:
        if c.null:
            return self._null(e, st)
        if isinstance(e, Literal):
            return c.holds(e.value)
        if isinstance(e, Ref):
            if e.kind == "field":
                return self._field(e.key, c, st)
            if e.kind == "metric" or e.key == "churn.score":
                m = self.conds.metric_exprs.get(e.key)
                return m is not None and self._realize(m, c, st)
            return False
        if isinstance(e, Unary):
            t = _map(c, lambda x: -x, decreasing=True)
            return t is not None and self._realize(e.operand, t, st)
        if isinstance(e, Binary) and e.op in ("+", "-", "*", "/"):
            return self._arith(e.op, e.left, e.right, c, st)
        if isinstance(e, Call):
            return self._call(e, c, st)
        if isinstance(e, EnumRank):
            r = c.rep
            return (isinstance(r, int) and 1 <= r <= len(e.values)
                    and self._realize(e.operand, point(e.values[r - 1]), st))
        if isinstance(e, Binary) and isinstance(c.rep, bool):
            return self._compare(e, c.rep, st)
        return False

    def _arith(self, op: str, a: Expr, b: Expr, c: Cell, st: _State) -> bool:
        y = self._determined(b, st)
        if y is _MISSING:
            x = self._determined(a, st)
            if x is not _MISSING and x is not None and op in ("+", "*", "-") and not isinstance(x, dt.date):
                if op == "+":
                    t = _map(c, lambda v: v - x)
                elif op == "-":
                    t = _map(c, lambda v: x - v, decreasing=True)
                else:
                    t = _map(c, lambda v: v / x) if x else None
                return t is not None and self._realize(b, t, st)
            neutral = 0 if op in ("+", "-") else 1
            if not self._realize(b, point(neutral), st):
                return False
            y = neutral
        if y is None or isinstance(y, dt.date) or isinstance(c.rep, dt.date):
            return False
        if op == "+":
            t = _map(c, lambda v: v - y)
        elif op == "-":
            t = _map(c, lambda v: v + y)
        elif op == "*":
            t = _map(c, lambda v: v / y, decreasing=y < 0) if y else None
        else:
            t = _map(c, lambda v: v * y, decreasing=y < 0) if y else None
        return t is not None and self._realize(a, t, st)

    def _call(self, e: Call, c: Cell, st: _State) -> bool:
        f = e.func
        if f == "ratio":
            return self._arith("/", e.args[0], e.args[1], c, st)
        if f in PORTFOLIO_FUNCTIONS:
            k = e.args[1].value if f == "quantile" and isinstance(e.args[1], Literal) else 5
            func = "quantile_first" if ranks_by_id(e) else f
            st.wants.append((func, e.args[0], c, int(k) if isinstance(k, int) else 5))
            return True
        if f == "coalesce":
            return self._realize(e.args[0], c, st)
        if f == "abs":
            return isinstance(c.rep, int | float) and c.rep >= 0 and self._realize(e.args[0], c, st)
        if f in ("min", "max"):
            return all(self._realize(a, c, st) for a in e.args)
        if f == "days_since" and isinstance(c.rep, int | float):
            return self._realize(e.args[0], point(self.as_of - dt.timedelta(days=int(c.rep))), st)
        return False

    def _compare(self, e: Binary, want: bool, st: _State) -> bool:
        x = self._determined(e.left, st)
        if x is _MISSING:
            if not self._realize(e.left, point(1), st):
                return False
            x = 1
        if x is None or isinstance(x, bool | str):
            y = x if (e.op in ("==", "<=", ">=")) == want else None
            return y is not None and self._realize(e.right, point(y), st)
        table = {"==": (x, x + 1), "!=": (x + 1, x), "<": (x + 1, x), "<=": (x, x - 1), ">": (x - 1, x),
                 ">=": (x, x + 1)}
        yes, no = table[e.op]
        return self._realize(e.right, point(yes if want else no), st)

    def _null(self, e: Expr, st: _State) -> bool:
        if isinstance(e, Literal):
            return e.value is None
        if isinstance(e, Ref):
            if e.kind == "field":
                return self._field(e.key, Cell(None, "null", null=True), st)
            m = self.conds.metric_exprs.get(e.key)
            return m is not None and self._null(m, st)
        if isinstance(e, Call) and e.func == "coalesce":
            return all(self._null(a, st) for a in e.args)
        if isinstance(e, Call) and e.func in PORTFOLIO_FUNCTIONS:
            return self._null(e.args[0], st)
        if isinstance(e, Call) and e.func == "ratio" or isinstance(e, Binary) and e.op == "/":
            a, b = (e.left, e.right) if isinstance(e, Binary) else e.args
            return self._null(a, st) or self._realize(b, point(0), st)
        if isinstance(e, Unary):
            return self._null(e.operand, st)
        parts = e.args if isinstance(e, Call) else (e.left, e.right) if isinstance(e, Binary) else ()
        return any(self._null(p, st) for p in parts)

    # -- building accounts
    def _accounts(self, st: _State) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
        for _, arg, cell, _ in st.wants:
            # a ranked value that nothing else fixed: give it one, the portfolio is placed around it
            if not cell.null and self._determined(arg, st) is _MISSING and not self._realize(arg, point(10), st):
                raise _Unrealizable(f"cannot give {unparse(arg)} a value")
        account = _nest("W1", st.values)
        if not self.plan.uses_portfolio:
            if st.wants:
                raise _Unrealizable("a portfolio function without a portfolio")
            return account, ()
        members: list[_State] = []
        if st.wants:
            acc = Account.model_validate(account)
            env = env_of(acc, self.plan.extra_fields)
            env["as_of"] = self.as_of
            for m in self.plan.local_metrics:
                env[m.name] = m.fn(env)
            keys = dict(self.plan.portfolio_args)
            size = 20
            members = [_State() for _ in range(size - 1)]
            for func, arg, cell, k in st.wants:
                key = unparse(arg)
                xv = keys[key](env)
                below = _below_count(func, cell, xv, size, k)
                if below is None:
                    raise _Unrealizable(f"{func}({key}) cannot reach {cell.text}")
                low = xv - 1 if isinstance(xv, int) else xv - max(1.0, abs(xv)) if xv is not None else None
                # ties ranked by id would count equal members by their ids: place the rest strictly above
                rest = xv if func != "quantile_first" or xv is None else (
                    xv + 1 if isinstance(xv, int) else xv + max(1.0, abs(xv)))
                for i, mst in enumerate(members):
                    if xv is None:
                        continue
                    if not self._realize(arg, point(low if i < below else rest), mst):
                        raise _Unrealizable(f"portfolio account cannot hold {key}")
        portfolio = tuple(_nest(f"P{i + 1}", m.values) for i, m in enumerate(members))
        return account, portfolio


class _Unrealizable(Exception):
    pass


_MISSING: Any = object()


def _below_count(func: str, cell: Cell, xv: Any, size: int, k: int) -> int | None:
    if xv is None:
        return 0 if cell.null else None
    if cell.null:
        return None
    for b in range(size):
        if func == "percentile":
            val: Any = b / size
        elif func in ("quantile", "quantile_first"):
            val = 1 + min(k - 1, (b * k) // size)
        else:
            return None
        if cell.holds(val):
            return b
    return None


def _plain(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _nest(account_id: str, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": account_id}
    for path, v in sorted(values.items()):
        if v is None:
            continue
        group, _, name = path.partition(".")
        if group == "contacts":
            if v in (0, False):
                continue  # what an account without contacts has
            raise _Unrealizable("contact summaries are not realised yet")
        out.setdefault(group, {})[name] = _plain(v)
    return out
