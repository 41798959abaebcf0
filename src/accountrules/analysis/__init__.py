"""Static analysis of policies (``accountrules lint``): gaps, overlaps, dead rules, statechart
defects and broken hand-offs, each shown by a witness account the compiled evaluator confirms."""

from accountrules.analysis.findings import KINDS, SEVERITIES, Finding, RuleRef
from accountrules.analysis.lint import LintReport, lint_policy
from accountrules.analysis.realize import Witness

__all__ = ["KINDS", "SEVERITIES", "Finding", "LintReport", "RuleRef", "Witness", "lint_policy"]
