"""The portfolio report: its figures equal independent counts from the decisions file, and the page
is one well-formed, offline, bilingual HTML document with a table beside every chart."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import html
import io
import math
import random
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accountrules.cli import main
from accountrules.model.enums import OWNER_ROLES
from accountrules.policy import load_policy
from accountrules.report import aggregate as agg
from accountrules.report import report_from_accounts, report_from_decisions
from accountrules.report.diff import render_diff
from accountrules.report.figures import lorenz, score_buckets
from accountrules.report.i18n import label
from report_html import parse

pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parents[1]
EXPRESS = ROOT / "rulesets" / "express"
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts.csv"
AS_OF = dt.date(2026, 6, 30)
CHART_KEYS = {"pyramid", "lorenz", "segment.abc", "segment.value_matrix", "rfm", "funnel", "transitions", "levels",
              "kind_risk", "scores", "at_risk", "per_action", "per_owner", "timeline", "rules", "row_errors",
              "unknown"}


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return load_policy(EXPRESS)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _num(s: str) -> float:
    return float(s) if s else 0.0


def _decide(tmp: Path, accounts: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    out = tmp / "decisions.csv"
    assert main(["decide", str(EXPRESS), str(accounts), "-o", str(out), "--as-of", AS_OF.isoformat(), "-q"]) in (0, 1)
    return _read(out), _read(tmp / "decisions.errors.csv")


def _tables(html: str) -> dict[str, list[list[str]]]:
    p = parse(html)
    return {c.key: c.rows[1:] for c in p.charts}  # less the header row


def _check_figures(policy, html: str, decisions: list[dict[str, str]], errors: list[dict[str, str]],  # type: ignore[no-untyped-def]
                   accounts: list[dict[str, str]], lang: str) -> None:
    """Every table of the page against counts made here from the decisions and accounts files."""
    spec = policy.spec
    t = _tables(html)
    by_id = {a["id"]: a for a in accounts}
    rev = {d["account_id"]: _num(by_id[d["account_id"]]["transactions.annual_revenue"]) for d in decisions}
    prof = {d["account_id"]: _num(by_id[d["account_id"]]["transactions.annual_profit"]) for d in decisions}

    tiers = Counter(d["tier"] for d in decisions)
    got = {r[0]: (int(r[1].replace(",", "")), r[2], r[3]) for r in t["pyramid"]}
    for code, k in tiers.items():
        revenue = sum(rev[d["account_id"]] for d in decisions if d["tier"] == code)
        profit = sum(prof[d["account_id"]] for d in decisions if d["tier"] == code)
        row = got[label(spec, code, lang, "tier")]
        assert row[0] == k
        assert float(row[1].replace(",", "")) == pytest.approx(revenue, abs=0.02)
        assert float(row[2].replace(",", "")) == pytest.approx(profit, abs=0.02)

    values = sorted(rev.values(), reverse=True)
    top = sum(values[: math.ceil(0.2 * len(values))]) / sum(values)
    assert float(parse(html).attrs_seen["data-top20"]) == pytest.approx(top, abs=1e-6)

    for seg in ("abc", "value_matrix"):
        counts = Counter(d[f"segment.{seg}"] or None for d in decisions)
        got_seg = {r[0]: int(r[1].replace(",", "")) for r in t[f"segment.{seg}"]}
        assert got_seg == {label(spec, c, lang, f"segment.{seg}"): k for c, k in counts.items()}

    assert {r[0]: int(r[1]) for r in t["funnel"]} == {label(spec, s, lang): k
                                                      for s, k in Counter(d["stage"] for d in decisions).items()}
    moves = Counter((d["stage_from"] or "(none)", d["stage"]) for d in decisions
                    if d["stage_transition"] and d["stage_from"] != d["stage"])
    assert {(r[0], r[1]): int(r[2]) for r in t["transitions"] if r[2] != "0"} == {
        (label(spec, a, lang), label(spec, b, lang)): k for (a, b), k in moves.items()}
    levels = Counter(by_id[d["account_id"]]["relationship.level"] or "(none)" for d in decisions)
    assert {r[0]: int(r[1]) for r in t["levels"]} == {label(spec, k, lang): v for k, v in levels.items()}

    churn = Counter((d["churn_kind"], d["churn_risk"]) for d in decisions)
    assert {(r[0], r[1]): int(r[2]) for r in t["kind_risk"]} == {
        (label(spec, k, lang), label(spec, r, lang)): v for (k, r), v in churn.items()}
    assert sum(int(r[1]) for r in t["scores"]) == sum(1 for d in decisions if d["churn_score"])

    actions = Counter(a for d in decisions for a in d["actions"].split(";") if a)
    assert {r[0]: int(r[1]) for r in t["per_action"]} == {label(spec, a, lang, "action"): k
                                                          for a, k in actions.items()}
    assert spec.actions is not None
    owners: Counter[str] = Counter()
    for a, k in actions.items():
        owners[spec.actions.catalog[a].owner] += k
    assert {r[0]: int(r[1]) for r in t["per_owner"]} == {OWNER_ROLES[o][lang]: k for o, k in owners.items()}
    assert sum(int(r[1]) for r in t["timeline"]) == sum(
        k for a, k in actions.items() if spec.actions.catalog[a].due_days <= 90)

    rule_rows = {(r[0], r[1]): int(r[2]) for r in t["rules"]}
    tier_rules = Counter(d["tier_rule"] or "(default)" for d in decisions)
    for rule, k in tier_rules.items():
        assert rule_rows[("tier", label(spec, rule, lang))] == k
    stage_rules = Counter(d["stage_transition"] for d in decisions if d["stage_transition"])
    assert {r: k for (s, r), k in rule_rows.items() if s == "stage"} == dict(stage_rules)

    # the R x F grid: the score columns of the decisions file, with the rfm segment of each account
    assert "metric.r_score" in decisions[0] and "metric.f_score" in decisions[0]
    grid = Counter((int(float(d["metric.r_score"])), int(float(d["metric.f_score"])), d["segment.rfm"] or "(none)")
                   for d in decisions if d["metric.r_score"] and d["metric.f_score"])
    assert grid
    assert {(r[0], r[1]): int(r[2].replace(",", "")) for r in t["rfm"]} == {
        (f"R{r} F{f}", label(spec, seg, lang, "segment.rfm")): k for (r, f, seg), k in grid.items()}

    errs = Counter(e["field"] or "(none)" for e in errors)
    assert {r[0]: int(r[1]) for r in t["row_errors"] if r[1] != "0"} == dict(errs)
    unknown = Counter(k for a in accounts for k, v in a.items() if v == "" and k != "id")
    for field, k in ((r[0], int(r[1])) for r in t["unknown"] if r[1] != "0"):
        assert unknown[field] == k


def _check_page(html: str, lang: str, keys: set[str] = CHART_KEYS) -> None:
    p = parse(html)
    assert not p.problems, p.problems[:5]
    assert not p.stack, p.stack
    assert all(not re.match(r"^\s*(https?:|//)", u, re.I) for u in p.links), p.links
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.I)
    assert "<script" not in html.lower()
    found = {c.key for c in p.charts}
    assert keys <= found, keys - found
    for c in p.charts:
        assert c.svgs == 1 and len(c.rows) >= 2, c.key  # a chart and its table (header and a row at least)
    assert ('lang="zh-CN"' in html) == (lang == "zh")
    if lang == "zh":
        assert "客户金字塔" in html and "流失" in html
    else:
        assert "Customer pyramid" in html and "Churn" in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_example_portfolio_end_to_end(policy, tmp_path: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    decisions, errors = _decide(tmp_path, ACCOUNTS)
    html = report_from_accounts(policy, ACCOUNTS, as_of=AS_OF, lang=lang)
    _check_page(html, lang)
    _check_figures(policy, html, decisions, errors, _read(ACCOUNTS), lang)
    assert "<details><summary>" in html and html.count("<details>") > 10  # explanations of at-risk accounts


def _generated(path: Path, seed: int, blanks: float) -> None:
    """A portfolio drawn from the example's rows: scaled amounts, some blank cells, some broken rows."""
    rng = random.Random(seed)
    rows = _read(ACCOUNTS)
    fields = list(rows[0])
    out = []
    for i in range(rng.randint(40, 160)):
        r = dict(rng.choice(rows))
        r["id"] = f"G{i:04d}"
        scale = rng.lognormvariate(0, 1.2)
        for k in ("transactions.annual_revenue", "transactions.annual_profit", "transactions.revenue"):
            if r[k]:
                r[k] = f"{float(r[k]) * scale:.2f}"
        for k in fields[2:]:
            if rng.random() < blanks:
                r[k] = ""
        if rng.random() < 0.05:
            r["transactions.count"] = "many"  # a row the batch refuses
        out.append(r)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(out)


