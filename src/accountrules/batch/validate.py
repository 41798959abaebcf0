"""Validate batch input into the flat env columns both evaluators read.

Two paths, one result:

* rows (``Account`` objects, nested or dotted dicts, JSONL lines) go through
  ``Account.model_validate`` and ``env_of`` exactly as :meth:`Policy.decide` does;
* flat tables (CSV, Parquet, DataFrame, Arrow) are validated column by column with
  pyarrow compute: each column is cast on a fast path that accepts only canonical
  spellings (``12``, ``0.35``, ``2024-06-30``, ``true``, an enum value), and every
  other non-blank cell is validated alone by the very pydantic model the row path
  uses. So the accepted rows, the values and the messages are those of
  ``Account.model_validate`` + ``env_of`` (``tests/test_batch_validate.py`` checks this
  with generated rows), while a clean column costs a few vectorised kernels.

Before validation a flat cell is normalised: an empty string, NaN, NaT and pandas' NA
are blank (unknown, ``None``, never 0), and an integer ``id`` column is read as text.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from accountrules.batch.arrow_cells import as_arrow, extra_as_is, fast_cast, normalise_array, pc, target_type
from accountrules.batch.columns import ATTR_KEYS, CONTACT_KEYS, NO_CONTACTS, env_keys, flat_fields, suggest
from accountrules.batch.errors import RowError, row_error
from accountrules.batch.ids import named_id, normalise_id, normalise_id_column, shown_id
from accountrules.compile.plan import Plan
from accountrules.errors import AccountValidationError
from accountrules.evaluate.accounts import account_data, coerce_extra, env_of, error_message
from accountrules.evaluate.dict_env import DictEnvReader, reader_of
from accountrules.i18n import N_, Message
from accountrules.model.account import Account
from accountrules.model.fields import FIELDS, FieldSpec

Problems = list[tuple[str, str]]

# -- one stored chunk of validated rows --------------------------------------------------------------


@dataclass(slots=True)
class Chunk:
    """Validated rows ``start .. start + n - 1`` (0-based) as env columns.

    ``cols[k]`` is a pyarrow Array or a Python list of length ``n`` holding env key
    ``keys[k]``; keys not stored take their value from ``base``. Rows in ``errors`` are
    not decided (their cells are meaningless).
    """

    start: int
    n: int
    keys: tuple[str, ...]
    cols: list[Any]
    base: dict[str, Any]
    errors: dict[int, RowError] = field(default_factory=dict)
    blanks: dict[str, int] = field(default_factory=dict)
    """Per input column: the rows where it was blank, before validation (what a report calls unknown)."""

    def column_lists(self, only: frozenset[str] | None = None) -> list[list[Any]]:
        return [c if isinstance(c, list) else c.to_pylist()
                for k, c in zip(self.keys, self.cols, strict=True) if only is None or k in only]

    def ids(self) -> list[Any]:
        col = self.cols[self.keys.index("id")]
        return col if isinstance(col, list) else col.to_pylist()

    def envs(self, only: frozenset[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(local index, env)`` of each row not in ``errors``; ``only``: just these keys (a policy's
        :func:`~accountrules.compile.plan.read_keys`), to spare building what nothing reads."""
        lists = self.column_lists(only)
        keys = self.keys if only is None else tuple(k for k in self.keys if k in only)
        base = self.base if only is None else {k: v for k, v in self.base.items() if k in only}
        errors = self.errors
        for j, values in enumerate(zip(*lists, strict=True)):
            if j in errors:
                continue
            env = base.copy()
            env.update(zip(keys, values, strict=True))
            yield j, env

    def env(self, j: int) -> dict[str, Any]:
        env = self.base.copy()
        for k, c in zip(self.keys, self.cols, strict=True):
            env[k] = c[j] if isinstance(c, list) else c[j].as_py()
        return env


# -- messages --------------------------------------------------------------------------------------


_HINTED = N_("{message}; did you mean {suggestion!r}?")


def with_hint(key: str, message: str, value: Any) -> str:
    """Add a did-you-mean to an unknown enum value or an unknown nested key."""
    spec = FIELDS.get(key)
    if spec is not None and spec.type == "enum" and isinstance(value, str):
        s = suggest(value, spec.values)
        if s is not None:
            return Message(_HINTED, message=message, suggestion=s)
    if message == "Extra inputs are not permitted":
        s = suggest(key, [*ATTR_KEYS, "contacts", "extra"])
        if s is not None and s != key:
            return Message(_HINTED, message=message, suggestion=s)
    return message


def _pydantic_problems(e: ValidationError) -> Problems:
    out: Problems = []
    for err in e.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(account)"
        out.append((path, with_hint(path, error_message(err), err.get("input"))))
    return out


# -- the row path ---------------------------------------------------------------------------------


