"""What a policy means once rows have matched: hit policies, stage steps, churn risk, action merging.

Every evaluator only answers "which rows of this section match?" — the compiled and
durable evaluators per account (a list of row indices), the vector evaluator per batch
(one boolean mask per row). Turning those matches into outcomes, and the
:class:`DecisionError` a conflict raises, is written here once, in both shapes, so the
evaluators cannot drift apart:

* per account: :func:`resolve`, :func:`stage_current`, :func:`stage_stay`,
  :func:`churn_risk`, :func:`merge_actions`;
* per batch: :func:`first_true`, :func:`resolve_masks`, :func:`stage_masks`,
  :func:`merge_action_masks` (numpy is imported lazily: it is an optional extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accountrules.compile.plan import CRow, CStages, CTable
from accountrules.errors import DecisionError
from accountrules.i18n import N_, Message

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "MaskResolution",
    "MergedActions",
    "churn_risk",
    "conflict_message",
    "first_true",
    "merge_action_masks",
    "merge_actions",
    "priority_order",
    "resolve",
    "resolve_masks",
    "stage_current",
    "stage_masks",
    "stage_stay",
]

_NO_RANK = 1 << 30


def conflict_message(section: str, hit: str, ids: Sequence[str]) -> Message:
    """The reason of the DecisionError a 'unique' or 'any' conflict raises (made only for a row that
    conflicts: a batch formats none for the rows it decides)."""
    if hit == "unique":
        return Message(N_("{section} is 'unique' but rows {rows} all match"), section=section, rows=", ".join(ids))
    return Message(N_("{section} is 'any' but matching rows disagree ({rows})"), section=section, rows=", ".join(ids))


def priority_order(table: CTable) -> list[int]:
    """Row indices by (position of their output in ``values``, index): the order 'priority' picks in."""
    rows = table.rows
    return sorted(range(len(rows)), key=lambda i: (table.rank.get(rows[i].row.then or "", _NO_RANK), i))


# -- per account ----------------------------------------------------------------------------------


def resolve(table: CTable, matched: Sequence[int], account_id: str) -> tuple[CRow | None, str | None]:
    """The deciding row (None: the default applies) and the output of a table, from its matched rows."""
    if not matched:
        return None, table.table.default
    rows = table.rows
    hit = table.table.hit  # the field, not the property: once per table and account
    if hit == "first":
        r = rows[matched[0]]
        return r, r.row.then
    if hit in ("unique", "any"):
        conflict = len(matched) > 1 if hit == "unique" else len({rows[i].row.then for i in matched}) > 1
        if conflict:
            ids = [rows[i].row.id for i in matched]
            raise DecisionError(conflict_message(table.section, hit, ids), account_id, ids)
        r = rows[matched[0]]
        return r, r.row.then
    best = min(matched, key=lambda i: (table.rank.get(rows[i].row.then or "", _NO_RANK), i))
    return rows[best], rows[best].row.then


def stage_current(stages: CStages, given: Any) -> str:
    """The state an account is in: the stage it gives when that is a state, else the start state."""
    return given if given in stages.states else stages.start


def stage_stay(stages: CStages, current: str) -> str:
    """Where an account goes when no transition fires."""
    return current if stages.otherwise == "stay" else stages.otherwise


def churn_risk(table: CTable, row: CRow | None) -> str | None:
    """The risk of the churn row that decided, or the table's default risk."""
    return row.row.risk if row is not None else table.table.default_risk


def merge_actions(fired: Iterable[CRow]) -> dict[str, tuple[str, ...]]:
    """Action code -> ids of the rules that asked for it, codes in first-asked order."""
    # tuples of text, not lists: a Decision keeps them, and the cyclic collector stops looking at a tuple
    # of text after its first pass over it, where it walks a list at every pass of a caller holding many
    out: dict[str, tuple[str, ...]] = {}
    for r in fired:
        rid = (r.row.id,)
        for code in r.row.actions:
            had = out.get(code)
            out[code] = rid if had is None else had + rid
    return out


