"""Long tables written one row per line, read without libyaml's events.

A table of tens of thousands of rows is mostly lines of one shape::

    - {id: 12, when: "revenue >= 120", then: gold}

libyaml hands each such line to Python as eight event objects, and a tree of five nodes is
built from them: most of the load of a policy at the size limit (issue #10). Here runs of
such lines (the same indentation, the same keys in the same order, values that are decimal
whole numbers, plain words or quoted text without escapes) are read by one regular expression
each, into one :class:`RowLine` node per row that builds its mapping only if it is asked for.

This is not a second YAML reader. libyaml still reads the whole file: the first line of a run
as it stands, the others as empty lines (so every later line and column is unchanged). The
run's rows are then put into the tree after its first row, and only when libyaml read that
first row as an item of a block sequence, at the expected place, with the very keys, values
and places this module read from it. Any other outcome (a run that sits inside a block
scalar, a multi-line quoted or plain scalar, a flow collection; a YAML error anywhere) drops
the shortcut, and the file is read again as written. The argument that the rest of the file
reads the same: a one-line flow mapping closes on its line, so after each row of the run the
parser is in the same state, in the same block sequence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["MIN_BYTES", "MIN_RUN", "LineMark", "Row", "Run", "blank", "find_runs", "splice"]

MIN_RUN = 64
"""Fewer rows than this in a run are left to libyaml: the shortcut only pays on long tables."""
MIN_BYTES = 32 * 1024
"""Smaller files are not scanned for runs at all."""

_WORD = r"[A-Za-z_][A-Za-z0-9_]*"
# a value: a plain word or whole number, or quoted printable ASCII without escapes ('' or \)
_PLAIN, _DOUBLE, _SINGLE = "[A-Za-z0-9_]+", r"[ !#-\[\]-~]*", "[ -&(-~]*"
_VALUE = f"{_PLAIN}|\"{_DOUBLE}\"|'{_SINGLE}'"
_PAIR = f"{_WORD}: (?:{_VALUE})"
# a row line: indentation, '- {', pairs separated by ', ', '}', trailing spaces
_LINE = re.compile(f"( *)- \\{{({_PAIR}(?:, {_PAIR})*)\\}} *")
_PAIR_OF = re.compile(f"({_WORD}): ({_VALUE})(?:, |$)")
_DECIMAL = re.compile("0|[1-9][0-9]{0,17}")  # as yaml_source reads plain whole numbers

Resolve = Callable[[str], str | None]
"""The YAML 1.1 kind of a plain word ('str', 'int', 'bool', ...), as the tree builder resolves it."""


class LineMark:
    """A place in the text (0-based line and column), as a parser's mark gives it."""

    __slots__ = ("column", "line")

    def __init__(self, line: int, column: int) -> None:
        self.line = line
        self.column = column


