"""Defects a business owner editing policy or case YAML met in review (wip-fixes-owner): a typo accepted
silently, an error that names the wrong cause, English left inside a Chinese line, an untyped error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import accountrules
from accountrules.analysis import KINDS
from accountrules.errors import AccountRulesError, PolicyError, PolicyErrors, PolicyReferenceError, PolicyTypeError
from accountrules.i18n import gettext_for
from accountrules.testing.cases import load_case_file

ROOT = Path(__file__).resolve().parents[1]
UNUSED_PARAM = ROOT / "tests" / "lint_corpus" / "AR403-unused-param" / "bad.yaml"
SMALL = ROOT / "examples" / "small" / "policy.yaml"
ZH = gettext_for("zh")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _english_words(text: str) -> list[str]:
    """Runs of English prose: words of 4+ letters outside quotes, paths and codes (as test_i18n_errors)."""
    bare = re.sub(r"'[^']*'|\"[^\"]*\"|\S*[/\\.:]\S*|\S*_\S*", " ", text)
    return re.findall(r"\b[a-z]{4,}\b", bare)


def _load_error(path: Path) -> PolicyError:
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy(path)
    return info.value


def _where(e: PolicyError) -> tuple[str, int, int]:
    assert e.location is not None, str(e)
    return (Path(e.location.file).name, e.location.line, e.location.column)


def _zh_tail(e: PolicyError) -> str:
    """The Chinese text of ``e`` after its location: no English prose may be left in it."""
    zh = e.translated(ZH)
    assert _HAN.search(zh), zh
    return zh.split(": ", 1)[1] if ": " in zh else zh


# -- 1. a lint allowance naming an unknown finding code --------------------------------------------------------


def _with_allowance(tmp_path: Path, code: str, rule: str = "") -> Path:
    p = tmp_path / "p.yaml"
    scope = f", rule: {rule}" if rule else ""
    p.write_text(UNUSED_PARAM.read_text(encoding="utf-8")
                 + f"lint:\n  allow:\n    - {{code: {code}{scope}, reason: kept for Q3}}\n", encoding="utf-8")
    return p


@pytest.mark.parametrize(("code", "close"), [("AR430", "AR403"), ("AR43", "AR403"), ("ar403", "AR403"),
                                              ("AR999", None), ("403", "AR403")])
def test_an_allowance_of_an_unknown_lint_code_is_an_error_at_the_code(tmp_path: Path, code: str,
                                                                      close: str | None) -> None:
    """It suppressed nothing, silently: the finding the owner meant to accept stayed active."""
    e = _load_error(_with_allowance(tmp_path, code))
    assert isinstance(e, PolicyReferenceError) and _where(e) == ("p.yaml", 11, 14), str(e)
    assert f"unknown lint code '{code}'" in str(e), str(e)
    assert "must be letters" not in str(e)  # the old wording for AR43 named the wrong cause
    if close is not None:
        assert f"did you mean '{close}'?" in str(e), str(e)
    else:
        assert "AR101" in str(e) and "AR501" in str(e), str(e)  # the codes there are
    assert "未知的 lint 代码" in _zh_tail(e) and not _english_words(_zh_tail(e).replace("lint", "")), e.translated(ZH)


def test_the_codes_an_allowance_may_name_are_the_codes_lint_reports() -> None:
    from accountrules.check.policy_shapes import LINT_CODES  # check/ sits below analysis/: a list of its own

    assert set(LINT_CODES) == set(KINDS)


# -- 2. reading an output the policy does not define ------------------------------------------------------------

_NO_TIERS = """\
policy: {name: nt, version: "1", label: nt}
segments:
  abc:
    values: {a: A, b: B}
    default: b
    rows:
      - {id: a-row, when: transactions.annual_revenue >= 100, then: a}
%(churn)s
actions:
  catalog:
    call: {title: Call, owner: sales, due: 7d}
  rules:
    - id: r
      when: %(when)s
      do: [call]
