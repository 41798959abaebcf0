"""Decide a portfolio: validate chunk by chunk, portfolio statistics once, then decide chunk by chunk.

Pass 1 reads the source, validates every row and, when the policy ranks accounts
(``percentile``, ``cumshare``, ``quantile``), collects the ranked values of the valid
rows into :class:`PortfolioStats`. Pass 2 decides each chunk with those statistics.
:func:`decide_batch` keeps the validated chunks of pass 1 (compact env columns) and
returns one :class:`BatchResult`; :func:`iter_batches` streams: a re-readable source
(a file, a DataFrame, a table, a list) is read again in pass 2 and each decided chunk
is handed out and forgotten, so memory stays flat however long the file is.

``engine`` is a name of :mod:`accountrules.evaluate.registry` (``auto`` by default: ``vector``
when numpy is importable, else ``compiled``), resolved once per batch by the policy's registry.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from accountrules.batch.errors import RowError
from accountrules.batch.portfolio_pass import StatsCollector, first_only
from accountrules.batch.result import BatchResult, _ColumnsPart, value_columns
from accountrules.batch.seen_ids import SeenIds
from accountrules.batch.settled import Settled
from accountrules.batch.sources import DEFAULT_CHUNK_ROWS, STREAM_CHUNK_ROWS, RawChunk, Source, open_source
from accountrules.batch.validate import Chunk, validate_rows, validate_table
from accountrules.compile.plan import Plan, read_keys
from accountrules.errors import AccountValidationError, DecisionError, refusal
from accountrules.evaluate import registry
from accountrules.evaluate.day import decision_day, last_decision_day
from accountrules.evaluate.driver import Matcher, Raw, run
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.evaluate.record import ACTION_RULES
from accountrules.io.columns import ColumnMapping
from accountrules.io.recorded_day import batch_day
from accountrules.io.schema import metric_columns, metric_value

if TYPE_CHECKING:
    from accountrules.evaluate.own_ranks import ChunkRanks, OwnRanks
    from accountrules.evaluate.vector import VectorProgram
    from accountrules.model.account import Account
    from accountrules.model.decision import Decision
    from accountrules.policy import Policy

log = logging.getLogger(__name__)

ENGINES = registry.ENGINES
_TUPLES = frozenset({"actions", ACTION_RULES})
Progress = Callable[[str, int, int | None], None]
"""``progress(phase, rows done, rows in total or None)``; phase is ``"reading"`` or ``"deciding"``."""


def _validated(src: Source, plan: Plan, settled: Settled | None = None) -> Iterator[Chunk]:
    """Validated chunks in order, with later valid rows repeating an earlier valid id marked as errors.

    ``settled``: what a first pass over the same source decided; only the columns it names are
    validated, and each row's refusal is the first pass's."""
    # repeated ids: found here (compact hashes and id columns, batch/seen_ids.py), or settled by the first pass
    settle = settled.apply if settled is not None else SeenIds().mark
    start = 0
    for raw in src.chunks():
        chunk = _validate(raw, plan, start, None if settled is None else settled.only)
        start += chunk.n
        settle(chunk)
        yield chunk


def _validate(raw: RawChunk, plan: Plan, start: int, only: frozenset[str] | None = None) -> Chunk:
    if raw.kind == "rows":
        return validate_rows(raw.data, plan, start, raw.unreadable)
    return validate_table(raw.data, plan, start, raw.unreadable, only)


def decided_keys(policy: Policy, engine: str) -> frozenset[str] | None:
    """The fields a decision by ``engine`` reads (``id``, the fields and extras the policy's expressions
    name, the stage); None (every field) for an evaluator that is given whole rows."""
    if engine == "vector":
        return frozenset({*read_keys(policy.plan), *vector_program(policy).field_refs})
    if engine == "compiled":
        return read_keys(policy.plan)
    return None


def _matcher(policy: Policy, engine: str) -> Matcher | None:
    """The per-account evaluator ``engine`` names (already resolved), or None for ``vector``."""
    if engine == "vector":
        return None
    return policy.evaluators.matcher(engine)


def _vector() -> ModuleType:
    from accountrules.evaluate import vector  # numpy is an optional extra: the registry checked it is here

    return vector


def vector_program(policy: Policy) -> VectorProgram:
    """The policy compiled for the vector evaluator, held by the policy's registry for every batch."""
    program: VectorProgram = policy.evaluators.vector_program()  # EngineUnavailableError without numpy
    return program


