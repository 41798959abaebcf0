"""The compact set of ids seen (batch/seen_ids.py) refuses exactly what a dict of every id refuses.

Duplicates are refused across chunks with the row of the first occurrence; a hash collision
between different ids (forced here with weak hashes) is never taken for a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.batch.errors import RowError
from accountrules.batch.seen_ids import SeenIds
from accountrules.batch.validate import Chunk

pytest.importorskip("numpy")

_ids = st.lists(st.one_of(st.none(), st.sampled_from(["A1", "A2", "B", "Ω", "a1", "A10", "x" * 30]),
                          st.text(min_size=1, max_size=4)), max_size=60)


def _chunks(ids: list[str | None], size: int, bad: set[int], arrow: bool) -> list[Chunk]:
    out = []
    for start in range(0, len(ids), size):
        part = ids[start: start + size]
        col: object = part
        if arrow:
            pa = pytest.importorskip("pyarrow")
            col = pa.array(part, pa.string())
        errors = {j: RowError(start + j + 1, part[j], "x", "bad", (("x", "bad"),))
                  for j in range(len(part)) if start + j in bad}
        out.append(Chunk(start, len(part), ("id",), [col], {}, errors))
    return out


def _reference(ids: list[str | None], bad: set[int]) -> dict[int, str]:
    """{row: message} of the duplicates, by a dict of every id (what the batch did before)."""
    seen: dict[str, int] = {}
    out = {}
    for i, aid in enumerate(ids):
        if aid is None or i in bad:
            continue
        first = seen.setdefault(aid, i + 1)
        if first != i + 1:
            out[i + 1] = f"duplicate account id {aid!r}: already in row {first}"
    return out


def _marked(chunks: list[Chunk], seen: SeenIds) -> dict[int, str]:
    out = {}
    for c in chunks:
        seen.mark(c)
        out.update({e.row: e.message for e in c.errors.values() if e.message != "bad"})
    return out


_HASHES: dict[str, Callable[[str], int]] = {"hash": hash, "len": len, "one": lambda s: 1}


@settings(max_examples=150, deadline=None)
@given(ids=_ids, size=st.integers(1, 9), bad=st.sets(st.integers(0, 59), max_size=8),
       arrow=st.booleans(), weak=st.sampled_from(sorted(_HASHES)))
def test_the_same_rows_refused_as_a_dict_would(ids: list[str | None], size: int, bad: set[int], arrow: bool,
                                               weak: str) -> None:
    seen = SeenIds(_HASHES[weak])
    got = _marked(_chunks(ids, size, bad, arrow), seen)
    assert got == _reference(ids, bad)
    assert seen.size == len({a for i, a in enumerate(ids) if a is not None and i not in bad})


def test_colliding_ids_are_both_kept_and_a_later_repeat_names_its_own_first_row() -> None:
    seen = SeenIds(lambda s: 7)  # every id has the same hash
    chunks = _chunks(["A", "B", "C", "B", "A", "D", "C"], 2, set(), arrow=True)
    assert _marked(chunks, seen) == {4: "duplicate account id 'B': already in row 2",
                                     5: "duplicate account id 'A': already in row 1",
                                     7: "duplicate account id 'C': already in row 3"}


def test_many_chunks_merge_into_few_runs() -> None:
    seen = SeenIds()
    ids = [f"A{i}" for i in range(5_000)]
    chunks = _chunks([*ids, "A17", "A4999"], 100, set(), arrow=True)
    assert _marked(chunks, seen) == {5_001: "duplicate account id 'A17': already in row 18",
                                     5_002: "duplicate account id 'A4999': already in row 5000"}
    assert seen.runs <= 8  # the runs are merged as they grow, not one per chunk (51 chunks)
