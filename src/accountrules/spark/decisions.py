"""Decide a portfolio held in a Spark DataFrame: exactly the single-machine decisions, row for row.

Two passes over the input, as the single-machine batch makes over a file:

1. **Statistics** (:func:`portfolio_pass`, one job, one shuffle). Each partition validates its rows
   with the single-machine validator (Arrow batches in ``mapInArrow``) and emits, per valid row,
   its id and the value of every ranked expression (the vector evaluator's), plus one record of the
   partition's row count. One ``groupBy(id)`` keeps the first valid row of each id (read order), so
   duplicates leave the statistics as they do on one machine; the driver collects the kept values,
   sorts them (:func:`~accountrules.evaluate.vector_rank.stats_from_arrays`, the function the
   single-machine pass ends with) and learns the row offset of every partition, the first row of
   each duplicated id and the rows validation refused (with their messages).
2. **Decisions** (no shuffle). The policy, the statistics, the offsets, the duplicates and the
   refused rows travel in one broadcast, unpickled once per Python worker. Each partition reads only
   the columns a decision reads (the id, the stage, the fields the policy's expressions name), types
   them with the same validator, takes pass 1's errors for the rows it refused (whose messages may
   name columns not read here), and decides the rest with
   :func:`~accountrules.batch.engine.decide_chunk` (the columnar evaluator); the flat result is the
   evaluator's Arrow columns as they are. So a row's decision or error is the one the single
   machine gives.

Row identity: ``row`` is the 1-based position in Spark's read order (partition by partition), which
for one CSV or Parquet file is the file's order. Both passes must see the same partitions: a file
source does; persist or checkpoint a DataFrame whose partitioning is not deterministic.
"""

from __future__ import annotations

import datetime as dt
import warnings
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from accountrules.batch.columns import check_columns
from accountrules.batch.engine import decide_chunk, decided_keys
from accountrules.batch.errors import RowError
from accountrules.batch.portfolio_pass import fields_read, ranked_exprs
from accountrules.batch.sources import DEFAULT_CHUNK_ROWS
from accountrules.batch.validate import Chunk, validate_table
from accountrules.evaluate.day import decision_day, last_decision_day
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.io.readers import header_names
from accountrules.io.schema import (
    DATE_COLUMNS,
    ERROR_COLUMNS,
    FLOAT_COLUMNS,
    INT_COLUMNS,
    LIST_COLUMNS,
    arrow_schema,
    output_columns,
)
from accountrules.spark.session import require_spark

if TYPE_CHECKING:
    from accountrules.policy import Policy

_COUNT_PREFIX = "\x00"  # ids never hold control characters (batch.ids refuses them): a partition's count record
_ERROR_PREFIX = "\x01"  # a refused row's record: its key is the prefix, partition and index (unique)
_LENGTH = "(rows)"


Refusal = tuple[str | None, str | None, str]
"""A row refused by validation: its account id as the error shows it, the field, the message."""


