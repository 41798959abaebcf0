"""The Markdown tables ``benchmarks/run.py`` prints (docs/performance.md quotes them verbatim)."""

from __future__ import annotations

from typing import Any

TARGET_BATCH = 250_000
TARGET_LINEAR = 1.3
TARGET_P50_US = 30.0
TARGET_ZEN_BATCH, TARGET_DURABLE_BATCH, TARGET_SINGLE = 40.0, 10.0, 5.0
TARGET_BYTES = 1024
TARGET_RSS_GROWTH = 1.3


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _x(r: float | None) -> str:
    if r is None:
        return "n/a"
    return f"{r:,.1f}×" if r >= 0.95 else f"{r:.2f}×"


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**not met**")


def _first(rows: list[dict[str, Any]], key: str) -> Any:
    """The first of ``rows``' values of ``key`` (the same in every row that has it), or None."""
    return next((r[key] for r in rows if key in r), None)


def _interleaved(row: dict[str, Any]) -> str:
    return "yes" if row.get("interleaved") else "no"


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    v = m["versions"]
    out = [
        f"Measured {m['date']} at commit {m['commit']} ({res['mode']} mode, median of {res['reps']} repetitions): "
        f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, accountrules {v['accountrules']}, "
        f"numpy {v['numpy']}, pyarrow {v['pyarrow']}, pandas {v['pandas']}, zen-engine {v['zen-engine']}, "
        f"durable_rules {v['durable_rules']}. accounts/s = accounts per CPU second of the whole process "
        "(all threads); wall-clock rate alongside. Load average (1 min) "
        f"{m['load_average'][0]:.1f} at the start, {m.get('load_average_end', [float('nan')])[0]:.1f} at the end.",
        "",
        "Engines: " + ", ".join(f"`{e}` {'available' if s == 'ok' else '(' + s + ')'}"
                                for e, s in res.get("engines", {}).items()) + ".",
        "",
    ]
    targets: list[tuple[str, str, bool | None]] = []

    if res.get("batch"):
        out += ["### Full express policy: `policy.decide_many(source, engine=E, trace=False).to_arrow()`", ""]
        window = _first(res["batch"], "window_s")
        if window is not None:
            out += [f"Engines that decide the whole batch are timed on every input with their repetitions "
                    f"interleaved, each at least {window:g} s of CPU (interleaved: yes); the others on a few "
                    f"hundred rows, one input after another (interleaved: no). The targets read `auto`, the "
                    f"engine a batch runs on when none is named.", ""]
        out += ["| engine | input | interleaved | accounts | accounts/s (CPU) | accounts/s (wall) |",
                "|---|---|---|---:|---:|---:|"]
        for r in res["batch"]:
            out.append(f"| `{r['engine']}` | {r['input']} | {_interleaved(r)} | "
                       f"{_n(r['n'])} | {_n(r['per_cpu_s'])} | {_n(r['per_wall_s'])} |")
        out.append("")
        for source in dict.fromkeys(r["input"] for r in res["batch"]):
            # the default engine's figure, not the best of several: of two engines running the same code
            # the luckier would be the one quoted
            auto = [r for r in res["batch"] if r["input"] == source and r["engine"] == "auto"]
            if auto:
                targets.append((f"decide_many from {source} ≥ {_n(TARGET_BATCH)}/s",
                                f"{_n(auto[0]['per_cpu_s'])}/s (`auto`)", auto[0]["per_cpu_s"] >= TARGET_BATCH))
            else:
                targets.append((f"decide_many from {source} ≥ {_n(TARGET_BATCH)}/s", "`auto` not measured", None))

    if res.get("linearity"):
        out += ["### Linearity: CPU µs per account, `decide_many(pyarrow Table)`", "",
                "| engine | small | µs/account | large | µs/account | large / small |",
                "|---|---:|---:|---:|---:|---:|"]
        for r in res["linearity"]:
            s = r["small"]
            if "large" in r:
                lg = r["large"]
                us_s, us_l = s["cpu_s_median"] / s["n"] * 1e6, lg["cpu_s_median"] / lg["n"] * 1e6
                out.append(f"| `{r['engine']}` | {_n(s['n'])} | {us_s:.2f} | {_n(lg['n'])} | {us_l:.2f} | "
                           f"{r['ratio']:.2f} |")
                targets.append((f"linear: per-account cost large/small ≤ {TARGET_LINEAR} (`{r['engine']}`)",
                                f"{r['ratio']:.2f}", r["ratio"] <= TARGET_LINEAR))
            else:
                out.append(f"| `{r['engine']}` | {_n(s['n'])} | {s['cpu_s_median'] / s['n'] * 1e6:.2f} | "
                           f"skipped: {r['skipped']} | | |")
        out.append("")

    if res.get("single"):
        out += ["### One account, full express policy: `policy.decide(dict, portfolio=stats, engine=E, trace=T)`", "",
                "Engines that decide one account in under a millisecond are timed interleaved, block by block "
                "(as the peers' single calls below); the others after them, one pass each (interleaved: no).", "",
                "| engine | trace | interleaved | calls | p50 µs | p99 µs | CPU µs/call |",
                "|---|---|---|---:|---:|---:|---:|"]
        for r in res["single"]:
            out.append(f"| `{r['engine']}` | {r['trace']} | {_interleaved(r)} | "
                       f"{_n(r['calls'])} | {r['p50_us']:.1f} | "
                       f"{r['p99_us']:.1f} | {r['cpu_us_per_call']:.1f} |")
            if r["trace"] and r["engine"] in ("compiled", "auto"):
                targets.append((f"decide() with trace p50 ≤ {TARGET_P50_US:g} µs (`{r['engine']}`)",
                                f"{r['p50_us']:.1f} µs", r["p50_us"] <= TARGET_P50_US))
        out.append("")

    if res.get("peers_batch"):
        out += _peers(res, targets)

    if res.get("memory"):
        out += ["### Memory held by a batch's results: `r = policy.decide_many(pyarrow Table, trace=False)`", "",
                "| engine | accounts | Python heap held, B/account | Arrow buffers held, B/account | "
                "Python heap peak, B/account |", "|---|---:|---:|---:|---:|"]
        for r in res["memory"]:
            held = r["python_bytes_per_account"] + r["arrow_bytes_per_account"]
            out.append(f"| `{r['engine']}` | {_n(r['n'])} | {_n(r['python_bytes_per_account'])} | "
                       f"{_n(r['arrow_bytes_per_account'])} | {_n(r['peak_python_bytes_per_account'])} |")
            targets.append((f"results ≤ {TARGET_BYTES} B/account beyond the input (`{r['engine']}`)",
                            f"{_n(held)} B", held <= TARGET_BYTES))
        out.append("")

    if res.get("cli"):
        out += ["### Streaming command: `accountrules decide rulesets/express accounts.csv -o out.csv [--engine E]`",
                "", "| engine | rows | wall s | rows/s (wall) | CPU s | peak RSS MB |",
                "|---|---:|---:|---:|---:|---:|"]
        by: dict[str, list[dict[str, Any]]] = {}
        for r in res["cli"]:
            by.setdefault(r["engine"], []).append(r)
            out.append(f"| `{r['engine']}` | {_n(r['rows'])} | {r['wall_s']:.1f} | {_n(r['rows'] / r['wall_s'])} | "
                       f"{r['cpu_s']:.1f} | {_n(r['max_rss_mb'])} |")
        out.append("")
        full = res.get("cli_full_chunks", 0)
        for engine, rows in by.items():
            base = next((r for r in rows if r["rows"] >= full), None)
            top = rows[-1]
            if base is not None and top is not base:
                growth = top["max_rss_mb"] / base["max_rss_mb"]
                per_row = (top["max_rss_mb"] - base["max_rss_mb"]) * 2**20 / (top["rows"] - base["rows"])
                targets.append((f"CLI RSS flat in rows (`{engine}`, {_n(base['rows'])} → {_n(top['rows'])})",
                                f"×{growth:.2f} ({per_row:+,.0f} B per added row)", growth <= TARGET_RSS_GROWTH))

    if targets:
        out += ["### Targets (issue 8)", "", "| target | measured | |", "|---|---|---|"]
        out += [f"| {t} | {m} | {_met(ok)} |" for t, m, ok in targets]
        out.append("")
    for note in res.get("notes", []):
        out.append(f"- note: {note}")
    out.append(f"\n_{res.get('total_seconds', 0):.0f} s in all._")
    return "\n".join(out)


