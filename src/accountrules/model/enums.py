"""Closed vocabularies of the seeds. Tiers and segments are policy-defined, so they are not here."""

from __future__ import annotations

from enum import StrEnum


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


# zh/en labels of the owner roles the shipped policies assign actions to (an action's ``owner:``);
# a role not listed here is shown as its code.
OWNER_ROLES: dict[str, dict[str, str]] = {
    "account_manager": {"zh": "客户经理", "en": "Account manager"},
    "customer_service_manager": {"zh": "客服经理", "en": "Customer service manager"},
    "finance_manager": {"zh": "财务经理", "en": "Finance manager"},
    "general_manager": {"zh": "总经理", "en": "General manager"},
    "ka_director": {"zh": "大客户总监", "en": "KA director"},
    "marketing_manager": {"zh": "市场经理", "en": "Marketing manager"},
    "operations_manager": {"zh": "运营经理", "en": "Operations manager"},
    "pricing_manager": {"zh": "定价经理", "en": "Pricing manager"},
    "product_manager": {"zh": "产品经理", "en": "Product manager"},
    "solution_manager": {"zh": "解决方案经理", "en": "Solution manager"},
}

# zh/en labels used by explanations and by the checker's messages.
LABELS: dict[str, dict[str, str]] = {
    "nurture": {"zh": "孕育期", "en": "Nurture"},
    "initial": {"zh": "初期合作", "en": "Initial cooperation"},
    "stable": {"zh": "稳定合作", "en": "Stable cooperation"},
    "strategic": {"zh": "战略合作", "en": "Strategic cooperation"},
    "interrupted": {"zh": "间断", "en": "Interrupted"},
    "outsider": {"zh": "局外人", "en": "Outsider"},
    "supplier": {"zh": "供应商", "en": "Supplier"},
    "friend": {"zh": "朋友", "en": "Friend"},
    "partner": {"zh": "合作伙伴", "en": "Partner"},
    "none": {"zh": "无流失", "en": "No churn"},
    "voluntary": {"zh": "客户自身原因流失", "en": "Leaves for its own reasons"},
    "competitor": {"zh": "被竞争对手吸引流失", "en": "Lured by a competitor"},
    "expelled": {"zh": "企业主动放弃", "en": "Expelled by us"},
    "value_decline": {"zh": "价值下降", "en": "Value decline"},
    "low": {"zh": "低", "en": "low"},
    "medium": {"zh": "中", "en": "medium"},
    "high": {"zh": "高", "en": "high"},
    "urgent": {"zh": "紧急", "en": "urgent"},
    **OWNER_ROLES,
}
