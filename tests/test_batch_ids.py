"""The account id rule (accountrules.batch.ids): one spelling per account, or a row error."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountrules.batch.ids import normalise_id, normalise_id_column, shown_id

pa: Any = pytest.importorskip("pyarrow")

_IDS = st.one_of(
    st.text(max_size=8),
    st.text(alphabet=" \u00a0\u3000A1Ａ１\u200b\u030a\t", max_size=6),
    st.sampled_from(["A1", " A1", "A1 ", "Ａ１", "KA0001", "客户-7", "=1+2"]),
)


@settings(max_examples=500, deadline=None)
@given(_IDS)
def test_the_rule_is_idempotent_and_leaves_nothing_refusable(text: str) -> None:
    norm, problem = normalise_id(text)
    if norm is None:
        assert problem
        return
    assert problem is None
    assert norm == norm.strip() and norm
    assert normalise_id(norm) == (norm, None)  # a normalised id is its own spelling
    assert unicodedata.is_normalized("NFKC", norm)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), _IDS), max_size=12))
def test_the_column_path_is_the_cell_path(cells: list[str | None]) -> None:
    # Arrow cannot hold a lone surrogate: those reach the rule as Python text (JSONL, lists)
    cells = [c if c is None or c == shown_id(c) else None for c in cells]
    expected = [normalise_id(c) if c is not None else (None, None) for c in cells]
    for col in (pa.array(cells, pa.string()), list(cells)):
        out, bad = normalise_id_column(col)
        values = out.to_pylist() if not isinstance(out, list) else out
        for i, (norm, problem) in enumerate(expected):
            assert values[i] == norm
            assert bad.get(i) == problem


def test_look_alikes_are_one_account_or_refused() -> None:
    assert {normalise_id(t)[0] for t in [" A1", "A1 ", "A1", "Ａ１", "\u3000A1"]} == {"A1"}
    assert normalise_id("A\u030a") == ("Å", None)
    assert normalise_id("A\u200b1")[0] is None and "U+200B" in (normalise_id("A\u200b1")[1] or "")
    assert normalise_id("S\ud800")[0] is None and "U+D800" in (normalise_id("S\ud800")[1] or "")
    assert normalise_id("   ") == (None, "account id is blank")
    assert normalise_id("A\u0410")[0] == "A\u0410"  # Cyrillic А is another letter, not merged
    assert shown_id("S\ud800") == "S\\ud800"
    # a final newline is a control character like any other, on the list path as on Arrow's
    # (Python's ``$`` matches before it: hypothesis found "0\n" passing on the list path)
    for col in (["A1\n", "0\n"], pa.array(["A1\n", "0\n"], pa.string())):
        out, bad = normalise_id_column(col)
        assert set(bad) == {0, 1} and "U+000A" in bad[0]


_ASCII_IDS = st.one_of(st.text(alphabet="A1~!-", min_size=1, max_size=5),
                       st.sampled_from(["", " A1", "A1 ", "A 1", "A\t1", "Ａ１", "A\u200b1", "A1\n", "\x7f"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), _ASCII_IDS), min_size=1, max_size=8), st.integers(0, 2))
def test_a_column_of_visible_ascii_is_read_whole_as_the_cells_are(cells: list[str | None], lead: int) -> None:
    """A column whose text is visible ASCII alone is kept as it is, with no regex per cell: what the
    cell path gives, whatever one odd cell (an edge space, a tab, a full-width or empty id) is."""
    col = pa.array(["\u00a0"] * lead + cells, pa.string()).slice(lead)  # a slice past non-ASCII text
    out, bad = normalise_id_column(col)
    expected = [normalise_id(c) if c is not None else (None, None) for c in cells]
    assert out.to_pylist() == [norm for norm, _ in expected]
    assert bad == {i: problem for i, (_, problem) in enumerate(expected) if problem is not None}


def test_text_behind_a_null_id_is_not_an_id() -> None:
    offsets = pa.array([0, 2, 4, 6], pa.int32()).buffers()[1]
    validity = pa.array([True, False, True]).buffers()[1]
    col = pa.StringArray.from_buffers(3, offsets, pa.py_buffer(b"A1 \tB2"), validity)
    out, bad = normalise_id_column(col)
    assert out.to_pylist() == ["A1", None, "B2"] and bad == {}


@pytest.fixture(scope="module")
def express() -> Any:
    from accountrules.policy import load_policy

    return load_policy("express")


@pytest.mark.parametrize("engine", ["compiled", "durable", "vector"])
def test_decide_and_portfolio_stats_follow_the_rule_as_decide_many_does(express: Any, engine: str) -> None:
    """Found by a hostile-input review: ``decide`` on the compiled and durable evaluators kept the id as
    given (vector applied the rule), so ``" K1"`` was decided by one evaluator and refused by none, a NUL
    or blank id was decided by two and refused by the third, and ``portfolio_stats`` broke
    ``quantile(..., 'first')`` ties by the raw ids: the f_score of padded ids differed from decide_many's."""
    import datetime as dt

    from accountrules.errors import AccountValidationError

    if engine == "durable":
        pytest.importorskip("durable")
    as_of = dt.date(2026, 6, 30)
    tx = {"count": 3, "recency_days": 10, "revenue": 100.0}  # all tied: ranked by id
    accounts = [{"id": f" K{i}" if i % 2 else f"K{i}", "transactions": tx} for i in range(6)]
    accounts.append({"id": "Ｋ9", "transactions": tx})  # full-width
    batch = express.decide_many(accounts, as_of=as_of)
    stats = express.portfolio_stats(accounts, as_of=as_of)
    for i, account in enumerate(accounts):
        assert express.decide(account, as_of=as_of, portfolio=stats, engine=engine) == batch[i]
    assert [d.account_id for d in batch.decisions][-1] == "K9"
    for bad, words in [("A\x00", r"U\+0000"), ("   ", "blank"), ("A\u200b", r"U\+200B")]:
        with pytest.raises(AccountValidationError, match=words) as e:
            express.decide({"id": bad}, as_of=as_of, portfolio=stats, engine=engine)
        assert e.value.problems[0][0] == "id"
        with pytest.raises(AccountValidationError, match=words):
            express.portfolio_stats([{"id": "A"}, {"id": bad}])


@settings(max_examples=500, deadline=None)
@given(st.one_of(_IDS, st.text(alphabet=st.characters(max_codepoint=0x80), max_size=6),
                 st.sampled_from(["A1\n", "\nA1", " A1", "A1 ", "A 1", "", " ", "~", "A\x7f", "A\t1"])))
def test_the_quick_ascii_check_is_the_pattern_arrow_uses(text: str) -> None:
    """``is_clean_ascii`` (string methods, for one id) says what ``_CLEAN_ASCII`` says, both as Python's
    ``fullmatch`` and as Arrow's RE2 reads it on the column path (anchored: no match before a final newline)."""
    import re

    import pyarrow.compute as pc

    from accountrules.batch.ids import _CLEAN_ASCII, is_clean_ascii

    want = re.fullmatch(_CLEAN_ASCII.removeprefix("^").removesuffix("$"), text) is not None
    assert is_clean_ascii(text) == want
    got = pc.match_substring_regex(pa.array([text], pa.string()), _CLEAN_ASCII)[0].as_py()
    assert got == want
