"""A value in a date field, or in a declared extra field, is taken or refused alike on every input path
(dict to ``decide``, ``decide_many`` of dicts, JSONL, CSV, Parquet, an Arrow table, a DataFrame) and
by every evaluator (compiled, durable, vector), and a declared extra of a type takes exactly what a
model field of that type takes.

Found by a hostile-input hunt: pydantic's lax dates read ``"0"``, ``"1782777600"`` and numbers as Unix
timestamps (the docs say ``YYYY-MM-DD``); a declared extra refused ``Decimal``, numpy scalars and the
boolean spellings ``t/f/on/off/y/n`` that the model's own fields take.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import pytest

import accountrules
from accountrules.errors import AccountValidationError
from accountrules.evaluate.accounts import coerce_extra
from accountrules.model.account import DATE_TEXT, Account

np: Any = pytest.importorskip("numpy")
pa: Any = pytest.importorskip("pyarrow")
pq: Any = pytest.importorskip("pyarrow.parquet")
pd: Any = pytest.importorskip("pandas")
pytest.importorskip("durable")

AS_OF = dt.date(2026, 6, 30)
ENGINES = ("compiled", "durable", "vector")

# one rule per field read, so a tier says which value was taken and what it was taken as
POLICY = """\
policy: {name: cells, version: "1", label: {zh: 单元, en: cells}}
fields: {signed: date, score: number, flag: bool, note: string}
tiers:
  hit: first
  values: {visit: {zh: 拜访, en: visit}, signed: {zh: 签, en: signed}, score: {zh: 分, en: score},
           flag: {zh: 旗, en: flag}, note: {zh: 注, en: note}, iron: {zh: 钢铁, en: Iron}}
  default: iron
  rows:
    - {id: visit, when: "relationship.last_executive_visit >= 2026-01-01", then: visit}
    - {id: signed, when: "extra.signed >= 2026-01-01", then: signed}
    - {id: score, when: "extra.score > 5", then: score}
    - {id: flag, when: "extra.flag", then: flag}
    - {id: note, when: "extra.note == 'x'", then: note}
