"""Long tables written one row per line, read without libyaml's events.

A table of tens of thousands of rows is mostly lines of one shape::

    - {id: 12, when: "revenue >= 120", then: gold}

libyaml hands each such line to Python as eight event objects, and a tree of five nodes is
built from them: most of the load of a policy at the size limit (issue #10). Here runs of
such lines (the same indentation, the same keys in the same order, values that are decimal
whole numbers, plain words or quoted text without escapes) are read by one regular expression
each, into one node per row (``yaml_source.RowNode``) that builds its mapping only if it is asked for.

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
from operator import itemgetter
from typing import Any

from accountrules.parse.yaml_errors import OTHER_LINE_BREAKS

__all__ = ["MAX_SHAPES", "MIN_BYTES", "MIN_RUN", "LineMark", "Row", "Run", "blank", "find_runs", "splice"]

MIN_RUN = 64
"""Fewer rows than this in a run are left to libyaml: the shortcut only pays on long tables."""
MIN_BYTES = 32 * 1024
"""Smaller files are not scanned for runs at all."""
MAX_SHAPES = 256
"""At most this many row shapes are compiled into patterns per file (a policy has a few tables)."""

_WORD = r"[A-Za-z_][A-Za-z0-9_]*"
# a value: a plain word or whole number, or quoted printable ASCII without escapes ('' or \)
_PLAIN, _DOUBLE, _SINGLE = "[A-Za-z0-9_]+", r"[ !#-\[\]-~]*", "[ -&(-~]*"
_VALUE = f"{_PLAIN}|\"{_DOUBLE}\"|'{_SINGLE}'"
_PAIR = f"{_WORD}: (?:{_VALUE})"
# a row line: indentation, '- {', pairs separated by ', ', '}', trailing spaces
_LINE = re.compile(f"( *)- \\{{({_PAIR}(?:, {_PAIR})*)\\}} *")
_PAIR_OF = re.compile(f"({_WORD}): ({_VALUE})(?:, |$)")
# in a run's pattern, a plain value is a word where the first row has a word, and a whole number written as the
# tree builder reads it without resolving it (no sign, no leading zero: yaml_source._DECIMAL) where the first row
# has a number; anything else ('012', '1_000', '0x1F', a word for a number) ends the run
_RUN_WORD, _RUN_NUMBER = f"({_WORD})", "(0|[1-9][0-9]{0,17})"
_QUOTED = {'"': f"\"({_DOUBLE})\"", "'": f"'({_SINGLE})'"}  # a quoted value's pattern, its text as the group

Resolve = Callable[[str], str | None]
"""The YAML 1.1 kind of a plain word ('str', 'int', 'bool', ...), as the tree builder resolves it."""


class LineMark:
    """A place in the text (0-based line and column), as a parser's mark gives it."""

    __slots__ = ("column", "line")

    def __init__(self, line: int, column: int) -> None:
        self.line = line
        self.column = column


