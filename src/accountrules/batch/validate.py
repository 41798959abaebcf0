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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from accountrules.batch.columns import ATTR_KEYS, NO_CONTACTS, env_keys, flat_fields, suggest
from accountrules.batch.errors import RowError, row_error
from accountrules.batch.ids import normalise_id, normalise_id_column, shown_id
from accountrules.compile.plan import Plan
from accountrules.errors import AccountValidationError
from accountrules.evaluate.accounts import account_data, coerce_extra, env_of
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
        :func:`~accountrules.batch.columns.read_keys`), to spare building what nothing reads."""
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


def with_hint(key: str, message: str, value: Any) -> str:
    """Add a did-you-mean to an unknown enum value or an unknown nested key."""
    spec = FIELDS.get(key)
    if spec is not None and spec.type == "enum" and isinstance(value, str):
        s = suggest(value, spec.values)
        if s is not None:
            return f"{message}; did you mean {s!r}?"
    if message == "Extra inputs are not permitted":
        s = suggest(key, [*ATTR_KEYS, "contacts", "extra"])
        if s is not None and s != key:
            return f"{message}; did you mean {s!r}?"
    return message


def _pydantic_problems(e: ValidationError) -> Problems:
    out: Problems = []
    for err in e.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(account)"
        out.append((path, with_hint(path, err["msg"], err.get("input"))))
    return out


# -- the row path ---------------------------------------------------------------------------------


def validate_row(obj: Any, plan: Plan) -> tuple[dict[str, Any] | None, Problems, str | None]:
    """``(env, problems, account id)`` of one Account / nested or dotted mapping."""
    try:
        data = account_data(obj)
    except AccountValidationError as e:
        return None, list(e.problems), None
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
            if isinstance(raw_id, str):  # named by its id under the id rule, as the flat path names it
                return None, problems, normalise_id(raw_id)[0] or shown_id(raw_id)
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
    cols: list[list[Any]] = [[] for _ in keys]
    errors: dict[int, RowError] = {}
    blank = [None] * len(keys)
    unreadable = unreadable or {}
    for j, obj in enumerate(objs):
        values: Any
        if j in unreadable:
            errors[j] = row_error(start + j + 1, None, [("(account)", unreadable[j])])
            values = blank
        else:
            env, problems, aid = validate_row(obj, plan)
            if env is None:
                errors[j] = row_error(start + j + 1, aid, problems)
                values = blank
            else:
                values = map(env.__getitem__, keys)
        for c, v in zip(cols, values, strict=True):
            c.append(v)
    # a field no row gives is not a column of this input; one some rows give is blank in the others
    blanks = {k: c.count(None) for k, c in zip(keys, cols, strict=True) if c.count(None) < len(c)}
    return Chunk(start, len(objs), keys, list(cols), {}, errors, blanks)


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
        return False, with_hint(key, e.errors()[0]["msg"], value)
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


# -- the flat path: vectorised columns ------------------------------------------------------------

_FLOAT_RE = r"^-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,17})?([eE][-+]?[0-9]{1,2})?$"
_DATE_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TRUE = ["true", "True", "TRUE", "yes", "Yes", "YES", "1"]
_FALSE = ["false", "False", "FALSE", "no", "No", "NO", "0"]
_INT64_LIMIT = 9.223372036854775e18  # below 2**63 as a float


def _pa() -> tuple[Any, Any]:
    import pyarrow as pa
    import pyarrow.compute as pc

    return pa, pc


def _pc() -> Any:
    return _pa()[1]


def _target(spec: FieldSpec) -> Any:
    pa, _ = _pa()
    if spec.type == "number":
        return pa.int64() if spec.integer else pa.float64()
    if spec.type == "bool":
        return pa.bool_()
    if spec.type == "date":
        return pa.date32()
    return pa.string()


def normalise_array(key: str, arr: Any) -> Any:
    """Blank strings and NaN -> null, dictionaries decoded, large/view strings -> string."""
    pa, pc = _pa()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        arr = arr.cast(pa.string())
        t = arr.type
    if pa.types.is_string(t):
        if pc.any(pc.equal(arr, "")).as_py():
            arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    elif pa.types.is_floating(t):
        if pa.types.is_float16(t):
            arr = arr.cast(pa.float32())
        nan = pc.is_nan(arr)
        if pc.any(nan).as_py():
            arr = pc.if_else(nan, pa.scalar(None, arr.type), arr)
    elif key == "id" and pa.types.is_integer(t):
        arr = arr.cast(pa.string())
    return arr


def _parse_where(pc: Any, pa: Any, arr: Any, ok: Any, to: Any) -> Any:
    """Text cells parsed as ``to`` where ``ok``, null elsewhere. The cells not parsed are replaced by
    "0" first: older pyarrow (< 22) parses the hidden text behind nulls too, and fails on it."""
    parsed = pc.if_else(ok, arr, pa.scalar("0", pa.string())).cast(to)
    return pc.if_else(ok, parsed, pa.scalar(None, to))


def _fast(arr: Any, spec: FieldSpec) -> tuple[Any, Any] | None:
    """``(values, ok)``: values cast to the target type where ``ok``; None = no fast path."""
    pa, pc = _pa()
    t = arr.type
    if spec.type == "number":
        if spec.integer:
            if pa.types.is_integer(t):
                if t == pa.uint64():
                    ok = pc.less_equal(arr, pa.scalar(2**63 - 1, pa.uint64()))
                    vals = pc.if_else(ok, arr, pa.scalar(None, t)).cast(pa.int64())
                else:
                    ok, vals = None, arr.cast(pa.int64())
            elif pa.types.is_floating(t):
                a = arr.cast(pa.float64())
                ok = pc.and_(pc.and_(pc.is_finite(a), pc.equal(pc.floor(a), a)),
                             pc.less(pc.abs(a), _INT64_LIMIT))
                vals = pc.if_else(ok, a, pa.scalar(None, pa.float64())).cast(pa.int64(), safe=False)
            elif pa.types.is_string(t):
                # digits only (pydantic reads "007" as 7 too); signs, spaces, "1_000" go cell by cell
                # a regex, not ascii_is_decimal: that one calls "  " decimal in pyarrow < 22
                ok = pc.match_substring_regex(arr, "^[0-9]{1,18}$")
                vals = _parse_where(pc, pa, arr, ok, pa.int64())
            else:
                return None
        elif pa.types.is_integer(t) or pa.types.is_floating(t):
            vals = arr.cast(pa.float64(), safe=False)
            ok = pc.is_finite(vals)  # inf goes cell by cell: the model decides (it refuses non-finite numbers)
        elif pa.types.is_string(t):
            ok = pc.match_substring_regex(arr, _FLOAT_RE)
            vals = _parse_where(pc, pa, arr, ok, pa.float64())
        else:
            return None
        if spec.ge is not None:
            ge = pc.greater_equal(vals, spec.ge)
            ok = ge if ok is None else pc.and_(ok, ge)
        if spec.le is not None:
            le = pc.less_equal(vals, spec.le)
            ok = le if ok is None else pc.and_(ok, le)
    elif spec.type == "bool":
        if pa.types.is_boolean(t):
            ok, vals = None, arr
        elif pa.types.is_string(t):
            ok = pc.is_in(arr, value_set=pa.array(_TRUE + _FALSE))
            vals = pc.is_in(arr, value_set=pa.array(_TRUE))
        else:
            return None
    elif spec.type == "date":
        if pa.types.is_date32(t):
            ok, vals = None, arr
        elif pa.types.is_date64(t):
            ok, vals = None, arr.cast(pa.date32())
        elif pa.types.is_timestamp(t) and t.tz is None:
            vals = arr.cast(pa.date32(), safe=False)
            ok = pc.equal(vals.cast(t), arr)
        elif pa.types.is_string(t):
            ok = pc.and_(pc.match_substring_regex(arr, _DATE_RE), pc.invert(pc.starts_with(arr, "0000")))
            candidates = pc.if_else(ok, arr, pa.scalar(None, pa.string()))
            try:  # strict: fails as a whole on a day that does not exist (2026-13-01)
                vals = candidates.cast(pa.date32())
            except pa.ArrowInvalid:
                ts = pc.strptime(candidates, format="%Y-%m-%d", unit="s", error_is_null=True)
                vals = ts.cast(pa.date32())  # strptime rolls 2024-02-30 over to 03-01: compare back
                ok = pc.and_(ok, pc.equal(vals.cast(pa.string()), arr))
        else:
            return None
    elif spec.type == "enum":
        if not pa.types.is_string(t):
            return None
        ok, vals = pc.is_in(arr, value_set=pa.array(list(spec.values))), arr
    else:  # string
        if not pa.types.is_string(t):
            return None
        ok, vals = None, arr
    if ok is None:
        return vals, None
    ok = pc.fill_null(ok, False)
    return pc.if_else(ok, vals, pa.scalar(None, vals.type)), ok


def _column(key: str, spec: FieldSpec, col: Any, extra: str | None) -> tuple[Any, dict[int, str], int]:
    """Validate one column: ``(stored column, {local index: message}, blank cells)``."""
    pa, pc = _pa()
    if isinstance(col, list):  # a column Arrow could not type (mixed Python objects)
        cells = [normalise_cell(key, v) for v in col]
        return (*_cells(key, spec, cells, range(len(cells)), [None] * len(cells), extra), cells.count(None))
    arr = normalise_array(key, col)
    got, bad = _typed_column(key, spec, arr, extra)
    return got, bad, arr.null_count


def _typed_column(key: str, spec: FieldSpec, arr: Any, extra: str | None) -> tuple[Any, dict[int, str]]:
    pa, pc = _pa()
    if extra is not None:
        if _extra_as_is(pa, extra, arr.type):
            return arr, {}
        cells = arr.to_pylist()
        return _cells(key, spec, cells, range(len(cells)), [None] * len(cells), extra)
    target = _target(spec)
    fast = None if pa.types.is_null(arr.type) else _fast(arr, spec)
    if fast is None:
        if arr.null_count == len(arr):
            return pa.nulls(len(arr), target), {}
        cells = arr.to_pylist()
        out, bad = _cells(key, spec, cells, range(len(cells)), [None] * len(cells), None)
        return _as_arrow(out, target), bad
    vals, ok = fast
    if ok is None:
        return vals, {}
    fallback = pc.indices_nonzero(pc.and_(arr.is_valid(), pc.invert(ok))).to_pylist()
    if not fallback:
        return vals, {}
    cells = [arr[i].as_py() for i in fallback]
    patches, bad = _cells(key, spec, cells, fallback, None, None)
    if len(bad) == len(fallback):
        return vals, bad
    values = vals.to_pylist()
    for i, v in zip(fallback, patches, strict=True):
        if i not in bad:
            values[i] = v
    return _as_arrow(values, target), bad


def _extra_as_is(pa: Any, kind: str, t: Any) -> bool:
    """A declared extra field whose Arrow type already holds what ``coerce_extra`` would return for
    every cell (blanks and NaN are null by now): the column is kept as it is, with no Python per cell."""
    if kind == "number":
        return bool(t == pa.int64() or t == pa.float64())
    if kind == "string":
        return bool(pa.types.is_string(t))
    if kind == "bool":
        return bool(pa.types.is_boolean(t))
    return kind == "date" and bool(pa.types.is_date32(t))


def _as_arrow(values: list[Any], target: Any) -> Any:
    pa, _ = _pa()
    try:
        return pa.array(values, type=target)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return values  # e.g. a whole number beyond int64: keep the Python values


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


def validate_table(table: Any, plan: Plan, start: int, unreadable: Mapping[int, str] | None = None) -> Chunk:
    """Validate a flat chunk (a pyarrow RecordBatch/Table, or ``{column: list}``) into a :class:`Chunk`.

    ``unreadable`` maps local row indices to a message for rows the reader could not
    split into cells (their cells are null).
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
        if key not in present:
            continue
        extra = spec.type if key.startswith("extra.") else None
        col, bad, blank = _column(key, spec, get(key), extra)
        blanks[key] = blank
        if key == "id":
            raw_ids = col
            col, refused = normalise_id_column(col)
            for i, msg in refused.items():
                bad.setdefault(i, msg)
                # the error names the id as given, as the row path does (escaped: it may not encode)
                given = raw_ids[i] if isinstance(raw_ids, list) else raw_ids[i].as_py()
                if isinstance(given, str):
                    shown[i] = shown_id(given)
        if key == "id" and not isinstance(col, list) and col.null_count:
            missing = validate_cell("id", None)[1]
            for i in _pc().indices_nonzero(col.is_null()).to_pylist():
                bad.setdefault(i, missing)
        keys.append(key)
        cols.append(col)
        for i, msg in bad.items():
            per_row.setdefault(i, ([], []))[1 if extra else 0].append((key, msg))
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
