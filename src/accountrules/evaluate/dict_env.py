"""A plain nested dict straight to its flat env, when pydantic would take every value unchanged.

``decide(dict)`` used to validate the dict into an :class:`Account` (seven frozen models) and then
flatten it into the env the evaluators read. Most dicts a CRM passes hold values pydantic returns as
they are (a ``float`` for an amount, an ``int`` for a count, a ``str`` for a stage). For those,
:class:`DictEnvReader` writes the env directly, contacts (D3, D4) summarised as the model's
flattening summarises them. Anything else (a key it does not know, a value of another type or out of
bounds, a dotted key, a pandas row) makes it answer ``None`` and the caller takes the model's way,
so every refusal keeps the model's typed errors, written in one place. The rules it checks are read
from the model's own field annotations at construction; a constraint it does not understand makes
that field always take the model's way. ``tests/test_dict_env.py`` holds it to
``env_of(to_account(d))``.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
import typing
from collections.abc import Mapping
from enum import Enum
from typing import Any, NamedTuple

import annotated_types
from pydantic import BaseModel, BeforeValidator

from accountrules.compile.plan import Plan, read_keys
from accountrules.evaluate.accounts import coerce_extra
from accountrules.evaluate.driver import written_keys
from accountrules.model.account import ISO_DAY, Account, Contact, day_input
from accountrules.model.fields import account_env, contacts_summary

# kinds of field, as the reader checks them
_FLOAT, _INT, _BOOL, _STR, _DATE, _ENUM = range(6)
_KINDS: dict[Any, int] = {float: _FLOAT, int: _INT, bool: _BOOL, str: _STR, dt.date: _DATE}
# a whole number pydantic turns into the same float Python does: beyond 2**53 let pydantic say
_EXACT_INT = 2**53
_INF = float("inf")
_MAX = sys.float_info.max
_REFUSED = object()  # a value the model would convert or refuse


class _Contact(NamedTuple):
    """A contact as :func:`contacts_summary` reads it (``role == BuyingRole.DECIDER`` holds for its text)."""

    name: str
    role: str
    supporter: bool | None = None
    weight: float | None = None


# (env path, kind, lower bound, upper bound, enum values)
Rule = tuple[str, int, float | None, float | None, frozenset[str]]
# (env path, type, lower bound, upper bound, text): a number, flag or date field's value of that exact
# type within the bounds passes unchanged (a float's missing bounds are the largest finite floats:
# infinity fails; a flag's are False and True, a date's the first and last day); a text field's value
# that is a str passes when ``text`` is _ANY_TEXT or holds it (an enum's values); anything else is checked
# the slow way (text None, and a type no value has)
Fast = tuple[str, type[Any], Any, Any, "frozenset[str] | object | None"]
# a group's rules by field name (None: always the model's way), and every field's fast check: the values
# most dicts hold, checked inline without a call
Rules = tuple[dict[str, Rule | None], dict[str, Fast]]
_ANY_TEXT = object()


def _read(rule: Rule, v: Any) -> Any:
    """``v`` as the model keeps it (NaN as None, as in a flat file), or ``_REFUSED`` when the model
    would convert or refuse it."""
    if v is None:
        return None
    _, kind, lo, hi, values = rule
    tv = type(v)
    if tv is float:
        if v != v:
            return None
        if kind is not _FLOAT or v == _INF or v == -_INF:
            return _REFUSED
    elif tv is int:
        if kind is _FLOAT:
            if not -_EXACT_INT <= v <= _EXACT_INT:
                return _REFUSED
            v = float(v)
        elif kind is not _INT:
            return _REFUSED
    elif tv is str:
        if kind is _ENUM:
            if v not in values:
                return _REFUSED
        elif kind is _DATE:
            # JSON has no dates: "2026-04-25" as pydantic reads it; any other spelling takes its way
            if not ISO_DAY.fullmatch(v):
                return _REFUSED
            try:
                v = dt.date.fromisoformat(v)
            except ValueError:  # 2026-02-30, year 0
                return _REFUSED
        elif kind is not _STR:
            return _REFUSED
    elif tv is bool:
        if kind is not _BOOL:
            return _REFUSED
    elif tv is dt.date:
        if kind is not _DATE:
            return _REFUSED
    else:
        return _REFUSED
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        return _REFUSED
    return v


def _read_into(target: dict[str, Any], rules: Rules, values: dict[Any, Any]) -> bool:
    """Write each of ``values`` as the model keeps it into ``target`` under its rule's path; False when
    the model would convert or refuse one (``target`` is then partly written: the caller drops it)."""
    known, fast = rules
    for name, v in values.items():
        b = fast.get(name)  # the loop of DictEnvReader.env, for a contact
        if b is None:
            return False  # a key the model does not have
        path, kind, lo, hi, text = b
        if type(v) is kind and lo <= v <= hi:
            target[path] = v
        elif text is not None and type(v) is str and (text is _ANY_TEXT or v in text):  # type: ignore[operator]
            target[path] = v
        elif not _read_one(target, known, name, v):
            return False
    return True


def _read_one(target: dict[str, Any], known: dict[str, Rule | None], name: Any, v: Any) -> bool:
    """One value its fast check did not pass, written as the model keeps it; False when it would not."""
    rule = known.get(name)
    if rule is None:
        return False
    v = _read(rule, v)
    if v is _REFUSED:
        return False
    target[rule[0]] = v
    return True


def _rule(path: str, annotation: Any) -> Rule | None:
    """How to check one field, or None when its annotation holds something this reader does not know."""
    lo = hi = None
    base = annotation
    while True:
        origin = typing.get_origin(base)
        if origin is typing.Annotated:
            base, *meta = typing.get_args(base)
            for m in meta:
                for c in getattr(m, "metadata", [m]):
                    # bounds kept as written: 2**63 - 1 as a float would let 2**63 through
                    if type(c) is annotated_types.Ge and isinstance(c.ge, int | float) and type(c.ge) is not bool:
                        lo = c.ge
                    elif type(c) is annotated_types.Le and isinstance(c.le, int | float) and type(c.le) is not bool:
                        hi = c.le
                    elif type(c) is BeforeValidator and c.func is day_input:
                        pass  # a date field's: what _read takes of a date (a date, ISO text) it lets through
                    else:
                        return None
        elif origin in (typing.Union, types.UnionType):
            args = typing.get_args(base)
            rest = [a for a in args if a is not type(None)]
            if len(rest) != 1 or len(args) != 2:
                return None
            base = rest[0]
        else:
            break
    if isinstance(base, type) and issubclass(base, Enum):
        values = frozenset(m.value for m in base)
        if not all(type(v) is str for v in values):
            return None
        return (path, _ENUM, lo, hi, values)
    kind = _KINDS.get(base)
    return None if kind is None else (path, kind, lo, hi, frozenset())


def _group_rules(model: type[BaseModel], group: str, required: bool = False) -> Rules:
    """Rules for a model's fields, each under the path ``group.name`` (``name`` alone when group is empty).

    A field that must be given takes the model's way unless ``required`` (the caller checks presence)."""
    known: dict[str, Rule | None] = {}
    for name, info in model.model_fields.items():
        path = f"{group}.{name}" if group else name
        if (info.is_required() and not required) or (not info.is_required() and info.default is not None):
            known[name] = None  # the template says None for a field left out
            continue
        ann = info.annotation
        # bounds pydantic keeps in the field's metadata (``Field(ge=0)``) rather than the annotation
        known[name] = _rule(path, typing.Annotated[(ann, *info.metadata)] if info.metadata else ann)
    return known, _fast(known)