def raw_outputs(plan: Plan, raw: Raw, outputs: dict[str, list[Any]], j: int) -> None:
    """Write the flat outputs of one decision (as :func:`decision_outputs` would give) at index ``j``."""
    rules = raw.rules()
    if plan.tiers is not None and raw.tier is not None:
        outputs["tier"][j] = raw.tier
        outputs["tier_rule"][j] = rules.get("tier")
    for name, code in raw.segments.items():
        if code is not None:
            outputs[f"segment.{name}"][j] = code
            outputs[f"segment.{name}_rule"][j] = rules.get("segment:" + name)
    if plan.stages is not None and raw.stage_to is not None:
        outputs["stage_from"][j] = raw.stage_from or None
        outputs["stage"][j] = raw.stage_to
        outputs["stage_transition"][j] = raw.transition
    if plan.churn is not None and raw.churn_kind is not None and raw.churn_risk is not None:
        outputs["churn_kind"][j] = raw.churn_kind
        outputs["churn_risk"][j] = raw.churn_risk
        outputs["churn_score"][j] = raw.churn_score
        outputs["churn_rule"][j] = rules.get("churn")
    for col in metric_columns(plan):
        outputs[col][j] = metric_value(raw.env.get(col[len("metric."):]))
    if raw.actions:
        outputs["actions"][j] = tuple(raw.actions)
    if ACTION_RULES in outputs:
        outputs[ACTION_RULES][j] = tuple(r.row.id for r in raw.action_rows)


def decide_chunk(policy: Policy, chunk: Chunk, stats: PortfolioStats, as_of: dt.date, engine: str,
                 trace: bool, program: VectorProgram | None = None, ranks: OwnRanks | None = None) -> BatchResult:
    """Decide the valid rows of one validated chunk; a row the policy cannot decide becomes a RowError.

    ``program``: for ``engine="vector"``, the compiled column program; by default the one the policy's
    registry holds (built once per policy, so nothing is compiled per chunk). ``ranks``: where the
    rows ranked in ``stats`` sit there, when ``stats`` were built from these chunks."""
    matcher = _matcher(policy, engine)
    outputs: dict[str, Any]
    if matcher is None:
        outputs = _decide_vector(policy, chunk, stats, as_of, program or vector_program(policy),
                                 None if ranks is None else ranks.chunk(chunk.start))
    else:
        outputs = _decide_rows(policy, chunk, stats, as_of, engine, matcher)
    part = _ColumnsPart(chunk, outputs, engine)
    return BatchResult([part], policy=policy, stats=stats, as_of=as_of, trace=trace)


def _empty_outputs(plan: Plan, n: int) -> dict[str, list[Any]]:
    outputs: dict[str, list[Any]] = {c: [None] * n for c in value_columns(plan)}
    outputs["actions"] = [()] * n
    # which action rules fired: with the rule ids of the sections, what a Decision is built from
    outputs[ACTION_RULES] = [()] * n
    return outputs


def _decide_rows(policy: Policy, chunk: Chunk, stats: PortfolioStats, as_of: dt.date, engine: str,
                 matcher: Matcher) -> dict[str, list[Any]]:
    """Decide account by account with a per-account evaluator."""
    plan = policy.plan
    outputs = _empty_outputs(plan, chunk.n)
    actions_cache: dict[tuple[str, ...], tuple[str, ...]] = {}
    # the compiled evaluator reads only what the policy names; other evaluators get whole envs
    only = read_keys(plan) if engine == "compiled" else None
    for j, env in chunk.envs(only):
        aid = env["id"]
        try:
            raw = run(plan, env, matcher, aid, as_of, stats)
        except DecisionError as e:
            text = e.args[0]  # the refusal as a catalogue message (str(e) would lose its translation)
            chunk.errors[j] = RowError(chunk.start + j + 1, aid, None, text, (("(account)", text),))
            continue
        raw_outputs(plan, raw, outputs, j)
        acts = outputs["actions"][j]
        if acts:
            outputs["actions"][j] = actions_cache.setdefault(acts, acts)
            fired = outputs[ACTION_RULES][j]
            outputs[ACTION_RULES][j] = actions_cache.setdefault(fired, fired)
    return outputs


def _has_arrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # the vector extra needs only numpy: then the outputs are Python lists
        return False
    return True


