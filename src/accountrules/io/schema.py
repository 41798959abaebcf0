"""The flat output schema of a batch: column names, their order and their types.

One row per input row: ``row`` (1-based), ``account_id`` and ``as_of`` (the date the batch was
decided as of: one value for the whole batch), then the decision columns of the sections the
policy has, then ``actions``. Rows that failed carry
``error_field`` and ``error`` (``BatchResult.columns(errors=True)``); the errors file
has :data:`ERROR_FILE_COLUMNS`. ``explain=True`` writers add :data:`EXPLAIN_COLUMNS`.
Every writer, ``BatchResult.to_arrow`` and the vector evaluator take their names here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Final, Protocol

from accountrules.compile.plan import Plan
from accountrules.io.optional import pyarrow

if TYPE_CHECKING:
    from accountrules.model.decision import Decision

KEY_COLUMNS: Final = ("row", "account_id")
AS_OF: Final = "as_of"
"""The decision date of every row: the ``as_of`` its batch was decided as of, so a decisions file says
the day its due dates count from (``report --decisions`` reads it). A refused row of ``errors=True``
carries it too: the day its batch was run as of."""
HEAD_COLUMNS: Final = (*KEY_COLUMNS, AS_OF)
"""What every flat row starts with, before the decision columns (:func:`value_columns`)."""
TIER_COLUMNS: Final = ("tier", "tier_rule")
STAGE_COLUMNS: Final = ("stage_from", "stage", "stage_transition")
CHURN_COLUMNS: Final = ("churn_kind", "churn_risk", "churn_score", "churn_rule")
ACTIONS: Final = "actions"
ERROR_COLUMNS: Final = ("error_field", "error")
"""Added to the flat result when failed rows are kept (``errors=True``)."""
ERROR_FILE_COLUMNS: Final = ("row", "account_id", "field", "message")
"""The errors file: one line per row that was not decided."""
EXPLAIN_COLUMNS: Final = ("explain_en", "explain_zh")
EVALUATOR_EXTRA_COLUMNS: Final = ("action_rules", "error", "error_rules")
"""What a columnar evaluator returns beyond the decision columns (see :func:`evaluator_columns`)."""

SCORE_METRICS: Final = ("r_score", "f_score", "m_score")
"""The policy metrics the flat output carries, as ``metric.<name>`` number columns, when the policy
defines them: the RFM scores a portfolio report draws its R x F grid from, so a decisions file
holds them too. A value that is not a finite number shows as blank."""

INT_COLUMNS: Final = frozenset({"row"})
FLOAT_COLUMNS: Final = frozenset({"churn_score"})
LIST_COLUMNS: Final = frozenset({ACTIONS})
DATE_COLUMNS: Final = frozenset({AS_OF})
"""Every other column holds text (codes, rule ids, account ids) or nothing."""


class _HasPlan(Protocol):
    @property
    def plan(self) -> Plan: ...


def segment_columns(name: str) -> tuple[str, str]:
    """The code and rule columns of segmentation ``name``."""
    return f"segment.{name}", f"segment.{name}_rule"


def _segment_names(plan: Plan) -> list[str]:
    return [t.section[len("segment:"):] for t in plan.segments]


def metric_columns(plan: Plan) -> list[str]:
    """The ``metric.<name>`` columns of the :data:`SCORE_METRICS` this policy defines, in policy order."""
    return [f"metric.{m.name}" for m in plan.metrics if m.name in SCORE_METRICS]


def metric_value(value: Any) -> float | None:
    """A score metric's flat value: a finite number as float, anything else blank."""
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    x = float(value)
    return x if x == x and x not in (float("inf"), float("-inf")) else None


def value_columns(plan: Plan) -> list[str]:
    """The decision columns of this policy, in order (:func:`output_columns` less :data:`HEAD_COLUMNS`)."""
    cols: list[str] = []
    if plan.tiers is not None:
        cols += TIER_COLUMNS
    for name in _segment_names(plan):
        cols += segment_columns(name)
    if plan.stages is not None:
        cols += STAGE_COLUMNS
    if plan.churn is not None:
        cols += CHURN_COLUMNS
    cols += metric_columns(plan)
    cols.append(ACTIONS)
    return cols


def moved_columns(plan: Plan) -> list[tuple[str, str, str]]:
    """What a policy change can move an account in, besides its actions: ``(change key, value column,
    rule column)`` per output, in decision order. A churn score or a metric value alone moves no one.
    ``accountrules diff`` (``testing.impact``) and its HTML page (``report.diff``) both read it."""
    keys = [("tier", "tier", "tier_rule")] if plan.tiers is not None else []
    for name in _segment_names(plan):
        value, rule = segment_columns(name)
        keys.append((f"segment:{name}", value, rule))
    if plan.stages is not None:
        keys.append(("stage", "stage", "stage_transition"))
    if plan.churn is not None:
        keys += [("churn.kind", "churn_kind", "churn_rule"), ("churn.risk", "churn_risk", "churn_rule")]
    return keys


