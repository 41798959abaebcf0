"""Language features across sections: directories, includes, extends, extra fields, segments, metrics."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import accountrules
from accountrules import AccountValidationError, PolicyError
from accountrules.errors import PolicyTypeError

AS_OF = dt.date(2026, 6, 30)

MAIN = """\
policy: {name: base, version: "1", label: {zh: 基础, en: base}}
include: [segments.yaml, tiers.yaml]
params: {big: 100, vip_share: 0.5}
fields:
  key_project: bool
  region_code: {type: string, description: CRM region}
metrics:
  margin: ratio(transactions.annual_profit, transactions.annual_revenue)
  doubled: {expr: margin * 2, label: {zh: 双倍, en: doubled}, seed: [T3]}
"""

SEGMENTS = """\
segments:
  size:
    hit: first
    values: {large: 大, small: 小}
    rows:
      - {id: large, when: transactions.annual_revenue >= params.big, then: large}
      - {id: small, then: small}
  focus:
    hit: first
    values: {focused: 重点, normal: 一般}
    rows:
      - {id: focus, when: segments.size == 'large' and extra.key_project, then: focused}
      - {id: other, then: normal}
"""

TIERS = """\
tiers:
  hit: first
  values: {vip: VIP, major: 主要, ordinary: 普通}
  default: ordinary
  rows:
    - {id: vip, when: segments.focus == 'focused' and doubled >= params.vip_share, then: vip}
    - {id: major, when: segments.size == 'large', then: major}
"""


def make(tmp_path: Path) -> Path:
    d = tmp_path / "base"
    d.mkdir()
    (d / "policy.yaml").write_text(MAIN, encoding="utf-8")
    (d / "segments.yaml").write_text(SEGMENTS, encoding="utf-8")
    (d / "tiers.yaml").write_text(TIERS, encoding="utf-8")
    return d


def test_directory_with_includes_segments_metrics_and_extra_fields(tmp_path: Path) -> None:
    p = accountrules.load_policy(make(tmp_path))
    d = p.decide({"id": "A", "transactions": {"annual_revenue": 200, "annual_profit": 60},
                  "extra": {"key_project": True}}, as_of=AS_OF)
    assert d.segments["size"].code == "large" and d.segments["focus"].code == "focused"
    assert d.tier is not None and d.tier.code == "vip"
    assert d.metrics == {"margin": 0.3, "doubled": 0.6}
    d2 = p.decide({"id": "B", "transactions": {"annual_revenue": 200, "annual_profit": 60}}, as_of=AS_OF)
    assert d2.segments["focus"].code == "normal"  # unknown key_project does not count as true
    assert d2.tier is not None and d2.tier.code == "major"


def test_extra_fields_are_type_checked_at_decision_time(tmp_path: Path) -> None:
    p = accountrules.load_policy(make(tmp_path))
    with pytest.raises(AccountValidationError, match="extra.key_project"):
        p.decide({"id": "A", "extra": {"key_project": "perhaps"}}, as_of=AS_OF)
    d = p.decide({"id": "A", "extra": {"key_project": "yes", "unrelated": 1}}, as_of=AS_OF)
    assert d.segments["focus"].code == "normal"


_TYPED_EXTRAS = """\
policy: {name: typed, version: "1", label: {zh: 类型, en: typed}}
fields: {signed: date, score: number}
tiers:
  hit: first
  values: {gold: {zh: 黄金, en: Gold}, iron: {zh: 钢铁, en: Iron}}
  default: iron
  rows:
    - {id: early, when: "extra.signed < 2026-01-01", then: gold}
    - {id: high, when: "extra.score > 5", then: gold}
