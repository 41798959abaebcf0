"""The decision date an input records for itself: ``accountrules.as_of`` in its Arrow schema metadata.

``derive_features`` (and ``accountrules features`` writing Parquet) computes recency, windows and
``days_since`` as of one day and records that day in the table's schema metadata. Deciding such
an input as of another day mixes two dates in one decision (recency counted to one, due dates
from the other), so a batch given no ``as_of`` takes the day its input records. A CSV or JSONL
file records nothing; neither does a table built otherwise.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any, Final

log = logging.getLogger(__name__)

AS_OF_KEY: Final = "accountrules.as_of"
"""The schema metadata key ``derive_features`` writes its ``as_of`` under (ISO text)."""


def batch_day(as_of: dt.date | None, source: Any) -> dt.date:
    """The day a batch of ``source`` is decided as of: ``as_of``, else the day ``source`` records, else
    today, fixed once, so the batches of two policy versions over one source share it."""
    if as_of is not None:
        return as_of
    return recorded_day(source) or dt.date.today()


def recorded_day(source: Any) -> dt.date | None:
    """The day ``source`` was derived as of: a pyarrow Table or RecordBatch, or a ``.parquet`` path
    (its footer alone is read); None when it records none or is another kind of input."""
    meta = _metadata(source)
    if not meta:
        return None
    raw = meta.get(AS_OF_KEY.encode())
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        # not ours to refuse: the file is read as data all the same, and decided as of the usual default
        log.warning("ignoring %s %r in the input's metadata: not an ISO date", AS_OF_KEY, raw[:40])
        return None


def _metadata(source: Any) -> dict[bytes, bytes] | None:
    schema = getattr(source, "schema", None)
    if schema is not None and hasattr(schema, "metadata"):  # a pyarrow Table / RecordBatch
        meta: dict[bytes, bytes] | None = schema.metadata
        return meta
    if isinstance(source, str | os.PathLike) and os.fspath(source).lower().endswith(".parquet"):
        try:
            import pyarrow.parquet as pq
        except ImportError:  # reading the file will say pyarrow is needed
            return None
        try:
            found: dict[bytes, bytes] | None = pq.read_schema(os.fspath(source)).metadata
        except (OSError, ValueError):  # missing or not Parquet: reading the file says so, with its name
            return None
        return found
    return None


__all__ = ["AS_OF_KEY", "batch_day", "recorded_day"]
