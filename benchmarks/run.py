"""Throughput and latency of the accountrules evaluators, side by side, in one process.

    python benchmarks/run.py [--accounts N] [--quick] [--json out.json] [--policy rulesets/express]

Sections (all on the same seeded synthetic portfolio, see benchmarks/portfolio.py):
  (a) the full policy (metrics, segments, tiers, stages, churn, actions) through the vectorised
      evaluator (accountrules.evaluate.vector.decide_columns), on all N accounts;
  (b) the same through the row-wise compiled evaluator: Policy.decide per account (validation,
      env, driver, Decision), and the driver alone on prepared envs — on a subset, per second;
  (c) the same through engine="durable" (durable_rules), on a smaller subset;
  (d) the tier table alone: vectorised and row-wise accountrules vs the same rows as a GoRules ZEN
      decision table (zen-engine), as a durable_rules ruleset, and as a hand-written Python
      if-chain. Metrics the tier rows read (including portfolio percentiles) are precomputed
      once and given to every engine alike as input columns;
  (e) Policy.decide() latency for one account with trace (perf_counter_ns, >= 10k calls);
  (f) peak memory (tracemalloc during the vectorised run; ru_maxrss of the process).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

from portfolio import account_dicts, flat_rows, make_columns, to_batch  # noqa: E402

import accountrules  # noqa: E402
from accountrules.evaluate.accounts import env_of, to_account  # noqa: E402
from accountrules.evaluate.driver import COMPILED, Matcher, run  # noqa: E402
from accountrules.evaluate.vector import Column, ColumnBatch, decide_columns, portfolio_stats  # noqa: E402
from accountrules.parse.expr_ast import Binary, Expr, Literal, Logic, Ref, unparse  # noqa: E402

AS_OF = dt.date(2026, 6, 30)


# ---- helpers -------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {"numpy": np.__version__}
    for mod in ("pyarrow", "zen", "durable"):
        try:
            from importlib.metadata import version

            versions[mod] = version({"zen": "zen-engine", "durable": "durable_rules"}.get(mod, mod))
        except Exception:
            versions[mod] = "absent"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions}


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs (garbage of the previous run collected first)."""
    best = float("inf")
    result = None
    for _ in range(repeat):
        result = None
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def per_second(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def envs_for(policy: accountrules.Policy, dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, d in enumerate(dicts):
        out.append(env_of(to_account(d, i + 1), policy.plan.extra_fields))
    return out


def run_driver(policy: accountrules.Policy, envs: list[dict[str, Any]], matcher: Matcher,
               stats: Any = None) -> list[Any]:
    plan = policy.plan
    return [run(plan, dict(env), matcher, "x", AS_OF, stats) for env in envs]


# ---- (d) the tier table as other engines see it ---------------------------------------------------------


def _to_fields(e: Expr) -> Expr:
    """The same expression with metric references read from ``extra.<metric>`` input columns."""
    if isinstance(e, Ref) and e.kind == "metric":
        return Ref(e.loc, "field", "extra." + e.key, e.type)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(e):
        v = getattr(e, f.name)
        if isinstance(v, Expr):
            changes[f.name] = _to_fields(v)
        elif isinstance(v, tuple) and v and all(isinstance(x, Expr) for x in v):
            changes[f.name] = tuple(_to_fields(x) for x in v)
    return dataclasses.replace(e, **changes) if changes else e


def _comparisons(e: Expr | None) -> list[tuple[str, str, Any]] | None:
    """``field op constant`` conjuncts of a condition, or None when it is not that simple."""
    if e is None:
        return []
    parts = e.operands if isinstance(e, Logic) and e.op == "and" else (e,) if not isinstance(e, Logic) else None
    if parts is None:
        return None
    out = []
    for p in parts:
        if not (isinstance(p, Binary) and isinstance(p.left, Ref) and isinstance(p.right, Literal)
                and p.op in ("<", "<=", ">", ">=", "==") and isinstance(p.right.value, int | float)
                and not isinstance(p.right.value, bool)):
            return None
        out.append((p.left.key, p.op, p.right.value))
    return out


def tier_only_policy(policy: accountrules.Policy, tmp: Path) -> tuple[accountrules.Policy, list[str]] | None:
    """A policy holding only the tier table, its metric inputs turned into ``extra.*`` fields."""
    t = policy.spec.tiers
    if t is None:
        return None
    metric_inputs: list[str] = []
    rows = []
    for r in t.rows:
        when = _to_fields(r.when) if r.when is not None else None
        if r.when is not None:
            for node in _walk(r.when):
                if isinstance(node, Ref) and node.kind == "metric" and node.key not in metric_inputs:
                    metric_inputs.append(node.key)
                if isinstance(node, Ref) and node.kind == "output":
                    return None
        rows.append({"id": r.id, "then": r.then, **({"when": unparse(when)} if when is not None else {})})
    doc = {
        "policy": {"name": "tiers_only", "version": "1", "label": {"zh": "分级", "en": "tiers only"}},
        "fields": {m: "number" for m in metric_inputs},
        "tiers": {"hit": t.hit, "values": {v: {"zh": lab.zh, "en": lab.en} for v, lab in t.values.items()},
                  **({"default": t.default} if t.default else {}), "rows": rows},
    }
    path = tmp / "tiers_only.yaml"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")  # JSON is YAML
    return accountrules.load_policy(path), metric_inputs


def _walk(e: Expr) -> list[Expr]:
    from accountrules.parse.expr_ast import walk

    return walk(e)


def zen_graph(tier_policy: accountrules.Policy) -> dict[str, Any] | None:
    t = tier_policy.spec.tiers
    assert t is not None
    if t.hit not in ("first",):
        return None
    fields: list[str] = []
    rules = []
    conds = []
    for r in t.rows:
        c = _comparisons(r.when)
        if c is None:
            return None
        conds.append((r, c))
        for f, _, _ in c:
            if f not in fields:
                fields.append(f)
    col = {f: f"i{i}" for i, f in enumerate(fields)}
    for r, c in conds:
        cells: dict[str, list[str]] = {}
        for f, op, v in c:
            cells.setdefault(col[f], []).append(f"{op} {v!r}")
        rule = {"_id": r.id, **{cid: "" for cid in col.values()}, "o": json.dumps(r.then)}
        for cid, tests in cells.items():
            rule[cid] = tests[0] if len(tests) == 1 else " and ".join("$ " + x for x in tests)
        rules.append(rule)
    if t.default:
        rules.append({"_id": "default", **{cid: "" for cid in col.values()}, "o": json.dumps(t.default)})
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            {"id": "tiers", "type": "decisionTableNode", "name": "tiers", "position": {"x": 200, "y": 0},
             "content": {"hitPolicy": "first",
                         "inputs": [{"id": cid, "name": f, "field": f} for f, cid in col.items()],
                         "outputs": [{"id": "o", "name": "tier", "field": "tier"}], "rules": rules}},
            {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 400, "y": 0}},
        ],
        "edges": [{"id": "e1", "sourceId": "in", "targetId": "tiers", "type": "edge"},
                  {"id": "e2", "sourceId": "tiers", "targetId": "out", "type": "edge"}],
    }


