"""Build a :class:`~accountrules.report.figures.Frame` from a batch result or a decisions file.

The input fields the figures need (revenue, profit, relationship level) are read from the
accounts file once more as Arrow columns; the RFM scores are the policy's own ``r_score`` and
``f_score`` metrics, computed by the vector evaluator against the batch's portfolio statistics.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accountrules.batch.columns import check_columns
from accountrules.i18n import N_, Message
from accountrules.io.columns import ColumnMapping, is_ignored
from accountrules.io.formats import BATCH_INPUT, OUTPUT
from accountrules.io.optional import pyarrow
from accountrules.io.readers import arrow_encoding, csv_header, is_blank_line
from accountrules.io.schema import AS_OF
from accountrules.io.text import TableInputError, check_not_utf8_bom, not_utf8, open_text
from accountrules.model.decision import Decision
from accountrules.model.explain import render_each
from accountrules.model.fields import FIELDS
from accountrules.report import aggregate as agg
from accountrules.report.decided_on import decided_on
from accountrules.report.figures import LEVEL, PROFIT, REVENUE, Frame

if TYPE_CHECKING:
    from accountrules.batch.result import BatchResult
    from accountrules.policy import Policy

log = logging.getLogger(__name__)

RFM_METRICS = ("r_score", "f_score")


def read_table(path: str | Path, typed: Iterable[str] | None = None, columns: ColumnMapping | None = None, *,
               multiline: bool = False) -> Any:
    """A CSV, JSONL or Parquet file as a pyarrow Table with field-path columns (empty cells are null).

    ``typed``: when given, only these CSV columns get their types inferred; the others are read
    as text. The report reads every column only for how often it is missing, and inferring the
    type of every column (dates, numbers) is most of the reading time. ``columns`` renames an
    export's columns to field paths and gives a CSV's encoding. ``multiline``: quoted CSV values may
    hold line breaks (the explanations ``decide --explain`` writes; slower to parse).
    """
    table = _read_checked(path, typed, columns, multiline)
    if columns is not None and columns.rename:
        table = table.rename_columns([columns.rename.get(n, n) for n in table.column_names])
    return table


def read_accounts(path: str | Path, policy: Policy | None, columns: ColumnMapping | None,
                  typed: Iterable[str] | None = None) -> Any:
    """An accounts file as :func:`read_table` reads it, its columns checked as ``decide_many`` checks
    them (a column that is no field refused, or left out with ``unknown='ignore'``; ``id`` required)."""
    if policy is None:
        return read_table(path, typed, columns)
    table = _read_checked(path, typed, columns)
    names = check_columns(table.column_names, policy.plan, str(path), columns)
    keep = [i for i, n in enumerate(names) if not is_ignored(n)]
    return table.select(keep).rename_columns([names[i] for i in keep])


def _read_checked(path: str | Path, typed: Iterable[str] | None, columns: ColumnMapping | None,
                  multiline: bool = False) -> Any:
    """:func:`_read_table`, its failures as one :class:`~accountrules.io.readers.TableInputError` naming the
    file: not a format we read, not in its encoding (GBK: says so), not parseable."""
    p = Path(path)
    if BATCH_INPUT.of(p) is None:
        raise TableInputError(Message(N_("cannot tell the format from the suffix {path!r}: use .csv, "
                                         ".jsonl/.ndjson or .parquet/.pq"), path=BATCH_INPUT.last_suffix(p)),
                              source=str(p))
    if columns is not None and BATCH_INPUT.of(p) != "parquet":
        check_not_utf8_bom(p, columns.python_encoding)  # as decide refuses it: a garbled first column otherwise
    try:
        table = _read_table(p, typed, columns, multiline)
        table.column_names  # noqa: B018  # pyarrow decodes the header's names only when asked
    except UnicodeDecodeError as e:
        raise not_utf8(p, columns.python_encoding if columns is not None else "utf-8", e) from None
    except pyarrow("the report").ArrowException as e:  # ArrowInvalid: a CSV it cannot split, not Parquet...
        if "utf8" in str(e).lower():
            raise not_utf8(p, "utf-8", UnicodeDecodeError("utf-8", b"", 0, 1, str(e))) from None
        raise TableInputError(Message(N_("cannot read the file ({e})"), e=str(e).splitlines()[0]),
                              source=str(p)) from None
    pa = pyarrow("the report")
    if BATCH_INPUT.of(p) != "parquet" and any(pa.types.is_binary(f.type) for f in table.schema):
        # a text column pyarrow could not read as UTF-8 (it keeps the bytes): the file is in another encoding
        raise not_utf8(p, columns.python_encoding if columns is not None else "utf-8",
                       UnicodeDecodeError("utf-8", b"", 0, 1, "invalid UTF-8 text")) from None
    return table


def require_columns(table: Any, path: str | Path, names: Iterable[str]) -> None:
    """Refuse a decisions file without the columns ``decide`` writes, naming the first one missing."""
    for name in names:
        if name not in table.column_names:
            raise TableInputError(Message(N_("not a decisions file written by decide: it has no {column!r} column"),
                                          column=name), source=str(path))


def _read_table(path: str | Path, typed: Iterable[str] | None, columns: ColumnMapping | None,
                multiline: bool = False) -> Any:
    pa = pyarrow("the report")  # says which extra to install when pyarrow is missing
    fmt = BATCH_INPUT.of(Path(path))  # by the names decide takes: .pq, .ndjson, .jsonl.gz too
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path)
    encoding = columns.python_encoding if columns is not None else "utf-8-sig"
    if fmt == "jsonl":
        import pyarrow.json as pj

        # decoded here, in its encoding as decide decodes it: Arrow's reader takes UTF-8 only and keeps
        # invalid bytes in its strings (a GBK file failed later, far from the file)
        with open_text(Path(path), encoding=encoding) as f:
            text = f.read()
        return pj.read_json(pa.py_buffer(text.encode("utf-8"))).flatten()
    import pyarrow.csv as pc

    # the header as decide reads it: below any blank lines, a .csv.gz decompressed
    header, lines = csv_header(Path(path), encoding)
    types: dict[str, Any] = {}
    if typed is not None and header is not None:
        keep = {"id", *typed}
        rename = columns.rename if columns is not None else {}
        types = {name: pa.string() for name in header if rename.get(name, name) not in keep}
    read = pc.ReadOptions(encoding=arrow_encoding(encoding)) if header is None else \
        pc.ReadOptions(encoding=arrow_encoding(encoding), skip_rows=lines, column_names=header)
    # a blank line (spaces, tabs) is skipped as decide skips it; any other ragged row fails the read
    parse = pc.ParseOptions(newlines_in_values=multiline,
                            invalid_row_handler=lambda row: "skip" if is_blank_line(row.text) else "error")
    return pc.read_csv(path, read_options=read, parse_options=parse,
                       convert_options=pc.ConvertOptions(strings_can_be_null=True, column_types=types))


def _unknown(table: Any, keys: Iterable[str]) -> dict[str, int]:
    return {k: table.column(k).null_count for k in keys if k in table.column_names and k != "id"}


def _metric_fields(policy: Policy, names: Iterable[str]) -> set[str]:
    """The input fields metrics ``names`` read, through the metrics they read."""
    from accountrules.parse.expr_ast import Ref, walk

    exprs = {m.name: m.expr for m in policy.spec.metrics}
    todo, seen, fields = list(names), set(), {"id"}
    while todo:
        name = todo.pop()
        if name in seen or name not in exprs:
            continue
        seen.add(name)
        for node in walk(exprs[name]):
            if isinstance(node, Ref) and node.kind == "field":
                fields.add(node.key)
            elif isinstance(node, Ref) and node.kind == "metric":
                todo.append(node.key)
    return fields


def _rfm_of(policy: Policy, table: Any, stats: Any, as_of: dt.date) -> dict[str, Any]:
    """The policy's own R and F scores per row of ``table`` (the fields they read), against the
    batch's portfolio statistics."""
    names = {m.name for m in policy.spec.metrics}
    if not set(RFM_METRICS) <= names:
        return {}
    try:
        from accountrules.evaluate.vector import ColumnBatch, decide_columns
    except ImportError:
        log.info("numpy is not installed: the RFM grid is left out")
        return {}
    out = decide_columns(policy, ColumnBatch.from_arrow(_as_numbers(table)), as_of=as_of, stats=stats, metrics=True)
    return {f"metric.{m}": out[f"metric.{m}"] for m in RFM_METRICS}


