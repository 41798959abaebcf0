"""``decide --spark`` / ``features --spark`` refuse to run with one line and exit 2 when Spark cannot run:
no Java runtime, no ``spark`` extra, a master that cannot be reached. No JVM is started here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from accountrules.cli import main
from accountrules.spark import session

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS = str(ROOT / "examples" / "portfolio" / "accounts.csv")
ORDERS = str(ROOT / "examples" / "cdnow" / "orders_sample.txt")


def commands(tmp_path: Path, master: str) -> list[list[str]]:
    return [
        ["decide", "--spark", master, str(ROOT / "rulesets" / "express"), ACCOUNTS, "-o",
         str(tmp_path / "d.parquet"), "--as-of", "2026-06-30"],
        ["features", "--spark", master, ORDERS, "--as-of", "1998-07-01", "-o", str(tmp_path / "f.parquet"),
         "--id-col", "customer_id", "--amount-col", "dollar_value", "--date-format", "%Y%m%d"],
    ]


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_missing_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark fails as if not installed
    for argv in commands(tmp_path, "local[2]"):
        assert main(argv) == 2
        line = one_error_line(capsys)
        assert "pip install 'accountrules[spark]'" in line, line
    assert not list(tmp_path.iterdir())


def test_missing_extra_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    for argv in commands(tmp_path, "local[2]"):
        assert main(["--lang", "zh", *argv]) == 2
        line = one_error_line(capsys)
        assert "错误：--spark 需要 pyspark：pip install 'accountrules[spark]'" in line, line


def test_missing_java(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed: the missing-extra message comes first")
    monkeypatch.setattr(session, "java_home", lambda: None)
    for argv in commands(tmp_path, "local[2]"):
        assert main(argv) == 2
        assert "Java runtime" in one_error_line(capsys)


def test_unreachable_master(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed: the missing-extra message comes first")
    monkeypatch.setattr(session, "java_home", lambda: "/usr")
    for argv in commands(tmp_path, "spark://127.0.0.1:9"):  # the discard port: nothing listens
        assert main(argv) == 2
        assert "cannot reach the Spark master 'spark://127.0.0.1:9'" in one_error_line(capsys)


def test_formats_spark_cannot_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pyspark", reason="pyspark is not installed: the missing-extra message comes first")
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"id": "A"}\n')
    argv = ["decide", "--spark", "local[2]", str(ROOT / "rulesets" / "express"), str(jsonl), "-o",
            str(tmp_path / "d.csv")]
    assert main(argv) == 2
    assert "with --spark use csv or parquet" in one_error_line(capsys)


def test_why_spark_cannot_run_is_translated() -> None:
    from accountrules.i18n import gettext_for
    from accountrules.spark.cli import _message

    zh = gettext_for("zh")
    with pytest.raises(session.SparkUnavailableError) as unreachable:
        session._check_reachable("spark://127.0.0.1:9", timeout=1)
    assert _message(unreachable.value, zh) == "无法连接 Spark master 'spark://127.0.0.1:9'（1 秒内未能建立连接）"
    assert _message(unreachable.value, str) == str(unreachable.value)
    no_java = session.SparkUnavailableError("Spark needs a Java runtime (17 or newer): none found on PATH or in "
                                            "JAVA_HOME; install one, e.g. apt-get install default-jre-headless")
    assert _message(no_java, zh).startswith("Spark 需要 Java 运行环境")
    no_start = session.SparkUnavailableError("cannot start Spark on master 'yarn': no cluster")
    assert _message(no_start, zh) == "无法在 master 'yarn' 上启动 Spark：no cluster"