def test_every_shipped_owner_role_has_both_labels() -> None:
    for ruleset in sorted(p for p in (ROOT / "rulesets").iterdir() if p.is_dir()):
        acts = load_policy(ruleset).spec.actions
        assert acts is not None
        for a in acts.catalog.values():
            assert a.owner in OWNER_ROLES, (ruleset.name, a.owner)
            assert OWNER_ROLES[a.owner]["zh"] and OWNER_ROLES[a.owner]["en"]
            assert label(None, a.owner, "zh") == OWNER_ROLES[a.owner]["zh"] != a.owner


def _changed_express(tmp: Path) -> Path:
    """The express policy with a narrower platinum tier and a stricter gold credit limit."""
    dst = tmp / "express2"
    shutil.copytree(EXPRESS, dst)
    text = (dst / "policy.yaml").read_text(encoding="utf-8")
    for old, new in (("platinum_min_percentile: 0.80", "platinum_min_percentile: 0.90"),
                     ("gold_max_overdue: 2 ", "gold_max_overdue: 0 "), ('version: "1.0.0"', 'version: "1.1.0"')):
        assert old in text
        text = text.replace(old, new)
    (dst / "policy.yaml").write_text(text, encoding="utf-8")
    return dst


_DETAILS = re.compile(r"<details><summary>([^<]*)</summary><pre>(.*?)</pre></details>", re.S)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_diff_report_shows_who_moves_with_both_explanations(policy, tmp_path: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    new_policy = load_policy(_changed_express(tmp_path))
    old = policy.decide_many(str(ACCOUNTS), as_of=AS_OF)
    new = new_policy.decide_many(str(ACCOUNTS), as_of=AS_OF)
    page, figs = render_diff(old, new, lang=lang)
    p = parse(page)
    assert not p.problems and not p.stack
    charts = {c.key: c.rows[1:] for c in p.charts}
    assert set(charts) == {"tiers", "stages", "owners"}

    a = {d.account_id: d for d in old if not isinstance(d, Exception) and hasattr(d, "tier")}
    b = {d.account_id: d for d in new if not isinstance(d, Exception) and hasattr(d, "tier")}
    assert a.keys() == b.keys()
    tiers = Counter((a[k].tier.code, b[k].tier.code) for k in a)  # type: ignore[union-attr]
    assert any(x != y for x, y in tiers)  # the change moves someone
    got = {(r[0], r[1]): int(r[2].replace(",", "")) for r in charts["tiers"]}
    assert got == {(label(policy.spec, x, lang, "tier"), label(new_policy.spec, y, lang, "tier")): k
                   for (x, y), k in tiers.items()}
    stages = Counter((a[k].stage.to, b[k].stage.to) for k in a)  # type: ignore[union-attr]
    assert {(r[0], r[1]): int(r[2].replace(",", "")) for r in charts["stages"]} == {
        (label(policy.spec, x, lang), label(new_policy.spec, y, lang)): k for (x, y), k in stages.items()}

    gained: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    for k in a:
        x = {act.code: act.owner for act in a[k].actions}
        y = {act.code: act.owner for act in b[k].actions}
        gained.update(y[c] for c in y.keys() - x.keys())
        lost.update(x[c] for c in x.keys() - y.keys())
    rows = {r[0]: (int(r[1]), int(r[2])) for r in charts["owners"]}
    assert rows == {OWNER_ROLES[o][lang]: (gained[o], lost[o]) for o in gained.keys() | lost.keys()}

    moved = [k for k in a if a[k].tier.code != b[k].tier.code]  # type: ignore[union-attr]
    assert set(moved) <= set(figs.moved)
    explained = [html.unescape(body) for _, body in _DETAILS.findall(page)]
    for k in moved[:20]:
        assert a[k].explain(lang) in explained and b[k].explain(lang) in explained
    summaries = Counter(html.unescape(s) for s, _ in _DETAILS.findall(page))
    w = {"en": ("Old explanation", "New explanation"), "zh": ("旧政策说明", "新政策说明")}[lang]
    assert summaries[w[0]] == summaries[w[1]] == min(len(figs.moved), 200)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_diff_report_shows_accounts_only_one_policy_refuses(policy, tmp_path: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    # the tier table made 'unique' (its rows overlap): the accounts it can no longer decide were left out
    # of every figure of the page, which said nothing of them
    dst = tmp_path / "overlap"
    shutil.copytree(EXPRESS, dst)
    tiers = (dst / "tiers.yaml").read_text(encoding="utf-8")
    (dst / "tiers.yaml").write_text(tiers.replace("  hit: first\n", "  hit: unique\n", 1), encoding="utf-8")
    old = policy.decide_many(str(ACCOUNTS), as_of=AS_OF)
    new = load_policy(dst).decide_many(str(ACCOUNTS), as_of=AS_OF)
    assert new.errors and not old.errors
    page, figs = render_diff(old, new, lang=lang)
    # the reason without the account, which has a column of its own
    assert figs.newly_refused == [(e.account_id, e.reason) for e in new.errors] and not figs.no_longer_refused
    assert all(not why.startswith("account ") and "'unique'" in why for _, why in figs.newly_refused)
    p = parse(page)
    assert not p.problems and not p.stack
    title = {"en": "Accounts the new policy refuses", "zh": "新政策拒绝的客户"}[lang]
    assert html.escape(title) in page
    reason = new.errors[0].reason
    if lang == "en":
        assert html.escape(reason) in page
    else:  # the reason in Chinese, not the English sentence
        assert html.escape(reason) not in page and " all match" not in page
        rows = reason.params["rows"]  # type: ignore[attr-defined]
        assert html.escape(f"tier 的命中策略为 'unique'，但规则行 {rows} 同时命中") in page
    back = render_diff(new, old, lang=lang)[1]
    assert back.no_longer_refused == figs.newly_refused and not back.newly_refused


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), blanks=st.sampled_from([0.0, 0.02]))
def test_generated_portfolio_figures(policy, tmp_path_factory: pytest.TempPathFactory, seed: int,  # type: ignore[no-untyped-def]
                                     blanks: float) -> None:
    tmp = tmp_path_factory.mktemp("gen")
    accounts = tmp / "accounts.csv"
    _generated(accounts, seed, blanks)
    decisions, errors = _decide(tmp, accounts)
    html = report_from_accounts(policy, accounts, as_of=AS_OF, lang="en")
    _check_page(html, "en")
    _check_figures(policy, html, decisions, errors, _read(accounts), "en")


