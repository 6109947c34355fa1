"""Governance: virtual keys, budgets and rate limits (Bifrost's governance plugin)."""
