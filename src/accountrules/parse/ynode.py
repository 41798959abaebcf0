"""The tree the YAML reader builds: every value and key with the place it starts.

:class:`YNode` is what :mod:`accountrules.parse.yaml_source` returns; :class:`RowNode` is a table
row read by :mod:`accountrules.parse.row_lines`, its mapping built only when something reads it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Protocol

from accountrules.errors import SourceLocation
from accountrules.parse import row_lines

__all__ = ["Mark", "RowNode", "YNode", "location_of"]


class Mark(Protocol):
    """Where an event starts, as either parser gives it (0-based)."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


class YNode:
    """A YAML value with the location of its first character (1-based line and column).

    Built once per value of a policy (half a million of them in a large table), so it is a plain
    slotted object that keeps the parser's start mark of the value as it came: its line and column,
    the :class:`SourceLocation` of the value and those of a mapping's keys are worked out when asked
    for (on an error, mostly). Treat it as read-only.
    """

    __slots__ = ("value", "file", "_mark", "_keys")

    def __init__(self, value: None | bool | int | float | str | datetime.date | list[YNode] | dict[str, YNode],
                 file: str, mark: Mark | None, keys: dict[str, Mark | None] | None = None) -> None:
        self.value = value
        self.file = file
        self._mark = mark  # the parser's start mark (0-based line and column)
        self._keys = keys  # a mapping's keys -> the start mark of each

    def __repr__(self) -> str:
        return f"YNode({self.value!r}, {self.location})"

    @property
    def line(self) -> int:
        return self._mark.line + 1 if self._mark is not None else 1

    @property
    def column(self) -> int:
        return self._mark.column + 1 if self._mark is not None else 1

    @property
    def location(self) -> SourceLocation:
        mark = self._mark  # location_of() inlined: asked for once or twice a row of a long table
        return SourceLocation(self.file, mark.line + 1, mark.column + 1) if mark is not None else \
            SourceLocation(self.file, 1, 1)

    @property
    def key_locations(self) -> Mapping[str, SourceLocation]:
        """Where each key of a mapping starts (empty for other values)."""
        keys = self._keys or {}
        return {k: location_of(self.file, mark) for k, mark in keys.items()}

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_sequence(self) -> bool:
        return isinstance(self.value, list)

    def get(self, key: str) -> YNode | None:
        """The value under ``key``; None if there is none or this is not a mapping."""
        return self.value.get(key) if isinstance(self.value, dict) else None

    def loc_of_key(self, key: str) -> SourceLocation:
        """Where ``key`` starts; the mapping's own location if the key is absent."""
        if self._keys is None or key not in self._keys:
            return self.location
        return location_of(self.file, self._keys[key])

    def plain(self) -> Any:
        """The value as plain dicts, lists and scalars."""
        if isinstance(self.value, dict):
            return {k: v.plain() for k, v in self.value.items()}
        if isinstance(self.value, list):
            return [v.plain() for v in self.value]
        return self.value


class SpelledNumber(YNode):
    """A number whose text as written is not what ``str()`` of its value gives (``1.10``, ``012``, ``1_000``).

    Where the policy wants text (a version, an id, a label) it is read as ``spelling``: ``version: 1.10``
    is release '1.10', not '1.1'. Only such numbers get one, so the common scalars cost nothing more."""

    __slots__ = ("spelling",)

    def __init__(self, value: int | float, file: str, mark: Mark | None, spelling: str) -> None:  # noqa: D107
        super().__init__(value, file, mark)
        self.spelling = spelling


class RowNode(YNode):
    """A table row read by :mod:`row_lines`. Its mapping (``value``, and the places of its keys) is built the
    first time something reads it; the schema reader takes the row's parts (``run``, ``row``) without it."""

    __slots__ = ("run", "row")

    def __init__(self, run: row_lines.Run, row: row_lines.Row, file: str) -> None:  # noqa: D107
        # value, _keys and _mark are left unset: reading one falls through to __getattr__, once
        self.run = run
        self.row = row
        self.file = file

    def __getattr__(self, name: str) -> Any:
        # only the lazy slots are made here (any other name, 'row' on a copy being built included, is missing)
        if name not in ("value", "_keys", "_mark"):
            raise AttributeError(name)
        line, cells, spans = self.row
        run, file = self.run, self.file
        if name == "_mark":
            self._mark = row_lines.LineMark(line, run.row_column)
            return self._mark
        self.value = {k: YNode(run.value(cells, i), file, row_lines.LineMark(line, run.value_column(spans, i)))
                      for i, k in enumerate(run.keys)}
        self._keys = {k: row_lines.LineMark(line, run.key_column(spans, i)) for i, k in enumerate(run.keys)}
        return self.value if name == "value" else self._keys

    @property
    def location(self) -> SourceLocation:
        return SourceLocation(self.file, self.row[0] + 1, self.run.row_column + 1)  # without making the mark


def location_of(file: str, mark: Mark | None) -> SourceLocation:
    return SourceLocation(file, mark.line + 1, mark.column + 1) if mark is not None else SourceLocation(file, 1, 1)