def output_columns(plan: Plan) -> list[str]:
    """The flat result columns, in order (see ``BatchResult.to_records``)."""
    return [*HEAD_COLUMNS, *value_columns(plan)]


def decision_outputs(plan: Plan, d: Decision) -> dict[str, Any]:
    """The decision columns of one Decision (its flat row less :data:`HEAD_COLUMNS`)."""
    out: dict[str, Any] = {}
    if plan.tiers is not None:
        t = d.tier
        out.update(zip(TIER_COLUMNS, (t.code, t.rule) if t else (None, None), strict=True))
    for name in _segment_names(plan):
        seg = d.segments.get(name)
        out.update(zip(segment_columns(name), (seg.code, seg.rule) if seg else (None, None), strict=True))
    if plan.stages is not None:
        s = d.stage
        values = (s.from_.value if s.from_ else None, s.to.value, s.transition) if s else (None, None, None)
        out.update(zip(STAGE_COLUMNS, values, strict=True))
    if plan.churn is not None:
        c = d.churn
        churn = (c.kind.value, c.risk.value, c.score, c.rule) if c else (None, None, None, None)
        out.update(zip(CHURN_COLUMNS, churn, strict=True))
    for col in metric_columns(plan):
        out[col] = metric_value(d.metrics.get(col[len("metric."):]))
    out[ACTIONS] = tuple(a.code for a in d.actions)
    return out


def evaluator_columns(source: Plan | _HasPlan, metrics: bool = False) -> list[str]:
    """The keys a columnar evaluator returns: every decision column whatever sections the policy
    has, plus :data:`EVALUATOR_EXTRA_COLUMNS`, the score metric columns and, with ``metrics``,
    ``metric.<name>`` of every other metric."""
    plan = source if isinstance(source, Plan) else source.plan
    keys: list[str] = [*TIER_COLUMNS]
    for name in _segment_names(plan):
        keys += segment_columns(name)
    keys += [*STAGE_COLUMNS, *CHURN_COLUMNS, ACTIONS, *EVALUATOR_EXTRA_COLUMNS, *metric_columns(plan)]
    if metrics:
        keys += [f"metric.{m.name}" for m in plan.metrics if m.name not in SCORE_METRICS]
    return keys


def arrow_type(name: str) -> Any:
    """The pyarrow type of output column ``name``."""
    pa = pyarrow("Arrow and Parquet output")
    if name in INT_COLUMNS:
        return pa.int64()
    if name in FLOAT_COLUMNS or name.startswith("metric."):
        return pa.float64()
    if name in LIST_COLUMNS:
        return pa.list_(pa.string())
    if name in DATE_COLUMNS:
        return pa.date32()
    return pa.string()


def arrow_schema(names: Sequence[str]) -> Any:
    """The pyarrow schema of a flat table with these columns."""
    pa = pyarrow("Arrow and Parquet output")
    return pa.schema([pa.field(n, arrow_type(n)) for n in names])


def date_column(day: date, n: int) -> Any:
    """``day`` ``n`` times as an Arrow ``date32`` array: one scalar repeated in Arrow (4 bytes a row), not a
    Python date per row; what the :data:`AS_OF` column of a batch is made of."""
    pa = pyarrow("Arrow and Parquet output")
    return pa.repeat(pa.scalar(day, pa.date32()), n)


def arrow_table(columns: Mapping[str, Sequence[Any]]) -> Any:
    """A ``pyarrow.Table`` of flat output columns (``actions`` as ``list<string>``)."""
    pa = pyarrow("Arrow and Parquet output")
    arrays = {}
    for name, values in columns.items():
        if name in LIST_COLUMNS:
            values = [list(v) for v in values]
        arrays[name] = pa.array(values, arrow_type(name))
    return pa.table(arrays)


def csv_cell(value: Any) -> Any:
    """How a CSV shows a flat value: nothing is blank, a list is joined with ``;``, a date is ISO."""
    if value is None:
        return ""
    cls = value.__class__
    if cls is str or cls is float or cls is int:  # most cells: skip the isinstance checks
        return value
    if isinstance(value, tuple | list):
        return ";".join(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


__all__ = [
    "ACTIONS", "AS_OF", "CHURN_COLUMNS", "DATE_COLUMNS", "ERROR_COLUMNS", "ERROR_FILE_COLUMNS",
    "EVALUATOR_EXTRA_COLUMNS", "EXPLAIN_COLUMNS", "HEAD_COLUMNS", "KEY_COLUMNS", "SCORE_METRICS", "STAGE_COLUMNS",
    "TIER_COLUMNS", "arrow_schema", "arrow_table", "arrow_type", "csv_cell", "date_column", "decision_outputs",
    "evaluator_columns", "metric_columns", "metric_value", "moved_columns", "output_columns", "segment_columns",
    "value_columns",
]
