"""Tokenizer and precedence-climbing parser for policy expressions.

The grammar is deliberately small; there is no way to reach Python objects,
attributes, imports or ``eval`` from it: names are data paths resolved later
against a fixed catalogue.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from accountrules.errors import ExpressionSyntaxError, SourceLocation
from accountrules.i18n import N_, Message
from accountrules.parse.expr_ast import (
    BOOL,
    DATE,
    NULL,
    NUMBER,
    STRING,
    Binary,
    Call,
    Expr,
    InList,
    InRange,
    IsNull,
    Literal,
    Logic,
    Name,
    Not,
    Unary,
    children,
)

MAX_LENGTH = 4000  # expressions are one-liners for people; longer text is a mistake or an attack
MAX_DEPTH = 48
# The tree below a long operator chain ('1+1+...+1') is as deep as the chain is long, and the checker
# and compiler recurse once per level: bound it before any of them runs, whatever the brackets say.
MAX_TREE_DEPTH = 100
# Whole numbers are exact as float64 (which the vector evaluator and the statistics use) up to 2**53;
# beyond that a literal means something other than what it says, or overflows a float altogether.
MAX_NUMBER = 2**53
# int() of thousands of digits is itself slow, and no bound is that long
MAX_DIGITS = 40

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<date>\d{4}-\d{2}-\d{2}(?!\d|\.\d))
  | (?P<duration>\d+[dw](?![A-Za-z0-9_]))
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z_]))
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>==|!=|<=|>=|\.\.|[<>+\-*/(),\[\]])
    """,
    re.VERBOSE,
)

KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false"})


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # date duration number string name op keyword end
    text: str
    offset: int


def tokenize(text: str, base: SourceLocation) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionSyntaxError(
                Message(N_("unexpected character {pos!r} in expression"), pos=text[pos]), _at(base, text, pos)
            )
        kind = m.lastgroup or ""
        if kind != "ws":
            word = m.group()
            if kind == "name" and word in KEYWORDS:
                kind = "keyword"
            tokens.append(Token(kind, word, pos))
        pos = m.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _at(base: SourceLocation, text: str, offset: int) -> SourceLocation:
    """Location of ``offset`` within an expression that starts at ``base``."""
    before = text[:offset]
    nl = before.count("\n")
    if nl == 0:
        return base.shifted(offset)
    return SourceLocation(base.file, base.line + nl, offset - before.rfind("\n"))


def parse_expression(text: str, base: SourceLocation) -> Expr:
    if len(text) > MAX_LENGTH:
        raise ExpressionSyntaxError(Message(N_("expression is longer than {max_length} characters"),
                                            max_length=MAX_LENGTH), base)
    if not text.strip():
        raise ExpressionSyntaxError(Message(N_("empty expression")), base)
    simple = _parse_comparison(text, base)
    if simple is not None:
        return simple
    parser = _Parser(text, base)
    tree = parser.parse()
    _check_tree_depth(tree)
    return tree


# The shape of almost every row of a long table: a name compared with a number or a plain string.
# Read by one regular expression into exactly the tree the parser builds (tests/test_expr.py holds
# the two to each other); anything else, including every error, goes through the parser.
_COMPARISON = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)( *)(?P<op>==|!=|<=|>=|<|>)( *)"
    r"(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<string>'[^'\\\n]*'|\"[^\"\\\n]*\"))"
)


def _parse_comparison(text: str, base: SourceLocation) -> Expr | None:
    m = _COMPARISON.fullmatch(text)
    if m is None:
        return None
    name, op, number, string = m.group("name", "op", "number", "string")  # one call: once a row
    if name in KEYWORDS:
        return None
    if number is not None:
        if len(number) > MAX_DIGITS:
            return None  # the parser's check and message
        value: float | int = int(number) if number.isdigit() else float(number)
        if value > MAX_NUMBER or not math.isfinite(value):
            return None  # the parser's range errors
        literal = Literal(SourceLocation(base.file, base.line, base.column + m.start("number")), value, NUMBER)
    else:
        literal = Literal(SourceLocation(base.file, base.line, base.column + m.start("string")), string[1:-1], STRING)
    return Binary(base, op, Name(base, name), literal)


