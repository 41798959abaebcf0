"""AR601 unused-allow: a ``lint: allow:`` entry that accepts no finding is reported where it is written."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.analysis import Finding, LintReport, RuleRef
from accountrules.analysis.allowances import apply_allowances
from accountrules.analysis.formats import to_json, to_sarif, to_text
from accountrules.check.spec import LintAllow
from accountrules.cli import main
from accountrules.errors import PolicyError, PolicyReferenceError, SourceLocation
from accountrules.i18n import gettext_for
from accountrules.model.decision import Label

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "lint_corpus"
# params gold_min (read by gold-row) and silver_min (read by nothing): lint reports AR403 on silver_min only
UNUSED_PARAM = (CORPUS / "AR403-unused-param" / "bad.yaml").read_text(encoding="utf-8")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _policy(tmp_path: Path, *entries: str, base: str = UNUSED_PARAM) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(base + "lint:\n  allow:\n" + "".join(f"    - {e}\n" for e in entries), encoding="utf-8")
    return p


def _unused(report: LintReport) -> list[Finding]:
    return [f for f in report.findings if f.code == "AR601"]


def _where(f: Finding) -> tuple[str, int, int]:
    loc = f.rules[0].location
    assert loc is not None
    return Path(loc.file).name, loc.line, loc.column


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


# -- each form of allowance ------------------------------------------------------------------------------------


def test_a_stale_allowance_of_a_rule_is_a_warning_at_its_entry(tmp_path: Path) -> None:
    p = _policy(tmp_path, "{code: AR403, rule: silver_min, reason: live}",
                "{code: AR403, rule: gold_min, reason: gold_min was unused once}")
    report = accountrules.load_policy(p).lint()
    (f,) = _unused(report)
    # line 12 is the second entry; column 7 is where its mapping starts, after "    - "
    assert _where(f) == ("p.yaml", 12, 7) == ("p.yaml", _line_of(p, "rule: gold_min"), 7)
    assert f.severity == "warning" and f.status == "proven" and f.name == "unused-allow" and f.witness is None
    assert f.extra == {"code": "AR403", "rule": "gold_min", "reason": "gold_min was unused once"}
    assert f.rules[0].section == "lint.allow" and f.rules[0].rule == "AR403 gold_min"
    assert "allowance of AR403 for 'gold_min' accepts no finding" in f.message.en
    assert "remove it" in f.message.en
    # the live one accepted its finding and is not reported
    assert [(g.code, g.suppressed) for g in report.findings if g.code == "AR403"] == [("AR403", "live")]
    assert f in report.active and f in report.failing("warning") and not report.failing("error")


def test_a_live_allowance_is_not_reported(tmp_path: Path) -> None:
    for entry in ("{code: AR403, reason: kept}", "{code: AR403, rule: silver_min, reason: kept}"):
        report = accountrules.load_policy(_policy(tmp_path, entry)).lint()
        assert report.active == () and [f.code for f in report.findings] == ["AR403"], entry


def test_a_stale_allowance_of_a_code_alone_says_no_such_finding_is_left(tmp_path: Path) -> None:
    mended = (CORPUS / "AR403-unused-param" / "good.yaml").read_text(encoding="utf-8")
    p = _policy(tmp_path, "{code: AR403, reason: params kept for Q3}", base=mended)
    (f,) = accountrules.load_policy(p).lint().active
    assert f.code == "AR601" and _where(f) == ("p.yaml", _line_of(p, "params kept for Q3"), 7)
    assert f.rules[0].rule == "AR403" and f.extra["rule"] is None
    assert "lint reports no AR403 in this policy any more" in f.message.en


def test_an_allowance_every_match_of_which_an_earlier_one_accepts_names_that_one(tmp_path: Path) -> None:
    p = _policy(tmp_path, "{code: AR403, reason: all params}", "{code: AR403, rule: silver_min, reason: never shown}")
    report = accountrules.load_policy(p).lint()
    (f,) = _unused(report)
    assert _where(f) == ("p.yaml", _line_of(p, "never shown"), 7)
    assert f"accepted first by the allowance at {p}:{_line_of(p, 'all params')}:7" in f.message.en, f.message.en
    assert [g.suppressed for g in report.findings if g.code == "AR403"] == ["all params"]


def test_order_decides_which_allowance_accepts(tmp_path: Path) -> None:
    two_unused = UNUSED_PARAM.replace("params: {gold_min: 100, silver_min: 10}",
                                      "params: {gold_min: 100, silver_min: 10, bronze_min: 1}")
    p = _policy(tmp_path, "{code: AR403, rule: silver_min, reason: silver}", "{code: AR403, reason: the rest}",
                base=two_unused)
    report = accountrules.load_policy(p).lint()
    assert sorted(f.suppressed or "" for f in report.findings) == ["silver", "the rest"]
    assert _unused(report) == []


# -- which allowances are the policy's to delete ---------------------------------------------------------------


def test_an_allowance_in_an_included_file_is_reported_in_that_file(tmp_path: Path) -> None:
    """The express policy split across files, with its lint section moved to an included lint.yaml."""
    copy = tmp_path / "express"
    shutil.copytree(ROOT / "rulesets" / "express", copy, ignore=shutil.ignore_patterns("tests"))
    main_file = copy / "policy.yaml"
    text = main_file.read_text(encoding="utf-8")
    head, lint = text.split("\nlint:\n", 1)
    lint, rest = lint.split("\nmonotonic:\n", 1) if "\nmonotonic:\n" in lint else (lint, "")
    main_file.write_text(head.replace("include: [segments.yaml,", "include: [lint.yaml, segments.yaml,") + "\n"
                         + ("monotonic:\n" + rest if rest else ""), encoding="utf-8")
    stale = "    - {code: AR201, rule: rfm-loyal, reason: shadowed in an older draft}\n"
    (copy / "lint.yaml").write_text("# accepted findings\nlint:\n" + lint.rstrip("\n") + "\n" + stale, encoding="utf-8")
    report = accountrules.load_policy(copy).lint()
    (f,) = report.active
    assert f.code == "AR601"
    assert _where(f) == ("lint.yaml", _line_of(copy / "lint.yaml", "shadowed in an older draft"), 7)
    assert len(report.findings) == 8 and sum(1 for g in report.findings if g.suppressed) == 7
    assert main(["lint", str(copy)]) == 1


def test_an_inherited_allowance_is_reported_by_its_own_policy_only(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "child").mkdir()
    _policy(tmp_path / "base", "{code: AR403, rule: silver_min, reason: base}",
            "{code: AR201, rule: gold-row, reason: stale in the base}").rename(tmp_path / "base" / "policy.yaml")
    (tmp_path / "child" / "policy.yaml").write_text(
        'policy: {name: child, version: "1", label: child}\nextends: ../base\nparams: {silver_min: 5}\n'
        "lint:\n  allow:\n    - {code: AR403, rule: gold_min, reason: stale in the child}\n", encoding="utf-8")
    base = accountrules.load_policy(tmp_path / "base").lint()
    assert [(f.extra["rule"], Path(f.rules[0].location.file).parent.name) for f in _unused(base)  # type: ignore[union-attr]
            ] == [("gold-row", "base")]
    child = accountrules.load_policy(tmp_path / "child").lint()
    assert [(f.extra["rule"], Path(f.rules[0].location.file).parent.name) for f in _unused(child)  # type: ignore[union-attr]
            ] == [("gold_min", "child")]


def test_an_extending_policys_own_allowance_wins_over_an_inherited_one(tmp_path: Path) -> None:
    # the closest wins: the child's owner accepts the base's finding with their own reason, and is not told to
    # delete it for a base allowance they cannot edit (the base's is not reported in the child either)
    (tmp_path / "base").mkdir()
    (tmp_path / "child").mkdir()
    _policy(tmp_path / "base", "{code: AR403, rule: silver_min, reason: the base's reason}").rename(
        tmp_path / "base" / "policy.yaml")
    (tmp_path / "child" / "policy.yaml").write_text(
        'policy: {name: child, version: "1", label: child}\nextends: ../base\nparams: {silver_min: 5}\n'
        "lint:\n  allow:\n    - {code: AR403, rule: silver_min, reason: the child's reason}\n", encoding="utf-8")
    child = accountrules.load_policy(tmp_path / "child").lint()
    accepted = [f for f in child.findings if f.code == "AR403" and any(r.rule == "silver_min" for r in f.rules)]
    assert [f.suppressed for f in accepted] == ["the child's reason"]
    assert _unused(child) == []
    base = accountrules.load_policy(tmp_path / "base").lint()
    assert [f.suppressed for f in base.findings if f.code == "AR403"] == ["the base's reason"]


def test_the_shipped_policies_carry_no_stale_allowance() -> None:
    for name in ("express", "postal"):
        report = accountrules.load_policy(ROOT / "rulesets" / name).lint()
        assert _unused(report) == [] and report.active == ()
        assert main(["lint", str(ROOT / "rulesets" / name)]) == 0


# -- AR601 itself cannot be allowed ----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["AR601", "ar601"])
def test_an_allowance_of_unused_allow_is_refused_at_its_code(tmp_path: Path, code: str) -> None:
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy(_policy(tmp_path, f"{{code: {code}, reason: keep the stale ones}}"))
    e = info.value
    assert isinstance(e, PolicyReferenceError) and e.location is not None
    assert (e.location.line, e.location.column) == (_line_of(tmp_path / "p.yaml", "keep the stale"), 14), str(e)
    assert f"{code} (unused-allow) cannot be allowed" in str(e) and "delete the allowance AR601 reports" in str(e)
    zh = e.translated(gettext_for("zh"))
    assert "不能被接受" in zh and "cannot" not in zh


def test_a_code_close_to_unused_allow_is_not_suggested_as_it(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy(_policy(tmp_path, "{code: AR610, reason: typo}"))
    assert "unknown lint code 'AR610'" in str(info.value) and "'AR601'" not in str(info.value)


# -- how it is shown -------------------------------------------------------------------------------------------


def test_text_json_and_sarif_name_the_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = CORPUS / "AR601-unused-allow" / "bad.yaml"
    line = _line_of(bad, "code: AR403")
    report = accountrules.load_policy(bad).lint()
    en = to_text(report)
    assert f"bad.yaml:{line}:7: warning AR601 unused-allow [proven]: this allowance of AR403 for 'silver_min'" in en
    assert en.splitlines()[-1].endswith("0 error(s), 1 warning(s), 0 note(s), 0 allowed")
    (f,) = json.loads(to_json(report))["findings"]
    assert f["code"] == "AR601" and f["severity"] == "warning" and (f["rules"][0]["line"], f["rules"][0]["column"]) == (
        line, 7)
    (result,) = to_sarif(report)["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert result["level"] == "warning" and (region["startLine"], region["startColumn"]) == (line, 7)
    # a warning: exit 1 under the default --fail-on warning and under info, 0 under error
    assert main(["lint", str(bad)]) == 1
    assert main(["lint", str(bad), "--fail-on", "info"]) == 1
    assert main(["lint", str(bad), "--fail-on", "error"]) == 0
    capsys.readouterr()


def test_chinese_output_is_chinese(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    p = _policy(tmp_path, "{code: AR403, rule: silver_min, reason: live}", "{code: AR403, rule: gold_min, reason: x}",
                "{code: AR403, reason: shadowed}")
    assert main(["--lang", "zh", "lint", str(p)]) == 1
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "AR601" in ln]
    assert len(lines) == 2
    for ln in lines:
        message = ln.split("[已证明]: ", 1)[1]  # the status tag is Chinese too
        assert _HAN.search(message) and " 警告 AR601 unused-allow" in ln, ln
        # no English prose left: only codes, quoted names, the location and the tool's name
        assert not set(re.findall(r"\b[a-z]{4,}\b", re.sub(r"'[^']*'|\S*[/\\.:]\S*", " ", message))) - {"lint"}, message
    assert "'gold_min'" in lines[0] and f"p.yaml:{_line_of(p, 'reason: live')}:7" in lines[1]


# -- the invariant: an allowance is reported unused exactly when removing it changes no finding ------------------

_AT = SourceLocation("p.yaml", 1, 1)
_CODES = ("AR201", "AR403", "AR404")
_RULES = ("a", "b", "c")


@st.composite
def _findings_and_allowances(draw: st.DrawFn) -> tuple[list[Finding], list[LintAllow]]:
    findings = [Finding(code, Label(zh="发现", en="finding"),
                        tuple(RuleRef("tiers", r, _AT) for r in rules), status="proven")
                for code, rules in draw(st.lists(st.tuples(st.sampled_from(_CODES),
                                                           st.lists(st.sampled_from(_RULES), max_size=2, unique=True)),
                                                 max_size=6))]
    allowances = [LintAllow(code, f"reason {i}", SourceLocation("p.yaml", 10 + i, 7), rule, None, inherited)
                  for i, (code, rule, inherited) in enumerate(draw(st.lists(
                      st.tuples(st.sampled_from(_CODES), st.one_of(st.none(), st.sampled_from(_RULES)),
                                st.booleans()), max_size=6)))]
    ordered = sorted(allowances, key=lambda a: not a.inherited)  # as the loader lists them: the base's first
    return findings, ordered


@settings(max_examples=300, deadline=None)
@given(_findings_and_allowances())
def test_an_allowance_is_unused_exactly_when_removing_it_changes_no_finding(
        case: tuple[list[Finding], list[LintAllow]]) -> None:
    findings, allowances = case
    allowed, unused = apply_allowances(findings, allowances)
    reported = {f.rules[0].location for f in unused}
    for i, a in enumerate(allowances):
        if a.inherited:
            assert a.location not in reported
            continue
        without, _ = apply_allowances(findings, allowances[:i] + allowances[i + 1:])
        assert (a.location in reported) == (without == allowed), (a, allowed, without)
    # deleting every reported allowance, as each message says, leaves the findings as they were and nothing to report
    kept = [a for a in allowances if a.location not in reported]
    again, none = apply_allowances(findings, kept)
    assert again == allowed and none == []


_SMALL = """\
policy: {name: gen, version: "1", label: gen}
params: {p0: 1, p1: 2, p2: 3}
tiers:
  hit: first
  values: {a: A, b: B}
  default: b
  rows:
