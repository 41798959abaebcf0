"""The account a policy reads and the decision it returns, with their parts and enumerations.

The package root exports only :class:`Account` and :class:`Decision`; their parts (``Transactions``,
``StageOutcome``, ...) and the enumerations (``Stage``, ``RiskLevel``, ...) are imported from here.
"""

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

__all__ = [
    "Account", "ActionItem", "BuyingRole", "ChurnKind", "ChurnOutcome", "Company", "Contact", "Credit",
    "CustomerReason", "Decision", "Label", "Loyalty", "Outcome", "PolicyRef", "Priority", "Relationship",
    "RelationshipLevel", "RiskLevel", "Signals", "Stage", "StageOutcome", "TraceEntry", "Transactions",
]
