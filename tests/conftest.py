"""The suite runs in English whatever the machine's locale: the command line picks its language from
LANGUAGE/LC_ALL/LC_MESSAGES/LANG, and most tests read its English messages."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