"""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(read=st.lists(st.sampled_from(["p0", "p1", "p2"]), min_size=1, max_size=3, unique=True),
       allow=st.lists(st.tuples(st.sampled_from(["AR403", "AR201", "AR101"]),
                                st.one_of(st.none(), st.sampled_from(["p0", "p1", "p2", "r0"]))), max_size=4))
def test_on_generated_policies_a_reported_allowance_is_one_whose_removal_changes_nothing(
        tmp_path: Path, read: list[str], allow: list[tuple[str, str | None]]) -> None:
    rows = "".join(f"    - {{id: r{i}, when: transactions.count >= params.{p}, then: a}}\n" for i, p in enumerate(read))
    entries = [f"{{code: {code}{f', rule: {rule}' if rule else ''}, reason: reason {i}}}"
               for i, (code, rule) in enumerate(allow)]

    def lint(kept: list[str]) -> tuple[list[Finding], list[int]]:
        p = _policy(tmp_path, *kept, base=_SMALL + rows) if kept else tmp_path / "p.yaml"
        if not kept:
            p.write_text(_SMALL + rows, encoding="utf-8")
        report = accountrules.load_policy(p).lint()
        others = [f for f in report.findings if f.code != "AR601"]
        return others, [f.rules[0].location.line for f in _unused(report)]  # type: ignore[union-attr]

    findings, unused_lines = lint(entries)
    for i in range(len(entries)):
        without, _ = lint(entries[:i] + entries[i + 1:])
        # entry i sits on line (length of the policy text) + 3 + i: after the rows, "lint:" and "  allow:"
        line = len((_SMALL + rows).splitlines()) + 3 + i
        assert (line in unused_lines) == (_strip(without) == _strip(findings)), (entries, i, unused_lines)


def _strip(findings: list[Finding]) -> list[tuple[str, tuple[str, ...], str | None]]:
    """What a finding says, without its location (removing an entry moves no rule, but keep the test robust)."""
    return [(f.code, tuple(r.rule for r in f.rules), f.suppressed) for f in findings]
