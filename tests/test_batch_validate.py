"""Flat (column-wise) validation gives what Account.model_validate + env_of give, row by row."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from accountrules.batch.columns import flat_fields, unflatten
from accountrules.batch.ids import normalise_id
from accountrules.batch.validate import normalise_cell, validate_table
from accountrules.errors import AccountValidationError
from accountrules.evaluate.accounts import env_of
from accountrules.model.account import Account
from accountrules.model.fields import FieldSpec
from accountrules.policy import Policy, load_policy

pa: Any = pytest.importorskip("pyarrow")

# a policy with one extra field of each kind, so extras are covered too
POLICY_TEXT = """
policy: {name: extras, version: "1", label: {zh: 测试, en: test}}
fields: {n: number, s: string, b: bool, d: date}
tiers:
  hit: first
  values: {a: {zh: A, en: A}, b: {zh: B, en: B}}
  default: b
  rows:
    - id: r1
      when: transactions.revenue > 10 and extra.n > 1
      then: a
"""


def _policy() -> Policy:
    import tempfile
    from pathlib import Path

    d = Path(tempfile.mkdtemp())
    (d / "policy.yaml").write_text(POLICY_TEXT, encoding="utf-8")
    return load_policy(d / "policy.yaml")


POLICY = _policy()
FIELDS = flat_fields(POLICY.plan)

# -- what a cell may hold ---------------------------------------------------------------------------

_ODD_NUMBERS = ["5", "5.0", "5.5", " 5", "5 ", "+5", "-5", "-0", "007", "00.5", ".5", "5.", "1e3", "1E3", "1e+05",
                "5e-3", "1_000", "nan", "NaN", "inf", "-inf", "Infinity", "0x10", "abc", "1.7", "0.35", "1", "0",
                "123456789012345678", "1234567890123456789", "99999999999999999999", "1e400", "12,5", "--5"]
_ODD_BOOLS = ["true", "false", "True", "FALSE", "yes", "no", "on", "off", "t", "f", "y", "n", "1", "0", "2",
              " true", "maybe", "YES"]
_ODD_DATES = ["2024-01-05", "2024-02-29", "2023-02-29", "2024-02-30", "2026-13-01", "2024-1-5", "20240105",
              "2024-01-05T00:00:00", "2024-01-05T01:00:00", "2024-01-05 00:00", " 2024-01-05", "0001-01-01",
              "0000-01-01", "9999-12-31", "1700000000", "yesterday", "2024/01/05"]


def _text(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Cells as a CSV holds them: text (None = blank)."""
    if spec.type == "number":
        num = st.one_of(
            st.integers(-10**6, 10**6).map(str),
            st.floats(-1e9, 1e9, allow_nan=False).map(repr),
            st.floats(0, 1, allow_nan=False).map(lambda x: f"{x:.3f}"),
            st.sampled_from(_ODD_NUMBERS),
        )
        return st.none() | st.just("") | num
    if spec.type == "bool":
        return st.none() | st.sampled_from(_ODD_BOOLS)
    if spec.type == "date":
        return st.none() | st.sampled_from(_ODD_DATES) | st.dates(dt.date(1, 1, 1)).map(dt.date.isoformat)
    if spec.type == "enum":
        return st.none() | st.sampled_from([*spec.values, "stabel", "Stable", " stable", "", "x"])
    return st.none() | st.sampled_from(["a", "north", "华东", " x ", "", "0"])


