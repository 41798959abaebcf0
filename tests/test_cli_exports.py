"""A CRM export decided as it comes: Chinese headers mapped to field paths, unknown columns refused
or ignored, GBK files named as such; data on stdout with ``-o -``; bad input as one line, exit 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from accountrules import load_policy
from accountrules.cli import main
from accountrules.io.columns import ColumnMapping, ColumnMappingError

pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small" / "policy.yaml"
AS_OF = "2026-06-30"
ORDERS = ROOT / "examples" / "cdnow" / "orders_sample.txt"
ORDER_COLUMNS = ["--id-col", "customer_id", "--amount-col", "dollar_value", "--date-format", "%Y%m%d"]

# a CRM export: its own headers, one column (备注) that is no field at all
EXPORT = """\
客户编号,客户名称,年利润,营销成本,关系阶段,备注
A1,北京一号,900000,100000,stable,老客户
A2,上海二号,-5,100000,initial,
A3,广州三号,300000,100000,nurture,新签
"""
MAPPING = {"客户编号": "id", "客户名称": "name", "年利润": "transactions.annual_profit",
           "营销成本": "transactions.marketing_cost", "关系阶段": "relationship.stage"}
MAP_ARGS = [a for col, field in MAPPING.items() for a in ("--map", f"{col}={field}")]


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def export(tmp_path: Path) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(EXPORT, encoding="utf-8")
    return path


@pytest.fixture()
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "columns.yaml"
    path.write_text("".join(f"{c}: {f}\n" for c, f in MAPPING.items()), encoding="utf-8")
    return path


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_an_unmapped_export_is_refused_naming_the_options(export: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--lang", "en", "decide", SMALL, export, "-o", tmp_path / "d.csv", "--as-of", AS_OF)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "unknown column '客户编号'" in err and "--map" in err and "--unknown-columns ignore" in err
    assert not (tmp_path / "d.csv").exists()


def test_mapped_export_still_refuses_a_column_no_field_reads(export: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--lang", "en", "decide", SMALL, export, "-o", tmp_path / "d.csv", "--as-of", AS_OF,
                       *MAP_ARGS)
    assert code == 2 and "'备注'" in err and "--unknown-columns ignore" in err


@pytest.mark.parametrize("how", ["options", "file"])
def test_mapped_export_with_ignored_columns_decides_to_stdout(how: str, export: Path, mapping_file: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    given = MAP_ARGS if how == "options" else ["--columns", str(mapping_file)]
    code, out, err = run(capsys, "--lang", "en", "decide", SMALL, export, "-o", "-", "--as-of", AS_OF, *given,
                         "--unknown-columns", "ignore")
    assert code == 0, err
    rows = _rows(out)  # stdout is the decisions CSV and nothing else: no byte-order mark, no summary
    assert not out.startswith("\ufeff")
    assert [r["account_id"] for r in rows] == ["A1", "A2", "A3"]
    assert rows[1]["tier"] == "lead"
    assert "decided 3 of 3 accounts" in err and "standard output" in err


@pytest.mark.parametrize("how", ["options", "file"])
def test_a_mapping_renames_the_keys_of_a_jsonl_export(how: str, export: Path, mapping_file: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """Found by a hostile-input hunt: --map renamed a CSV's or a Parquet file's columns but not the keys of
    a JSONL file's objects, so every line was refused ("id: Field required"). It renames them as it
    renames a dict's in decide_many(columns=...); a key no field reads is still the row's error."""
    given = MAP_ARGS if how == "options" else ["--columns", str(mapping_file)]
    lines = [{k: v for k, v in r.items() if k != "备注"} for r in _rows(EXPORT)]
    for r in lines:
        r["年利润"], r["营销成本"] = float(r["年利润"]), float(r["营销成本"])
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines), encoding="utf-8")
    code, out, err = run(capsys, "--lang", "en", "decide", SMALL, jsonl, "-o", "-", "--as-of", AS_OF, *given)
    assert code == 0, err
    from_jsonl = _rows(out)
    code, out, err = run(capsys, "--lang", "en", "decide", SMALL, export, "-o", "-", "--as-of", AS_OF, *given,
                         "--unknown-columns", "ignore")
    assert code == 0, err
    assert from_jsonl == _rows(out)  # the same accounts as the CSV export, decided alike
    assert [r["account_id"] for r in from_jsonl] == ["A1", "A2", "A3"] and from_jsonl[1]["tier"] == "lead"
    # a renamed key meeting the key it is renamed to, and a key no field reads: each its row's error
    jsonl.write_text(json.dumps({"客户编号": "B1", "id": "B1"}) + "\n" + json.dumps({"客户编号": "B2", "备注": "x"})
                     + "\n" + json.dumps(lines[0], ensure_ascii=False) + "\n", encoding="utf-8")
    errors = tmp_path / "e.csv"
    code, out, err = run(capsys, "--lang", "en", "decide", SMALL, jsonl, "-o", tmp_path / "d.csv", "--as-of", AS_OF,
                         *given, "--errors", errors)
    assert code == 1, err
    refused = _rows(errors.read_text(encoding="utf-8-sig"))
    assert [r["row"] for r in refused] == ["1", "2"]
    assert "mapped to 'id', which another column already gives" in refused[0]["message"]
    assert refused[1]["field"] == "备注"


def test_the_python_api_takes_the_same_mapping(export: Path) -> None:
    policy = load_policy(SMALL)
    mapping = ColumnMapping(MAPPING, unknown="ignore")
    import datetime as dt

    result = policy.decide_many(str(export), as_of=dt.date(2026, 6, 30), columns=mapping)
    assert [d.account_id for d in result] == ["A1", "A2", "A3"]
    # the same accounts as dicts with the export's keys: renamed alike
    rows = [{"客户编号": "A2", "年利润": -5, "营销成本": 100000}]
    (one,) = policy.decide_many(rows, as_of=dt.date(2026, 6, 30), columns=ColumnMapping(MAPPING))
    assert one.tier is not None and one.tier.code == "lead"


def test_a_mapping_must_be_usable() -> None:
    with pytest.raises(ColumnMappingError, match="both map to 'id'"):
        ColumnMapping({"a": "id", "b": "id"})
    with pytest.raises(ColumnMappingError, match="COLUMN=field.path"):
        ColumnMapping.parse(["客户编号"])
    with pytest.raises(ColumnMappingError, match="unknown text encoding"):
        ColumnMapping(encoding="klingon")


def test_a_gbk_export_gets_one_line_naming_the_fix(export: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(EXPORT.encode("gbk"))
    code, out, err = run(capsys, "--lang", "en", "decide", SMALL, gbk, "-o", tmp_path / "d.csv", "--as-of", AS_OF,
                         *MAP_ARGS, "--unknown-columns", "ignore")
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert "file is not UTF-8; it looks like GBK: re-save it as UTF-8 or pass --encoding gbk" in err
    code, out, err = run(capsys, "--lang", "zh", "decide", SMALL, gbk, "-o", tmp_path / "d.csv", "--as-of", AS_OF,
                         *MAP_ARGS, "--unknown-columns", "ignore")
    assert code == 2 and err.count("\n") == 1 and "GBK" in err and "--encoding gbk" in err and "UTF-8" in err
    # and with the encoding given, it is decided
    code, out, err = run(capsys, "decide", SMALL, gbk, "-o", "-", "--as-of", AS_OF, *MAP_ARGS,
                         "--unknown-columns", "ignore", "--encoding", "gbk")
    assert code == 0, err
    assert [r["account_id"] for r in _rows(out)] == ["A1", "A2", "A3"]


def test_a_gbk_decisions_file_is_told_to_be_resaved(export: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """--encoding reads ACCOUNTS only: for a decisions file re-saved as GBK the hint is to re-save it as UTF-8,
    while a GBK accounts file beside a good decisions file still gets the --encoding hint."""
    decisions = tmp_path / "d.csv"
    code, out, err = run(capsys, "decide", SMALL, export, "-o", decisions, "--as-of", AS_OF, *MAP_ARGS,
                         "--unknown-columns", "ignore", "-q")
    assert code == 0, err
    gbk_decisions = tmp_path / "gbk-d.csv"
    gbk_decisions.write_bytes(decisions.read_text(encoding="utf-8-sig").replace("A1", "华东").encode("gbk"))
    for lang, hint in (("en", f"{gbk_decisions}: file is not UTF-8; it looks like GBK: re-save it as UTF-8 (a "
                              "decisions file is always read as UTF-8; --encoding applies to ACCOUNTS only)"),
                       ("zh", "看起来是 GBK：请另存为 UTF-8（决策文件总是按 UTF-8 读取；--encoding 只用于 ACCOUNTS）")):
        code, out, err = run(capsys, "--lang", lang, "report", SMALL, "--decisions", gbk_decisions, "-o", "-",
                             "--as-of", AS_OF)
        assert code == 2 and out == "" and err.count("\n") == 1 and hint in err, err
        assert "--encoding gbk" not in err
    gbk_accounts = tmp_path / "gbk.csv"
    gbk_accounts.write_bytes(EXPORT.encode("gbk"))
    code, out, err = run(capsys, "--lang", "en", "report", SMALL, "--decisions", decisions, gbk_accounts, "-o", "-",
                         "--as-of", AS_OF, *MAP_ARGS, "--unknown-columns", "ignore")
    assert code == 2 and err.count("\n") == 1 and "re-save it as UTF-8 or pass --encoding gbk" in err, err
    code, out, err = run(capsys, "report", SMALL, "--decisions", decisions, gbk_accounts, "-o", "-",
                         "--as-of", AS_OF, *MAP_ARGS, "--unknown-columns", "ignore", "--encoding", "gbk")
    assert code == 0 and "<html" in out, err


def test_report_and_diff_read_the_export_too(export: Path, mapping_file: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    given = ["--columns", str(mapping_file), "--unknown-columns", "ignore", "--as-of", AS_OF]
    code, out, err = run(capsys, "report", SMALL, export, "-o", "-", *given)
    assert code == 0, err
    assert out.lstrip().lower().startswith("<!doctype html")
    code, out, err = run(capsys, "diff", SMALL, SMALL, export, "--format", "json", *given)
    assert code == 0, err
    report = json.loads(out)
    assert report["accounts"] == 3 and report["changed_accounts"] == 0 and report["errors"] == []


def test_report_from_decisions_reads_the_accounts_export_with_the_same_mapping(
        export: Path, mapping_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    decisions = tmp_path / "decisions.csv"
    given = ["--columns", str(mapping_file), "--unknown-columns", "ignore"]
    code, out, err = run(capsys, "decide", SMALL, export, "-o", decisions, "--as-of", AS_OF, "-q", *given)
    assert code == 0, err
    plain = tmp_path / "plain.html"
    mapped = tmp_path / "mapped.html"
    code, out, err = run(capsys, "report", SMALL, "--decisions", decisions, "-o", plain, "--as-of", AS_OF, "-q")
    assert code == 0, err
    # the Chinese-header export, read with the mapping decide used, adds the amounts
    code, out, err = run(capsys, "report", SMALL, export, "--decisions", decisions, "-o", mapped,
                         "--as-of", AS_OF, "-q", *given)
    assert code == 0, err
    # the annual profit per tier, read from 年利润: A1 and A3 are one tier (1,200,000), A2 another (-5)
    assert '<td class="n">1,200,000</td>' not in plain.read_text(encoding="utf-8")
    with_amounts = mapped.read_text(encoding="utf-8")
    assert '<td class="n">1,200,000</td>' in with_amounts and '<td class="n">-5</td>' in with_amounts
    # without the mapping, the export's headers are refused as decide refuses them, naming the options
    code, out, err = run(capsys, "--lang", "zh", "report", SMALL, export, "--decisions", decisions,
                         "-o", mapped, "--as-of", AS_OF)
    assert code == 2 and err.count("\n") == 1 and "客户编号" in err and "--unknown-columns ignore" in err, err
    # the mapped columns, but the column no field reads (备注) refused by default
    code, out, err = run(capsys, "report", SMALL, export, "--decisions", decisions, "-o", mapped,
                         "--as-of", AS_OF, "--columns", mapping_file)
    assert code == 2 and "备注" in err and "--unknown-columns ignore" in err, err


def test_diff_changes_to_stdout_and_summary_to_stderr(export: Path, mapping_file: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "diff", SMALL, SMALL, export, "-o", "-", "--columns", mapping_file,
                         "--unknown-columns", "ignore", "--as-of", AS_OF)
    assert code == 0, err
    assert out.splitlines()[0].lstrip("\ufeff") == "account_id,what,old,new,old_rule,new_rule"
    assert "0 of 3 accounts change" in err


def test_features_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text("account_id,date,amount\nA1,2026-01-05,100\nA1,2026-02-05,50\nA2,2026-03-01,70\n",
                      encoding="utf-8")
    code, out, err = run(capsys, "features", orders, "--as-of", AS_OF, "-o", "-")
    assert code == 0, err
    assert sorted(r["id"] for r in _rows(out)) == ["A1", "A2"]
    assert "2 accounts from 3 orders" in err


# -- bad input: one line, exit 2, no traceback, in both languages -------------------------------------

def _bad_inputs(tmp_path: Path, export: Path) -> dict[str, list[str]]:
    locked = tmp_path / "locked.csv"
    locked.write_text(EXPORT, encoding="utf-8")
    locked.chmod(0)
    bad_map = tmp_path / "bad.yaml"
    bad_map.write_text("- just\n- a list\n", encoding="utf-8")
    base = [str(SMALL)]
    out = ["-o", str(tmp_path / "d.csv")]
    return {
        "path": ["decide", *base, str(tmp_path / "missing.csv"), *out],
        "directory": ["decide", *base, str(tmp_path), *out],
        "permission": ["decide", *base, str(locked), *out],
        "date": ["decide", *base, str(export), *out, "--as-of", "2026-13-01"],
        "format": ["decide", *base, str(export), "-o", str(tmp_path / "d.xlsx")],
        "mapping": ["decide", *base, str(export), *out, "--columns", str(bad_map)],
        "mapping option": ["decide", *base, str(export), *out, "--map", "客户编号"],
        "policy": ["test", str(tmp_path / "nowhere")],
        "backtest orders": ["backtest", "express", str(tmp_path / "missing.txt"), "--as-of", "1997-09-30",
                            "--horizon", "26w"],
        "backtest as-of": ["backtest", "express", str(ORDERS), "--as-of", "1990-01-01", "--horizon", "26w",
                           *ORDER_COLUMNS],
    }


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("kind", ["path", "directory", "permission", "date", "format", "mapping", "mapping option",
                                  "policy", "backtest orders", "backtest as-of"])
def test_bad_input_is_one_line_and_exit_2(kind: str, lang: str, export: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import os

    if kind == "permission" and os.geteuid() == 0:
        pytest.skip("root reads any file")
    argv = _bad_inputs(tmp_path, export)[kind]
    try:
        code = main(["--lang", lang, *argv])
    except SystemExit as e:  # argparse refuses usage errors (the date) itself, with its usage line first
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("usage:") and not line.startswith("用法")]
    assert len(lines) == 1, err
    has_chinese = any("\u4e00" <= ch <= "\u9fff" for ch in lines[0].replace("客户编号", ""))
    assert has_chinese == (lang == "zh"), lines[0]


def test_the_locale_chooses_the_language(export: Path, tmp_path: Path) -> None:
    argv = ["decide", str(SMALL), str(tmp_path / "missing.csv"), "-o", str(tmp_path / "d.csv")]
    for env_lang, expect_zh in (("zh_CN.UTF-8", True), ("en_US.UTF-8", False), ("C", False)):
        env = {"PATH": "/usr/bin:/bin", "LANG": env_lang}
        done = subprocess.run([sys.executable, "-m", "accountrules", *argv], capture_output=True, text=True,
                              env=env, timeout=120)
        assert done.returncode == 2
        assert ("没有" in done.stderr) == expect_zh, (env_lang, done.stderr)


def _decided_into(reader: str, fmt: str) -> subprocess.CompletedProcess[str]:
    """``accountrules decide`` of the example portfolio to standard output, piped into ``reader``."""
    portfolio = ROOT / "examples" / "portfolio" / "accounts.csv"
    command = (f"{sys.executable} -m accountrules decide {ROOT / 'rulesets' / 'express'} {portfolio} -o - "
               f"--format {fmt} --as-of {AS_OF} | {reader}; exit ${{PIPESTATUS[0]}}")
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_decisions_to_a_closed_pipe_exit_141(fmt: str) -> None:
    done = _decided_into("true", fmt)  # the reader is gone before the first write
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_decisions_to_a_reader_that_stops_after_one_line(fmt: str) -> None:
    # whether the command is still writing when `head` goes depends on the pipe's buffer (a chunk's CSV
    # text is one write): it ends with 141 if it was, 0 if everything had been written; never a traceback
    done = _decided_into("head -1", fmt)
    assert done.returncode in (0, 141), done.stderr
    assert done.stdout.count("\n") == 1 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_the_python_snippet_of_the_command_line_page_runs(tmp_path: Path) -> None:
    import re

    (code,) = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "command-line.md").read_text(encoding="utf-8"),
                         re.S)
    script = tmp_path / "snippet.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "KA-9"


def test_a_mapping_typo_is_refused_even_with_unknown_columns_ignored(export: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """``--map 年利润=transactions.anual_profit --unknown-columns ignore`` decided every account with its profit
    unknown, exit 0. The mapped column is refused, exit 2, and the line says to correct the mapping, not to
    pass the option that was already given. The same column given twice by --map is refused too."""
    typo = [a.replace("transactions.annual_profit", "transactions.anual_profit") for a in MAP_ARGS]
    code, out, err = run(capsys, "decide", SMALL, export, "-o", tmp_path / "d.csv", "--as-of", AS_OF, *typo,
                         "--unknown-columns", "ignore")
    assert code == 2 and not (tmp_path / "d.csv").exists() and err.count("\n") == 1
    assert "column '年利润' is mapped to 'transactions.anual_profit', which is no field of this policy (did you " \
           "mean 'transactions.annual_profit'?): correct the mapping (--map or --columns FILE)" in err
    code, out, err = run(capsys, "decide", SMALL, export, "-o", tmp_path / "d.csv", "--as-of", AS_OF, *MAP_ARGS,
                         "--map", "客户编号=name", "--unknown-columns", "ignore")
    assert code == 2 and "column '客户编号' is mapped twice" in err


def test_a_gb18030_export_is_told_to_pass_gb18030(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file with a character GBK lacks (``𠀀``: four bytes in GB18030) was said to "look like GBK"; the
    advised ``--encoding gbk`` then failed on that very character. The guess names GB18030, which reads it."""
    path = tmp_path / "gb.csv"
    path.write_bytes("客户编号,客户名称\nKA-1,𠀀记物流\n".encode("gb18030"))
    code, out, err = run(capsys, "--lang", "en", "decide", SMALL, path, "-o", tmp_path / "d.csv", "--as-of", AS_OF,
                         "--map", "客户编号=id", "--map", "客户名称=name")
    assert code == 2 and "it looks like GB18030: re-save it as UTF-8 or pass --encoding gb18030" in err
    code, out, err = run(capsys, "decide", SMALL, path, "-o", tmp_path / "d.csv", "--as-of", AS_OF,
                         "--map", "客户编号=id", "--map", "客户名称=name", "--encoding", "gb18030")
    assert code == 0, err


@pytest.mark.parametrize("day", ["20260630", "2026-W26-2", "2026-181"])
def test_as_of_is_yyyy_mm_dd_only(day: str, export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--as-of`` says YYYY-MM-DD, as a date cell does and as ``decide_many(as_of=)`` takes a date only; Python
    3.11's ``date.fromisoformat`` also took ``2026-W26-2`` (a Monday-based week day) and ``20260630``, so a
    typo could decide the portfolio as of another day without a word."""
    with pytest.raises(SystemExit) as done:  # argparse refuses it: a usage error
        run(capsys, "--lang", "en", "decide", SMALL, export, "-o", tmp_path / "d.csv", "--as-of", day, *MAP_ARGS,
            "--unknown-columns", "ignore")
    assert done.value.code == 2 and f"not a date (YYYY-MM-DD): {day!r}" in capsys.readouterr().err
    assert not (tmp_path / "d.csv").exists()
