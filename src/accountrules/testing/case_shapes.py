"""The shape of a test-case file (``<policy>/tests/*.yaml``): its keys, what they hold, which are required.

:mod:`accountrules.testing.cases` reads case files with these keys; :mod:`accountrules.json_schema`
renders them as the JSON Schema editors validate case files with. The accounts under ``given`` and
``portfolio`` are :class:`~accountrules.model.account.Account`, whose schema pydantic gives.
What a case may expect (tier codes, rule ids, ...) depends on the policy, so that part is checked by
the loader against the policy, not by the schema.
"""

from __future__ import annotations

from accountrules.check.shapes import (
    DATE,
    LABEL,
    NUMBER,
    TEXT,
    AnyOf,
    Choice,
    Keys,
    ListOf,
    MapOf,
    Nullable,
    Raw,
    TextOrList,
)
from accountrules.model.enums import ChurnKind, RiskLevel

__all__ = ["ACCOUNT", "CASE", "CASE_FILE", "EXPECT", "EXPECT_ACTIONS", "EXPECT_CHURN", "EXPECT_STAGE"]

ACCOUNT = Raw({"$ref": "#/definitions/Account"}, "an account (see the Account model; at least 'id')")

_CODE = Nullable(TEXT, "a code, or nothing for 'no value'")
_CODES = ListOf(TEXT)

EXPECT_STAGE = Keys({"from": _CODE, "to": TEXT, "transition": _CODE})
EXPECT_CHURN = Keys({"kind": Nullable(Choice(tuple(k.value for k in ChurnKind))),
                     "risk": Nullable(Choice(tuple(x.value for x in RiskLevel))),
                     "score": Nullable(NUMBER, "compared approximately")})
EXPECT_ACTIONS = Keys({"include": _CODES, "exclude": _CODES})

EXPECT = Keys({
    "tier": _CODE,
    "segments": MapOf(_CODE, description="segment name -> expected code"),
    "stage": AnyOf((TEXT, EXPECT_STAGE), "the new stage, or {from, to, transition}"),
    "churn": EXPECT_CHURN,
    "actions": AnyOf((_CODES, EXPECT_ACTIONS), "exactly these actions, or {include, exclude}"),
    "fired": ListOf(TEXT, "rule ids that must be in the trace"),
}, description="what the decision must hold (any subset)")

CASE = Keys({
    "name": TEXT,
    "seed": TextOrList(TEXT, "concept ids of docs/seed-coverage.md"),
    "description": LABEL,
    "as_of": DATE,
    "given": ACCOUNT,
    "expect": Nullable(EXPECT),
}, ("name", "given"), "one test case: an account and what must be decided for it")

CASE_FILE = Keys({
    "portfolio": ListOf(ACCOUNT, "accounts every case of the file is decided among"),
    "as_of": DATE,
    "cases": ListOf(CASE),
}, ("cases",), "an accountrules test-case file")
