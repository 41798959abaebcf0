"""Library errors in the command line's language: with --lang zh, a bad policy, case file, input or
output gives one Chinese line (file:line:col kept) and exit status 2; English stays as it was."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from accountrules import load_policy
from accountrules.cli import main
from accountrules.errors import PolicyError
from accountrules.i18n import Message, gettext_for

ROOT = Path(__file__).resolve().parents[1]
SMALL = ROOT / "examples" / "small" / "policy.yaml"
ACCOUNTS = ROOT / "examples" / "small" / "accounts.jsonl"
ZH = gettext_for("zh")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _policy(tmp_path: Path, old: str, new: str) -> Path:
    text = SMALL.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own refusals
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _english_words(line: str) -> list[str]:
    """Runs of English prose left in a line: words of 4+ letters outside quotes, paths and codes."""
    bare = re.sub(r"'[^']*'|\"[^\"]*\"|\S*[/\\.]\S*|\S*_\S*|--\S+", " ", line)
    return re.findall(r"\b[a-z]{4,}\b", bare)


POLICY_CASES = {
    # what an owner editing the YAML meets most: syntax, an unknown key with did-you-mean, a type error,
    # an unknown field with did-you-mean
    "syntax": (("  name: small", "  name: [small"), "policy.yaml:", "语法错误：YAML 格式错误"),
    "unknown key": (("  hit: first", "  hitt: first"), "policy.yaml:15:3: 结构错误：tiers 中有未知的键 'hitt'",
                    "（是否想写 'hit'？）"),
    "type": (("profit_contribution >= 2", 'profit_contribution >= "x"'), "policy.yaml:34:36: 类型错误：",
             "'>=' 需要数字或日期，但这里是 文本"),
    "unknown field": (("profit_contribution >= 2", "profit_contributon >= 2"),
                      "policy.yaml:34:13: 类型错误：未知字段 'profit_contributon'",
                      "（是否想写 'profit_contribution'？）"),
    # wip-owner hunt: why a later output cannot be read here was English inside the Chinese line
    "read too early": (("profit_contribution >= 2", "stage == 'stable'"), "policy.yaml:34:13: 类型错误：",
                       "此处不能读取 'stage'"),
    "duplicate key": (("  version: \"1.0\"", "  version: \"1.0\"\n  version: \"2\""), "policy.yaml:5:3: 语法错误：",
                      "键 'version' 在同一映射中出现两次（第一次在第 4 行）（删除或重命名其中一个）"),
}


@pytest.mark.parametrize("kind", sorted(POLICY_CASES))
def test_a_malformed_policy_is_one_chinese_line(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (old, new), where, what = POLICY_CASES[kind]
    policy = _policy(tmp_path, old, new)
    for command in (["decide", policy, ACCOUNTS, "-o", "-"], ["check", policy], ["test", policy]):
        code, out, err = _run(capsys, "--lang", "zh", *command)
        assert code == 2 and out == "" and "Traceback" not in err, (command, err)
        assert err.count("\n") == 1, err
        assert "错误：" in err and where in err and what in err, err
        assert not _english_words(err.split(where, 1)[1]), err
        # the same error in English is the library's own text, unchanged
        code, out, english = _run(capsys, "--lang", "en", *command)
        assert code == 2
        with pytest.raises(PolicyError) as raised:
            load_policy(policy)
        assert str(raised.value) in english


def test_several_problems_are_listed_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = SMALL.read_text(encoding="utf-8").replace("  hit: first", "  hitt: first")
    policy = tmp_path / "policy.yaml"
    policy.write_text(text, encoding="utf-8")
    code, _out, err = _run(capsys, "--lang", "zh", "decide", policy, ACCOUNTS, "-o", "-")
    assert code == 2
    lines = err.splitlines()
    assert lines[0].endswith("个问题：") and len(lines) == int(lines[0].split("：")[-2].split()[0]) + 1
    assert all("结构错误：" in line and "中有未知的键 'hitt'" in line for line in lines[1:])


def test_a_case_file_error_is_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "policy.yaml").write_text(SMALL.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "tests" / "cases.yaml").write_text(
        "cases:\n  - name: a\n    acount: {id: X}\n    expect: {tier: gold}\n", encoding="utf-8")
    code, out, _err = _run(capsys, "--lang", "zh", "test", tmp_path)
    assert code == 1
    assert "结构错误：用例 中有未知的键 'acount'（可用的键：" in out and "结构错误：用例 缺少 'given'" in out, out
    code, out, _err = _run(capsys, "--lang", "en", "test", tmp_path)
    assert "schema error: unknown key 'acount' in a case (allowed: " in out


# Hunt as a business owner (wip-owner): the case loader's reference errors were English f-strings, and an
# invalid given account showed pydantic's English ("Field required") inside the Chinese line.
_BAD_CASES = """\
portfolio:
  - {id: P1}
  - {id: P1}
