"""Portfolio reports: one self-contained HTML page (inline SVG and CSS, no script, nothing fetched).

See ``docs/report.md``. :func:`report_from_accounts` decides a file and draws it;
:func:`report_from_decisions` draws a decisions file; :func:`diff_report` shows who moves where
between two policy versions.
"""

from accountrules.report.build import render_report, report_from_accounts, report_from_decisions, report_from_result
from accountrules.report.decided_on import DecisionDateError
from accountrules.report.diff import diff_report
from accountrules.report.figures import Figures, Frame, portfolio_figures

__all__ = ["DecisionDateError", "Figures", "Frame", "diff_report", "portfolio_figures", "render_report",
           "report_from_accounts", "report_from_decisions", "report_from_result"]