"""


@pytest.mark.parametrize("engine", ["compiled", "durable", "vector"])
def test_a_declared_date_or_number_takes_what_the_model_would(engine: str) -> None:
    """Found by a hostile-input review: a datetime in a ``date`` field (a Parquet timestamp column) passed
    as a date, so the compiled evaluator failed the row ("can't compare datetime.datetime to
    datetime.date") where vector and durable decided it; an infinite ``number`` ("1e400", JSON Infinity)
    passed where the model refuses one in its own amounts. A midnight is its day, like the model's."""
    pa = pytest.importorskip("pyarrow")
    if engine == "durable":
        pytest.importorskip("durable")
    policy = accountrules.load_policy_text(_TYPED_EXTRAS)
    rows = [{"id": "A", "extra": {"signed": dt.datetime(2025, 1, 1, 5, 30)}},
            {"id": "B", "extra": {"signed": dt.datetime(2025, 1, 1)}},
            {"id": "C", "extra": {"score": float("inf")}},
            {"id": "D", "extra": {"score": "1e400"}},
            {"id": "E", "extra": {"score": 7.0}}]
    table = pa.table({"id": ["A", "B", "C", "D", "E"],
                      "extra.signed": pa.array([dt.datetime(2025, 1, 1, 5, 30), dt.datetime(2025, 1, 1), None, None,
                                                None], pa.timestamp("us")),
                      "extra.score": [None, None, float("inf"), None, 7.0]})
    for source in (rows, table):
        got = [(it.field, it.message) if isinstance(it, accountrules.RowError) else it.tier.code
               for it in policy.decide_many(source, as_of=AS_OF, engine=engine)]
        assert got[0] == ("extra.signed", "expected date, got datetime.datetime(2025, 1, 1, 5, 30)")
        assert got[1] == "gold" and got[4] == "gold"
        assert got[2] == ("extra.score", "expected a finite number, got inf")
        if source is rows:
            assert got[3] == ("extra.score", "expected number, got '1e400'")
    with pytest.raises(AccountValidationError, match="extra.signed"):
        policy.decide(rows[0], as_of=AS_OF, engine=engine)
    assert policy.decide(rows[1], as_of=AS_OF, engine=engine).tier.code == "gold"


def test_extends_overrides_params_and_replaces_sections(tmp_path: Path) -> None:
    make(tmp_path)
    child = tmp_path / "child"
    child.mkdir()
    (child / "policy.yaml").write_text(
        'policy: {name: child, version: "2", label: {zh: 子, en: child}}\n'
        "extends: ../base\n"
        "params: {big: 1000}\n", encoding="utf-8")
    p = accountrules.load_policy(child)
    assert p.name == "child" and p.spec.params["big"] == 1000 and p.spec.params["vip_share"] == 0.5
    d = p.decide({"id": "A", "transactions": {"annual_revenue": 200}}, as_of=AS_OF)
    assert d.segments["size"].code == "small"  # the base rows read the child's parameter
    base = accountrules.load_policy(tmp_path / "base")
    assert base.ref.hash != p.ref.hash


def test_extends_cycle_is_refused(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "policy.yaml").write_text('policy: {name: a, version: "1", label: a}\nextends: ../b\n', encoding="utf-8")
    (b / "policy.yaml").write_text('policy: {name: b, version: "1", label: b}\nextends: ../a\n', encoding="utf-8")
    with pytest.raises(PolicyError, match="extends"):
        accountrules.load_policy(a)


def test_sections_read_only_what_is_decided_before_them(tmp_path: Path) -> None:
    d = make(tmp_path)
    (d / "segments.yaml").write_text(SEGMENTS.replace("segments.size == 'large'", "tier == 'vip'"),
                                     encoding="utf-8")
    with pytest.raises(PolicyTypeError, match="tier is decided after segments"):
        accountrules.load_policy(d)


def test_undeclared_extra_field_is_a_load_error(tmp_path: Path) -> None:
    d = make(tmp_path)
    (d / "policy.yaml").write_text(MAIN.replace("  key_project: bool\n", ""), encoding="utf-8")
    with pytest.raises(PolicyTypeError, match="declared under fields"):
        accountrules.load_policy(d)


def test_a_section_defined_twice_across_files_is_an_error(tmp_path: Path) -> None:
    d = make(tmp_path)
    (d / "tiers.yaml").write_text(TIERS + "segments: {}\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="defined twice"):
        accountrules.load_policy(d)


def test_ranked_values_may_depend_on_the_decision_date(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text(
        'policy: {name: d, version: "1", label: d}\n'
        "metrics:\n"
        "  age: days_since(relationship.since)\n"
        "  age_rank: percentile(age)\n"
        "tiers:\n"
        "  hit: first\n"
        "  values: {old: 老客户, young: 新客户}\n"
        "  rows:\n"
        "    - {id: old, when: age_rank >= 0.5, then: old}\n"
        "    - {id: young, then: young}\n", encoding="utf-8")
    policy = accountrules.load_policy(p)
    accounts = [{"id": f"A{i}", "relationship": {"since": f"20{10 + i}-01-01"}} for i in range(4)]
    many = policy.decide_many(accounts, as_of=AS_OF)
    assert [d.tier.code for d in many.decisions if d.tier] == ["old", "old", "young", "young"]
    stats = policy.portfolio_stats(accounts, as_of=AS_OF)
    assert [policy.decide(a, as_of=AS_OF, portfolio=stats) for a in accounts] == list(many)
