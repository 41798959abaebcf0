"""The zh catalogue: every message of the sources is translated, the shipped .mo matches the .po,
placeholders survive translation, and --lang / the locale choose the language (zh-CN -> zh)."""

from __future__ import annotations

import gettext
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from accountrules import load_policy
from accountrules.cli import main
from accountrules.i18n import LOCALE_DIR, UnknownLanguageError, gettext_for, lang_from_env, normalise_lang

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "accountrules"
PO = LOCALE_DIR / "zh" / "LC_MESSAGES" / "accountrules.po"
MO = PO.with_suffix(".mo")
ROOT = Path(__file__).resolve().parents[1]


# (message id, context): the report's few pgettext("report", ...) words; the id of a plural_of message is
# its (singular, plural) and its translation a tuple of forms (Chinese has one)
Key = tuple["str | tuple[str, ...]", "str | None"]


def _catalogue() -> dict[Key, str | tuple[str, ...]]:
    with PO.open("rb") as f:
        return {(m.id, m.context): m.string for m in read_po(f, locale="zh") if m.id}


def _source_messages() -> set[Key]:
    keywords = {"_": None, "N_": None, "pgettext": ((1, "c"), 2), "plural_of": (1, 2)}
    return {(msg, ctx) for _f, _l, msg, _c, ctx in extract_from_dir(str(PACKAGE), method_map=[("**.py", "python")],
                                                                   keywords=keywords, comment_tags=())
            if msg and (isinstance(msg, str) or all(isinstance(m, str) for m in msg))}


def _translated(v: str | tuple[str, ...] | None) -> bool:
    return bool(v) and (isinstance(v, str) or all(v))  # type: ignore[arg-type]


def test_every_message_of_the_sources_has_a_zh_translation() -> None:
    catalogue = _catalogue()
    assert any(isinstance(k, tuple) for k, _ in _source_messages())  # the plural messages are read too
    missing = sorted(str(m) for m in _source_messages() if not _translated(catalogue.get(m)))
    assert not missing, f"run: python tools/i18n.py extract, translate, compile ({missing[:5]})"
    assert all(_translated(v) for v in catalogue.values()), [k for k, v in catalogue.items() if not _translated(v)]


def test_the_shipped_mo_is_compiled_from_the_po() -> None:
    with MO.open("rb") as f:
        shipped = gettext.GNUTranslations(f)

    def compiled(k: str | tuple[str, ...], ctx: str | None) -> str | tuple[str, ...]:
        if isinstance(k, tuple):  # Chinese has one form, for every count
            forms = {shipped.ngettext(k[0], k[1], n) for n in (1, 2, 5)}
            return tuple(forms)
        return shipped.pgettext(ctx, k) if ctx else shipped.gettext(k)

    stale = [k for (k, ctx), v in _catalogue().items() if compiled(k, ctx) != v]
    assert not stale, f"run: python tools/i18n.py compile ({stale[:5]})"


def _fields(text: str) -> list[str]:
    return sorted(f"{name}!{conv}:{spec}" for _, name, spec, conv in string.Formatter().parse(text)
                  if name is not None)


def test_translations_keep_every_placeholder() -> None:
    for (msgid, _ctx), msgstr in _catalogue().items():
        if isinstance(msgid, tuple):  # every form has the placeholders of the plural message
            assert all(_fields(form) == _fields(msgid[1]) for form in msgstr), msgid
            continue
        assert isinstance(msgstr, str)
        assert _fields(msgid) == _fields(msgstr), msgid
        assert msgid.count("%%") == msgstr.count("%%"), msgid  # argparse help: % must stay escaped


@pytest.mark.parametrize(("tag", "lang"), [("zh", "zh"), ("zh-CN", "zh"), ("zh_CN.UTF-8", "zh"), ("zh_Hans", "zh"),
                                           ("en", "en"), ("en_US.UTF-8", "en"), ("C", "en")])
def test_language_tags(tag: str, lang: str) -> None:
    assert normalise_lang(tag) == lang


def test_other_languages_are_refused() -> None:
    with pytest.raises(UnknownLanguageError):
        normalise_lang("fr")


@pytest.mark.parametrize(("env", "lang"), [
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_TW.UTF-8"}, "zh"),
    ({"LANGUAGE": "fr:zh_CN", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LANG": "fr_FR.UTF-8"}, "en"),
    ({}, "en"),
])
def test_the_locale_decides_when_lang_is_not_given(env: dict[str, str], lang: str) -> None:
    assert lang_from_env(env) == lang


def test_explain_takes_locale_tags_and_the_catalogue() -> None:
    import datetime as dt

    policy = load_policy(ROOT / "examples" / "small" / "policy.yaml")
    account = {"id": "A1", "transactions": {"annual_profit": -5, "marketing_cost": 100000}}
    (d,) = policy.decide_many([account], as_of=dt.date(2026, 6, 30))
    zh = d.explain("zh-CN")
    assert zh == d.explain("zh") and zh.startswith("客户 A1 — 政策") and "客户等级" in zh
    assert gettext_for("zh")("Tier") == "客户等级" and gettext_for("en")("Tier") == "Tier"


def test_test_command_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small = tmp_path / "small"
    (small / "tests").mkdir(parents=True)
    (small / "policy.yaml").write_text((ROOT / "examples" / "small" / "policy.yaml").read_text(encoding="utf-8"),
                                       encoding="utf-8")
    (small / "tests" / "a.yaml").write_text(
        "cases:\n  - name: a loss is lead\n"
        "    given: {id: A2, transactions: {annual_profit: -5, marketing_cost: 100000}}\n"
        "    expect: {tier: platinum}\n", encoding="utf-8")
    code = main(["test", str(small), "--engine", "compiled", "--lang", "zh-CN"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[1].startswith("失败") and "tier：期望 platinum，实际 lead" in out
    assert "决策：" in out and "客户等级" in out and out.rstrip().endswith("0 通过，1 失败")


def test_help_and_usage_errors_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--lang", "zh", "decide", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("用法：") and "退出码" in text and "决策日期" in text
    with pytest.raises(SystemExit) as done:
        main(["--lang", "zh", "decide", "p"])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "缺少必需的参数" in err


@pytest.mark.parametrize(("lang", "head"), [("zh", "用法：accountrules report [-h]"),
                                           ("en", "usage: accountrules report [-h]")])
def test_a_usage_parsed_intermixed_keeps_the_program_name(lang: str, head: str,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    # report parses its options intermixed with its positionals, and argparse then keeps format_usage()[7:]
    # as the usage: it cut the 7 characters of "usage: " off "用法：accountrules report" ("untrules report")
    with pytest.raises(SystemExit):
        main(["--lang", lang, "report", "--help"])
    assert capsys.readouterr().out.startswith(head)
