"""Governance entities in Bifrost's JSON shapes (`governance` in config.json, /api/governance/*).

Customers own teams, teams (or customers) own virtual keys, virtual keys own provider configs;
any of them may point at a budget (`budget_id`) and a rate limit (`rate_limit_id`). Bodies are
kept as Bifrost writes them; these Structs are the parsed, validated view the plugin uses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import msgspec

VK_PREFIX = "sk-bf-"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400, "Y": 365 * 86400}
_DURATION = re.compile(r"^(\d+)([smhdwMY])$")
# Calendar-aligned windows carry the calendar period in the counter key, and use this window.
CALENDAR_WINDOW_S = 10 * 365 * 86400.0


class GovernanceError(ValueError):
    """A governance body that cannot be used; the message names the field and the fix."""


def parse_duration(value: Any, field: str) -> float:
    """'30s', '5m', '1h', '1d', '1w', '1M' (30 days), '1Y' (365 days) -> seconds."""
    m = _DURATION.match(value) if isinstance(value, str) else None
    if m is None or int(m.group(1)) <= 0:
        raise GovernanceError(f"{field}: invalid reset duration {value!r}; use a positive number and a unit, "
                              "e.g. 30s, 5m, 1h, 1d, 1w, 1M or 1Y")
    return float(int(m.group(1)) * _UNITS[m.group(2)])


def calendar_period(duration: str, now: float) -> str | None:
    """The calendar period a calendar-aligned window is in ('2026-11'), or None when not calendar-shaped."""
    m = _DURATION.match(duration)
    if m is None or m.group(1) != "1" or m.group(2) not in "dwMY":
        return None
    t = dt.datetime.fromtimestamp(now, dt.UTC)
    unit = m.group(2)
    if unit == "d":
        return t.strftime("%Y-%m-%d")
    if unit == "w":
        year, week, _ = t.isocalendar()
        return f"{year}-W{week:02d}"
    return t.strftime("%Y-%m") if unit == "M" else t.strftime("%Y")


def hash_vk(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Budget(msgspec.Struct, kw_only=True):
    id: str
    max_limit: float
    reset_duration: str
    calendar_aligned: bool = False
    window_s: float = 0.0


class RateLimit(msgspec.Struct, kw_only=True):
    id: str
    token_max_limit: int | None = None
    token_reset_duration: str | None = None
    request_max_limit: int | None = None
    request_reset_duration: str | None = None
    calendar_aligned: bool = False
    token_window_s: float = 0.0
    request_window_s: float = 0.0


class Customer(msgspec.Struct, kw_only=True):
    id: str
    name: str
    budget_id: str | None = None
    rate_limit_id: str | None = None


class Team(msgspec.Struct, kw_only=True):
    id: str
    name: str
    customer_id: str | None = None
    budget_id: str | None = None
    rate_limit_id: str | None = None


class ProviderConfig(msgspec.Struct, kw_only=True):
    provider: str
    id: int | None = None
    weight: float | None = None
    allowed_models: list[str] = msgspec.field(default_factory=list)
    blacklisted_models: list[str] = msgspec.field(default_factory=list)
    budget_id: str | None = None
    rate_limit_id: str | None = None
    key_ids: list[str] | None = None


class VirtualKey(msgspec.Struct, kw_only=True):
    id: str
    name: str
    value_hash: str = ""
    description: str = ""
    is_active: bool = True
    expires_at: float | None = None  # unix seconds
    team_id: str | None = None
    customer_id: str | None = None
    budget_id: str | None = None
    rate_limit_id: str | None = None
    allowed_models: list[str] = msgspec.field(default_factory=list)
    blacklisted_models: list[str] = msgspec.field(default_factory=list)
    provider_configs: list[ProviderConfig] = msgspec.field(default_factory=list)


def _convert(body: dict[str, Any], cls: type[Any], where: str) -> Any:
    fields = set(cls.__struct_fields__)
    try:
        return msgspec.convert({k: v for k, v in body.items() if k in fields}, cls)
    except msgspec.ValidationError as exc:
        raise GovernanceError(f"{where}: {exc}; fix the field and try again") from None


def parse_budget(body: dict[str, Any], where: str = "budget") -> Budget:
    b: Budget = _convert(body, Budget, where)
    if b.max_limit < 0:
        raise GovernanceError(f"{where}.max_limit cannot be negative: {b.max_limit:.2f}; use 0 or more (USD)")
    b.window_s = parse_duration(b.reset_duration, f"{where}.reset_duration")
    return b


def parse_rate_limit(body: dict[str, Any], where: str = "rate_limit") -> RateLimit:
    r: RateLimit = _convert(body, RateLimit, where)
    if r.token_max_limit is not None:
        r.token_window_s = parse_duration(r.token_reset_duration, f"{where}.token_reset_duration")
    if r.request_max_limit is not None:
        r.request_window_s = parse_duration(r.request_reset_duration, f"{where}.request_reset_duration")
    return r


def parse_expires(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise GovernanceError(f"{where}.expires_at: {value!r} is not an RFC 3339 time; "
                              "use e.g. \"2030-01-01T00:00:00Z\"") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def parse_virtual_key(body: dict[str, Any], where: str = "virtual_key") -> VirtualKey:
    if body.get("team_id") and body.get("customer_id"):
        raise GovernanceError(f"{where}: VirtualKey cannot be attached to both Team and Customer; "
                              "set team_id or customer_id, not both")
    data = {k: v for k, v in body.items() if k != "expires_at"}
    vk: VirtualKey = _convert(data, VirtualKey, where)
    vk.expires_at = parse_expires(body.get("expires_at"), where)
    return vk


def model_matches(patterns: list[str], provider: str, model: str) -> bool:
    for p in patterns:
        if p == "*" or p == model or p == f"{provider}/{model}":
            return True
    return False
