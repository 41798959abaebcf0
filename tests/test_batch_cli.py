"""``accountrules decide``: end to end on the example portfolio."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from accountrules.cli import main
from accountrules.cli.decide import errors_path

pq: Any = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parents[1]
ACCOUNTS = ROOT / "examples" / "portfolio" / "accounts_with_errors.csv"
EXPRESS = ROOT / "rulesets" / "express"
SMALL = ROOT / "examples" / "small"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_decide_csv_with_bad_rows_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "decisions.csv"
    code = main(["decide", str(EXPRESS), str(ACCOUNTS), "-o", str(out), "--as-of", "2026-06-30"])
    assert code == 1
    captured = capsys.readouterr()
    assert captured.err == ""  # no progress bar when stderr is not a terminal
    text = captured.out
    for word in ("accounts: 300 (297 decided, 3 errors)", "tiers:", "stage changes:", "churn kinds:", "actions:",
                 "elapsed:", "errors:"):
        assert word in text, word
    rows = _rows(out)
    assert len(rows) == 297 and rows[0]["account_id"] == "KA0001" and "explain_en" not in rows[0]
    errs = _rows(tmp_path / "decisions.errors.csv")
    assert [(e["row"], e["field"]) for e in errs] == [
        ("50", "relationship.share_of_wallet"), ("100", "relationship.last_contact_date"),
        ("150", "relationship.stage")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_decide_summary_names_codes_by_the_policys_labels(lang: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Tiers, segments, stages, churn and actions in the summary read as the policy labels them in the
    command line's language, with the counts of the decisions file."""
    from collections import Counter

    from accountrules import load_policy

    spec = load_policy(EXPRESS).spec
    assert spec.tiers is not None and spec.actions is not None
    out = tmp_path / "decisions.csv"
    assert main(["--lang", lang, "decide", str(EXPRESS), str(ACCOUNTS), "-o", str(out), "--as-of", "2026-06-30"]) == 1
    text = capsys.readouterr().out
    rows = _rows(out)
    lines = {line.strip().partition("：" if lang == "zh" else ": ")[0]: line.strip() for line in text.splitlines()}
    tiers = lines["等级" if lang == "zh" else "tiers"]
    order = list(spec.tiers.values)
    counts = sorted(Counter(r["tier"] for r in rows).items(), key=lambda kv: order.index(kv[0]))
    expected = "; ".join(f"{spec.tiers.values[t].in_(lang)} {n}" for t, n in counts)
    assert tiers.endswith(expected), (tiers, expected)
    assert "platinum" not in tiers and "gold" not in tiers
    actions = Counter(a for r in rows for a in r["actions"].split(";") if a)
    for code, n in actions.items():
        assert f"{spec.actions.catalog[code].title.in_(lang)} {n}" in text, code
    assert "dedicated_manager" not in text and "hibernating" not in text  # action and segment codes
    stage = {"zh": "初期合作", "en": "Initial cooperation"}[lang]  # the shared vocabulary's stage label
    churn = {"zh": "无流失", "en": "No churn"}[lang]
    assert f"{stage} {Counter(r['stage'] for r in rows)['initial']}" in text
    assert f"{churn} {Counter(r['churn_kind'] for r in rows)['none']}" in text
    assert f"{spec.segments['rfm'].values['hibernating'].in_(lang)} " in text


def test_decide_jsonl_and_parquet_with_explain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.jsonl"
    errs = tmp_path / "bad.csv"
    assert main(["decide", str(SMALL), str(ACCOUNTS), "-o", str(out), "--as-of", "2026-06-30", "--explain",
                 "--errors", str(errs)]) == 1
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 297 and json.loads(lines[0])["trace"]
    assert len(_rows(errs)) == 3
    plain = tmp_path / "plain.jsonl"
    assert main(["decide", str(SMALL), str(ACCOUNTS), "-o", str(plain), "--as-of", "2026-06-30"]) == 1
    assert json.loads(plain.read_text(encoding="utf-8").splitlines()[0])["trace"] == []
    pout = tmp_path / "d.out"
    assert main(["decide", str(SMALL), str(ACCOUNTS), "-o", str(pout), "--format", "parquet", "--explain",
                 "--as-of", "2026-06-30"]) == 1
    table = pq.read_table(pout)
    assert table.num_rows == 297 and "explain_zh" in table.column_names
    assert (tmp_path / "d.out.errors.csv").exists()
    capsys.readouterr()


def test_decide_all_good_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.csv"
    lines = ACCOUNTS.read_text(encoding="utf-8-sig").splitlines()
    good.write_text("\n".join(lines[:41]) + "\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert main(["decide", str(SMALL), str(good), "-o", str(out), "--as-of", "2026-06-30",
                 "--engine", "compiled"]) == 0
    assert len(_rows(out)) == 40 and _rows(tmp_path / "o.errors.csv") == []
    assert "errors: " in capsys.readouterr().out
    durable = tmp_path / "durable.csv"
    code = main(["decide", str(SMALL), str(good), "-o", str(durable), "--as-of", "2026-06-30", "--engine", "durable"])
    if code != 2:  # 2: durable_rules is not installed here
        assert code == 0 and _rows(durable) == _rows(out)
    capsys.readouterr()


def test_usage_policy_and_input_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad_col = tmp_path / "u.csv"
    bad_col.write_text("id,transactions.anual_profit\nA,1\n", encoding="utf-8")
    out = tmp_path / "o.csv"
    assert main(["decide", str(SMALL), str(bad_col), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "transactions.anual_profit" in err and "did you mean" in err
    assert not out.exists() and not errors_path(out).exists()
    assert main(["decide", str(tmp_path / "missing"), str(ACCOUNTS), "-o", str(out)]) == 2
    assert main(["decide", str(SMALL), str(ACCOUNTS), "-o", str(tmp_path / "o.txt")]) == 2
    assert main(["decide", str(SMALL), str(tmp_path / "nope.csv"), "-o", str(out)]) == 2
    with pytest.raises(SystemExit) as e:
        main(["decide", str(SMALL)])
    assert e.value.code == 2
    capsys.readouterr()


def test_errors_path() -> None:
    assert errors_path(Path("out/decisions.csv")) == Path("out/decisions.errors.csv")
    assert errors_path(Path("d.parquet")) == Path("d.errors.csv")
    assert errors_path(Path("d")) == Path("d.errors.csv")


def test_progress_bar_only_on_a_terminal() -> None:
    import argparse
    import io

    from accountrules.cli.progress import Progress, progress_on

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    quiet = io.StringIO()
    with Progress(progress_on(argparse.Namespace(), quiet), str, stream=quiet) as bar:
        bar("deciding", 10, 10)
    assert quiet.getvalue() == ""
    tty = Tty()
    assert not progress_on(argparse.Namespace(quiet=True), tty)  # -q turns it off on a terminal too
    assert progress_on(argparse.Namespace(progress=True), quiet)  # --progress forces it anywhere
    with Progress(progress_on(argparse.Namespace(), tty), str, stream=tty, mininterval=0) as bar:
        bar("reading", 5, None)
        bar("deciding", 4, 10)
        bar("deciding", 10, 10)
    drawn = tty.getvalue()
    # tqdm's bar: count of total, elapsed<remaining (the ETA), and a rate
    assert "deciding" in drawn and "10/10" in drawn and "<" in drawn and "/s" in drawn
