"""bifrost.config.loader.parse_config: defaults, every field, env.VAR, warnings/notices, all problems at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bifrost.config.loader import ConfigInvalid, LoadResult, load_config, parse_config
from bifrost.config.model import (
    DEFAULT_BACKOFF_INITIAL_MS,
    DEFAULT_BACKOFF_MAX_MS,
    DEFAULT_BUFFER_SIZE,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_BODY_MB,
    DEFAULT_STREAM_IDLE_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
)


def parse(raw: Any, env: dict[str, str] | None = None) -> LoadResult:
    return parse_config(raw, env or {})


def problems(raw: Any, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigInvalid) as ei:
        parse(raw, env)
    return ei.value.problems


def one_provider(**fields: Any) -> dict[str, Any]:
    return {"providers": {"openai": {"keys": [{"name": "k", "value": "sk-1", "models": [], "weight": 1}],
                                     **fields}}}


# --------------------------------------------------------------------------- defaults


def test_empty_config_has_defaults() -> None:
    res = parse({})
    cfg = res.config
    assert cfg.version == 1
    assert cfg.providers == {}
    assert cfg.source == "config.json"
    c = cfg.client
    assert c.drop_excess_requests is False
    assert c.initial_pool_size == 300
    assert c.max_request_body_size_mb == DEFAULT_MAX_BODY_MB == 100
    assert c.allowed_origins == ("*",)
    assert c.allowed_headers == ()
    assert c.prometheus_labels == ()
    assert c.enable_logging is True
    assert c.disable_content_logging is False
    assert c.disable_db_pings_in_health is False
    assert c.shutdown_grace_seconds == 55.0
    assert res.warnings == [] and res.notices == []


def test_provider_defaults() -> None:
    p = parse({"providers": {"openai": {}}}).config.providers["openai"]
    assert p.name == "openai" and p.keys == () and p.custom is None and p.unresolved == ()
    n = p.network
    assert n.base_url is None and n.extra_headers == {}
    assert n.timeout_s == DEFAULT_TIMEOUT_S == 30
    assert n.max_retries == 0
    assert (n.backoff_initial_ms, n.backoff_max_ms) == (DEFAULT_BACKOFF_INITIAL_MS, DEFAULT_BACKOFF_MAX_MS)
    assert n.stream_idle_timeout_s == DEFAULT_STREAM_IDLE_TIMEOUT_S
    assert n.max_conns_per_host == 5000
    assert (p.queue.concurrency, p.queue.buffer_size) == (DEFAULT_CONCURRENCY, DEFAULT_BUFFER_SIZE)
    assert p.base_type == "openai"


def test_key_defaults() -> None:
    k = parse({"providers": {"openai": {"keys": [{"value": "sk"}]}}}).config.providers["openai"].keys[0]
    assert k.name == "key-0" and k.value == "sk" and k.models == () and k.weight == 1.0
    assert k.unresolved is None and k.empty_denies is False
    assert k.admits("anything")


# --------------------------------------------------------------------------- every field


FULL = {
    "$schema": "https://www.getbifrost.ai/schema",
    "version": 2,
    "client": {
        "drop_excess_requests": True,
        "initial_pool_size": 50,
        "max_request_body_size_mb": 7,
        "allowed_origins": ["https://a.example", "https://b.example"],
        "allowed_headers": ["x-team"],
        "prometheus_labels": ["team", "env"],
        "enable_logging": False,
        "disable_content_logging": True,
        "disable_db_pings_in_health": True,
        "shutdown_grace_seconds": 2.5,
    },
    "providers": {
        "openai": {
            "keys": [
                {"name": "primary", "value": "sk-a", "models": ["gpt-4o", "gpt-4o-mini"], "weight": 0.7},
                {"name": "backup", "value": "sk-b", "models": ["*"], "weight": 0.3},
            ],
            "network_config": {
                "base_url": "http://127.0.0.1:9999/",
                "extra_headers": {"x-org": "acme"},
                "default_request_timeout_in_seconds": 12.5,
                "max_retries": 3,
                "retry_backoff_initial": 100,
                "retry_backoff_max": 800,
                "stream_idle_timeout_in_seconds": 20,
                "max_conns_per_host": 64,
            },
            "concurrency_and_buffer_size": {"concurrency": 4, "buffer_size": 8},
        },
        "my-llm": {
            "keys": [{"name": "m", "value": "sk-m", "models": [], "weight": 1}],
            "custom_provider_config": {
                "base_provider_type": "openai",
                "is_key_less": True,
                "allowed_requests": {"chat_completion": True, "embedding": False},
                "request_path_overrides": {"chat_completion": "/chat"},
            },
            "network_config": {"base_url": "https://llm.internal"},
        },
    },
}


def test_every_field_is_read() -> None:
    res = parse(FULL)
    assert res.warnings == [] and res.notices == []
    cfg = res.config
    assert cfg.version == 2
    c = cfg.client
    assert c.drop_excess_requests is True
    assert c.initial_pool_size == 50
    assert c.max_request_body_size_mb == 7
    assert c.allowed_origins == ("https://a.example", "https://b.example")
    assert c.allowed_headers == ("x-team",)
    assert c.prometheus_labels == ("team", "env")
    assert c.enable_logging is False
    assert c.disable_content_logging is True
    assert c.disable_db_pings_in_health is True
    assert c.shutdown_grace_seconds == 2.5

    p = cfg.providers["openai"]
    assert [k.name for k in p.keys] == ["primary", "backup"]
    assert p.keys[0].value == "sk-a" and p.keys[0].models == ("gpt-4o", "gpt-4o-mini")
    assert p.keys[0].weight == 0.7 and p.keys[1].weight == 0.3
    assert all(k.empty_denies for k in p.keys)  # version 2
    n = p.network
    assert n.base_url == "http://127.0.0.1:9999"  # trailing slash dropped
    assert n.extra_headers == {"x-org": "acme"}
    assert n.timeout_s == 12.5
    assert n.max_retries == 3
    assert (n.backoff_initial_ms, n.backoff_max_ms) == (100, 800)
    assert n.stream_idle_timeout_s == 20
    assert n.max_conns_per_host == 64
    assert (p.queue.concurrency, p.queue.buffer_size) == (4, 8)

    m = cfg.providers["my-llm"]
    assert m.custom is not None
    assert m.custom.base_provider_type == "openai" and m.base_type == "openai"
    assert m.custom.is_key_less is True
    assert m.custom.allowed_requests == {"chat_completion": True, "embedding": False}
    assert m.custom.request_path_overrides == {"chat_completion": "/chat"}
    assert m.network.base_url == "https://llm.internal"


def test_load_config_reads_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(FULL))
    res = load_config(tmp_path, {})
    assert res.config.source == str(tmp_path / "config.json")
    assert res.config.providers["openai"].queue.concurrency == 4


def test_load_config_invalid_json_is_one_problem(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"providers": ')
    with pytest.raises(ConfigInvalid) as ei:
        load_config(tmp_path, {})
    assert len(ei.value.problems) == 1 and ei.value.problems[0].startswith("$: not valid JSON")


def test_no_config_file_enables_providers_from_environment(tmp_path: Path) -> None:
    res = load_config(tmp_path, {"OPENAI_API_KEY": "sk-env", "GROQ_API_KEY": ""})
    assert list(res.config.providers) == ["openai"]
    assert res.config.providers["openai"].keys[0].value == "sk-env"
    assert res.config.source == "environment"
    assert res.notices == ["no config.json found; providers enabled from the environment: openai (OPENAI_API_KEY)"]


def test_top_level_must_be_an_object() -> None:
    assert problems([1, 2]) == ["$: expected an object, found an array"]


# --------------------------------------------------------------------------- env.VAR


def test_env_references_are_resolved() -> None:
    raw = one_provider(network_config={"base_url": "env.BASE", "extra_headers": {"x-t": "env.TEAM"}})
    raw["providers"]["openai"]["keys"][0]["value"] = "env.OPENAI_API_KEY"
    raw["client"] = {"drop_excess_requests": "env.DROP"}
    res = parse(raw, {"OPENAI_API_KEY": "sk-from-env", "BASE": "http://h:1", "TEAM": "core", "DROP": "true"})
    p = res.config.providers["openai"]
    assert p.keys[0].value == "sk-from-env" and p.keys[0].unresolved is None
    assert p.network.base_url == "http://h:1" and p.network.extra_headers == {"x-t": "core"}
    assert res.config.client.drop_excess_requests is True
    assert p.unresolved == () and res.warnings == []


def test_unset_env_key_exact_message() -> None:
    raw = one_provider()
    raw["providers"]["openai"]["keys"][0]["value"] = "env.OPENAI_API_KEY"
    res = parse(raw, {})
    msg = "env.OPENAI_API_KEY: not set (providers.openai.keys[0].value)"
    assert res.warnings == [msg]
    k = res.config.providers["openai"].keys[0]
    assert k.value == "" and k.unresolved == msg


def test_set_but_empty_env_var_is_resolved_not_unset() -> None:
    raw = one_provider()
    raw["providers"]["openai"]["keys"][0]["value"] = "env.OPENAI_API_KEY"
    res = parse(raw, {"OPENAI_API_KEY": ""})
    k = res.config.providers["openai"].keys[0]
    assert k.unresolved is None and k.value == "" and res.warnings == []


def test_unset_env_base_url_marks_the_provider_unusable() -> None:
    res = parse(one_provider(network_config={"base_url": "env.MY_BASE"}), {})
    p = res.config.providers["openai"]
    msg = "env.MY_BASE: not set (providers.openai.network_config.base_url)"
    assert p.unresolved == (msg,)
    assert p.network.base_url is None
    assert msg in res.warnings


def test_bare_env_prefix_is_a_problem() -> None:
    raw = one_provider()
    raw["providers"]["openai"]["keys"][0]["value"] = "env."
    assert problems(raw) == ['$.providers.openai.keys[0].value: expected env.VAR_NAME, found string "env."']


# --------------------------------------------------------------------------- unknown / not implemented


def test_unknown_keys_warn_with_path() -> None:
    raw = one_provider(network_config={"base_urll": "http://x"}, colour="blue")
    raw["client"] = {"drop_excess_request": True}
    raw["provders"] = {}
    raw["providers"]["openai"]["keys"][0]["modles"] = ["x"]
    res = parse(raw)
    assert sorted(res.warnings) == sorted([
        "$.provders: unknown key, ignored (check the spelling)",
        "$.client.drop_excess_request: unknown key, ignored (check the spelling)",
        "$.providers.openai.colour: unknown key, ignored (check the spelling)",
        "$.providers.openai.network_config.base_urll: unknown key, ignored (check the spelling)",
        "$.providers.openai.keys[0].modles: unknown key, ignored (check the spelling)",
    ])
    assert res.notices == []


def test_bifrost_known_but_unimplemented_keys_are_noted() -> None:
    raw = one_provider(send_back_raw_response=True, network_config={"enforce_http2": True})
    raw["config_store"] = {"enabled": False}
    raw["mcp"] = {}
    raw["client"] = {"enforce_scim_auth": True}
    raw["providers"]["openai"]["keys"][0]["use_for_batch_api"] = True
    res = parse(raw)
    suffix = ": recognised Bifrost setting, not implemented yet; ignored"
    assert sorted(res.notices) == sorted(p + suffix for p in [
        "$.mcp", "$.client.enforce_scim_auth",
        "$.providers.openai.send_back_raw_response", "$.providers.openai.network_config.enforce_http2",
        "$.providers.openai.keys[0].use_for_batch_api",
    ])
    assert res.warnings == []


def test_schema_and_version_are_not_noted() -> None:
    res = parse({"$schema": "https://www.getbifrost.ai/schema", "version": 1})
    assert res.warnings == [] and res.notices == []


# --------------------------------------------------------------------------- invalid values


@pytest.mark.parametrize(("raw", "line"), [
    ({"version": 3}, "$.version: expected a number <= 2, found number 3"),
    ({"version": 0}, "$.version: expected a number >= 1, found number 0"),
    ({"version": "2"}, '$.version: expected an integer, found string "2"'),
    ({"client": []}, "$.client: expected an object, found an array"),
    ({"client": {"drop_excess_requests": "yes"}},
     '$.client.drop_excess_requests: expected true or false, found string "yes"'),
    ({"client": {"drop_excess_requests": 1}}, "$.client.drop_excess_requests: expected true or false, found number 1"),
    ({"client": {"max_request_body_size_mb": 0}},
     "$.client.max_request_body_size_mb: expected a number >= 1, found number 0"),
    ({"client": {"max_request_body_size_mb": 1.5}},
     "$.client.max_request_body_size_mb: expected an integer, found number 1.5"),
    ({"client": {"initial_pool_size": True}}, "$.client.initial_pool_size: expected an integer, found boolean true"),
    ({"client": {"allowed_origins": "*"}}, '$.client.allowed_origins: expected an array of strings, found string "*"'),
    ({"client": {"allowed_origins": ["*", 3]}}, "$.client.allowed_origins[1]: expected a string, found number 3"),
    ({"client": {"shutdown_grace_seconds": -1}},
     "$.client.shutdown_grace_seconds: expected a number >= 0, found number -1"),
    ({"client": {"enable_logging": None, "prometheus_labels": {}}},
     "$.client.prometheus_labels: expected an array of strings, found an object"),
    ({"providers": []}, "$.providers: expected an object, found an array"),
    ({"providers": {"openai": "sk-123"}}, '$.providers.openai: expected an object, found string "sk-123"'),
    ({"providers": {"openai": {"keys": {}}}}, "$.providers.openai.keys: expected an array of keys, found an object"),
    ({"providers": {"openai": {"keys": ["sk"]}}}, '$.providers.openai.keys[0]: expected an object, found string "sk"'),
    ({"providers": {"openai": {"keys": [{"value": 5}]}}},
     "$.providers.openai.keys[0].value: expected a string, found number 5"),
    ({"providers": {"openai": {"keys": [{"value": "sk", "weight": -1}]}}},
     "$.providers.openai.keys[0].weight: expected a number >= 0, found number -1"),
    ({"providers": {"openai": {"keys": [{"value": "sk", "models": "gpt-4o"}]}}},
     '$.providers.openai.keys[0].models: expected an array of strings, found string "gpt-4o"'),
    ({"providers": {"openai": {"network_config": {"max_retries": "3"}}}},
     '$.providers.openai.network_config.max_retries: expected an integer, found string "3"'),
    ({"providers": {"openai": {"network_config": {"base_url": "api.openai.com"}}}},
     '$.providers.openai.network_config.base_url: expected an http:// or https:// URL, found string "api.openai.com"'),
    ({"providers": {"openai": {"network_config": {"default_request_timeout_in_seconds": 0.5}}}},
     "$.providers.openai.network_config.default_request_timeout_in_seconds: expected a number >= 1, "
     "found number 0.5"),
    ({"providers": {"openai": {"network_config": {"stream_idle_timeout_in_seconds": 7200}}}},
     "$.providers.openai.network_config.stream_idle_timeout_in_seconds: expected a number <= 3600, "
     "found number 7200"),
    ({"providers": {"openai": {"network_config": {"max_conns_per_host": 0}}}},
     "$.providers.openai.network_config.max_conns_per_host: expected a number >= 1, found number 0"),
    ({"providers": {"openai": {"network_config": {"extra_headers": {"x-a": 1}}}}},
     "$.providers.openai.network_config.extra_headers.x-a: expected a string, found number 1"),
    ({"providers": {"openai": {"network_config": None, "concurrency_and_buffer_size": {"concurrency": 0}}}},
     "$.providers.openai.concurrency_and_buffer_size.concurrency: expected a number >= 1, found number 0"),
    ({"providers": {"openai": {"network_config": []}}},
     "$.providers.openai.network_config: expected an object, found an array"),
])
def test_each_invalid_value_is_one_problem_line(raw: dict[str, Any], line: str) -> None:
    assert problems(raw) == [line]


def test_buffer_smaller_than_concurrency_is_rejected() -> None:
    raw = one_provider(concurrency_and_buffer_size={"concurrency": 100, "buffer_size": 10})
    assert problems(raw) == [
        "$.providers.openai.concurrency_and_buffer_size.buffer_size: expected a value >= concurrency (100), "
        "found number 10"
    ]


def test_buffer_equal_to_concurrency_is_fine() -> None:
    q = parse(one_provider(concurrency_and_buffer_size={"concurrency": 5, "buffer_size": 5})).config
    assert q.providers["openai"].queue.buffer_size == 5


def test_backoff_max_below_initial_is_rejected() -> None:
    raw = one_provider(network_config={"retry_backoff_initial": 1000, "retry_backoff_max": 200})
    assert problems(raw) == [
        "$.providers.openai.network_config.retry_backoff_max: expected a value >= retry_backoff_initial (1000), "
        "found number 200"
    ]


def test_unknown_provider_is_a_problem_naming_the_fix() -> None:
    (line,) = problems({"providers": {"opnai": {}}})
    assert line.startswith("$.providers.opnai: unknown provider 'opnai'")
    assert '"custom_provider_config": {"base_provider_type": "openai"}' in line


def test_all_problems_are_collected_at_once() -> None:
    raw = {
        "version": 9,
        "client": {"drop_excess_requests": "no", "max_request_body_size_mb": -5},
        "providers": {
            "openai": {
                "keys": [{"value": 1, "weight": "heavy"}],
                "network_config": {"max_retries": "3", "retry_backoff_initial": 900, "retry_backoff_max": 100},
                "concurrency_and_buffer_size": {"concurrency": 10, "buffer_size": 2},
            },
            "nope": {},
        },
    }
    lines = problems(raw)
    assert len(lines) == 9, lines
    for fragment in [
        "$.version:", "$.client.drop_excess_requests:", "$.client.max_request_body_size_mb:",
        "$.providers.openai.keys[0].value:", "$.providers.openai.keys[0].weight:",
        "$.providers.openai.network_config.max_retries:", "$.providers.openai.network_config.retry_backoff_max:",
        "$.providers.openai.concurrency_and_buffer_size.buffer_size:", "$.providers.nope:",
    ]:
        assert sum(line.startswith(fragment) for line in lines) == 1, (fragment, lines)
    for line in lines:
        # JSON path, what was expected, what was found
        assert line.startswith("$.") and ": " in line
    typed = [line for line in lines if "unknown provider" not in line]
    assert all(", found " in line and ": expected " in line for line in typed), typed


def test_config_invalid_carries_source_and_count() -> None:
    with pytest.raises(ConfigInvalid) as ei:
        parse_config({"version": "x", "client": {"enable_logging": 3}}, {}, source="/etc/b/config.json")
    assert ei.value.path == "/etc/b/config.json"
    assert str(ei.value) == "/etc/b/config.json: 2 problem(s)"


# --------------------------------------------------------------------------- custom providers


def test_custom_provider_config() -> None:
    raw = {"providers": {"corp": {
        "keys": [{"value": "sk"}],
        "custom_provider_config": {"base_provider_type": "openai", "request_path_overrides": {"embedding": "/emb"}},
    }}}
    p = parse(raw).config.providers["corp"]
    assert p.custom is not None and p.custom.base_provider_type == "openai"
    assert p.custom.is_key_less is False and p.custom.allowed_requests is None
    assert p.custom.request_path_overrides == {"embedding": "/emb"}


@pytest.mark.parametrize(("base", "fragment"), [
    (None, "expected a provider name such as \"openai\", found null"),
    ("nonsense", 'expected a provider name such as "openai", found string "nonsense"'),
    ("replicate", "'replicate' is not supported as a custom base in this version; use \"openai\""),
])
def test_custom_provider_bad_base(base: Any, fragment: str) -> None:
    raw = {"providers": {"corp": {"custom_provider_config": {"base_provider_type": base}}}}
    lines = problems(raw)
    assert any(line.startswith("$.providers.corp.custom_provider_config.base_provider_type: ") and fragment in line
               for line in lines), lines


def test_custom_provider_unknown_key_warns() -> None:
    raw = {"providers": {"corp": {"custom_provider_config": {"base_provider_type": "openai", "kind": "x"}}}}
    assert parse(raw).warnings == [
        "$.providers.corp.custom_provider_config.kind: unknown key, ignored (check the spelling)"
    ]


# --------------------------------------------------------------------------- version 2 key models


def _keys(version: int) -> tuple:
    raw = {"version": version, "providers": {"openai": {"keys": [
        {"name": "empty", "value": "a", "models": []},
        {"name": "star", "value": "b", "models": ["*"]},
        {"name": "listed", "value": "c", "models": ["gpt-4o"]},
    ]}}}
    return parse(raw).config.providers["openai"].keys


def test_version_1_empty_models_allow_everything() -> None:
    empty, star, listed = _keys(1)
    assert empty.admits("gpt-4o") and empty.admits("o3")
    assert star.admits("o3")
    assert listed.admits("gpt-4o") and not listed.admits("o3")


def test_version_2_empty_models_deny() -> None:
    empty, star, listed = _keys(2)
    assert not empty.admits("gpt-4o") and not empty.admits("o3")
    assert star.admits("o3")
    assert listed.admits("gpt-4o") and not listed.admits("o3")


def test_invalid_config_also_reports_the_warnings_found_on_the_way() -> None:
    raw = {"providers": {"openai": {"keys": [], "network_config": {"max_retries": "x", "retry_backoff_intial": 5}}}}
    with pytest.raises(ConfigInvalid) as e:
        parse_config(raw, {})
    assert e.value.problems == [
        '$.providers.openai.network_config.max_retries: expected an integer, found string "x"']
    assert e.value.warnings == [
        "$.providers.openai.network_config.retry_backoff_intial: unknown key, ignored (check the spelling)"]