class ComparisonShape:
    """What the next rows of a long table likely share with one already read: a name compared with a
    whole number, written the same up to the digits (``extra.x >= 120``, ``extra.x >= 130``, ...).

    :meth:`parse` reads a text of that shape (the same prefix, then ASCII digits) into exactly the tree
    :func:`parse_expression` builds for it, without the regular expression; for any other text it
    answers None, and the caller parses the text in full (tests/test_expr.py holds the two together).
    """

    __slots__ = ("_name", "_op", "_prefix")

    def __init__(self, prefix: str, name: str, op: str) -> None:
        self._prefix = prefix
        self._name = name
        self._op = op

    @staticmethod
    def of(text: str) -> ComparisonShape | None:
        """The shape of ``text`` when it is a name compared with a number, else None."""
        m = _COMPARISON.fullmatch(text)
        if m is None or m.group("number") is None or m.group("name") in KEYWORDS:
            return None
        return ComparisonShape(text[:m.start("number")], m.group("name"), m.group("op"))

    def fits(self, text: str) -> bool:
        """Whether ``text`` is written as this shape up to its digits."""
        return text.startswith(self._prefix)

    def parse(self, text: str, base: SourceLocation) -> Expr | None:
        prefix = self._prefix
        if not text.startswith(prefix):
            return None
        digits = text[len(prefix):]
        # ASCII digits only (the parser's \d also takes other scripts' digits: those go to it); at most MAX_DIGITS
        # of them and a value within range, or the parser's own error
        if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_DIGITS:
            return None
        value = int(digits)
        if value > MAX_NUMBER:
            return None
        literal = Literal(SourceLocation(base.file, base.line, base.column + len(prefix)), value, NUMBER)
        return Binary(base, self._op, Name(base, self._name), literal)


