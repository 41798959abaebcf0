"""A plain dict read straight into its env gives what the model's way gives, or steps aside (issue 8).

``Policy.decide(dict)`` and ``Policy.portfolio_stats`` read a plain nested dict with
``accountrules.evaluate.dict_env.DictEnvReader`` when every value is one pydantic would take unchanged,
and otherwise validate it into an ``Account`` (seed concepts D1-D4: the account's groups). Here the
reader is held to ``env_of(to_account(d))`` on generated accounts with hostile values put in: for every
dict it either answers ``None`` (the model's way then decides, or refuses with its typed error) or gives
exactly the model's env, key for key, each value of the same type. It may never accept a dict the model
refuses.
"""

from __future__ import annotations

import datetime as dt
import math
import typing
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import annotated_types
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.errors import AccountValidationError
from accountrules.evaluate import dict_env
from accountrules.evaluate.accounts import env_of, to_account
from accountrules.evaluate.dict_env import DictEnvReader
from accountrules.model.account import Account
from accountrules.model.fields import FIELDS
from accountrules.testing.strategies import account_dicts

ROOT = Path(__file__).resolve().parent.parent
EXPRESS = accountrules.load_policy(ROOT / "rulesets" / "express")
POSTAL = accountrules.load_policy(ROOT / "rulesets" / "postal")  # declares extra fields (bool)
EXTRA = {"x": "number", "label": "string", "flag": "bool", "day": "date"}
AS_OF = dt.date(2026, 6, 30)

# values whose reading could differ between the reader and the model: each must be refused by both,
# or read by both to the same value of the same type
ODD: list[Any] = [None, "", "5", "5.5", "abc", " 7", math.nan, math.inf, -math.inf, True, False, 0, 1, -1, 7,
                  2**53, 2**53 + 1, -(2**53) - 1, 2**70, -0.0, 0.0, 0.5, 1.0, 1.5, -2.5, 1e308, 5e-324,
                  dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 5), dt.datetime(2026, 1, 1), "2026-01-01",
                  # dates as JSON spells them, and spellings only the model may judge
                  "2024-02-29", "2026-02-30", "0000-01-01", "2026-1-01", "２０２６-01-01", "2026-01-01T00:00:00",
                  "2026-01-01 ", "20260101",
                  Decimal("1.5"), [1], [], (), {"x": 1}, {}, "stable", "nurture", "downsizing", "gold", "华东",
                  "Stable", "STABLE", b"stable"]
VALID_CONTACT = st.fixed_dictionaries({"name": st.sampled_from(["Li", "Wang"]),
                                       "role": st.sampled_from(["decider", "user", "influencer"])},
                                      optional={"supporter": st.sampled_from([True, False, None]),
                                                "weight": st.sampled_from([0.0, 0.25, 1, None])})


@st.composite
def contacts(draw: st.DrawFn) -> dict[str, Any]:
    # a valid contact with at most one thing wrong: a field left out, an odd value, an unknown key
    c = draw(VALID_CONTACT)
    field = draw(st.sampled_from(["name", "role", "supporter", "weight"]))
    how = draw(st.sampled_from(["none", "drop", "odd", "odd", "unknown"]))
    if how == "drop":
        c.pop(field, None)
    elif how == "odd":
        c[field] = draw(st.sampled_from([*ODD, "Decider", "DECIDER"]))
    elif how == "unknown":
        c["title"] = "CFO"
    return c


CONTACT = contacts()
GROUPS = sorted({p.split(".", 1)[0] for p in FIELDS if "." in p and not p.startswith("contacts.")})


def _typed(env: dict[str, Any]) -> dict[str, tuple[type, Any]]:
    # NaN is not equal to itself: compare its text; every other value by type and value
    return {k: (type(v), repr(v) if isinstance(v, float) and math.isnan(v) else v) for k, v in env.items()}


def _model_env(d: Any, extra_fields: dict[str, str]) -> dict[str, Any] | None:
    try:
        return env_of(to_account(d), extra_fields)
    except AccountValidationError:
        return None


def _agrees(reader: DictEnvReader, d: Any, extra_fields: dict[str, str]) -> bool:
    """Assert the reader's answer on ``d``; whether it took the dict (so tests can see it is taken)."""
    got = reader.env(d)
    want = _model_env(d, extra_fields)
    if got is None:
        return False
    assert want is not None, f"the reader took a dict the model refuses: {d!r}"
    assert _typed(got) == _typed(want), d
    return True


def _group(d: dict[str, Any], group: str) -> dict[str, Any]:
    g = d.get(group)
    return g if isinstance(g, dict) else {}


@st.composite
def hostile(draw: st.DrawFn, policy: accountrules.Policy | None, extra: bool) -> dict[str, Any]:
    d = draw(account_dicts(policy))
    if extra:
        d["extra"] = draw(st.fixed_dictionaries({}, optional={k: st.sampled_from(ODD) for k in EXTRA}))
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from(["leaf", "leaf", "leaf", "group", "key", "dotted", "id", "name", "contacts",
                                    "extra", "top"]))
        if how == "leaf":
            path = draw(st.sampled_from(sorted(p for p in FIELDS if "." in p and not p.startswith("contacts."))))
            group, name = path.split(".", 1)
            d[group] = {**_group(d, group), name: draw(st.sampled_from(ODD))}
        elif how == "group":
            d[draw(st.sampled_from(GROUPS))] = draw(st.sampled_from([None, {}, 5, [], "x"]))
        elif how == "key":
            group = draw(st.sampled_from(GROUPS))
            d[group] = {**_group(d, group), draw(st.sampled_from(["revnue", "", "id", "1"])): 1}
        elif how == "dotted":
            d[draw(st.sampled_from(["transactions.annual_revenue", "credit.overdue_payments"]))] = 3
        elif how == "id":
            d["id"] = draw(st.sampled_from(["", " A1", "A1\n", 7, None, math.nan, "Ａ１", b"A1"]))
        elif how == "name":
            d["name"] = draw(st.sampled_from(ODD))
        elif how == "contacts":
            odd = [[], (), None, "x", [None], [{}], ({"name": "Li", "role": "decider"},)]
            d["contacts"] = draw(st.sampled_from(odd) | st.lists(CONTACT, max_size=3))
        elif how == "extra":
            d["extra"] = draw(st.sampled_from([None, {}, {1: 2}, {"x": 1}, [], {"x": "1e3"}, {"flag": "yes"}]))
        else:
            d[draw(st.sampled_from(["revenue", "extra2", "Id"]))] = 1
    return d


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=hostile(EXPRESS, extra=False))
def test_the_reader_gives_the_models_env_or_steps_aside(d: dict[str, Any]) -> None:
    _agrees(DictEnvReader(EXPRESS.plan.extra_fields), d, EXPRESS.plan.extra_fields)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=hostile(None, extra=True))
