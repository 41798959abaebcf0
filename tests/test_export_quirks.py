"""What an analyst running the command line on real exports meets: the wrong encoding for a UTF-8 file
with a byte-order mark, a file given where another was meant, error lines that name their command.

Each is refused before any work with one line on stderr that names the file and what it looks like,
exit 2, in English and in Chinese.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from accountrules.batch.errors import BatchInputError
from accountrules.cli import main
from accountrules.io.columns import ColumnMapping
from accountrules.policy import load_policy

pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parents[1]
EXPRESS = ROOT / "rulesets" / "express"
AS_OF = "2026-06-30"
BOM = b"\xef\xbb\xbf"


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def bom_csv(tmp_path: Path) -> Path:
    """A UTF-8 export as Excel saves it ("CSV UTF-8"): a byte-order mark, Chinese headers."""
    path = tmp_path / "export.csv"
    path.write_bytes(BOM + "客户编号,年利润\nA1,900000\nA2,-5\n".encode())
    return path


# -- a UTF-8 file with a byte-order mark read with another encoding -----------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".csv.gz"])
def test_a_byte_order_mark_under_another_encoding_is_refused(tmp_path: Path, suffix: str) -> None:
    """The mark is proof of UTF-8: read as GBK it would be a garbled first column name (``锘縤d``) or a
    first line that is no JSON. Refused, naming the file and the mark, by decide_many and iter_decide."""
    import gzip

    text = '{"id": "A1"}\n' if suffix == ".jsonl" else "id,name\nA1,x\n"
    path = tmp_path / f"export{suffix}"
    data = BOM + text.encode()
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    policy = load_policy(EXPRESS)
    gbk = ColumnMapping(encoding="gbk")
    for call in (policy.decide_many, lambda *a, **k: list(policy.iter_decide(*a, **k))):
        with pytest.raises(BatchInputError, match="starts with a UTF-8 byte-order mark") as e:
            call(str(path), as_of=dt.date(2026, 6, 30), columns=gbk)
        assert e.value.source == str(path)
    # the default (UTF-8) reads it, and so does an explicit utf-8 or utf-8-sig
    for encoding in ("utf-8", "utf-8-sig", "UTF8"):
        result = policy.decide_many(str(path), as_of=dt.date(2026, 6, 30), columns=ColumnMapping(encoding=encoding))
        assert [d.account_id for d in result] == ["A1"]


@pytest.mark.parametrize(("lang", "words"), [("en", "starts with a UTF-8 byte-order mark"),
                                             ("zh", "UTF-8 字节顺序标记")])
def test_decide_and_report_say_the_file_is_utf8(capsys: pytest.CaptureFixture[str], tmp_path: Path, bom_csv: Path,
                                                 lang: str, words: str) -> None:
    mapped = ["--map", "客户编号=id", "--map", "年利润=transactions.annual_profit", "--encoding", "gbk"]
    code, out, err = run(capsys, "--lang", lang, "decide", EXPRESS, bom_csv, "-o", tmp_path / "d.csv",
                         "--as-of", AS_OF, *mapped)
    assert code == 2 and out == ""
    assert err.startswith("accountrules decide: ") and words in err and str(bom_csv) in err and "gbk" in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "d.csv").exists()
    # report reads ACCOUNTS beside a decisions file on its own path: the same refusal
    code, _, _ = run(capsys, "decide", EXPRESS, bom_csv, "-o", tmp_path / "d.csv", "--as-of", AS_OF, *mapped[:4], "-q")
    assert code == 0
    for accounts in ([bom_csv], []):
        decisions = [] if not accounts else ["--decisions", tmp_path / "d.csv"]
        code, out, err = run(capsys, "--lang", lang, "report", EXPRESS, *decisions, bom_csv, "-o", tmp_path / "r.html",
                             "--as-of", AS_OF, *mapped)
        assert code == 2 and words in err and str(bom_csv) in err, err
        assert len(err.splitlines()) == 1


# -- report --decisions given the errors file ---------------------------------------------------------


@pytest.mark.parametrize(("lang", "words"), [("en", "errors file"), ("zh", "错误文件")])
def test_report_refuses_an_errors_file_as_the_decisions(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                        lang: str, words: str) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("id,relationship.stage\nA1,stable\nA2,stabel\n", encoding="utf-8")
    decisions, errors = tmp_path / "d.csv", tmp_path / "e.csv"
    code, _, _ = run(capsys, "decide", EXPRESS, accounts, "-o", decisions, "--errors", errors, "--as-of", AS_OF, "-q")
    assert code == 1
    page = tmp_path / "r.html"
    code, out, err = run(capsys, "--lang", lang, "report", EXPRESS, "--decisions", errors, "-o", page, "--as-of", AS_OF)
    assert code == 2 and out == "" and not page.exists()
    assert err.startswith("accountrules report: ") and str(errors) in err and words in err, err
    # and the other way round: a decisions file given as --errors would count every decision as refused
    code, out, err = run(capsys, "--lang", lang, "report", EXPRESS, "--decisions", decisions, "--errors", decisions,
                         "-o", page, "--as-of", AS_OF)
    assert code == 2 and not page.exists()
    assert err.startswith("accountrules report: ") and str(decisions) in err, err
    # the pair as decide wrote it still draws
    code, _, err = run(capsys, "report", EXPRESS, "--decisions", decisions, "--errors", errors, "-o", page,
                       "--as-of", AS_OF, "-q")
    assert code == 0 and err == "" and page.exists()


# -- report's error lines name the command, as decide's, diff's and features' do ----------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_error_lines_name_the_command(capsys: pytest.CaptureFixture[str], tmp_path: Path, lang: str) -> None:
    missing = tmp_path / "missing.csv"
    cases = [
        ["report", EXPRESS, missing, "-o", tmp_path / "r.html"],
        ["report", EXPRESS, "--decisions", missing, "-o", tmp_path / "r.html"],
        ["report", EXPRESS, "-o", tmp_path / "r.html"],  # neither ACCOUNTS nor --decisions
        ["report", tmp_path / "no-policy", missing.parent, "-o", tmp_path / "r.html"],
    ]
    for argv in cases:
        code, out, err = run(capsys, "--lang", lang, *argv)
        assert code == 2 and out == ""
        assert err.startswith("accountrules report: "), err
        assert len(err.splitlines()) == 1, err
    code, _, decide_err = run(capsys, "--lang", lang, "decide", EXPRESS, missing, "-o", tmp_path / "d.csv")
    code, _, report_err = run(capsys, "--lang", lang, "report", EXPRESS, missing, "-o", tmp_path / "r.html")
    assert report_err.replace("report", "decide", 1) == decide_err  # the same line but for the command's name


def test_report_says_an_errors_file_is_not_utf8(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """An errors file re-saved by a spreadsheet as GBK was a traceback ("unexpected failure")."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("id,relationship.stage\nA1,stable\nA2,stabel\n", encoding="utf-8")
    decisions, errors = tmp_path / "d.csv", tmp_path / "e.csv"
    run(capsys, "decide", EXPRESS, accounts, "-o", decisions, "--errors", errors, "--as-of", AS_OF, "-q")
    errors.write_bytes(errors.read_text(encoding="utf-8-sig").replace("A2", "客户二").encode("gbk"))
    code, out, err = run(capsys, "report", EXPRESS, "--decisions", decisions, "--errors", errors, "-o",
                         tmp_path / "r.html", "--as-of", AS_OF)
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith(f"accountrules report: error: {errors}: file is not UTF-8; it looks like GBK"), err
    assert len(err.splitlines()) == 1


