"""The CDNOW backtests of docs/backtest.md: the shipped express policy against the hiatus rule and
BG/NBD P(alive), on the two splits of the customer-base literature.

    python benchmarks/backtest_cdnow.py                    # both splits: print the results block
    python benchmarks/backtest_cdnow.py --split sample     # one split
    python benchmarks/backtest_cdnow.py --write docs/backtest.md   # replace the doc's results block

Splits (the real data vendored in tests/data/cdnow/, found through tests/cdnow_data.py; see its README.md):

* ``full``: CDNOW_master.txt (69,659 orders, 23,570 customers), T = 1997-12-31, horizon 26 weeks.
  The log ends on 1998-06-30, one day before T + 182 days, so the horizon is cut there (181
  days, shown in the block): ``clip_horizon=True``.
* ``sample``: CDNOW_sample.txt (6,919 orders, 2,357 customers; no header, five columns),
  T = 1997-09-30, horizon 39 weeks: the calibration/holdout split of Fader, Hardie & Lee (2005).

The block is generated, never typed: ``tests/test_backtest_docs.py`` regenerates the sample's
part and compares it with the doc.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from accountrules.backtest import BacktestResult, backtest, render_text
from accountrules.features import ColumnMap

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tests") not in sys.path:  # the one place that says where the CDNOW files are
    sys.path.insert(0, str(ROOT / "tests"))
from cdnow_data import CDNOW_DIR  # noqa: E402

DATA = CDNOW_DIR
COLUMNS = ColumnMap(account_id="customer_id", date="date", amount="dollar_value", date_format="%Y%m%d")
LOG_END = date(1998, 6, 30)  # "observed to 1998-06-30" (the data's README)
START, END = "<!-- backtest-cdnow:start -->", "<!-- backtest-cdnow:end -->"


@dataclass(frozen=True)
class Split:
    name: str
    file: str
    as_of: date
    horizon: str
    clip: bool
    what: str


SPLITS = {
    "full": Split("full", "CDNOW_master.txt", date(1997, 12, 31), "26w", True,
                  "full CDNOW log, T = 1997-12-31, horizon 26 weeks"),
    "sample": Split("sample", "CDNOW_sample.txt", date(1997, 9, 30), "39w", False,
                    "2,357-customer sample, T = 1997-09-30, horizon 39 weeks"),
}


def orders_of(split: Split, data: Path = DATA) -> Any:
    """The split's log: a path the reader takes as it is, or (the headerless sample) a table."""
    path = data / split.file
    if split.name == "full":
        return path
    import pyarrow as pa

    rows = [line.split() for line in path.read_text(encoding="ascii").splitlines() if line.strip()]
    # master id, sample id, date, CDs, dollars: the sample id is the customer of the literature's summary
    return pa.table({"customer_id": [r[1] for r in rows], "date": [r[2] for r in rows],
                     "dollar_value": [r[4] for r in rows]})


def run_split(split: Split, *, data: Path = DATA, n_resamples: int = 1000) -> BacktestResult:
    return backtest("express", orders_of(split, data), as_of=split.as_of, horizon=split.horizon, columns=COLUMNS,
                    log_end=LOG_END, clip_horizon=split.clip, n_resamples=n_resamples, seed=0)


def verdicts(r: BacktestResult) -> list[str]:
    """One sentence per baseline: beats, ties or loses on ROC AUC, with both AUCs and the difference."""
    out = []
    policy = r.score("policy")
    for c in r.comparisons:
        base = r.score(c.baseline)
        word = {"beats": "**beats**", "ties": "**ties with**", "loses": "**loses to**"}.get(c.verdict or "", "?")
        out.append(f"- The shipped churn score {word} {_name(c.baseline)} on ROC AUC: "
                   f"{_auc(policy.roc_auc, policy.roc_ci)} against {_auc(base.roc_auc, base.roc_ci)}; "
                   f"difference {c.difference:+.3f}, {int(r.level * 100)}% interval "
                   f"[{c.ci[0]:+.3f}, {c.ci[1]:+.3f}] (DeLong)." if c.ci and c.difference is not None else
                   f"- {_name(c.baseline)}: not comparable (one outcome class only).")
    return out


def block(results: dict[str, BacktestResult], commands: dict[str, str]) -> str:
    parts = [START, ""]
    for name, r in results.items():
        split = SPLITS[name]
        parts += [f"### {split.what}", "", "```console", "$ " + commands[name], "```", "", *verdicts(r), "", "```text",
                  render_text(r, "en").rstrip(), "```", ""]
    parts.append(END)
    return "\n".join(parts)


def command(split: Split, n_resamples: int) -> str:
    tail = "" if n_resamples == 1000 else f" --resamples {n_resamples}"
    return f"python benchmarks/backtest_cdnow.py --split {split.name}{tail}"


def replace_block(doc: str, new: str) -> str:
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(doc):
        raise SystemExit(f"no {START} ... {END} block in the document")
    return pattern.sub(lambda _: new, doc)


def section(doc: str, split: Split) -> str:
    """The part of a results block about one split (from its heading to the next or the end)."""
    head = f"### {split.what}"
    start = doc.index(head)
    nxt = [i for i in (doc.find("### ", start + len(head)), doc.find(END, start)) if i >= 0]
    return doc[start:min(nxt)]


def _name(baseline: str) -> str:
    return {"hiatus": "the hiatus rule", "bgnbd": "BG/NBD 1 - P(alive)",
            "bgnbd_quiet": "BG/NBD P(no order in the horizon)"}.get(baseline, baseline)


def _auc(v: float | None, ci: tuple[float, float] | None) -> str:
    if v is None or ci is None:
        return "-"
    return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--split", choices=[*SPLITS, "both"], default="both")
    p.add_argument("--write", type=Path, metavar="DOC", help="replace the results block of DOC")
    p.add_argument("--resamples", type=int, default=1000)
    args = p.parse_args(argv)
    names = list(SPLITS) if args.split == "both" else [args.split]
    missing = [str(DATA / SPLITS[n].file) for n in names if not (DATA / SPLITS[n].file).is_file()]
    if missing:
        print(f"missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    results = {n: run_split(SPLITS[n], n_resamples=args.resamples) for n in names}
    text = block(results, {n: command(SPLITS[n], args.resamples) for n in names})
    if args.write:
        args.write.write_text(replace_block(args.write.read_text(encoding="utf-8"), text), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