class _NoValue:
    """The type of no value: the fast check of a field that has none sends every value the slow way."""


_SLOW: Fast = ("", _NoValue, 0, 0, None)  # every value the slow way


def _fast(known: dict[str, Rule | None]) -> dict[str, Fast]:
    """A fast check for every field the model has (its name is subscripted, not looked up with a default)."""
    # a bound kept as written (an int stays an int: 2**63 - 1 as a float would let 2**63 through)
    out: dict[str, Fast] = {}
    for n, r in known.items():
        if r is None:
            out[n] = _SLOW
            continue
        path, kind, lo, hi, values = r
        unbounded = lo is None and hi is None
        if kind == _FLOAT:
            out[n] = (path, float, -_MAX if lo is None else lo, _MAX if hi is None else hi, None)
        elif kind == _INT:
            out[n] = (path, int, -_INF if lo is None else lo, _INF if hi is None else hi, None)
        elif kind == _BOOL and unbounded:
            out[n] = (path, bool, False, True, None)
        elif kind == _DATE and unbounded:
            out[n] = (path, dt.date, dt.date.min, dt.date.max, None)
        elif kind == _STR and unbounded:
            out[n] = (path, _NoValue, 0, 0, _ANY_TEXT)
        elif kind == _ENUM and unbounded:
            out[n] = (path, _NoValue, 0, 0, values)
        else:
            out[n] = _SLOW
    return out


