"""The account id rule of batch input: one spelling per account, or a row error.

An id is read as text and then

1. **refused** when it holds a control character (``\\t``, ``\\n``, NUL...), a format
   character (zero-width space, joiners, bidi marks: Unicode category ``Cf``) or a lone
   surrogate (``"S\\ud800"`` from a JSON escape: not text, it cannot even be written as
   UTF-8): invisible characters make ids that look alike and are not;
2. **normalised** by Unicode NFKC, then stripped of leading and trailing white space,
   so ``" A1"``, ``"A1 "``, ``"A1"`` and the full-width ``"Ａ１"`` of a Chinese input
   method are all the account ``"A1"`` (and, being one account, the later rows are
   duplicate-id errors);
3. **refused** when nothing is left.

Look-alikes from different scripts (Latin ``A``, Cyrillic ``А``) are different
characters and stay different ids. The rule is applied to every source, row by row or
column by column, before the duplicate-id check.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Final

from accountrules.io.readers import cell_text

_REFUSED: Final = frozenset({"Cc", "Cf", "Cs"})
_CLEAN_ASCII: Final = r"^[!-~](?:[ -~]*[!-~])?$"
"""Printable ASCII without edge spaces: NFKC and strip leave it as it is, nothing in it is refused."""


_VISIBLE: Final = bytes(range(0x21, 0x7F))  # [!-~]: no space, so none at an edge either


def shown_id(text: str) -> str:
    """``text`` safe to write anywhere: what cannot be encoded as UTF-8 (a lone surrogate) as ``\\udXXX``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def is_clean_ascii(text: str) -> bool:
    """Whether ``text`` matches ``_CLEAN_ASCII`` (printable ASCII, not empty, no space at either edge),
    by four string methods in C: the usual id, asked once per account on the hot path of ``decide``."""
    if text.isalnum() and text.isascii():  # letters and digits alone: "C1024", the most usual id, in two calls
        return True
    return text.isascii() and text.isprintable() and text != "" and text[0] != " " and text[-1] != " "


def normalise_id(text: str) -> tuple[str | None, str | None]:
    """``(id, None)`` under the rule above, or ``(None, why it is refused)``."""
    if is_clean_ascii(text):  # the usual id: no category look-up per character
        return text, None
    for ch in text:
        if unicodedata.category(ch) in _REFUSED:
            return None, (f"account id holds an invisible or control character U+{ord(ch):04X}: "
                          "ids must be visible text")
    norm = unicodedata.normalize("NFKC", text).strip()
    if not norm:
        return None, "account id is blank"
    return norm, None


def named_id(text: str) -> str:
    """How a row error names the account whose id is ``text``: under the rule above when the rule
    accepts it, else as given (escaped), on every input path alike."""
    return normalise_id(text)[0] or shown_id(text)


def _visible_ascii(pc: Any, col: Any) -> bool:
    """Whether every cell of a string Array matches ``_CLEAN_ASCII`` because its text, read end to end
    off the column's bytes (a null slot's too), is ``[!-~]`` alone and no cell is empty."""
    text = cell_text(col)
    return bool(text and not text.translate(None, _VISIBLE) and (pc.min(pc.binary_length(col)).as_py() or 0) > 0)


def normalise_id_column(col: Any) -> tuple[Any, dict[int, str]]:
    """An id column (pyarrow string Array or list) under the rule: ``(column, {index: why refused})``.

    Arrow picks out the cells that are not plain printable ASCII; only those go through
    :func:`normalise_id`, so a column of ordinary ids costs one vectorised match.
    """
    bad: dict[int, str] = {}
    if isinstance(col, list):
        out = list(col)
        for i, v in enumerate(col):
            if isinstance(v, str) and not is_clean_ascii(v):
                out[i], problem = normalise_id(v)
                if problem is not None:
                    bad[i] = problem
        return out, bad
    import pyarrow as pa
    import pyarrow.compute as pc

    if _visible_ascii(pc, col):
        return col, bad
    clean = pc.fill_null(pc.match_substring_regex(col, _CLEAN_ASCII), True)
    todo = pc.indices_nonzero(pc.invert(clean)).to_pylist()
    if not todo:
        return col, bad
    values = col.to_pylist()
    for i in todo:
        values[i], problem = normalise_id(values[i])
        if problem is not None:
            bad[i] = problem
    return pa.array(values, pa.string()), bad


__all__ = ["is_clean_ascii", "named_id", "normalise_id", "normalise_id_column", "shown_id"]
