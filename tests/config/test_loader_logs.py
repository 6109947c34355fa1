"""`client.log_retention_days`, `enable_logging` and `disable_content_logging` as Bifrost reads them."""

from __future__ import annotations

import pytest

from bifrost.config.loader import ConfigInvalid, parse_config


def test_log_retention_days_defaults_to_a_year_and_is_read() -> None:
    assert parse_config({}, {}).config.client.log_retention_days == 365
    cfg = parse_config({"client": {"log_retention_days": 7, "disable_content_logging": True}}, {}).config
    assert cfg.client.log_retention_days == 7 and cfg.client.disable_content_logging
    assert not any("log_retention_days" in w for w in parse_config(
        {"client": {"log_retention_days": 7}}, {}).warnings + parse_config({}, {}).notices)


@pytest.mark.parametrize("bad", [0, -1, "30", 1.5])
def test_a_bad_log_retention_days_names_the_field(bad: object) -> None:
    with pytest.raises(ConfigInvalid) as ei:
        parse_config({"client": {"log_retention_days": bad}}, {})
    assert any("$.client.log_retention_days" in p for p in ei.value.problems)
