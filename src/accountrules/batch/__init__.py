"""Batch decisions: portfolios from lists, DataFrames, Arrow tables and CSV / JSONL / Parquet files.

``Policy.decide_many(source)`` returns a :class:`BatchResult` — one Decision or
:class:`RowError` per input row, in input order. See ``docs/batch.md``.
"""

from accountrules.batch.engine import ENGINES, Progress, decide_batch, decide_chunk, iter_batches
from accountrules.batch.errors import BatchInputError, RowError, RowErrors, UnknownColumnError
from accountrules.batch.result import BatchResult, BatchSummary
from accountrules.batch.sources import DEFAULT_CHUNK_ROWS, open_source

__all__ = [
    "DEFAULT_CHUNK_ROWS", "ENGINES", "BatchInputError", "BatchResult", "BatchSummary", "Progress", "RowError",
    "RowErrors", "UnknownColumnError", "decide_batch", "decide_chunk", "iter_batches", "open_source",
]
