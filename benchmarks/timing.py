"""Even-handed timing: every engine and every call gets the same repetitions and the same statistic.

A measurement runs ``setup`` (untimed), then the call, ``reps`` times after one untimed warm-up,
with the garbage of the previous repetition collected first. CPU time (``time.process_time``,
all threads of the process, so a peer that fans out over cores is charged for every core it
uses) and wall time are both kept; figures are the median of the repetitions.
"""

from __future__ import annotations

import gc
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar


@dataclass
class Timing:
    n: int
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    @property
    def cpu_s(self) -> float:
        return statistics.median(self.cpu)

    @property
    def wall_s(self) -> float:
        return statistics.median(self.wall)

    @property
    def per_s(self) -> float:
        """Accounts (or calls) per CPU second."""
        return self.n / self.cpu_s if self.cpu_s > 0 else float("inf")

    @property
    def per_wall_s(self) -> float:
        return self.n / self.wall_s if self.wall_s > 0 else float("inf")

    @property
    def us_each(self) -> float:
        """CPU microseconds per account (or call)."""
        return self.cpu_s / self.n * 1e6

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "reps": len(self.cpu), "cpu_s_median": self.cpu_s, "wall_s_median": self.wall_s,
                "per_cpu_s": self.per_s, "per_wall_s": self.per_wall_s, "cpu_s": self.cpu, "wall_s": self.wall}


def measure(call: Callable[[Any], Any], n: int, reps: int, setup: Callable[[], Any] | None = None,
            warmup: Callable[[], Any] | None = None) -> Timing:
    """Time ``call(setup())`` ``reps`` times; ``warmup`` (default: one full call) runs first, untimed."""
    if warmup is not None:
        warmup()
    else:
        call(setup() if setup else None)
    t = Timing(n)
    for _ in range(reps):
        arg = setup() if setup else None
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        result = call(arg)
        c1, w1 = time.process_time(), time.perf_counter()
        del result, arg  # freeing the result is not timed, for anyone
        t.cpu.append(c1 - c0)
        t.wall.append(w1 - w0)
    return t