def validate_row(obj: Any, plan: Plan, reader: DictEnvReader) -> tuple[dict[str, Any] | None, Problems, str | None]:
    """``(env, problems, account id)`` of one Account / nested or dotted mapping (``reader``: the plan's)."""
    env = reader.env(obj)  # a plain dict the model would take unchanged: no model built
    if env is not None:
        aid = normalise_id(env["id"])[0]
        if aid is not None:
            env["id"] = aid
            return env, [], aid
    try:
        data = account_data(obj)
    except AccountValidationError as e:  # not a mapping; a field given nested and dotted (its id is known)
        return None, list(e.problems), None if e.account_id is None else named_id(e.account_id)
    if isinstance(data, Account):
        acc = data
    else:
        raw_id = data.get("id")
        try:
            acc = Account.model_validate(data)
        except ValidationError as e:
            problems = _pydantic_problems(e)
            if isinstance(raw_id, str) and not any(f == "id" for f, _ in problems):
                refused = normalise_id(raw_id)[1]
                if refused is not None:  # as the column path reports it: id first, with the rest
                    problems.insert(0, ("id", refused))
            if isinstance(raw_id, str):
                return None, problems, named_id(raw_id)
            return None, problems, None if raw_id is None else shown_id(str(raw_id))
    aid, problem = normalise_id(acc.id)
    if aid is None:
        return None, [("id", problem or "account id refused")], shown_id(acc.id)
    try:
        env = env_of(acc, plan.extra_fields)
    except AccountValidationError as e:
        return None, list(e.problems), aid
    env["id"] = aid
    return env, [], aid


def validate_rows(objs: Sequence[Any], plan: Plan, start: int, unreadable: Mapping[int, str] | None = None) -> Chunk:
    """Validate accounts / mappings into a :class:`Chunk`; ``unreadable`` rows (local index -> message)
    were not even parsed (a bad JSON line)."""
    keys = env_keys(plan)
    errors: dict[int, RowError] = {}
    blank = (None,) * len(keys)
    values_of = operator.itemgetter(*keys)  # every env has every key (and there are more than one)
    reader = reader_of(plan)
    unreadable = unreadable or {}
    rows: list[tuple[Any, ...]] = []
    for j, obj in enumerate(objs):
        if j in unreadable:
            errors[j] = row_error(start + j + 1, None, [("(account)", unreadable[j])])
            rows.append(blank)
            continue
        env, problems, aid = validate_row(obj, plan, reader)
        if env is None:
            errors[j] = row_error(start + j + 1, aid, problems)
            rows.append(blank)
        else:
            rows.append(values_of(env))
    # rows to columns in C rather than one append per row and key
    cols = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in keys]
    # a field no row gives is not a column of this input; one some rows give is blank in the others
    blanks = {k: n for k, c in zip(keys, cols, strict=True) if (n := c.count(None)) < len(c)}
    return Chunk(start, len(objs), keys, cols, {}, errors, blanks)


# -- the flat path: one cell through pydantic --------------------------------------------------------


@cache
def _group_models() -> dict[str, type[BaseModel]]:
    out: dict[str, type[BaseModel]] = {}
    for name, info in Account.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out[name] = ann
    return out


def validate_cell(key: str, value: Any) -> tuple[bool, Any]:
    """``(True, value)`` as the model stores it (enums as strings), or ``(False, message)``."""
    group, _, name = key.rpartition(".")
    try:
        if group:
            obj: Any = _group_models()[group].model_validate({name: value})
        elif key == "id":
            obj = Account.model_validate({} if value is None else {"id": value})
        else:
            obj = Account.model_validate({"id": "-", name: value})
    except ValidationError as e:
        return False, with_hint(key, error_message(e.errors()[0]), value)
    v = getattr(obj, name)
    return True, v.value if isinstance(v, Enum) else v


def normalise_cell(key: str, v: Any) -> Any:
    """Blank (``""``, NaN, NaT, pandas NA) -> None; an integer id -> its text."""
    if v is None:
        return None
    if isinstance(v, str):
        return None if v == "" else v
    if isinstance(v, float) and math.isnan(v):
        return None
    if key == "id" and isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    try:  # pandas NA / NaT and numpy NaN scalars
        if v != v:
            return None
    except (TypeError, ValueError):
        return None  # pd.NA raises on bool()
    return v


def _column(key: str, spec: FieldSpec, col: Any, extra: str | None) -> tuple[Any, dict[int, str], int]:
    """Validate one column: ``(stored column, {local index: message}, blank cells)``."""
    if isinstance(col, list):  # a column Arrow could not type (mixed Python objects)
        cells = [normalise_cell(key, v) for v in col]
        return (*_cells(key, spec, cells, range(len(cells)), [None] * len(cells), extra), cells.count(None))
    arr = normalise_array(key, col)
    got, bad = _typed_column(key, spec, arr, extra)
    return got, bad, arr.null_count


