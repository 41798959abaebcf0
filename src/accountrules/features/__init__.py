"""Derive account fields from a raw order/shipment log (needs the ``arrow`` extra)."""

from __future__ import annotations

from accountrules.features.derive import (
    ColumnMap,
    InputFormat,
    Occasion,
    Orders,
    accounts_from_table,
    derive_accounts,
    derive_features,
)

__all__ = [
    "ColumnMap",
    "InputFormat",
    "Occasion",
    "Orders",
    "accounts_from_table",
    "derive_accounts",
    "derive_features",
]
