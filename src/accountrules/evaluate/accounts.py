"""Turn what callers pass (Account, mapping, dataclass, pydantic model, pandas row) into a validated
Account and its flat env."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from accountrules.errors import AccountValidationError
from accountrules.i18n import N_, Message
from accountrules.model.account import ISO_DAY, MESSAGES, WHOLE_MAX, Account, Day
from accountrules.model.fields import account_env


def problems_of(e: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in e.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(account)"
        out.append((path, error_message(err)))
    return out


# pydantic's own English for the errors an account commonly has, marked for translation. Used only while
# pydantic's text is exactly this, so its English is never changed; anything else is shown as pydantic says it.
_PYDANTIC = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "string_type": N_("Input should be a valid string"),
    "float_type": N_("Input should be a valid number"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "finite_number": N_("Input should be a finite number"),
    "int_type": N_("Input should be a valid integer"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "bool_type": N_("Input should be a valid boolean"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "date_type": N_("Input should be a valid date"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
}
_EXPECTED = N_("Input should be {expected}")  # enum and literal errors: the values allowed
# range errors: the bound as pydantic wrote it (1, not the 1.0 of its context), read from its text
_BOUNDS = {
    "less_than_equal": N_("Input should be less than or equal to {bound}"),
    "greater_than_equal": N_("Input should be greater than or equal to {bound}"),
    "less_than": N_("Input should be less than {bound}"),
    "greater_than": N_("Input should be greater than {bound}"),
}


def error_message(err: ErrorDetails) -> str:
    """The message of one pydantic error; one of the model's own errors or a common pydantic one as a
    :class:`~accountrules.i18n.Message` (the same English), so the command line can show it translated."""
    kind, msg = err["type"], err["msg"]
    own = MESSAGES.get(kind)
    if own is not None:
        return Message(own)
    common = _PYDANTIC.get(kind)
    if common is not None and msg == common:
        return Message(common)
    expected = err.get("ctx", {}).get("expected")
    if kind in ("enum", "literal_error") and isinstance(expected, str) and msg == f"Input should be {expected}":
        return Message(_EXPECTED, expected=expected)
    bound = _BOUNDS.get(kind)
    if bound is not None:
        head = bound.partition("{")[0]
        if msg.startswith(head):
            return Message(bound, bound=msg[len(head):])
    return msg


def to_account(obj: Any, row: int | None = None) -> Account:
    """Validate what a caller passes (see :func:`account_data`) into an Account."""
    data = account_data(obj, row)
    if isinstance(data, Account):
        return data
    try:
        return Account.model_validate(data)
    except ValidationError as e:
        aid = data.get("id")
        raise AccountValidationError(problems_of(e), account_id=str(aid) if aid is not None else None,
                                     row=row) from None


ACCEPTED = "an Account, a mapping, a dataclass, a pydantic model or an object with to_dict()"


def account_data(obj: Any, row: int | None = None) -> Account | dict[str, Any]:
    """An Account as is; anything else as the nested dict ``Account.model_validate`` reads.

    Accepted: mappings with nested or dotted keys (``"transactions.revenue"``), dataclasses,
    pydantic models (``model_dump()``), objects with ``to_dict()`` (a pandas row) or
    ``_asdict()`` (a named tuple). NaN, NaT and pandas' NA anywhere mean unknown (``None``),
    as in a flat file or a DataFrame, so a row decides the same in ``decide`` and ``decide_many``.
    """
    data: Any
    if type(obj) is dict:  # the usual input: skip the ABC checks
        data = obj
    elif isinstance(obj, Account):
        return obj
    elif isinstance(obj, Mapping):
        data = obj
    elif isinstance(obj, BaseModel):
        data = obj.model_dump()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        data = dataclasses.asdict(obj)
    elif callable(getattr(obj, "to_dict", None)):
        data = obj.to_dict()
    elif callable(getattr(obj, "_asdict", None)):
        data = obj._asdict()
    else:
        data = None
    if not isinstance(data, Mapping):
        raise AccountValidationError([("(account)", f"expected {ACCEPTED}, got {type(obj).__name__}")], row=row)
    if type(data) is not dict or _dotted(data):
        data = unflatten(data)
    known: dict[str, Any] = _known(data)
    return known


def _dotted(data: dict[Any, Any]) -> bool:
    """Whether a key of ``data`` that is a ``str`` holds a dot (``"transactions.revenue"``)."""
    try:
        # the usual keys are all text and none is dotted: one C-level join says so, no generator
        # step per key (a dot cannot arise where two keys meet)
        if "." not in "".join(data):
            return False
    except TypeError:  # a key that is not text
        pass
    return any("." in k for k in data if type(k) is str)


def unflatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """``{"transactions.revenue": 5}`` -> ``{"transactions": {"revenue": 5}}``; nested keys kept.

    A field given both nested and dotted is refused (:class:`AccountValidationError`), as a JSON key
    given twice or a column named twice is: keeping either value would drop the other silently."""
    if not any(isinstance(k, str) and "." in k for k in row):
        return dict(row)
    out: dict[str, Any] = {}
    made: set[str] = set()  # groups whose dict is ours: the caller's nested dicts are copied, never written
    for k, v in row.items():
        if isinstance(k, str) and "." in k:
            group, name = k.split(".", 1)
            sub = out.get(group)
            if sub is None:
                sub = out[group] = {}
                made.add(group)
            elif isinstance(sub, Mapping) and group not in made:
                sub = out[group] = dict(sub)
                made.add(group)
            if isinstance(sub, dict):
                if name in sub:
                    _given_twice(row, k)
                sub[name] = v
            else:  # "transactions": 5 and "transactions.count": 1 - let validation report the conflict
                out[k] = v
        elif k in out and isinstance(out[k], dict) and isinstance(v, Mapping):
            for name in out[k].keys() & v.keys():
                _given_twice(row, f"{k}.{name}")
            out[k] = {**v, **out[k]}
            made.add(k)
        else:
            out[k] = v
    return out


def _given_twice(row: Mapping[str, Any], path: str) -> None:
    aid = row.get("id")
    raise AccountValidationError([(path, f"{path} is given twice, nested and as a dotted key: give it once")],
                                 account_id=aid if isinstance(aid, str) else None)


# values that are never "unknown": returned untouched without further checks
_PLAIN = frozenset({str, int, bool, type(None), dt.date, dt.datetime})


def _known(v: Any) -> Any:
    """``v`` with NaN, NaT and pandas' NA replaced by None, at any depth; ``v`` itself when it has none
    (the common case: a clean dict is neither copied nor rebuilt)."""
    kind = type(v)
    if kind in _PLAIN:
        return v
    if kind is float or isinstance(v, float):  # numpy's float64 too
        return None if math.isnan(v) else v
    if kind is dict or isinstance(v, Mapping):
        changed: dict[Any, Any] | None = None
        plain = _PLAIN
        for k, x in v.items():
            # most values of an account are plain or a known float: tested here, without a call each
            kx = type(x)
            if kx in plain or (kx is float and x == x):
                continue
            y = _known(x)
            if y is not x:
                if changed is None:
                    changed = dict(v)
                changed[k] = y
        return v if changed is None else changed
    if isinstance(v, list | tuple):
        items = [_known(x) for x in v]
        return v if all(a is b for a, b in zip(items, v, strict=True)) else items
    try:
        return None if v != v else v  # numpy's datetime64 NaT, pandas' NaT: not equal to themselves
    except TypeError:
        return None  # pandas' NA: its truth value is ambiguous, so comparing it raises
    except ValueError:
        return v  # an array: not a field value, validation says so


class _ExtraCell(BaseModel):
    """A declared extra field's value read as the model reads a field of its type: one field per type,
    each typed and configured as the model's own (amounts, booleans, dates, text). :func:`coerce_extra`
    asks it about every value that is not already a plain one of the type (a ``Decimal``, a numpy
    scalar, ``"on"``), so an extra takes exactly what a model field takes, on every path."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    number: float | None = None
    whole: int | None = None  # a whole number written as text, kept exact (as int("...") did)
    flag: bool | None = None
    day: Day | None = None
    text: str | None = None