def _check_tree_depth(tree: Expr) -> None:
    stack: list[tuple[Expr, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise ExpressionSyntaxError(
                Message(N_("expression is more than {max_tree_depth} operations deep; split it into metrics"),
                        max_tree_depth=MAX_TREE_DEPTH), node.loc)
        stack.extend((child, depth + 1) for child in children(node))


_COMPARE = {"==", "!=", "<", "<=", ">", ">="}


def _bounded(value: float | int, text: str, loc: SourceLocation) -> float | int:
    if isinstance(value, int) and abs(value) > MAX_NUMBER:
        raise ExpressionSyntaxError(
            Message(N_("the whole number {value} is out of range: whole numbers in policies lie within "
                       "±{max_number:,}"), value=text, max_number=MAX_NUMBER), loc)
    if not math.isfinite(value):
        raise ExpressionSyntaxError(Message(N_("the number {value} is out of range: it is beyond the largest number"),
                                            value=text), loc)
    return value


class _Parser:
    def __init__(self, text: str, base: SourceLocation):
        self.text = text
        self.base = base
        self.tokens = tokenize(text, base)
        self.i = 0
        self.depth = 0

    # -- helpers
    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        t = self.tokens[self.i]
        self.i += 1
        return t

    def loc(self, t: Token) -> SourceLocation:
        return _at(self.base, self.text, t.offset)

    def error(self, message: str, t: Token | None = None) -> ExpressionSyntaxError:
        t = t or self.peek()
        return ExpressionSyntaxError(message, self.loc(t))

    def at(self, kind: str, text: str | None = None) -> bool:
        t = self.peek()
        return t.kind == kind and (text is None or t.text == text)

    def expect(self, kind: str, text: str) -> Token:
        if not self.at(kind, text):
            got = self.peek().text or "end of expression"
            raise self.error(Message(N_("expected {value!r} but found {got!r}"), value=text, got=got))
        return self.next()

    # -- grammar
    def parse(self) -> Expr:
        e = self.parse_or()
        if not self.at("end"):
            raise self.error(Message(N_("unexpected {peek!r}; did you forget 'and' / 'or'?"), peek=self.peek().text))
        return e

    def parse_or(self) -> Expr:
        first = self.peek()
        items = [self.parse_and()]
        while self.at("keyword", "or"):
            self.next()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Logic(self.loc(first), "or", tuple(items))

    def parse_and(self) -> Expr:
        first = self.peek()
        items = [self.parse_not()]
        while self.at("keyword", "and"):
            self.next()
            items.append(self.parse_not())
        return items[0] if len(items) == 1 else Logic(self.loc(first), "and", tuple(items))

    def parse_not(self) -> Expr:
        if self.at("keyword", "not"):
            t = self.next()
            return Not(self.loc(t), self._nested(self.parse_not))
        return self.parse_comparison()

    def parse_comparison(self) -> Expr:
        start = self.peek()
        left = self.parse_additive()
        t = self.peek()
        loc = self.loc(start)
        if t.kind == "op" and t.text in _COMPARE:
            self.next()
            right = self.parse_additive()
            if self.peek().kind == "op" and self.peek().text in _COMPARE:
                raise self.error(Message(N_("comparisons cannot be chained; join them with 'and'")))
            return Binary(loc, t.text, left, right)
        if t.kind == "keyword" and t.text == "is":
            self.next()
            negated = False
            if self.at("keyword", "not"):
                self.next()
                negated = True
            self.expect("keyword", "null")
            return IsNull(loc, left, negated)
        negated = False
        if t.kind == "keyword" and t.text == "not" and self.tokens[self.i + 1].text == "in":
            self.next()
            negated = True
            t = self.peek()
        if t.kind == "keyword" and t.text == "in":
            self.next()
            if self.at("op", "["):
                return InList(loc, left, self.parse_list(), negated)
            low = self.parse_additive()
            self.expect("op", "..")
            high = self.parse_additive()
            return InRange(loc, left, low, high, negated)
        if negated:
            raise self.error(Message(N_("expected 'in' after 'not'")))
        return left

    def parse_list(self) -> tuple[Expr, ...]:
        self.expect("op", "[")
        items: list[Expr] = []
        if not self.at("op", "]"):
            items.append(self.parse_additive())
            while self.at("op", ","):
                self.next()
                items.append(self.parse_additive())
        self.expect("op", "]")
        if not items:
            raise self.error(Message(N_("an 'in' list needs at least one item")))
        return tuple(items)

    def parse_additive(self) -> Expr:
        start = self.peek()
        left = self.parse_multiplicative()
        while self.peek().kind == "op" and self.peek().text in ("+", "-"):
            op = self.next().text
            left = Binary(self.loc(start), op, left, self.parse_multiplicative())
        return left

    def parse_multiplicative(self) -> Expr:
        start = self.peek()
        left = self.parse_unary()
        while self.peek().kind == "op" and self.peek().text in ("*", "/"):
            op = self.next().text
            left = Binary(self.loc(start), op, left, self.parse_unary())
        return left

    def parse_unary(self) -> Expr:
        if self.at("op", "-"):
            t = self.next()
            operand = self._nested(self.parse_unary)
            if isinstance(operand, Literal) and isinstance(operand.value, int | float):
                return Literal(self.loc(t), -operand.value, NUMBER)
            return Unary(self.loc(t), "-", operand)
        return self.parse_primary()

    def _nested(self, rule: object) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(Message(N_("expression is nested more than {max_depth} levels deep"), max_depth=MAX_DEPTH))
        try:
            assert callable(rule)
            result: Expr = rule()
            return result
        finally:
            self.depth -= 1

    def parse_primary(self) -> Expr:
        t = self.next()
        loc = self.loc(t)
        if t.kind == "number":
            if len(t.text) > MAX_DIGITS:
                raise ExpressionSyntaxError(Message(N_("the number {t}... is too long"), t=t.text[:20]), loc)
            value: float | int = float(t.text) if any(c in t.text for c in ".eE") else int(t.text)
            return Literal(loc, _bounded(value, t.text, loc), NUMBER)
        if t.kind == "duration":
            if len(t.text) > MAX_DIGITS:
                raise ExpressionSyntaxError(Message(N_("the duration {t}... is too long"), t=t.text[:20]), loc)
            n = int(t.text[:-1])
            return Literal(loc, _bounded(n * (7 if t.text.endswith("w") else 1), t.text, loc), NUMBER)
        if t.kind == "date":
            try:
                return Literal(loc, dt.date.fromisoformat(t.text), DATE)
            except ValueError:
                raise ExpressionSyntaxError(Message(N_("{t!r} is not a valid date"), t=t.text), loc) from None
        if t.kind == "string":
            body = t.text[1:-1]
            return Literal(loc, re.sub(r"\\(.)", r"\1", body), STRING)
        if t.kind == "keyword":
            if t.text in ("true", "false"):
                return Literal(loc, t.text == "true", BOOL)
            if t.text == "null":
                return Literal(loc, None, NULL)
            raise ExpressionSyntaxError(Message(N_("unexpected keyword {t!r}"), t=t.text), loc)
        if t.kind == "name":
            if self.at("op", "("):
                if "." in t.text:
                    raise ExpressionSyntaxError(Message(N_("{t!r} is not a function"), t=t.text), loc)
                self.next()
                args: list[Expr] = []
                if not self.at("op", ")"):
                    args.append(self._nested(self.parse_or))
                    while self.at("op", ","):
                        self.next()
                        args.append(self._nested(self.parse_or))
                self.expect("op", ")")
                return Call(loc, t.text, tuple(args))
            return Name(loc, t.text)
        if t.kind == "op" and t.text == "(":
            inner = self._nested(self.parse_or)
            self.expect("op", ")")
            return inner
        if t.kind == "end":
            raise ExpressionSyntaxError(Message(N_("expression ends too early")), loc)
        raise ExpressionSyntaxError(Message(N_("unexpected {t!r}"), t=t.text), loc)
