"""The flat result of a batch is the same whichever evaluator decided it: the vector evaluator's Arrow
columns (actions as a dictionary of fired-rule sets) give the table, lists, counts and input columns
the per-account evaluator's Python lists give, refused rows and duplicate ids included."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.batch.engine import decide_batch
from accountrules.io import schema
from accountrules.policy import Policy, load_policy

pa = pytest.importorskip("pyarrow")
pytest.importorskip("numpy")

from accountrules.batch.flat import arrow_counts  # noqa: E402  (needs pyarrow)

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def express() -> Policy:
    return load_policy(ROOT / "rulesets" / "express")


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with bad rows, plus a row repeating an earlier id (refused as a duplicate)."""
    src = ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"
    with src.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    rows.append(dict(rows[5]))
    path = tmp_path_factory.mktemp("flat") / "accounts.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_vector_and_compiled_give_one_flat_result(express: Policy, accounts: Path) -> None:
    # small chunks: several parts, refused rows in some of them
    vec = decide_batch(express, str(accounts), as_of=AS_OF, engine="vector", chunk_rows=64)
    rows = decide_batch(express, str(accounts), as_of=AS_OF, engine="compiled", chunk_rows=64)
    assert 0 < vec.error_count == rows.error_count
    assert any("duplicate account id" in e.message for e in vec.errors)
    names = schema.output_columns(express.plan)
    assert any(n.startswith("metric.") for n in names)  # the score metrics are flat columns
    for errors in (False, True):
        table = vec.to_arrow(errors=errors)
        assert table.schema == schema.arrow_schema(names + (list(schema.ERROR_COLUMNS) if errors else []))
        assert table.equals(rows.to_arrow(errors=errors))
        assert vec.columns(errors=errors) == rows.columns(errors=errors)
    assert vec.summary() == rows.summary()
    assert vec.unknown_counts() == rows.unknown_counts()
    assert vec.unknown_counts()  # the example leaves cells blank
    held = vec.input_columns(["transactions.annual_revenue", "relationship.level", "not.a.field"])
    assert held is not None and set(held) == {"transactions.annual_revenue", "relationship.level"}
    assert all(len(col) == len(vec) for col in held.values())
    # one Decision read back from the Arrow record equals the per-account evaluator's
    for i in (0, 7, len(vec) - 2):
        assert vec[i] == rows[i]


def test_unknown_counts_are_the_blank_cells_of_the_file(express: Policy, accounts: Path) -> None:
    with accounts.open(encoding="utf-8-sig", newline="") as f:
        blank = Counter(k for r in csv.DictReader(f) for k, v in r.items() if v == "" and k != "id")
    got = decide_batch(express, str(accounts), as_of=AS_OF, chunk_rows=50).unknown_counts()
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in blank.items() if k in got}


_SETS = st.lists(st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=4), min_size=1, max_size=6)


@settings(deadline=None)
@given(sets=_SETS, picks=st.lists(st.integers(0, 5), max_size=60), keep=st.lists(st.booleans(), max_size=60))
def test_counting_a_dictionary_of_sets_counts_each_element(sets: list[list[str]], picks: list[int],
                                                           keep: list[bool]) -> None:
    idx = [p % len(sets) for p in picks]
    mask = [keep[i] if i < len(keep) else True for i in range(len(idx))]
    col = pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32()), pa.array(sets, pa.list_(pa.string())))
    want = Counter(v for i, k in zip(idx, mask, strict=True) if k for v in sets[i])
    assert arrow_counts(col, pa.array(mask, pa.bool_())) == want
    assert arrow_counts(col.dictionary_decode(), pa.array(mask, pa.bool_())) == want
