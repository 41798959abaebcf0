"""The benchmark's even-handed timing (``benchmarks/timing.py``), on a fake clock.

``docs/performance.md`` quotes the ratios ``benchmarks/run.py`` prints against zen-engine and
durable_rules; the brief asks that they come from timing that is even-handed (the same repetitions
and statistic for every engine) and run side by side. These tests hold the two interleaved timers
to that on a clock the test drives: each fake engine advances it by a known cost per call, so the
figures and ratios they must print are known exactly.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench_scripts import bench_script

timing = bench_script("timing", "bench_timing")


class Clock:
    """CPU and wall time that move only when a fake engine works (or a result is freed)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.speed = 1.0  # the machine's phase: every cost is multiplied by it
        self.calls: list[str] = []

    def spend(self, seconds: float) -> None:
        self.now += seconds * self.speed

    def process_time(self) -> float:
        return self.now

    def perf_counter(self) -> float:
        return self.now

    def perf_counter_ns(self) -> int:
        return round(self.now * 1e9)


class Result:
    """What a fake call returns; freeing it costs ``free_cost`` (which no figure may include)."""

    def __init__(self, clock: Clock, free_cost: float) -> None:
        self.clock, self.free_cost = clock, free_cost

    def __del__(self) -> None:
        self.clock.spend(self.free_cost)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(timing.time, "process_time", c.process_time)
    monkeypatch.setattr(timing.time, "perf_counter", c.perf_counter)
    monkeypatch.setattr(timing.time, "perf_counter_ns", c.perf_counter_ns)
    return c


def engine(clock: Clock, name: str, cost: float, free_cost: float = 0.0) -> Any:
    def call(_: Any) -> Result:
        clock.calls.append(name)
        clock.spend(cost)
        return Result(clock, free_cost)

    return call


def test_a_batch_repetition_fills_the_same_window_for_every_engine_and_pairs_the_ratio(clock: Clock) -> None:
    # ours: 12 ms a batch of 5,000; the peer: 150 ms (the quick block's tier table against durable_rules)
    calls = {"ours": (engine(clock, "ours", 0.012, free_cost=0.5), None),
             "peer": (engine(clock, "peer", 0.150, free_cost=0.5), None)}
    timings, ratios = timing.interleaved_measure(calls, 5_000, reps=4, min_window_s=0.2)
    # one warm-up call each (its result freed outside the sizing), then per repetition one untimed lead-in
    # call and as many calls as fill at least 0.2 s: 17 of ours (0.204 s), 2 of the peer's (0.3 s)
    warm, turns = clock.calls[:2], clock.calls[2:]
    assert warm == ["ours", "peer"]
    assert turns.count("ours") == 4 * (1 + 17) and turns.count("peer") == 4 * (1 + 2)
    # the engine that goes first rotates from one repetition to the next
    ours, peer = ["ours"] * 18, ["peer"] * 3
    assert turns == ours + peer + peer + ours + ours + peer + peer + ours
    # a repetition's figure is the CPU time per call, freeing the results not included
    assert timings["ours"].cpu == pytest.approx([0.012] * 4)
    assert timings["peer"].cpu == pytest.approx([0.150] * 4)
    assert timings["ours"].per_s == pytest.approx(5_000 / 0.012)
    # the peer's CPU time per account over the first engine's: how many times faster ours is
    assert ratios == {"peer": pytest.approx(0.150 / 0.012)}


def test_what_the_engine_before_left_is_not_in_the_next_ones_figure(clock: Clock) -> None:
    # the first call after the other engine's turn costs more (its caches cold, the memory the other freed
    # to be taken again): that call is the untimed lead-in, so the figure is the engine's own cost
    last: list[str] = []

    def switching(name: str, cost: float) -> Any:
        def call(_: Any) -> Result:
            clock.calls.append(name)
            clock.spend(cost * (3.0 if last and last[-1] != name else 1.0))
            last.append(name)
            return Result(clock, 0.0)

        return call

    calls = {"ours": (switching("ours", 0.05), None), "peer": (switching("peer", 0.5), None)}
    timings, ratios = timing.interleaved_measure(calls, 1, reps=4, min_window_s=0.2)
    assert timings["ours"].cpu == pytest.approx([0.05] * 4)
    assert timings["peer"].cpu == pytest.approx([0.5] * 4)
    assert ratios == {"peer": pytest.approx(10.0)}


def test_the_paired_ratio_does_not_move_with_the_machine_between_repetitions(
        clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    # the timer collects garbage before each engine's warm-up and each engine's turn: the machine's
    # phase changes there, the same for both engines of one repetition, differently from one to the next
    speeds = iter([1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 1.5, 1.5, 3.0, 3.0])

    def collect() -> int:
        clock.speed = next(speeds)
        return 0

    monkeypatch.setattr(timing.gc, "collect", collect)
    calls = {"ours": (engine(clock, "ours", 0.05), None), "peer": (engine(clock, "peer", 0.5), None)}
    timings, ratios = timing.interleaved_measure(calls, 1, reps=4, min_window_s=0.2)
    assert timings["ours"].cpu == pytest.approx([0.05, 0.10, 0.075, 0.15])
    assert timings["peer"].cpu == pytest.approx([0.5, 1.0, 0.75, 1.5])
    assert ratios == {"peer": pytest.approx(10.0)}
    assert next(speeds, None) is None  # one phase per turn: every turn was timed after its own collection


def test_single_calls_are_timed_block_by_block_bare_and_the_ratio_is_the_peers_over_ours(clock: Clock) -> None:
    accounts = list(range(40))
    calls = {"ours": (engine(clock, "ours", 5e-6), accounts), "peer": (engine(clock, "peer", 30e-6), accounts)}
    lats, ratios = timing.interleaved_latency(calls, reps=2, block=10, warm=5)
    assert lats["ours"].cpu_us == pytest.approx(5.0) and lats["peer"].cpu_us == pytest.approx(30.0)
    assert lats["ours"].p50_us == pytest.approx(5.0) and lats["peer"].p99_us == pytest.approx(30.0)
    assert lats["ours"].calls == 2 * len(accounts)  # the clocked pass: one sample per call
    assert ratios == {"peer": pytest.approx(6.0)}
    # after the warm-up, each block is run by both engines, twice each (bare, then clocked), the first rotating
    timed = clock.calls[10:]
    assert timed[:40] == ["ours"] * 20 + ["peer"] * 20
    assert timed[40:80] == ["peer"] * 20 + ["ours"] * 20
