"""The account ids a batch has seen, to refuse a later row that repeats one, in little memory.

A batch refuses every valid row whose id an earlier valid row holds ("duplicate account id
'A1': already in row 2"), across chunks: the first occurrence is decided, the later ones are
row errors. A dict of every id seen costs about 130 bytes of Python heap per id, which made a
streamed file's memory grow with its rows. :class:`SeenIds` keeps instead, with numpy:

* one 64-bit hash per id first seen (Python's ``hash`` of the text: equal ids, equal hashes)
  and the row that held it, in sorted runs merged as they grow (a log-structured set: a chunk
  is searched in each run, so adding ``n`` ids costs ``O(n log n)`` in all);
* the id column of each chunk (a pyarrow array: the text and a 4-byte offset per id), so a
  hash that matches is checked exactly against the earlier id's text. A match of different
  ids (a hash collision) is therefore never taken for a duplicate.

About 16 bytes of numpy plus the id's text per id, instead of ~130 of Python objects. A chunk
with no repeated hash (the usual case) is checked in a few numpy calls; the rows whose hash
repeats are resolved one by one with the exact texts, in row order, so the first occurrence
wins exactly as a dict would have it. Without numpy it is that dict.
"""

from __future__ import annotations

import bisect
import importlib
from collections.abc import Callable
from typing import Any

from accountrules.batch.errors import RowError
from accountrules.batch.validate import Chunk

_MERGE = 2  # merge the newest run into the one before while that one is under twice its size


def _numpy() -> Any:
    try:
        return importlib.import_module("numpy")
    except ImportError:  # numpy is an optional extra: the dict below then holds the ids
        return None


def duplicate_error(row: int, aid: str, first: int) -> RowError:
    message = f"duplicate account id {aid!r}: already in row {first}"
    return RowError(row, aid, "id", message, (("id", message),))


class SeenIds:
    """Valid ids seen so far in one pass over a batch; :meth:`mark` each validated chunk in order."""

    def __init__(self, hash_of: Callable[[str], int] = hash) -> None:
        """``hash_of``: the 64-bit hash of an id (tests give a weak one to force collisions)."""
        self._hash = hash_of
        self._np = _numpy()
        self._dict: dict[str, int] = {}  # without numpy: id -> first row
        self._runs: list[tuple[Any, Any]] = []  # (sorted hashes, their first rows), each run sorted
        self._starts: list[int] = []  # first row (1-based) of each kept id column
        self._columns: list[Any] = []
        self.size = 0

    @property
    def runs(self) -> int:
        """How many sorted runs of hashes are held (each chunk's ids are searched in every one)."""
        return len(self._runs)

    def mark(self, chunk: Chunk) -> None:
        """Mark the valid rows of ``chunk`` whose id an earlier valid row holds (in this chunk or an
        earlier one) as row errors, and remember the others' ids."""
        ids = chunk.ids()
        if self._np is None:
            self._mark_dict(chunk, ids)
            return
        np = self._np
        errors = chunk.errors
        keep = [j for j, aid in enumerate(ids) if aid is not None and j not in errors] \
            if errors or None in ids else None
        pos = np.arange(chunk.n, dtype=np.int64) if keep is None else np.asarray(keep, dtype=np.int64)
        if not pos.shape[0]:
            return
        texts = ids if keep is None else [ids[j] for j in keep]
        hashes = np.fromiter(map(self._hash, texts), dtype=np.int64, count=len(texts))
        # any order among equal hashes: _resolve takes the repeated ones in row order itself
        order = np.argsort(hashes)
        hashes, pos = hashes[order], pos[order]
        repeats = hashes[1:] == hashes[:-1]
        candidate = np.zeros(hashes.shape[0], dtype=np.bool_)
        candidate[1:] |= repeats
        candidate[:-1] |= repeats
        for run_h, _ in self._runs:
            at = np.searchsorted(run_h, hashes)
            np.minimum(at, run_h.shape[0] - 1, out=at)
            candidate |= run_h[at] == hashes
        fresh = ~candidate
        if candidate.any():
            fresh |= self._resolve(chunk, ids, hashes[candidate], pos[candidate], candidate)
        self._keep(chunk, hashes[fresh], pos[fresh] + (chunk.start + 1))

    def _resolve(self, chunk: Chunk, ids: list[Any], hashes: Any, pos: Any, candidate: Any) -> Any:
        """The rows whose hash repeats, exactly: a duplicate is marked, the first of an id is fresh.
        Returns, over the candidates of :meth:`mark` (in their order), which are fresh."""
        np = self._np
        first: dict[str, int] = {}
        for h in np.unique(hashes).tolist():  # earlier rows of these hashes, by their exact text
            for row in self._rows_of(h):
                first.setdefault(self._text(row), row)
        fresh = np.zeros(hashes.shape[0], dtype=np.bool_)
        for k in np.argsort(pos, kind="stable").tolist():  # in row order: the first occurrence wins
            j = int(pos[k])
            aid = ids[j]
            row = chunk.start + j + 1
            earlier = first.get(aid)
            if earlier is None:
                first[aid] = row
                fresh[k] = True
            else:
                chunk.errors[j] = duplicate_error(row, aid, earlier)
        out = np.zeros(candidate.shape[0], dtype=np.bool_)
        out[np.nonzero(candidate)[0]] = fresh
        return out

    def _rows_of(self, h: int) -> list[int]:
        np = self._np
        rows: list[int] = []
        for run_h, run_rows in self._runs:
            lo, hi = int(np.searchsorted(run_h, h, side="left")), int(np.searchsorted(run_h, h, side="right"))
            rows.extend(run_rows[lo:hi].tolist())
        return sorted(rows)

    def _text(self, row: int) -> str:
        k = bisect.bisect_right(self._starts, row) - 1
        col = self._columns[k]
        v = col[row - self._starts[k]]
        return str(v if isinstance(v, str) else v.as_py())

    def _keep(self, chunk: Chunk, hashes: Any, rows: Any) -> None:
        """Remember the fresh ids of ``chunk``: their hashes and rows as a new run, and its id column."""
        if not hashes.shape[0]:
            return
        np = self._np
        col = chunk.cols[chunk.keys.index("id")]
        if isinstance(col, list):
            col = _compact(col)
        self._starts.append(chunk.start + 1)
        self._columns.append(col)
        self.size += int(hashes.shape[0])
        runs = self._runs
        runs.append((hashes, rows))
        while len(runs) > 1 and runs[-2][0].shape[0] < _MERGE * runs[-1][0].shape[0]:
            (h1, r1), (h2, r2) = runs.pop(-2), runs.pop()
            h = np.concatenate((h1, h2))
            order = np.argsort(h, kind="stable")  # two sorted runs: timsort merges them in one pass
            runs.append((h[order], np.concatenate((r1, r2))[order]))

    def _mark_dict(self, chunk: Chunk, ids: list[Any]) -> None:
        seen = self._dict
        errors = chunk.errors
        for j, aid in enumerate(ids):
            if j in errors or aid is None:
                continue
            row = chunk.start + j + 1
            first = seen.setdefault(aid, row)
            if first != row:
                errors[j] = duplicate_error(row, aid, first)
        self.size = len(seen)


def _compact(ids: list[Any]) -> Any:
    """A list of ids as a pyarrow string array when pyarrow is installed (text and offsets, no objects)."""
    try:
        pa = importlib.import_module("pyarrow")
    except ImportError:
        return ids
    return pa.array(ids, pa.string())


__all__ = ["SeenIds", "duplicate_error"]
