"""Runs of one-line table rows read without libyaml's events (``parse/row_lines.py``, issue #10's load time).

The shortcut must be invisible: every text reads to the same tree (values, their types, the line and column
of every value and key) or to the same error, with the shortcut as without it. The documents below put
row lines where they are rows and where they only look like rows (inside block scalars, multi-line quoted
and plain scalars, flow collections), with values YAML 1.1 reads as something other than text.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import pickle
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.errors import PolicyError, PolicySyntaxError
from accountrules.parse import row_lines, yaml_source
from accountrules.parse.yaml_source import RowNode, YNode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import huge_table  # noqa: E402  (the benchmark's own policy: the shortcut must engage on it)

LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])


@pytest.fixture(autouse=True, params=LOADERS, ids=lambda loader: loader.__name__)
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(yaml_source, "_LOADER", request.param)
    yield


def shape(node: YNode) -> Any:
    """Everything a reader of the tree can see: values with their types, and where every value and key starts."""
    v = node.value
    if isinstance(v, dict):
        keys = node.key_locations
        return ("map", node.line, node.column,
                [(k, keys[k].line, keys[k].column, node.loc_of_key(k).column, shape(x)) for k, x in v.items()])
    if isinstance(v, list):
        return ("seq", node.line, node.column, [shape(x) for x in v])
    return (type(v).__name__, v, node.line, node.column, node.location.line, node.location.column)


def read(text: str, *, shortcut: bool) -> Any:
    try:
        root = yaml_source._parse(text, "p.yaml", min_run=2 if shortcut else 10**9, min_bytes=0)
    except PolicySyntaxError as e:
        return ("error", str(e), e.location)
    except yaml.YAMLError as e:  # load_yaml_text turns these into PolicySyntaxError; both sides must agree
        return ("yaml error", str(e))
    return None if root is None else shape(root)


def same_reading(text: str) -> None:
    assert read(text, shortcut=True) == read(text, shortcut=False), text


WORDS = ["gold", "iron", "x_1", "_a", "yes", "No", "on", "OFF", "true", "False", "null", "NULL", "y", "n",
         "0", "7", "012", "1_000", "0x1F", "1e3", "123456789012345678", "1234567890123456789", "nan", "inf"]
ASCII_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
CLEAN_KINDS = [  # values the shortcut reads, by how they are written (a run writes each key's values one way)
    st.sampled_from(["gold", "iron", "x_1", "_a", "T"]),
    st.one_of(st.sampled_from(["0", "7", "123456789012345678"]), st.integers(0, 10**6).map(str)),
    ASCII_TEXT.filter(lambda t: '"' not in t and "\\" not in t).map(lambda t: f'"{t}"'),
    ASCII_TEXT.filter(lambda t: "'" not in t).map(lambda t: f"'{t}'"),
]
CLEAN = st.one_of(*CLEAN_KINDS)
VALUE = st.one_of(  # any value, the shortcut's or not
    st.sampled_from(WORDS),
    st.from_regex(r"[A-Za-z0-9_]{1,6}", fullmatch=True),
    ASCII_TEXT.map(lambda t: f'"{t}"'),
    ASCII_TEXT.map(lambda t: f"'{t}'"),
    st.sampled_from(['"日本"', '""', "''", '"a\tb"', "[1, 2]", "{a: 1}", "~", "&a x", "*a", "!!str 1", "- x"]),
)
KEYS = st.sampled_from([("id", "when", "then"), ("id", "when", "kind", "risk"), ("when", "id"), ("id", "id"),
                        ("a",), ("id", "when", "then", "description")])


@st.composite
def row_line(draw: st.DrawFn, keys: tuple[str, ...], indent: int) -> str:
    clean = draw(st.integers(0, 9)) < 8  # most rows are the shortcut's: a run needs several in a row
    cells = ", ".join(f"{k}: {draw(CLEAN if clean else VALUE)}" for k in keys)
    line = f"{' ' * indent}- {{{cells}}}"
    tails = ["", "  "] if clean else [" # note", ",", "}", " x", ""]
    return line + draw(st.sampled_from(tails))


# where the run stands: as a table's rows, or where lines only look like rows
CONTEXTS = [
    ("rows:\n", 2), ("rows:\n", 0), ("t:\n  rows:\n", 4), ("text: |\n", 2), ("text: >-\n", 4), ("a: b\n", 2),
    ('x: "\n', 2), ("rows: [\n", 2), ("- {id: 0, when: \"w\", then: a}\n", 0), ("rows:\n  -\n", 2),
    ("rows:\n  - a\n", 2), ("? k\n", 2), ("k: &a\n", 2), ("", 0), ("rows:\n", 3), ("rows:\n- x\n", 2),
]
AFTERS = ["", "\n", "other: 1\n", "    more: 1\n", "   deeper\n", "  - {id: z, then: a}\n", "# c\n", "]\n", '"\n',
          "  - last\n", "---\nb: 1\n", "\t- {a: 1}\n"]


@st.composite
def document(draw: st.DrawFn) -> str:
    # half the documents are tables (the shortcut reads them), half put the lines anywhere
    head, indent = draw(st.sampled_from(CONTEXTS[:3] if draw(st.booleans()) else CONTEXTS))
    keys = draw(KEYS)
    lines = [draw(row_line(keys, indent + (draw(st.integers(0, 9)) == 0))) for _ in range(draw(st.integers(2, 7)))]
    if draw(st.booleans()):  # a second run of another shape right after the first
        other = draw(KEYS)
        lines += [draw(row_line(other, indent)) for _ in range(draw(st.integers(2, 4)))]
    end = "\n" if draw(st.booleans()) else ""
    return head + "\n".join(lines) + end + draw(st.sampled_from(AFTERS[:3] if draw(st.booleans()) else AFTERS))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document())
def test_the_shortcut_reads_every_text_as_libyaml_does(text: str) -> None:
    same_reading(text)


@st.composite
def table(draw: st.DrawFn) -> str:
    """A table whose rows are all the shortcut's: runs of one or more shapes, one after the other."""
    head, indent = draw(st.sampled_from(CONTEXTS[:3]))
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        keys = draw(KEYS.filter(lambda k: len(set(k)) == len(k)))
        kinds = [draw(st.sampled_from(CLEAN_KINDS)) for _ in keys]
        cells = [", ".join(f"{k}: {draw(kind)}" for k, kind in zip(keys, kinds, strict=True))
                 for _ in range(draw(st.integers(2, 6)))]
        lines += [f"{' ' * indent}- {{{c}}}{draw(st.sampled_from(['', ' ']))}" for c in cells]
    after = draw(st.sampled_from(AFTERS[:3]))
    return head + "\n".join(lines) + ("\n" if after or draw(st.booleans()) else "") + after


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table())
def test_the_shortcut_reads_tables_and_reads_them_as_libyaml_does(text: str) -> None:
    same_reading(text)
    root = yaml_source._parse(text, "p.yaml", min_run=2, min_bytes=0)
    assert root is not None
    items = [node for node in root.value.values() if isinstance(node.value, list)]  # type: ignore[union-attr]
    rows = items[0].value if items else root.value["t"].value["rows"].value  # type: ignore[index, union-attr]
    assert any(type(r) is RowNode for r in rows)  # type: ignore[union-attr]


