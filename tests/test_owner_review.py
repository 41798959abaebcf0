"""Defects a business owner editing policy or case YAML met in review (wip-fixes-owner): a typo accepted
silently, an error that names the wrong cause, English left inside a Chinese line, an untyped error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import accountrules
from accountrules.analysis import KINDS
from accountrules.errors import PolicyError, PolicyReferenceError
from accountrules.i18n import gettext_for

ROOT = Path(__file__).resolve().parents[1]
UNUSED_PARAM = ROOT / "tests" / "lint_corpus" / "AR403-unused-param" / "bad.yaml"
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