def _decide_then_report(capsys: pytest.CaptureFixture[str], tmp_path: Path, accounts: Path) -> None:
    """``decide`` the accounts, then ``report`` them beside its decisions file: both read them, no error."""
    decisions, page = tmp_path / "d.csv", tmp_path / "r.html"
    code, _, _ = run(capsys, "decide", EXPRESS, accounts, "-o", decisions, "--as-of", AS_OF, "-q")
    assert code == 0
    code, _, err = run(capsys, "report", EXPRESS, "--decisions", decisions, accounts, "-o", page,
                       "--as-of", AS_OF, "-q")
    assert code == 0 and err == "" and page.exists(), err


def test_report_reads_gzipped_accounts_beside_a_decisions_file(capsys: pytest.CaptureFixture[str],
                                                               tmp_path: Path) -> None:
    """decide reads ``accounts.csv.gz``; report's own read of it for the amounts opened the compressed bytes
    as text for its header and said the file "is not UTF-8; it looks like GBK"."""
    import gzip

    accounts = tmp_path / "accounts.csv.gz"
    accounts.write_bytes(gzip.compress(b"id,transactions.annual_revenue\nA1,1000\nA2,2000\n"))
    _decide_then_report(capsys, tmp_path, accounts)


def test_report_reads_jsonl_accounts_in_their_encoding(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """report's own read of JSONL accounts beside a decisions file ignored --encoding, and a GBK file was a
    traceback ("unexpected failure") with it or without it."""
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_bytes('{"id": "客户1", "transactions": {"annual_revenue": 5000}}\n'.encode("gbk"))
    decisions, page = tmp_path / "d.csv", tmp_path / "r.html"
    code, _, _ = run(capsys, "decide", EXPRESS, accounts, "--encoding", "gbk", "-o", decisions, "--as-of", AS_OF, "-q")
    assert code == 0
    code, _, err = run(capsys, "report", EXPRESS, "--decisions", decisions, accounts, "--encoding", "gbk", "-o", page,
                       "--as-of", AS_OF, "-q")
    assert code == 0 and err == "" and page.exists(), err
    page.unlink()
    code, _, err = run(capsys, "report", EXPRESS, "--decisions", decisions, accounts, "-o", page, "--as-of", AS_OF)
    assert code == 2 and "Traceback" not in err and not page.exists()
    assert err == (f"accountrules report: error: {accounts}: file is not UTF-8; it looks like GBK: re-save it as UTF-8 "
                   "or pass --encoding gbk\n")


@pytest.mark.parametrize("suffix", [".pq", ".jsonl.gz", ".ndjson"])
def test_report_reads_accounts_under_every_name_decide_takes(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                             suffix: str) -> None:
    """report's own read of the accounts beside a decisions file went by ``.parquet``/``.jsonl`` alone: a
    ``.pq`` or ``.jsonl.gz`` file that decide reads was read as CSV there."""
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    accounts = tmp_path / f"accounts{suffix}"
    if suffix == ".pq":
        pq.write_table(pa.table({"id": ["A1", "A2"], "transactions.annual_revenue": [1000.0, 2000.0]}), accounts)
    else:
        text = "".join(f'{{"id": "A{i}", "transactions": {{"annual_revenue": {i}000}}}}\n' for i in (1, 2)).encode()
        accounts.write_bytes(gzip.compress(text) if suffix.endswith(".gz") else text)
    _decide_then_report(capsys, tmp_path, accounts)