def _as_numbers(table: Any) -> Any:
    """Number fields read as text (a CSV where a refused row held a word) cast back to numbers: the
    rows kept are the decided ones, whose cells parsed."""
    pa = pyarrow("the report")
    import pyarrow.compute as pc

    for i, name in enumerate(table.column_names):
        spec = FIELDS.get(name)
        if spec is not None and spec.type == "number" and pa.types.is_string(table.column(i).type):
            table = table.set_column(i, name, pc.cast(table.column(i), pa.float64()))
    return table


def _input_columns(table: Any, rows: list[int]) -> dict[str, Any]:
    """The input fields the figures read, as Arrow columns of the decided rows (never Python lists:
    the figures aggregate them in Arrow)."""
    out: dict[str, Any] = {}
    whole = rows == list(range(table.num_rows))
    for key in (REVENUE, PROFIT, LEVEL):
        if key in table.column_names:
            col = table.column(key)
            out[key] = col if whole else col.take(rows)
    return out


def frame_from_result(result: BatchResult, accounts: str | Path | None = None, *,
                      today: dt.date | None = None, columns: ColumnMapping | None = None) -> Frame:
    """The frame of a decided batch, from its Arrow columns. The input fields the figures read
    (revenue, profit, relationship level) and the unknown-field counts come from the batch's own
    validated input; ``accounts`` (the file it was decided from) is read only for a batch that
    does not hold its input (decided from Decisions)."""
    import pyarrow.compute as pc

    table = result.to_arrow(errors=True)
    message = table.column("error")
    errors: list[tuple[str, str]] = []
    if message.null_count < len(message):
        bad = table.filter(pc.is_valid(message))
        errors = [(f or "", m) for f, m in zip(bad.column("error_field").to_pylist(),
                                               bad.column("error").to_pylist(), strict=True)]
        table = table.filter(pc.is_null(message))
    table = table.drop_columns(["error", "error_field", AS_OF])  # the frame's date is the batch's own
    flat = {k: agg.array(table.column(k)) for k in table.column_names}
    frame = Frame(flat, as_of=result.as_of, today=today or result.as_of, errors=errors)
    keep = None if len(flat["row"]) == len(result) else pc.subtract(flat["row"], 1)
    rfm_fields = _metric_fields(result.policy, RFM_METRICS)
    held = result.input_columns([REVENUE, PROFIT, LEVEL, *sorted(rfm_fields)])
    source: Any = None  # the input fields of every row of the batch, as one Arrow table
    if held is not None:
        source = pyarrow("the report").table(held)
        frame.unknown = result.unknown_counts()
    elif accounts is not None:
        source = read_accounts(accounts, result.policy, columns, _typed(result.policy))
        frame.unknown = _unknown(source, source.column_names)
    if source is not None:
        decided = source if keep is None else source.take(keep)
        frame.inputs = {k: decided.column(k) for k in (REVENUE, PROFIT, LEVEL) if k in decided.column_names}
        if not all(f"metric.{m}" in flat for m in RFM_METRICS):
            keys = [k for k in decided.column_names if k in rfm_fields]
            frame.inputs.update(_rfm_of(result.policy, decided.select(keys), result.stats, result.as_of))
    # the batch's own metric columns, when the flat output carries them
    frame.inputs.update({f"metric.{m}": flat[f"metric.{m}"] for m in RFM_METRICS if f"metric.{m}" in flat})
    frame.explainer = _explainer(result, flat["row"])
    return frame


