"""Declared shapes of YAML documents: which keys a mapping allows and requires, and what each holds.

The policy reader (:mod:`accountrules.check.schema_sections`) and the case reader
(:mod:`accountrules.testing.cases`) take their allowed and required keys from these
declarations, and :mod:`accountrules.json_schema` renders the same declarations as JSON
Schema for editors. So the schema an editor validates with and the keys the loader accepts
cannot drift apart: both are read from one table.

The loader still checks more than a schema can say (references between sections,
expression types, codes a test expects); the schema is the structural part.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeAlias

from accountrules.errors import PolicyError, PolicySchemaError, did_you_mean
from accountrules.i18n import N_, Message
from accountrules.parse.yaml_source import YNode

__all__ = [
    "BOOL", "DATE", "EXPR", "LABEL", "NUMBER", "SCALAR", "TEXT", "AnyOf", "Choice", "Keys", "ListOf", "MapOf",
    "Named", "Nullable", "Pattern", "Raw", "Shape", "TextOrList", "check_mapping", "to_json_schema",
]


@dataclass(frozen=True)
class Raw:
    """A value given directly as a JSON Schema fragment (text, number, ...)."""

    schema: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Pattern:
    """Text matching ``regex`` (the same compiled pattern the reader checks with)."""

    regex: re.Pattern[str]
    description: str = ""


@dataclass(frozen=True)
class Choice:
    """One of fixed options."""

    options: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class ListOf:
    item: Shape
    description: str = ""


@dataclass(frozen=True)
class TextOrList:
    """One text, or a list of texts (``seed: T1`` or ``seed: [T1, T2]``)."""

    item: Shape
    description: str = ""


@dataclass(frozen=True)
class MapOf:
    """A mapping whose keys are names the author chooses (matching ``names`` when given)."""

    value: Shape
    names: re.Pattern[str] | None = None
    description: str = ""


@dataclass(frozen=True)
class AnyOf:
    options: tuple[Shape, ...]
    description: str = ""


@dataclass(frozen=True)
class Nullable:
    """``value``, or nothing (``key:`` with no value)."""

    value: Shape
    description: str = ""


@dataclass(frozen=True)
class Named:
    """A shape used in many places, written once under the schema's ``definitions`` and referred to."""

    name: str
    shape: Shape


@dataclass(frozen=True)
class Keys:
    """A mapping with fixed keys: what each key holds, and which keys must be there."""

    keys: Mapping[str, Shape]
    required: tuple[str, ...] = ()
    description: str = ""

    @cached_property
    def allowed(self) -> tuple[str, ...]:
        return tuple(self.keys)

    def __post_init__(self) -> None:
        missing = [k for k in self.required if k not in self.keys]
        if missing:
            raise ValueError(f"required keys not declared: {missing}")


Shape: TypeAlias = Raw | Pattern | Choice | ListOf | TextOrList | MapOf | AnyOf | Nullable | Named | Keys

# the scalars YAML gives and the readers accept
TEXT = Raw({"type": ["string", "number"]}, "text")  # the reader takes numbers as text (version: 1.0)
NUMBER = Raw({"type": "number"})
BOOL = Raw({"type": "boolean"})
DATE = Raw({"type": "string", "format": "date"}, "a date, YYYY-MM-DD")
SCALAR = Raw({"type": ["string", "number", "boolean"]}, "a number, text, true/false or a date")
EXPR = Named("expression", Raw({"type": ["string", "number", "boolean"]},
                                "an expression (see docs/policy-language.md)"))
LABEL = Named("label", AnyOf((
    Raw({"type": "string"}, "one text for both languages"),
    Keys({"zh": TEXT, "en": TEXT}, ("zh", "en")),
), "a label: one text, or {zh: ..., en: ...}"))


def check_mapping(node: YNode, what: str, allowed: Collection[str], required: Collection[str],
                  errors: list[PolicyError]) -> bool:
    """Whether ``node`` is a mapping holding every ``required`` key; appends to ``errors`` a located
    problem for it not being a mapping, for each key not in ``allowed`` (with the closest allowed
    key as a hint) and for each required key missing. Every reader of a declared shape (policy
    and test-case files) checks its mappings here."""
    value = node.value
    if not isinstance(value, dict):
        errors.append(PolicySchemaError(Message(N_("{what} must be a mapping (key: value)"), what=what),
                                        node.location))
        return False
    for key in value:
        if key not in allowed:
            close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
            hint = did_you_mean(close[0]) if close else Message(N_("allowed: {names}"), names=", ".join(allowed))
            errors.append(PolicySchemaError(Message(N_("unknown key {key!r} in {what}"), key=key, what=what),
                                            node.loc_of_key(key), hint))
    ok = True
    for key in required:
        if key not in value:
            errors.append(PolicySchemaError(Message(N_("{what} needs {key!r}"), what=what, key=key), node.location))
            ok = False
    return ok


def _described(schema: dict[str, Any], description: str) -> dict[str, Any]:
    if description:
        schema["description"] = description
    return schema


def to_json_schema(shape: Shape, definitions: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema (draft-07) of ``shape``. :class:`Named` shapes are written into ``definitions``
    (which the caller places at the schema's top level) and referred to; without it, inline."""
    def sub(s: Shape) -> dict[str, Any]:
        return to_json_schema(s, definitions)

    if isinstance(shape, Named):
        if definitions is None:
            return sub(shape.shape)
        if shape.name not in definitions:
            definitions[shape.name] = {}  # claimed first: a shape that refers to itself stops here
            definitions[shape.name] = sub(shape.shape)
        return {"$ref": f"#/definitions/{shape.name}"}
    if isinstance(shape, Raw):
        return _described(dict(shape.schema), shape.description)
    if isinstance(shape, Pattern):
        # the reader reads numbers as text too (an id may be 2024); their text must match as well
        return _described({"anyOf": [{"type": "string", "pattern": shape.regex.pattern}, {"type": "number"}]},
                          shape.description)
    if isinstance(shape, Choice):
        return _described({"enum": list(shape.options)}, shape.description)
    if isinstance(shape, ListOf):
        return _described({"type": "array", "items": sub(shape.item)}, shape.description)
    if isinstance(shape, TextOrList):
        one = sub(shape.item)
        return _described({"anyOf": [one, {"type": "array", "items": one}]}, shape.description)
    if isinstance(shape, MapOf):
        out: dict[str, Any] = {"type": "object", "additionalProperties": sub(shape.value)}
        if shape.names is not None:
            out["propertyNames"] = {"pattern": shape.names.pattern}
        return _described(out, shape.description)
    if isinstance(shape, AnyOf):
        return _described({"anyOf": [sub(o) for o in shape.options]}, shape.description)
    if isinstance(shape, Nullable):
        return _described({"anyOf": [sub(shape.value), {"type": "null"}]}, shape.description)
    obj: dict[str, Any] = {
        "type": "object",
        "properties": {k: sub(v) for k, v in shape.keys.items()},
        "additionalProperties": False,
    }
    if shape.required:
        obj["required"] = list(shape.required)
    return _described(obj, shape.description)
