"""accountrules — policy as code for key-account management.

Load a YAML policy, decide tier, segments, relationship stage, churn and retention
actions for each account, with a trace that explains every decision::

    import accountrules
    policy = accountrules.load_policy("rulesets/express")
    result = policy.decide_many("examples/portfolio/accounts.csv")   # or a list of dicts / Accounts
    print(result[0].explain("zh"))
"""

import logging as _logging

from accountrules.batch import BatchInputError, BatchResult, BatchSummary, RowError, RowErrors, UnknownColumnError
from accountrules.check.limits import LoadLimits
from accountrules.errors import (
    AccountRulesError,
    AccountValidationError,
    DecisionError,
    EngineUnavailableError,
    ExpressionSyntaxError,
    MissingDependencyError,
    PolicyError,
    PolicyErrors,
    PolicyLimitError,
    PolicyNotFoundError,
    PolicyReferenceError,
    PolicySchemaError,
    PolicySyntaxError,
    PolicyTypeError,
    PortfolioRequiredError,
    SourceLocation,
    UnknownEngineError,
)
from accountrules.evaluate.portfolio import PortfolioStats
from accountrules.model.account import (
    Account,
    Company,
    Contact,
    Credit,
    Loyalty,
    Relationship,
    Signals,
    Transactions,
)
from accountrules.model.decision import (
    ActionItem,
    ChurnOutcome,
    Decision,
    Label,
    Outcome,
    PolicyRef,
    StageOutcome,
    TraceEntry,
)
from accountrules.model.enums import (
    BuyingRole,
    ChurnKind,
    CustomerReason,
    Priority,
    RelationshipLevel,
    RiskLevel,
    Stage,
)
from accountrules.policy import Policy, load_policy
from accountrules.policy_text import load_policy_mapping, load_policy_text

__version__ = "0.1.0"

# a library logs and leaves handlers to the application: without one configured, nothing is printed
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "BatchInputError", "BatchResult", "BatchSummary", "RowError", "RowErrors", "UnknownColumnError",
    "Account", "AccountRulesError", "AccountValidationError", "ActionItem", "BuyingRole", "ChurnKind",
    "ChurnOutcome", "Company", "Contact", "Credit", "CustomerReason", "Decision", "DecisionError",
    "EngineUnavailableError", "ExpressionSyntaxError", "Label", "Loyalty", "MissingDependencyError", "Outcome",
    "LoadLimits", "Policy", "PolicyError",
    "PolicyErrors", "PolicyLimitError", "PolicyNotFoundError", "PolicyRef", "PolicyReferenceError", "PolicySchemaError",
    "PolicySyntaxError", "PolicyTypeError", "PortfolioRequiredError", "PortfolioStats", "Priority",
    "Relationship", "RelationshipLevel", "RiskLevel", "Signals", "SourceLocation", "Stage", "StageOutcome",
    "TraceEntry", "Transactions", "UnknownEngineError", "load_policy", "load_policy_mapping", "load_policy_text",
    "__version__",
]