def _typed(policy: Policy | None) -> set[str]:
    """The input columns the figures read values from (the rest are only counted when missing)."""
    names = {REVENUE, PROFIT, LEVEL}
    if policy is not None:
        names |= _metric_fields(policy, RFM_METRICS)
    return names


def _explainer(result: BatchResult, rows: Any) -> Callable[[int], dict[str, str]]:
    """Explanations on demand, by position in the frame: only the accounts a page lists are explained
    (each builds its Decision from the batch's record)."""

    def explain(i: int) -> dict[str, str]:
        d = result[rows[i].as_py() - 1]
        if not isinstance(d, Decision):
            return {}
        en, zh = render_each(d, ("en", "zh"))  # d.explain of each, sharing what is not language
        return {"en": en, "zh": zh}

    return explain


def _split_actions(v: Any) -> list[str]:
    if v is None or v == "":
        return []
    if isinstance(v, list | tuple):
        return list(v)
    return [a for a in str(v).split(";") if a]


def _action_lists(col: Any, n: int) -> Any:
    """The ``actions`` column of a decisions file as list<string>: a CSV cell joins codes with ``;``."""
    pa = pyarrow("the report")
    import pyarrow.compute as pc

    lists = pa.list_(pa.string())
    if col is None:
        return pa.array([[]] * n, lists)
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        return col.cast(lists)
    text = pc.cast(col, pa.string())
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    split = pc.split_pattern(text, ";")
    if pc.any(pc.equal(pc.list_flatten(split), "")).as_py():  # a stray ";": the exact rule, cell by cell
        return pa.array([_split_actions(v) for v in col.to_pylist()], lists)
    return split


