"""`bedrock_key_config` on a key: static AWS credentials and region, env.VAR references."""

from __future__ import annotations

from typing import Any

import pytest

from bifrost.config.loader import ConfigInvalid, parse_config
from bifrost.config.model import BedrockKeyConfig


def _raw(cfg: Any, value: str = "") -> dict[str, Any]:
    return {"providers": {"bedrock": {"keys": [{"name": "k", "value": value, "models": [], "weight": 1,
                                                "bedrock_key_config": cfg}]}}}


def test_static_credentials_from_env() -> None:
    env = {"AK": "AKID", "SK": "secret"}
    res = parse_config(_raw({"access_key": "env.AK", "secret_key": "env.SK", "region": "eu-west-1",
                             "arn": "arn:aws:bedrock:..."}), env)
    key = res.config.providers["bedrock"].keys[0]
    assert key.bedrock == BedrockKeyConfig(access_key="AKID", secret_key="secret", region="eu-west-1")
    assert key.has_credential and key.unresolved is None
    assert not any("bedrock_key_config.arn" in w and "unknown" in w for w in res.warnings)


def test_unset_variable_makes_the_key_unusable_with_a_message() -> None:
    res = parse_config(_raw({"access_key": "env.NOPE_AK", "secret_key": "env.NOPE_SK"}), {})
    key = res.config.providers["bedrock"].keys[0]
    assert key.unresolved is not None and "NOPE_AK" in key.unresolved


def test_region_only_uses_the_default_chain() -> None:
    key = parse_config(_raw({"region": "us-west-2"}), {}).config.providers["bedrock"].keys[0]
    assert key.bedrock is not None and key.bedrock.access_key is None and key.has_credential


def test_half_a_key_pair_is_a_problem() -> None:
    with pytest.raises(ConfigInvalid) as ei:
        parse_config(_raw({"access_key": "AKID"}), {})
    assert any("access_key and secret_key go together" in p for p in ei.value.problems)