Row = tuple[int, tuple[Any, ...], tuple[tuple[int, int], ...]]
"""A row of a run: its 0-based line, its values, the run pattern's group spans in its line."""


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive row lines of one shape: ``rows[0]`` is the line libyaml reads and checks."""

    first: int  # 0-based line of the first row
    indent: int  # column of its '-'
    keys: tuple[str, ...]
    quoted: tuple[bool, ...]  # per key: its value is quoted (the pattern's group holds the text inside the quotes)
    # per row: its line, its values and the pattern's group spans (columns: see value_column)
    rows: list[Row]

    def value_column(self, spans: tuple[tuple[int, int], ...], i: int) -> int:
        """The 0-based column where value ``i`` of a row starts (its opening quote, when quoted)."""
        return spans[i + 1][0] - self.quoted[i]

    def key_column(self, spans: tuple[tuple[int, int], ...], i: int) -> int:
        """The 0-based column where key ``i`` of a row starts (it is followed by ': ' and the value)."""
        return self.value_column(spans, i) - len(self.keys[i]) - 2


def find_runs(text: str, resolve: Resolve, min_run: int = MIN_RUN) -> list[Run]:
    """The runs of at least ``min_run`` row lines in ``text``; none when it holds line breaks other than newline
    (YAML counts those as line breaks too, and a line number here is a count of newlines)."""
    if "\r" in text or "\x85" in text or "\u2028" in text or "\u2029" in text:
        return []
    runs: list[Run] = []
    shape: re.Pattern[str] | None = None
    current: Run | None = None
    plain: tuple[int, ...] = ()  # positions of the plain (unquoted) values of the current run
    words: dict[str, Any] = {}  # plain word -> its value, or _REFUSED
    for n, line in enumerate(text.split("\n")):
        m = shape.fullmatch(line) if shape is not None else None
        if m is not None:
            assert current is not None
            values = _values(m.groups(), plain, words, resolve)
            if values is not None:
                current.rows.append((n, values, m.regs))
                continue
        if current is not None and len(current.rows) >= min_run:
            runs.append(current)
        current, shape = _start(line, n, words, resolve)
        plain = tuple(i for i, q in enumerate(current.quoted) if not q) if current is not None else ()
    if current is not None and len(current.rows) >= min_run:
        runs.append(current)
    return runs


_QUOTED = {'"': f"\"({_DOUBLE})\"", "'": f"'({_SINGLE})'"}  # a quoted value's pattern, its text as the group


def _start(line: str, n: int, words: dict[str, Any], resolve: Resolve) -> tuple[Run | None, re.Pattern[str] | None]:
    """A run opened by ``line`` and the pattern of its lines, or (None, None) when it is no row line."""
    m = _LINE.fullmatch(line)
    if m is None:
        return None, None
    indent = len(m.group(1))
    pairs = _PAIR_OF.findall(m.group(2))
    keys = tuple(k for k, _ in pairs)
    if len(set(keys)) != len(keys):
        return None, None  # a duplicate key: libyaml's reading, with its error
    quoted = tuple(v[0] in "\"'" for _, v in pairs)
    # the run's pattern: these keys in this order, each value quoted the same way as here
    cells = ", ".join(f"{k}: {_QUOTED[v[0]] if q else f'({_PLAIN})'}" for (k, v), q in zip(pairs, quoted, strict=True))
    shape = re.compile(f"{' ' * indent}- \\{{{cells}\\}} *")
    first = shape.fullmatch(line)
    assert first is not None  # the same line, read by its own pattern
    plain = tuple(i for i, q in enumerate(quoted) if not q)
    values = _values(first.groups(), plain, words, resolve)
    if values is None:
        return None, None
    return Run(n, indent, keys, quoted, [(n, values, first.regs)]), shape


_REFUSED = object()


def _values(cells: tuple[str, ...], plain: tuple[int, ...], words: dict[str, Any],
            resolve: Resolve) -> tuple[Any, ...] | None:
    """The values of a row's cells as YAML reads them (``plain``: which are unquoted); None when one is anything
    but text or a decimal whole number."""
    if not plain:
        return cells
    out: list[Any] = list(cells)
    for i in plain:
        cell = out[i]
        value = words.get(cell)
        if value is None:
            if _DECIMAL.fullmatch(cell):
                out[i] = int(cell)  # a row id: as the tree builder reads one, without resolving it
                continue
            kind = resolve(cell)
            value = words[cell] = cell if kind == "str" else _REFUSED
        if value is _REFUSED:
            return None
        out[i] = value
    return tuple(out)


def blank(text: str, runs: list[Run]) -> str:
    """``text`` with every row line of ``runs`` but the first of each emptied (lines and columns kept)."""
    lines = text.split("\n")
    for run in runs:
        start, stop = run.rows[1][0], run.rows[-1][0] + 1
        lines[start:stop] = [""] * (stop - start)
    return "\n".join(lines)


def splice(root: Any, runs: list[Run], file: str, node_of: Callable[[Run, Row, str], Any]) -> bool:
    """Put each run's rows (as ``node_of`` makes them) into the tree after its first row, when libyaml read that
    first row as :func:`find_runs` did (see the module docstring); False, with the tree untouched, when not."""
    wanted = {(run.first, run.indent + 2): run for run in runs}
    found: dict[int, tuple[list[Any], int]] = {}  # run first line -> (the list holding its first row, its index)
    stack = [root]
    while stack:
        node = stack.pop()
        value = node.value
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            for i, item in enumerate(value):
                mark = item._mark
                run = wanted.get((mark.line, mark.column)) if isinstance(item.value, dict) and mark else None
                if run is not None and node.column - 1 == run.indent and _same(item, run):
                    found[run.first] = (value, i)
                else:
                    stack.append(item)
    if len(found) != len(runs):
        return False
    for run in reversed(runs):  # last first: a run's rows move the index of a later run's first row in the same list
        items, i = found[run.first]
        items[i + 1:i + 1] = [node_of(run, row, file) for row in run.rows[1:]]
    return True


def _same(node: Any, run: Run) -> bool:
    """Whether libyaml read the run's first row as :func:`find_runs` did: keys, values (and their types) and places."""
    value: dict[str, Any] = node.value
    if tuple(value) != run.keys:
        return False
    line, values, spans = run.rows[0]
    for i, (key, want) in enumerate(zip(run.keys, values, strict=True)):
        column, key_column = run.value_column(spans, i), run.key_column(spans, i)
        got = value[key]
        key_mark = node._keys.get(key) if node._keys is not None else None
        if (type(got.value) is not type(want) or got.value != want or got._mark is None
                or (got._mark.line, got._mark.column) != (line, column)
                or key_mark is None or (key_mark.line, key_mark.column) != (line, key_column)):
            return False
    return True