Row = tuple[int, tuple[str, ...], tuple[tuple[int, int], ...]]
"""A row of a run: its 0-based line, its cells as written (a quoted one without its quotes), the run pattern's
group spans in its line."""


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive row lines of one shape: ``rows[0]`` is the line libyaml reads and checks."""

    first: int  # 0-based line of the first row
    indent: int  # column of its '-'
    keys: tuple[str, ...]
    # per key, how every row writes its value (see Shape): quoted ('"', "'": the pattern's group holds the text
    # inside the quotes), a whole number ('0') or a word ('a')
    written: tuple[str, ...]
    rows: list[Row]

    def value(self, cells: tuple[str, ...], i: int) -> str | int:
        """Value ``i`` of a row as YAML reads it."""
        return int(cells[i]) if self.written[i] == "0" else cells[i]

    def is_text(self, i: int) -> bool:
        """Whether YAML reads value ``i`` of every row as text."""
        return self.written[i] != "0"

    @property
    def row_column(self) -> int:
        """The 0-based column where each row starts (its '{')."""
        return self.indent + 2

    def value_column(self, spans: tuple[tuple[int, int], ...], i: int) -> int:
        """The 0-based column where value ``i`` of a row starts (its opening quote, when quoted)."""
        return spans[i + 1][0] - (self.written[i] in _QUOTED)

    def key_column(self, spans: tuple[tuple[int, int], ...], i: int) -> int:
        """The 0-based column where key ``i`` of a row starts (it is followed by ': ' and the value)."""
        return self.value_column(spans, i) - len(self.keys[i]) - 2


def find_runs(text: str, resolve: Resolve, min_run: int = MIN_RUN) -> list[Run]:
    """The runs of at least ``min_run`` row lines in ``text``; none when it holds line breaks other than newline
    (YAML counts those as line breaks too, and a line number here is a count of newlines)."""
    if any(c in text for c in OTHER_LINE_BREAKS):
        return []
    runs: list[Run] = []
    words: dict[str, bool] = {}  # plain word -> YAML reads it as text
    # a run's pattern per shape; None for a shape no run can have (a key twice). A pattern is compiled only for a
    # shape the next line has too, and for at most MAX_SHAPES of them: a file of row lines each of its own shape
    # costs a look at each line, not a compilation each (the rest of such a file is left to libyaml)
    shapes: dict[Shape, re.Pattern[str] | None] = {}
    lines = text.split("\n")
    n, total = 0, len(lines)
    while n < total:
        kind = _shape(lines[n])
        n += 1
        if kind is None:
            continue
        if kind not in shapes:
            if n >= total or _shape(lines[n]) != kind:
                continue  # a row line unlike the next: no run starts here
            if len(shapes) >= MAX_SHAPES:
                break
            shapes[kind] = _pattern(kind)
        pattern = shapes[kind]
        first = pattern.fullmatch(lines[n - 1]) if pattern is not None else None
        if pattern is None or first is None:
            continue  # a key twice, or a plain value that is no word and no whole number as written
        run = Run(n - 1, *kind, [(n - 1, first.groups(), first.regs)])
        # the hot loop of a large table's reading, one line a row: the words are checked after it, per distinct word
        match, rows = pattern.fullmatch, run.rows
        while n < total and (m := match(lines[n])) is not None:
            rows.append((n, m.groups(), m.regs))
            n += 1
        refused = _first_refused(run, words, resolve)
        if refused is not None:
            del rows[refused:]
            n = run.first + refused + 1  # that line is libyaml's to read; a run may start after it
        if len(rows) >= min_run:
            runs.append(run)
    return runs


Shape = tuple[int, tuple[str, ...], tuple[str, ...]]
"""A row line's indentation, keys, and how each value is written: '"' or "'" (quoted), '0' (a whole number), 'a'
(a word)."""


def _shape(line: str) -> Shape | None:
    """The shape of a row line, or None when ``line`` is no row line."""
    m = _LINE.fullmatch(line)
    if m is None:
        return None
    pairs = _PAIR_OF.findall(m.group(2))
    return (len(m.group(1)), tuple(k for k, _ in pairs),
            tuple(v[0] if v[0] in "\"'" else "0" if v[0] <= "9" else "a" for _, v in pairs))


def _pattern(kind: Shape) -> re.Pattern[str] | None:
    """The pattern of a run's lines: these keys in this order, each value written the same way (quoted alike, a word,
    or a whole number), so that only the words need a look after the run is matched; None for a key twice."""
    indent, keys, written = kind
    if len(set(keys)) != len(keys):
        return None  # libyaml's reading, with its error
    cells = ", ".join(f"{k}: {_QUOTED[w] if w in _QUOTED else _RUN_NUMBER if w == '0' else _RUN_WORD}"
                      for k, w in zip(keys, written, strict=True))
    return re.compile(f"{' ' * indent}- \\{{{cells}\\}} *")


def _first_refused(run: Run, words: dict[str, bool], resolve: Resolve) -> int | None:
    """The first row of ``run`` with a plain word YAML reads as something other than text ('yes', 'null', ...),
    or None. A table repeats a few words (its codes) many times, so each distinct one is resolved once."""
    rows = run.rows
    plain = [i for i, w in enumerate(run.written) if w == "a"]  # the columns of plain words
    bad: set[str] = set()
    for i in plain:
        for word in set(map(itemgetter(i), map(itemgetter(1), rows))):
            ok = words.get(word)
            if ok is None:
                ok = words[word] = resolve(word) == "str"
            if not ok:
                bad.add(word)
    if not bad:
        return None
    return next(k for k, (_, cells, _) in enumerate(rows) if any(cells[i] in bad for i in plain))


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
    wanted = {(run.first, run.row_column): run for run in runs}
    found: dict[int, tuple[list[Any], int]] = {}  # run first line -> (the list holding its first row, its index)
    stack = [root]
    while stack:
        node = stack.pop()
        value = node.value
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            for i, item in enumerate(value):
                run = wanted.get((item.line - 1, item.column - 1)) if isinstance(item.value, dict) else None
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
    line, cells, spans = run.rows[0]
    for i, key in enumerate(run.keys):
        want, got, key_at = run.value(cells, i), value[key], node.loc_of_key(key)
        if (type(got.value) is not type(want) or got.value != want
                or (got.line, got.column) != (line + 1, run.value_column(spans, i) + 1)
                or (key_at.line, key_at.column) != (line + 1, run.key_column(spans, i) + 1)):
            return False
    return True
