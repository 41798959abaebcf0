"""Turn what callers pass (Account, dict) into a validated Account and its flat env."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from accountrules.errors import AccountValidationError
from accountrules.model.account import Account
from accountrules.model.fields import account_env


def problems_of(e: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in e.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(account)"
        out.append((path, err["msg"]))
    return out


def to_account(obj: Account | Mapping[str, Any], row: int | None = None) -> Account:
    if type(obj) is not dict:  # a plain dict, the usual input, skips two ABC isinstance checks
        if isinstance(obj, Account):
            return obj
        if not isinstance(obj, Mapping):
            raise AccountValidationError(
                [("(account)", f"expected an Account or a mapping, got {type(obj).__name__}")], row=row)
    try:
        return Account.model_validate(obj)
    except ValidationError as e:
        aid = obj.get("id")
        raise AccountValidationError(problems_of(e), account_id=str(aid) if aid is not None else None,
                                     row=row) from None


def coerce_extra(name: str, kind: str, v: Any) -> Any:
    if v is None or v == "":
        return None
    if kind == "number" and isinstance(v, int | float) and not isinstance(v, bool):
        return v
    if kind == "number" and isinstance(v, str):
        try:
            return float(v) if any(c in v for c in ".eE") else int(v)
        except ValueError:
            pass
    if kind == "string" and isinstance(v, str):
        return v
    if kind == "bool":
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false", "1", "0", "yes", "no"):
            return v.lower() in ("true", "1", "yes")
    if kind == "date":
        if isinstance(v, dt.date):
            return v
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                pass
    raise ValueError(f"expected {kind}, got {v!r}")


def env_of(account: Account, extra_fields: Mapping[str, str], row: int | None = None) -> dict[str, Any]:
    env = account_env(account, extra_fields)
    problems = []
    for name, kind in extra_fields.items():
        key = "extra." + name
        try:
            env[key] = coerce_extra(name, kind, env[key])
        except ValueError as e:
            problems.append((key, str(e)))
    if problems:
        raise AccountValidationError(problems, account_id=account.id, row=row)
    return env