def _vector_input(program: VectorProgram, chunk: Chunk, rows: list[int]) -> Any:
    """The valid rows of ``chunk``, the fields the program reads, as the vector evaluator's input."""
    vector = _vector()
    # not what only a trace shows (nothing to encode for it); the id only when ties are ranked by it
    wanted: Collection[str] = program.field_refs
    ranked_by_id = bool(vector.id_ranked(program))
    tie_ids = ranked_by_id and "id" not in wanted
    if ranked_by_id:
        wanted = {*wanted, "id"}
    columns: dict[str, Any] = {}
    if all(not isinstance(c, list) for c in chunk.cols):
        import pyarrow as pa

        take = None if len(rows) == chunk.n else pa.array(rows, pa.int64())
        for k, c in zip(chunk.keys, chunk.cols, strict=True):
            if k in wanted:
                columns[k] = c if take is None else c.take(take)
        for k, v in chunk.base.items():
            if k in wanted and v is not None:
                columns[k] = pa.array([v] * len(rows))
        if not columns:  # the input gives none of the fields the program reads: all unknown
            return vector.ColumnBatch({}, len(rows))
        # ids only break ranking ties here: kept as text, not encoded as a column the program reads
        ids = columns.pop("id", None) if tie_ids else None
        return vector.ColumnBatch.from_arrow(pa.table(columns), tie_ids=ids)
    lists = dict(zip(chunk.keys, chunk.column_lists(), strict=True))
    for k in wanted:
        if k in lists:
            col = lists[k]
            columns[k] = col if len(rows) == chunk.n else [col[j] for j in rows]
        elif chunk.base.get(k) is not None:
            columns[k] = [chunk.base[k]] * len(rows)
    return columns if columns else vector.ColumnBatch({}, len(rows))


def _decide_vector(policy: Policy, chunk: Chunk, stats: PortfolioStats, as_of: dt.date,
                   program: VectorProgram, ranks: ChunkRanks | None = None) -> dict[str, Any]:
    """Decide the valid rows of ``chunk`` at once with the vector evaluator: Arrow output columns when
    pyarrow is installed (no Python object per row), else lists."""
    errors = chunk.errors
    rows = [j for j in range(chunk.n) if j not in errors] if errors else list(range(chunk.n))
    if not rows:
        return _empty_outputs(policy.plan, chunk.n)
    vector = _vector()
    got = vector.run_program(policy, _vector_input(program, chunk, rows), as_of=as_of, stats=stats,
                             program=program, ranks=ranks)
    ids = chunk.ids
    if _has_arrow():
        import numpy as np

        from accountrules.evaluate.vector.arrow_out import arrow_columns

        at = None if len(rows) == chunk.n else np.asarray(rows, dtype=np.int64)
        cols, errs = arrow_columns(got, at, chunk.n)
        outputs: dict[str, Any] = {c: cols[c] for c in [*value_columns(policy.plan), ACTION_RULES]}
        failed = {j: msg for j, (msg, _) in errs.items()}
    else:
        lists = vector.finish_lists(got)
        outputs = _empty_outputs(policy.plan, chunk.n)
        metrics = set(metric_columns(policy.plan))
        for c, col in outputs.items():
            for j, v in zip(rows, lists[c], strict=True):
                col[j] = (tuple(v) if v is not None else ()) if c in _TUPLES else metric_value(v) if c in metrics else v
        failed = {j: m for j, m in zip(rows, lists["error"], strict=True) if m is not None}
        for j in failed:
            for c in outputs:
                outputs[c][j] = () if c in _TUPLES else None
    if failed:
        aids = ids()
        for j, message in failed.items():
            aid = aids[j]
            text = refusal(message, aid)  # a refused row only: a clean batch formats no message
            chunk.errors[j] = RowError(chunk.start + j + 1, aid, None, text, (("(account)", text),))
    return outputs