# -- per batch ------------------------------------------------------------------------------------


def first_true(fires: Sequence[NDArray[Any]], n: int) -> NDArray[Any]:
    """Index of the first true mask per row; -1 when none (first-hit over masks)."""
    import numpy as np

    idx = np.full(n, -1, dtype=np.int64)
    # masks stacked a block at a time: one argmax finds a block's first true row, not a mask assignment
    # per table row; a block bounds the copy a long table would make
    for lo in range(0, len(fires), _FIRST_BLOCK):
        block = np.stack(fires[lo:lo + _FIRST_BLOCK])
        first = block.argmax(axis=0)
        first += lo
        np.copyto(idx, first, where=block.any(axis=0) & (idx < 0))
    return idx


_FIRST_BLOCK = 64


class MaskResolution:
    """A table resolved over a batch: the deciding row per batch row (-1: default) and the conflicts."""

    __slots__ = ("conflicts", "idx")

    def __init__(self, idx: NDArray[Any], conflicts: dict[int, tuple[Message, tuple[str, ...]]]):
        self.idx = idx
        self.conflicts = conflicts  # batch row -> (DecisionError reason, row ids)


def resolve_masks(table: CTable, fires: Sequence[NDArray[Any]], n: int, order: Sequence[int] | None = None,
                  skip: NDArray[Any] | None = None) -> MaskResolution:
    """:func:`resolve` for a batch: ``fires[i]`` is the mask of the rows where table row ``i`` matched.

    ``order`` is :func:`priority_order` (computed once by the caller); rows in ``skip`` (already
    failed) are never reported as conflicts.
    """
    import numpy as np

    hit = table.hit
    if hit == "priority":
        order = priority_order(table) if order is None else order
        pos = first_true([fires[i] for i in order], n)
        lut = np.array([*order, -1], dtype=np.int64)  # pos -1 reads the last slot
        idx = lut[pos]
    else:
        idx = first_true(fires, n)
    conflicts: dict[int, tuple[Message, tuple[str, ...]]] = {}
    if hit in ("unique", "any") and fires:
        rows = table.rows
        if hit == "unique":
            count = np.zeros(n, dtype=np.int32)
            for f in fires:
                count += f
            bad = count > 1
        else:
            distinct = np.zeros(n, dtype=np.int32)
            by_output: dict[str | None, Any] = {}
            for i, r in enumerate(rows):
                acc = by_output.get(r.row.then)
                by_output[r.row.then] = fires[i] if acc is None else acc | fires[i]
            for any_o in by_output.values():
                distinct += any_o
            bad = distinct > 1
        if skip is not None:
            bad &= ~skip
        for b in np.nonzero(bad)[0].tolist():
            ids = tuple(rows[i].row.id for i, f in enumerate(fires) if f[b])
            conflicts[b] = (conflict_message(table.section, hit, ids), ids)
    return MaskResolution(idx, conflicts)


def stage_masks(given: NDArray[Any], states: Sequence[int], start: int, otherwise: int,
                sources: Sequence[Sequence[int]], then: NDArray[Any], fires: Sequence[NDArray[Any]]) -> tuple[
                    NDArray[Any], NDArray[Any]]:
    """The stage step over a batch, states as codes: ``given`` per row (-1 unknown), ``otherwise``
    -1 for 'stay', per transition its source states, target and match mask. Returns the transition
    that fired per row (-1: none) and the state each row goes to (:func:`stage_current`,
    :func:`stage_stay` per row)."""
    import numpy as np

    n = given.shape[0]
    current = np.full(n, start, dtype=np.int64)
    for s in states:
        current[given == s] = s
    allowed = []
    for j, srcs in enumerate(sources):
        from_ok = np.zeros(n, dtype=np.bool_)
        for s in srcs:
            from_ok |= current == s
        allowed.append(fires[j] & from_ok)
    idx = first_true(allowed, n)
    stay = current if otherwise < 0 else np.full(n, otherwise, dtype=np.int64)
    to = np.where(idx >= 0, then[np.maximum(idx, 0)] if len(then) else -1, stay)
    return idx, to


