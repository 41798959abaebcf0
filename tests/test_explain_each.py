"""Explaining one decision in both languages at once (the ``--explain`` columns, the report's
account pages) gives each language's text exactly as ``Decision.explain`` gives it alone: what the
two share (the trace by section, the values read, as text) must carry nothing of one language into
the other. Decisions of generated portfolios under the shipped express policy: tiers, stages, churn
and actions (seed concepts C1–C5), with the ranks they read."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

import accountrules
from accountrules.model.decision import Decision
from accountrules.model.explain import render_each
from accountrules.testing.strategies import portfolios

ROOT = Path(__file__).resolve().parent.parent
EXPRESS = accountrules.load_policy(ROOT / "rulesets" / "express")
AS_OF = dt.date(2026, 6, 30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=portfolios(EXPRESS, min_size=1, max_size=8))
def test_both_languages_at_once_read_as_each_alone(rows: list[dict[str, Any]]) -> None:
    for d in EXPRESS.decide_many(rows, as_of=AS_OF, engine="compiled"):
        if not isinstance(d, Decision):
            continue
        alone = [d.explain("en"), d.explain("zh"), d.explain("zh_CN.UTF-8")]
        assert render_each(d, ("en", "zh", "zh_CN.UTF-8")) == alone
        assert render_each(d, ("zh", "en")) == [alone[1], alone[0]]
        assert alone[0] != alone[1]  # the two languages do differ: the comparison is not of one text twice
