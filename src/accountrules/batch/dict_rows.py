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

The rows are read column by column (a list per field, the set of its values' types), and each
column is handed to Arrow with the type ``pyarrow.array`` would infer for it: Arrow then converts
in one pass instead of inferring first, and no Python loop visits every value of every row
(``tests/test_dict_rows.py`` holds the columns equal to those Arrow infers from the rows on its
own). A column whose values are of two kinds other than ``int`` and ``float`` (``True`` beside
``1.5``, text beside numbers) goes row by row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from itertools import repeat
from typing import Any

from accountrules.batch.columns import CONTACT_KEYS, check_columns, flat_fields
from accountrules.batch.errors import BatchInputError
from accountrules.compile.plan import Plan
from accountrules.evaluate.dict_env import reader_of
from accountrules.model.fields import contacts_summary

__all__ = ["dict_rows_table"]

_NONE = type(None)
_LEAF: frozenset[type] = frozenset({str, int, float, bool, dt.date})
_NUMBERS = frozenset({int, float})


_BLOCK = 2048  # rows read column by column at a time


class _Absent(dict[str, Any]):
    """What a row that leaves a key out gives for it: an empty section, told apart from one by its type."""


_ABSENT = _Absent()  # read, never written
# the Arrow type of each contacts.* value, as contacts_summary gives it (a weight may be unknown)
_CONTACT_TYPES = {"contacts.count": "int64", "contacts.supporters": "int64", "contacts.supporter_weight": "double",
                  "contacts.decider_supports": "bool", "contacts.has_decider": "bool"}


def _one_kind(kinds: set[type]) -> type | None:
    """The one type Arrow reads values of ``kinds`` as (``int`` and ``float`` together: ``float``;
    ``NoneType`` when there is none but None), or None when no one type reads them as the model does."""
    kinds.discard(_NONE)
    if not kinds:
        return _NONE
    if len(kinds) == 2 and kinds == _NUMBERS:
        return float  # Arrow reads both as double (a whole number past 2**53 fails the conversion)
    return kinds.pop() if len(kinds) == 1 else None  # text and numbers, True beside 1.5: none


def _kind(values: list[Any]) -> type | None:
    """The one Python type of a column's values as Arrow reads them (:func:`_one_kind`), or None when
    there is none or the model could read a value otherwise (no plain leaf, an empty text)."""
    kind = _one_kind(set(map(type, values)))
    if kind is not _NONE and (kind not in _LEAF or (kind is str and "" in values)):
        return None
    return kind


def _keys(dicts: Sequence[Any]) -> list[str] | None:
    """The keys of any of ``dicts``, sorted; None when one is no text (no column is named so)."""
    keys = set().union(*dicts)
    return sorted(keys) if all(type(k) is str for k in keys) else None


def _columns(rows: Sequence[Any]) -> dict[str, tuple[type, list[Any]]] | None:
    """Every field of the rows as a column (dotted name, Python kind, values; None where a row leaves it
    out), as ``pyarrow.array`` and ``Table.flatten`` would give them (the columns sorted by name); None
    when the rows are not all plain dicts with a non-empty text id, of plain leaf values or sections of them.

    Read column by column: a list per field and a set of its types, built in C, where the loop this
    replaced visited every value of every row in Python. Block by block: each pass then walks a block's
    dicts, not a whole chunk's (``benchmarks/ab.py --input tier-batch`` against one block per chunk:
    see ``docs/performance-history.md``, eleventh round)."""
    if len(rows) <= _BLOCK:
        return _block_columns(rows)
    parts: list[tuple[int, dict[str, tuple[type, list[Any]]]]] = []
    for i in range(0, len(rows), _BLOCK):
        got = _block_columns(rows[i:i + _BLOCK])
        if got is None:
            return None
        parts.append((min(_BLOCK, len(rows) - i), got))
    out: dict[str, tuple[type, list[Any]]] = {}
    for name in sorted(set().union(*(p for _, p in parts))):
        kind = _one_kind({p[name][0] for _, p in parts if name in p})
        if kind is None:
            return None  # text in one block, numbers in another: no one Arrow type reads them
        values: list[Any] = []
        for size, p in parts:
            given = p.get(name)
            values.extend(given[1] if given is not None else [None] * size)
        out[name] = (kind, values)
    return out


def _block_columns(rows: Sequence[Any]) -> dict[str, tuple[type, list[Any]]] | None:
    """:func:`_columns` of a block of rows."""
    if set(map(type, rows)) != {dict}:
        return None
    ids = list(map(dict.get, rows, repeat("id")))
    if _kind(ids) is not str or None in ids:
        return None
    # the keys any row gives, sorted: the order of the columns matters to no reader of the table
    keys = _keys(rows)
    if keys is None:
        return None
    out: dict[str, tuple[type, list[Any]]] = {}
    for key in keys:
        if key == "contacts":
            continue  # read by the contact reader (_contact_columns)
        # map of dict.get runs in C; a list comprehension ran bytecode per row (rows are exact dicts)
        given = list(map(dict.get, rows, repeat(key), repeat(_ABSENT)))
        # types before values: a value whose == is element-wise (a numpy array) is never compared
        kinds = set(map(type, given))
        absent = _Absent in kinds
        kinds.discard(_Absent)
        if _NONE in kinds:
            return None  # None at the top: a section given as null, which the model refuses
        if kinds == {dict}:  # a section: its fields, each a column (a row leaving it out: an empty one)
            sections: list[dict[str, Any]] = given
            names = _keys(sections)
            if names is None:
                return None
            # sorted, a section comes before the dotted keys of its fields: a field given both ways is
            # caught there (key in out)
            for name in names:
                values = list(map(dict.get, sections, repeat(name)))
                kind = _kind(values)
                if kind is None:
                    return None
                out[f"{key}.{name}"] = (kind, values)
            continue
        values = [None if v is _ABSENT else v for v in given] if absent else given
        kind = _kind(values)
        if kind is None or key in out:
            return None  # a list, a section in one row and a value in another, a field given twice
        out[key] = (kind, values)
    return out


def _contact_columns(rows: Sequence[dict[str, Any]], plan: Plan) -> dict[str, list[Any]] | None | bool:
    """The ``contacts.*`` values of every row as columns; None when no row gives contacts (the table
    path's defaults hold); False when a contact must go the model's way (the chunk goes row by row)."""
    if not any(map(dict.__contains__, rows, repeat("contacts"))):  # rows are exact dicts (_block_columns)
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
    columns = _columns(rows) if rows else None
    if columns is None:
        return None
    try:
        import pyarrow as pa
    except ImportError:  # the arrow extra is not installed: the row path needs nothing else
        return None
    contacts = _contact_columns(rows, plan)
    if contacts is False:
        return None
    arrow = {float: pa.float64(), int: pa.int64(), bool: pa.bool_(), str: pa.string(), dt.date: pa.date32(),
             _NONE: pa.null()}
    try:
        # each column of the type Arrow would infer for it, given: converted in one pass, not two
        table = pa.table({name: pa.array(values, arrow[kind]) for name, (kind, values) in columns.items()})
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None  # an integer past int64, a whole number past 2**53 beside floats: the model says which row
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
