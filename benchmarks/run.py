"""accountrules performance, public calls end to end, side by side in one process.

    python benchmarks/run.py --quick                 # small sizes, about two minutes
    python benchmarks/run.py                         # the sizes docs/performance.md quotes
    python benchmarks/run.py --json out.json --md out.md

Every figure times a public call from its input to its output: ``accountrules.load_policy``,
``Policy.decide``, ``Policy.decide_many(...).to_arrow()`` and the ``accountrules decide`` command;
nothing under ``accountrules.*`` is imported beyond the top-level package. Engine names are
discovered at run time (each candidate is tried on a few rows). All timings use the same
repetitions and statistic (median of ``--reps``; CPU time of the whole process, so a peer that
uses several threads is charged for all of them; wall time is printed alongside). Peers
(GoRules zen-engine, durable_rules) run on the identical tier table with identical inputs.
Sections:
  batch      decide_many of the full rulesets/express from a CSV file (every text cell quoted, and
             the same rows quoted only where needed, as Excel and pandas write them), a pyarrow
             Table and a pandas DataFrame to a pyarrow Table of flat results, per engine;
  linearity  CPU µs per account at the small and the large size (Table input);
  single     Policy.decide(dict, portfolio=stats, trace=True) p50/p99 over distinct accounts;
  peers      the express tier table: decide_many vs zen evaluate_batch vs durable post per
             account; decide vs one zen evaluate vs one durable post;
  memory     bytes per account a BatchResult holds (tracemalloc + Arrow buffers);
  cli        the peak RSS and CPU time of `accountrules decide` on CSV files of three sizes, each
             run as its own process (see CLI_FULL_CHUNKS for the sizes the flat target compares).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import portfolio  # noqa: E402
import report  # noqa: E402
import tiers  # noqa: E402
from timing import (  # noqa: E402
    MIN_WINDOW_S,
    compile_package,
    interleaved_latency,
    interleaved_measure,
    latency,
    measure,
    measure_sizes,
    run_child,
)

import accountrules  # noqa: E402

AS_OF = dt.date(2026, 6, 30)
CANDIDATES = ("compiled", "vector", "auto", "durable")
# engines that evaluate one account at a time through durable_rules: timed on fewer rows
SLOW = {"durable"}
# accounts per block of the peers' interleaved single calls: each engine's block lasts milliseconds, far
# shorter than the machine's drift, and long enough that switching engines is not what is measured
SINGLE_BLOCK = 500
# an engine whose one-account decide() takes longer than this (a batch of one, durable_rules) is timed
# on its own after the others, not in their interleaved blocks
SINGLE_INTERLEAVED_S = 0.001

SIZES = {  # quick, full
    "batch": (20_000, 200_000),
    "slow_batch": (300, 2_000),
    "linear": ((5_000, 50_000), (100_000, 1_000_000)),
    "single_calls": (500, 2_000),
    "stats_accounts": (5_000, 20_000),
    "peers_batch": (5_000, 50_000),
    "peers_single": (2_000, 2_000),
    "memory": (20_000, 100_000),
    "cli": ((5_000, 50_000, 200_000), (5_000, 50_000, 500_000)),
}
# The "RSS flat in rows" target compares the command's peak RSS from the first file of at least this
# many rows to the largest: below it a file is one partly filled CSV block (1 MB, about 5,500 rows of
# benchmarks/portfolio.py) and pyarrow's read-ahead (up to 32 blocks) is the whole file, so the
# per-chunk working set is not yet at its size and a smaller file would flatter nothing but the
# startup. Every size is printed; the ratio from the smallest is in the JSON as well.
CLI_FULL_CHUNKS = 50_000
# the same rows as "CSV file" (pyarrow's writer: every text cell quoted), written as Excel or pandas write
# them: quoted only where a cell needs it, here nowhere
PLAIN_CSV = "CSV file, no quotes"


def machine() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in ("accountrules", "numpy", "pyarrow", "pandas", "zen-engine", "durable_rules"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = "absent"
    git = "unknown"
    head = shutil.which("git")
    if head:
        import subprocess

        out = subprocess.run([head, "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        git = out.stdout.strip() or "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "versions": versions, "commit": git, "load_average": os.getloadavg(),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}


def discover(policy: accountrules.Policy, table: Any) -> dict[str, str]:
    """``{engine: "ok" or why not}`` for every name the registry or the candidates list offers."""
    names: list[str] = []
    for holder in (accountrules, getattr(accountrules, "batch", None), policy):
        found = getattr(holder, "ENGINES", None) or getattr(holder, "engines", None)
        if callable(found):
            found = found()
        for name in found or ():
            if isinstance(name, str) and name not in names:
                names.append(name)
    names += [c for c in CANDIDATES if c not in names]
    out = {}
    for name in names:
        try:
            policy.decide_many(table, as_of=AS_OF, engine=name, trace=False).to_arrow()
            out[name] = "ok"
        except Exception as e:  # an unknown or unavailable engine: recorded, not fatal
            out[name] = f"{type(e).__name__}: {e}"
    return out


class Bench:
    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.q = 0 if args.quick else 1
        self.reps: int = args.reps
        self.res: dict[str, Any] = {"machine": machine(), "mode": "quick" if args.quick else "full",
                                    "reps": args.reps, "as_of": AS_OF.isoformat(), "notes": []}
        self.t0 = time.perf_counter()
        self.policy = accountrules.load_policy(args.policy)
        self._tables: dict[int, Any] = {}

    def size(self, key: str) -> Any:
        return SIZES[key][self.q]

    def say(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] {msg}", file=sys.stderr, flush=True)

    def note(self, msg: str) -> None:
        self.res["notes"].append(msg)
        self.say("note: " + msg)

    def table(self, n: int) -> Any:
        if n not in self._tables:
            self._tables[n] = portfolio.to_table(portfolio.make_columns(n, self.args.seed, AS_OF))
        return self._tables[n]

    def csv(self, n: int, plain: bool = False) -> Path:
        path = self.tmp / f"accounts_{n}{'_plain' if plain else ''}.csv"
        if not path.exists():
            (portfolio.write_plain_csv if plain else portfolio.write_csv)(self.table(n), path)
        return path

    def decide_many(self, engine: str) -> Callable[[Any], Any]:
        policy = self.policy

        def call(source: Any) -> Any:
            return policy.decide_many(source, as_of=AS_OF, engine=engine, trace=False).to_arrow()

        return call

    # ---- sections --------------------------------------------------------------------------------

    def engines(self) -> list[str]:
        found = discover(self.policy, self.table(200))
        self.res["engines"] = found
        self.say(f"engines: {found}")
        return [e for e, status in found.items() if status == "ok"]

    def batch(self, engines: list[str]) -> None:
        out = self.res.setdefault("batch", [])
        n = self.size("batch")
        table = self.table(n)
        sources: dict[str, Callable[[], Any]] = {"CSV file": lambda: str(self.csv(n)),
                                                 PLAIN_CSV: lambda: str(self.csv(n, plain=True)),
                                                 "pyarrow Table": lambda: table}
        try:
            frame = table.to_pandas()
            sources["pandas DataFrame"] = lambda: frame
        except ImportError as e:
            self.note(f"pandas absent: {e}")
        # every engine on every input, their repetitions interleaved (timing.interleaved_measure), so that
        # every engine meets the same states of the machine: passes one after the other read 158k/s and
        # 253k/s for `vector` and `auto` on the same CSV file, the same code for a batch (thirteenth round, Q5)
        fast: dict[tuple[str, str], tuple[Callable[[Any], Any], Any]] = {}
        for engine in engines:
            for label, source in sources.items():
                if engine in SLOW:  # a few hundred rows, one pass each: they are not the figures compared
                    rows = min(n, self.size("slow_batch"))
                    call = self.decide_many(engine)
                    t = measure(call, rows, self.reps, setup=functools.partial(_same, self._slice(label, rows)),
                                warmup=functools.partial(call, self._slice(label, 1_000)))
                    out.append({"engine": engine, "input": label, "interleaved": False, **t.to_dict()})
                    self.say(f"batch {engine:9s} {label:17s} {rows:>9,} rows {t.per_s:>12,.0f}/s cpu")
                else:
                    fast[engine, label] = (self.decide_many(engine), source())
        timings, _ = interleaved_measure(fast, n, self.reps) if fast else ({}, {})
        for (engine, label), t in timings.items():
            out.append({"engine": engine, "input": label, "interleaved": True, "window_s": MIN_WINDOW_S, **t.to_dict()})
            self.say(f"batch {engine:9s} {label:17s} {n:>9,} rows {t.per_s:>12,.0f}/s cpu")

    def _slice(self, label: str, rows: int) -> Any:
        table = self.table(rows)
        if label in ("CSV file", PLAIN_CSV):
            return str(self.csv(rows, plain=label == PLAIN_CSV))
        return table.to_pandas() if label == "pandas DataFrame" else table

    def linearity(self, engines: list[str]) -> None:
        out = self.res.setdefault("linearity", [])
        small, large = self.size("linear")
        for engine in (e for e in engines if e not in SLOW):
            call = self.decide_many(engine)
            probe = measure(call, small, 1, setup=lambda: self.table(small), warmup=lambda: None)
            projected = probe.wall_s * large / small
            row: dict[str, Any] = {"engine": engine}
            if projected > self.args.max_run:
                row["small"] = probe.to_dict()
                row["skipped"] = f"projected {projected:,.0f} s per run > --max-run {self.args.max_run:g}"
                self.note(f"linearity {engine}: {row['skipped']}")
            else:
                # interleaved: the two sizes see the same machine (see timing.measure_sizes)
                t_small, t_large = measure_sizes(call, small, large, self.reps, setup=self.table)
                row["small"] = t_small.to_dict()
                row["large"] = t_large.to_dict()
                row["ratio"] = t_large.us_each / t_small.us_each
                self.say(f"linearity {engine}: {t_small.us_each:.2f} -> {t_large.us_each:.2f} us/account "
                         f"(x{row['ratio']:.2f})")
            out.append(row)
        self._tables.pop(large, None)

    def single(self) -> None:
        out = self.res.setdefault("single", [])
        policy = self.policy
        pool = [portfolio.nest(r) for r in self.table(self.size("stats_accounts")).to_pylist()]
        stats = policy.portfolio_stats(pool, as_of=AS_OF)
        accounts = pool[: self.size("single_calls")]
        # every name discovery saw, working for decide_many or not: decide may accept other names
        quick: dict[tuple[str, bool], tuple[Callable[[Any], Any], Sequence[Any]]] = {}
        slow: list[tuple[str, bool, Callable[[Any], Any]]] = []
        for engine in dict.fromkeys([*self.res.get("engines", {}), *CANDIDATES]):
            for trace in (True, False):
                def call(a: Any, engine: str = engine, trace: bool = trace) -> Any:
                    return policy.decide(a, as_of=AS_OF, portfolio=stats, engine=engine, trace=trace)

                try:
                    c0 = time.process_time()
                    for a in accounts[:10]:
                        call(a)
                    each = (time.process_time() - c0) / 10
                except Exception as e:  # this engine does not decide single accounts (or is absent)
                    if trace:
                        self.note(f"decide(engine={engine!r}) not measured: {type(e).__name__}: {e}")
                    break
                if engine in SLOW or each > SINGLE_INTERLEAVED_S:
                    slow.append((engine, trace, call))
                else:
                    quick[engine, trace] = (call, accounts)
        # the per-account engines side by side, block by block: timed one after the other in a quick block,
        # `auto` (for one account the same call as `compiled`) read 94 us p50 and `compiled` 55
        lats, _ = interleaved_latency(quick, self.reps, block=SINGLE_BLOCK) if quick else ({}, {})
        for (engine, trace), lat in lats.items():
            out.append({"engine": engine, "trace": trace, "interleaved": True, **lat.to_dict()})
            self.say(f"decide {engine} trace={trace}: p50 {lat.p50_us:.1f} us, p99 {lat.p99_us:.1f} us")
        for engine, trace, one in slow:
            lat = latency(one, accounts, self.reps if engine not in SLOW else 1)
            out.append({"engine": engine, "trace": trace, "interleaved": False, **lat.to_dict()})
            self.say(f"decide {engine} trace={trace}: p50 {lat.p50_us:.1f} us, p99 {lat.p99_us:.1f} us")

    def peers(self, engines: list[str]) -> None:
        p = tiers.params(Path(self.args.policy))
        tpol = accountrules.load_policy(tiers.write_policy(p, self.tmp / "express_tiers.yaml"))
        n = self.size("peers_batch")
        accounts = tiers.nested_accounts(tiers.flat_inputs(n, self.args.seed), n)
        want = tpol.decide_many(accounts, as_of=AS_OF, trace=False).columns()["tier"]
        batch: list[dict[str, Any]] = self.res.setdefault("peers_batch", [])
        single: list[dict[str, Any]] = self.res.setdefault("peers_single", [])
        calls = accounts[: self.size("peers_single")]

        # every engine's batch is timed at the end, their repetitions interleaved (timing.interleaved_measure);
        # the ratios pair each peer with `auto`, the default a batch runs on, in the same repetition
        ours = sorted((e for e in engines if e not in SLOW), key=lambda e: e != "auto")
        # keyed by (who, call): the rows' labels
        manys: dict[tuple[str, str], tuple[Callable[[Any], Any], Any]] = {}
        mismatches: dict[tuple[str, str], int] = {}
        for engine in ours:
            def many(src: Any, engine: str = engine) -> Any:
                return tpol.decide_many(src, as_of=AS_OF, engine=engine, trace=False).to_arrow()

            key = ("accountrules", f"decide_many(dicts, engine={engine!r}).to_arrow()")
            manys[key] = (many, accounts)
            mismatches[key] = _mis(many(accounts).column("tier").to_pylist(), want)
        # single calls too, their blocks interleaved (timing.interleaved_latency)
        ones: dict[tuple[str, str], tuple[Callable[[Any], Any], Sequence[Any]]] = {}
        for trace in (False, True):
            def one(a: Any, trace: bool = trace) -> Any:
                return tpol.decide(a, as_of=AS_OF, trace=trace)

            ones["accountrules", f"decide(dict, trace={trace})"] = (one, calls)

        why = tiers.zen_available()
        if why is None:
            import zen

            content = json.dumps(tiers.zen_graph(p))
            eng = zen.ZenEngine({"loader": lambda key: content})
            requests = [{"key": "tiers", "context": a} for a in accounts]

            def zbatch(reqs: Any) -> Any:
                return [r["data"]["result"].get("tier") for r in eng.evaluate_batch(reqs)]

            key = ("zen-engine", "ZenEngine.evaluate_batch(requests)")
            manys[key] = (zbatch, requests)
            mismatches[key] = _mis(zbatch(requests), want)
            decision = eng.create_decision(content)
            ones["zen-engine", "ZenDecision.evaluate(dict)"] = (
                lambda a: decision.evaluate(a)["result"].get("tier"), calls)
        else:
            self.note(why)

        why = tiers.durable_available()
        if why is None:
            dur = tiers.DurableTiers(p, f"express_tiers_{os.getpid()}")
            msgs = tiers.durable_messages(accounts)
            key = ("durable_rules", "Host.post(ruleset, message) per account")
            manys[key] = (dur.post_all, msgs)
            mismatches[key] = _mis(dur.post_all(msgs), want)
            ones["durable_rules", "Host.post(ruleset, message)"] = (dur.post, msgs[: len(calls)])
        else:
            self.note(why)

        if manys:
            timings, paired = interleaved_measure(manys, n, self.reps)
            paired_with = next(iter(manys))[1]
            for key, t in timings.items():
                who, call = key
                row = {"who": who, "call": call, "mismatches": mismatches[key], "window_s": MIN_WINDOW_S, **t.to_dict()}
                if key in paired:
                    row["paired_ratio"] = paired[key]
                    row["paired_with"] = paired_with
                batch.append(row)
                self.say(f"peers batch {who} {call}: {t.per_s:,.0f}/s")
        lats, ratios = interleaved_latency(ones, self.reps, block=SINGLE_BLOCK)
        for key, lat in lats.items():
            who, call = key
            row = {"who": who, "call": call, **lat.to_dict()}
            if key in ratios:
                row["paired_ratio"] = ratios[key]
            row["block"] = SINGLE_BLOCK
            single.append(row)
            self.say(f"peers single {who} {call}: {lat.cpu_us:.1f} us CPU a call")

    def memory(self, engines: list[str]) -> None:
        out = self.res.setdefault("memory", [])
        n = self.size("memory")
        table = self.table(n)
        try:
            import pyarrow as pa
        except ImportError:
            return
        for engine in (e for e in engines if e not in SLOW):
            self.policy.decide_many(self.table(1_000), as_of=AS_OF, engine=engine, trace=False)
            arrow0 = pa.total_allocated_bytes()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            result = self.policy.decide_many(table, as_of=AS_OF, engine=engine, trace=False)
            held, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            arrow = pa.total_allocated_bytes() - arrow0
            out.append({"engine": engine, "n": n, "python_bytes_per_account": (held - before) / n,
                        "arrow_bytes_per_account": arrow / n, "peak_python_bytes_per_account": (peak - before) / n})
            del result
            self.say(f"memory {engine}: {(held - before) / n:,.0f} B/account python + {arrow / n:,.0f} arrow")

    def cli(self, engines: list[str]) -> None:
        out = self.res.setdefault("cli", [])
        exe = shutil.which("accountrules", path=str(Path(sys.executable).parent)) or shutil.which("accountrules")
        if exe is None:
            self.note("the accountrules command is not installed: CLI not measured")
            return
        sizes = self.size("cli")
        self.res["cli_full_chunks"] = CLI_FULL_CHUNKS
        compile_package(str(Path(accountrules.__file__).parent))  # no command's figure includes compiling it
        for engine in [None, *(e for e in engines if e not in SLOW)]:
            rows: list[dict[str, Any]] = []
            for n in sizes:
                if rows and rows[-1]["wall_s"] * n / rows[-1]["rows"] > self.args.max_run:
                    self.note(f"CLI --engine {engine or '(default)'}: {n:,} rows skipped (projected "
                              f"{rows[-1]['wall_s'] * n / rows[-1]['rows']:,.0f} s > --max-run {self.args.max_run:g})")
                    break
                src = self.csv(n)
                dst = self.tmp / f"out_{engine}_{n}.csv"
                cmd = [exe, "decide", str(self.args.policy), str(src), "-o", str(dst), "--as-of", AS_OF.isoformat()]
                if engine:
                    cmd += ["--engine", engine]
                r = run_child(cmd)
                if r.returncode != 0:
                    self.note(f"CLI {' '.join(cmd[1:2] + cmd[5:])} exited {r.returncode}: {r.stderr.strip()[-300:]}")
                    break
                rows.append({"engine": engine or "(default)", "rows": n, "wall_s": r.wall_s, "cpu_s": r.cpu_s,
                             "max_rss_mb": r.max_rss_mb})
                self.say(f"cli {engine or '(default)'} {n:,}: {r.wall_s:.1f} s, RSS {r.max_rss_mb:,.0f} MB")
                dst.unlink(missing_ok=True)
            out.extend(rows)
        for n in sizes[1:]:
            self._tables.pop(n, None)


def _same(x: Any) -> Any:
    return x


def _mis(got: list[Any], want: list[Any]) -> int:
    return sum(a != b for a, b in zip(got, want, strict=True))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (about two minutes)")
    ap.add_argument("--reps", type=int, default=3, help="timed repetitions of every measurement (median)")
    ap.add_argument("--max-run", type=float, default=120.0,
                    help="skip a large-size run projected to take longer than this many seconds")
    ap.add_argument("--policy", type=Path, default=ROOT / "rulesets" / "express")
    ap.add_argument("--seed", type=int, default=20260630)
    ap.add_argument("--sections", default="batch,linearity,single,peers,memory,cli")
    ap.add_argument("--engines", default=None,
                    help="comma-separated engine names to time (default: every one discovery finds working)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    ap.add_argument("--md", type=Path, default=None, help="also write the Markdown tables to this file")
    args = ap.parse_args(argv)
    sections = set(args.sections.split(","))
    with tempfile.TemporaryDirectory(prefix="accountrules-bench-") as tmp:
        b = Bench(args, Path(tmp))
        engines = b.engines()
        if args.engines:
            engines = [e for e in engines if e in args.engines.split(",")]
        for name in ("batch", "linearity", "single", "peers", "memory", "cli"):
            if name in sections:
                b.say(f"-- {name}")
                method = getattr(b, name)
                if name == "single":
                    method()
                else:
                    method(engines)
        b.res["total_seconds"] = time.perf_counter() - b.t0
        b.res["machine"]["load_average_end"] = os.getloadavg()
    text = report.markdown(b.res)
    print(text)
    if args.md:
        args.md.write_text(text, encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(b.res, indent=1, default=str), encoding="utf-8")
    return b.res


if __name__ == "__main__":
    main()