def measure_sizes(call: Callable[[Any], Any], small: int, large: int, reps: int,
                  setup: Callable[[int], Any]) -> tuple[Timing, Timing]:
    """The same call at two sizes, interleaved: each repetition times ``large // small`` calls at the
    small size back to back (each call's ``setup`` untimed; the repetition's figure is their mean) and
    one call at the large size, the order alternating from one repetition to the next.

    On a machine whose speed drifts over tens of seconds, two sizes timed one after the other compare
    the drift (one run printed 0.98 and 1.45 for two engines running the same code); interleaved, and
    each repetition spending about as long on either size, both see the same machine."""
    times = max(1, large // small)
    call(setup(small))  # warm-up, untimed
    t_small, t_large = Timing(small), Timing(large)

    def one(n: int, count: int, into: Timing) -> None:
        cpu = wall = 0.0
        for _ in range(count):
            arg = setup(n)
            gc.collect()
            c0, w0 = time.process_time(), time.perf_counter()
            result = call(arg)
            c1, w1 = time.process_time(), time.perf_counter()
            del result, arg
            cpu, wall = cpu + c1 - c0, wall + w1 - w0
        into.cpu.append(cpu / count)
        into.wall.append(wall / count)

    for rep in range(reps):
        order = [(small, times, t_small), (large, 1, t_large)]
        for n, count, into in (order if rep % 2 == 0 else order[::-1]):
            one(n, count, into)
    return t_small, t_large


# an engine's name in the interleaved timers: any key the caller reads back (a name, a tuple of labels)
K = TypeVar("K", bound=Hashable)

# the shortest stretch of CPU time one repetition of interleaved_measure times: a call shorter than
# this is repeated back to back within the repetition, so no engine's figure rests on a few milliseconds
MIN_WINDOW_S = 0.2


def interleaved_measure(calls: dict[K, tuple[Callable[[Any], Any], Any]], n: int, reps: int,
                        min_window_s: float = MIN_WINDOW_S) -> tuple[dict[K, Timing], dict[K, float]]:
    """Batch calls of several engines on the same ``n`` accounts, their repetitions interleaved:
    ``calls`` maps a name to its call and its argument (the accounts in that engine's shape).

    An untimed first call of each warms it up and sizes its window: a repetition runs the call back to
    back as many times as fill at least ``min_window_s`` of CPU time (at least once; the same rule for every
    engine, as ``timeit`` sizes its loops), the results kept until the window closes so that freeing
    them is not timed, for anyone. The engine that goes first rotates from one repetition to the next.
    A repetition's figure is its CPU (and wall) time divided by the calls it ran; each engine's turn
    starts with one more call, untimed, so that no figure includes the first call after another engine's.

    Returns each engine's :class:`Timing` and, for every engine but the first, the median over
    repetitions of (its CPU time per account / the first engine's in the same repetition): two figures
    taken within a second of each other, where passes one after the other would also compare the
    machine's drift between them, and a figure of a few milliseconds whatever the machine did in them."""
    names = list(calls)
    times: dict[K, int] = {}
    for name, (call, arg) in calls.items():
        gc.collect()
        c0 = time.process_time()
        result = call(arg)
        once = time.process_time() - c0
        del result  # freed outside the figure the window is sized by, as in the window itself
        # the next whole number of calls up: every window at least min_window_s (the thirteenth round's
        # runs took the nearest, so a batch of 0.15 s ran once a repetition)
        times[name] = max(1, math.ceil(min_window_s / once)) if once > 0 else 1
    out = {name: Timing(n) for name in names}
    for rep in range(reps):
        for name in _rotated(names, rep):
            call, arg = calls[name]
            count = times[name]
            kept: list[Any] = [None] * count
            gc.collect()
            # one untimed call first: the first call after another engine's may pay for the state that one
            # left (caches, freed memory); docs/performance.md says what prompted it and that its effect on
            # the runs was not measured
            lead = call(arg)
            del lead  # freed outside the figure too
            c0, w0 = time.process_time(), time.perf_counter()
            for i in range(count):
                kept[i] = call(arg)
            c1, w1 = time.process_time(), time.perf_counter()
            del kept
            out[name].cpu.append((c1 - c0) / count)
            out[name].wall.append((w1 - w0) / count)
    return out, _paired_ratios({name: t.cpu for name, t in out.items()})


def _rotated(names: list[K], k: int) -> list[K]:
    """``names`` starting from the ``k``-th (cyclically): who goes first in turn ``k``."""
    return names[k % len(names):] + names[:k % len(names)]


def _paired_ratios(cpus: dict[K, list[float]]) -> dict[K, float]:
    """For every engine but the first, the median over turns of its figure over the first engine's in
    the same turn (the figures of each engine listed turn by turn)."""
    names = list(cpus)
    first = cpus[names[0]]
    return {name: statistics.median(b / a for a, b in zip(first, cpus[name], strict=True) if a > 0)
            for name in names[1:]}


@dataclass
class Latency:
    calls: int
    p50_us: float
    p99_us: float
    cpu_us: float  # median over repetitions of (CPU time of the loop / calls)

    def to_dict(self) -> dict[str, Any]:
        return {"calls": self.calls, "p50_us": self.p50_us, "p99_us": self.p99_us, "cpu_us_per_call": self.cpu_us}


def latency(call: Callable[[Any], Any], args: Sequence[Any], reps: int, warm: int = 200) -> Latency:
    """One call per item of ``args`` (distinct accounts, not one account repeated), ``reps`` passes.

    p50/p99 are of the per-call wall times of every pass (``perf_counter_ns`` around each call);
    ``cpu_us`` is the median over passes of the pass's CPU time divided by its calls.
    """
    for a in args[:warm]:
        call(a)
    samples: list[int] = []
    cpu: list[float] = []
    for _ in range(reps):
        gc.collect()
        c0 = time.process_time()
        for a in args:
            t0 = time.perf_counter_ns()
            call(a)
            samples.append(time.perf_counter_ns() - t0)
        cpu.append((time.process_time() - c0) / len(args) * 1e6)
    samples.sort()
    return Latency(len(samples), samples[len(samples) // 2] / 1e3, samples[int(len(samples) * 0.99)] / 1e3,
                   statistics.median(cpu))


def interleaved_latency(engines: dict[K, tuple[Callable[[Any], Any], Sequence[Any]]], reps: int, block: int = 100,
                        warm: int = 200) -> tuple[dict[K, Latency], dict[K, float]]:
    """Single calls of several engines, their blocks interleaved: ``engines`` maps a name to its call and
    its arguments (the same accounts in each engine's shape, as many for each). Each repetition walks
    the accounts ``block`` at a time; each block is timed for every engine in turn, the engine that goes
    first rotating from one block to the next, so every engine meets the same states of the machine.

    Each engine runs a block twice in a row: bare, its CPU time taken around the block, then again with
    a clock read around each call for the latencies. The CPU figure has no clock read inside it: the
    same two reads and an append per call would weigh more on the shorter call, and so shrink the ratio
    of the faster engine.

    Returns each engine's :class:`Latency` (``cpu_us``: the median over blocks of the bare block's CPU
    time per call; p50/p99 of the per-call wall times) and, for every engine but the first, the median
    over blocks of (its CPU time per call / the first engine's on the same block): a ratio of two figures
    taken a few milliseconds apart, where two passes one after the other would also compare the machine's
    drift between them."""
    names = list(engines)
    n = min(len(args) for _, args in engines.values())
    for call, args in engines.values():
        for a in args[:warm]:
            call(a)
    walls: dict[K, list[int]] = {k: [] for k in names}
    cpus: dict[K, list[float]] = {k: [] for k in names}
    blocks = 0
    for _ in range(reps):
        gc.collect()
        for start in range(0, n, block):
            order = _rotated(names, blocks)
            blocks += 1
            for name in order:
                call, args = engines[name]
                part = args[start:start + block]
                c0 = time.process_time()
                for a in part:
                    call(a)
                cpus[name].append((time.process_time() - c0) / len(part) * 1e6)
                samples = walls[name]
                for a in part:
                    t0 = time.perf_counter_ns()
                    call(a)
                    samples.append(time.perf_counter_ns() - t0)
    out: dict[K, Latency] = {}
    for name in names:
        w = sorted(walls[name])
        out[name] = Latency(len(w), w[len(w) // 2] / 1e3, w[int(len(w) * 0.99)] / 1e3, statistics.median(cpus[name]))
    return out, _paired_ratios(cpus)


def compile_package(folder: str) -> None:
    """Every module under ``folder`` compiled into its ``__pycache__`` (``compileall`` writes only what is
    stale), before a timed process imports it. An import reads a fresh cache and otherwise compiles the
    source, in every process when it may not write the cache (PYTHONDONTWRITEBYTECODE, which the machine
    of the fifteenth round sets): a figure that times a whole process or an import would include that."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", folder], check=True, stdout=subprocess.DEVNULL)


def library_tree(src: str, script: str) -> str:
    """``src`` resolved, after checking it holds the accountrules package and compiling it
    (:func:`compile_package`): what a before/after script imports on one side. A folder without the
    package would import the installed one (an editable install: the working tree) on that side, and
    both sides would run the same code; the script exits naming it."""
    folder = Path(src).resolve()
    if not (folder / "accountrules" / "__init__.py").is_file():
        sys.exit(f"{script}: {folder} holds no accountrules package (give the src folder of a tree)")
    compile_package(str(folder))
    return str(folder)


@dataclass
class ChildRun:
    returncode: int
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    stderr: str


# Linux keeps a process's peak RSS across fork and exec, so a child forked straight from this
# (large) process would report at least this process's RSS. A small launcher forks the command
# instead and reports the command's own rusage.
_LAUNCHER = """
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, ru = os.wait4(proc.pid, 0)
print(json.dumps([os.waitstatus_to_exitcode(status), ru.ru_utime + ru.ru_stime, ru.ru_maxrss]))
"""


def run_child(cmd: list[str]) -> ChildRun:
    """Run a command; its own peak RSS and CPU time, measured by a small launcher process."""
    w0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - w0
    if done.returncode != 0 or not done.stdout.strip():
        return ChildRun(done.returncode or 1, wall, 0.0, 0.0, done.stderr[-2000:])
    code, cpu, rss_kb = json.loads(done.stdout.strip().splitlines()[-1])
    return ChildRun(int(code), wall, float(cpu), rss_kb / 1024, done.stderr[-2000:])