@dataclass(frozen=True, slots=True)
class MergedActions:
    """:func:`merge_actions` for every row of a boolean matrix of fired action rules, as ragged arrays:
    row ``p``'s action codes are ``codes[code_values[code_offsets[p]:code_offsets[p + 1]]]`` (first-asked
    order, each code once) and its fired rules are ``rule_values[rule_offsets[p]:rule_offsets[p + 1]]``
    (indices into the action rules, in rule order)."""

    codes: tuple[str, ...]
    code_offsets: NDArray[Any]
    code_values: NDArray[Any]
    rule_offsets: NDArray[Any]
    rule_values: NDArray[Any]

    def __len__(self) -> int:
        return len(self.code_offsets) - 1

    def row(self, p: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """Row ``p``'s merged codes and the indices of its fired rules (what :func:`merge_actions` keys)."""
        c = self.code_values[self.code_offsets[p]:self.code_offsets[p + 1]].tolist()
        r = self.rule_values[self.rule_offsets[p]:self.rule_offsets[p + 1]].tolist()
        return tuple(self.codes[i] for i in c), tuple(r)


def merge_action_masks(rules: Sequence[CRow], fired: NDArray[Any]) -> MergedActions:
    """:func:`merge_actions` over a batch: ``fired[p, i]`` says action rule ``i`` fired for row ``p``.

    Each (rule, code) pair the rules ask for is a slot, numbered in asking order. A row asks for
    a code first at the earliest of that code's slots whose rule fired for it, so marking, per
    row, the slots that first ask for their code and reading the marks in row-major order gives
    every row's codes in first-asked order, with no Python per row and no sort: the marks are
    made one slot at a time over all rows (a vector operation or two a slot), not per row.
    """
    import numpy as np

    n, width = fired.shape
    codes: dict[str, int] = {}
    slot_rule: list[int] = []
    slot_code: list[int] = []
    for i, r in enumerate(rules):
        for code in r.row.actions:
            slot_rule.append(i)
            slot_code.append(codes.setdefault(code, len(codes)))
    code_offsets = np.zeros(n + 1, dtype=np.int64)
    slots = len(slot_rule)
    if slots and n:
        by_rule = np.ascontiguousarray(fired.T)  # a rule's column, contiguous
        first = np.empty((slots, n), dtype=np.bool_)  # slot × row: the slot first asks for its code
        seen: dict[int, NDArray[Any]] = {}  # code -> the rows that asked for it in an earlier slot
        for s, (i, c) in enumerate(zip(slot_rule, slot_code, strict=True)):
            asked = by_rule[i]
            before = seen.get(c)
            if before is None:
                first[s] = asked
                seen[c] = asked.copy()
            else:
                np.greater(asked, before, out=first[s])  # asked here, not before
                before |= asked
        at = np.flatnonzero(np.ascontiguousarray(first.T))  # row-major: by row, then slot
        code_values = np.asarray(slot_code, dtype=np.int64)[at % slots]
        np.cumsum(np.bincount(at // slots, minlength=n), out=code_offsets[1:])
    else:
        code_values = np.zeros(0, dtype=np.int64)
    rule_offsets = np.zeros(n + 1, dtype=np.int64)
    if n:
        np.cumsum(fired.sum(axis=1), out=rule_offsets[1:])
    # row-major positions of the fired cells: their rule is the position within a row
    rule_values = (np.flatnonzero(fired) % width).astype(np.int64, copy=False) if width else np.zeros(0, np.int64)
    return MergedActions(tuple(codes), code_offsets, code_values, rule_offsets, rule_values)