@pytest.mark.parametrize("text", [
    'rows:\n  - {id: 1, when: "x > 1", then: gold}\n  - {id: 2, when: "x > 2", then: iron}\n',
    'rows:\n  - {id: 1, when: "x > 1", then: gold}\n  - {id: 2, when: "x > 2", then: yes}\n',
    'rows:\n  - {id: 1, when: "x > 1", then: gold}\n  - {id: 012, when: "x > 2", then: iron}\n',
    'text: |\n  - {id: 1, when: "x > 1", then: gold}\n  - {id: 2, when: "x > 2", then: iron}\n',
    'a: b\n  - {id: 1, when: "x", then: g}\n  - {id: 2, when: "y", then: g}\n',
    'rows: [\n  - {id: 1, when: "x", then: g}\n  - {id: 2, when: "y", then: g}\n]\n',
    'rows:\n  - {id: 1, when: "x", then: g}\n  - {id: 2, when: "y", then: g}\n      more\n',
    'rows:\n  - {id: 1, when: "x", then: g}\n  - {id: 2, when: "a longer text", then: g}\n',
    "rows:\n  - {id: a, when: 'x', then: g}\n  - {id: b, when: 'it''s', then: g}\n",
    'rows:\r\n  - {id: 1, when: "x", then: g}\r\n  - {id: 2, when: "y", then: g}\r\n',
    'rows:\n  - {id: 1, when: "x", then: g}\n  - {id: 2, when: "y", then: g}\n'
    '  - {id: 2, when: "y", then: g, then: h}\n',
])
def test_the_cases_that_look_like_rows(text: str) -> None:
    same_reading(text)


