"""Keep the gettext catalogue of accountrules up to date (a development tool: needs Babel).

    python tools/i18n.py extract   # add every _("...") / N_("...") of src/accountrules to the .po files
    python tools/i18n.py compile   # .po -> .mo (the .mo files are shipped as package data)
    python tools/i18n.py check     # exit 1 when a message has no translation or a .mo is stale

The English text is the message id; only Chinese needs a catalogue. At run time the
standard library's gettext reads the .mo files: Babel is not a runtime dependency.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "accountrules"
LOCALES = PACKAGE / "locale"
DOMAIN = "accountrules"
LANGS = ("zh",)
# pgettext(context, message); plural_of(singular, plural, n, _), a message with plural forms
KEYWORDS = {"_": None, "N_": None, "pgettext": ((1, "c"), 2), "plural_of": (1, 2)}


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return po_path(lang).with_suffix(".mo")


# (message id, context); the id of a message with plural forms is its (singular, plural)
Key = tuple["str | tuple[str, ...]", "str | None"]


def source_messages() -> dict[Key, list[tuple[str, int]]]:
    """Every (message id, context) in the package's sources, with where it is used."""
    found: dict[Key, list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
            str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=()):
        if isinstance(message, tuple):  # plural_of: both forms, as Babel's catalogue keys them
            message = tuple(m for m in message if m is not None)
            if len(message) != 2:
                continue
        if message:
            found.setdefault((message, context), []).append((f"src/accountrules/{filename}", lineno))
    return found


def read(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang, domain=DOMAIN, project="accountrules")
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def _order(item: tuple[Key, Any]) -> tuple[str, str]:
    (msgid, context), _ = item
    return (msgid if isinstance(msgid, str) else msgid[0], context or "")


def extract() -> None:
    messages = source_messages()
    for lang in LANGS:
        old = read(lang)
        new = Catalog(locale=lang, domain=DOMAIN, project="accountrules", charset="utf-8")
        for (msgid, context), where in sorted(messages.items(), key=_order):
            known = old.get(msgid, context=context)
            new.add(msgid, known.string if known is not None else "", locations=where, context=context)
        po_path(lang).parent.mkdir(parents=True, exist_ok=True)
        with po_path(lang).open("wb") as f:
            write_po(f, new, width=120, sort_output=True, omit_header=False)
        missing = [m.id for m in new if m.id and not _translated(m.string)]
        print(f"{po_path(lang).relative_to(ROOT)}: {len(messages)} messages, {len(missing)} untranslated")


def compile_mo() -> None:
    for lang in LANGS:
        catalog = read(lang)
        with mo_path(lang).open("wb") as f:
            write_mo(f, catalog)
        print(f"{mo_path(lang).relative_to(ROOT)}: written")


def _translated(string: str | tuple[str, ...]) -> bool:
    """A translation is there: the text, or every plural form of it."""
    return all(string) if isinstance(string, tuple) else bool(string)


def _shipped(shipped: Any, m: Any) -> str | tuple[str, ...]:
    """What the compiled catalogue says for ``m``: its text, or each plural form (Chinese has one)."""
    if isinstance(m.id, tuple):
        return tuple(shipped.ngettext(m.id[0], m.id[1], n) for n in range(1, len(m.string) + 1))
    return shipped.pgettext(m.context, m.id) if m.context else shipped.gettext(m.id)


def check() -> int:
    import gettext

    status = 0
    messages = source_messages()
    for lang in LANGS:
        catalog = read(lang)
        missing = [m for m, c in messages if catalog.get(m, context=c) is None
                   or not _translated(catalog.get(m, context=c).string)]
        with mo_path(lang).open("rb") as f:
            shipped = gettext.GNUTranslations(f)
        stale = [m.id for m in catalog if m.id and _shipped(shipped, m) != m.string]
        for m in missing:
            print(f"{lang}: no translation: {m!r}")
        for m in stale:
            print(f"{lang}: the .mo is stale for {m!r}: python tools/i18n.py compile")
        status |= bool(missing or stale)
    return int(status)


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "extract":
        extract()
    elif command == "compile":
        compile_mo()
    elif command == "check":
        sys.exit(check())
    else:
        sys.exit(__doc__)
