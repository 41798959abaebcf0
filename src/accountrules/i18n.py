"""Messages in Chinese or English: gettext catalogues shared by the command line and ``Decision.explain``.

The English text is the message id; ``locale/zh/LC_MESSAGES/accountrules.po`` gives the
Chinese, compiled to the ``.mo`` beside it, which is shipped as package data and read
with the standard library's :mod:`gettext` (no runtime dependency). Babel, a dev/test
dependency, extracts and compiles the catalogue: ``python tools/i18n.py extract`` then
``compile`` (see ``docs/command-line.md``). A message without a translation is shown in English.
"""

from __future__ import annotations

import functools
import gettext
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Final, Literal

from accountrules.error_base import AccountRulesError

Lang = Literal["zh", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")
DOMAIN: Final = "accountrules"
LOCALE_DIR: Final = Path(__file__).parent / "locale"
# the POSIX order: LANGUAGE (a list) overrides LC_ALL, which overrides LC_MESSAGES, then LANG
LOCALE_VARIABLES: Final = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")

Gettext = Callable[[str], str]


class UnknownLanguageError(AccountRulesError, ValueError):
    """A language that is neither Chinese nor English (a ``ValueError`` too, as a bad argument is)."""

    def __init__(self, text: str):
        self.text = text
        super().__init__(f"lang must be zh or en (or a locale such as zh_CN.UTF-8 or zh-CN), not {text!r}")


def _lang_of(tag: str) -> Lang | None:
    """``zh``, ``zh-CN``, ``zh_CN.UTF-8``, ``zh_Hans`` -> ``zh``; ``en``, ``en_US``, ``C``, ``POSIX`` -> ``en``."""
    base = tag.strip().replace("-", "_").split(".")[0].split("@")[0].split("_")[0].lower()
    if base == "zh":
        return "zh"
    if base in ("en", "c", "posix"):
        return "en"
    return None


def normalise_lang(text: str) -> Lang:
    """``text`` as ``"zh"`` or ``"en"``; :class:`UnknownLanguageError` for any other language."""
    lang = _lang_of(text) if text.strip() else None
    if lang is None:
        raise UnknownLanguageError(text)
    return lang


def lang_from_env(environ: Mapping[str, str] | None = None) -> Lang:
    """The language the locale asks for: the first of LANGUAGE, LC_ALL, LC_MESSAGES, LANG that is
    set; Chinese if it names Chinese, else English (a language we have no catalogue for too)."""
    env = os.environ if environ is None else environ
    for var in LOCALE_VARIABLES:
        value = env.get(var, "")
        if not value:
            continue
        for tag in value.split(":"):  # LANGUAGE is a list in order of preference
            lang = _lang_of(tag) if tag else None
            if lang is not None and (var != "LANGUAGE" or lang == "zh" or tag.lower().startswith("en")):
                return lang
        if var != "LANGUAGE":
            return "en"  # a locale we have no catalogue for (fr_FR...): English
    return "en"


def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (``zh``, ``en`` or a locale tag); English is the message ids themselves."""
    return _catalogue(normalise_lang(lang))


@functools.cache
def _catalogue(code: Lang) -> gettext.NullTranslations:
    # two keys over read-only package data: gettext already keeps every parsed catalogue, and this
    # only spares its path search (several stat calls), which Decision.explain would pay per decision
    if code == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[code], fallback=True)


def gettext_for(lang: str) -> Gettext:
    """``_`` for ``lang``: the message's translation, or the message when it has none."""
    return translations(lang).gettext


def plural_of(singular: str, plural: str, n: int, _: Gettext) -> str:
    """The form of a message for the count ``n`` in ``_``'s language: the catalogue's own plural rule
    (its ``Plural-Forms``: Chinese has one form) when ``_`` is a catalogue's gettext, else English's
    (``singular`` for 1). ``tools/i18n.py`` extracts both forms as one plural message (``_`` comes
    last: Babel's extractor loses the strings after an ``_`` argument)."""
    owner = getattr(_, "__self__", None)  # the catalogue a bound gettext belongs to
    if isinstance(owner, gettext.NullTranslations):
        return owner.ngettext(singular, plural, n)
    return singular if n == 1 else plural


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue where it is defined; it is translated where it is shown."""
    return message


class Message(str):
    """English text that keeps its message id and parameters, so it can be shown in another language.

    ``Message(N_("unknown key {key!r} in {where}"), key="hitt", where="tiers")`` *is* the English
    text (a ``str``: library code and tests read it as before); :meth:`translated` words it with a
    catalogue's ``_``. A parameter that is itself a :class:`Message` is translated too.
    """

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, **params: object) -> Message:
        self = super().__new__(cls, template.format(**params))
        self.template = template
        self.params = params
        return self

    def translated(self, _: Gettext) -> str:
        return _(self.template).format(**{k: translated(v, _) for k, v in self.params.items()})

    def __reduce__(self) -> tuple[object, ...]:  # picklable (errors cross process pools)
        return (_rebuild, (self.template, self.params))


def _rebuild(template: str, params: dict[str, object]) -> Message:
    return Message(template, **params)


def translated(value: object, _: Gettext) -> object:
    """``value`` in ``_``'s language when it is a :class:`Message`; anything else as it is."""
    return value.translated(_) if isinstance(value, Message) else value


__all__ = ["DOMAIN", "LANGS", "LOCALE_DIR", "Gettext", "Lang", "Message", "N_", "UnknownLanguageError", "gettext_for",
           "lang_from_env", "normalise_lang", "plural_of", "translated", "translations"]
