"""The backtest's statistical building blocks on the CDNOW data: the BG/NBD fit, P(alive) and
expected purchases, the bootstrap intervals of ROC AUC and PR AUC, the calibration table and the hiatus
choice, each a public call timed end to end (CPU time, median of ``--reps``; wall time beside it).

The data is the copy vendored in tests/data/cdnow/ (found through tests/cdnow_data.py).
The full log (23,570 customers) is summarised at ``--as-of`` (repeat purchases on distinct days,
weeks from the first purchase), the outcome is "no purchase in the next ``--horizon-days``".
The issue's budget (#14): the whole backtest on the full log in <= 10 s, the fit about 2 s of it.

    python benchmarks/backtest_stats.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from accountrules.backtest.bgnbd import expected_purchases, fit_bgnbd, p_alive, p_no_purchase
from accountrules.backtest.hiatus import choose_hiatus_days, hiatus_score
from accountrules.backtest.measures import bootstrap_ci, bootstrap_cis, calibration_table, pr_auc, roc_auc

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tests") not in sys.path:  # the one place that says where the CDNOW files are
    sys.path.insert(0, str(ROOT / "tests"))
from cdnow_data import CDNOW_DIR  # noqa: E402

CDNOW = CDNOW_DIR


def read_log(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Customer index and day number (days since 1970) of every purchase in CDNOW_master.txt."""
    raw = np.loadtxt(path, skiprows=1, usecols=(0, 1), dtype=np.int64)
    days = np.array([np.datetime64(f"{d // 10000:04d}-{d // 100 % 100:02d}-{d % 100:02d}") for d in raw[:, 1]])
    return raw[:, 0], days.astype("datetime64[D]").astype(np.int64)


def summarise(customer: np.ndarray, day: np.ndarray, end: int) -> dict[str, np.ndarray]:
    """Per customer at day ``end``: repeat purchases (distinct later days), recency and age in weeks,
    days since the last purchase; customers whose first purchase falls after ``end`` are left out."""
    keep = day <= end
    pairs = np.unique(np.column_stack([customer[keep], day[keep]]), axis=0)
    ids, at = np.unique(pairs[:, 0], return_inverse=True)
    first = np.full(ids.size, np.iinfo(np.int64).max)
    last = np.zeros(ids.size, dtype=np.int64)
    np.minimum.at(first, at, pairs[:, 1])
    np.maximum.at(last, at, pairs[:, 1])
    return {"id": ids, "x": np.bincount(at) - 1.0, "t_x": (last - first) / 7.0, "T": (end - first) / 7.0,
            "silent_days": (end - last).astype(np.float64)}


def timed(call: Callable[[], Any], reps: int) -> tuple[Any, float, float]:
    cpu, wall, result = [], [], None
    for _ in range(reps):
        c, w = time.process_time(), time.perf_counter()
        result = call()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return result, statistics.median(cpu), statistics.median(wall)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--as-of", default="1997-12-31")
    ap.add_argument("--horizon-days", type=int, default=182)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    customer, day = read_log(CDNOW / "CDNOW_master.txt")
    end = int(np.datetime64(args.as_of, "D").astype(np.int64))
    at_t = summarise(customer, day, end)
    after = np.isin(at_t["id"], customer[(day > end) & (day <= end + args.horizon_days)])
    lapsed = ~after
    # the hiatus k is chosen on (T' , T], T' = T − the horizon, or half the log before T if shorter
    lookback = min(args.horizon_days, (end - int(day.min())) // 2)
    calibration = summarise(customer, day, end - lookback)
    came_back = np.isin(calibration["id"], customer[(day > end - lookback) & (day <= end)])

    sample = np.genfromtxt(CDNOW / "cdnow_customers_summary.csv", delimiter=",", names=True)
    rows: list[tuple[str, float, float, str]] = []

    def run(name: str, call: Callable[[], Any], note: Callable[[Any], str] = lambda _: "") -> Any:
        result, cpu, wall = timed(call, args.reps)
        rows.append((name, cpu, wall, note(result)))
        return result

    run("fit_bgnbd, sample summary (2,357)", lambda: fit_bgnbd(sample["frequency"], sample["recency"], sample["T"]),
        lambda p: f"r={p.r:.3f} alpha={p.alpha:.3f} a={p.a:.3f} b={p.b:.3f}")
    n = at_t["x"].size
    params = run(f"fit_bgnbd, full log at {args.as_of} ({n:,})", lambda: fit_bgnbd(at_t["x"], at_t["t_x"], at_t["T"]),
                 lambda p: f"r={p.r:.3f} alpha={p.alpha:.3f} a={p.a:.3f} b={p.b:.3f}")
    alive = run("p_alive", lambda: p_alive(params, at_t["x"], at_t["t_x"], at_t["T"]))
    run(f"expected_purchases over {args.horizon_days} days",
        lambda: expected_purchases(params, args.horizon_days / 7, at_t["x"], at_t["t_x"], at_t["T"]))
    run("roc_auc (1 - P(alive))", lambda: roc_auc(lapsed, 1 - alive), lambda v: f"{v:.4f}")
    churn = run(f"p_no_purchase over {args.horizon_days} days",
                lambda: p_no_purchase(params, args.horizon_days / 7, at_t["x"], at_t["t_x"], at_t["T"]),
                lambda q: f"mean {q.mean():.4f}, observed {lapsed.mean():.4f}")
    run("roc_auc (p_no_purchase)", lambda: roc_auc(lapsed, churn), lambda v: f"{v:.4f}")
    roc_ci = run("bootstrap_ci(roc_auc, p_no_purchase), 1000 resamples", lambda: bootstrap_ci(roc_auc, lapsed, churn),
                 lambda ci: f"[{ci[0]:.4f}, {ci[1]:.4f}]")
    pr_ci = run("bootstrap_ci(pr_auc, p_no_purchase), 1000 resamples", lambda: bootstrap_ci(pr_auc, lapsed, churn),
                lambda ci: f"[{ci[0]:.4f}, {ci[1]:.4f}]")
    run("bootstrap_cis([roc_auc, pr_auc], p_no_purchase), 1000",
        lambda: bootstrap_cis([roc_auc, pr_auc], lapsed, churn),
        lambda cis: "the same two intervals" if cis == (roc_ci, pr_ci) else f"DIFFERENT: {cis}")
    run("calibration_table, deciles", lambda: calibration_table(lapsed, churn), lambda t: f"{len(t)} bins")
    choice = run("choose_hiatus_days, 30..360 step 15",
                 lambda: choose_hiatus_days(calibration["silent_days"], ~came_back, range(30, 361, 15)),
                 lambda c: f"k={c.days:.0f} balanced accuracy {c.balanced_accuracy:.3f}")
    run("roc_auc (hiatus score)", lambda: roc_auc(lapsed, hiatus_score(at_t["silent_days"])),
        lambda v: f"{v:.4f} (k={choice.days:.0f} chosen before T)")

    width = max(len(r[0]) for r in rows)
    print(f"{'call':<{width}}  {'cpu s':>7}  {'wall s':>7}  result")
    for name, cpu, wall, note in rows:
        print(f"{name:<{width}}  {cpu:7.3f}  {wall:7.3f}  {note}")
    print(f"lapsed in ({args.as_of}, +{args.horizon_days} d]: {int(lapsed.sum()):,} of {n:,}; hiatus calibrated "
          f"on the {lookback} days before; median of {args.reps}")


if __name__ == "__main__":
    main()