def _plain_config(model: type[BaseModel]) -> bool:
    c = model.model_config
    return (c.get("extra") == "forbid" and not c.get("strict") and c.get("allow_inf_nan") is False
            and not c.get("str_strip_whitespace") and not c.get("str_to_lower") and not c.get("str_to_upper"))


def reader_of(plan: Plan) -> DictEnvReader:
    """The plan's reader, built on first use and shared by every decision and batch of the plan."""
    return plan.once(_new_reader)


def lean_reader_of(plan: Plan) -> DictEnvReader:
    """The plan's reader whose envs start from the keys the plan reads (:func:`read_keys`) alone, with the
    given values on top: what ``decide(dict)`` evaluates, as a batch does. Copying a template of every
    field the model has was a fixed cost of each call whatever the policy reads."""
    return plan.once(_new_lean_reader)


def _new_reader(plan: Plan) -> DictEnvReader:
    return DictEnvReader(plan.extra_fields)


def _new_lean_reader(plan: Plan) -> DictEnvReader:
    return DictEnvReader(plan.extra_fields, keep=read_keys(plan), room=written_keys(plan))


class DictEnvReader:
    """The env of a plain dict account for one policy's declared extra fields, or None (take the model's way).

    Built once per policy; holds no state that changes, so one reader serves every thread. With
    ``keep``, an env holds those keys and the values given, not every field the model has.
    """

    __slots__ = ("_contact_required", "_contact_rules", "_extra_kinds", "_extra_numbers", "_groups", "_template",
                 "_usable")

    def __init__(self, extra_fields: Mapping[str, str], keep: frozenset[str] | None = None,
                 room: tuple[str, ...] = ()) -> None:
        self._extra_kinds = dict(extra_fields)
        self._extra_numbers = {name: "extra." + name for name, kind in extra_fields.items() if kind == "number"}
        template = account_env(Account(id="-"), extra_fields)
        for name, kind in extra_fields.items():
            template["extra." + name] = coerce_extra(name, kind, None)
        if keep is not None:
            template = {k: v for k, v in template.items() if k in keep}
        # ``room``: keys the env will be given later, held by None until then so that the copy of the
        # template is made at its final size (its table is not grown and copied again as they come)
        self._template = template | {k: None for k in room if k not in template}
        groups: dict[str, Rules] = {}
        fields = Account.model_fields
        # the top-level fields this reader checks by hand: only while the model still says the same
        usable = (_plain_config(Account) and fields["id"].annotation is str
                  and [type(m) for m in fields["id"].metadata] == [annotated_types.MinLen]
                  and fields["id"].metadata[0].min_length == 1
                  and _rule("name", fields["name"].annotation) == ("name", _STR, None, None, frozenset())
                  and not fields["name"].metadata)
        for name, info in fields.items():
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel) and info.default == ann():
                groups[name] = _group_rules(ann, name)
                usable = usable and _plain_config(ann)
            elif name not in ("id", "name", "contacts", "extra"):
                usable = False  # a field this reader has no rule for: always the model's way
        self._groups = groups
        self._usable = usable
        # a contact's fields, under the names the summary reads; the required ones are checked present
        contact = _group_rules(Contact, "", required=True)
        self._contact_required = frozenset(n for n, info in Contact.model_fields.items() if info.is_required())
        ok = (_plain_config(Contact) and set(contact[0]) == set(_Contact._fields) and all(contact[0].values()))
        self._contact_rules: Rules | None = contact if ok else None

    def env(self, data: Any) -> dict[str, Any] | None:
        """The env ``env_of(to_account(data), extra_fields)`` gives, when that reads every value unchanged."""
        if type(data) is not dict or not self._usable:
            return None
        aid = data.get("id")
        if type(aid) is not str or not aid:
            return None
        env = self._template.copy()
        env["id"] = aid
        groups = self._groups
        for key, value in data.items():
            if key == "id":  # read above; most dicts give it first
                continue
            group = groups.get(key)
            if group is not None:
                if type(value) is not dict:
                    return None
                known, fast = group
                # _read_into written out: the values of every account's groups pass here
                for name, v in value.items():
                    try:
                        path, kind, lo, hi, text = fast[name]
                    except KeyError:  # a key the model does not have
                        return None
                    if type(v) is kind and lo <= v <= hi:
                        env[path] = v
                    elif text is not None and type(v) is str and (text is _ANY_TEXT or v in text):  # type: ignore[operator]
                        env[path] = v
                    elif not _read_one(env, known, name, v):
                        return None
            elif key == "extra":
                if type(value) is not dict:
                    return None
                numbers = self._extra_numbers
                for name, v in value.items():
                    number = numbers.get(name)
                    if number is not None and type(v) is float and v - v == 0.0:
                        env[number] = v  # what coerce_extra returns for a finite float
                    elif not self._read_extra(env, name, v):
                        return None
            elif key == "name":
                if value is not None and type(value) is not str:
                    return None
                env["name"] = value
            elif key == "contacts":
                if type(value) is not list and type(value) is not tuple:
                    return None
                if value:
                    summary = self.contact_summary(value)
                    if summary is None:
                        return None
                    env.update(summary)
            else:
                return None
        return env

    def _read_extra(self, env: dict[str, Any], name: Any, v: Any) -> bool:
        """One value of ``extra`` as :func:`env_of` keeps it (an undeclared one is kept by the model and
        read by nothing); False when the model would read it otherwise or refuse it."""
        if type(name) is not str:
            return False
        declared = self._extra_kinds.get(name)
        if declared is None:
            return True
        tv = type(v)
        if tv is float and v != v:
            v = None
        elif v is not None and tv is not int and tv is not float and tv is not str and tv is not bool:
            return False
        try:
            env["extra." + name] = coerce_extra(name, declared, v)
        except ValueError:
            return False
        return True

    def contact_summary(self, items: list[Any] | tuple[Any, ...]) -> dict[str, Any] | None:
        """The ``contacts.*`` values of an account whose contacts are ``items`` (what its env holds),
        or None when the model could read one of them otherwise (take the model's way)."""
        if not items:
            return contacts_summary(())
        contacts = self._contacts(items)
        return None if contacts is None else contacts_summary(contacts)

    def _contacts(self, items: list[Any] | tuple[Any, ...]) -> tuple[_Contact, ...] | None:
        """The buying centre as the summary reads it, or None when the model could read it otherwise."""
        rules = self._contact_rules
        if rules is None:
            return None
        out = []
        for item in items:
            got: dict[str, Any] = {}
            if type(item) is not dict or not _read_into(got, rules, item):
                return None
            if any(got.get(name) is None for name in self._contact_required):
                return None
            out.append(_Contact(**got))
        return tuple(out)
