"""Fuzz the loader and the expression language: every text loads or is a located PolicyError.

Mutations of a real policy (characters that matter to YAML and to expressions, inserted, deleted
and replaced) and random expressions. An accepted policy must decide, or refuse to decide with a
DecisionError, the same way on the compiled and the vector evaluator. 2,000 examples each here;
``ACCOUNTRULES_SLOW=1`` runs 10,000.

Hypothesis raises the recursion limit while a test runs (2,000 frames above the test's own depth),
which would hide a RecursionError the command line meets. Each example therefore runs as the CLI
runs a load: in a fresh thread, below the recursion limit of a fresh interpreter, at the CLI's
stack depth, with the limit hypothesis set put back before hypothesis looks at it again.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountrules
from accountrules.errors import PolicyError

ROOT = Path(__file__).resolve().parents[1]
BASE = (ROOT / "examples" / "small" / "policy.yaml").read_text(encoding="utf-8")
EXAMPLES = 10_000 if os.environ.get("ACCOUNTRULES_SLOW") else 2_000
AS_OF = dt.date(2026, 6, 30)
ACCOUNTS = [
    {"id": "A1", "transactions": {"annual_revenue": 9_000_000, "annual_profit": 2_400_000, "marketing_cost": 120_000,
                                  "recency_days": 3}, "relationship": {"stage": "stable", "share_of_wallet": 0.7}},
    {"id": "A2", "transactions": {"annual_revenue": 800_000, "annual_profit": -5, "marketing_cost": 150_000}},
]
HAS_VECTOR = importlib.util.find_spec("numpy") is not None
# what `accountrules` on the command line runs under: a fresh interpreter's limit, and the frames that
# `python -m accountrules lint` has above the loader (measured: 8; rounded up)
CLI_RECURSION_LIMIT = int(subprocess.run([sys.executable, "-c", "import sys; print(sys.getrecursionlimit())"],
                                         capture_output=True, text=True, check=True).stdout)
CLI_FRAMES = 10
# what matters to YAML (indentation, flow, quoting, keys) and to expressions (operators, calls)
ALPHABET = list(" \n\t-:[]{}#'\",.|>&*!%@`") + list("()<>=+/0123456789e") + ["and ", "or ", "not ", "null", "in "]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = BASE
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.sampled_from(ALPHABET))
        n = draw(st.integers(1, 8))
        if op == "insert":
            text = text[:i] + piece + text[i:]
        elif op == "delete":
            text = text[:i] + text[i + n:]
        else:
            text = text[:i] + piece + text[i + n:]
    return text


def _outcome(policy: accountrules.Policy, engine: str) -> list[str]:
    result = policy.decide_many(ACCOUNTS, as_of=AS_OF, engine=engine, trace=True)
    return [d.model_dump_json() if isinstance(d, accountrules.Decision) else f"error: {d.message}" for d in result]


def _depth() -> int:
    frame, n = sys._getframe(), 0
    while frame is not None:
        frame, n = frame.f_back, n + 1  # type: ignore[assignment]
    return n


def _at_cli_depth(fn: Callable[[], None]) -> None:
    if _depth() < CLI_FRAMES:
        _at_cli_depth(fn)
    else:
        fn()


def as_the_cli_runs(fn: Callable[[], None]) -> None:
    """Run ``fn`` in a fresh thread under the CLI's recursion limit and stack depth; re-raise what it raised."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            _at_cli_depth(fn)
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread below
            raised.append(e)

    hypothesis_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(CLI_RECURSION_LIMIT)
    try:
        thread = threading.Thread(target=target)
        thread.start()
        thread.join()
    finally:
        sys.setrecursionlimit(hypothesis_limit)
    if raised:
        raise raised[0]


def _check(text: str) -> None:
    as_the_cli_runs(lambda: _load_and_decide(text))


def _load_and_decide(text: str) -> None:
    try:
        policy = accountrules.load_policy_text(text, name="fuzz.yaml")
    except PolicyError as e:
        assert e.location is not None and e.location.file == "fuzz.yaml", e
        return
    compiled = _outcome(policy, "compiled")
    if HAS_VECTOR:
        assert _outcome(policy, "vector") == compiled


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_mutated_policies_load_or_are_located_errors(text: str) -> None:
    _check(text)


EXPR_TOKENS = ["transactions.annual_revenue", "transactions.annual_profit", "relationship.share_of_wallet",
               "relationship.stage", "profit_contribution", "params.top_cut", "1", "0.5", "1e308", "9" * 20, "-",
               "+", "*", "/", "(", ")", "and", "or", "not", ">", "<=", "==", "!=", "in", "[", "]", ",", "..",
               "is", "null", "'stable'", "percentile(", "cumshare(", "quantile(", "ratio(", "coalesce(",
               "days_since(", "min(", "max(", "2026-01-01", "30d", "true", "false"]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(EXPR_TOKENS), min_size=1, max_size=40))
def test_random_expressions_load_or_are_located_errors(tokens: list[str]) -> None:
    when = " ".join(tokens).replace("'", "''")
    text = BASE.replace("when: transactions.annual_profit <= 0", f"when: '{when}'", 1)
    assert text != BASE
    _check(text)


def test_examples_run_under_the_cli_recursion_limit_not_hypothesis_one() -> None:
    seen: list[int] = []
    as_the_cli_runs(lambda: seen.append(sys.getrecursionlimit()))
    assert seen == [CLI_RECURSION_LIMIT]

    def recurse(n: int) -> int:
        return 0 if n == 0 else 1 + recurse(n - 1)

    with pytest.raises(RecursionError):  # what the CLI would meet is met here too
        as_the_cli_runs(lambda: recurse(CLI_RECURSION_LIMIT))
    as_the_cli_runs(lambda: recurse(CLI_RECURSION_LIMIT - CLI_FRAMES - 20))


@pytest.mark.parametrize("text", ["", "policy: [", "{" * 5000, "- " * 3000 + "x", "a: 'b\n", "\0", "\ufeff\ufeff"])
def test_degenerate_texts_are_located_errors(text: str) -> None:
    with pytest.raises(PolicyError) as info:
        accountrules.load_policy_text(text, name="fuzz.yaml")
    assert info.value.location is not None
