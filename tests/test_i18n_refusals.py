"""Why an account was refused, in Chinese under ``--lang zh`` and unchanged in English: the refusal is a
catalogue message from the evaluator to every place that shows it (the error, a batch's row errors,
``decide``'s and ``diff``'s summaries, ``test``, ``check``), and the three evaluators give the same one.
The files written for programs (the errors file, ``diff``'s changes) stay English whatever ``--lang``."""

from __future__ import annotations

import datetime as dt
import pickle
import re
import shutil
from pathlib import Path

import pytest

import accountrules
from accountrules.batch.errors import RowError
from accountrules.cli import main
from accountrules.errors import DecisionError
from accountrules.evaluate import registry
from accountrules.i18n import Message, gettext_for, plural_of
from accountrules.testing.runner import summary_line

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts.csv"
AS_OF = dt.date(2026, 6, 30)
ZH = gettext_for("zh")
# an English sentence of a refusal: what must not be left in Chinese output
ENGLISH = re.compile(r"all match|matching rows disagree|is 'unique' but|account '|cannot be decided|row \d")
ENGINES = [e for e in ("compiled", "durable", "vector") if registry.available(e)]


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The express policy with its tier table made ``unique``: about half the accounts match two rows."""
    new = tmp_path_factory.mktemp("overlap") / "express"
    shutil.copytree(ROOT / "rulesets" / "express", new)
    text = (new / "tiers.yaml").read_text(encoding="utf-8")
    (new / "tiers.yaml").write_text(text.replace("  hit: first\n", "  hit: unique\n", 1), encoding="utf-8")
    return new


def _zh_reason(rows: str) -> str:
    return f"tier 的命中策略为 'unique'，但规则行 {rows} 同时命中"


SMALL = """\
policy:
  name: p
  version: "1"
  label: {zh: 测试, en: Test}
tiers:
  hit: unique
  values:
    gold: {zh: 黄金, en: Gold}
    iron: {zh: 钢铁, en: Iron}
  default: iron
  rows:
    - id: iron-very-large
      when: transactions.annual_profit > 2000000
      then: iron
    - id: gold-large
      when: transactions.annual_profit >= 1000000
      then: gold
