"""The CSV text of a whole Arrow table at once: byte for byte what ``csv.writer`` writes row by row.

Writing a decided chunk row by row (an Arrow column to Python objects, then ``csv_cell``, the
formula check and ``writerow`` per cell) is a Python call per cell; here the same rules run as
Arrow kernels, column by column (``benchmarks/ab.py --input cli`` measures the command):

* a cell is shown as :func:`~accountrules.io.schema.csv_cell` shows it: null blank, a list joined
  with ``;``, a date in ISO form, a float as Python's ``repr`` (numpy's shortest round-trip text,
  the same digits), an integer in decimal;
* a text cell (text, list, date) a spreadsheet would run as a formula gets a leading ``'``
  (:func:`~accountrules.io.writers.neutralise`), numbers never do;
* a cell holding the delimiter, the quote or a character of the line end is quoted, its quotes
  doubled (``csv.QUOTE_MINIMAL``); the text of a number or a flag holds none of them, so only text
  cells are searched.

:func:`csv_text` returns None where it cannot promise the same bytes (a column type it does not
know; a bare CR in a cell when lines end in LF alone, where the writer quotes the whole row), and
the caller writes that chunk row by row. ``tests/test_csv_text.py`` compares the two on generated
tables.
"""

from __future__ import annotations

import re
from typing import Any

from accountrules.io.optional import require
from accountrules.io.readers import cell_text

__all__ = ["csv_text"]

_FORMULA = "^[=+\\-@\\t\\r]"  # FORMULA_TRIGGERS of io/writers.py as one pattern


def csv_text(table: Any, line_end: str, *, formulas: bool = False) -> str | None:
    """The rows of ``table`` (a pyarrow Table or RecordBatch) as CSV text, each ended by ``line_end``;
    None: write them with the ``csv`` module instead. ``formulas=True`` leaves formula-like cells as they are."""
    pa = require("pyarrow", "writing CSV")
    pc = require("pyarrow.compute", "writing CSV")
    if table.num_rows == 0:
        return ""
    special = "[,\"" + re.escape(line_end) + "]"
    cells: list[Any] = []
    for col in table.columns:
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        text, is_text = _shown(pa, pc, col)
        # a number's or a flag's text needs no formula rule and holds no delimiter, quote or line end
        if is_text and text is not None:
            if _few_values(pc, text):  # codes of the policy: each distinct text is checked once
                coded = pc.dictionary_encode(text)
                words = _cells(pc, coded.dictionary, formulas, special, "\r" not in line_end)
                text = None if words is None else words.take(coded.indices)
            else:
                text = _cells(pc, text, formulas, special, "\r" not in line_end)
        if text is None:
            return None
        cells.append(pc.fill_null(text, ""))
    # each row's cells joined, then its line end: the rows are then the array's text end to end, read off
    # its buffer at once rather than one Python string a row
    rows = pc.binary_join_element_wise(pc.binary_join_element_wise(*cells, ","), "", line_end)
    text = cell_text(rows)
    return None if text is None else text.decode("utf-8")


def _few_values(pc: Any, text: Any) -> bool:
    """Whether a column's first 256 cells hold few distinct texts (a tier, a rule id: not an account id)."""
    head = text.slice(0, 256)
    return len(text) >= 64 and pc.count_distinct(head).as_py() * 4 <= len(head)


def _cells(pc: Any, text: Any, formulas: bool, special: str, bare_cr: bool) -> Any:
    """Text cells as written: neutralised (unless ``formulas``), then quoted where they must be; None when a
    bare CR must be quoted by the csv module's own rule."""
    if bare_cr and pc.any(pc.match_substring(text, "\r")).as_py():
        return None
    if not formulas:
        risky = pc.match_substring_regex(text, _FORMULA)
        if pc.any(risky).as_py():
            text = pc.if_else(risky, pc.binary_join_element_wise("'", text, ""), text)
    quote = pc.match_substring_regex(text, special)
    if pc.any(quote).as_py():
        doubled = pc.replace_substring(text, '"', '""')
        text = pc.if_else(quote, pc.binary_join_element_wise('"', doubled, '"', ""), text)
    return text


def _shown(pa: Any, pc: Any, col: Any) -> tuple[Any, bool]:
    """The column as text cells (null where blank), and whether they count as text for the formula rule."""
    t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return col.cast(pa.string()), True
    if (pa.types.is_list(t) or pa.types.is_large_list(t)) and pa.types.is_string(t.value_type):
        if col.null_count:  # csv_cell shows a missing list as blank, an empty one as ""
            col = pc.if_else(col.is_valid(), col, pa.scalar([], t))
        return pc.binary_join(col, ";"), True
    if pa.types.is_floating(t):
        return _floats(pa, pc, col), False
    if pa.types.is_integer(t):
        return col.cast(pa.string()), False
    if pa.types.is_boolean(t):
        return pc.if_else(col, "True", "False"), False
    if pa.types.is_date32(t):
        return col.cast(pa.string()), True
    return None, False


def _floats(pa: Any, pc: Any, col: Any) -> Any:
    """Python's ``repr`` of each float. Arrow's text has the same shortest digits for 1e-4 <= |x| < 1e9
    and for zero, written without ".0" on whole numbers; the rest (rare in a result: Arrow switches to
    an exponent sooner than Python) is numpy's ``str`` of a float64, which is Python's ``repr``."""
    col = col.cast(pa.float64())
    text = col.cast(pa.string())
    # a whole number is written without ".0" by Arrow; told from its value, not its text (an infinity is
    # "whole" too, and replaced below with the rest of the numbers outside the plain range)
    whole = pc.equal(pc.floor(col), col)
    text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
    size = pc.abs(col)
    plain = pc.or_(pc.and_(pc.greater_equal(size, 1e-4), pc.less(size, 1e9)), pc.equal(col, 0.0))
    odd = pc.invert(pc.fill_null(plain, True))
    if not pc.any(odd).as_py():
        return text
    try:
        import numpy as np
    except ImportError:  # pyarrow without numpy: the csv module writes this chunk
        return None
    rest = np.asarray(col.filter(odd).to_numpy(zero_copy_only=False), dtype=np.float64)
    with np.errstate(invalid="ignore"):  # numpy < 2 warns on formatting nan, which it writes as "nan"
        shown = rest.astype(str)
    return pc.replace_with_mask(text, odd, pa.array(shown, pa.string()))
