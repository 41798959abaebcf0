"""accountrules.io: format detection, the flat output schema, chunked readers and writers."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.batch import decide_batch
from accountrules.batch.result import decision_outputs
from accountrules.cli.decide import errors_path
from accountrules.io import schema
from accountrules.io.formats import BATCH_INPUT, ORDER_LOG, OUTPUT, SUFFIXES
from accountrules.io.readers import RawChunk, iter_csv, iter_jsonl, json_object
from accountrules.io.writers import PLAIN, SPREADSHEET, CsvTableWriter, JsonlWriter, ParquetTableWriter, neutralise
from accountrules.model.decision import Decision
from accountrules.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS_CSV = ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"
AS_OF = dt.date(2026, 6, 30)
POLICIES = ["examples/small", "rulesets/express", "rulesets/postal"]


@pytest.fixture(scope="module")
def small() -> Policy:
    return load_policy(ROOT / "examples" / "small")


@pytest.fixture(scope="module", params=POLICIES)
def policy(request: pytest.FixtureRequest) -> Policy:
    return load_policy(ROOT / request.param)


# -- formats ------------------------------------------------------------------------------------------

_stems = st.text(st.characters(whitelist_categories=("L", "N"), whitelist_characters="_-."), min_size=1,
                 max_size=12).filter(lambda s: not s.startswith("."))


@given(stem=_stems, suffix=st.sampled_from(sorted(SUFFIXES)), upper=st.booleans(),
       packed=st.sampled_from(["", ".gz", ".bz2", ".zst", ".lz4"]))
def test_a_suffix_names_one_format_for_every_reader_and_writer(stem: str, suffix: str, upper: bool,
                                                               packed: str) -> None:
    name = stem + (suffix.upper() if upper else suffix) + packed
    fmt = SUFFIXES[suffix]
    # order logs: every suffix, any compression looked through
    assert ORDER_LOG.of(name) == fmt
    assert ORDER_LOG.split(name)[0] == stem
    # batch inputs: no whitespace text, no .json; only text formats gzipped
    batch_ok = fmt in BATCH_INPUT.names and suffix != ".json" and packed in ("", ".gz") \
        and (not packed or fmt != "parquet")
    assert BATCH_INPUT.of(name) == (fmt if batch_ok else None)
    # outputs: never compressed
    out_ok = not packed and suffix in OUTPUT.suffixes
    assert OUTPUT.of(name) == (fmt if out_ok else None)
    if out_ok:
        assert errors_path(Path("out") / name) == Path("out") / f"{stem}.errors.csv"


def test_an_explicit_format_wins_and_is_checked() -> None:
    assert ORDER_LOG.of("orders.xlsx") is None
    assert ORDER_LOG.of("orders.xlsx", "csv") == "csv"
    with pytest.raises(ValueError, match="format must be one of csv, jsonl, parquet, not 'xlsx'"):
        OUTPUT.of("a.csv", "xlsx")
    assert BATCH_INPUT.last_suffix("a.parquet.gz") == ".gz"  # parquet is never gzipped: the message says .gz
    assert BATCH_INPUT.last_suffix("a.CSV.GZ") == ".csv.gz"


# -- the flat output schema ---------------------------------------------------------------------------


def test_the_schema_is_what_decisions_and_results_give(policy: Policy) -> None:
    plan = policy.plan
    cols = schema.output_columns(plan)
    assert cols[:3] == ["row", "account_id", "as_of"] == list(schema.HEAD_COLUMNS) and cols[-1] == schema.ACTIONS
    assert len(set(cols)) == len(cols)
    result = policy.decide_many(ROOT / "examples" / "small" / "accounts.jsonl", as_of=AS_OF)
    d = next(it for it in result if isinstance(it, Decision))
    assert list(decision_outputs(plan, d)) == schema.value_columns(plan) == cols[3:]
    assert list(result.columns()) == cols
    assert list(result.columns(errors=True)) == cols + list(schema.ERROR_COLUMNS)
    table = result.to_arrow(errors=True)
    assert table.schema == schema.arrow_schema(cols + list(schema.ERROR_COLUMNS))
    # a columnar evaluator returns every decision column whatever the sections
    assert set(schema.value_columns(plan)) <= set(schema.evaluator_columns(policy))
    with_metrics = schema.evaluator_columns(plan, metrics=True)
    base = schema.evaluator_columns(plan)  # the score metrics are flat columns: there without asking
    assert with_metrics == base + [f"metric.{m.name}" for m in plan.metrics if f"metric.{m.name}" not in base]
    assert {f"metric.{m.name}" for m in plan.metrics} <= set(with_metrics)


@given(st.one_of(st.none(), st.text(max_size=5), st.integers(), st.floats(allow_nan=False),
                 st.lists(st.text(alphabet="abc", min_size=1, max_size=3), max_size=3).map(tuple),
                 st.dates()))
def test_a_csv_cell_is_blank_joined_or_iso(value: Any) -> None:
    cell = schema.csv_cell(value)
    if value is None:
        assert cell == ""
    elif isinstance(value, tuple):
        assert cell.split(";") == list(value) if value else cell == ""
    elif isinstance(value, dt.date):
        assert dt.date.fromisoformat(cell) == value
    else:
        assert cell is value


# -- writers ------------------------------------------------------------------------------------------

_cells = st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8),
                   st.integers(-10**6, 10**6))


@settings(max_examples=50)
@given(rows=st.lists(st.tuples(_cells, _cells), max_size=20), style=st.sampled_from([SPREADSHEET, PLAIN]),
       split=st.integers(0, 20), formulas=st.booleans())
def test_csv_written_in_chunks_reads_back(tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[Any, Any]],
                                          style: Any, split: int, formulas: bool) -> None:
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    with CsvTableWriter(path, ["a", "b"], style, formulas=formulas) as w:
        w.write_rows(rows[:split])
        w.write_columns([[r[0] for r in rows[split:]], [r[1] for r in rows[split:]]])
    assert w.rows == len(rows)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == (style is SPREADSHEET)
    with path.open(encoding=style.encoding, newline="") as f:
        back = list(csv.reader(f, lineterminator=style.line_end))
    assert back[0] == ["a", "b"]
    shown = (lambda c: c) if formulas else neutralise  # OWASP: a formula-like text cell gets a leading '
    assert back[1:] == [[str(shown(schema.csv_cell(v))) for v in r] for r in rows]


@pytest.mark.parametrize("cell", ["=1+2", "+86", "-3", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    assert neutralise(-3) == -3 and neutralise("a=b") == "a=b" and neutralise("") == ""


def test_jsonl_writer_keeps_text_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with JsonlWriter(path) as w:
        w.write_object({"id": "华东", "day": dt.date(2024, 2, 29), "n": None})
        w.write_line('{"id": "B"}')
    lines = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == {"id": "华东", "day": "2024-02-29", "n": None} and "华东" in lines[0]
    assert w.rows == 2 and json.loads(lines[1]) == {"id": "B"}


def test_parquet_writer_appends_chunks_of_one_schema(tmp_path: Path) -> None:
    pq: Any = pytest.importorskip("pyarrow.parquet")
    names = ["row", "account_id", "churn_score", "actions"]
    path = tmp_path / "a.parquet"
    with ParquetTableWriter(path, schema.arrow_schema(names)) as w:
        for start in (1, 3):
            w.write_arrow(schema.arrow_table({"row": [start, start + 1], "account_id": ["A", None],
                                              "churn_score": [0.5, None], "actions": [("x", "y"), ()]}))
    table = pq.read_table(path)
    assert w.rows == 4 and table.schema == schema.arrow_schema(names)
    assert table.column("row").to_pylist() == [1, 2, 3, 4]
    assert table.column("actions").to_pylist() == [["x", "y"], [], ["x", "y"], []]


# -- readers: a line that cannot be read keeps its place ----------------------------------------------

_lines = st.lists(st.sampled_from(['{"id": "A"}', "[1, 2]", "{broken", "", '"text"', '{"id": "B", "x": 1}']),
                  max_size=30)


@settings(max_examples=60)
@given(lines=_lines, chunk_rows=st.integers(1, 7))
def test_jsonl_chunks_keep_every_line_in_place(tmp_path_factory: pytest.TempPathFactory, lines: list[str],
                                               chunk_rows: int) -> None:
    path = tmp_path_factory.mktemp("jsonl") / "a.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    chunks = list(iter_jsonl(path, chunk_rows))
    assert all(c.kind == "rows" and 0 < c.n <= chunk_rows and len(c.data) == c.n for c in chunks)
    rows: list[Any] = []
    bad: dict[int, str] = {}
    for c in chunks:
        bad.update({len(rows) + j: m for j, m in c.unreadable.items()})
        rows.extend(c.data)
    kept = [ln for ln in lines if ln.strip()]
    assert len(rows) == len(kept)
    for i, line in enumerate(kept):
        obj, problem = json_object(line)
        assert rows[i] == obj and bad.get(i) == problem


def test_ragged_csv_rows_become_row_errors_in_place(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "a.csv"
    body = ["id,name", "A,x", "B", "C,z", "D,w,extra", "E,v"]
    path.write_text("\n".join(body) + "\n", encoding="utf-8")
    chunks: list[RawChunk] = list(iter_csv(path, ["id", "name"], 2))
    ids: list[Any] = []
    bad: dict[int, str] = {}
    for c in chunks:
        col = c.data["id"] if isinstance(c.data, dict) else c.data.column("id")
        bad.update({len(ids) + j: m for j, m in c.unreadable.items()})
        ids.extend(col.to_pylist())
    assert ids == ["A", None, "C", None, "E"]
    assert bad == {1: "expected 2 cells, found 1", 3: "expected 2 cells, found 3"}


def test_decide_many_names_unreadable_rows_by_their_number(policy: Policy, tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "A"}\n\n{nope\n[]\n{"id": "B"}\n', encoding="utf-8")
    res = policy.decide_many(path, as_of=AS_OF)
    assert len(res) == 4
    assert [e.row for e in res.errors][:2] == [2, 3]
    assert "not a JSON object" in res.errors[0].message and "got list" in res.errors[1].message


# -- order logs through the same CSV reader -----------------------------------------------------------


@pytest.mark.parametrize("packed", ["", ".gz", ".bz2"])
def test_an_order_log_reads_the_same_compressed_or_not(tmp_path: Path, packed: str) -> None:
    import bz2
    import gzip

    from accountrules.errors import AccountValidationError
    from accountrules.features import ColumnMap, derive_features

    def pack(text: str) -> bytes:
        data = text.encode("utf-8")
        return gzip.compress(data) if packed == ".gz" else bz2.compress(data) if packed else data

    text = "\ufeffacct,day,value\n007,2024-01-02,5.5\n\n008,2024-03-01,\n007,2024-03-04,1\n"
    path = tmp_path / f"orders.csv{packed}"
    path.write_bytes(pack(text))
    cols = ColumnMap(account_id="acct", date="day", amount="value")

    with pytest.raises(AccountValidationError, match=r"row 2, account '008'.*value: missing value"):
        derive_features(path, as_of=dt.date(2024, 6, 30), columns=cols)
    fixed = text.replace("2024-03-01,", "2024-03-01,2")
    path.write_bytes(pack(fixed))
    got = derive_features(path, as_of=dt.date(2024, 6, 30), columns=cols)
    assert got.column("id").to_pylist() == ["007", "008"]  # zero-padded ids stay text
    assert got.column("transactions.count").to_pylist() == [2, 1]


def test_a_ragged_order_log_row_is_named(tmp_path: Path) -> None:
    from accountrules.errors import AccountValidationError
    from accountrules.features import ColumnMap, derive_features

    path = tmp_path / "orders.csv"
    path.write_text("acct,day,value\nA,2024-01-02,5\nB,2024-01-03\n", encoding="utf-8")
    with pytest.raises(AccountValidationError, match=r"row 2: .*orders.csv: expected 3 cells, found 2"):
        derive_features(path, as_of=dt.date(2024, 6, 30), columns=ColumnMap(account_id="acct", date="day",
                                                                              amount="value"))


_csv_rows = st.lists(st.one_of(
    st.tuples(st.just("ok"), st.integers(-5, 5)),
    st.tuples(st.just("short"), st.just(0)),
    st.tuples(st.just("long"), st.just(0)),
    st.tuples(st.just("blank"), st.just(0)),
), max_size=25)


@settings(max_examples=25, deadline=None)
@given(rows=_csv_rows, chunk_rows=st.integers(1, 6))
def test_every_csv_row_ends_in_one_decision_or_one_error(small: Policy, tmp_path_factory: pytest.TempPathFactory,
                                                         rows: list[tuple[str, int]], chunk_rows: int) -> None:
    pytest.importorskip("pyarrow")
    lines = ["id,transactions.annual_profit,transactions.marketing_cost"]
    expected: list[str | None] = []  # per data row: None = decided, else the error message
    for i, (kind, profit) in enumerate(rows):
        if kind == "blank":
            lines.append("")
            continue
        aid = f"A{i}"
        if kind == "ok":
            lines.append(f"{aid},{profit},1")
            expected.append(None)
        elif kind == "short":
            lines.append(aid)
            expected.append("expected 3 cells, found 1")
        else:
            lines.append(f"{aid},1,1,9")
            expected.append("expected 3 cells, found 4")
    path = tmp_path_factory.mktemp("csv") / "accounts.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = decide_batch(small, path, as_of=AS_OF, chunk_rows=chunk_rows)
    assert len(res) == len(expected)
    errors = {e.row: e.message for e in res.errors}
    assert errors == {i + 1: m for i, m in enumerate(expected) if m is not None}
