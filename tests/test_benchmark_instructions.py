"""``benchmarks/instructions.py`` counts one call as the difference of two processes' instruction counts.

What it reads off Valgrind and how it divides are checked here, and every child it can start is run
without Valgrind on a few rows, so that a renamed call or input of the benchmark helpers breaks this
test, not the next person's measurement. The counting itself needs valgrind, which CI does not install.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench_scripts import BENCHMARKS, bench_script

ins = bench_script("instructions", "bench_instructions")
ROOT = BENCHMARKS.parent

SUMMARY = """==14870== Cachegrind, a cache and branch-prediction profiler
==14870==
==14870== I   refs:      2,552,402,908
"""


def test_the_count_is_read_off_the_summary() -> None:
    assert ins.instructions(SUMMARY) == 2_552_402_908


def test_a_summary_without_a_count_fails_loudly() -> None:
    with pytest.raises(RuntimeError, match="no instruction count"):
        ins.instructions("==1== error: could not start\n")


def test_one_call_is_the_difference_divided() -> None:
    # 4 counted calls of 10 decisions each, beyond the warm call both processes make
    assert ins.per_call(1_000, 9_000, 4, 10) == 200.0
    assert ins.per_call(1_000, 9_000, 4, 1) == 2_000.0


@pytest.mark.parametrize("kind", ins.INPUTS)
def test_every_child_runs(kind: str, tmp_path: Path) -> None:
    path = ins._inputs(kind, 40, tmp_path)
    code = ins.CHILD.format(here=str(BENCHMARKS), policy=str(ROOT / "rulesets" / "express"), kind=kind, rows=40,
                            calls=1, path=path, tmp=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def test_children_counted_at_once_write_their_files_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the tier table's children each write its policy file: two at once into one folder could read a
    # half-written one
    folders: list[str] = []

    class Done:
        returncode = 0
        stderr = SUMMARY

    def run(cmd: list[str], **kwargs: object) -> Done:
        code = cmd[-1]
        folders.append(code.split("Path(", 3)[-1].split(")", 1)[0])
        return Done()

    monkeypatch.setattr(ins.subprocess, "run", run)
    for _ in range(2):
        assert ins._count("/src", "decide-tier", 10, 1, "", "/policy", tmp_path) == 2_552_402_908
    assert len(set(folders)) == 2 and all(str(tmp_path) in f for f in folders)
