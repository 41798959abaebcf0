"""Generate the example express (快递) key-account portfolios, seeded and synthetic.

    python examples/portfolio/make_accounts.py            # rewrites both files next to this one

Deterministic (fixed seed, no clock). Revenue and profit are lognormal like real
portfolios (a few accounts carry most of the business); some cells are blank
(unknown), some values are unusual on purpose (zero marketing cost, negative profit,
100% share of wallet, a last order years ago), and three rows are bad on purpose to
show error handling in accounts_with_errors.csv: share_of_wallet 1.7, a date 2026-13-01 and a stage 'stabel'.
Columns are field paths (see docs/batch.md); contacts are not flat columns.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import sys
from pathlib import Path
from typing import Any

AS_OF = dt.date(2026, 6, 30)
N = 300
SEED = 20260630
WINDOW = 90

COLUMNS = [
    "id", "name",
    "company.industry", "company.region", "company.size", "company.employees", "company.registered_capital",
    "company.listed", "company.annual_sales", "company.organisation_type",
    "transactions.window_days", "transactions.count", "transactions.frequency",
    "transactions.first_order_date", "transactions.last_order_date", "transactions.tenure_days",
    "transactions.recency_days", "transactions.avg_order_value", "transactions.max_order_value",
    "transactions.revenue", "transactions.revenue_previous", "transactions.annual_revenue",
    "transactions.annual_profit", "transactions.marketing_cost", "transactions.service_cost",
    "transactions.profit_margin", "transactions.growth_rate", "transactions.returns_count",
    "transactions.returns_amount",
    "credit.arrears", "credit.overdue_payments", "credit.avg_collection_days", "credit.arrears_ratio",
    "credit.rating",
    "loyalty.praise_count", "loyalty.complaint_count", "loyalty.suggestion_count", "loyalty.satisfaction",
    "loyalty.campaign_response_rate", "loyalty.repeat_purchase_rate", "loyalty.open_complaints",
    "relationship.stage", "relationship.level", "relationship.share_of_wallet", "relationship.account_manager",
    "relationship.dedicated_manager", "relationship.contract_active", "relationship.strategic_agreement",
    "relationship.previous_tier", "relationship.since", "relationship.last_contact_date",
    "relationship.last_executive_visit",
    "signals.customer_reason", "signals.competitor_offer", "signals.moved_to_competitor", "signals.fraud",
    "signals.bad_credit", "signals.financial_distress", "signals.potential_value",
]
# columns that may be blank (unknown) now and then; id and the core money columns stay filled mostly
_OFTEN_BLANK = {
    "company.employees", "company.registered_capital", "company.annual_sales", "company.listed",
    "transactions.service_cost", "credit.avg_collection_days", "credit.rating", "loyalty.satisfaction",
    "loyalty.campaign_response_rate", "loyalty.repeat_purchase_rate", "relationship.level",
    "relationship.last_executive_visit", "signals.potential_value", "signals.competitor_offer",
    "relationship.share_of_wallet", "credit.arrears_ratio", "transactions.growth_rate",
}

_CITIES = ["上海", "杭州", "苏州", "广州", "深圳", "北京", "天津", "成都", "武汉", "南京", "宁波", "厦门"]
_TRADES = [("e-commerce", "电商"), ("manufacturing", "制造"), ("pharma", "医药"), ("electronics", "电子"),
           ("apparel", "服饰"), ("food", "食品"), ("auto-parts", "汽配"), ("publishing", "图书")]
_SUFFIX = ["有限公司", "股份有限公司", "贸易有限公司", "科技有限公司"]
_REGIONS = {"上海": "east", "杭州": "east", "苏州": "east", "南京": "east", "宁波": "east", "广州": "south",
            "深圳": "south", "厦门": "south", "北京": "north", "天津": "north", "成都": "west", "武汉": "central"}
_MANAGERS = ["王伟", "李娜", "张敏", "刘洋", "陈静", "杨帆"]


def _money(x: float) -> float:
    return round(x, 2)


def _date(d: dt.date) -> str:
    return d.isoformat()


def account(i: int, rnd: random.Random) -> dict[str, Any]:
    city = rnd.choice(_CITIES)
    trade, trade_zh = rnd.choice(_TRADES)
    size = rnd.choices(["small", "medium", "large"], [0.45, 0.4, 0.15])[0]
    employees = int(rnd.lognormvariate({"small": 3.5, "medium": 5.5, "large": 7.5}[size], 0.5))
    annual_revenue = rnd.lognormvariate(13.0, 1.3)  # CNY: median ~440k, a long tail into the tens of millions
    margin = rnd.gauss(0.12, 0.10)
    annual_profit = annual_revenue * margin
    marketing_cost = annual_revenue * rnd.uniform(0.01, 0.06)
    tenure = rnd.randint(30, 3000)
    recency = min(tenure, int(rnd.expovariate(1 / 25)))
    orders_year = max(1, int(annual_revenue / rnd.lognormvariate(8.0, 0.6)))
    count = max(0, int(rnd.gauss(orders_year * WINDOW / 365, 2))) if recency <= WINDOW else 0
    revenue = annual_revenue * WINDOW / 365 * rnd.uniform(0.6, 1.3) if count else 0.0
    revenue_prev = annual_revenue * WINDOW / 365 * rnd.uniform(0.6, 1.3)
    growth = rnd.gauss(0.08, 0.25)
    sow = min(1.0, max(0.0, rnd.betavariate(2, 3)))
    stage = ("strategic" if sow >= 0.95 else "stable" if sow >= 0.5 else "initial" if sow >= 0.3 else
             rnd.choice(["nurture", "initial"]))
    if recency > 90 and rnd.random() < 0.5:
        stage = "interrupted"
    overdue = rnd.choices([0, 1, 2, 3, 5], [0.7, 0.12, 0.08, 0.06, 0.04])[0]
    complaints = rnd.choices([0, 1, 2, 3, 4], [0.55, 0.2, 0.12, 0.08, 0.05])[0]
    open_c = min(complaints, rnd.choices([0, 1, 2], [0.7, 0.2, 0.1])[0])
    since = AS_OF - dt.timedelta(days=tenure + rnd.randint(0, 200))
    reason = rnd.choices(["", "downsizing", "business_change", "moving_upstream", "relocation", "other"],
                         [0.9, 0.02, 0.02, 0.02, 0.02, 0.02])[0]
    row: dict[str, Any] = {
        "id": f"KA{i:04d}",
        "name": f"{city}{rnd.choice(['顺达', '华远', '恒信', '博纳', '嘉禾', '宏图', '新锐', '众诚'])}{trade_zh}"
                f"{rnd.choice(_SUFFIX)}",
        "company.industry": trade,
        "company.region": _REGIONS[city],
        "company.size": size,
        "company.employees": employees,
        "company.registered_capital": _money(rnd.lognormvariate(15, 1.2)),
        "company.listed": "true" if size == "large" and rnd.random() < 0.4 else "false",
        "company.annual_sales": _money(annual_revenue * rnd.uniform(20, 200)),
        "company.organisation_type": rnd.choices(["private", "state", "foreign"], [0.6, 0.25, 0.15])[0],
        "transactions.window_days": WINDOW,
        "transactions.count": count,
        "transactions.frequency": round(count / (WINDOW / 30), 3),
        "transactions.first_order_date": _date(AS_OF - dt.timedelta(days=tenure)),
        "transactions.last_order_date": _date(AS_OF - dt.timedelta(days=recency)),
        "transactions.tenure_days": tenure,
        "transactions.recency_days": recency,
        "transactions.avg_order_value": _money(annual_revenue / orders_year),
        "transactions.max_order_value": _money(annual_revenue / orders_year * rnd.uniform(1.5, 6)),
        "transactions.revenue": _money(revenue),
        "transactions.revenue_previous": _money(revenue_prev),
        "transactions.annual_revenue": _money(annual_revenue),
        "transactions.annual_profit": _money(annual_profit),
        "transactions.marketing_cost": _money(marketing_cost),
        "transactions.service_cost": _money(annual_revenue * rnd.uniform(0.02, 0.1)),
        "transactions.profit_margin": round(margin, 4),
        "transactions.growth_rate": round(growth, 4),
        "transactions.returns_count": rnd.choices([0, 1, 2, 5], [0.7, 0.15, 0.1, 0.05])[0],
        "transactions.returns_amount": _money(rnd.uniform(0, 0.02) * annual_revenue),
        "credit.arrears": _money(annual_revenue * rnd.uniform(0, 0.1)),
        "credit.overdue_payments": overdue,
        "credit.avg_collection_days": round(rnd.uniform(15, 90), 1),
        "credit.arrears_ratio": round(min(1.0, rnd.betavariate(1, 12)), 4),
        "credit.rating": rnd.choice(["AAA", "AA", "A", "BBB", "BB"]),
        "loyalty.praise_count": rnd.randint(0, 6),
        "loyalty.complaint_count": complaints,
        "loyalty.suggestion_count": rnd.randint(0, 3),
        "loyalty.satisfaction": round(min(1.0, max(0.0, rnd.gauss(0.78, 0.15))), 3),
        "loyalty.campaign_response_rate": round(rnd.uniform(0, 0.6), 3),
        "loyalty.repeat_purchase_rate": round(rnd.uniform(0.2, 1.0), 3),
        "loyalty.open_complaints": open_c,
        "relationship.stage": stage,
        "relationship.level": rnd.choices(["outsider", "supplier", "friend", "partner"], [0.1, 0.5, 0.25, 0.15])[0],
        "relationship.share_of_wallet": round(sow, 3),
        "relationship.account_manager": rnd.choice(_MANAGERS),
        "relationship.dedicated_manager": "true" if rnd.random() < 0.3 else "false",
        "relationship.contract_active": "true" if rnd.random() < 0.75 else "false",
        "relationship.strategic_agreement": "true" if stage == "strategic" and rnd.random() < 0.6 else "false",
        "relationship.previous_tier": rnd.choices(["platinum", "gold", "iron", "lead", ""],
                                                  [0.1, 0.2, 0.4, 0.15, 0.15])[0],
        "relationship.since": _date(since),
        "relationship.last_contact_date": _date(AS_OF - dt.timedelta(days=rnd.randint(0, 120))),
        "relationship.last_executive_visit": _date(AS_OF - dt.timedelta(days=rnd.randint(10, 500))),
        "signals.customer_reason": reason,
        "signals.competitor_offer": "true" if rnd.random() < 0.12 else "false",
        "signals.moved_to_competitor": "true" if rnd.random() < 0.03 else "false",
        "signals.fraud": "true" if rnd.random() < 0.01 else "false",
        "signals.bad_credit": "true" if overdue >= 5 and rnd.random() < 0.5 else "false",
        "signals.financial_distress": "true" if rnd.random() < 0.03 else "false",
        "signals.potential_value": _money(annual_revenue * math.exp(rnd.gauss(0.4, 0.5))),
    }
    for col in sorted(_OFTEN_BLANK):
        if rnd.random() < 0.06:
            row[col] = ""
    return row


def portfolio(n: int = N, seed: int = SEED) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    rows = [account(i + 1, rnd) for i in range(n)]
    # unusual but valid values
    rows[4]["transactions.marketing_cost"] = 0  # no marketing cost allocated: contribution unknown
    rows[9]["transactions.annual_profit"] = -48250.5  # loses money
    rows[14]["relationship.share_of_wallet"] = 1.0  # sole supplier
    rows[14]["relationship.stage"] = "stable"
    rows[19].update({"transactions.recency_days": 2400, "transactions.count": 0, "transactions.revenue": 0,
                     "transactions.frequency": 0,
                     "transactions.last_order_date": _date(AS_OF - dt.timedelta(days=2400)),
                     "transactions.tenure_days": 3000,
                     "transactions.first_order_date": _date(AS_OF - dt.timedelta(days=3000))})
    rows[24]["transactions.annual_revenue"] = rows[24]["transactions.annual_revenue"] * 40  # one giant
    rows[29].update({"transactions.annual_profit": "", "transactions.marketing_cost": ""})  # not measured
    return rows


def with_errors(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same portfolio with three rows bad on purpose: they become errors, the others are decided."""
    rows = [dict(r) for r in rows]
    rows[49]["relationship.share_of_wallet"] = 1.7
    rows[99]["relationship.last_contact_date"] = "2026-13-01"
    rows[149]["relationship.stage"] = "stabel"
    return rows


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:  # BOM: Excel shows the Chinese names
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    here = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    rows = portfolio()
    write(here / "accounts.csv", rows)
    write(here / "accounts_with_errors.csv", with_errors(rows))
    print(f"wrote {N} accounts to {here / 'accounts.csv'} and {here / 'accounts_with_errors.csv'}")