def _typed(spec: FieldSpec) -> st.SearchStrategy[tuple[Any, Any]]:
    """``(arrow type, strategy of values)`` for a typed column (Parquet, DataFrame, Arrow)."""
    f = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
        [1e19, 2.0**63, 9.2e18, 2.0**53 + 1, 5.0, 5.5, -0.0, 0.35, 1.7, 1e300])
    choices: list[tuple[Any, st.SearchStrategy[Any]]] = [(pa.string(), _text(spec))]
    if spec.type == "number":
        choices += [(pa.float64(), st.none() | f | st.floats(0, 1) | st.integers(-5, 5).map(float)),
                    (pa.int64(), st.none() | st.integers(-2**63, 2**63 - 1) | st.integers(-3, 20)),
                    (pa.bool_(), st.none() | st.booleans())]
    elif spec.type == "bool":
        choices += [(pa.bool_(), st.none() | st.booleans()), (pa.int64(), st.none() | st.integers(-1, 2))]
    elif spec.type == "date":
        choices += [(pa.date32(), st.none() | st.dates(dt.date(1, 1, 1))),
                    (pa.timestamp("us"), st.none() | st.datetimes(dt.datetime(1970, 1, 1),
                                                                  dt.datetime(2100, 1, 1))),
                    (pa.int64(), st.none() | st.integers(0, 30000))]
    elif spec.path == "id":
        choices += [(pa.int64(), st.none() | st.integers(0, 10**6))]
    else:
        choices += [(pa.int64(), st.none() | st.integers(0, 3)), (pa.float64(), st.none() | f)]
    return st.sampled_from(choices)


@st.composite
def text_tables(draw: st.DrawFn) -> dict[str, list[Any]]:
    n = draw(st.integers(1, 6))
    names = draw(st.lists(st.sampled_from([k for k in FIELDS if k != "id"]), max_size=12, unique=True))
    table: dict[str, list[Any]] = {"id": draw(st.lists(
        st.one_of(st.integers(0, 50).map(lambda i: f"A{i}"), st.none(), st.just(""),
                  st.sampled_from([" A1", "A1 ", "Ａ１", "A\u200b1", "A\t1", "  ", "\u00c5", "A\u030a", "客户 1"])),
        min_size=n, max_size=n))}
    for name in names:
        table[name] = draw(st.lists(_text(FIELDS[name]), min_size=n, max_size=n))
    return table


@st.composite
def typed_tables(draw: st.DrawFn) -> Any:
    n = draw(st.integers(1, 6))
    names = ["id", *draw(st.lists(st.sampled_from([k for k in FIELDS if k != "id"]), max_size=10, unique=True))]
    arrays = {}
    for name in names:
        typ, values = draw(_typed(FIELDS[name]))
        arrays[name] = pa.array(draw(st.lists(values, min_size=n, max_size=n)), type=typ)
    return pa.table(arrays)


# -- the reference -------------------------------------------------------------------------------------


def reference(row: dict[str, Any]) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """Account.model_validate + env_of on a flat row: blanks normalised, dotted keys nested; the id
    under the id rule of accountrules.batch.ids."""
    cells = {k: normalise_cell(k, v) for k, v in row.items()}
    data = unflatten({k: v for k, v in cells.items() if v is not None})
    try:
        acc = Account.model_validate(data)
    except ValidationError as e:
        problems = [(".".join(str(p) for p in err["loc"]), err["msg"]) for err in e.errors()]
        refused = normalise_id(data["id"])[1] if isinstance(data.get("id"), str) else None
        if refused is not None and not any(f == "id" for f, _ in problems):
            problems.insert(0, ("id", refused))
        return None, problems
    aid, problem = normalise_id(acc.id)
    if aid is None:
        return None, [("id", problem or "")]
    try:
        env = env_of(acc, POLICY.plan.extra_fields)
    except AccountValidationError as e:
        return None, list(e.problems)
    env["id"] = aid
    return env, []


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def check(table: Any) -> None:
    chunk = validate_table(table, POLICY.plan, 0)
    rows: list[dict[str, Any]] = table.to_pylist() if hasattr(table, "to_pylist") else [
        dict(zip(table, vals, strict=True)) for vals in zip(*table.values(), strict=True)]
    for j, row in enumerate(rows):
        env, problems = reference(row)
        err = chunk.errors.get(j)
        if env is None:
            assert err is not None, (row, problems)
            assert err.row == j + 1
            got = list(err.problems)
            assert [f for f, _ in got] == [f for f, _ in problems], (row, got, problems)
            for (_, message), (_, theirs) in zip(got, problems, strict=True):
                assert message.startswith(theirs), (message, theirs)  # ours may add "did you mean"
            assert err.field == (problems[0][0] if problems[0][0] != "(account)" else None)
        else:
            assert err is None, (row, err)
            built = chunk.env(j)
            assert built.keys() == env.keys()
            for k in env:
                assert _same(built[k], env[k]), (k, row.get(k), built[k], env[k])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text_tables())
