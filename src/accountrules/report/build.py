"""Public entry points: a portfolio report from accounts or from a decisions file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from accountrules.i18n import LANGS, gettext_for
from accountrules.report.figures import Figures, Frame, portfolio_figures
from accountrules.report.frames import frame_from_decisions, frame_from_result
from accountrules.report.page import render
from accountrules.report.sections import SECTIONS

if TYPE_CHECKING:
    from accountrules.batch.result import BatchResult
    from accountrules.io.columns import ColumnMapping
    from accountrules.policy import Policy


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGS)}")


def render_report(policy: Policy, frame: Frame, *, lang: str = "en") -> tuple[str, Figures]:
    """The HTML page of a frame, and the figures it shows."""
    _check_lang(lang)
    _ = gettext_for(lang)
    spec = policy.spec
    figs = portfolio_figures(spec, frame)
    meta = [(_("Policy"), f"{policy.label.in_(lang)} ({spec.name} {spec.version})"),
            (_("Decided on"), frame.as_of.isoformat()), (_("Report date"), frame.today.isoformat()),
            (_("Accounts"), f"{figs.accounts:,}"), (_("Decided"), f"{frame.n:,}"),
            (_("Refused rows"), f"{figs.errors:,}")]
    notes = [_("This report was built from a decisions file, which holds no explanations "
               "(decide --explain writes them).")] if not frame.has_explanations else []
    sections = [make(spec, figs, lang) for make in SECTIONS]
    title = _("Portfolio report")
    return render(f"{title} · {policy.label.in_(lang)}", lang, meta, sections, notes), figs


def report_from_result(result: BatchResult, accounts: str | Path | None = None, *, lang: str = "en",
                       today: dt.date | None = None, columns: ColumnMapping | None = None) -> str:
    """The report of a decided batch; ``accounts`` (the file it was decided from, read with
    ``columns``) adds amounts, relationship levels, the RFM grid and unknown fields."""
    frame = frame_from_result(result, accounts, today=today, columns=columns)
    return render_report(result.policy, frame, lang=lang)[0]


def report_from_accounts(policy: Policy, accounts: str | Path, *, as_of: dt.date | None = None,
                         today: dt.date | None = None, lang: str = "en", engine: str = "auto",
                         columns: ColumnMapping | None = None) -> str:
    """Decide ``accounts`` with ``policy`` and return the report page (one HTML string); ``columns``
    maps an export's columns to field paths (see :meth:`Policy.decide_many`)."""
    _check_lang(lang)
    result = policy.decide_many(str(accounts), as_of=as_of, engine=engine, columns=columns)
    return report_from_result(result, accounts, lang=lang, today=today, columns=columns)


def report_from_decisions(policy: Policy, decisions: str | Path, *, as_of: dt.date | None = None,
                          today: dt.date | None = None, lang: str = "en", errors: str | Path | None = None,
                          accounts: str | Path | None = None, columns: ColumnMapping | None = None) -> str:
    """The report of a decisions file written by ``accountrules decide`` (CSV or Parquet).
    The date it was decided on (action due dates count from it) is the file's ``as_of`` column;
    ``as_of``, when given, must be that date (else :class:`~accountrules.report.decided_on.DecisionDateError`),
    and is the date of a file without the column (default today). ``accounts``, the file it was
    decided from, adds amounts, read with ``columns`` as ``decide`` read it."""
    _check_lang(lang)
    frame = frame_from_decisions(decisions, as_of=as_of, today=today, errors=errors, accounts=accounts,
                                 policy=policy, columns=columns)
    return render_report(policy, frame, lang=lang)[0]