def test_rows_stay_rows_and_keep_their_places() -> None:
    text = ("tiers:\n  rows:\n    - {id: r1, when: 'x > 1', then: gold}\n"
            "    - {id: r2, when: 'a longer one', then: iron}\n    - {id: r3, when: 'y', then: gold}\n")
    root = yaml_source._parse(text, "p.yaml", min_run=2, min_bytes=0)
    assert root is not None
    rows = root.value["tiers"].value["rows"].value  # type: ignore[index, union-attr]
    assert [type(r) for r in rows] == [YNode, RowNode, RowNode]  # the first row is libyaml's reading
    second = rows[1]
    assert second.location.line == 4 and second.location.column == 7
    assert second.loc_of_key("then").column == 38 and second.value["then"].location.column == 44  # type: ignore[index]
    assert second.plain() == {"id": "r2", "when": "a longer one", "then": "iron"}
    assert rows[2].plain() == {"id": "r3", "when": "y", "then": "gold"}


def test_the_shortcut_engages_on_a_large_table(tmp_path: Path) -> None:
    path = huge_table.write_policy(tmp_path, 3000)
    root = yaml_source.load_yaml_file(path)
    rows = root.value["tiers"].value["rows"].value  # type: ignore[index, union-attr]
    assert len(rows) == 3000 and sum(type(r) is RowNode for r in rows) == 2999


def _outcome(path: Path, *, shortcut: bool = True) -> Any:
    """The errors (messages, types and places) or the decisions, trace included, with the folder left out;
    ``shortcut``: whether long runs of row lines are read by row_lines (as load_policy does) or by libyaml alone."""
    with pytest.MonkeyPatch.context() as patch:
        if not shortcut:
            patch.setattr(yaml_source, "_parse", functools.partial(yaml_source._parse, min_run=10**9))
        try:
            policy = accountrules.load_policy(path)
        except PolicyError as e:
            got: Any = ("refused", str(e), [(type(x).__name__, str(x), x.location) for x in e.errors])
        else:
            accounts = [{"id": f"A{i}", "extra": {"x": i * 37 % 9000}} for i in range(0, 900, 7)]
            got = [policy.decide(a, as_of=dt.date(2026, 6, 30)).model_dump(mode="json") for a in accounts]
    return repr(got).replace(str(path.parent), "<folder>")


OLD = '{id: 5, when: "extra.x >= 50", then: gold}'
ROW_CHANGES = [  # (the row 5 written instead, refused)
    ('{id: 4, when: "extra.x >= 50", then: gold}', True),  # duplicate id
    ('{id: 5, when: "extra.x >= ", then: gold}', True),  # bad expression
    ('{id: 5, when: "extra.y >= 50", then: gold}', True),  # unknown field
    ("{id: 5, when: \"extra.x >= 'a'\", then: gold}", True),  # type error
    ('{id: 5, when: "extra.x >= 50", then: silver}', True),  # unknown code
    ('{id: 5, when: "extra.x >= 50", then: 7}', True),  # a number as code
    ('{id: _x1, when: "extra.x >= 50", then: gold}', True),  # an id that is no id
    ('{id: 5, when: "extra.x >= 50", then: gold, risk: high}', True),  # a key tables do not have
    ('{id: x-1, when: "extra.x >= 50", then: gold}', False),  # a row that ends a run (the shortcut's pattern)
    ("{id: 5, when: 'extra.x >= 50', then: gold}", False),  # another run's shape
    (OLD, False),  # as generated: the decisions
]


@pytest.mark.parametrize(("new", "refused"), ROW_CHANGES)
def test_a_policy_reads_the_same_with_and_without_the_shortcut(tmp_path: Path, new: str, refused: bool) -> None:
    """Seed concept: the customer pyramid as a long first-hit table (huge_table.py's policy), with one bad row."""
    text = huge_table.write_policy(tmp_path, 800).read_text(encoding="utf-8").replace(OLD, new, 1)
    (tmp_path / "policy.yaml").write_text(text, encoding="utf-8")
    assert len(text) >= row_lines.MIN_BYTES
    got = _outcome(tmp_path / "policy.yaml")
    assert got == _outcome(tmp_path / "policy.yaml", shortcut=False)
    assert got.startswith("('refused'") == refused


def test_a_tree_with_rows_copies_and_pickles() -> None:
    text = "rows:\n" + "".join(f'  - {{id: {i}, when: "x >= {i}", then: gold}}\n' for i in range(5))
    root = yaml_source._parse(text, "p.yaml", min_run=2, min_bytes=0)
    assert root is not None and type(root.value["rows"].value[3]) is RowNode  # type: ignore[index, union-attr]
    for copied in (copy.deepcopy(root), pickle.loads(pickle.dumps(root))):  # noqa: S301 (our own bytes)
        assert shape(copied) == shape(root)


