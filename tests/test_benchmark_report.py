"""The targets ``benchmarks/report.py`` prints (``docs/performance.md`` quotes them verbatim).

Issue 8's batch target is about ``decide_many`` as a user calls it, whose default engine is ``auto``.
Taking the best of several engines for it would quote the luckier of two figures of the same code
(``vector`` and ``auto`` run the same evaluator on a batch), so the target reads ``auto`` alone.
"""

from __future__ import annotations

from typing import Any

from bench_scripts import bench_script

report = bench_script("report", "bench_report")


def _res(batch: list[dict[str, Any]]) -> dict[str, Any]:
    versions = dict.fromkeys(("accountrules", "numpy", "pyarrow", "pandas", "zen-engine", "durable_rules"), "x")
    return {"machine": {"date": "d", "commit": "c", "cpu": "cpu", "cores": 2, "python": "3", "versions": versions,
                        "load_average": [0.5], "load_average_end": [0.5]},
            "mode": "quick", "reps": 3, "engines": {}, "batch": batch}


def _row(engine: str, source: str, per_s: float) -> dict[str, Any]:
    return {"engine": engine, "input": source, "interleaved": True, "window_s": 0.2, "n": 20_000,
            "per_cpu_s": per_s, "per_wall_s": per_s}


def _target(md: str, source: str) -> str:
    return next(line for line in md.splitlines() if line.startswith(f"| decide_many from {source} ≥"))


def test_the_batch_target_reads_auto_not_the_best_engine() -> None:
    md = report.markdown(_res([_row("vector", "CSV file", 260_000), _row("auto", "CSV file", 240_000)]))
    line = _target(md, "CSV file")
    assert "240,000/s (`auto`)" in line
    assert line.endswith("| **not met** |")
    md = report.markdown(_res([_row("vector", "CSV file", 240_000), _row("auto", "CSV file", 260_000)]))
    assert _target(md, "CSV file").endswith("| 260,000/s (`auto`) | met |")


def test_a_batch_without_auto_says_so() -> None:
    md = report.markdown(_res([_row("compiled", "pyarrow Table", 300_000)]))
    assert _target(md, "pyarrow Table").endswith("| `auto` not measured | n/a |")


def test_the_batch_table_says_which_rows_were_interleaved() -> None:
    slow = {**_row("durable", "CSV file", 2_000), "interleaved": False, "n": 300}
    slow.pop("window_s")
    md = report.markdown(_res([slow, _row("auto", "CSV file", 260_000)]))
    assert "| `durable` | CSV file | no | 300 | 2,000 | 2,000 |" in md
    assert "| `auto` | CSV file | yes | 20,000 | 260,000 | 260,000 |" in md
    assert "at least 0.2 s of CPU" in md
