"""The live governance view: entities by id, virtual keys by the SHA-256 of their value.

Built from the config store's bodies and changed in place by the management API (no restart).
Readers on the request path only do dict lookups here.
"""

from __future__ import annotations

import logging
from typing import Any

from bifrost.governance.model import (
    Budget,
    Customer,
    GovernanceError,
    ProviderConfig,
    RateLimit,
    Team,
    VirtualKey,
    parse_budget,
    parse_rate_limit,
    parse_virtual_key,
)

log = logging.getLogger("bifrost.governance")

KINDS = ("budgets", "rate_limits", "customers", "teams", "virtual_keys")


class Chain:
    """Everything one virtual key's request is checked and charged against, in order."""

    __slots__ = ("vk", "pc", "budgets", "rate_limits")

    def __init__(self, vk: VirtualKey, pc: ProviderConfig | None, budgets: list[Budget],
                 rate_limits: list[RateLimit]) -> None:
        self.vk = vk
        self.pc = pc
        self.budgets = budgets
        self.rate_limits = rate_limits


class GovernanceIndex:
    def __init__(self) -> None:
        self.budgets: dict[str, Budget] = {}
        self.rate_limits: dict[str, RateLimit] = {}
        self.customers: dict[str, Customer] = {}
        self.teams: dict[str, Team] = {}
        self.vks: dict[str, VirtualKey] = {}
        self.by_hash: dict[str, VirtualKey] = {}
        # Budgets that name their owner (Bifrost's newer shape: budgets[].virtual_key_id / team_id / ...).
        self.owned: dict[tuple[str, str], list[str]] = {}
        self._bodies: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}

    def load(self, docs: dict[str, dict[str, dict[str, Any]]]) -> None:
        for kind in KINDS:  # budgets and rate limits first: the others refer to them
            for eid, body in docs.get(kind, {}).items():
                try:
                    self.put(kind, body)
                except GovernanceError as exc:
                    log.error("governance %s %s is invalid and was not loaded: %s", kind, eid, exc)

    def put(self, kind: str, body: dict[str, Any]) -> None:
        eid = str(body["id"])
        if kind == "budgets":
            self.budgets[eid] = parse_budget(body, f"budgets[{eid}]")
            for owner in ("virtual_key_id", "team_id", "customer_id", "provider_config_id"):
                if body.get(owner) is not None:
                    ids = self.owned.setdefault((owner, str(body[owner])), [])
                    if eid not in ids:
                        ids.append(eid)
        elif kind == "rate_limits":
            self.rate_limits[eid] = parse_rate_limit(body, f"rate_limits[{eid}]")
        elif kind == "customers":
            self.customers[eid] = Customer(id=eid, name=str(body.get("name", "")), budget_id=body.get("budget_id"),
                                           rate_limit_id=body.get("rate_limit_id"))
        elif kind == "teams":
            self.teams[eid] = Team(id=eid, name=str(body.get("name", "")), customer_id=body.get("customer_id"),
                                   budget_id=body.get("budget_id"), rate_limit_id=body.get("rate_limit_id"))
        elif kind == "virtual_keys":
            vk = parse_virtual_key(body, f"virtual_keys[{eid}]")
            old = self.vks.get(eid)
            if old is not None:
                self.by_hash.pop(old.value_hash, None)
            self.vks[eid] = vk
            if vk.value_hash:
                self.by_hash[vk.value_hash] = vk
        self._bodies[kind][eid] = body

    def delete(self, kind: str, eid: str) -> None:
        self._bodies[kind].pop(eid, None)
        if kind == "virtual_keys":
            vk = self.vks.pop(eid, None)
            if vk is not None:
                self.by_hash.pop(vk.value_hash, None)
        else:
            getattr(self, kind).pop(eid, None)
        if kind == "budgets":
            for ids in self.owned.values():
                if eid in ids:
                    ids.remove(eid)

    def body(self, kind: str, eid: str) -> dict[str, Any] | None:
        return self._bodies[kind].get(eid)

    def bodies(self, kind: str) -> list[dict[str, Any]]:
        return list(self._bodies[kind].values())

    def chain(self, vk: VirtualKey, provider: str) -> Chain:
        """The budgets and rate limits of the key, its provider config, its team and its customer."""
        pc = next((p for p in vk.provider_configs if p.provider == provider), None)
        budget_ids: list[str | None] = [vk.budget_id, *self.owned.get(("virtual_key_id", vk.id), [])]
        rl_ids: list[str | None] = [vk.rate_limit_id]
        if pc is not None:
            budget_ids.append(pc.budget_id)
            if pc.id is not None:
                budget_ids.extend(self.owned.get(("provider_config_id", str(pc.id)), []))
            rl_ids.append(pc.rate_limit_id)
        customer_id = vk.customer_id
        team = self.teams.get(vk.team_id) if vk.team_id else None
        if team is not None:
            budget_ids.extend([team.budget_id, *self.owned.get(("team_id", team.id), [])])
            rl_ids.append(team.rate_limit_id)
            customer_id = customer_id or team.customer_id
        customer = self.customers.get(customer_id) if customer_id else None
        if customer is not None:
            budget_ids.extend([customer.budget_id, *self.owned.get(("customer_id", customer.id), [])])
            rl_ids.append(customer.rate_limit_id)
        budgets = [self.budgets[b] for b in dict.fromkeys(budget_ids) if b and b in self.budgets]
        rls = [self.rate_limits[r] for r in dict.fromkeys(rl_ids) if r and r in self.rate_limits]
        return Chain(vk, pc, budgets, rls)