def test_text_columns_validate_like_the_model(table: dict[str, list[Any]]) -> None:
    check(pa.table({k: pa.array(v, pa.string()) for k, v in table.items()}))


_NUMBER_FIELDS = [k for k, f in FIELDS.items() if f.type == "number" and not k.startswith("extra.")]
_number_text = st.text(alphabet=st.sampled_from(list("0123456789" * 3 + ".eE+-_ infatyINFATYxX")), min_size=1,
                       max_size=9)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_number_text_columns_validate_like_the_model(data: st.DataObject) -> None:
    """A number column whose every cell Arrow reads is cast in one pass (arrow_cells.fast_cast); whatever
    the spelling ("+5", ".5", "1e3", "007", "inf", "1e400", hex), each cell is read as the model reads it."""
    n = data.draw(st.integers(1, 4))
    names = data.draw(st.lists(st.sampled_from(_NUMBER_FIELDS), min_size=1, max_size=3, unique=True))
    table = {"id": [f"A{i}" for i in range(n)]}
    for name in names:
        table[name] = data.draw(st.lists(st.one_of(_number_text, st.sampled_from(_ODD_NUMBERS)), min_size=n,
                                         max_size=n))
    check(pa.table({k: pa.array(v, pa.string()) for k, v in table.items()}))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_tables())
def test_typed_columns_validate_like_the_model(table: Any) -> None:
    check(table)


@settings(max_examples=100, deadline=None)
@given(text_tables())
def test_python_object_columns_validate_like_the_model(table: dict[str, list[Any]]) -> None:
    check(table)  # {column: list} as a DataFrame with mixed object columns gives


def test_each_kind_of_bad_cell_names_its_row_and_field() -> None:
    table = pa.table({
        "id": ["A1", "A2", "A3", "A4", None, "A6", "A7"],
        "relationship.stage": ["stable", "stabel", None, None, None, None, None],
        "relationship.share_of_wallet": [None, None, "1.7", None, None, None, None],
        "transactions.last_order_date": [None, None, None, "2026-13-01", None, None, None],
        "transactions.revenue": [None, None, None, None, None, "12,5", None],
        "transactions.count": [None, None, None, None, None, None, "2.5"],
    })
    chunk = validate_table(table, POLICY.plan, 10)
    got = {j: (e.row, e.field) for j, e in chunk.errors.items()}
    assert got == {
        1: (12, "relationship.stage"),
        2: (13, "relationship.share_of_wallet"),
        3: (14, "transactions.last_order_date"),
        4: (15, "id"),
        5: (16, "transactions.revenue"),
        6: (17, "transactions.count"),
    }
    assert "did you mean 'stable'" in chunk.errors[1].message
    assert chunk.errors[4].account_id is None and chunk.errors[1].account_id == "A2"
    assert 0 not in chunk.errors


def test_blank_is_unknown_never_zero() -> None:
    chunk = validate_table(pa.table({"id": ["A"], "transactions.revenue": pa.array([""], pa.string()),
                                     "credit.overdue_payments": pa.array([float("nan")])}), POLICY.plan, 0)
    env = chunk.env(0)
    assert env["transactions.revenue"] is None and env["credit.overdue_payments"] is None
    assert env["contacts.count"] == 0 and env["extra.n"] is None


# -- integer text read whole (arrow_cells._digits_only) ------------------------------------------------

