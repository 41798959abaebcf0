"""Typed errors. Every error a user can cause names where it happened.

Policy errors carry a :class:`SourceLocation` (file, line, column; 1-based).
Several problems found in one load are raised together as :class:`PolicyErrors`,
which is itself a :class:`PolicyError`, so ``except PolicyError`` catches both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from accountrules.error_base import AccountRulesError
from accountrules.i18n import N_, Gettext, Message, UnknownLanguageError, translated

__all__ = [
    "AccountRulesError",
    "AccountValidationError",
    "DecisionError",
    "EngineUnavailableError",
    "ExpressionSyntaxError",
    "MissingDependencyError",
    "PolicyArgumentError",
    "PolicyError",
    "PolicyErrors",
    "PolicyLimitError",
    "PolicyNotFoundError",
    "PolicyReferenceError",
    "PolicySchemaError",
    "PolicySyntaxError",
    "PolicyTypeError",
    "PortfolioRequiredError",
    "SourceLocation",
    "UnknownEngineError",
    "UnknownLanguageError",
    "did_you_mean",
    "raise_collected",
    "refusal",
    "refusal_reason",
]


@dataclass(frozen=True, slots=True, init=False)
class SourceLocation:
    file: str
    line: int
    column: int

    def __init__(self, file: str, line: int, column: int) -> None:
        # A large policy's load makes hundreds of thousands of these. The frozen dataclass's own
        # __init__ sets each slot through object.__setattr__; setting it through the slot's
        # descriptor is the same write (still frozen to everyone else) at a fraction of the cost.
        _SET_FILE(self, file)
        _SET_LINE(self, line)
        _SET_COLUMN(self, column)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def shifted(self, columns: int) -> SourceLocation:
        """The location ``columns`` characters further along the same line."""
        return SourceLocation(self.file, self.line, self.column + columns)


_SET_FILE, _SET_LINE, _SET_COLUMN = (getattr(SourceLocation, n).__set__ for n in ("file", "line", "column"))


class PolicyError(AccountRulesError):
    """A policy could not be loaded. ``location`` points at the offending text; ``related`` at other text
    the problem involves (e.g. where a parameter whose definition is at fault is used)."""

    kind = "policy"

    def __init__(self, message: str, location: SourceLocation | None = None, hint: str | None = None, *,
                 related: Sequence[SourceLocation] = ()):
        self.message = message
        self.location = location
        self.hint = hint
        self.related = tuple(related)
        super().__init__(self._render())

    def _render(self) -> str:
        return self.translated(str)

    def translated(self, _: Gettext) -> str:
        """The error as :func:`str` gives it, worded by ``_`` (a catalogue's gettext; ``str`` for English).
        The message and hint are translated when they are :class:`~accountrules.i18n.Message` s."""
        where = f"{self.location}: " if self.location else ""
        head = _(_KINDS.get(self.kind, "{kind} error")).format(kind=self.kind)
        text = _("{error}: {message}").format(error=head, message=translated(self.message, _))
        tail = _(" ({hint})").format(hint=translated(self.hint, _)) if self.hint else ""
        also = "".join("\n    " + _("used at {location}").format(location=loc) for loc in self.related)
        return f"{where}{text}{tail}{also}"

    @property
    def errors(self) -> Sequence[PolicyError]:
        return (self,)

    def to_dict(self) -> dict[str, Any]:
        loc = self.location
        return {
            "kind": self.kind,
            "message": self.message,
            "hint": self.hint,
            "file": loc.file if loc else None,
            "line": loc.line if loc else None,
            "column": loc.column if loc else None,
            "related": [{"file": r.file, "line": r.line, "column": r.column} for r in self.related],
        }


class PolicySyntaxError(PolicyError):
    """Malformed or hostile YAML: bad syntax, duplicate keys, aliases, tags, encoding, nesting."""

    kind = "syntax"


class PolicySchemaError(PolicyError):
    """A key that does not belong, a missing key, or a value of the wrong YAML shape."""

    kind = "schema"


class ExpressionSyntaxError(PolicyError):
    """An expression in a ``when:`` or metric could not be parsed."""

    kind = "expression"


class PolicyTypeError(PolicyError):
    """An expression is ill-typed or names an unknown field, parameter or function."""

    kind = "type"


class PolicyReferenceError(PolicyError):
    """A reference to an unknown tier, state, segment value or action; or a duplicate id."""

    kind = "reference"


class PolicyLimitError(PolicyError):
    """The policy exceeds a limit of an evaluator (e.g. durable_rules' compile-time limits)."""

    kind = "limit"


class PolicyNotFoundError(PolicyError):
    """The path given to ``load_policy`` names nothing on disk, and no shipped or installed
    policy has that name."""

    kind = "file"


class PolicyArgumentError(PolicyError, TypeError):
    """A loader was given a value of a type it does not take (``load_policy(123)``). It has no location: the
    mistake is in the calling code, not in a file. A ``TypeError`` too, as a bad argument is."""

    kind = "argument"


class PolicyErrors(PolicyError):
    """Several problems found in one load, reported together in source order."""

    kind = "policy"

    def __init__(self, errors: Sequence[PolicyError]):
        ordered = sorted(errors, key=_sort_key)
        self._errors = tuple(ordered)
        first = ordered[0]
        super().__init__(
            f"{len(ordered)} problems:\n" + "\n".join(f"  {e}" for e in ordered),
            first.location,
        )

    def _render(self) -> str:
        return self.message

    def translated(self, _: Gettext) -> str:
        return "\n".join([_("{count} problems:").format(count=len(self._errors)),
                          *(f"  {e.translated(_)}" for e in self._errors)])

    @property
    def errors(self) -> Sequence[PolicyError]:
        return self._errors


# the head of each kind of policy error ("syntax error: ..."), a message id each
_KINDS = {
    "policy": N_("policy error"), "syntax": N_("syntax error"), "schema": N_("schema error"),
    "expression": N_("expression error"), "type": N_("type error"), "reference": N_("reference error"),
    "limit": N_("limit error"), "file": N_("file error"), "argument": N_("argument error"),
}


def _sort_key(e: PolicyError) -> tuple[str, int, int]:
    loc = e.location
    return (loc.file, loc.line, loc.column) if loc else ("", 0, 0)


def did_you_mean(*names: str) -> Message:
    """The hint ``did you mean 'x'?`` (``'x' or 'y'`` for several), translatable."""
    return Message(N_("did you mean {names}?"), names=" or ".join(repr(n) for n in names))


def raise_collected(errors: Sequence[PolicyError]) -> None:
    """Raise nothing, the single error, or all of them together."""
    if not errors:
        return
    if len(errors) == 1:
        raise errors[0]
    raise PolicyErrors(errors)


# what a refusal reads, the account first: a message id, so the reason after it is translated too
REFUSED: Final = N_("account {account_id!r}: {reason}")


def refusal(reason: str, account_id: str | None) -> str:
    """``account 'X': <reason>`` as a :class:`~accountrules.i18n.Message` (the reason alone without an
    account): what a :class:`DecisionError` and a refused row of a batch say."""
    if account_id is None:
        return reason
    return Message(REFUSED, account_id=account_id, reason=reason)


def refusal_reason(message: str) -> str:
    """The reason of a :func:`refusal` message, without its account (``message`` itself for any other)."""
    if isinstance(message, Message) and message.template == REFUSED:
        reason = message.params["reason"]
        assert isinstance(reason, str)
        return reason
    return message


class DecisionError(AccountRulesError):
    """A policy could not decide for one account (e.g. a ``unique`` table matched twice).

    ``reason`` says why, without the account (a :class:`~accountrules.i18n.Message` when it is in the
    catalogue); ``str(e)`` is ``account 'X': <reason>`` in English, :meth:`translated` in another language.
    """

    def __init__(self, message: str, account_id: str | None = None, rules: Sequence[str] = ()):
        self.account_id = account_id
        self.rules = tuple(rules)
        self.reason = message
        super().__init__(refusal(message, account_id))

    def translated(self, _: Gettext) -> str:
        """The error as :func:`str` gives it, worded by ``_`` (a catalogue's gettext)."""
        return str(translated(self.args[0], _))


class PortfolioRequiredError(DecisionError):
    """The policy uses portfolio-relative functions but no portfolio statistics were given."""


class AccountValidationError(AccountRulesError):
    """An account (a dict, or a row of a file) does not fit the model.

    ``problems`` lists ``(field, message)`` pairs; ``row`` is the 1-based data row
    number when the account came from a file or a batch.
    """

    def __init__(
        self,
        problems: Sequence[tuple[str, str]],
        *,
        account_id: str | None = None,
        row: int | None = None,
    ):
        self.problems = tuple(problems)
        self.account_id = account_id
        self.row = row
        where = []
        if row is not None:
            where.append(f"row {row}")
        if account_id is not None:
            where.append(f"account {account_id!r}")
        head = ", ".join(where) + ": " if where else ""
        body = "; ".join(f"{f}: {m}" for f, m in self.problems)
        super().__init__(head + body)


class EngineUnavailableError(AccountRulesError):
    """An optional evaluator or format was asked for but its extra is not installed."""


class UnknownEngineError(AccountRulesError, ValueError):
    """An evaluator name that is not one of ``choices`` (a ``ValueError`` too, as a bad argument is).

    The message lists the valid names and, when one is close, suggests it.
    """

    def __init__(self, name: str, choices: Sequence[str], suggestion: str | None = None):
        self.name = name
        self.choices = tuple(choices)
        self.suggestion = suggestion
        options = ", ".join(self.choices)
        super().__init__(Message(N_("unknown engine {name!r}: choose one of {options}; did you mean {suggestion!r}?"),
                                 name=name, options=options, suggestion=suggestion) if suggestion else
                         Message(N_("unknown engine {name!r}: choose one of {options}"), name=name, options=options))


class AsOfError(AccountRulesError, ValueError):
    """The decision date (``as_of``) is not a date, or is so late that the policy's due dates would
    fall past the last day Python's dates hold (a ``ValueError`` too, as a bad argument is)."""


class MissingDependencyError(EngineUnavailableError):
    """A format or feature needs an optional package that is not installed.

    ``module`` is what failed to import, ``extra`` the accountrules extra that brings it
    (``pip install 'accountrules[<extra>]'``). A subclass of :class:`EngineUnavailableError`
    so code that caught that for a missing pyarrow keeps working.
    """

    def __init__(self, purpose: str, module: str, extra: str):
        self.module = module
        self.extra = extra
        super().__init__(Message(N_("{purpose} needs {module}: pip install 'accountrules[{extra}]'"), purpose=purpose,
                                 module=module, extra=extra))
