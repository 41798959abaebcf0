"""A CSV file without a quote character is parsed line by line (issue 8: CSV at the engine's speed).

Only a quoted cell can hold a line break, so for a plain UTF-8 file with no ``"`` the reader lets
pyarrow parse lines plainly and skips the search for joined rows in every cell (issue 10's check
for what an unclosed quote leaves). That must change nothing: the chunks (cells, unreadable rows
and their reasons) equal those of the general path, for every line ending, blank and ragged line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accountrules.io import readers
from accountrules.io.readers import iter_csv

NAMES = ["id", "name", "x"]


def _chunks(path: Path, chunk_rows: int) -> list[tuple[int, Any, dict[int, str]]]:
    out = []
    for c in iter_csv(path, NAMES, chunk_rows):
        data = c.data.to_pydict() if hasattr(c.data, "to_pydict") else {k: list(v) for k, v in c.data.items()}
        out.append((c.n, data, dict(c.unreadable)))
    return out


_line = st.lists(st.text(alphabet="ab, 中\t=", max_size=5), min_size=0, max_size=4).map(",".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(_line, min_size=1, max_size=12), end=st.sampled_from(["\n", "\r\n", "\r"]),
       chunk_rows=st.integers(1, 5))
def test_plain_lines_read_as_the_general_path_reads_them(tmp_path: Path, lines: list[str], end: str,
                                                         chunk_rows: int) -> None:
    path = tmp_path / "plain.csv"
    path.write_text(end.join([",".join(NAMES), *lines]) + end, encoding="utf-8")
    assert not readers._may_hold_breaks(path, "utf-8-sig")
    fast = _chunks(path, chunk_rows)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(readers, "_may_hold_breaks", lambda *_: True)
        general = _chunks(path, chunk_rows)
    assert fast == general


def test_a_quote_anywhere_takes_the_general_path(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_bytes(b"id,name,x\n" + b"a,b,c\n" * 300_000 + b'd,"e\nf",g\n')  # past the first 1 MiB block
    assert readers._may_hold_breaks(path, "utf-8-sig")
    rows = [c for c in iter_csv(path, NAMES, 100_000)]
    assert sum(c.n for c in rows) == 300_001
    assert rows[-1].data.column("name")[-1].as_py() == "e\nf"
    gz = tmp_path / "q.csv.gz"
    gz.write_bytes(b"")
    assert readers._may_hold_breaks(gz, "utf-8-sig")  # compressed: not scanned, the general path
    other = tmp_path / "gbk.csv"
    other.write_bytes("id,name,x\n甲,乙,丙\n".encode("gbk"))
    assert readers._may_hold_breaks(other, "gbk")  # another encoding: not scanned, the general path