"""


@pytest.mark.parametrize(("when", "section"), [
    ("tier == 'gold'", "tiers"), ("rank(tier) > 1", "tiers"), ("stage == 'stable'", "stages"),
    ("churn.kind == 'none'", "churn"), ("churn.risk == 'high'", "churn"), ("churn.score > 1", "churn"),
])
def test_reading_an_output_of_a_section_the_policy_lacks_says_so(tmp_path: Path, when: str, section: str) -> None:
    """It said "unknown field 'tier'", as if tier were a typo, in a policy that simply has no tiers."""
    p = tmp_path / "p.yaml"
    p.write_text(_NO_TIERS % {"when": when, "churn": ""}, encoding="utf-8")
    e = _load_error(p)
    name = when.removeprefix("rank(").split(")")[0].split()[0]
    column = 13 + when.index(name)
    assert isinstance(e, PolicyTypeError) and _where(e) == ("p.yaml", 14, column), str(e)
    assert "unknown field" not in str(e)
    assert f"the policy has no '{section}:' section" in str(e), str(e)
    zh = _zh_tail(e)
    assert f"'{section}:'" in zh and not _english_words(zh), e.translated(ZH)


def test_reading_the_churn_score_of_a_churn_section_without_one_says_so(tmp_path: Path) -> None:
    churn = "churn:\n  rows:\n    - {id: gone, when: transactions.recency_days > 365, kind: voluntary, risk: high}"
    p = tmp_path / "p.yaml"
    p.write_text(_NO_TIERS % {"when": "churn.score > 1", "churn": churn}, encoding="utf-8")
    e = _load_error(p)
    assert isinstance(e, PolicyTypeError) and _where(e) == ("p.yaml", 16, 13), str(e)
    assert "unknown field" not in str(e) and "the churn section defines no 'score:'" in str(e), str(e)
    assert not _english_words(_zh_tail(e)), e.translated(ZH)


def test_reading_a_segment_the_policy_lacks_names_the_segments_it_has(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(_NO_TIERS % {"when": "segments.abd == 'a'", "churn": ""}, encoding="utf-8")
    e = _load_error(p)
    assert isinstance(e, PolicyTypeError) and _where(e) == ("p.yaml", 14, 13), str(e)
    assert "the policy has no segment 'abd'" in str(e) and "did you mean 'segments.abc'?" in str(e), str(e)
    assert not _english_words(_zh_tail(e)), e.translated(ZH)


def test_an_earlier_section_reading_the_tier_of_a_policy_without_tiers_is_not_told_to_wait(tmp_path: Path) -> None:
    """In a segment row, 'tier' was "decided after segments and metrics", which it never is without tiers."""
    p = tmp_path / "p.yaml"
    p.write_text(_NO_TIERS.replace("transactions.annual_revenue >= 100", "tier == 'gold'")
                 % {"when": "'true'", "churn": ""}, encoding="utf-8")
    e = _load_error(p)
    assert _where(e) == ("p.yaml", 7, 27) and "the policy has no 'tiers:' section" in str(e), str(e)
    assert "decided after" not in str(e)


_CASE_EXPECTS = {
    "tier": ("{tier: gold}", "expect.tier: the policy has no tiers"),
    "stage": ("{stage: stable}", "expect.stage: the policy has no stages"),
    "churn": ("{churn: {kind: none}}", "expect.churn: the policy has no churn section"),
}


def _case_error(tmp_path: Path, text: str, policy: Path, kind: type[PolicyError]) -> PolicyError:
    """The error of loading ``text`` as a case file of ``policy``."""
    cases = tmp_path / "cases.yaml"
    cases.write_text(text, encoding="utf-8")
    with pytest.raises(kind) as info:
        load_case_file(cases, accountrules.load_policy(policy))
    return info.value


@pytest.mark.parametrize("key", sorted(_CASE_EXPECTS))
def test_a_case_expecting_an_output_the_policy_lacks_is_told_in_chinese(tmp_path: Path, key: str) -> None:
    expect, english = _CASE_EXPECTS[key]
    policy = tmp_path / "p.yaml"
    policy.write_text(_NO_TIERS % {"when": "'true'", "churn": ""}, encoding="utf-8")
    e = _case_error(tmp_path, f"cases:\n  - name: a\n    given: {{id: A}}\n    expect: {expect}\n", policy,
                    PolicyReferenceError)
    assert _where(e) == ("cases.yaml", 4, 14) and english in str(e), str(e)
    assert not _english_words(_zh_tail(e)), e.translated(ZH)


def test_a_case_expecting_a_churn_score_of_a_churn_section_without_one_is_an_error(tmp_path: Path) -> None:
    """It loaded, and the case failed at run time comparing 1 with a score no decision of the policy has."""
    e = _case_error(tmp_path, "cases:\n  - name: a\n    given: {id: A}\n    expect: {churn: {score: 1}}\n", SMALL,
                    PolicyReferenceError)
    assert _where(e) == ("cases.yaml", 4, len("    expect: {churn: {score: ") + 1), str(e)
    assert "the churn section defines no 'score:'" in str(e), str(e)
    assert not _english_words(_zh_tail(e)), e.translated(ZH)
    cases = tmp_path / "cases.yaml"
    cases.write_text("cases:\n  - name: a\n    given: {id: A}\n    expect: {churn: {score: null}}\n", encoding="utf-8")
    assert load_case_file(cases, accountrules.load_policy(SMALL)).cases  # no score is what it has: fine


# -- 3. load_policy given something that is no path -------------------------------------------------------------


@pytest.mark.parametrize("given", [123, None, 1.5, b"rulesets/express", ["rulesets/express"], {"policy": {}}])
def test_load_policy_given_no_path_says_what_it_takes(given: object) -> None:
    """It raised a bare TypeError from pathlib ("expected str, bytes or os.PathLike object, not int")."""
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy(given)  # type: ignore[arg-type]
    e = info.value
    assert isinstance(e, AccountRulesError) and isinstance(e, TypeError)  # still what `except TypeError` catches
    assert f"got {type(given).__name__}" in str(e) and "a path (str or os.PathLike)" in str(e), str(e)
    assert not set(_english_words(_zh_tail(e))) - {type(given).__name__, "bytes"}, e.translated(ZH)  # Python's names
    if isinstance(given, bytes):
        assert "os.fsdecode" in str(e)
    if isinstance(given, dict):
        assert "load_policy_mapping" in str(e)


def test_load_policy_text_given_no_text_says_what_it_takes() -> None:
    for given in (123, None, ["policy: {}"]):
        with pytest.raises(PolicyError, match=f"got {type(given).__name__}") as info:
            accountrules.load_policy_text(given)  # type: ignore[arg-type]
        assert isinstance(info.value, TypeError)


def test_load_policy_still_takes_str_pathlike_and_installed_names() -> None:
    assert accountrules.load_policy(str(SMALL)).name == accountrules.load_policy(SMALL).name == "small"
    assert accountrules.load_policy("express").name == "express"


# -- 4. found while hunting --------------------------------------------------------------------------------------


def test_an_allowance_scoped_to_a_rule_the_policy_lacks_is_an_error_at_the_rule(tmp_path: Path) -> None:
    """`rule: silver_mn` accepted nothing, silently: the AR403 finding on silver_min stayed active."""
    e = _load_error(_with_allowance(tmp_path, "AR403", rule="silver_mn"))
    assert isinstance(e, PolicyReferenceError) and _where(e) == ("p.yaml", 11, 27), str(e)
    assert "names 'silver_mn', which is no rule of this policy" in str(e) and "did you mean 'silver_min'?" in str(e)
    assert not set(_english_words(_zh_tail(e))) - {"lint"}, e.translated(ZH)
    scoped = accountrules.load_policy(_with_allowance(tmp_path, "AR403", rule="silver_min"))
    assert scoped.lint().active == ()


@pytest.mark.parametrize("policy", [ROOT / "rulesets" / "express", ROOT / "rulesets" / "postal",
                                    *sorted((ROOT / "tests" / "lint_corpus").glob("*/bad.yaml"))],
                         ids=lambda p: p.parent.name if p.name == "bad.yaml" else p.name)
def test_every_rule_a_finding_names_is_one_an_allowance_may_name(policy: Path) -> None:
    """The loader's list of rule names (check/, below analysis/) holds every name lint gives a rule."""
    from accountrules.check.policy_check import lint_rule_names

    loaded = accountrules.load_policy(policy)
    names = lint_rule_names(loaded.spec)
    report = loaded.lint()
    assert report.findings
    # AR601 names the allowance it reports (its code, and rule), not a rule; it cannot be allowed, so no allowance
    # is ever matched against that name
    assert {r.rule for f in (*report.findings, *report.dropped) if f.code != "AR601" for r in f.rules} <= names