@dataclass(frozen=True, slots=True)
class Portfolio:
    """What the statistics pass learns: the statistics, each partition's first row (0-based), for
    each id held by more than one valid row where its first valid row is ``(partition, index)``, and
    the rows validation refused (``refused[partition][index]``), so the decision pass reads and
    validates again only the columns the policy reads."""

    stats: PortfolioStats
    offsets: dict[int, int]
    duplicates: dict[str, tuple[int, int]]
    rows: int
    refused: dict[int, dict[int, Refusal]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Shipment:
    """Everything a decision task needs, broadcast once (the policy pickles; its evaluators are rebuilt
    once per worker process, where the broadcast value is unpickled)."""

    policy: Policy
    portfolio: Portfolio
    as_of: dt.date
    engine: str
    chunk_rows: int


def _partition_id() -> int:
    from pyspark import TaskContext

    ctx = TaskContext.get()
    return ctx.partitionId() if ctx is not None else 0


def _rechunk(batches: Iterable[Any], rows: int, names: list[str]) -> Iterator[Any]:
    """Spark's Arrow batches (10 000 rows by default) regrouped into tables of about ``rows`` rows,
    under the input's own column names (see :func:`_plain`)."""
    import pyarrow as pa

    held: list[Any] = []
    n = 0
    for b in batches:
        if b.num_rows == 0:
            continue
        held.append(b)
        n += b.num_rows
        if n >= rows:
            yield pa.Table.from_batches(held).rename_columns(names)
            held, n = [], 0
    if held:
        yield pa.Table.from_batches(held).rename_columns(names)


def _plain(df: Any) -> tuple[Any, list[str]]:
    """``df`` with its columns renamed ``c0, c1, ...``, and the names: PySpark's ``mapInArrow`` cannot
    resolve a dotted field path (``transactions.revenue``) as a column name."""
    names = header_names(df.columns)  # " id " names the id column, as in a CSV header and a DataFrame
    return df.toDF(*[f"c{i}" for i in range(len(names))]), names


def _map_in_arrow(df: Any, func: Any, schema: Any) -> Any:
    with warnings.catch_warnings():
        # PySpark checks for pandas even in mapInArrow, which does not use it, and warns on pandas >= 3
        warnings.filterwarnings("ignore", message=".*pandas.*", category=FutureWarning)
        return df.mapInArrow(func, schema)


def _valid_columns(chunk: Chunk, needs: set[str], rows: list[int]) -> Any:
    """The valid rows of the fields ``needs`` as a vector-evaluator batch."""
    import pyarrow as pa

    from accountrules.evaluate.vector import ColumnBatch

    take = pa.array(rows, pa.int64())
    columns: dict[str, Any] = {}
    for k, c in zip(chunk.keys, chunk.cols, strict=True):
        if k in needs:
            arr = pa.array(c) if isinstance(c, list) else c
            columns[k] = arr.take(take)
    for k, v in chunk.base.items():
        if k in needs and v is not None:
            columns[k] = pa.array([v] * len(rows))
    return ColumnBatch.from_arrow(pa.table(columns or {_LENGTH: pa.nulls(len(rows), pa.float64())}))


def _scan_schema(n_keys: int) -> str:
    return ("pid int, idx long, id string, w long" + "".join(f", v{i} double" for i in range(n_keys))
            + ", eid string, ef string, em string")


def _refusals(chunk: Chunk, pid: int, local: int, n_keys: int) -> Any:
    """One record per row validation refused (``eid``, ``ef``, ``em``: the error's id, field, message)."""
    import pyarrow as pa

    rows = sorted(chunk.errors)
    errs = [chunk.errors[j] for j in rows]
    out: dict[str, Any] = {
        "pid": pa.array([pid] * len(rows), pa.int32()),
        "idx": pa.array([local + j for j in rows], pa.int64()),
        "id": pa.array([f"{_ERROR_PREFIX}{pid}:{local + j}" for j in rows], pa.string()),
        "w": pa.array([0] * len(rows), pa.int64()),
    }
    for i in range(n_keys):
        out[f"v{i}"] = pa.nulls(len(rows), pa.float64())
    out["eid"] = pa.array([e.account_id for e in errs], pa.string())
    out["ef"] = pa.array([e.field for e in errs], pa.string())
    out["em"] = pa.array([e.message for e in errs], pa.string())
    return pa.RecordBatch.from_pydict(out)


def _scan(shipped: Any, as_of: dt.date, chunk_rows: int, names: list[str]) -> Any:
    """The statistics pass's partition function; ``shipped``: the policy's broadcast."""

    def scan(batches: Iterable[Any]) -> Iterator[Any]:
        import numpy as np
        import pyarrow as pa

        from accountrules.evaluate.vector import ranked_columns

        policy: Policy = shipped.value
        plan = policy.plan
        exprs = ranked_exprs(plan)
        keys = [k for k, _ in plan.portfolio_args]
        needs = fields_read(plan, list(exprs.values()))
        program = policy.evaluators.vector_program() if keys else None
        pid = _partition_id()
        local = 0
        for table in _rechunk(batches, chunk_rows, names):
            chunk = validate_table(table, plan, 0)
            rows = [j for j in range(chunk.n) if j not in chunk.errors] if chunk.errors else list(range(chunk.n))
            if rows:
                ids = chunk.cols[chunk.keys.index("id")]
                kept = (pa.array([ids[j] for j in rows], pa.string()) if isinstance(ids, list)
                        else ids.take(pa.array(rows, pa.int64())).cast(pa.string()))
                out: dict[str, Any] = {
                    "pid": pa.array(np.full(len(rows), pid, dtype=np.int32)),
                    "idx": pa.array(np.asarray(rows, dtype=np.int64) + local),
                    "id": kept,
                    "w": pa.array(np.ones(len(rows), dtype=np.int64)),
                }
                if keys:
                    values = ranked_columns(policy, _valid_columns(chunk, needs, rows), as_of=as_of, keys=keys,
                                            program=program)
                    for i, k in enumerate(keys):
                        v = values[k]
                        out[f"v{i}"] = pa.array(v, pa.float64(), mask=np.isnan(v))
                for name in ("eid", "ef", "em"):
                    out[name] = pa.nulls(len(rows), pa.string())
                yield pa.RecordBatch.from_pydict(out)
            if chunk.errors:
                yield _refusals(chunk, pid, local, len(keys))
            local += chunk.n
        # every partition says how many rows it read, an empty one too: the row offsets of pass 2
        count: dict[str, Any] = {"pid": pa.array([pid], pa.int32()), "idx": pa.array([-1], pa.int64()),
                                 "id": pa.array([f"{_COUNT_PREFIX}{pid}"]), "w": pa.array([local], pa.int64())}
        for i in range(len(keys)):
            count[f"v{i}"] = pa.nulls(1, pa.float64())
        for name in ("eid", "ef", "em"):
            count[name] = pa.nulls(1, pa.string())
        yield pa.RecordBatch.from_pydict(count)

    return scan


def portfolio_pass(policy: Policy, df: Any, *, as_of: dt.date, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Portfolio:
    """Pass 1: validate every row, drop later duplicates, and compute the portfolio statistics by one
    ``groupBy`` over the ids (one shuffle); equal to the single-machine ``BatchResult.stats``."""
    require_spark("Spark decisions")
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import functions as F

    from accountrules.evaluate.vector_rank import stats_from_arrays

    as_of = decision_day(as_of, last_decision_day(policy.plan))  # AsOfError for what decide_many refuses
    check_columns(header_names(df.columns), policy.plan)
    keys = [k for k, _ in policy.plan.portfolio_args]
    values = [f"v{i}" for i in range(len(keys))]
    shipped = df.sparkSession.sparkContext.broadcast(policy)
    plain, names = _plain(df)
    scanned = _map_in_arrow(plain, _scan(shipped, as_of, chunk_rows, names), _scan_schema(len(keys)))
    first = F.min(F.struct("pid", "idx", *values, "eid", "ef", "em")).alias("first")
    per_id = scanned.groupBy("id").agg(F.sum("w").alias("n"), first)
    by_id = [k for k in keys if k in policy.plan.id_ranked]
    # the driver needs an id only where it says something: a duplicate, a partition's count record, or,
    # for quantile(x, k, 'first'), every id (ties are ranked by it)
    named = (F.col("n") > 1) | F.col("id").startswith(_COUNT_PREFIX) | F.col("id").startswith(_ERROR_PREFIX)
    key = F.col("id") if by_id else F.when(named, F.col("id"))
    got = per_id.select(key.alias("id"), "n", "first.pid", "first.idx", *[f"first.{v}" for v in values],
                        "first.eid", "first.ef", "first.em").toArrow()
    ids = got.column("id")
    n = got.column("n").to_numpy()
    pids = got.column("pid").to_numpy()
    idxs = got.column("idx").to_numpy()
    counts: dict[int, int] = {}
    duplicates: dict[str, tuple[int, int]] = {}
    refused: dict[int, dict[int, Refusal]] = {}
    account = np.ones(len(ids), dtype=np.bool_)
    flagged = np.nonzero(((n != 1) | (idxs < 0)) & ids.is_valid().to_numpy(zero_copy_only=False))[0]
    eid, ef, em = got.column("eid"), got.column("ef"), got.column("em")
    for i in flagged.tolist():
        aid = ids[i].as_py()
        if aid.startswith(_COUNT_PREFIX):
            counts[int(pids[i])] = counts.get(int(pids[i]), 0) + int(n[i])
            account[i] = False
        elif aid.startswith(_ERROR_PREFIX):
            refused.setdefault(int(pids[i]), {})[int(idxs[i])] = (eid[i].as_py(), ef[i].as_py(), em[i].as_py())
            account[i] = False
        else:
            duplicates[aid] = (int(pids[i]), int(idxs[i]))
    offsets: dict[int, int] = {}
    done = 0
    for pid in sorted(counts):
        offsets[pid] = done
        done += counts[pid]
    columns = {k: got.column(v).to_numpy(zero_copy_only=False)[account].astype(np.float64)
               for k, v in zip(keys, values, strict=True)}
    held_ids = None
    if by_id:
        text = ids.filter(pa.array(account)).to_numpy(zero_copy_only=False)
        held_ids = dict.fromkeys(by_id, text)  # one object: the keys share one sort of the ids
    stats = stats_from_arrays(columns, int(account.sum()), held_ids)
    shipped.unpersist()
    return Portfolio(stats, offsets, duplicates, done, refused)


def output_schema(policy: Policy) -> Any:
    """The Spark schema of :func:`decide`'s result: the flat single-machine columns with errors kept."""
    require_spark("Spark decisions")
    from pyspark.sql import types as T

    fields = []
    for name in [*output_columns(policy.plan), *ERROR_COLUMNS]:
        typ: Any = T.StringType()
        if name in INT_COLUMNS:
            typ = T.LongType()
        elif name in FLOAT_COLUMNS or name.startswith("metric."):  # as io.schema.arrow_type
            typ = T.DoubleType()
        elif name in LIST_COLUMNS:
            typ = T.ArrayType(T.StringType())
        elif name in DATE_COLUMNS:  # Arrow's date32, as the partitions' tables hold it
            typ = T.DateType()
        fields.append(T.StructField(name, typ, True))
    return T.StructType(fields)


def _mark_duplicates(chunk: Chunk, portfolio: Portfolio, pid: int, local: int, held: Any) -> None:
    """Later valid rows of an id held by an earlier valid row become errors, with the single-machine
    message; ``held``: the duplicated ids as an Arrow array (found with one ``is_in``, not row by row)."""
    dups = portfolio.duplicates
    if not dups:
        return
    ids = chunk.cols[chunk.keys.index("id")]
    if isinstance(ids, list):
        candidates = [j for j, aid in enumerate(ids) if aid in dups]
    else:
        import pyarrow.compute as pc

        candidates = pc.indices_nonzero(pc.is_in(ids, value_set=held)).to_pylist()
    for j in candidates:
        if j in chunk.errors:
            continue
        aid = ids[j] if isinstance(ids, list) else ids[j].as_py()
        fpid, fidx = dups[aid]
        if (fpid, fidx) == (pid, local + j):
            continue
        first = portfolio.offsets.get(fpid, 0) + fidx + 1
        msg = f"duplicate account id {aid!r}: already in row {first}"
        chunk.errors[j] = RowError(chunk.start + j + 1, aid, "id", msg, (("id", msg),))


def _decide_partitions(shipment: Any, names: list[str]) -> Any:
    def run(batches: Iterable[Any]) -> Iterator[Any]:
        import pyarrow as pa

        ship: _Shipment = shipment.value
        plan = ship.policy.plan
        schema = arrow_schema([*output_columns(plan), *ERROR_COLUMNS])
        pid = _partition_id()
        start = ship.portfolio.offsets.get(pid, 0)
        held = pa.array(list(ship.portfolio.duplicates), pa.string())
        local = 0
        refused = ship.portfolio.refused.get(pid, {})
        at = sorted(refused)
        for table in _rechunk(batches, ship.chunk_rows, names):
            chunk = validate_table(table, plan, start + local)
            # the rows pass 1 refused, with its message (which names the columns not read here too)
            for i in at[bisect_left(at, local):bisect_left(at, local + table.num_rows)]:
                aid, where, message = refused[i]
                problem = ((where or "(account)", message),)
                chunk.errors[i - local] = RowError(start + i + 1, aid, where, message, problem)
            _mark_duplicates(chunk, ship.portfolio, pid, local, held)
            part = decide_chunk(ship.policy, chunk, ship.portfolio.stats, ship.as_of, ship.engine, False)
            # the vector evaluator's Arrow columns as they are: no Python object per row
            table = part.to_arrow(errors=True)
            yield from (table if table.schema == schema else table.cast(schema)).to_batches()
            local += chunk.n

    return run


def decide(policy: Policy, df: Any, *, as_of: dt.date | None = None, engine: str = "auto",
           chunk_rows: int = DEFAULT_CHUNK_ROWS, portfolio: Portfolio | None = None) -> Any:
    """Decide every row of ``df`` (flat columns, as the single-machine batch reads them) into a Spark
    DataFrame of :func:`output_schema`: ``row``, ``account_id``, ``as_of``, the decision columns, ``error_field``
    and ``error``. One output row per input row: rows in = decisions + errors.

    Runs the statistics pass now (unless ``portfolio`` gives its result) and returns the decision
    pass as a lazy DataFrame. Raises what the single-machine batch raises for a whole input
    (``UnknownColumnError``, ``BatchInputError``)."""
    require_spark("Spark decisions")
    day = decision_day(as_of, last_decision_day(policy.plan))  # checked as decide_many checks it
    engine = policy.evaluators.prepare(engine, batch=True)
    check_columns(header_names(df.columns), policy.plan)
    held = portfolio if portfolio is not None else portfolio_pass(policy, df, as_of=day, chunk_rows=chunk_rows)
    shipment = df.sparkSession.sparkContext.broadcast(_Shipment(policy, held, day, engine, chunk_rows))
    plain, names = _plain(df)
    read = _decided_columns(policy, engine, names)
    if read is not None:  # the statistics pass validated every column: this pass reads what it decides on
        plain = plain.select(*[f"c{i}" for i in read])
        names = [names[i] for i in read]
    return _map_in_arrow(plain, _decide_partitions(shipment, names), output_schema(policy))


def _decided_columns(policy: Policy, engine: str, names: list[str]) -> list[int] | None:
    """Where the columns a decision reads (:func:`decided_keys`) are among ``names``; None: every column."""
    wanted = decided_keys(policy, engine)
    return None if wanted is None else [i for i, name in enumerate(names) if name in wanted]


__all__ = ["Portfolio", "decide", "output_schema", "portfolio_pass"]