def frame_from_decisions(path: str | Path, *, as_of: dt.date | None = None, today: dt.date | None = None,
                         errors: str | Path | None = None, accounts: str | Path | None = None,
                         policy: Policy | None = None, columns: ColumnMapping | None = None) -> Frame:
    """The frame of a decisions file written by ``accountrules decide`` (CSV or Parquet), with its
    errors file when there is one. The date it was decided on is its ``as_of`` column's; ``as_of``, when
    given, must be that date, and is the date of a file without the column (else today: see
    :mod:`accountrules.report.decided_on`). ``accounts`` (the file it was decided from) adds amounts;
    it is read with ``columns`` as ``decide`` read it, its columns checked against ``policy`` when given."""
    pa = pyarrow("the report")
    import pyarrow.compute as pc

    if BATCH_INPUT.of(Path(path)) == "jsonl":  # whole Decisions, one a line: not the flat columns drawn here
        raise TableInputError(Message(N_("a JSONL decisions file holds whole decisions, which the report does not "
                                         "read: write the decisions as CSV or Parquet (decide -o decisions.csv)")),
                              source=str(path))
    table = read_table(path, multiline=True)
    if "actions" not in table.column_names and {"field", "message"} <= set(table.column_names):
        # the file decide writes beside the decisions, given in their place: it would draw a page of nothing
        raise TableInputError(Message(N_("this is an errors file written by decide (row, account_id, field, "
                                         "message), not a decisions file: give the decisions file (decide -o FILE)")),
                              source=str(path))
    require_columns(table, path, ("account_id",))
    day = decided_on(table, path, as_of) or dt.date.today()
    cols: dict[str, Any] = {k: agg.array(table.column(k)) for k in table.column_names if k != AS_OF}
    if not pa.types.is_string(cols["account_id"].type):
        cols["account_id"] = pc.cast(cols["account_id"], pa.string())
    cols["actions"] = _action_lists(cols.get("actions"), table.num_rows)
    if "churn_score" in cols:
        cols["churn_score"] = pc.cast(cols["churn_score"], pa.float64())
    if "row" not in cols:
        cols["row"] = pa.array(range(1, table.num_rows + 1), pa.int64())
    has_explain = "explain_en" in cols and "explain_zh" in cols
    explanations: dict[str, dict[str, str]] = {}
    if has_explain:
        explanations = {str(a): {"en": e or "", "zh": z or ""}
                        for a, e, z in zip(cols["account_id"].to_pylist(), cols.pop("explain_en").to_pylist(),
                                           cols.pop("explain_zh").to_pylist(), strict=True)}
    frame = Frame(cols, as_of=day, today=today or day, explanations=explanations,
                  has_explanations=has_explain, source="decisions")
    # the RFM scores: a decisions file carries the policy's score metrics as flat columns
    frame.inputs.update({f"metric.{m}": pc.cast(cols[f"metric.{m}"], pa.float64()) for m in RFM_METRICS
                         if f"metric.{m}" in cols})
    err_path = Path(errors) if errors is not None else decisions_errors_path(Path(path))
    if err_path.exists():
        frame.errors = _read_errors(err_path)
    if accounts is not None:
        acc = read_accounts(accounts, policy, columns, _typed(None))
        scores = {k: v for k, v in frame.inputs.items() if k.startswith("metric.")}
        ids = [None if a is None else str(a) for a in acc.column("id").to_pylist()]
        where = {a: i for i, a in enumerate(ids)}
        rows = [where[a] for a in cols["account_id"].to_pylist() if a in where]
        if len(rows) == len(cols["account_id"]):
            frame.inputs = {**_input_columns(acc, rows), **scores}
        frame.unknown = _unknown(acc, acc.column_names)
    return frame


def _read_errors(path: Path) -> list[tuple[str, str]]:
    """``(field, message)`` of each row of an errors file written by ``decide``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is not None and "message" not in reader.fieldnames:
                # a decisions file given as --errors would count every decision as a refused row
                raise TableInputError(Message(N_("not an errors file written by decide: it has no {column!r} "
                                                 "column"), column="message"), source=str(path))
            return [(r.get("field") or "", r.get("message") or "") for r in reader]
    except UnicodeDecodeError as e:  # re-saved by a spreadsheet in its own encoding: say so, no traceback
        raise not_utf8(path, "utf-8", e) from None


def decisions_errors_path(output: Path) -> Path:
    # where ``decide`` writes the errors file beside OUTPUT
    return output.with_name(OUTPUT.split(output)[0] + ".errors.csv")
