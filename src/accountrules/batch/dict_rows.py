"""Plain account dicts as one Arrow table, when that reads every value exactly as the row path would.

``decide_many([...dicts...])`` validates row by row through the pydantic model (``validate_row``),
one model per row. Most such lists come from a CRM's JSON or ORM layer: plain ``dict`` rows of
``str``/``int``/``float``/``bool``/``date`` values, nested one level by section or keyed by field
path. Such a chunk is handed to Arrow (``pyarrow.array``, in C) and then to the flat path
(``validate_table``), which is proven equal to the model cell by cell
(``tests/test_batch_validate.py``); ``tests/test_dict_rows.py`` proves the whole batch equal.

The conversion is refused — and the chunk goes row by row, as before — at the first value whose
meaning could differ between the two paths:

* a row that is not exactly a ``dict``, or whose id is not non-empty text;
* a value of any other type (numpy scalars, ``Decimal``, ``datetime``: Arrow would truncate a
  ``datetime`` in a date column, the model refuses one with a time), an empty string (the model
  reads ``""`` as text, a flat file as blank), or a list anywhere but ``contacts``;
* a contact the plan's dict reader would leave to the model (``DictEnvReader.contact_summary``).

A row's ``contacts`` list is read by that reader, the one ``decide(dict)`` uses, into the
``contacts.*`` values its env holds; those become columns of the table beside the fields, and the
rest of the row goes to Arrow.
* a null at the top level (a section given as null, which the model refuses; a section left out is
  fine), a column that is no field of the policy, a field given twice (nested and dotted), a
  column Arrow cannot type (mixed kinds);
* an integer field that Arrow typed as float (mixing ``int`` and ``float`` rounds integers past 2**53).

The pass that checks the values also works out each column's type, the one ``pyarrow.array``
would infer, and hands it over: Arrow then converts in one pass instead of inferring first
(``tests/test_dict_rows.py`` holds the two types equal). A column whose values are of two kinds
other than ``int`` and ``float`` (``True`` beside ``1.5``, text beside numbers) goes row by row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from accountrules.batch.columns import CONTACT_KEYS, check_columns, flat_fields
from accountrules.batch.errors import BatchInputError
from accountrules.compile.plan import Plan
from accountrules.evaluate.dict_env import reader_of
from accountrules.model.fields import contacts_summary

__all__ = ["dict_rows_table"]

_NONE = type(None)
_LEAF: frozenset[type] = frozenset({str, int, float, bool, _NONE, dt.date})
# the Arrow type of each contacts.* value, as contacts_summary gives it (a weight may be unknown)
_CONTACT_TYPES = {"contacts.count": "int64", "contacts.supporters": "int64", "contacts.supporter_weight": "double",
                  "contacts.decider_supports": "bool", "contacts.has_decider": "bool"}


def _kinds(rows: Sequence[Any]) -> dict[str, Any] | None:
    """The Python kind of every key of the rows (a section's: a dict of its keys' kinds), in order of first
    appearance, when every row is a dict of plain leaf values (or sections of them) with a non-empty text
    id; None otherwise. A key's kind is the one type of its values (``int`` and ``float`` together are
    ``float``; ``NoneType`` when every value is None): what ``pyarrow.array`` infers a column from."""
    leaf = _LEAF
    top: dict[str, Any] = {}
    for r in rows:
        if type(r) is not dict:
            return None
        aid = r.get("id")
        if type(aid) is not str or not aid:
            return None
        for k, v in r.items():
            t = type(v)
            if t is dict:
                kinds = top.get(k)
                if kinds is None:
                    kinds = top[k] = {}
                elif type(kinds) is not dict:
                    return None  # a section in one row, a value in another: Arrow can't type it
                for key, x in v.items():
                    tx = type(x)
                    seen = kinds.get(key)
                    if seen is tx:
                        if tx is str and not x:
                            return None
                    elif not _merge(kinds, key, seen, tx, x, leaf):
                        return None
            elif t is list or t is tuple:
                if v is not r.get("contacts"):
                    return None  # read by the contact reader below; any other list goes row by row
            elif v is None:
                return None  # None at the top: a section given as null, which the model refuses
            else:
                seen = top.get(k)
                if seen is not t and not _merge(top, k, seen, t, v, leaf):
                    return None
                if t is str and not v:
                    return None
    return top


def _merge(kinds: dict[str, Any], key: str, seen: Any, tx: type, x: Any, leaf: frozenset[type]) -> bool:
    """Record a value of kind ``tx`` under ``key`` whose kind so far is ``seen``; False when the value
    is no plain leaf or the two kinds make no one Arrow type."""
    if tx not in leaf or (tx is str and not x):
        return False
    if seen is None or seen is _NONE:
        kinds[key] = tx
    elif tx is _NONE or (seen is float and tx is int):
        pass
    elif seen is int and tx is float:
        kinds[key] = float  # Arrow reads both as double (a whole number past 2**53 fails the conversion)
    else:
        return False  # text and numbers, a section and a value: Arrow can't type the column
    return True


def _arrow_type(pa: Any, kinds: dict[str, Any]) -> Any:
    """The struct type ``pyarrow.array`` infers for rows whose keys have ``kinds``."""
    arrow = {float: pa.float64(), int: pa.int64(), bool: pa.bool_(), str: pa.string(), dt.date: pa.date32(),
             _NONE: pa.null()}
    return pa.struct([(k, _arrow_type(pa, v) if type(v) is dict else arrow[v]) for k, v in kinds.items()])


def _contact_columns(rows: Sequence[dict[str, Any]], plan: Plan) -> dict[str, list[Any]] | None | bool:
    """The ``contacts.*`` values of every row as columns; None when no row gives contacts (the table
    path's defaults hold); False when a contact must go the model's way (the chunk goes row by row)."""
    if not any("contacts" in r for r in rows):
        return None
    reader = reader_of(plan)
    none = contacts_summary(())
    got: list[dict[str, Any]] = []
    for r in rows:
        if "contacts" not in r:
            got.append(none)
            continue
        items = r["contacts"]
        if type(items) is not list and type(items) is not tuple:
            return False  # contacts given as a number or text: the model says why not
        summary = reader.contact_summary(items)
        if summary is None:
            return False
        got.append(summary)
    return {key: [s[key] for s in got] for key in CONTACT_KEYS}


def dict_rows_table(rows: Sequence[Any], plan: Plan) -> Any | None:
    """``rows`` as a ``pyarrow.Table`` of field-path columns, or None: validate them row by row."""
    kinds = _kinds(rows) if rows else None
    if kinds is None:
        return None
    try:
        import pyarrow as pa
    except ImportError:  # the arrow extra is not installed: the row path needs nothing else
        return None
    contacts = _contact_columns(rows, plan)
    if contacts is False:
        return None
    if contacts is not None:
        rows = [{k: v for k, v in r.items() if k != "contacts"} if "contacts" in r else r for r in rows]
    try:
        # the type given, not inferred: pa.array then converts in one pass instead of two. It is the type
        # Arrow infers from every row's keys (Table.from_pylist reads only the first row's), so an unknown
        # key is a column check_columns refuses, not a key the conversion drops
        kinds.pop("contacts", None)
        table = pa.Table.from_batches([pa.RecordBatch.from_struct_array(
            pa.array(list(rows), type=_arrow_type(pa, kinds)))])
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None  # mixed kinds in a column, an integer past int64: the model says which row
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()  # a null section here is one a row left out: all its fields unknown
    try:
        check_columns(table.column_names, plan)
    except BatchInputError:
        return None
    fields = flat_fields(plan)
    for name, col in zip(table.column_names, table.columns, strict=True):
        spec = fields[name]
        if spec.type == "number" and spec.integer and pa.types.is_floating(col.type):
            return None
    if isinstance(contacts, dict):  # beside the fields: validate_table keeps them as they are
        for key in CONTACT_KEYS:
            table = table.append_column(key, pa.array(contacts[key], pa.type_for_alias(_CONTACT_TYPES[key])))
    return table