_CELL_FIELD = {"number": "number", "bool": "flag", "date": "day", "string": "text"}
# the common spellings a text cell holds, read here as the model reads them, so a CSV column of extras
# spares the model a call per cell; any other text is the model's to read
_BOOL_TEXT = {w: w.lower() in ("true", "yes", "1") for base in ("true", "false", "yes", "no", "1", "0")
              for w in (base, base.title(), base.upper())}
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _as_model(field: str, v: Any) -> Any:
    """``v`` as the model's field ``field`` of :class:`_ExtraCell` takes it; ``ValueError`` when it refuses."""
    return getattr(_ExtraCell.model_validate({field: v}), field)  # a ValidationError is a ValueError


def coerce_extra(name: str, kind: str, v: Any) -> Any:
    """A declared extra field's value as the env holds it (a plain ``int``/``float``, ``bool``, ``date`` or
    ``str``), or ``ValueError``: what a model field of the same type takes, and nothing else. A whole
    number stays whole, within the model's counts' bound; plain values of the type skip the model."""
    if v is None or (isinstance(v, str) and v == ""):  # a blank cell is unknown
        return None
    try:
        if kind == "number":
            return _number(v)
        tv = type(v)
        if (kind == "string" and tv is str) or (kind == "bool" and tv is bool) or (kind == "date" and tv is dt.date):
            return v
        if tv is str and kind == "bool" and v in _BOOL_TEXT:
            return _BOOL_TEXT[v]
        if tv is str and kind == "date" and ISO_DAY.fullmatch(v):
            return dt.date.fromisoformat(v)  # 2026-02-30: a ValueError, refused below as the model refuses it
        if kind in _CELL_FIELD:
            got = _as_model(_CELL_FIELD[kind], v)
            if got is not None:
                return got
    except _Whole as e:
        raise ValueError(str(e)) from None
    except ValueError:
        pass
    raise ValueError(f"expected {kind}, got {v!r}")


