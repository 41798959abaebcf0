"""Closed vocabularies of the seeds. Tiers and segments are policy-defined, so they are not here."""

from __future__ import annotations

from enum import StrEnum

from accountrules.i18n import N_, translations


class Stage(StrEnum):
    """Relationship stage of the express KA development model (seed S0 G1, S2 G4)."""

    NURTURE = "nurture"  # 孕育
    INITIAL = "initial"  # 初期合作
    STABLE = "stable"  # 稳定合作
    STRATEGIC = "strategic"  # 战略合作
    INTERRUPTED = "interrupted"  # 间断


class RelationshipLevel(StrEnum):
    """Relationship level (seed S2 G5): outsider -> supplier/friend -> partner."""

    OUTSIDER = "outsider"  # 局外人
    SUPPLIER = "supplier"  # 供应商
    FRIEND = "friend"  # 朋友
    PARTNER = "partner"  # 合作伙伴


class BuyingRole(StrEnum):
    """Buying-centre roles (seed S2 D3)."""

    INITIATOR = "initiator"  # 发起者
    DECIDER = "decider"  # 决策者
    DESIGNER = "designer"  # 设计者
    INFLUENCER = "influencer"  # 影响者
    EVALUATOR = "evaluator"  # 评估者
    USER = "user"  # 使用者
    PURCHASER = "purchaser"  # 采购者


class ChurnKind(StrEnum):
    """The four churn definitions of seed S0 (C1), plus none."""

    NONE = "none"
    VOLUNTARY = "voluntary"  # 客户自身原因
    COMPETITOR = "competitor"  # 被竞争对手吸引
    EXPELLED = "expelled"  # 企业主动放弃 (欺诈, 信用, 财务)
    VALUE_DECLINE = "value_decline"  # 价值下降 (高端 -> 低端)


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class CustomerReason(StrEnum):
    """Customer-side churn causes (seed S3 C3)."""

    DOWNSIZING = "downsizing"  # 缩小经营范围 / 部分出售
    BUSINESS_CHANGE = "business_change"  # 转向经营
    MOVING_UPSTREAM = "moving_upstream"  # 向上游发展, 变成竞争者
    RELOCATION = "relocation"
    OTHER = "other"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


# English labels of the owner roles the shipped policies assign actions to (an action's ``owner:``);
# a role not listed here is shown as its code. The English label is the gettext message id: the
# Chinese is in the catalogue (locale/zh/LC_MESSAGES/accountrules.po), as for every other message.
_OWNER_ROLES_EN: dict[str, str] = {
    "account_manager": N_("Account manager"),
    "customer_service_manager": N_("Customer service manager"),
    "finance_manager": N_("Finance manager"),
    "general_manager": N_("General manager"),
    "ka_director": N_("KA director"),
    "marketing_manager": N_("Marketing manager"),
    "operations_manager": N_("Operations manager"),
    "pricing_manager": N_("Pricing manager"),
    "product_manager": N_("Product manager"),
    "solution_manager": N_("Solution manager"),
}

# English labels used by explanations and by the checker's messages (message ids, as above).
_LABELS_EN: dict[str, str] = {
    "nurture": N_("Nurture"),
    "initial": N_("Initial cooperation"),
    "stable": N_("Stable cooperation"),
    "strategic": N_("Strategic cooperation"),
    "interrupted": N_("Interrupted"),
    "outsider": N_("Outsider"),
    "supplier": N_("Supplier"),
    "friend": N_("Friend"),
    "partner": N_("Partner"),
    "none": N_("No churn"),
    "voluntary": N_("Leaves for its own reasons"),
    "competitor": N_("Lured by a competitor"),
    "expelled": N_("Expelled by us"),
    "value_decline": N_("Value decline"),
    "low": N_("low"),
    "medium": N_("medium"),
    "high": N_("high"),
    "urgent": N_("urgent"),
    **_OWNER_ROLES_EN,
}


def _bilingual(english: dict[str, str]) -> dict[str, dict[str, str]]:
    zh = translations("zh").gettext
    return {code: {"zh": zh(text), "en": text} for code, text in english.items()}


# {code: {"zh": ..., "en": ...}}: built once from the catalogue, read-only afterwards
OWNER_ROLES: dict[str, dict[str, str]] = _bilingual(_OWNER_ROLES_EN)
LABELS: dict[str, dict[str, str]] = _bilingual(_LABELS_EN)
