"""``benchmarks/ab.py`` puts both library trees on the same footing before it samples them.

An import reads a module's fresh bytecode cache and otherwise compiles its source. Under
PYTHONDONTWRITEBYTECODE a tree without caches (a fresh ``git archive``) compiled its modules in every
sample, and the inputs that time a whole process charged that to its side: on identical code the
script printed 0.78 of the CPU time for ``--input cli --rows 5000`` (fifteenth round,
``docs/performance-history.md``). Each tree is compiled before the first sample.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from bench_scripts import bench_script

ab = bench_script("ab", "bench_ab")
timing = sys.modules["timing"]  # what ab.py imports its tree preparation from


def test_a_tree_is_compiled_even_where_imports_may_not_write_caches(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    pkg = tmp_path / "src" / "pkg"
    pkg.mkdir(parents=True)
    module = pkg / "mod.py"
    module.write_text("X = 1\n", encoding="utf-8")
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    timing.compile_package(str(tmp_path / "src"))
    assert Path(importlib.util.cache_from_source(str(module))).is_file()
    assert Path(importlib.util.cache_from_source(str(pkg / "__init__.py"))).is_file()


def test_both_trees_are_compiled_before_the_first_sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    sampled: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(timing, "compile_package", compiled.append)
    monkeypatch.setattr(ab, "_inputs", lambda kind, rows, tmp: Path(str(rows)))

    def sample(src: str, kind: str, path: Path, policy: str, tmp: Path) -> float:
        sampled.append((src, list(compiled)))
        return 1.0

    monkeypatch.setattr(ab, "_sample", sample)
    before, after = tmp_path / "before", tmp_path / "after"
    for tree in (before, after):
        (tree / "accountrules").mkdir(parents=True)
        (tree / "accountrules" / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["ab.py", "--before", str(before), "--after", str(after), "--input", "decide",
                                     "--rows", "10", "--pairs", "2"])
    ab.main()
    both = [str(before.resolve()), str(after.resolve())]
    assert sorted(compiled) == sorted(both)
    assert len(sampled) == 4 and all(sorted(seen) == sorted(both) for _, seen in sampled)


def test_a_folder_without_the_package_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # PYTHONPATH pointing at it would import the installed package instead (an editable install: the
    # working tree), and both sides would time the same code
    (tmp_path / "src").mkdir()
    monkeypatch.setattr(timing, "compile_package", lambda src: None)
    monkeypatch.setattr("sys.argv", ["ab.py", "--before", str(tmp_path / "src"), "--after", str(tmp_path / "src"),
                                     "--input", "decide", "--rows", "10", "--pairs", "1"])
    with pytest.raises(SystemExit, match="holds no accountrules package"):
        ab.main()
