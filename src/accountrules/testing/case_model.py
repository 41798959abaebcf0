"""What a policy test-case file reads into (see :mod:`accountrules.testing.cases`): the cases, their
expectations, and the error an account of a case file raises when it does not fit the model."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

from accountrules.errors import PolicySchemaError, SourceLocation
from accountrules.model.account import Account
from accountrules.model.decision import Label

__all__ = ["CaseAccountError", "CaseFile", "Expectation", "ExpectedValue", "PolicyCase"]

ExpectedValue: TypeAlias = str | float | tuple[str, ...] | None


class CaseAccountError(PolicySchemaError):
    """An account in a case file (``given`` or ``portfolio``) does not fit the account model."""

    def __init__(self, message: str, location: SourceLocation | None = None, hint: str | None = None,
                 problems: Sequence[tuple[str, str]] = ()):
        self.problems = tuple(problems)
        super().__init__(message, location, hint)


@dataclass(frozen=True)
class Expectation:
    """One checked fact about a decision.

    ``key`` is one of ``tier``, ``segments.<name>``, ``stage`` (the new stage),
    ``stage.from``, ``stage.transition``, ``churn.kind``, ``churn.risk``,
    ``churn.score`` (compared approximately), ``actions`` (exactly these, any order),
    ``actions.include``, ``actions.exclude`` and ``fired`` (rule ids that must be in
    the trace). ``value`` is a code, a number, a tuple of codes/ids, or None (no value).
    """

    key: str
    value: ExpectedValue
    location: SourceLocation


@dataclass(frozen=True)
class PolicyCase:
    """One test case: an account, the accounts it is ranked among, and what must be decided."""

    name: str
    file: str
    location: SourceLocation
    given: Account
    portfolio: tuple[Account, ...]
    as_of: dt.date | None
    expectations: tuple[Expectation, ...]
    seed: tuple[str, ...] = ()
    description: Label | None = None

    @property
    def node_id(self) -> str:
        return f"{self.file}::{self.name}"


@dataclass(frozen=True)
class CaseFile:
    path: str
    portfolio: tuple[Account, ...]
    as_of: dt.date | None
    cases: tuple[PolicyCase, ...]