@st.composite
def damaged_table(draw: st.DrawFn) -> str:
    """huge_table.py's policy of 700 rows (over the size at which the shortcut engages) with a few rows
    damaged: a character inserted, deleted or replaced, or the row replaced by another row shape."""
    lines = _BIG.split("\n")
    rows = [i for i, line in enumerate(lines) if line.lstrip().startswith("- {")]
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.sampled_from(rows))
        line = lines[i]
        at = draw(st.integers(0, len(line)))
        edit = draw(st.sampled_from(["insert", "delete", "replace", "row"]))
        char = draw(st.sampled_from(list("{}[],:'\"#&*!|>-? \t x0") + ["yes", "null", "012", "\\n"]))
        if edit == "insert":
            line = line[:at] + char + line[at:]
        elif edit == "delete":
            line = line[:at] + line[at + 1:]
        elif edit == "replace":
            line = line[:at] + char + line[at + 1:]
        else:
            line = draw(st.sampled_from(["    - {id: z1, when: 'extra.x >= 5', then: gold}",
                                         "    - {id: z2, when: \"extra.x >= 5\", then: gold, seed: [T1]}",
                                         "    - id: z3\n      when: extra.x >= 5\n      then: iron",
                                         "    - {when: \"extra.x >= 5\", id: z4, then: gold}"]))
        lines[i] = line
    return "\n".join(lines)


_BIG = ""


@pytest.fixture(scope="module")
def big_table(tmp_path_factory: pytest.TempPathFactory) -> str:
    global _BIG
    _BIG = huge_table.write_policy(tmp_path_factory.mktemp("big"), 700).read_text(encoding="utf-8")
    assert len(_BIG) >= row_lines.MIN_BYTES
    return _BIG


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_damaged_long_table_loads_or_is_refused_as_without_the_shortcut(big_table: str, tmp_path: Path,
                                                                          data: st.DataObject) -> None:
    """Issue 10: every policy text loads or raises a located PolicyError; with the shortcut, the same one."""
    text = data.draw(damaged_table())
    path = Path(tempfile.mkdtemp(dir=tmp_path)) / "policy.yaml"  # hypothesis runs the test many times here
    path.write_text(text, encoding="utf-8")
    assert _outcome(path) == _outcome(path, shortcut=False)


def test_a_run_the_shortcut_would_misread_is_read_by_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first row of each run is libyaml's reading, checked against the shortcut's (row_lines._same): a
    shortcut that misread this shape (here: every value as its text plus 'x') is caught there, and the
    whole file is read by libyaml."""
    text = "rows:\n" + "".join(f'  - {{id: r{i}, when: "x >= {i}", then: gold}}\n' for i in range(5))
    monkeypatch.setattr(row_lines.Run, "value", lambda self, cells, i: cells[i] + "x")
    root = yaml_source._parse(text, "p.yaml", min_run=2, min_bytes=0)
    assert root is not None
    assert not any(type(r) is RowNode for r in root.value["rows"].value)  # type: ignore[index, union-attr]
    assert shape(root) == read(text, shortcut=False)


@pytest.mark.parametrize("per_shape", [1, 2, 64])
def test_a_file_of_many_row_shapes_compiles_a_bounded_number_of_patterns(monkeypatch: pytest.MonkeyPatch,
                                                                       per_shape: int) -> None:
    """Issue 10 (cost a policy can impose): row lines each of its own shape, or in pairs, or in runs, cost at
    most MAX_SHAPES compiled patterns per file, and the file reads as libyaml reads it."""
    compiled: list[row_lines.Shape] = []
    real = row_lines._pattern
    monkeypatch.setattr(row_lines, "_pattern", lambda kind: compiled.append(kind) or real(kind))
    shapes = 600 if per_shape < 64 else 300
    text = "rows:\n" + "".join(f"  - {{k{i}: a, id: {j}}}\n" for i in range(shapes) for j in range(per_shape))
    runs = row_lines.find_runs(text, yaml_source._plain_kind, 64)
    assert len(compiled) <= row_lines.MAX_SHAPES
    assert len(compiled) == (0 if per_shape == 1 else row_lines.MAX_SHAPES)
    assert len(runs) == (row_lines.MAX_SHAPES if per_shape == 64 else 0)
    same_reading(text)