def test_an_inherited_allowance_of_a_rule_the_extending_policy_replaced_is_not_an_error(tmp_path: Path) -> None:
    """The base policy's allowances were checked against its own rules; a child that replaces its tiers keeps them."""
    (tmp_path / "base").mkdir()
    (tmp_path / "child").mkdir()
    (tmp_path / "base" / "policy.yaml").write_text(
        UNUSED_PARAM.read_text(encoding="utf-8")
        + "lint:\n  allow:\n    - {code: AR201, rule: gold-row, reason: kept}\n", encoding="utf-8")
    (tmp_path / "child" / "policy.yaml").write_text(
        'policy: {name: child, version: "1", label: child}\nextends: ../base\ntiers:\n  hit: first\n'
        "  values: {iron: Iron}\n  default: iron\n  rows:\n    - {id: iron-row, when: 'true', then: iron}\n"
        "lint:\n  allow:\n    - {code: AR201, rule: gold-rw, reason: typo}\n", encoding="utf-8")
    e = _load_error(tmp_path / "child")
    assert isinstance(e, PolicyReferenceError) and "'gold-rw'" in str(e) and "gold-row" not in str(e), str(e)
    assert _where(e)[:2] == ("policy.yaml", 11), str(e)
    text = (tmp_path / "child" / "policy.yaml").read_text(encoding="utf-8").replace("gold-rw", "iron-row")
    (tmp_path / "child" / "policy.yaml").write_text(text, encoding="utf-8")
    assert accountrules.load_policy(tmp_path / "child").name == "child"