def test_declared_extra_fields_read_as_the_model_reads_them(d: dict[str, Any]) -> None:
    _agrees(DictEnvReader(EXTRA), d, EXTRA)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=account_dicts(POSTAL))
def test_plain_accounts_take_the_reader(d: dict[str, Any]) -> None:
    # the generated accounts hold only values the model takes unchanged: every one is read here
    # (if this fails, decide(dict) silently went back to building the model)
    assert _agrees(DictEnvReader(POSTAL.plan.extra_fields), d, POSTAL.plan.extra_fields)


@pytest.mark.parametrize("field", sorted(p for p in FIELDS if "." in p and not p.startswith("contacts.")))
def test_every_field_and_odd_value(field: str) -> None:
    group, name = field.split(".", 1)
    reader = DictEnvReader({})
    for value in ODD:
        _agrees(reader, {"id": "A1", group: {name: value}}, {})


def test_decide_gives_the_same_decision_either_way() -> None:
    # the model's way is what decide(Account) takes: the Decisions, trace included, must be the same
    accounts = [
        {"id": "KA-001", "transactions": {"annual_profit": 2_400_000, "marketing_cost": 120_000,
                                          "annual_revenue": 9_000_000, "recency_days": 3},
         "relationship": {"stage": "stable", "share_of_wallet": 0.72, "previous_tier": "gold"}},
        {"id": "KA-002", "transactions": {"annual_profit": 90_000.0, "marketing_cost": 150_000,
                                          "annual_revenue": 800_000, "recency_days": 200, "growth_rate": math.nan},
         "relationship": {"stage": "initial", "share_of_wallet": 0.3},
         "signals": {"competitor_offer": True, "customer_reason": "downsizing"}},
    ]
    stats = EXPRESS.portfolio_stats(accounts, as_of=AS_OF)
    assert stats == EXPRESS.portfolio_stats([to_account(a) for a in accounts], as_of=AS_OF)
    for a in accounts:
        assert EXPRESS._dict_env.env(a) is not None  # the reader's way is the one under test
        for trace in (True, False):
            fast = EXPRESS.decide(a, portfolio=stats, as_of=AS_OF, trace=trace)
            model = EXPRESS.decide(to_account(a), portfolio=stats, as_of=AS_OF, trace=trace)
            assert fast.model_dump_json() == model.model_dump_json()


def test_a_refused_dict_keeps_the_models_error() -> None:
    bad = {"id": "KA-9", "transactions": {"annual_profit": "lots", "recency_days": -1}, "revnue": 1}
    with pytest.raises(AccountValidationError) as got:
        EXPRESS.decide(bad, portfolio=EXPRESS.portfolio_stats([{"id": "KA-1"}]))
    with pytest.raises(AccountValidationError) as want:
        to_account(bad)
    assert got.value.problems == want.value.problems
    assert {p for p, _ in got.value.problems} == {"transactions.annual_profit", "transactions.recency_days", "revnue"}


def test_a_constraint_the_reader_does_not_know_sends_the_field_the_models_way() -> None:
    # a bound it cannot check (here a length, or a strict flag) must not be skipped: no rule, so the
    # field always takes the model's way
    assert dict_env._rule("x", Annotated[str | None, annotated_types.MaxLen(3)]) is None
    assert dict_env._rule("x", Annotated[int, annotated_types.Gt(0)]) is None
    assert dict_env._rule("x", int | str | None) is None
    assert dict_env._rule("x", Annotated[float | None, annotated_types.Ge(0), annotated_types.Le(1)]) == (
        "x", dict_env._FLOAT, 0.0, 1.0, frozenset())
    assert typing.get_origin(Account.model_fields["transactions"].annotation) is None


@pytest.mark.parametrize("extra", [None, {}, {1: 2}, [], {"x": None}, {"x": math.nan}, {"x": "1e3"}, {"x": True},
                                   {"flag": "yes"}, {"day": "2026-01-01"}, {"day": dt.date(2026, 1, 1)},
                                   {"label": 5}, {"other": object()}])
def test_the_extra_group(extra: Any) -> None:
    # "extra": None is refused by the model (a dict is required): hypothesis found the reader taking it
    _agrees(DictEnvReader(EXTRA), {"id": "A1", "extra": extra}, EXTRA)


@settings(max_examples=300, deadline=None)
@given(cs=st.lists(CONTACT, max_size=3) | st.lists(VALID_CONTACT, min_size=1, max_size=3).map(tuple))
def test_the_buying_centre(cs: Any) -> None:
    # contacts (D3, D4) are summarised into contacts.count/supporters/supporter_weight/decider_supports
    _agrees(DictEnvReader({}), {"id": "A1", "contacts": cs}, {})