cases:
  - name: a
    given: {id: P1}
    expect: {tier: goldd, segments: {abc: A}, fired: [platinum-topp], actions: {include: [visitt]}}
  - name: d
    given: {id: A2}
  - name: d
    given: {id: A3}
  - name: b
    given: {transactions: {annual_profit: lots, revenue: [1], count: 1.5}, relationship: {stage: dating}}
  - name: c
    given: {id: C1, transactions: {annual_proft: 1}, signals: {fraud: maybe}}
"""


def test_case_file_reference_and_account_errors_are_chinese(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "policy.yaml").write_text(SMALL.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "tests" / "cases.yaml").write_text(_BAD_CASES, encoding="utf-8")
    code, out, _err = _run(capsys, "--lang", "zh", "test", tmp_path, "--engine", "compiled")
    assert code == 1
    problems = [line for line in out.splitlines() if "cases.yaml:" in line]
    assert len(problems) >= 12, out
    keys = {"given", "tier"}  # the case file's own keys stay as written
    worded, left = _pydantic_wording()
    for line in problems:
        tail = line.split(": ", 1)[1]
        for english in left:  # a pydantic that words an error otherwise than the catalogue: shown as it says
            tail = tail.replace(english, "")
        assert _HAN.search(line) and not set(_english_words(tail)) - keys, line
    code, out, _err = _run(capsys, "--lang", "en", "test", tmp_path, "--engine", "compiled")
    for english in ("portfolio account id 'P1' is used twice", "case name 'd' is used twice in this file",
                    "given account id 'P1' is also a portfolio account", "expected tier 'goldd' is not one of its",
                    "expect.segments: the policy has no segment 'abc'", "the policy has no rule 'platinum-topp'",
                    "expect.actions.include: the policy has no action 'visitt'", *worded):
        assert english in out, (english, out)


def _pydantic_wording() -> tuple[list[str], list[str]]:
    """What the installed pydantic says of the given accounts' errors above (a missing id, an unknown
    key, text where a number, a stage or a boolean is wanted), and which of those the catalogue does
    not know word for word: the test holds on any pydantic we allow, whatever its English."""
    from pydantic import ValidationError

    from accountrules.evaluate.accounts import error_message
    from accountrules.model.account import Account

    worded: list[str] = []
    left: list[str] = []
    for bad in ({"name": "x"}, {"id": "a", "x": 1}, {"id": "a", "transactions": {"annual_profit": "lots"}},
                {"id": "a", "relationship": {"stage": "dating"}}, {"id": "a", "signals": {"fraud": "maybe"}}):
        try:
            Account.model_validate(bad)
        except ValidationError as e:
            for err in e.errors():
                worded.append(err["msg"])
                if not isinstance(error_message(err), Message):
                    left.append(err["msg"])
        else:
            raise AssertionError(f"pydantic accepted {bad!r}")
    return worded, left


def _inputs(tmp_path: Path) -> dict[str, tuple[list[object], str]]:
    no_id = tmp_path / "no_id.csv"
    no_id.write_text("name,transactions.annual_profit\nx,1\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    twice = tmp_path / "twice.csv"
    twice.write_text("id,id\nx,y\n", encoding="utf-8")
    sheet = tmp_path / "accounts.xlsx"
    sheet.write_text("id\nx\n", encoding="utf-8")
    mapped = tmp_path / "mapped.csv"
    mapped.write_text("编号,利润\nx,1\n", encoding="utf-8")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("id,name\nx,华东物流\n".encode("gbk"))  # the header is ASCII, a cell is not
    orders = tmp_path / "orders.csv"
    orders.write_text("account_id,date,amount\nA1,2026-13-05,100\n", encoding="utf-8")
    out = ["-o", "-"]
    return {
        "missing policy": (["decide", tmp_path / "nowhere.yaml", ACCOUNTS, *out], "没有这个文件或目录"),
        "no id column": (["decide", SMALL, no_id, *out], "没有 'id' 列：每一行都需要客户编号"),
        "empty file": (["decide", SMALL, empty, *out], "文件是空的：应有一行字段路径作表头"),
        "column twice": (["decide", SMALL, twice, *out], "列 'id' 出现了两次"),
        "unknown format": (["decide", SMALL, sheet, *out], "无法从后缀 '.xlsx' 判断格式"),
        "mapped to no field": (["decide", SMALL, mapped, *out, "--map", "编号=id", "--map", "利润=transactions.nope"],
                               "列 '利润' 被映射到 'transactions.nope'，而这不是本政策的字段"),
        "gbk": (["decide", SMALL, gbk, *out], "文件不是 UTF-8 编码，看起来是 GBK"),
        "bad date": (["decide", SMALL, ACCOUNTS, *out, "--as-of", "2026-02-30"], "不是日期"),
        "unknown engine": (["decide", SMALL, ACCOUNTS, *out, "--engine", "vectr"],
                           "未知的求值引擎 'vectr'：请从 compiled, durable, vector, auto 中选择；是否想写 'vector'？"),
        "unwritable output": (["decide", SMALL, ACCOUNTS, "-o", no_id / "d.csv"], "是文件，不是文件夹"),
        "report: not decisions": (["report", SMALL, "--decisions", no_id, "-o", tmp_path / "r.html"],
                                  "不是 decide 写出的决策文件：没有 'account_id' 列"),
        "report: GBK decisions": (["report", SMALL, "--decisions", gbk, "-o", tmp_path / "r.html"],
                                  "文件不是 UTF-8 编码，看起来是 GBK：请另存为 UTF-8（决策文件总是按 UTF-8 读取；"
                                  "--encoding 只用于 ACCOUNTS）"),
        "report: format": (["report", SMALL, "--decisions", sheet, "-o", tmp_path / "r.html"],
                           "无法从后缀 '.xlsx' 判断格式"),
        "order date": (["features", orders, "--as-of", "2026-06-30", "-o", "-"],
                       "第 1 行, 客户 'A1': date: 无法按格式 '%Y-%m-%d' 把 '2026-13-05' 解析为日期"),
    }


@pytest.mark.parametrize("kind", ["missing policy", "no id column", "empty file", "column twice", "unknown format",
                                  "mapped to no field", "gbk", "bad date", "unknown engine", "unwritable output",
                                  "order date", "report: not decisions", "report: GBK decisions", "report: format"])
def test_bad_input_is_one_chinese_line(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv, expected = _inputs(tmp_path)[kind]
    code, out, err = _run(capsys, "--lang", "zh", *argv)
    assert code == 2 and out == "" and "Traceback" not in err, err
    assert err.count("\n") == 1 and expected in err, err
    code, out, english = _run(capsys, "--lang", "en", *argv)
    assert code == 2 and english.count("\n") == 1 and not _HAN.search(english.replace("编号", "").replace("利润", "")
                                                                       .replace("华东物流", ""))


def test_a_message_is_english_text_that_translates() -> None:
    m = Message("unknown key {key!r} in {what}", key="hitt", what=Message("a case"))
    assert m == "unknown key 'hitt' in a case" and isinstance(m, str)
    assert m.translated(ZH) == "用例 中有未知的键 'hitt'"
    import pickle

    again = pickle.loads(pickle.dumps(m))
    assert again == m and again.translated(ZH) == m.translated(ZH)
