"""'What changes for whom' between two versions of a policy, before the change ships."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.cli import main
from accountrules.testing.impact import Change, compare, impact
from accountrules.testing.strategies import portfolios

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts.csv"
AS_OF = dt.date(2026, 6, 30)


def _express_copy(factory: pytest.TempPathFactory, name: str) -> Path:
    """A copy of the shipped express policy, for a fixture to change."""
    new = factory.mktemp(name) / "express"
    shutil.copytree(ROOT / "rulesets" / "express", new)
    return new


def _express_with(factory: pytest.TempPathFactory, name: str, file: str, rules: str) -> Path:
    """A copy of express with ``rules`` (YAML) appended to its ``file``."""
    new = _express_copy(factory, name)
    with (new / file).open("a", encoding="utf-8") as f:
        f.write(rules)
    return new


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    new = _express_copy(tmp_path_factory, "v2")
    text = (new / "policy.yaml").read_text(encoding="utf-8")
    text = text.replace("platinum_min_percentile: 0.80", "platinum_min_percentile: 0.70")
    (new / "policy.yaml").write_text(text.replace('version: "1.0.0"', 'version: "1.1.0"'), encoding="utf-8")
    return ROOT / "rulesets" / "express", new


def test_a_lower_platinum_cut_only_promotes(versions: tuple[Path, Path]) -> None:
    old, new = (accountrules.load_policy(p) for p in versions)
    report = impact(old, new, str(ACCOUNTS), as_of=AS_OF)
    tiers = [c for c in report.changes if c.what == "tier"]
    assert tiers and all(c.new == "platinum" and c.new_rule == "platinum-top-contributor" for c in tiers)
    # every tier change is explained by the same accounts deciding differently one by one
    before = old.decide_many(str(ACCOUNTS), as_of=AS_OF)
    after = new.decide_many(str(ACCOUNTS), as_of=AS_OF)
    moved = {d.account_id for d, e in zip(before.decisions, after.decisions, strict=True) if d.tier != e.tier}
    assert moved == {c.account_id for c in tiers}
    assert report.accounts == 300 and report.changed_accounts >= len(moved)


def test_the_same_policy_changes_nothing(versions: tuple[Path, Path]) -> None:
    old = accountrules.load_policy(versions[0])
    assert impact(old, old, str(ACCOUNTS), as_of=AS_OF).changes == []


def test_cli_writes_changes_and_can_fail_on_change(versions: tuple[Path, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "changes.csv"
    args = ["diff", str(versions[0]), str(versions[1]), str(ACCOUNTS), "--as-of", "2026-06-30", "-o", str(out)]
    assert main(args) == 0
    assert "tier: gold -> platinum" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8-sig").startswith("account_id,what,old,new")
    assert main([*args, "--fail-on-change"]) == 1


@pytest.mark.parametrize("name", ["changes.parquet", "changes.jsonl", "changes.pq"])
def test_cli_refuses_to_write_csv_under_another_formats_name(versions: tuple[Path, Path], tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str], name: str) -> None:
    # `diff -o x.parquet` wrote CSV text under that name: a file no Parquet reader opens, exit 0
    out = tmp_path / name
    args = ["diff", str(versions[0]), str(versions[1]), str(ACCOUNTS), "--as-of", "2026-06-30", "-o", str(out)]
    assert main(args) == 2
    assert "name a .csv file" in capsys.readouterr().err
    assert not out.exists()


# -- a change that makes accounts undecidable is a change ---------------------------------------


@pytest.fixture(scope="module")
def overlapping(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The express policy with its tier table made ``unique``: its rows overlap (first-hit order decided),
    so accounts matching two rows cannot be decided any more (seed T1's pyramid must be a partition)."""
    new = _express_copy(tmp_path_factory, "overlap")
    text = (new / "tiers.yaml").read_text(encoding="utf-8")
    assert "  hit: first\n" in text
    (new / "tiers.yaml").write_text(text.replace("  hit: first\n", "  hit: unique\n", 1), encoding="utf-8")
    return new


def test_accounts_the_new_policy_refuses_are_changes(overlapping: Path) -> None:
    # it said "0 of 300 accounts change" and "153 rows could not be decided", and --fail-on-change passed
    old, new = accountrules.load_policy(ROOT / "rulesets" / "express"), accountrules.load_policy(overlapping)
    report = impact(old, new, str(ACCOUNTS), as_of=AS_OF)
    refused = [c for c in report.changes if c.what == "refused"]
    after = new.decide_many(str(ACCOUNTS), as_of=AS_OF)
    assert after.errors and {c.account_id for c in refused} == {e.account_id for e in after.errors}
    assert all(c.old is None and c.new is not None and "unique" in c.new for c in refused)
    # the reason is the same words for every account, so the summary counts one move, not one per account
    assert all(not c.new.startswith("account ") for c in refused)  # type: ignore[union-attr]
    assert report.errors == []  # nothing the two policies both refuse
    # the same name and version on both sides: the summary tells them apart by their source hash
    assert report.old == f"express 1.0.0 ({old.ref.hash[:12]})" and report.new == f"express 1.0.0 ({new.ref.hash[:12]})"
    assert report.changed_accounts == len({c.account_id for c in report.changes}) >= len(after.errors)
    back = impact(new, old, str(ACCOUNTS), as_of=AS_OF)  # and the other way round: no longer refused
    assert {(c.account_id, c.new) for c in back.changes if c.what == "refused"} == {
        (c.account_id, None) for c in refused}