_INT_FIELDS = [k for k, f in FIELDS.items() if f.type == "number" and f.integer]
_digit_cell = st.one_of(st.none(), st.text(alphabet="0123456789", min_size=1, max_size=20),
                        st.sampled_from(["", "0", "007", "123456789012345678", "1234567890123456789", "-1", "+1",
                                         "0x10"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_integer_text_read_whole_as_the_regex_reads_it(data: st.DataObject) -> None:
    """A column of digits alone is cast in one pass, with no regex per cell: the column, its refused
    cells and their messages are those of the regex path, and each row is the model's."""
    from accountrules.batch import arrow_cells
    from accountrules.batch.validate import _column

    n = data.draw(st.integers(1, 6))
    name = data.draw(st.sampled_from(_INT_FIELDS))
    cells = data.draw(st.lists(_digit_cell, min_size=n, max_size=n))
    lead = data.draw(st.integers(0, 2))  # a slice: the column's text starts past its first cells
    arr = pa.array(["x"] * lead + cells, pa.string()).slice(lead)
    got = _column(name, FIELDS[name], arr, None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arrow_cells, "_digits_only", lambda *_: False)
        regex = _column(name, FIELDS[name], arr, None)
    assert type(got[0]) is type(regex[0]) and got[1:] == regex[1:]
    # a whole number past int64 keeps the column as Python values
    assert got[0] == regex[0] if isinstance(got[0], list) else got[0].equals(regex[0])
    check(pa.table({"id": [f"A{i}" for i in range(n)], name: arr}))


def test_text_hidden_behind_a_null_is_not_read() -> None:
    from accountrules.batch.validate import _column

    text = b"12x34"  # cells "12", null over "x", "34"
    offsets = pa.array([0, 2, 3, 5], pa.int32()).buffers()[1]
    validity = pa.array([True, False, True]).buffers()[1]
    arr = pa.StringArray.from_buffers(3, offsets, pa.py_buffer(text), validity)
    got, bad, blank = _column("transactions.count", FIELDS["transactions.count"], arr, None)
    assert got.to_pylist() == [12, None, 34] and bad == {} and blank == 1
    digits_behind = pa.StringArray.from_buffers(3, offsets, pa.py_buffer(b"12934"), validity)
    got, bad, blank = _column("transactions.count", FIELDS["transactions.count"], digits_behind, None)
    assert got.to_pylist() == [12, None, 34] and bad == {} and blank == 1


# -- date text read whole (arrow_cells._dates_only) ----------------------------------------------------

_DATE_FIELDS = [k for k, f in FIELDS.items() if f.type == "date" and not k.startswith("extra.")]
_date_cell = st.one_of(st.none(), st.dates(dt.date(1, 1, 1)).map(dt.date.isoformat), st.sampled_from(
    ["0000-01-01", "2026-13-01", "2024-02-30", "2023-02-29", "2024-1-05", "2024-01-5", "2024/01/05", "20240105",
     "2024-01-05 ", "12345-01-01", "2024-01-0a", "2024--01-05", "-2024-01-0"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_date_text_read_whole_as_the_regex_reads_it(data: st.DataObject) -> None:
    """A column of ISO dates alone skips the regex per cell: the column, its refused cells and their
    messages are those of the regex path, and each row is the model's."""
    from accountrules.batch import arrow_cells
    from accountrules.batch.validate import _column

    n = data.draw(st.integers(1, 6))
    name = data.draw(st.sampled_from(_DATE_FIELDS))
    cells = data.draw(st.lists(_date_cell, min_size=n, max_size=n))
    lead = data.draw(st.integers(0, 2))
    arr = pa.array(["2024-01-01x"] * lead + cells, pa.string()).slice(lead)
    got = _column(name, FIELDS[name], arr, None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(arrow_cells, "_dates_only", lambda *_: False)
        regex = _column(name, FIELDS[name], arr, None)
    assert got[0].equals(regex[0]) and got[1:] == regex[1:]
    check(pa.table({"id": [f"A{i}" for i in range(n)], name: arr}))


def test_date_text_behind_a_null_sends_the_column_to_the_regex() -> None:
    from accountrules.batch import arrow_cells

    validity = pa.array([True, False, True]).buffers()[1]
    offsets = pa.array([0, 10, 20, 30], pa.int32()).buffers()[1]
    text = b"2024-01-05" + b"2024-01-06" + b"2024-01-07"
    arr = pa.StringArray.from_buffers(3, offsets, pa.py_buffer(text), validity)
    assert not arrow_cells._dates_only(arrow_cells.pc(), arr)  # 30 bytes for 2 cells
    vals, ok = arrow_cells.fast_cast(arr, FIELDS["relationship.last_executive_visit"]) or (None, None)
    assert vals.to_pylist() == [dt.date(2024, 1, 5), None, dt.date(2024, 1, 7)]
    tight = pa.array(["2024-01-05", None, "2024-01-07"], pa.string())
    assert arrow_cells._dates_only(arrow_cells.pc(), tight)