def _typed_column(key: str, spec: FieldSpec, arr: Any, extra: str | None) -> tuple[Any, dict[int, str]]:
    import pyarrow as pa

    if extra is not None:
        if extra_as_is(extra, arr):
            return arr, {}
        cells = arr.to_pylist()
        return _cells(key, spec, cells, range(len(cells)), [None] * len(cells), extra)
    target = target_type(spec)
    fast = None if pa.types.is_null(arr.type) else fast_cast(arr, spec)
    if fast is None:
        if arr.null_count == len(arr):
            return pa.nulls(len(arr), target), {}
        cells = arr.to_pylist()
        out, bad = _cells(key, spec, cells, range(len(cells)), [None] * len(cells), None)
        return as_arrow(out, target), bad
    vals, ok = fast
    if ok is None:
        return vals, {}
    k = pc()
    refused = k.and_(arr.is_valid(), k.invert(ok))
    if not refused.true_count:  # a clean column: no list of positions to build
        return vals, {}
    fallback = k.indices_nonzero(refused).to_pylist()
    cells = [arr[i].as_py() for i in fallback]
    patches, bad = _cells(key, spec, cells, fallback, None, None)
    if len(bad) == len(fallback):
        return vals, bad
    values = vals.to_pylist()
    for i, v in zip(fallback, patches, strict=True):
        if i not in bad:
            values[i] = v
    return as_arrow(values, target), bad


def _cells(key: str, spec: FieldSpec, cells: Sequence[Any], positions: Sequence[int], out: list[Any] | None,
           extra: str | None) -> tuple[list[Any], dict[int, str]]:
    """Validate cells one by one. ``out`` (full column) is filled in place, else a list per cell is built."""
    bad: dict[int, str] = {}
    result: list[Any] = out if out is not None else []
    for i, v in zip(positions, cells, strict=True):
        value: Any = None
        if extra is not None:
            if v is not None:
                try:
                    value = coerce_extra(key[6:], extra, v)
                except ValueError as e:
                    bad[i] = str(e)
        elif v is not None or key == "id":
            ok, value = validate_cell(key, v)
            if not ok:
                bad[i], value = value, None
        if out is not None:
            result[i] = value
        else:
            result.append(value)
    return result, bad


def validate_table(table: Any, plan: Plan, start: int, unreadable: Mapping[int, str] | None = None,
                   only: frozenset[str] | None = None) -> Chunk:
    """Validate a flat chunk (a pyarrow RecordBatch/Table, or ``{column: list}``) into a :class:`Chunk`.

    ``unreadable`` maps local row indices to a message for rows the reader could not
    split into cells (their cells are null). ``only``: validate and keep these fields alone (the
    others are left as if absent; see :mod:`accountrules.batch.settled`).
    """
    fields = flat_fields(plan)
    if isinstance(table, Mapping):
        names = list(table)
        get = table.__getitem__
        n = len(next(iter(table.values()))) if table else 0
    else:
        names = list(table.schema.names)
        get = table.column
        n = table.num_rows
    keys: list[str] = []
    cols: list[Any] = []
    per_row: dict[int, tuple[Problems, Problems]] = {}  # row -> (model problems, extra problems)
    shown: dict[int, str] = {}  # row -> a refused id as given
    blanks: dict[str, int] = {}
    present = set(names)
    for key, spec in fields.items():
        if key not in present or (only is not None and key not in only):
            continue
        extra = spec.type if key.startswith("extra.") else None
        col, bad, blank = _column(key, spec, get(key), extra)
        blanks[key] = blank
        if key == "id":
            raw_ids = col
            col, refused = normalise_id_column(col)
            for i, msg in refused.items():
                bad.setdefault(i, msg)
                given = raw_ids[i] if isinstance(raw_ids, list) else raw_ids[i].as_py()
                if isinstance(given, str):
                    shown[i] = named_id(given)
        if key == "id" and not isinstance(col, list) and col.null_count:
            missing = validate_cell("id", None)[1]
            for i in pc().indices_nonzero(col.is_null()).to_pylist():
                bad.setdefault(i, missing)
        keys.append(key)
        cols.append(col)
        for i, msg in bad.items():
            per_row.setdefault(i, ([], []))[1 if extra else 0].append((key, msg))
    for key in CONTACT_KEYS:
        # only a list of dicts brings these (batch.dict_rows reads its contacts): every source refuses
        # them as columns (check_columns), so they are the dict reader's values, kept as they are
        if key in present and (only is None or key in only):
            keys.append(key)
            cols.append(normalise_array(key, get(key)))
    base: dict[str, Any] = dict.fromkeys(ATTR_KEYS)
    base.update(NO_CONTACTS)
    base.update(("extra." + name, None) for name in plan.extra_fields)
    for k in keys:
        del base[k]
    chunk = Chunk(start, n, tuple(keys), cols, base, blanks=blanks)
    ids: list[Any] | None = None
    for i, (model, extras) in sorted(per_row.items()):
        if ids is None:
            ids = chunk.ids()
        aid = ids[i] if isinstance(ids[i], str) else shown.get(i)
        chunk.errors[i] = row_error(start + i + 1, aid, model or extras)
    for i, msg in (unreadable or {}).items():
        chunk.errors[i] = row_error(start + i + 1, None, [("(account)", msg)])
    return chunk
