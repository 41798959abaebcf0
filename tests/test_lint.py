"""accountrules lint: the seeded-defect corpus, the shipped policies, the diamond edit, formats, allowances."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.analysis import KINDS, lint_policy
from accountrules.analysis.formats import to_json, to_sarif, to_text
from accountrules.cli import main
from accountrules.errors import DecisionError, PolicyError
from accountrules.testing.cases import load_case_file

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "lint_corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
# the rule each seeded defect must point at first
PRIMARY = {
    "AR101": "tiers", "AR102": "mid", "AR103": "mid", "AR201": "top", "AR202": "top", "AR203": "second-copy",
    "AR204": "narrow", "AR205": "never", "AR301": "stable", "AR302": "stable", "AR303": "n-s", "AR304": "i-n",
    "AR401": "silver-row", "AR402": "tiers.values.silver", "AR403": "silver_min", "AR404": "trend",
    "AR501": "credit.overdue_payments->tier", "AR601": "AR403 silver_min",
}


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


def test_corpus_covers_every_kind() -> None:
    assert len(CASES) >= 15
    assert {c.split("-")[0] for c in CASES} == set(KINDS)


@pytest.mark.parametrize("case", CASES)
def test_seeded_defect_is_found_at_its_rule(case: str, tmp_path: Path) -> None:
    code = case.split("-")[0]
    bad = CORPUS / case / "bad.yaml"
    policy = accountrules.load_policy(bad)
    report = policy.lint()
    found = [f for f in report.findings if f.code == code]
    assert found, f"{code} not reported: {report.codes()}"
    f = found[0]
    assert f.rules[0].rule == PRIMARY[code]
    loc = f.rules[0].location
    assert loc is not None and loc.file.endswith("bad.yaml")
    needle = {"AR101": "hit:", "AR402": "hit:", "AR301": "states:", "AR302": "states:",
              "AR403": "params:", "AR404": "trend:", "AR501": "field: credit",
              "AR601": "code: AR403"}.get(code, f"id: {PRIMARY[code]}")
    assert loc.line == _line_of(bad, needle)
    assert f.message.zh and f.message.en and f.message.zh != f.message.en
    assert not report.dropped
    if f.status == "confirmed":
        assert f.witness is not None
        case_doc = f.witness_case()
        assert case_doc is not None
        # the witness is a valid YAML test case of this policy, and deciding it shows the finding again
        path = tmp_path / "witness.yaml"
        path.write_text(yaml.safe_dump(case_doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        loaded = load_case_file(path, policy)
        assert len(loaded.cases) == 1 + len(f.witness.more)
        if f.witness.expect.get("error"):
            with pytest.raises(DecisionError, match="match|disagree"):
                policy.decide(f.witness.account, as_of=f.witness.as_of)
        else:  # the project's own test command passes the witness case
            assert main(["test", str(bad), str(path), "--engine", "compiled"]) == 0
    else:
        assert f.status == "proven" and code in {"AR205", "AR301", "AR402", "AR403", "AR404", "AR601"}


@pytest.mark.parametrize("case", CASES)
def test_mended_twin_lints_clean(case: str) -> None:
    report = accountrules.load_policy(CORPUS / case / "good.yaml").lint()
    assert report.findings == (), [(f.code, f.message.en) for f in report.findings]


@pytest.mark.parametrize("name", ["express", "postal"])
def test_shipped_policies_lint_clean_or_allowed(name: str) -> None:
    report = accountrules.load_policy(ROOT / "rulesets" / name).lint()
    assert report.active == ()
    assert report.findings, "the shipped allowances are exercised"
    assert all(f.suppressed for f in report.findings)
    assert all(f.status == "confirmed" or f.witness is None for f in report.findings)


def test_diamond_tier_is_a_broken_hand_off(tmp_path: Path) -> None:
    copy = tmp_path / "express"
    shutil.copytree(ROOT / "rulesets" / "express", copy, ignore=shutil.ignore_patterns("tests"))
    tiers = copy / "tiers.yaml"
    text = tiers.read_text(encoding="utf-8")
    text = text.replace("  values:                       # highest first\n",
                        "  values:                       # highest first\n    diamond: {zh: 钻石层级, en: Diamond}\n")
    text = text.replace("    - id: platinum-top-contributor\n",
                        "    - id: diamond-top-contributor\n"
                        "      when: profit_contribution_pct >= 0.95\n      then: diamond\n"
                        "    - id: platinum-top-contributor\n")
    tiers.write_text(text, encoding="utf-8")
    report = accountrules.load_policy(copy).lint()
    broken = [f for f in report.active if f.code == "AR401"]
    assert len(broken) == 1
    f = broken[0]
    assert f.rules[0].rule == "diamond-top-contributor"
    loc = f.rules[0].location
    assert loc is not None and loc.line == _line_of(tiers, "id: diamond-top-contributor")
    readers = {r.rule for r in f.rules[1:]}
    assert {"act-top-tier-manager", "act-top-tier-care", "act-second-tier-care"} <= readers
    assert f.witness is not None and f.witness.expect["tier"] == "diamond"
    case = tmp_path / "witness.yaml"
    case.write_text(yaml.safe_dump(f.witness_case(), allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert main(["test", str(copy), str(case), "--engine", "compiled"]) == 0
    assert main(["lint", str(copy)]) == 1


def test_cli_exit_status_and_fail_on(capsys: pytest.CaptureFixture[str]) -> None:
    bad = str(CORPUS / "AR403-unused-param" / "bad.yaml")
    assert main(["lint", bad]) == 0  # an info finding is below the default --fail-on warning
    assert main(["lint", bad, "--fail-on", "info"]) == 1
    assert main(["lint", str(CORPUS / "AR403-unused-param" / "good.yaml"), "--fail-on", "info"]) == 0
    out = capsys.readouterr().out
    assert "AR403" in out and "silver_min" in out


def test_json_report_round_trips_witness(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(CORPUS / "AR101-table-gap" / "bad.yaml"), "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    (f,) = doc["findings"]
    assert f["code"] == "AR101" and f["severity"] == "error" and f["rules"][0]["line"] == 3
    assert f["witness"]["cases"][0]["expect"] == {"tier": None}


def _sarif_validator(path: Path) -> object:
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema (extra 'test') validates SARIF output")
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.mark.parametrize("case", ["AR102-unique-overlap", "AR401-unhandled-value", "AR205-unsatisfiable",
                                  "AR601-unused-allow"])
def test_sarif_output_is_valid(case: str) -> None:
    validator = _sarif_validator(ROOT / "tests" / "data" / "sarif-2.1.0-subset.schema.json")
    report = accountrules.load_policy(CORPUS / case / "bad.yaml").lint()
    sarif = to_sarif(report)
    validator.validate(sarif)  # type: ignore[attr-defined]
    assert sarif["runs"][0]["results"][0]["ruleId"] == case.split("-")[0]


def test_sarif_against_the_oasis_schema_when_given() -> None:
    path = os.environ.get("SARIF_SCHEMA")
    if not path:
        pytest.skip("set SARIF_SCHEMA to a copy of the OASIS sarif-schema-2.1.0.json to validate against it")
    validator = _sarif_validator(Path(path))
    policies = [ROOT / "rulesets" / "express", ROOT / "rulesets" / "postal", *(CORPUS / c / "bad.yaml" for c in CASES)]
    for p in policies:
        validator.validate(to_sarif(accountrules.load_policy(p).lint()))  # type: ignore[attr-defined]


def test_text_report_shows_allowances_and_both_languages() -> None:
    report = accountrules.load_policy(ROOT / "rulesets" / "postal").lint()
    en, zh = to_text(report), to_text(report, lang="zh")
    # 13 (was 17), issue 12: postal's churn now reads gold_max_overdue / gold_max_arrears_ratio
    # (expulsion on a junk rating confirmed by the record) and the inherited express metric
    # data_gap_holds_tier reads profit_contribution_pct and the gold / growth parameters, so those
    # are no longer unused (-6); data_gap_holds_tier itself and revenue_cumshare (kept beside
    # revenue_cumshare_above) are unused in postal on purpose (+2)
    assert "allowed: the express tier parameters" in en and "13 allowed" in en
    assert "参数" in zh
    assert json.loads(to_json(report))["findings"][0]["suppressed"]


def _policy(tmp_path: Path, extra: str) -> Path:
    src = (CORPUS / "AR403-unused-param" / "bad.yaml").read_text(encoding="utf-8")
    p = tmp_path / "p.yaml"
    p.write_text(src + extra, encoding="utf-8")
    return p


def test_allowance_needs_a_reason_and_a_known_shape(tmp_path: Path) -> None:
    ok = accountrules.load_policy(_policy(tmp_path, "lint:\n  allow:\n    - {code: AR403, reason: kept for Q3}\n"))
    assert ok.lint().active == () and ok.lint().findings[0].suppressed == "kept for Q3"
    with pytest.raises(PolicyError, match="needs 'reason'"):
        accountrules.load_policy(_policy(tmp_path, "lint:\n  allow:\n    - {code: AR403}\n"))
    with pytest.raises(PolicyError, match="lint code"):
        accountrules.load_policy(_policy(tmp_path, "lint:\n  allow:\n    - {code: X1, reason: r}\n"))
    with pytest.raises(PolicyError, match="unknown key"):
        accountrules.load_policy(_policy(tmp_path, "lint:\n  ignore: [AR403]\n"))
    scoped = accountrules.load_policy(_policy(
        tmp_path, "lint:\n  allow:\n    - {code: AR403, rule: gold_min, reason: not this one}\n"))
    # silver_min stays unused, and gold_min is read, so the allowance accepts nothing and says so
    assert [f.code for f in scoped.lint().active] == ["AR403", "AR601"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([">=", "<", "<=", ">"]), st.integers(0, 20)), min_size=1, max_size=4))
def test_gap_claims_agree_with_brute_force(tmp_path_factory: pytest.TempPathFactory,
                                           rows: list[tuple[str, int]]) -> None:
    """A first-hit table over one integer field has a gap exactly when some value in 0..21 (or null) matches no row."""
    body = "\n".join(f"    - {{id: r{i}, when: transactions.count {op} {c}, then: a}}"
                     for i, (op, c) in enumerate(rows))
    path = tmp_path_factory.mktemp("gap") / "p.yaml"
    path.write_text('policy: {name: g, version: "1", label: g}\ntiers:\n  hit: first\n  values: {a: A}\n  rows:\n'
                    + body + "\n", encoding="utf-8")
    policy = accountrules.load_policy(path)
    report = lint_policy(policy)
    gap = any(f.code == "AR101" for f in report.findings)
    assert gap  # null never matches a comparison, so a table without a default always has the null gap
    values = [policy.decide({"id": "x", "transactions": {"count": n}}).tier for n in range(22)]
    numeric_gap = any(v is None for v in values)
    described = next(f.detail for f in report.findings if f.code == "AR101")
    cells = [c for box in described.split("; ")
             for c in box.removeprefix("transactions.count ∈ {").removesuffix("}").split(" | ")]
    assert numeric_gap == any(c != "null" for c in cells), described


def test_a_stage_no_action_handles_is_a_broken_hand_off(tmp_path: Path) -> None:
    stages = (CORPUS / "AR304-flapping" / "good.yaml").read_text(encoding="utf-8")
    p = tmp_path / "p.yaml"
    p.write_text(stages + "actions:\n  catalog:\n    call: {title: Call, owner: am}\n  rules:\n"
                 "    - {id: act-nurture, when: stage == 'nurture', do: [call]}\n"
                 "    - {id: act-initial, when: stage == 'initial', do: [call]}\n", encoding="utf-8")
    report = accountrules.load_policy(p).lint()
    (f,) = report.active
    assert f.code == "AR401" and f.extra["value"] == "stable"
    assert [r.rule for r in f.rules] == ["i-s", "act-nurture", "act-initial"]
    assert f.witness is not None and f.witness.expect == {"stage": {"to": "stable"}}
    assert f.witness.account["relationship"]["stage"] in ("initial", "stable")


def test_chinese_text_report_words_its_frame_in_chinese() -> None:
    # `accountrules lint --lang zh` printed "error AR101 ...", "(allowed: ...)" and the summary
    # "0 error(s), 1 warning(s), 0 note(s), 7 allowed" in English around the Chinese messages
    report = accountrules.load_policy(ROOT / "rulesets" / "express").lint()
    zh = to_text(report, lang="zh")
    assert "allowed" not in zh and "error(s)" not in zh and "note(s)" not in zh
    assert zh.splitlines()[-1] == "express 1.0.0：0 个错误，0 个警告，0 个提示，7 个已接受"
    assert "已接受：" in zh and " 错误 AR101 table-gap" in zh
    en = to_text(report)
    assert en.splitlines()[-1] == "express 1.0.0: 0 error(s), 0 warning(s), 0 note(s), 7 allowed"
    assert " error AR101 table-gap" in en and "(allowed: " in en


def test_chinese_text_report_words_its_details_in_chinese() -> None:
    # a gap's region ("between 5 and 10 (exclusive)", "null") and the [proven] tag stayed English under --lang zh
    gap = accountrules.load_policy(CORPUS / "AR101-table-gap" / "bad.yaml").lint()
    zh, en = to_text(gap, lang="zh"), to_text(gap)
    assert "transactions.annual_revenue ∈ {空值（null） | = 5 | 介于 5 与 10 之间（不含两端）}" in zh
    assert "between" not in zh and "exclusive" not in zh
    assert "transactions.annual_revenue ∈ {null | = 5 | between 5 and 10 (exclusive)}" in en
    # the JSON keeps both languages' messages and its detail in English, as before
    f = json.loads(to_json(gap))["findings"][0]
    assert "between 5 and 10 (exclusive)" in f["message"]["en"] and "介于 5 与 10 之间" in f["message"]["zh"]
    assert f["detail"] == "transactions.annual_revenue ∈ {null | = 5 | between 5 and 10 (exclusive)}"
    proven = accountrules.load_policy(CORPUS / "AR205-unsatisfiable" / "bad.yaml").lint()
    assert " AR205 unsatisfiable [已证明]: " in to_text(proven, lang="zh")
    assert " AR205 unsatisfiable [proven]: " in to_text(proven)
    refuted = accountrules.load_policy(CORPUS / "AR501-monotonic-refuted" / "bad.yaml").lint()
    said = to_text(refuted, lang="zh")
    assert "声明 credit.overdue_payments 递减 -> tier 不成立" in said and "decreasing" not in said
