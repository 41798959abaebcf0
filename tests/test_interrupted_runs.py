"""Interrupted runs leave nothing that can pass for a complete run; output paths are checked first.

``accountrules decide`` writes both files under ``.<name>.<random>.part`` and renames
them at the end (errors first), so a ``kill -9`` at any moment leaves either no file
under the final names or the complete files of an earlier run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accountrules.cli import main
from accountrules.io.writers import PART_SUFFIX, CsvTableWriter, OutputPathError, StagedFile, check_output

pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parents[1]
EXPRESS = ROOT / "rulesets" / "express"
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts.csv"


def _big_csv(path: Path, copies: int) -> int:
    lines = ACCOUNTS.read_text(encoding="utf-8-sig").splitlines()
    out = [lines[0]]
    for k in range(copies):
        for r in lines[1:]:
            i, rest = r.split(",", 1)
            out.append(f"{i}-{k},{rest}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return len(out) - 1


def test_kill_9_mid_run_leaves_no_output_under_its_name(tmp_path: Path) -> None:
    src = tmp_path / "big.csv"
    _big_csv(src, 200)  # 60,000 rows: seconds of work, so the kill lands while files are written
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "decisions.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "accountrules", "decide", str(EXPRESS), str(src), "-o", str(out),
         "--as-of", "2026-06-30"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        parts: list[Path] = []
        while time.monotonic() < deadline and proc.poll() is None:
            parts = [p for p in out_dir.iterdir() if p.name.endswith(PART_SUFFIX)]
            if any(p.stat().st_size > 0 for p in parts):
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the run ended before it could be killed: make the input bigger"
        assert parts, "no file was being written within 60 s"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    left = sorted(p.name for p in out_dir.iterdir())
    assert "decisions.csv" not in left and "decisions.errors.csv" not in left, left
    assert left and all(name.startswith(".decisions.") and name.endswith(PART_SUFFIX) for name in left), left


def test_a_failed_write_keeps_the_earlier_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), CsvTableWriter(path, ["a"]) as w:
        w.write_rows([["x"]])
        raise RuntimeError("interrupted")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # the temporary file is gone


def test_a_staged_file_appears_only_when_published(tmp_path: Path) -> None:
    staged = StagedFile(tmp_path / "x.csv")
    staged.temp.write_text("data", encoding="utf-8")
    assert not (tmp_path / "x.csv").exists()
    staged.finish()
    staged.publish()
    assert (tmp_path / "x.csv").read_text(encoding="utf-8") == "data" and not staged.temp.exists()
    plain = tmp_path / "plain"
    plain.touch()
    assert (tmp_path / "x.csv").stat().st_mode == plain.stat().st_mode  # the umask's mode, not 0600


def test_output_paths_are_checked(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id\nA1\n", encoding="utf-8")
    with pytest.raises(OutputPathError, match="is an input"):
        check_output(tmp_path / "." / "in.csv", inputs=[src])
    link = tmp_path / "link.csv"
    link.symlink_to(src)
    with pytest.raises(OutputPathError, match="is an input"):
        check_output(link, inputs=[src])
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output(tmp_path, inputs=[])
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_output(src / "x.csv", inputs=[])
    assert check_output(tmp_path / "new" / "d.csv") == tmp_path / "new" / "d.csv"
    assert not (tmp_path / "new").exists()  # checking creates nothing


@pytest.mark.parametrize("command", ["decide", "diff"])
def test_bad_output_paths_exit_2_with_a_message(command: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    src.write_text(ACCOUNTS.read_text(encoding="utf-8-sig"), encoding="utf-8")
    before = src.read_bytes()
    head = ["decide", str(EXPRESS), str(src)] if command == "decide" else ["diff", str(EXPRESS), str(EXPRESS),
                                                                            str(src)]
    targets = [str(src), str(tmp_path), str(src / "x.csv")]
    if Path("/proc").is_dir():
        targets.append("/proc/decisions.csv")
    for target in targets:
        assert main([*head, "-o", target, "--as-of", "2026-06-30"]) == 2, target
        err = capsys.readouterr().err
        assert "error:" in err and "Traceback" not in err, err
    assert src.read_bytes() == before  # the input is never overwritten


def test_decide_writes_both_files_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "d.csv"
    assert main(["decide", str(EXPRESS), str(ACCOUNTS), "-o", str(out), "--as-of", "2026-06-30"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "d.errors.csv"]