def iter_batches(policy: Policy, source: Any, *, as_of: dt.date | None = None, engine: str = "auto",
                 trace: bool = True, chunk_rows: int = STREAM_CHUNK_ROWS, keep: bool = False,
                 progress: Progress | None = None, columns: ColumnMapping | None = None,
                 lean_stats: bool = False) -> Iterator[BatchResult]:
    """Decide ``source`` and yield one :class:`BatchResult` per chunk, in input order.

    Statistics are computed once, from every valid row, before the first chunk is
    decided. With ``keep=False`` a re-readable source is read twice and nothing but the
    statistics (and the ids seen, to catch duplicates) outlives a chunk. ``columns`` renames
    the columns of a flat input to field paths, ignores unknown ones or gives a file's encoding.
    ``lean_stats``: the results' statistics keep only what deciding reads (of a key ranked by
    ``quantile(..., 'first')`` alone, its k - 1 boundary pairs: ``PortfolioStats.boundaries_only``),
    for a caller that hands them to no one, e.g. the command writing decisions to a file.
    """
    day = decision_day(batch_day(as_of, source), last_decision_day(policy.plan))
    asked = engine
    engine = policy.evaluators.prepare(engine, batch=True)  # fail early on an unknown / unavailable engine
    plan = policy.plan
    src = open_source(source, plan, chunk_rows, columns)
    total = src.total
    two_pass = bool(plan.portfolio_args)
    stored: list[Chunk] | None = None
    stats = PortfolioStats({}, 0)
    ranks: OwnRanks | None = None
    settled: Settled | None = None
    if two_pass or keep or not src.restartable:
        collector = StatsCollector(plan, day, vector_program(policy) if registry.available("vector") else None)
        stored = [] if (keep or not src.restartable) else None
        only = decided_keys(policy, engine) if stored is None else None
        settled = Settled(only) if only is not None else None
        done = 0
        for chunk in _validated(src, plan):
            collector.add(chunk)  # counts the valid rows; ranks nothing when the policy ranks nothing
            if stored is not None:
                stored.append(chunk)
            elif settled is not None:
                settled.record(chunk)
            done += chunk.n
            if progress is not None:
                progress("reading", done, total)
        total = done
        if stored is not None and engine == "vector":
            # the kept chunks are decided against statistics of their own rows: where each row sits
            # there is found by the statistics' sort, not searched for again chunk by chunk
            stats, ranks = collector.stats_and_ranks()
        else:
            stats = collector.stats()
        if lean_stats:
            stats = stats.boundaries_only(first_only(plan))  # the whole columns of such keys go here
        log.info("portfolio of %d valid rows of %d; statistics over %d ranked values", collector.size, done,
                 len(plan.portfolio_args))
    chunks: Iterator[Chunk]
    if stored is not None:
        chunks = _drain(stored, keep)
    else:
        chunks = _validated(src, plan, settled if settled is not None and settled.usable else None)
    done = 0
    valid = 0
    for chunk in chunks:
        # auto: a small chunk (a CRM's page of accounts, the tail of a file) goes to the faster evaluator for it
        chosen = engine if asked != registry.AUTO else policy.evaluators.resolve(
            asked, batch=True, rows=chunk.n - len(chunk.errors))
        part = decide_chunk(policy, chunk, stats, day, chosen, trace, ranks=ranks)
        done += chunk.n
        valid += chunk.n - len(chunk.errors)
        if progress is not None:
            progress("deciding", done, total)
        yield part
    if not two_pass and stored is None:
        log.info("decided %d rows (%d valid)", done, valid)


def _drain(stored: list[Chunk], keep: bool) -> Iterator[Chunk]:
    if keep:
        yield from stored
        return
    stored.reverse()
    while stored:  # hand each chunk out once and let it go
        yield stored.pop()


def decide_batch(policy: Policy, source: Any, *, as_of: dt.date | None = None, engine: str = "auto",
                 trace: bool = True, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                 progress: Progress | None = None, columns: ColumnMapping | None = None) -> BatchResult:
    """Decide a whole portfolio into one :class:`BatchResult` (what :meth:`Policy.decide_many` does)."""
    # one day for the decisions and the result alike (two calls of today() may straddle midnight)
    day = decision_day(batch_day(as_of, source), last_decision_day(policy.plan))
    parts = list(iter_batches(policy, source, as_of=day, engine=engine, trace=trace, chunk_rows=chunk_rows,
                              keep=True, progress=progress, columns=columns))
    if not parts:
        # an empty portfolio still has its (empty) columns: a later lookup is unknown, not "no column"
        empty = PortfolioStats({k: [] for k, _ in policy.plan.portfolio_args}, 0,
                               {k: [] for k in policy.plan.id_ranked})
        return BatchResult([], policy=policy, stats=empty, as_of=day, trace=trace)
    return BatchResult.concat(parts)


def decide_one(policy: Policy, account: Account, *, as_of: dt.date, stats: PortfolioStats | None, engine: str,
               trace: bool) -> Decision:
    """One account decided through the batch path (a batch of one ranked against ``stats``), as
    ``Policy.decide(engine="vector")`` does; raises what ``Policy.decide`` raises."""
    engine = policy.evaluators.prepare(engine, batch=True)
    chunk = validate_rows([account], policy.plan, 0)
    bad = chunk.errors.get(0)
    if bad is not None:
        raise AccountValidationError(bad.problems, account_id=bad.account_id)
    item = decide_chunk(policy, chunk, stats or PortfolioStats({}, 0), as_of, engine, trace)[0]
    if isinstance(item, RowError):
        raise DecisionError(item.reason, account.id)
    return item


__all__ = ["ENGINES", "Progress", "decide_batch", "decide_chunk", "decide_one", "decided_keys", "iter_batches",
           "raw_outputs", "vector_program"]
