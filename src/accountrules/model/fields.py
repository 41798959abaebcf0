"""The catalogue of field paths a policy may read, derived from the pydantic model.

The flat ``env`` (path -> value) built here is what both evaluators read, so an
account is flattened once per decision and never walked through Python attributes
from policy text.
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from pydantic import BaseModel

from accountrules.model.account import WHOLE_MAX, Account
from accountrules.model.enums import BuyingRole

# Python annotation -> policy type name
_SCALARS: dict[type, str] = {bool: "bool", int: "number", float: "number", str: "string", dt.date: "date"}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    path: str
    type: str  # number | string | bool | date | enum
    enum: str | None = None  # vocabulary name for enums
    values: tuple[str, ...] = ()
    description: str = ""
    ge: float | None = None  # bounds from the model, so generators and readers respect them
    le: float | None = None
    integer: bool = False

    @property
    def domain_le(self) -> float | None:
        """The upper bound of the values a field means, for analysis and generators: whole numbers'
        2**53 is where a float64 stops holding them exactly, not a bound of the domain (a lint witness
        "recency 4.5e15 days" helps no one). ``le`` stays the bound readers check."""
        return None if self.le is not None and self.le >= WHOLE_MAX else self.le


def _bounds(annotation: Any, metadata: list[Any]) -> tuple[float | None, float | None]:
    ge = le = None
    items = list(metadata)
    stack = [annotation]
    while stack:
        a = stack.pop()
        if typing.get_origin(a) is typing.Annotated:
            args = typing.get_args(a)
            stack.append(args[0])
            for m in args[1:]:
                items.extend(getattr(m, "metadata", [m]))
        elif typing.get_origin(a) in (typing.Union, types.UnionType):
            stack.extend(typing.get_args(a))
    for m in items:
        ge = getattr(m, "ge", ge) if getattr(m, "ge", None) is not None else ge
        le = getattr(m, "le", le) if getattr(m, "le", None) is not None else le
    return ge, le


def _unwrap(annotation: Any) -> Any:
    """Strip Optional[...] and Annotated[...] to the bare type."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
    return annotation


def _scan(model: type[BaseModel], prefix: str, out: dict[str, FieldSpec]) -> None:
    for name, info in model.model_fields.items():
        ann = _unwrap(info.annotation)
        path = f"{prefix}{name}"
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            _scan(ann, path + ".", out)
        elif isinstance(ann, type) and issubclass(ann, Enum):
            values = tuple(str(m.value) for m in ann)
            out[path] = FieldSpec(path, "enum", _enum_name(ann), values, info.description or "")
        elif ann in _SCALARS:
            ge, le = _bounds(info.annotation, info.metadata)
            out[path] = FieldSpec(path, _SCALARS[ann], description=info.description or "", ge=ge, le=le,
                                  integer=ann is int)


def _enum_name(e: type[Enum]) -> str:
    return {"Stage": "stage", "RelationshipLevel": "relationship_level", "BuyingRole": "buying_role",
            "ChurnKind": "churn_kind", "RiskLevel": "risk", "CustomerReason": "customer_reason",
            "Priority": "priority"}.get(e.__name__, e.__name__.lower())


class ContactFacts(Protocol):
    """What the summary reads of a contact: a :class:`Contact`, or the plain values of one."""

    @property
    def role(self) -> str: ...
    @property
    def supporter(self) -> bool | None: ...
    @property
    def weight(self) -> float | None: ...


def contacts_summary(contacts: Sequence[ContactFacts]) -> dict[str, Any]:
    supporters = [c for c in contacts if c.supporter]
    weights = [c.weight for c in supporters if c.weight is not None]
    return {
        "contacts.count": len(contacts),
        "contacts.supporters": len(supporters),
        "contacts.supporter_weight": sum(weights) if weights else (0.0 if not supporters else None),
        "contacts.decider_supports": any(c.role == BuyingRole.DECIDER for c in supporters),
        "contacts.has_decider": any(c.role == BuyingRole.DECIDER for c in contacts),
    }


_NO_CONTACTS: dict[str, Any] = contacts_summary(())



_DERIVED = {
    "contacts.count": FieldSpec("contacts.count", "number", description="buying-centre contacts known (D3)"),
    "contacts.supporters": FieldSpec("contacts.supporters", "number", description="contacts who support us (D4)"),
    "contacts.supporter_weight": FieldSpec(
        "contacts.supporter_weight", "number", description="summed weight of supporters (D4)"
    ),
    "contacts.decider_supports": FieldSpec(
        "contacts.decider_supports", "bool", description="a decider (决策者) supports us (D3, D4)"
    ),
    "contacts.has_decider": FieldSpec("contacts.has_decider", "bool", description="a decider is known (D3)"),
}


def _build() -> dict[str, FieldSpec]:
    out: dict[str, FieldSpec] = {}
    _scan(Account, "", out)
    out.update(_DERIVED)
    return out


FIELDS: Mapping[str, FieldSpec] = types.MappingProxyType(_build())
GROUPS: frozenset[str] = frozenset(p.split(".")[0] for p in FIELDS if "." in p) | {"extra"}

# (group, ((attribute, path), ...)) for the flattener, computed once: the hot path reads __dict__ directly
_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = tuple(
    (g, tuple((p.split(".", 1)[1], p) for p in FIELDS if p.startswith(g + ".")))
    for g in dict.fromkeys(p.split(".")[0] for p in FIELDS if "." in p and not p.startswith("contacts."))
)
# a group the input left out is the model's shared default instance: its env part is a constant
_EMPTY: dict[str, tuple[BaseModel, dict[str, Any]]] = {
    g: (empty, {path: getattr(empty, name) for name, path in names})
    for g, names in _GROUPS
    for empty in [Account.model_fields[g].default]
    if isinstance(empty, BaseModel)
}
_TOP: tuple[str, ...] = tuple(p for p in FIELDS if "." not in p)
_ENUMS: tuple[str, ...] = tuple(p for p, f in FIELDS.items() if f.type == "enum")


def account_env(account: Account, extra_fields: Mapping[str, str] = types.MappingProxyType({})) -> dict[str, Any]:
    """Flatten an account into ``{path: value}`` with enum members as plain strings."""
    top = account.__dict__
    env: dict[str, Any] = {p: top[p] for p in _TOP}
    for group, names in _GROUPS:
        obj = top[group]
        empty = _EMPTY.get(group)
        if empty is not None and obj is empty[0]:
            env.update(empty[1])
            continue
        values = obj.__dict__
        for name, path in names:
            env[path] = values[name]
    for path in _ENUMS:
        v = env[path]
        if v is not None:
            env[path] = v._value_  # the member's attribute: .value is a Python-level property
    if account.contacts:
        env.update(contacts_summary(account.contacts))
    else:
        env.update(_NO_CONTACTS)  # the common case: skip summarising an empty list
    if extra_fields:
        extra = account.extra
        for name in extra_fields:
            env["extra." + name] = extra.get(name)
    return env

