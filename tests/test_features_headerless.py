"""An order log without a header line (the CDNOW sample as published: five columns of numbers) read by
``accountrules features`` or ``backtest``: the refusal says the first line was taken for the header,
instead of listing the first order's values as the columns found."""

from __future__ import annotations

from pathlib import Path

import pytest

from accountrules.cli import main
from cdnow_data import cdnow_file

pytest.importorskip("pyarrow")


@pytest.fixture()
def headerless(tmp_path: Path) -> Path:
    path = tmp_path / "CDNOW_sample.txt"  # the first orders of the real, headerless sample
    lines = cdnow_file("CDNOW_sample.txt").read_text(encoding="ascii").splitlines()[:50]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path


@pytest.mark.parametrize("command", ["features", "backtest"])
def test_a_log_without_a_header_line_is_told_so(headerless: Path, command: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.csv"
    argv = (["features", str(headerless), "-o", str(out)] if command == "features"
            else ["backtest", "express", str(headerless), "--horizon", "26w", "--outcomes", str(out)])
    argv += ["--as-of", "1997-09-30"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "columns found: 00004, 0001, 19970101" in err and "no header line" in err
    assert main(["--lang", "zh", *argv]) == 2
    zh = capsys.readouterr().err
    assert "no header line" not in zh and "表头" in zh and not out.exists()


def test_a_header_of_names_gets_no_such_hint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "orders.csv"
    log.write_text("customer,day,value\n1,2024-01-01,3\n", encoding="utf-8")
    assert main(["features", str(log), "--as-of", "2024-06-30", "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "columns found: customer, day, value" in err and "header" not in err