def test_cli_shows_and_fails_on_newly_refused_accounts(overlapping: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "changes.csv"
    args = ["diff", str(ROOT / "rulesets" / "express"), str(overlapping), str(ACCOUNTS), "--as-of", "2026-06-30",
            "-o", str(out)]
    assert main([*args, "--fail-on-change"]) == 1
    text = capsys.readouterr().out
    line = next(x for x in text.splitlines() if "newly refused" in x)
    assert "tier is 'unique'" in line and int(line.split()[0]) > 0
    assert ",refused,," in out.read_text(encoding="utf-8-sig")
    assert main([*args, "--lang", "zh"]) == 0
    assert "新拒绝" in capsys.readouterr().out


def test_rows_both_policies_refuse_stay_errors(versions: tuple[Path, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    lines = ACCOUNTS.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("transactions.count")] = "many"
    bad.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n", encoding="utf-8")
    old, new = (accountrules.load_policy(p) for p in versions)
    report = impact(old, new, str(bad), as_of=AS_OF)
    assert [e.row for e in report.errors] == [1]
    assert not [c for c in report.changes if c.what == "refused"]


# -- the columnar comparison is the Decision-by-Decision one --------------------------------------


def _by_decisions(old: accountrules.Policy, new: accountrules.Policy, source: Any) -> list[Change]:
    """What compare() finds Decision by Decision (refusals as impact reports them)."""
    from accountrules.batch import RowError

    out: list[Change] = []
    before = old.decide_many(source, as_of=AS_OF, trace=False)
    after = new.decide_many(source, as_of=AS_OF, trace=False)
    for x, y in zip(before, after, strict=True):
        if isinstance(x, RowError) or isinstance(y, RowError):
            continue
        out += compare(x, y)
    return out


@pytest.fixture(scope="module")
def rfm_default(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Express with a default RFM segment (C5) and a lower platinum cut: the RFM segment, unknown before for
    some accounts, now has a value, while the tier and the churn risk change too."""
    new = _express_copy(tmp_path_factory, "rfm")
    seg = (new / "segments.yaml").read_text(encoding="utf-8")
    anchor = "    seed: [C5]\n    hit: unique\n"
    assert anchor in seg
    (new / "segments.yaml").write_text(seg.replace(anchor, anchor + "    default: need_attention\n"), encoding="utf-8")
    text = (new / "policy.yaml").read_text(encoding="utf-8")
    (new / "policy.yaml").write_text(text.replace("platinum_min_percentile: 0.80", "platinum_min_percentile: 0.60"),
                                     encoding="utf-8")
    return new


@pytest.fixture(scope="module")
def actions_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Express with one more action rule, which changes actions and nothing else."""
    return _express_with(tmp_path_factory, "acts", "actions.yaml",
                         "    - id: act-extra-club\n      when: transactions.count >= 20 and churn.kind != 'expelled'\n"
                         "      do: [customer_club]\n")


@pytest.fixture(scope="module")
def one_more_segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Express with a segment table of its own that no rule reads: one output more, nothing else changes."""
    return _express_with(tmp_path_factory, "seg", "segments.yaml",
                         "  busy:\n    hit: first\n    values: {busy: {zh: 忙, en: busy}}\n    rows:\n"
                         "      - {id: busy-20, when: transactions.count >= 20, then: busy}\n")


@pytest.mark.parametrize("engine", ["compiled", "vector"])
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_changes_from_columns_are_the_changes_of_the_decisions(overlapping: Path, versions: tuple[Path, Path],
                                                                rfm_default: Path, engine: str,
                                                                data: st.DataObject) -> None:
    # express against a lower platinum cut, against overlapping tiers, and postal (another policy, with
    # more segments and rules) against express: keys present on one side only, churn, stage, actions
    express = accountrules.load_policy(ROOT / "rulesets" / "express")
    pairs = [(express, accountrules.load_policy(versions[1])), (express, accountrules.load_policy(overlapping)),
             (accountrules.load_policy(ROOT / "rulesets" / "postal"), express),
             (express, accountrules.load_policy(rfm_default)), (accountrules.load_policy(rfm_default), express)]
    old, new = data.draw(st.sampled_from(pairs))
    accounts = data.draw(portfolios(old, max_size=20))
    report = impact(old, new, accounts, as_of=AS_OF, engine=engine)
    assert [c for c in report.changes if c.what != "refused"] == _by_decisions(old, new, accounts)


@pytest.mark.parametrize("engine", ["compiled", "vector"])
def test_changes_of_the_example_portfolio_from_columns_and_decisions(overlapping: Path, versions: tuple[Path, Path],
                                                                     rfm_default: Path, actions_only: Path,
                                                                     one_more_segment: Path, engine: str) -> None:
    express = accountrules.load_policy(ROOT / "rulesets" / "express")
    for other in (versions[1], overlapping, rfm_default, actions_only, one_more_segment, ROOT / "rulesets" / "postal"):
        changed = accountrules.load_policy(other)
        for old, new in ((express, changed), (changed, express)):
            report = impact(old, new, str(ACCOUNTS), as_of=AS_OF, engine=engine)
            assert [c for c in report.changes if c.what != "refused"] == _by_decisions(old, new, str(ACCOUNTS))


def test_changes_without_pyarrow_are_those_with_it(overlapping: Path, rfm_default: Path, actions_only: Path,
                                                   one_more_segment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # with pyarrow, rows whose values, actions and refusals are all equal are left out over whole columns;
    # without it every row is compared: the reports must be the same
    import accountrules.testing.impact as impact_module
    from accountrules.errors import MissingDependencyError

    express = accountrules.load_policy(ROOT / "rulesets" / "express")
    for other in (overlapping, rfm_default, actions_only, one_more_segment, ROOT / "rulesets" / "postal"):
        changed = accountrules.load_policy(other)
        for old, new in ((express, changed), (changed, express)):
            with_arrow = impact(old, new, str(ACCOUNTS), as_of=AS_OF, engine="vector")
            with monkeypatch.context() as m:
                def missing(module: str, purpose: str) -> Any:
                    raise MissingDependencyError(purpose, module, "arrow")

                m.setattr(impact_module, "require", missing)
                without = impact(old, new, str(ACCOUNTS), as_of=AS_OF, engine="vector")
            assert without.changes == with_arrow.changes and without.errors == with_arrow.errors


@pytest.fixture(scope="module")
def score_weight(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Express with a much smaller recency weight in the churn score: the score of most accounts changes,
    their churn kind and risk mostly not."""
    new = _express_copy(tmp_path_factory, "score")
    text = (new / "policy.yaml").read_text(encoding="utf-8")
    assert "  score_w_recency: 30 " in text
    text = text.replace("  score_w_recency: 30 ", "  score_w_recency: 0.31 ")
    (new / "policy.yaml").write_text(text, encoding="utf-8")
    return new


def test_the_diff_page_moves_the_accounts_diff_lists(versions: tuple[Path, Path], overlapping: Path,
                                                      rfm_default: Path, actions_only: Path, one_more_segment: Path,
                                                      score_weight: Path) -> None:
    # the page counted an account whose churn score or a metric alone changed as one that moves: 287 of 300
    # for a new score weight, where `diff` listed 1
    from accountrules.report.diff import render_diff
    from accountrules.testing.impact import compare_results, decide_both

    express = accountrules.load_policy(ROOT / "rulesets" / "express")
    for other in (versions[1], overlapping, rfm_default, actions_only, one_more_segment, score_weight):
        changed = accountrules.load_policy(other)
        for old, new in ((express, changed), (changed, express)):
            before, after = decide_both(old, new, str(ACCOUNTS), as_of=AS_OF, engine="vector", trace=True)
            listed = [c.account_id for c in compare_results(before, after).changes if c.what != "refused"]
            assert render_diff(before, after)[1].moved == list(dict.fromkeys(listed)), other.name


def test_a_value_one_version_lacks_reads_none_not_python_none() -> None:
    # a new segment table in the changed policy: `accountrules diff` printed
    # "206  segment:credit_band: None -> clean", Python's None, in English and in Chinese alike
    from accountrules.i18n import gettext_for
    from accountrules.testing.impact import ImpactReport

    report = ImpactReport("x 1", "x 2", 3, [Change("A", "segment:credit_band", None, "clean", None, "credit-clean"),
                                          Change("B", "tier", "gold", None, "gold-top", None)])
    en, zh = report.summary_lines(), report.summary_lines(gettext_for("zh"))
    assert "       1  segment:credit_band: (none) -> clean" in en and "       1  tier: gold -> (none)" in en
    assert "       1  segment:credit_band: （无） -> clean" in zh
    assert not any("None" in line for line in en + zh)
    assert report.to_dict()["moves"][0]["old"] is None  # the JSON keeps null