"""
BOTH = {"id": "A1", "transactions": {"annual_profit": 3000000}}  # matches both rows of the unique table


@pytest.fixture
def small(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(SMALL, encoding="utf-8")
    return tmp_path / "policy.yaml"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_decision_error_is_worded_in_either_language(small: Path, engine: str) -> None:
    policy = accountrules.load_policy(small)
    with pytest.raises(DecisionError) as caught:
        policy.decide(BOTH, as_of=AS_OF, engine=engine)
    e = caught.value
    # English as it always was, byte for byte
    assert str(e) == "account 'A1': tier is 'unique' but rows iron-very-large, gold-large all match"
    assert e.reason == "tier is 'unique' but rows iron-very-large, gold-large all match" and e.account_id == "A1"
    zh = e.translated(ZH)
    assert zh == "客户 'A1'：" + _zh_reason("iron-very-large, gold-large") and not ENGLISH.search(zh)
    # a process pool's worker hands the error back with its translation intact
    back = pickle.loads(pickle.dumps(e))
    assert str(back) == str(e) and back.translated(ZH) == zh


def test_the_evaluators_refuse_alike_in_both_languages(overlapping: Path) -> None:
    policy = accountrules.load_policy(overlapping)
    said = {}
    for engine in ENGINES:
        errors = policy.decide_many(str(ACCOUNTS), as_of=AS_OF, engine=engine).errors
        assert errors and all(isinstance(e.message, Message) for e in errors)
        said[engine] = [(e.row, e.account_id, str(e), e.translated(ZH), e.reason, e.reason.translated(ZH))  # type: ignore[attr-defined]
                        for e in errors]
    first = said[ENGINES[0]]
    assert all(s == first for s in said.values())
    row, aid, en, zh, reason, zh_reason = first[0]
    assert en == f"row {row}, account {aid!r}: {reason}"  # the account once, not twice
    assert zh.startswith(f"第 {row} 行，客户 {aid!r}：tier 的命中策略为 'unique'") and not ENGLISH.search(zh)
    assert not reason.startswith("account ") and not ENGLISH.search(zh_reason)


def test_a_row_error_of_an_input_problem_keeps_its_field() -> None:
    e = RowError(3, "KA1", "company.employees", "Input should be a valid integer")
    assert str(e) == "row 3, account 'KA1': company.employees: Input should be a valid integer"
    assert e.reason == e.message
    assert e.translated(ZH).startswith("第 3 行，客户 'KA1'：company.employees: ")


def test_decide_says_refusals_in_chinese(overlapping: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.csv"
    args = ["decide", str(overlapping), str(ACCOUNTS), "--as-of", "2026-06-30", "-q"]
    pair = "gold-upper-contributor, iron-profitable"
    files = {}
    for lang in ("zh", "en"):
        assert main([*args, "-o", str(out), "--lang", lang]) == 1
        files[lang] = (tmp_path / "d.errors.csv").read_bytes()
    # the errors file is data (docs/command-line.md): the same English whatever --lang
    assert files["zh"] == files["en"]
    assert files["en"].decode("utf-8-sig").splitlines()[1] == (
        f"1,KA0001,,\"account 'KA0001': tier is 'unique' but rows {pair} all match\"")
    capsys.readouterr()
    # no errors file: the first refused rows are said on the terminal
    assert main([*args, "-o", "-", "--lang", "zh"]) == 1
    said = capsys.readouterr().err
    listed = [ln for ln in said.splitlines() if ln.startswith("    第 ")]
    assert listed and not ENGLISH.search(said) and "……另有" in said
    assert listed[0] == "    第 1 行，客户 'KA0001'：" + _zh_reason(pair)


def test_diff_says_why_accounts_are_newly_refused_in_chinese(overlapping: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "changes.csv"
    args = ["diff", str(ROOT / "rulesets" / "express"), str(overlapping), str(ACCOUNTS), "--as-of", "2026-06-30",
            "-o", str(out)]
    assert main([*args, "--lang", "zh"]) == 0
    text = capsys.readouterr().out
    moves = [ln for ln in text.splitlines() if "新拒绝" in ln]
    assert moves and all("新拒绝：tier 的命中策略为 'unique'，但规则行 " in ln for ln in moves)
    assert not ENGLISH.search(text)
    changes = out.read_bytes()  # data, like decide's errors file: English whatever --lang
    assert ",refused,,\"tier is 'unique' but rows " in changes.decode("utf-8-sig")
    assert main([*args, "--lang", "en"]) == 0
    assert "newly refused: tier is 'unique' but rows " in capsys.readouterr().out
    assert out.read_bytes() == changes


def test_test_reports_an_undecidable_case_in_chinese(small: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("as_of: 2026-06-30\ncases:\n  - name: one\n    given: {id: A1, transactions: {annual_profit: "
                    "3000000}}\n    expect: {tier: gold}\n", encoding="utf-8")
    assert main(["test", str(small), str(case), "--engine", "compiled", "--lang", "zh"]) == 1
    text = capsys.readouterr().out
    line = next(ln for ln in text.splitlines() if "DecisionError" in ln)
    assert "DecisionError: 客户 'A1'：" + _zh_reason("iron-very-large, gold-large") in line
    assert not ENGLISH.search(line)
    assert text.rstrip().endswith("0 通过，0 失败，1 个出错")
    assert main(["test", str(small), str(case), "--engine", "compiled", "--lang", "en"]) == 1
    text = capsys.readouterr().out
    assert "DecisionError: account 'A1': tier is 'unique' but rows iron-very-large, gold-large all match" in text
    assert text.rstrip().endswith("0 passed, 0 failed, 1 error")


@pytest.mark.parametrize(("n", "en", "zh"), [(1, ", 1 error", "，1 个出错"), (2, ", 2 errors", "，2 个出错")])
def test_counts_take_their_plural_form(n: int, en: str, zh: str) -> None:
    assert plural_of(", {errors} error", ", {errors} errors", n, str).format(errors=n) == en
    assert plural_of(", {errors} error", ", {errors} errors", n, gettext_for("en")).format(errors=n) == en
    assert plural_of(", {errors} error", ", {errors} errors", n, ZH).format(errors=n) == zh
    assert summary_line(3, 1, n) == "3 passed, 1 failed" + en
    assert summary_line(3, 1, n, ZH) == "3 通过，1 失败" + zh


def test_check_words_its_counterexample_file_in_chinese(small: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the completeness failure of the overlapping unique table, as `check --lang zh` prints it
    assert main(["check", str(small), "--examples", "60", "--seed", "1", "--lang", "zh", "-q"]) == 1
    text = capsys.readouterr().out
    comments = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("#")]
    assert comments[0] == "# accountrules check：completeness 不成立"
    assert any(c.startswith("# 用例 '无法决策' 无法决策：tier 的命中策略为 'unique'") for c in comments)
    assert comments[-2:] == ["# 粘贴到政策的 tests/ 目录。期望值是政策目前的决策结果：",
                             "# 请改为它应当做出的决策，再修改政策直到该用例通过。"]
    assert "- name: 无法决策" in text
    assert not ENGLISH.search(text) and "Paste into" not in text and "failed" not in text
    assert main(["check", str(small), "--examples", "60", "--seed", "1", "--lang", "en", "-q"]) == 1
    text = capsys.readouterr().out
    assert "# accountrules check: completeness failed" in text
    assert "# case 'cannot be decided' cannot be decided: tier is 'unique' but rows " in text
    assert "# Paste into the policy's tests/ directory. The expectations are what the policy decides\n" in text
    assert "- name: cannot be decided" in text


def test_a_row_with_several_input_problems_is_worded_problem_by_problem(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # a range error, a did-you-mean and the "(also ...)" of further problems were English under --lang zh
    bad = tmp_path / "bad.csv"
    bad.write_text("id,company.employees,relationship.share_of_wallet,relationship.stage\n"
                   "K1,abc,1.7,stabel\nK2,5,0.5,stable\n", encoding="utf-8")
    out = tmp_path / "d.csv"
    args = ["decide", str(ROOT / "rulesets" / "express"), str(bad), "--as-of", "2026-06-30", "-q", "-o", str(out)]
    english = ("company.employees: Input should be a valid integer, unable to parse string as an integer (also "
               "relationship.stage: Input should be 'nurture', 'initial', 'stable', 'strategic' or 'interrupted'; "
               "did you mean 'stable'?; relationship.share_of_wallet: Input should be less than or equal to 1)")
    for lang in ("en", "zh"):  # the errors file: pydantic's English, with our did-you-mean, whatever --lang
        assert main([*args, "--lang", lang]) == 1
        assert (tmp_path / "d.errors.csv").read_text(encoding="utf-8-sig").splitlines()[1] == (
            '1,K1,company.employees,"' + english.partition(": ")[2] + '"')
    capsys.readouterr()
    assert main([*args[:-2], "-o", "-", "--lang", "zh"]) == 1
    said = capsys.readouterr().err
    assert ("    第 1 行，客户 'K1'：company.employees: 应为整数，无法把文本解析为整数（另有 relationship.stage: 应为 "
            "'nurture', 'initial', 'stable', 'strategic' or 'interrupted' 之一；是否想写 'stable'？; "
            "relationship.share_of_wallet: 应小于或等于 1）") in said
    assert "Input should" not in said and "did you mean" not in said and "(also" not in said
    assert main([*args[:-2], "-o", "-", "--lang", "en"]) == 1
    assert f"    row 1, account 'K1': {english}" in capsys.readouterr().err
