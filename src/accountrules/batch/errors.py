"""Errors of batch decisions: one :class:`RowError` per bad input row, and whole-input errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from accountrules.errors import AccountRulesError, AccountValidationError, refusal_reason
from accountrules.i18n import Gettext, translated


@dataclass(frozen=True, slots=True)
class RowError:
    """An input row that could not be decided. Takes that row's place in a :class:`BatchResult`.

    ``row`` is the 1-based data row (the first row after a CSV header is row 1; the first
    account of a list is row 1). ``field`` is the field path of the first problem, ``None``
    when the problem is not one field's (unreadable line, conflicting rules...).
    ``problems`` lists every ``(field, message)`` found in the row, in model order.
    """

    row: int
    account_id: str | None
    field: str | None
    message: str
    problems: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "account_id": self.account_id, "field": self.field, "message": self.message}

    @property
    def reason(self) -> str:
        """Why the row was refused, without the ``account 'X': `` a refusal starts with (the account is
        :attr:`account_id`): the same words for every account refused alike."""
        return refusal_reason(self.message)

    def __str__(self) -> str:
        return self.translated(str)

    def translated(self, _: Gettext) -> str:
        """``row N, account 'X': <reason>`` worded by ``_`` (a catalogue's gettext; ``str`` for English)."""
        who = _(", account {id!r}").format(id=self.account_id) if self.account_id is not None else ""
        where = f"{self.field}: " if self.field else ""
        return _("row {row}{account}: {field}{message}").format(row=self.row, account=who, field=where,
                                                                 message=self._worded(_))

    def _worded(self, _: Gettext) -> str:
        # several problems: the message is joined from them, so each is worded in turn
        reason = self.reason
        if len(self.problems) > 1 and reason == _joined(self.problems, str):
            return _joined(self.problems, _)
        return str(translated(reason, _))


def row_error(row: int, account_id: str | None, problems: Sequence[tuple[str, str]]) -> RowError:
    """A RowError from ``(field, message)`` problems; the first names the field."""
    probs = tuple(problems) or (("(account)", "invalid account"),)
    first_field, first_msg = probs[0]
    message = _joined(probs, str) if len(probs) > 1 else first_msg
    return RowError(row, account_id, None if first_field == "(account)" else first_field, message, probs)


def _joined(problems: Sequence[tuple[str, str]], _: Gettext) -> str:
    """The message of a row with several problems: the first, then ``(also field: message; ...)``."""
    also = "; ".join(f"{f}: {translated(m, _)}" for f, m in problems[1:])
    return str(translated(problems[0][1], _)) + _(" (also {problems})").format(problems=also)


class BatchInputError(AccountRulesError):
    """An input that cannot be read as a whole: unsupported source, unreadable file, missing id column."""

    def __init__(self, message: str, *, source: str | None = None):
        self.message = message
        self.source = source
        super().__init__(f"{source}: {message}" if source else message)


class NotUtf8InputError(BatchInputError):
    """A CSV or JSONL input that is not UTF-8 (nor the encoding given); ``guess`` is what it looks like."""

    def __init__(self, message: str, *, source: str | None = None, guess: str | None = None):
        self.guess = guess
        super().__init__(message, source=source)


class UnknownColumnError(BatchInputError):
    """A flat input (CSV, Parquet, DataFrame, Arrow) has a column that is no field of the account."""

    def __init__(self, column: str, suggestion: str | None = None, *, source: str | None = None,
                 hint: str | None = None):
        """``hint``: why, or what to do; a :class:`~accountrules.i18n.Message` when it is more than the
        Python API's advice (the command line words that advice itself, naming its options)."""
        self.column = column
        self.suggestion = suggestion
        self.hint = hint
        text = f"unknown column {column!r}"
        if suggestion:
            text += f" (did you mean {suggestion!r}?)"
        if hint:
            text += f"; {hint}"
        super().__init__(text, source=source)


class RowErrors(AccountValidationError):
    """Raised by :meth:`BatchResult.raise_for_errors`: every row that failed, in input order.

    It is an :class:`AccountValidationError` naming the first failed row, so code that
    caught the error of a bad account in ``decide_many`` keeps working.
    """

    def __init__(self, errors: Sequence[RowError], total: int):
        self.errors = tuple(errors)
        first = self.errors[0]
        super().__init__(first.problems or ((first.field or "(account)", first.message),),
                         account_id=first.account_id, row=first.row)
        shown = "\n".join(f"  {e}" for e in self.errors[:20])
        more = f"\n  ... and {len(self.errors) - 20} more" if len(self.errors) > 20 else ""
        self.args = (f"{len(self.errors)} of {total} rows could not be decided:\n{shown}{more}",)


__all__ = ["BatchInputError", "RowError", "RowErrors", "UnknownColumnError", "row_error"]
