"""The account a policy decides about (seed concepts D1-D4).

Units are in the names or the docs: money is an amount in the portfolio's currency,
``*_days`` are whole days, ratios are 0-1. Unknown is ``None``, never a silent 0:
a policy condition on an unknown value is *unknown* and does not fire.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from accountrules.i18n import N_
from accountrules.model.enums import BuyingRole, CustomerReason, RelationshipLevel, Stage

Ratio = Annotated[float, Field(ge=0.0, le=1.0)]
Money = float
# Whole numbers end at 2**53, the last one a float64 holds exactly: the vector evaluator reads numbers
# as float64, so past it two counts could rank or compare apart there and equal in the compiled one
# (and past int64 a column crashed where a dict decided). Every path refuses one with the field named.
WHOLE_MAX = 2**53
Count = Annotated[int, Field(ge=0, le=WHOLE_MAX)]
Days = Annotated[int, Field(ge=0, le=WHOLE_MAX)]

# what a flat file's date column accepts on its fast path (batch/arrow_cells.py), and the docs promise
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DATE_TEXT = N_("expected a date written YYYY-MM-DD")
# the model's own errors (pydantic error type -> message id): their text is English to pydantic's
# callers; accountrules' errors carry it as a Message, which the command line translates
MESSAGES = {"date_text": DATE_TEXT}


def day_input(v: Any) -> Any:
    """A date field's value before pydantic's date check: a ``date`` (a ``datetime`` too: pydantic takes
    a midnight as its day and refuses any other time) or text shaped ``YYYY-MM-DD`` (pydantic then
    refuses a day the calendar lacks). Pydantic's lax mode alone also reads ``"0"``, ``"20260425"`` and
    numbers as Unix timestamps: in an account, a number in a date field is a mistake, not a day."""
    if isinstance(v, date) or (isinstance(v, str) and ISO_DAY.fullmatch(v)):
        return v
    raise PydanticCustomError("date_text", DATE_TEXT)


Day = Annotated[date, BeforeValidator(day_input)]


class _Group(BaseModel):
    # NaN and infinity are not amounts: reject them at the door rather than compare them later
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Company(_Group):
    """客户特征类 — company characteristics (D1)."""

    industry: str | None = None
    region: str | None = None
    size: str | None = Field(None, description="size class, e.g. small/medium/large (企业规模)")
    employees: Count | None = None
    registered_capital: Money | None = Field(None, description="注册资金")
    listed: bool | None = Field(None, description="是否上市")
    annual_sales: Money | None = Field(None, description="the customer's own annual sales (年销售额)")
    organisation_type: str | None = Field(None, description="外企/国企/私营 (D6)")


class Transactions(_Group):
    """交易类 — aggregates of our business with the account over the window (D1)."""

    window_days: Days | None = Field(None, description="length of the observation window")
    count: Count | None = Field(None, description="orders in the window (交易次数)")
    frequency: float | None = Field(None, ge=0, description="orders per 30 days (交易频率)")
    first_order_date: Day | None = None
    last_order_date: Day | None = None
    tenure_days: Days | None = Field(None, description="days since the first order (已交易时间)")
    recency_days: Days | None = Field(None, description="days since the last order")
    avg_order_value: Money | None = Field(None, description="平均单笔交易额")
    max_order_value: Money | None = Field(None, description="最大单笔交易额")
    revenue: Money | None = Field(None, description="revenue in the window")
    revenue_previous: Money | None = Field(None, description="revenue in the previous window of equal length")
    annual_revenue: Money | None = Field(None, description="revenue over the last 12 months")
    annual_profit: Money | None = Field(None, description="profit over the last 12 months (客户年利润)")
    marketing_cost: Money | None = Field(None, description="allocated annual marketing cost (年分摊的营销成本)")
    service_cost: Money | None = Field(None, description="allocated annual cost to serve")
    profit_margin: float | None = Field(None, description="profit / revenue (销售利润率)")
    growth_rate: float | None = Field(None, description="sales growth rate, e.g. 0.12 = +12% (销售额增长率)")
    returns_count: Count | None = Field(None, description="退货次数")
    returns_amount: Money | None = Field(None, description="退货金额")


class Credit(_Group):
    """Credit and payment behaviour (D1, D2)."""

    arrears: Money | None = Field(None, description="amount owed (欠款额)")
    overdue_payments: Count | None = Field(None, description="逾期付款次数")
    avg_collection_days: float | None = Field(None, ge=0, description="平均收款周期")
    arrears_ratio: Ratio | None = Field(None, description="平均欠款率")
    rating: str | None = Field(None, description="commercial credit rating (商业信用)")


class Loyalty(_Group):
    """客户忠诚类 (D1)."""

    praise_count: Count | None = None
    complaint_count: Count | None = None
    suggestion_count: Count | None = None
    satisfaction: Ratio | None = Field(None, description="0-1 (满意度)")
    campaign_response_rate: Ratio | None = Field(None, description="营销活动响应度")
    repeat_purchase_rate: Ratio | None = Field(None, description="重复购买率")
    open_complaints: Count | None = Field(None, description="complaints not yet closed")


class Relationship(_Group):
    """Where the relationship stands, as the CRM stored it after the last decision (G1-G5)."""

    stage: Stage | None = Field(None, description="current stage; None = never decided")
    level: RelationshipLevel | None = None
    share_of_wallet: Ratio | None = Field(None, description="our share of the customer's category spend")
    previous_share_of_wallet: Ratio | None = Field(
        None, description="share of wallet stored from the previous window, so a falling share shows (G4)")
    account_manager: str | None = None
    dedicated_manager: bool | None = Field(None, description="has a dedicated KA manager (T19)")
    contract_active: bool | None = None
    strategic_agreement: bool | None = Field(None, description="signed partnership / strategic agreement")
    previous_tier: str | None = Field(None, description="tier code stored from the last decision")
    since: Day | None = Field(None, description="relationship start")
    last_contact_date: Day | None = None
    last_executive_visit: Day | None = None


class Signals(_Group):
    """Churn signals a CRM records (C1, C3)."""

    customer_reason: CustomerReason | None = Field(None, description="customer-side reason to leave")
    competitor_offer: bool | None = Field(None, description="a competitor is courting it")
    moved_to_competitor: bool | None = Field(None, description="business moved to a competitor")
    fraud: bool | None = Field(None, description="欺诈")
    bad_credit: bool | None = Field(None, description="恶意拖欠 / 信用差")
    financial_distress: bool | None = Field(None, description="财务状况不健康")
    potential_value: Money | None = Field(None, description="estimated annual potential value (T11, T12)")


class Contact(_Group):
    """A member of the buying centre (D3, D4)."""

    name: str
    role: BuyingRole
    supporter: bool | None = None
    weight: Ratio | None = Field(None, description="influence weight in the decision")


class Account(BaseModel):
    """A business customer. ``extra`` holds CRM fields a policy declares under ``fields:``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(min_length=1)
    name: str | None = None
    # A group the input leaves out is one shared, frozen, all-unknown instance (pydantic does not
    # copy a hashable default), not a new model built by a factory: most inputs give two or
    # three groups of six, and the factories were half the cost of validating a dict.
    company: Company = Company()
    transactions: Transactions = Transactions()
    credit: Credit = Credit()
    loyalty: Loyalty = Loyalty()
    relationship: Relationship = Relationship()
    signals: Signals = Signals()
    contacts: tuple[Contact, ...] = ()
    extra: dict[str, Any] = Field(default_factory=dict)