def test_report_from_decisions_file(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decisions, errors = _decide(tmp_path, ACCOUNTS)
    html = report_from_decisions(policy, tmp_path / "decisions.csv", as_of=AS_OF, lang="en",
                                 accounts=ACCOUNTS)
    _check_page(html, "en")  # the R and F scores are columns of the decisions file
    assert "holds no explanations" in html
    _check_figures(policy, html, decisions, errors, _read(ACCOUNTS), "en")
    bare = report_from_decisions(policy, tmp_path / "decisions.csv", as_of=AS_OF, lang="zh")
    assert "决策文件" in bare and "没有决策说明" in bare
    _check_page(bare, "zh", CHART_KEYS - {"lorenz", "levels"})
    t = _tables(bare)
    assert {r[0]: int(r[1]) for r in t["funnel"]} == {label(policy.spec, s, "zh"): k for s, k in
                                                      Counter(d["stage"] for d in decisions).items()}


def test_report_from_a_decisions_file_with_explanations(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "decisions.csv"
    assert main(["decide", str(EXPRESS), str(ACCOUNTS), "-o", str(out), "--as-of", AS_OF.isoformat(), "-q",
                 "--explain"]) == 0
    assert any("\n" in r["explain_en"] for r in _read(out))  # quoted values over several lines
    for lang, summary, head in (("en", "Why", "Account KA0003 — policy express"),
                                ("zh", "决策说明", "客户 KA0003 — 政策 express")):
        html = report_from_decisions(policy, out, as_of=AS_OF, lang=lang)
        assert "holds no explanations" not in html and "没有决策说明" not in html
        # each at-risk account's explanation, in the page's language, read back from the file
        assert f"{summary}</summary><pre>{head}" in html


def test_overdue_actions_are_marked(policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    decisions, _ = _decide(tmp_path, ACCOUNTS)
    later = AS_OF + dt.timedelta(days=20)
    html = report_from_decisions(policy, tmp_path / "decisions.csv", as_of=AS_OF, today=later, lang="en")
    spec = policy.spec
    assert spec.actions is not None
    overdue = sum(1 for d in decisions for a in d["actions"].split(";")
                  if a and spec.actions.catalog[a].due_days < 20)
    rows = {r[0]: int(r[1].replace(",", "")) for r in _tables(html)["timeline"]}
    assert overdue > 0 and rows["Overdue"] == overdue
    assert 'class="mark overdue"' in html


def test_cli_report_takes_accounts_before_or_after_decisions(tmp_path: Path) -> None:
    """``report P A --decisions D`` and ``report P --decisions D A`` are the same command: the same page."""
    _decide(tmp_path, ACCOUNTS)
    decisions = str(tmp_path / "decisions.csv")
    common = ["-o", "-", "--lang", "en", "--as-of", AS_OF.isoformat(), "-q"]
    pages = []
    for argv in (["report", str(EXPRESS), str(ACCOUNTS), "--decisions", decisions, *common],
                 ["report", str(EXPRESS), "--decisions", decisions, str(ACCOUNTS), *common],
                 ["report", str(EXPRESS), "--decisions", decisions, *common[:2], str(ACCOUNTS), *common[2:]]):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            assert main(argv) == 0, argv
        pages.append(buf.getvalue())
    assert pages[0] == pages[1] == pages[2]
    assert "lorenz" in {c.key for c in parse(pages[0]).charts}  # the accounts were read: amounts are drawn
    with pytest.raises(SystemExit) as exc:  # a third positional is still refused
        main(["report", str(EXPRESS), "--decisions", decisions, str(ACCOUNTS), str(ACCOUNTS), *common])
    assert exc.value.code == 2


def test_cli_diff_report_is_the_page_of_the_batches_it_compares(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # diff --report drew its page from two more batches of its own; it now draws the two it compared
    import accountrules.batch.engine as engine

    calls: list[str] = []
    real = engine.decide_batch

    def counted(policy: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(policy.version)
        return real(policy, *args, **kwargs)

    monkeypatch.setattr(engine, "decide_batch", counted)
    changed = _changed_express(tmp_path)
    page = tmp_path / "diff.html"
    assert main(["diff", str(EXPRESS), str(changed), str(ACCOUNTS), "--as-of", AS_OF.isoformat(), "-q",
                 "--lang", "zh", "--report", str(page)]) == 0
    assert calls == ["1.0.0", "1.1.0"]  # each version decides the portfolio once
    monkeypatch.undo()
    old = load_policy(EXPRESS).decide_many(str(ACCOUNTS), as_of=AS_OF)
    new = load_policy(changed).decide_many(str(ACCOUNTS), as_of=AS_OF)
    want, figs = render_diff(old, new, lang="zh")
    assert figs.moved and page.read_text(encoding="utf-8") == want  # explanations included: traces were kept


def test_cli_report_and_diff_report(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(EXPRESS), str(ACCOUNTS), "-o", str(out), "--lang", "zh", "--as-of", "2026-06-30",
                 "-q"]) == 0
    _check_page(out.read_text(encoding="utf-8"), "zh")
    diff = tmp_path / "diff.html"
    assert main(["diff", str(EXPRESS), str(EXPRESS), str(ACCOUNTS), "--as-of", "2026-06-30", "--report",
                 str(diff)]) == 0
    page = diff.read_text(encoding="utf-8")
    p = parse(page)
    assert not p.problems and not p.stack
    assert {c.key for c in p.charts} == {"tiers", "stages", "owners"}
    tiers = next(c for c in p.charts if c.key == "tiers")
    assert sum(int(r[2].replace(",", "")) for r in tiers.rows[1:]) == 300  # the same policy: all on the diagonal
    assert all(r[0] == r[1] for r in tiers.rows[1:])


@given(st.lists(st.floats(0, 1e9, allow_nan=False), min_size=1, max_size=300))
def test_lorenz_properties(values: list[float]) -> None:
    curve, top = lorenz(values)
    xs = [x for x, _ in curve]
    ys = [y for _, y in curve]
    assert xs == sorted(xs) and ys == sorted(ys)
    if sum(values) > 0:
        assert curve[0] == (0.0, 0.0) and curve[-1][0] == 1.0 and curve[-1][1] == pytest.approx(1.0)
        k = math.ceil(0.2 * len(values))
        assert top == pytest.approx(sum(sorted(values, reverse=True)[:k]) / sum(values))
        assert top >= k / len(values) - 1e-9  # the largest fifth holds at least its share
    else:
        assert top is None


@given(st.lists(st.floats(0, 250, allow_nan=False), max_size=200))
def test_score_buckets_count_every_score(values: list[float]) -> None:
    buckets = score_buckets(values)
    assert len(buckets) == 10 and sum(k for _, _, k in buckets) == len(values)
    for lo, hi, k in buckets:
        inside = sum(1 for v in values if lo <= v < hi or (hi == buckets[-1][1] and v == hi))
        assert k == inside


# finite amounts bounded so that 300 of them add up without overflowing to inf (then both sides hold
# NaN, which never compares equal); non-finite amounts drawn on their own
_AMOUNT = st.one_of(st.none(), st.floats(-1e300, 1e300), st.sampled_from([math.nan, math.inf, -math.inf]),
                    st.integers(-10**9, 10**9))


@given(st.lists(_AMOUNT, max_size=300))
def test_arrow_aggregates_equal_the_per_value_rules(values: list[float | int | None]) -> None:
    """What the page draws is aggregated in Arrow; it must be what the plain per-value rules give."""
    numbers = [0.0 if v is None or not math.isfinite(v) else float(v) for v in values]
    arrow_numbers = agg.amounts(agg.array([None if v is None else float(v) for v in values]))
    assert arrow_numbers.to_pylist() == numbers
    assert agg.lorenz(arrow_numbers) == lorenz(numbers)
    scores = [abs(v) % 300 for v in numbers]
    assert agg.score_buckets(agg.array(scores)) == score_buckets(scores)
    keys = [None if v is None else str(int(v) % 7) for v in numbers]
    assert agg.counts(agg.keys(keys)) == Counter("(none)" if k is None else k for k in keys)
    sums = agg.group_sums(agg.keys(keys), {"revenue": arrow_numbers})
    for k, d in sums.items():
        mine = [x for x, key in zip(numbers, keys, strict=True) if (key or "(none)") == k]
        assert d["accounts"] == len(mine) and d["revenue"] == pytest.approx(sum(mine), rel=1e-12, abs=1e-6)


@pytest.mark.parametrize("which", ["accounts", "decisions", "errors"])
def test_cli_report_refuses_to_overwrite_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  which: str) -> None:
    """``report P accounts.csv -o accounts.csv`` once replaced the accounts file with HTML and exited 0: the
    output is checked against the inputs (as decide, diff and features check theirs), exit 2, inputs kept."""
    _decide(tmp_path, ACCOUNTS)
    accounts = tmp_path / "accounts.csv"
    shutil.copy(ACCOUNTS, accounts)
    inputs = {"accounts": accounts, "decisions": tmp_path / "decisions.csv",
              "errors": tmp_path / "decisions.errors.csv"}
    before = {k: p.read_bytes() for k, p in inputs.items()}
    argv = ["report", str(EXPRESS), str(accounts), "-o", str(inputs[which]), "--as-of", "2026-06-30", "-q"]
    if which != "accounts":
        argv[3:3] = ["--decisions", str(inputs["decisions"])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is an input of this run" in err and "Traceback" not in err
    assert {k: p.read_bytes() for k, p in inputs.items()} == before


def test_cli_report_output_is_published_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The page is written as ``.<name>.<random>.part`` and renamed (docs/batch.md, *Outputs are atomic*): a
    folder as OUTPUT is one line and exit 2, and a finished run leaves no temporary file beside the page."""
    assert main(["report", str(EXPRESS), str(ACCOUNTS), "-o", str(tmp_path), "-q", "--as-of", "2026-06-30"]) == 2
    assert "is a folder" in capsys.readouterr().err
    out = tmp_path / "r.html"
    out.write_text("an earlier report", encoding="utf-8")
    assert main(["report", str(EXPRESS), str(ACCOUNTS), "-o", str(out), "-q", "--as-of", "2026-06-30"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]


def test_cli_report_names_a_jsonl_decisions_file_it_cannot_draw(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """``decide -o decisions.jsonl`` writes whole Decisions; ``report --decisions`` reads the flat CSV or
    Parquet. Given the JSONL it crashed with a pyarrow traceback and exit 1 ("rows refused"); now one line
    naming the file and the fix, exit 2."""
    jsonl = tmp_path / "decisions.jsonl"
    assert main(["decide", str(EXPRESS), str(ACCOUNTS), "-o", str(jsonl), "--as-of", "2026-06-30", "-q"]) == 0
    capsys.readouterr()
    code = main(["report", str(EXPRESS), "--decisions", str(jsonl), "-o", str(tmp_path / "r.html"), "-q",
                 "--as-of", "2026-06-30"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert str(jsonl) in err and "CSV or Parquet" in err


def test_cli_report_refuses_a_missing_errors_file_it_was_given(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """``--errors nope.csv`` (a typo) was passed over in silence: the page said no row was refused, exit 0. A
    file given by name must be there (one line, exit 2); the default beside the decisions may be absent."""
    _decide(tmp_path, ACCOUNTS)
    argv = ["report", str(EXPRESS), "--decisions", str(tmp_path / "decisions.csv"), "-o", str(tmp_path / "r.html"),
            "--as-of", "2026-06-30", "-q"]
    assert main([*argv, "--errors", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert "nope.csv: no such file or directory" in err and err.count("\n") == 1
    assert not (tmp_path / "r.html").exists()
    (tmp_path / "decisions.errors.csv").unlink()
    assert main(argv) == 0
