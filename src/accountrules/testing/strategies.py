"""Hypothesis strategies for accounts consistent with the model (and with a policy's thresholds).

Numbers are drawn near the constants a policy compares against (params and
literals, +-1 and exactly on them), so generated accounts land on both sides of
every threshold instead of far away from all of them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from accountrules.check.policy_check import all_expressions
from accountrules.model.fields import FIELDS, FieldSpec
from accountrules.parse.expr_ast import Literal, walk

if TYPE_CHECKING:
    from accountrules.policy import Policy

_DAY0 = dt.date(2024, 1, 1)


def _constants(policy: Policy | None) -> list[float]:
    if policy is None:
        return []
    found: set[float] = set()
    for v in policy.spec.params.values():
        if isinstance(v, int | float) and not isinstance(v, bool):
            found.add(float(v))
    exprs = all_expressions(policy.spec)
    for e in exprs:
        for n in walk(e):
            if isinstance(n, Literal) and isinstance(n.value, int | float) and not isinstance(n.value, bool):
                found.add(float(n.value))
    return sorted(found)


def _number(spec: FieldSpec, consts: list[float]) -> st.SearchStrategy[Any]:
    is_ratio = spec.ge == 0 and spec.le == 1
    is_count = spec.integer
    if is_ratio:
        near = [c for c in consts if 0 <= c <= 1]
        base: st.SearchStrategy[Any] = st.floats(0, 1, allow_nan=False) | st.sampled_from(near or [0.0, 1.0])
    elif is_count:
        near_i = sorted({int(c) + d for c in consts for d in (-1, 0, 1) if 0 <= c + d < 10_000})
        base = st.integers(0, 2000) | (st.sampled_from(near_i) if near_i else st.integers(0, 5))
    else:
        near_f = [c + d for c in consts for d in (-1.0, 0.0, 1.0)]
        base = st.floats(-1e5, 2e7, allow_nan=False, allow_infinity=False) | st.integers(0, 1000)
        if near_f:
            base = base | st.sampled_from(near_f)
    if "growth" in spec.path:
        base = st.floats(-1, 3, allow_nan=False) | st.sampled_from([c for c in consts if -1 <= c <= 3] or [0.0])
    if spec.ge is not None and not is_ratio:
        lo = spec.ge
        base = base.map(lambda v: max(v, type(v)(lo)))
    return base


def _known(spec: FieldSpec, consts: list[float]) -> st.SearchStrategy[Any]:
    """Known values of a field (unknown comes from leaving the key out)."""
    if spec.type == "number":
        return _number(spec, consts)
    if spec.type == "bool":
        return st.booleans()
    if spec.type == "date":
        return st.integers(0, 1000).map(lambda d: _DAY0 + dt.timedelta(days=d))
    if spec.type == "enum":
        return st.sampled_from(spec.values)
    return st.sampled_from(["a", "b", "north", "east", "large", "small"])


def _value(spec: FieldSpec, consts: list[float]) -> st.SearchStrategy[Any]:
    return st.none() | _known(spec, consts)


_CONTACT = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["Li", "Wang", "Zhang"]),
        "role": st.sampled_from(["initiator", "decider", "designer", "influencer", "evaluator", "user",
                                 "purchaser"]),
    },
    optional={"supporter": st.booleans(), "weight": st.floats(0, 1, allow_nan=False)},
)


def account_dicts(policy: Policy | None = None, id_prefix: str = "H") -> st.SearchStrategy[dict[str, Any]]:
    """Nested dicts that ``Account.model_validate`` accepts; absent keys are unknown values.

    The strategy is built once per call (not per example): building strategies inside a
    draw makes generation, not deciding, the cost of a property test.
    """
    consts = _constants(policy)
    groups: dict[str, dict[str, st.SearchStrategy[Any]]] = {}
    for path, spec in FIELDS.items():
        if "." not in path or path.startswith("contacts."):
            continue
        group, name = path.split(".", 1)
        if path == "relationship.previous_tier" and policy is not None and policy.spec.tiers is not None:
            strat: st.SearchStrategy[Any] = st.sampled_from(list(policy.spec.tiers.values))
        else:
            strat = _known(spec, consts)
        groups.setdefault(group, {})[name] = strat
    shape: dict[str, st.SearchStrategy[Any]] = {
        g: st.fixed_dictionaries({}, optional=fields) for g, fields in groups.items()
    }
    shape["contacts"] = st.lists(_CONTACT, max_size=3)
    if policy is not None and policy.spec.fields:
        shape["extra"] = st.fixed_dictionaries({
            name: _value(FieldSpec("extra." + name, kind), consts) for name, kind in policy.spec.fields.items()
        })
    ids = st.integers(0, 10**9).map(lambda n: f"{id_prefix}{n}")
    return st.builds(lambda i, body: {"id": i, **{k: v for k, v in body.items() if v}}, ids,
                     st.fixed_dictionaries(shape))


def portfolios(policy: Policy | None = None, min_size: int = 1, max_size: int = 20) -> st.SearchStrategy[
        list[dict[str, Any]]]:
    """Lists of accounts with distinct ids."""
    return st.lists(account_dicts(policy), min_size=min_size, max_size=max_size,
                    unique_by=lambda a: a["id"])
