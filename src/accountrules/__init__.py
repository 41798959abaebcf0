"""accountrules — policy as code for key-account management.

Load a YAML policy, decide tier, segments, relationship stage, churn and retention
actions for each account, with a trace that explains every decision::

    import accountrules
    policy = accountrules.load_policy("express")
    result = policy.decide_many("examples/portfolio/accounts.csv")   # or a list of dicts / Accounts
    print(result[0].explain("zh"))

The root holds what an application needs to load a policy, decide, and catch what can go wrong.
Everything else lives in its subpackage: the account's parts and the enumerations in
:mod:`accountrules.model`, every error type in :mod:`accountrules.errors`, batch details in
:mod:`accountrules.batch`, policy test cases in :mod:`accountrules.testing`.
"""

import logging as _logging

from accountrules.batch import BatchResult, RowError
from accountrules.check.limits import LoadLimits
from accountrules.errors import (
    AccountRulesError,
    AccountValidationError,
    DecisionError,
    EngineUnavailableError,
    PolicyError,
)
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.model.account import Account
from accountrules.model.decision import Decision
from accountrules.policy import Policy, load_policy
from accountrules.policy_text import load_policy_mapping, load_policy_text

__version__ = "0.1.0"

# a library logs and leaves handlers to the application: without one configured, nothing is printed
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "Account", "AccountRulesError", "AccountValidationError", "BatchResult", "Decision", "DecisionError",
    "EngineUnavailableError", "LoadLimits", "Policy", "PolicyError", "PortfolioStats", "RowError",
    "__version__", "load_policy", "load_policy_mapping", "load_policy_text",
]

# names the root exported before it was made small: where each lives now, so the AttributeError says so
_MOVED = {
    **dict.fromkeys(("BatchInputError", "BatchSummary", "RowErrors", "UnknownColumnError"), "accountrules.batch"),
    **dict.fromkeys((
        "ExpressionSyntaxError", "MissingDependencyError", "PolicyErrors", "PolicyLimitError", "PolicyNotFoundError",
        "PolicyReferenceError", "PolicySchemaError", "PolicySyntaxError", "PolicyTypeError", "PortfolioRequiredError",
        "SourceLocation", "UnknownEngineError"), "accountrules.errors"),
    **dict.fromkeys((
        "ActionItem", "BuyingRole", "ChurnKind", "ChurnOutcome", "Company", "Contact", "Credit", "CustomerReason",
        "Label", "Loyalty", "Outcome", "PolicyRef", "Priority", "Relationship", "RelationshipLevel", "RiskLevel",
        "Signals", "Stage", "StageOutcome", "TraceEntry", "Transactions"), "accountrules.model"),
}


def __getattr__(name: str) -> object:
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module 'accountrules' has no attribute {name!r}")
    raise AttributeError(f"accountrules.{name} is not at the package root: import it from {home}", name=name,
                         obj=None)
