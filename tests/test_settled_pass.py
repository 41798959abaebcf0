"""The streaming decision pass validates only the fields its evaluator reads (``batch/settled.py``).

A streamed file is read twice when the policy ranks accounts (the express pyramid by revenue share,
C1/C3). The first pass validates every column; the second validates only what the evaluator reads and
takes each row's refusal (bad cells anywhere, repeated ids) and the blank counts from the first. A
batch never drops a row silently and reports every problem of a refused row (issue 10), so the
streamed result must equal the one-read ``decide_many`` item for item: decisions, row errors with
their messages, and the unknown counts a report shows. Past ``MAX_HELD`` refusals the second pass
validates everything again: the same result.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import accountrules
from accountrules.batch import RowError, settled
from accountrules.batch.engine import iter_batches
from accountrules.model.decision import Decision

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 6, 30)
EXPRESS = accountrules.load_policy(ROOT / "rulesets" / "express")


def _portfolio(tmp_path: Path) -> Path:
    """The example portfolio with refused rows: a bad cell in a column no rule reads, one in a column the
    tiers read, both in one row, and a repeated id; and blanks in read and unread columns."""
    lines = (ROOT / "examples" / "portfolio" / "accounts.csv").read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    unread, read = header.index("company.employees"), header.index("transactions.annual_revenue")
    rows[3][unread] = "many"
    rows[50][read] = "lots"
    rows[77][unread], rows[77][read] = "x", "y"
    rows[120][header.index("company.region")] = ""
    rows[121][read] = ""
    rows.insert(200, list(rows[10]))  # the id of row 11 again
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def _items(items: Any) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, Decision):
            out.append(item.model_dump(mode="json"))
        else:
            assert isinstance(item, RowError)
            out.append((item.row, item.account_id, item.field, item.message, item.problems))
    return out


@pytest.mark.parametrize("engine", ["vector", "compiled"])
@pytest.mark.parametrize("held", [settled.MAX_HELD, 2])
def test_streamed_equals_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str, held: int) -> None:
    monkeypatch.setattr(settled, "MAX_HELD", held)  # 2: fewer than the refusals, so everything is validated again
    path = _portfolio(tmp_path)
    whole = EXPRESS.decide_many(str(path), as_of=AS_OF, engine=engine)
    parts = list(iter_batches(EXPRESS, str(path), as_of=AS_OF, engine=engine, chunk_rows=64))
    assert len(parts) > 1
    streamed = [item for part in parts for item in part]
    assert _items(streamed) == _items(whole)
    refused = [e for e in streamed if isinstance(e, RowError)]
    assert [e.row for e in refused] == [4, 51, 78, 201]  # data rows, 1-based
    assert refused[0].field == "company.employees"  # a column the second pass does not read
    unknown: dict[str, int] = {}
    for part in parts:
        for k, v in part.unknown_counts().items():
            unknown[k] = unknown.get(k, 0) + v
    assert unknown == whole.unknown_counts()
    assert unknown["company.region"] >= 1


def test_the_second_pass_reads_fewer_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of it: the second pass validates the fields the evaluator reads, not all 59."""
    from accountrules.batch import engine

    seen: list[frozenset[str] | None] = []
    validate = engine._validate

    def spy(raw: Any, plan: Any, start: int, only: frozenset[str] | None = None) -> Any:
        seen.append(only)
        return validate(raw, plan, start, only)

    monkeypatch.setattr(engine, "_validate", spy)
    list(iter_batches(EXPRESS, str(_portfolio(tmp_path)), as_of=AS_OF, engine="vector", chunk_rows=100))
    first, second = seen[: len(seen) // 2], seen[len(seen) // 2:]
    assert all(o is None for o in first)
    assert second and all(o is not None and "transactions.annual_revenue" in o and "company.employees" not in o
                          for o in second)