def test_an_unknown_parameter_with_none_close_says_where_to_declare_it_in_chinese(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(_NO_TIERS % {"when": "transactions.annual_revenue > params.floor", "churn": ""}, encoding="utf-8")
    e = _load_error(p)
    assert _where(e) == ("p.yaml", 14, 43) and "unknown parameter 'params.floor'" in str(e), str(e)
    assert "declare it under params:" in str(e)
    assert not _english_words(_zh_tail(e)), e.translated(ZH)  # the hint was English inside the Chinese line


def test_a_case_with_an_undeclared_extra_field_says_where_to_declare_it_in_chinese(tmp_path: Path) -> None:
    e = _case_error(tmp_path, "cases:\n  - name: a\n    given: {id: A, extra: {zzz: 1}}\n", SMALL, PolicyError)
    assert _where(e) == ("cases.yaml", 3, 28) and "declare it under 'fields:' in the policy" in str(e), str(e)
    assert not set(_english_words(_zh_tail(e))) - {"given"}, e.translated(ZH)


def test_policy_text_refusals_are_translated() -> None:
    """What a policy held in a database (load_policy_text / _mapping) is refused for was English only."""
    refusals = [
        lambda: accountrules.load_policy_text('policy: {name: t, version: "1", label: t}\ninclude: [tiers.yaml]\n'),
        lambda: accountrules.load_policy_text("policy: {}\n", files={"/abs.yaml": ""}),
        lambda: accountrules.load_policy_text("policy: {}\n", files={"../up.yaml": ""}),
        lambda: accountrules.load_policy_text("policy: {}\n", files={"policy.yaml": ""}),
        lambda: accountrules.load_policy_mapping([]),  # type: ignore[arg-type]
        lambda: accountrules.load_policy_mapping({"policy": {"name": object()}}),
    ]
    for refuse in refusals:
        with pytest.raises(PolicyError) as info:
            refuse()
        e = info.value
        assert e.location is not None, str(e)
        left = set(_english_words(_zh_tail(e))) - {"include", "files", "list", "object", "text"}  # keys and names
        assert not left, (str(e), e.translated(ZH))


def test_tier_values_written_as_a_list_are_one_error_not_five(tmp_path: Path) -> None:
    """`values: [gold, iron]` (a list, not code: label) also said the tiers declare no values, the default and every
    row give a value that is not one, and every comparison with a tier names no tier "(one of )"."""
    policy = SMALL.read_text(encoding="utf-8")
    values = ("  values:\n    platinum: {zh: 铂金, en: Platinum}\n    gold: {zh: 黄金, en: Gold}\n"
              "    iron: {zh: 钢铁, en: Iron}\n    lead: {zh: 重铅, en: Lead}\n")
    assert values in policy
    p = tmp_path / "policy.yaml"
    p.write_text(policy.replace(values, "  values: [platinum, gold, iron, lead]\n"), encoding="utf-8")
    e = _load_error(p)
    assert not isinstance(e, PolicyErrors), str(e)
    assert _where(e) == ("policy.yaml", 16, 11) and "tiers.values must be a mapping" in str(e), str(e)


def test_a_badly_named_tier_value_is_reported_once(tmp_path: Path) -> None:
    """A code refused for its spelling was reported, and then again at every row giving it."""
    policy = SMALL.read_text(encoding="utf-8").replace("    gold: {zh: 黄金", "    gold-1: {zh: 黄金")
    p = tmp_path / "policy.yaml"
    p.write_text(policy.replace("then: gold", "then: gold-1"), encoding="utf-8")
    e = _load_error(p)
    assert not isinstance(e, PolicyErrors), str(e)
    assert _where(e) == ("policy.yaml", 18, 5) and "code 'gold-1' must start with a letter" in str(e), str(e)


@pytest.mark.parametrize(("output", "section"), [("tier", "tiers:"), ("stage", "stages:"), ("churn.risk", "churn:")])
def test_a_monotonic_output_of_a_section_the_policy_lacks_says_so(tmp_path: Path, output: str, section: str) -> None:
    """It said the output "must be an ordered output", which tier, stage and churn.risk are."""
    p = tmp_path / "p.yaml"
    declared = f"monotonic:\n  - {{field: credit.overdue_payments, output: {output}}}\nsegments:\n"
    p.write_text(_NO_TIERS.replace("segments:\n", declared, 1) % {"when": "'true'", "churn": ""}, encoding="utf-8")
    e = _load_error(p)
    assert isinstance(e, PolicyReferenceError) and _where(e) == ("p.yaml", 3, 5), str(e)
    assert "must be an ordered output" not in str(e) and f"the policy has no '{section}' section" in str(e), str(e)
    assert not _english_words(_zh_tail(e)), e.translated(ZH)