def nested(flat: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in keys:
        group, name = k.split(".", 1)
        out.setdefault(group, {})[name] = flat.get(k)
    return out


def express_if_chain(params: dict[str, Any]) -> Callable[[dict[str, Any]], str]:
    """The express tier rows written by hand (None checks = unknown never fires); thresholds from params."""
    lead_max_profit = params["lead_max_profit"]
    lead_min = params["lead_min_contribution"]
    plat_pct, plat_od, plat_ar = (params["platinum_min_percentile"], params["platinum_max_overdue"],
                                  params["platinum_max_arrears_ratio"])
    gold_pct, gold_od, gold_ar = (params["gold_min_percentile"], params["gold_max_overdue"],
                                  params["gold_max_arrears_ratio"])
    grow_pct, grow_rate = params["growth_gold_min_percentile"], params["gold_min_growth_rate"]

    def tier(a: dict[str, Any]) -> str:
        profit = a["transactions.annual_profit"]
        if profit is not None and profit <= lead_max_profit:
            return "lead"
        pc = a["extra.profit_contribution"]
        if pc is not None and pc < lead_min:
            return "lead"
        pct = a["extra.profit_contribution_pct"]
        od = a["credit.overdue_payments"]
        ar = a["credit.arrears_ratio"]
        if pct is not None and od is not None and ar is not None:
            if pct >= plat_pct and od <= plat_od and ar <= plat_ar:
                return "platinum"
            if pct >= gold_pct and od <= gold_od and ar <= gold_ar:
                return "gold"
            growth = a["transactions.growth_rate"]
            if growth is not None and pct >= grow_pct and growth >= grow_rate and od <= gold_od and ar <= gold_ar:
                return "gold"
        if pc is not None and pc >= lead_min:
            return "iron"
        return "iron"

    return tier


# ---- the run ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=None, help="portfolio size (default 1,000,000; --quick 100,000)")
    ap.add_argument("--quick", action="store_true", help="small portfolio and subsets (about 30 s)")
    ap.add_argument("--json", type=Path, default=None, help="write the results as JSON here")
    ap.add_argument("--policy", type=Path, default=ROOT / "rulesets" / "express")
    ap.add_argument("--seed", type=int, default=20260630)
    args = ap.parse_args(argv)
    n = args.accounts or (100_000 if args.quick else 1_000_000)
    row_n = min(n, 2_000 if args.quick else 10_000)
    durable_n = min(n, 300 if args.quick else 2_000)
    table_n = min(n, 20_000 if args.quick else 100_000)
    zen_n = min(n, 2_000 if args.quick else 10_000)
    latency_calls = 10_000

    res: dict[str, Any] = {"machine": machine(), "accounts": n, "policy": str(args.policy), "seed": args.seed,
                           "as_of": AS_OF.isoformat(), "results": {}, "notes": []}
    R = res["results"]
    notes: list[str] = res["notes"]
    t_start = time.perf_counter()

    def say(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    policy = accountrules.load_policy(args.policy)
    say(f"policy {policy!r}; building {n:,} accounts")
    cols = make_columns(n, args.seed, AS_OF)
    batch = to_batch(cols)

    # (a) vectorised, full policy --------------------------------------------------------------------
    decide_columns(policy, _head(batch, 1000), as_of=AS_OF)  # compile once (cached per plan)
    secs, out = timed(lambda: decide_columns(policy, batch, as_of=AS_OF), repeat=3)
    R["a_vector_full"] = {"accounts": n, "seconds": secs, "per_s": per_second(n, secs),
                          "what": "decide_columns, the batch is the portfolio (ranks computed from it)"}
    say(f"(a) vectorised full policy: {per_second(n, secs):,.0f}/s")
    subset = list(range(0, n, max(1, n // row_n)))[:row_n]
    tiers_vec = out["tier"]
    vec_rows = {k: [out[k][i] for i in subset] for k in out}
    errors = sum(e is not None for e in out["error"])
    if errors:
        notes.append(f"{errors} accounts had a DecisionError (unique/any conflict) in the vectorised run")
    del out
    stats_secs, stats = timed(lambda: portfolio_stats(policy, batch, as_of=AS_OF))
    secs, out = timed(lambda: decide_columns(policy, batch, as_of=AS_OF, stats=stats), repeat=2)
    R["a_vector_full_given_stats"] = {"accounts": n, "seconds": secs, "per_s": per_second(n, secs),
                                      "what": "decide_columns against precomputed PortfolioStats"}
    R["a_portfolio_stats"] = {"accounts": n, "seconds": stats_secs, "per_s": per_second(n, stats_secs),
                              "what": "vector.portfolio_stats (ranked columns of the whole portfolio)"}
    del out
    try:
        import pyarrow as pa

        table = pa.table({k: _arrow(pa, c) for k, c in batch.columns.items()})
        arrow_table = table

        def from_arrow() -> ColumnBatch:
            return ColumnBatch.from_arrow(arrow_table)

        secs, _ = timed(from_arrow, repeat=2)
        R["a_from_arrow"] = {"accounts": n, "seconds": secs, "per_s": per_second(n, secs),
                             "what": "ColumnBatch.from_arrow (input conversion, not in (a))"}

    except ImportError:
        notes.append("pyarrow absent: ColumnBatch.from_arrow not measured")
    say("(a) done")

    # (b) row-wise compiled ----------------------------------------------------------------------------
    dicts = account_dicts(cols, subset)
    accounts = [to_account(d, i + 1) for i, d in enumerate(dicts)]
    secs, decisions = timed(lambda: [policy.decide(a, as_of=AS_OF, portfolio=stats, trace=False) for a in dicts])
    R["b_rowwise_decide"] = {"accounts": len(dicts), "seconds": secs, "per_s": per_second(len(dicts), secs),
                             "what": "Policy.decide(dict, portfolio=stats, trace=False) per account"}
    mismatch = sum(_summary(d, policy) != _vec_summary(vec_rows, j, policy) for j, d in enumerate(decisions))
    R["b_agreement_all_outputs"] = {"compared": len(subset), "mismatches": mismatch}
    if mismatch:
        notes.append(f"row-wise and vectorised decisions differ on {mismatch} of {len(subset)} accounts: A BUG")
    del decisions
    secs, _ = timed(lambda: [policy.decide(a, as_of=AS_OF, portfolio=stats, trace=True) for a in dicts])
    R["b_rowwise_decide_trace"] = {"accounts": len(dicts), "seconds": secs, "per_s": per_second(len(dicts), secs),
                                   "what": "Policy.decide(dict, portfolio=stats, trace=True) per account"}
    secs, _ = timed(lambda: [policy.decide(a, as_of=AS_OF, portfolio=stats, trace=False) for a in accounts])
    R["b_rowwise_decide_account"] = {"accounts": len(dicts), "seconds": secs, "per_s": per_second(len(dicts), secs),
                                     "what": "Policy.decide(Account, ..., trace=False): validation done before"}
    envs = envs_for(policy, dicts)
    secs, _ = timed(lambda: run_driver(policy, envs, COMPILED, stats), repeat=2)
    R["b_rowwise_driver"] = {"accounts": len(envs), "seconds": secs, "per_s": per_second(len(envs), secs),
                             "what": "driver.run on prepared envs (rule evaluation only, no Decision)"}
    try:
        secs, _ = timed(lambda: policy.decide_many(dicts, as_of=AS_OF, trace=False))
        R["b_rowwise_decide_many"] = {"accounts": len(dicts), "seconds": secs, "per_s": per_second(len(dicts), secs),
                                      "what": "Policy.decide_many(dicts, trace=False), its own stats"}
    except Exception as e:  # decide_many is being reworked elsewhere
        notes.append(f"decide_many not measured: {type(e).__name__}: {e}")
    say(f"(b) row-wise: decide {R['b_rowwise_decide']['per_s']:,.0f}/s, driver {R['b_rowwise_driver']['per_s']:,.0f}/s")

    # (c) durable --------------------------------------------------------------------------------------
    try:
        from accountrules.errors import EngineUnavailableError

        dsub = dicts[:durable_n]
        policy.decide(dsub[0], as_of=AS_OF, portfolio=stats, engine="durable", trace=False)  # build the rulesets
        secs, dd = timed(lambda: [policy.decide(a, as_of=AS_OF, portfolio=stats, engine="durable", trace=False)
                                  for a in dsub])
        R["c_durable_decide"] = {"accounts": len(dsub), "seconds": secs, "per_s": per_second(len(dsub), secs),
                                 "what": "Policy.decide(..., engine='durable', trace=False) per account"}
        dmis = sum((d.tier.code if d.tier else None) != tiers_vec[i] for d, i in zip(dd, subset, strict=False))
        R["c_agreement_tier"] = {"compared": len(dd), "mismatches": dmis}
        say(f"(c) durable: {per_second(len(dsub), secs):,.0f}/s")
    except (ImportError, EngineUnavailableError) as e:
        R["c_durable_decide"] = {"per_s": None, "what": f"not available: {e}"}
        notes.append(f"durable engine not available: {e}")
        say("(c) durable not available")

    # (d) the tier table alone -------------------------------------------------------------------------
    _tier_table(policy, batch, cols, n, table_n, zen_n, durable_n, R, notes, say)

    # (e) decide() latency -----------------------------------------------------------------------------
    one = dicts[len(dicts) // 2]
    acc = to_account(one)
    for label, target, tr in (("e_latency_dict_trace", one, True), ("e_latency_account_trace", acc, True),
                              ("e_latency_account_notrace", acc, False)):
        for _ in range(500):
            policy.decide(target, as_of=AS_OF, portfolio=stats, trace=tr)
        samples = []
        for _ in range(latency_calls):
            t0 = time.perf_counter_ns()
            policy.decide(target, as_of=AS_OF, portfolio=stats, trace=tr)
            samples.append(time.perf_counter_ns() - t0)
        samples.sort()
        R[label] = {"calls": latency_calls, "p50_us": samples[len(samples) // 2] / 1e3,
                    "p99_us": samples[int(len(samples) * 0.99)] / 1e3, "mean_us": statistics.fmean(samples) / 1e3,
                    "what": f"Policy.decide({'dict' if target is one else 'Account'}, portfolio=stats, trace={tr})"}
    say(f"(e) decide() p50 {R['e_latency_dict_trace']['p50_us']:.1f} us")

    # (f) memory ----------------------------------------------------------------------------------------
    gc.collect()
    tracemalloc.start()
    out = decide_columns(policy, batch, as_of=AS_OF)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del out
    R["f_memory"] = {"tracemalloc_peak_mb": peak / 2**20, "tracemalloc_per_account_bytes": peak / n,
                     "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                     "what": "peak Python/numpy allocation during one vectorised run (outputs included); "
                             "ru_maxrss is the whole benchmark process"}
    res["total_seconds"] = time.perf_counter() - t_start
    res["ratios"] = ratios(res)
    print_table(res)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
        say(f"wrote {args.json}")
    return res


def _summary(d: Any, policy: accountrules.Policy) -> tuple[Any, ...]:
    """Every output of a Decision that decide_columns also gives."""
    return (d.tier.code if d.tier else None, tuple(d.segments[s].code if s in d.segments else None
                                                   for s in policy.spec.segments),
            d.stage.to.value if d.stage else None, d.stage.transition if d.stage else None,
            d.churn.kind.value if d.churn else None, d.churn.risk.value if d.churn else None,
            d.churn.score if d.churn else None, tuple(d.action_codes()))


def _vec_summary(rows: dict[str, list[Any]], j: int, policy: accountrules.Policy) -> tuple[Any, ...]:
    return (rows["tier"][j], tuple(rows[f"segment.{s}"][j] for s in policy.spec.segments), rows["stage"][j],
            rows["stage_transition"][j], rows["churn_kind"][j], rows["churn_risk"][j], rows["churn_score"][j],
            rows["actions"][j])


def _head(batch: ColumnBatch, k: int) -> ColumnBatch:
    return ColumnBatch({name: Column(c.kind, c.values[:k], None if c.known is None else c.known[:k], c.categories)
                        for name, c in batch.columns.items()}, min(k, batch.size))


def _arrow(pa: Any, c: Column) -> Any:
    mask = None if c.known is None else ~c.known
    if c.kind == "string":
        return pa.DictionaryArray.from_arrays(pa.array(c.values, mask=c.values < 0), pa.array(list(c.categories),
                                                                                                type=pa.string()))
    if c.kind == "date":
        return pa.array(c.values - dt.date(1970, 1, 1).toordinal(), type=pa.int32(), mask=mask).cast(pa.date32())
    return pa.array(c.values, mask=mask)


def _tier_table(policy: accountrules.Policy, batch: ColumnBatch, cols: dict[str, Any], n: int, table_n: int,
                zen_n: int, durable_n: int, R: dict[str, Any], notes: list[str], say: Callable[[str], None]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        made = tier_only_policy(policy, Path(tmp))
    if made is None:
        notes.append("(d) skipped: the tier rows read earlier outputs")
        return
    tpol, metric_inputs = made
    # the metrics the tier rows read (portfolio percentiles included), computed once for every engine
    full = decide_columns(policy, batch, as_of=AS_OF, metrics=True)
    tcols = dict(batch.columns)
    for m in metric_inputs:
        v = full[f"metric.{m}"]
        tcols[f"extra.{m}"] = Column.from_values("number", v)
    want = full["tier"]
    del full
    tbatch = ColumnBatch(tcols, n)
    decide_columns(tpol, _head(tbatch, 100), as_of=AS_OF)
    secs, out = timed(lambda: decide_columns(tpol, tbatch, as_of=AS_OF), repeat=3)
    R["d_tier_vector"] = {"accounts": n, "seconds": secs, "per_s": per_second(n, secs),
                          "what": "decide_columns on the tier-only policy (metric inputs precomputed)"}
    R["d_tier_vector_agreement"] = {"compared": n, "mismatches": sum(a != b for a, b in zip(out["tier"], want,
                                                                                           strict=True))}
    del out
    rows = list(range(0, n, max(1, n // table_n)))[:table_n]
    flat = flat_rows(cols, rows)
    read = sorted({k for t in (tpol.spec.tiers.rows if tpol.spec.tiers else ()) if t.when is not None
                   for k in _refs(t.when)})
    for row, i in zip(flat, rows, strict=True):
        for m in metric_inputs:
            row[f"extra.{m}"] = tcols[f"extra.{m}"].values[i].item() if _known(tcols[f"extra.{m}"], i) else None
    envs = []
    for row in flat:
        envs.append({k: row.get(k) for k in read})
    want_rows = [want[i] for i in rows]
    secs, got = timed(lambda: [r.tier for r in run_driver(tpol, envs, COMPILED)], repeat=3)
    R["d_tier_rowwise"] = {"accounts": len(envs), "seconds": secs, "per_s": per_second(len(envs), secs),
                           "what": "compiled closures + driver on flat env dicts"}
    R["d_tier_rowwise_agreement"] = {"compared": len(envs), "mismatches": _mis(got, want_rows)}

    chain = express_if_chain(policy.spec.params) if "lead_max_profit" in policy.spec.params else None
    if chain is not None:
        secs, got = timed(lambda: [chain(e) for e in envs], repeat=3)
        R["d_tier_ifchain"] = {"accounts": len(envs), "seconds": secs, "per_s": per_second(len(envs), secs),
                               "what": "hand-written Python if-chain of the same rows on the same dicts"}
        R["d_tier_ifchain_agreement"] = {"compared": len(envs), "mismatches": _mis(got, want_rows)}
        if R["d_tier_ifchain_agreement"]["mismatches"]:
            notes.append("the hand-written if-chain no longer matches the policy's tier rows: update it")
    graph = zen_graph(tpol)
    try:
        import zen

        if graph is None:
            raise ImportError("the tier rows are not simple 'field op constant' conjunctions")
        content = json.dumps(graph)
        decision = zen.ZenEngine().create_decision(content)
        zin = [nested(e, read) for e in envs[:zen_n]]
        decision.evaluate(zin[0])
        secs, got = timed(lambda: [decision.evaluate(c)["result"].get("tier") for c in zin])
        R["d_tier_zen"] = {"accounts": len(zin), "seconds": secs, "per_s": per_second(len(zin), secs),
                           "what": "zen-engine ZenDecision.evaluate(dict) per account (one thread)"}
        R["d_tier_zen_agreement"] = {"compared": len(zin), "mismatches": _mis(got, want_rows[:zen_n])}
        engine = zen.ZenEngine({"loader": lambda key: content})
        reqs: list[Any] = [{"key": "tiers", "context": c} for c in zin]
        secs, got = timed(lambda: [r["data"]["result"].get("tier") for r in engine.evaluate_batch(reqs)])
        R["d_tier_zen_batch"] = {"accounts": len(zin), "seconds": secs, "per_s": per_second(len(zin), secs),
                                 "what": "zen-engine evaluate_batch (Rust may use several threads)"}
        say(f"(d) zen {R['d_tier_zen']['per_s']:,.0f}/s")
    except ImportError as e:
        R["d_tier_zen"] = {"per_s": None, "what": f"not available: {e}"}
    try:
        from accountrules.evaluate.durable import DurableMatcher

        dm = DurableMatcher(tpol.plan)
        denvs = envs[:durable_n]
        run_driver(tpol, denvs[:5], dm)
        secs, got = timed(lambda: [r.tier for r in run_driver(tpol, denvs, dm)])
        R["d_tier_durable"] = {"accounts": len(denvs), "seconds": secs, "per_s": per_second(len(denvs), secs),
                               "what": "durable_rules matcher + driver on the same env dicts"}
        R["d_tier_durable_agreement"] = {"compared": len(denvs), "mismatches": _mis(got, want_rows[:durable_n])}
    except ImportError as e:
        R["d_tier_durable"] = {"per_s": None, "what": f"not available: {e}"}
    say("(d) done")


def _refs(e: Expr) -> list[str]:
    return [x.key for x in _walk(e) if isinstance(x, Ref) and x.kind == "field"]


def _known(c: Column, i: int) -> bool:
    return c.known is None or bool(c.known[i])


def _mis(got: list[Any], want: list[Any]) -> int:
    return sum(a != b for a, b in zip(got, want, strict=False))


# ---- report ------------------------------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> str:
    """How many times faster ``a`` is than ``b`` (below 1: slower)."""
    if not a or not b:
        return "n/a"
    r = a / b
    return f"{r:,.1f}x" if r >= 1 else f"{r:.3f}x"


def _rate(per_s: float | None) -> str:
    return f"{per_s:,.0f}" if per_s else "n/a"


RATIOS = [
    ("vector_full_vs_decide", "a_vector_full", "b_rowwise_decide"),
    ("vector_full_vs_decide_trace", "a_vector_full", "b_rowwise_decide_trace"),
    ("vector_full_vs_decide_many", "a_vector_full", "b_rowwise_decide_many"),
    ("vector_full_vs_driver", "a_vector_full", "b_rowwise_driver"),
    ("vector_full_vs_durable", "a_vector_full", "c_durable_decide"),
    ("rowwise_decide_vs_durable", "b_rowwise_decide", "c_durable_decide"),
    ("tier_vector_vs_zen", "d_tier_vector", "d_tier_zen"),
    ("tier_vector_vs_zen_batch", "d_tier_vector", "d_tier_zen_batch"),
    ("tier_vector_vs_durable", "d_tier_vector", "d_tier_durable"),
    ("tier_vector_vs_ifchain", "d_tier_vector", "d_tier_ifchain"),
    ("tier_rowwise_vs_zen", "d_tier_rowwise", "d_tier_zen"),
    ("tier_rowwise_vs_zen_batch", "d_tier_rowwise", "d_tier_zen_batch"),
    ("tier_rowwise_vs_durable", "d_tier_rowwise", "d_tier_durable"),
    ("tier_rowwise_vs_ifchain", "d_tier_rowwise", "d_tier_ifchain"),
]


def ratios(res: dict[str, Any]) -> dict[str, float | None]:
    R = res["results"]
    out: dict[str, float | None] = {}
    for name, a, b in RATIOS:
        pa, pb = R.get(a, {}).get("per_s"), R.get(b, {}).get("per_s")
        out[name] = pa / pb if pa and pb else None
    return out


def print_table(res: dict[str, Any]) -> None:
    m = res["machine"]
    R = res["results"]
    print()
    print(f"machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, numpy {m['versions']['numpy']}, "
          f"zen-engine {m['versions']['zen']}, durable_rules {m['versions']['durable']}")
    print(f"portfolio: {res['accounts']:,} synthetic accounts (seed {res['seed']}), policy {res['policy']}")
    print()

    def rate(key: str) -> float | None:
        v = R.get(key, {}).get("per_s")
        return float(v) if v else None

    vec = rate("a_vector_full")
    rows = [("a_vector_full", "(a) full policy, vectorised"),
            ("a_vector_full_given_stats", "(a) full policy, vectorised, stored stats"),
            ("b_rowwise_decide", "(b) full policy, Policy.decide (dict, no trace)"),
            ("b_rowwise_decide_trace", "(b) full policy, Policy.decide (dict, trace)"),
            ("b_rowwise_decide_account", "(b) full policy, Policy.decide (Account, no trace)"),
            ("b_rowwise_decide_many", "(b) full policy, decide_many (dicts, no trace)"),
            ("b_rowwise_driver", "(b) full policy, driver only (env dicts)"),
            ("c_durable_decide", "(c) full policy, engine=durable")]
    print(f"{'full policy':52s} {'accounts/s':>14s} {'n':>10s} {'vector is':>11s}")
    for key, label in rows:
        r = R.get(key)
        if r is None:
            continue
        ps = r.get("per_s")
        print(f"{label:52s} {_rate(ps):>14s} {r.get('accounts', ''):>10} "
              f"{_ratio(vec, ps) if key != 'a_vector_full' else '':>11s}")
    print()
    tv, tr = rate("d_tier_vector"), rate("d_tier_rowwise")
    print(f"{'tier table alone':52s} {'accounts/s':>14s} {'n':>10s} {'vector is':>11s} {'row-wise is':>11s}")
    for key, label in (("d_tier_vector", "accountrules vectorised"),
                       ("d_tier_rowwise", "accountrules row-wise compiled"),
                       ("d_tier_ifchain", "hand-written Python if-chain"), ("d_tier_zen", "zen-engine (per call)"),
                       ("d_tier_zen_batch", "zen-engine (evaluate_batch)"), ("d_tier_durable", "durable_rules")):
        r = R.get(key)
        if r is None:
            continue
        ps = r.get("per_s")
        print(f"{label:52s} {_rate(ps):>14s} {r.get('accounts', ''):>10} "
              f"{_ratio(tv, ps) if key != 'd_tier_vector' else '':>11s} "
              f"{_ratio(tr, ps) if key != 'd_tier_rowwise' else '':>11s}")
    print()
    for key in ("e_latency_dict_trace", "e_latency_account_trace", "e_latency_account_notrace"):
        r = R[key]
        print(f"{r['what']:60s} p50 {r['p50_us']:8.1f} us  p99 {r['p99_us']:8.1f} us  ({r['calls']:,} calls)")
    f = R["f_memory"]
    print(f"memory: vectorised run peak {f['tracemalloc_peak_mb']:,.0f} MB (tracemalloc, "
          f"{f['tracemalloc_per_account_bytes']:,.0f} B/account); process ru_maxrss {f['ru_maxrss_mb']:,.0f} MB")
    for key, r in R.items():
        if key.endswith("agreement") and r.get("mismatches"):
            print(f"DISAGREEMENT {key}: {r}")
    for note in res["notes"]:
        print("note:", note)
    print(f"total {res.get('total_seconds', 0):.0f} s")


if __name__ == "__main__":
    main()
