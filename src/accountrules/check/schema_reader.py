"""The typed reader every part of the policy schema uses: it collects located problems instead of
stopping at the first, so one load reports them all."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable

from accountrules.check.limits import Budget
from accountrules.check.shapes import Keys, check_mapping
from accountrules.check.spec import (
    Provenance,
)
from accountrules.errors import (
    PolicyError,
    PolicyLimitError,
    PolicySchemaError,
    SourceLocation,
    did_you_mean,
)
from accountrules.i18n import N_, Message
from accountrules.model.decision import Label
from accountrules.parse.expr_ast import BOOL, Binary, Expr, Literal, Name, walk
from accountrules.parse.expr_parser import ComparisonShape, parse_expression
from accountrules.parse.yaml_source import YNode
from accountrules.parse.ynode import SpelledNumber

HIT_POLICIES = ("unique", "first", "priority", "any")
# matched with fullmatch, never match: Python's ``$`` also matches before a final newline ("r1\n");
# the anchors stay for the JSON Schema, which carries these patterns to editors
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
DUE = re.compile(r"^(\d{1,9})([dw])$")  # 7d, 2w


class _Reader:
    """Walks YNodes, checking shapes and collecting errors; counts what it reads against ``budget``."""

    def __init__(self, budget: Budget | None = None) -> None:
        self.errors: list[PolicyError] = []
        self.budget = budget if budget is not None else Budget()
        self.over_budget = False  # a limit was hit: read no further expressions
        # names the policy defines ('params.x', metric names) whose definition was refused with an error:
        # the checker does not report their uses again as unknown names
        self.refused: set[str] = set()

    def err(self, message: str, loc: SourceLocation, hint: str | None = None) -> None:
        self.errors.append(PolicySchemaError(message, loc, hint))

    def mapping(self, node: YNode, what: str, allowed: Iterable[str], required: Iterable[str] = ()) -> bool:
        return check_mapping(node, what, allowed if isinstance(allowed, Collection) else tuple(allowed),
                             required if isinstance(required, Collection) else tuple(required), self.errors)

    def keys(self, node: YNode, what: str, shape: Keys) -> bool:
        """:meth:`mapping` with the keys ``shape`` declares (see :mod:`accountrules.check.policy_shapes`)."""
        return check_mapping(node, what, shape.allowed, shape.required, self.errors)

    def text(self, node: YNode | None, what: str, default: str | None = None) -> str | None:
        if node is None:
            return default
        v = node.value
        if type(v) is str:
            return v
        if isinstance(v, bool) or v is None or isinstance(v, list | dict):
            self.err(Message(N_("{what} must be text"), what=what), node.location)
            return default
        return node.spelling if isinstance(node, SpelledNumber) else str(v)  # version: 1.10 is '1.10'

    def ident(self, node: YNode | None, what: str, pattern: re.Pattern[str] = _ID) -> str | None:
        value = self.text(node, what)
        if value is not None and node is not None and not pattern.fullmatch(value):
            self.err(Message(N_("{what} {value!r} must be letters, digits, '_' , '-' or '.'"), what=what, value=value),
                     node.location)
            return None
        return value

    def label(self, node: YNode | None, what: str) -> Label | None:
        if node is None:
            return None
        if isinstance(node.value, str):  # one text for both languages
            return Label(zh=node.value, en=node.value)
        if not self.mapping(node, what, ("zh", "en"), ("zh", "en")):
            return None
        zh, en = self.text(node.get("zh"), f"{what}.zh"), self.text(node.get("en"), f"{what}.en")
        return Label(zh=zh or "", en=en or "") if zh is not None and en is not None else None

    def seeds(self, node: YNode | None) -> tuple[str, ...]:
        if node is None:
            return ()
        items = node.value if isinstance(node.value, list) else [node]
        out = []
        for item in items:
            s = self.text(item, "seed")
            if s is not None:
                out.append(s)
        return tuple(out)

    def prov(self, node: YNode) -> Provenance:
        keys = node.value if isinstance(node.value, dict) else {}
        description, seed = keys.get("description"), keys.get("seed")
        return Provenance(self.label(description, "description") if description is not None else None,
                          self.seeds(seed) if seed is not None else (), node.location)

    def expr(self, node: YNode | None, what: str) -> Expr | None:
        if node is None or self.over_budget:
            return None
        v = node.value
        if type(v) is not str:  # text (a condition) first: the rest is rare
            if isinstance(v, bool):
                return Literal(node.location, v, BOOL)
            if isinstance(v, list | dict) or v is None:
                self.err(Message(N_("{what} must be an expression (text)"), what=what), node.location)
                return None
            v = str(v)
        return self.expr_text(v, node.location)

    def expr_text(self, v: str, at: SourceLocation, shape: ComparisonShape | None = None) -> Expr | None:
        """The expression written ``v`` at ``at``, or None (and an error) when it is none; ``shape``: what ``v``
        likely looks like (a long table's next row), read without the parser when it does."""
        if self.over_budget:
            return None
        try:
            e = shape.parse(v, at) if shape is not None else None
            if e is None:
                e = parse_expression(v, at)
            # one comparison (most rows of a long table) is three nodes: no walk needed to count it
            simple = type(e) is Binary and type(e.left) is Name and type(e.right) is Literal
            self.budget.add_nodes(3 if simple else len(walk(e)), at)
        except PolicyLimitError as e:
            self.errors.append(e)
            self.over_budget = True
            return None
        except PolicyError as e:
            self.errors.append(e)
            return None
        return e

    def seq(self, node: YNode | None, what: str) -> list[YNode]:
        if node is None:
            return []
        if not isinstance(node.value, list):
            self.err(Message(N_("{what} must be a list"), what=what), node.location)
            return []
        return node.value

    def names(self, node: YNode | None, what: str) -> tuple[str, ...]:
        if node is None:
            return ()
        items = node.value if isinstance(node.value, list) else [node]
        return tuple(s for s in (self.text(i, what) for i in items) if s is not None)

    def choice(self, node: YNode | None, what: str, options: Iterable[str], default: str | None) -> str | None:
        if node is None:
            return default
        value = self.text(node, what, default)
        opts = list(options)
        if node is not None and value is not None and value not in opts:
            close = difflib.get_close_matches(value, opts, n=1, cutoff=0.5)
            self.err(Message(N_("{what} {value!r} is not one of {options}"), what=what, value=value,
                             options=", ".join(opts)), node.location, did_you_mean(close[0]) if close else None)
            return default
        return value


# a due date is as_of + due: past a century it is a typo, and far enough out it overflows the date type
MAX_DUE_DAYS = 36_500


def _duration_days(r: _Reader, node: YNode | None) -> int:
    if node is None:
        return 0
    v = node.value
    days: int | None = None
    if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
        days = v
    m = DUE.fullmatch(v) if isinstance(v, str) else None
    if m:
        days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
    if days is None:
        r.err(Message(N_("due must be a number of days like 7d or 2w, not {value!r}"), value=v), node.location)
        return 0
    if days > MAX_DUE_DAYS:
        r.err(Message(N_("due is {days:,} days; at most {most:,} (100 years) is allowed"), days=days,
                      most=MAX_DUE_DAYS), node.location)
        return 0
    return days