"""


@pytest.fixture(scope="module")
def policy() -> accountrules.Policy:
    return accountrules.load_policy_text(POLICY)


def _nested(key: str, value: Any) -> dict[str, Any]:
    group, name = key.split(".")
    return {"id": "A", group: {name: value}}


def _outcome(item: Any) -> tuple[str, str | None]:
    if isinstance(item, accountrules.RowError):
        return "refused", item.field
    return "decided", item.tier.code


def _paths(policy: accountrules.Policy, key: str, value: Any, tmp_path: Path) -> dict[str, tuple[str, str | None]]:
    """The outcome of one account holding ``value`` at ``key``, on every input path and evaluator that can
    carry the value (text goes to CSV too; JSON's types to JSONL; what Arrow types, to Arrow and Parquet)."""
    out: dict[str, tuple[str, str | None]] = {}
    row = _nested(key, value)
    for engine in ENGINES:
        try:
            out[f"decide/{engine}"] = "decided", policy.decide(row, as_of=AS_OF, engine=engine).tier.code
        except AccountValidationError as e:
            out[f"decide/{engine}"] = "refused", e.problems[0][0]
        out[f"dicts/{engine}"] = _outcome(policy.decide_many([row], as_of=AS_OF, engine=engine)[0])
    flat = {"id": ["A"], key: [value]}
    sources: dict[str, Any] = {}
    try:
        line = json.dumps(row)
    except TypeError:
        pass  # no JSON spelling (a date, a Decimal, a numpy scalar)
    else:
        (tmp_path / "a.jsonl").write_text(line + "\n", encoding="utf-8")
        sources["jsonl"] = tmp_path / "a.jsonl"
    if isinstance(value, str):
        (tmp_path / "a.csv").write_text(f"id,{key}\nA,{value}\n", encoding="utf-8")
        sources["csv"] = tmp_path / "a.csv"
    try:
        table = pa.table(flat)
    except (pa.ArrowException, TypeError, ValueError):
        pass  # no Arrow type for it
    else:
        sources["arrow"] = table
        pq.write_table(table, tmp_path / "a.parquet")
        sources["parquet"] = tmp_path / "a.parquet"
    sources["dataframe"] = pd.DataFrame(flat)
    for name, source in sources.items():
        for engine in ENGINES:
            out[f"{name}/{engine}"] = _outcome(policy.decide_many(source, as_of=AS_OF, engine=engine)[0])
    return out


def _agreed(got: dict[str, tuple[str, str | None]]) -> tuple[str, str | None]:
    assert len(set(got.values())) == 1, got
    return next(iter(got.values()))


NOT_DAYS = ["0", "1782777600", "20260425", "2026-W17-1", "2026-04-25T00:00:00", " 2026-04-25", "2026-4-25",
            0, 1782777600, 1.0, 1782777600.0, True, decimal.Decimal("1782777600"), np.int64(1782777600),
            np.float64(0.0), np.bool_(False), np.str_("0")]


DATE_KEYS = {"relationship.last_executive_visit": "visit", "extra.signed": "signed"}  # a model field, a declared one


@pytest.mark.parametrize("key", sorted(DATE_KEYS))
@pytest.mark.parametrize("value", NOT_DAYS, ids=repr)
def test_a_date_field_takes_no_timestamp_or_other_spelling(policy: accountrules.Policy, key: str, value: Any,
                                                            tmp_path: Path) -> None:
    assert _agreed(_paths(policy, key, value, tmp_path)) == ("refused", key)
    with pytest.raises(AccountValidationError) as e:
        policy.decide(_nested(key, value), as_of=AS_OF)
    assert [f for f, _ in e.value.problems] == [key]
    if not key.startswith("extra."):
        assert e.value.problems == ((key, DATE_TEXT),)


@pytest.mark.parametrize("key", sorted(DATE_KEYS))
@pytest.mark.parametrize("value", ["2026-04-25", dt.date(2026, 4, 25), dt.datetime(2026, 4, 25),
                                   pd.Timestamp("2026-04-25"), np.str_("2026-04-25")], ids=repr)
def test_a_date_field_takes_a_day_as_it_did(policy: accountrules.Policy, key: str, value: Any,
                                            tmp_path: Path) -> None:
    assert _agreed(_paths(policy, key, value, tmp_path)) == ("decided", DATE_KEYS[key])


@pytest.mark.parametrize("key", sorted(DATE_KEYS))
@pytest.mark.parametrize("value", ["2026-02-30", "0000-01-01", dt.datetime(2026, 4, 25, 5, 30)], ids=repr)
def test_a_day_the_calendar_lacks_or_a_time_of_day_is_still_refused(policy: accountrules.Policy, key: str,
                                                                     value: Any, tmp_path: Path) -> None:
    assert _agreed(_paths(policy, key, value, tmp_path)) == ("refused", key)


# (extra field, its type's model field on Transactions/Relationship/Signals, the value that fires its rule)
_KINDS = {"signed": ("relationship.since", "date"), "score": ("transactions.revenue", "number"),
          "flag": ("signals.fraud", "bool"), "note": ("company.industry", "string")}
_FIRES = {"signed": lambda v: v >= dt.date(2026, 1, 1), "score": lambda v: v > 5, "flag": lambda v: v is True,
          "note": lambda v: v == "x"}
CANDIDATES = ["t", "f", "on", "off", "y", "n", "T", "ON", "Yes", "true", " true", "1", "0", "2", "7", "7.5",
              " 7", "1_000", "７", "0x10", "1e400", "nan", "inf", "x", "2026-04-25", "20260425", "0",
              1, 0, 2, 7, 1.0, 0.0, 7.5, True, False, 2**53, 2**53 + 1,
              decimal.Decimal("7.5"), decimal.Decimal("1"), decimal.Decimal("NaN"),
              np.float64(7.5), np.float32(7.5), np.int64(7), np.int32(1), np.uint8(1), np.bool_(True),
              np.bool_(False), np.str_("x"), dt.date(2026, 4, 25), dt.datetime(2026, 4, 25),
              dt.datetime(2026, 4, 25, 5), b"x"]


def _model_takes(path: str, value: Any) -> tuple[bool, Any]:
    """Whether the model takes ``value`` in its field at ``path``, and as what."""
    group, name = path.split(".")
    try:
        acc = Account.model_validate({"id": "A", group: {name: value}})
    except ValueError:
        return False, None
    got = getattr(getattr(acc, group), name)
    return got is not None, got


@pytest.mark.parametrize("name", sorted(_KINDS))
@pytest.mark.parametrize("value", CANDIDATES, ids=repr)
def test_a_declared_extra_takes_what_a_model_field_of_its_type_takes(name: str, value: Any) -> None:
    field, kind = _KINDS[name]
    taken, as_model = _model_takes(field, value)
    if kind == "number" and isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_) \
            and abs(int(value)) > 2**53:
        taken = False  # a whole number in a declared number field stops where the model's counts stop
    try:
        got = coerce_extra(name, kind, value)
    except ValueError:
        assert not taken, f"the model takes {value!r} as {as_model!r}"
        return
    assert taken, f"the model refuses {value!r}"
    assert got == as_model and type(got) in (float, int, bool, str, dt.date), (got, as_model)


@pytest.mark.parametrize("name", sorted(_KINDS))
@pytest.mark.parametrize("value", ["t", "off", "Y", "7.5", "1_000", "７", "2026-04-25", "0", "1782777600", 1, 7,
                                   decimal.Decimal("7.5"), np.float64(7.5), np.int64(7), np.bool_(True),
                                   dt.datetime(2026, 4, 25), "x"], ids=repr)
def test_a_declared_extra_is_taken_alike_on_every_path(policy: accountrules.Policy, name: str, value: Any,
                                                       tmp_path: Path) -> None:
    key = f"extra.{name}"
    field, kind = _KINDS[name]
    taken, as_model = _model_takes(field, value)
    got = _agreed(_paths(policy, key, value, tmp_path))
    if not taken:
        assert got == ("refused", key)
    else:
        assert got == ("decided", name if _FIRES[name](as_model) else "iron")