class _Whole(Exception):
    """A whole number past the bound: refused with its own message, not the generic one."""


def _number(v: Any) -> int | float:
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        whole = int(v)  # numpy's integers as Python's (the model's counts take them)
        if not -WHOLE_MAX <= whole <= WHOLE_MAX:
            # as the model's whole numbers; the value itself may be hundreds of digits: not repeated
            raise _Whole(f"expected a whole number from {-WHOLE_MAX} to {WHOLE_MAX}")
        return whole
    if isinstance(v, float):
        if not math.isfinite(v):
            # as the model's amounts: JSON's Infinity is no amount (NaN is unknown by now)
            raise _Whole(f"expected a finite number, got {v!r}")
        return float(v)  # numpy's float64 as Python's
    if type(v) is str and _PLAIN_NUMBER.fullmatch(v):  # what Python and the model read alike
        if not any(c in v for c in ".eE"):
            return _number(int(v))  # past Python's 4300 digits a ValueError: refused as no number
        number = float(v)
        if not math.isfinite(number):  # "1e400": refused as written, as the model refuses it
            raise ValueError(v)
        return number
    number = _as_model("number", v)  # refuses "1e400", "nan", "７"; takes " 7", "1_000", Decimal, True
    if number is None:
        raise ValueError(v)
    if isinstance(v, str) and not any(c in v for c in ".eE"):
        return _number(_as_model("whole", v))  # "7" is 7, as a count column holds it
    return float(number)


def env_of(account: Account, extra_fields: Mapping[str, str], row: int | None = None) -> dict[str, Any]:
    env = account_env(account, extra_fields)
    problems = []
    for name, kind in extra_fields.items():
        key = "extra." + name
        try:
            env[key] = coerce_extra(name, kind, env[key])
        except ValueError as e:
            problems.append((key, str(e)))
    if problems:
        raise AccountValidationError(problems, account_id=account.id, row=row)
    return env