def _peers(res: dict[str, Any], targets: list[tuple[str, str, bool | None]]) -> list[str]:
    batch, single = res["peers_batch"], res.get("peers_single", [])
    ours = [r for r in batch if r["who"] == "accountrules"]
    # the row the pairs were made with: the first engine timed (run.py: `auto`; alone, it has no pairs)
    paired = _first(batch, "paired_with")
    base = next((r for r in ours if r["call"] == paired), ours[0] if ours else None)
    window = _first(batch, "window_s")
    out = ["### The express tier table, identical rows and inputs, public calls", "",
           f"Batch (the same accounts to every engine, the repetitions interleaved, each at least "
           f"{window if window is not None else '?'} s of CPU; accountrules is = this engine's CPU time per account / "
           f"`{base['call'] if base else '?'}`'s in the same repetition, median over repetitions; of the "
           "medians = the ratio of the two medians):", "",
           "| engine | call | accounts | reps | accounts/s (CPU) | accounts/s (wall) | accountrules is (CPU) | "
           "of the medians (CPU) | of the medians (wall) | mismatches |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in batch:
        rc = base["per_cpu_s"] / r["per_cpu_s"] if base and r is not base else None
        rw = base["per_wall_s"] / r["per_wall_s"] if base and r is not base else None
        ratio = r.get("paired_ratio", rc)
        out.append(f"| {r['who']} | `{r['call']}` | {_n(r['n'])} | {r.get('reps', '')} | {_n(r['per_cpu_s'])} | "
                   f"{_n(r['per_wall_s'])} | {_x(ratio) if ratio else '—'} | {_x(rc) if rc else '—'} | "
                   f"{_x(rw) if rw else '—'} | {r['mismatches']} |")
        if base and r["who"] == "zen-engine":
            targets.append((f"tier table batch ≥ {TARGET_ZEN_BATCH:g}× zen-engine", _x(ratio),
                            (ratio or 0) >= TARGET_ZEN_BATCH))
        if base and r["who"] == "durable_rules":
            targets.append((f"tier table batch ≥ {TARGET_DURABLE_BATCH:g}× durable_rules", _x(ratio),
                            (ratio or 0) >= TARGET_DURABLE_BATCH))
    block = _first(single, "block")
    out += ["", f"One account, the engines' calls interleaved block by block of {block or '?'} accounts, each "
            "block run bare for its CPU time and again with a clock read around each call for p50/p99 "
            "(CPU µs/call = median over blocks; accountrules is = this engine's CPU time per call / "
            "accountrules `decide(dict, trace=False)`'s on the same block, median over blocks; of the "
            "medians = the ratio of the two medians):", "",
            "| engine | call | calls | p50 µs | p99 µs | CPU µs/call | accountrules is | of the medians |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    base = next((r for r in single if r["who"] == "accountrules" and "trace=False" in r["call"]), None)
    for r in single:
        peer = base is not None and r["who"] != "accountrules"
        of_medians = r["cpu_us_per_call"] / base["cpu_us_per_call"] if peer and base else None
        ratio = r.get("paired_ratio", of_medians) if peer else None
        out.append(f"| {r['who']} | `{r['call']}` | {_n(r['calls'])} | {r['p50_us']:.1f} | {r['p99_us']:.1f} | "
                   f"{r['cpu_us_per_call']:.1f} | {_x(ratio) if ratio else '—'} | "
                   f"{_x(of_medians) if of_medians else '—'} |")
        if ratio is not None:
            targets.append((f"tier table single ≥ {TARGET_SINGLE:g}× {r['who']}", _x(ratio), ratio >= TARGET_SINGLE))
    out.append("")
    return out
