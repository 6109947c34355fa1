"""bifrost.engine.keys.KeySelector: weighted random choice among the keys that admit a model."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from bifrost.config.loader import parse_config
from bifrost.config.model import Key, ProviderConfig
from bifrost.engine.keys import KeySelector
from bifrost.schemas.errors import ConfigError, RequestError


def selector(*keys: Key, seed: int = 1234) -> KeySelector:
    return KeySelector(ProviderConfig(name="openai", keys=keys), random.Random(seed))


def draw(sel: KeySelector, model: str, n: int) -> Counter[str]:
    return Counter(sel.select(model).name for _ in range(n))


def test_single_key_is_always_chosen() -> None:
    sel = selector(Key(name="only", value="sk"))
    assert draw(sel, "gpt-4o", 50) == {"only": 50}


def test_weighted_distribution() -> None:
    sel = selector(Key(name="a", value="1", weight=3), Key(name="b", value="2", weight=1))
    n = 20000
    counts = draw(sel, "gpt-4o", n)
    assert abs(counts["a"] / n - 0.75) < 0.02
    assert abs(counts["b"] / n - 0.25) < 0.02


def test_fractional_weights_three_keys() -> None:
    sel = selector(Key(name="a", value="1", weight=0.5), Key(name="b", value="2", weight=0.3),
                   Key(name="c", value="3", weight=0.2))
    n = 30000
    counts = draw(sel, "m", n)
    for name, share in (("a", 0.5), ("b", 0.3), ("c", 0.2)):
        assert abs(counts[name] / n - share) < 0.02, counts


def test_same_seed_same_sequence() -> None:
    keys = (Key(name="a", value="1"), Key(name="b", value="2"), Key(name="c", value="3"))
    s1, s2 = selector(*keys, seed=7), selector(*keys, seed=7)
    assert [s1.select("m").name for _ in range(100)] == [s2.select("m").name for _ in range(100)]


def test_zero_weight_key_is_never_chosen_when_others_have_weight() -> None:
    sel = selector(Key(name="zero", value="1", weight=0), Key(name="one", value="2", weight=1))
    assert draw(sel, "m", 2000) == {"one": 2000}


def test_all_zero_weights_fall_back_to_uniform() -> None:
    sel = selector(Key(name="a", value="1", weight=0), Key(name="b", value="2", weight=0))
    n = 10000
    counts = draw(sel, "m", n)
    assert abs(counts["a"] / n - 0.5) < 0.03 and counts["a"] + counts["b"] == n


def test_models_filter() -> None:
    sel = selector(
        Key(name="mini", value="1", models=("gpt-4o-mini",)),
        Key(name="big", value="2", models=("gpt-4o", "o3")),
    )
    assert draw(sel, "gpt-4o-mini", 200) == {"mini": 200}
    assert draw(sel, "o3", 200) == {"big": 200}


def test_star_and_empty_lists_admit_everything_in_version_1() -> None:
    sel = selector(Key(name="star", value="1", models=("*",)), Key(name="empty", value="2", models=()),
                   Key(name="other", value="3", models=("x",)))
    counts = draw(sel, "anything", 3000)
    assert set(counts) == {"star", "empty"}


def test_empty_list_denies_in_version_2() -> None:
    sel = selector(Key(name="star", value="1", models=("*",), empty_denies=True),
                   Key(name="empty", value="2", models=(), empty_denies=True))
    assert draw(sel, "anything", 500) == {"star": 500}


def test_no_key_for_model_is_a_request_error() -> None:
    sel = selector(Key(name="mini", value="1", models=("gpt-4o-mini",)))
    with pytest.raises(RequestError) as ei:
        sel.select("gpt-4o")
    e = ei.value
    assert e.status == 400
    assert e.message == ("no keys found that support model 'gpt-4o' for provider 'openai'; add the model to a key's "
                         "\"models\" list in providers.openai.keys (or use [\"*\"])")
    assert e.provider == "openai" and e.model == "gpt-4o"


def test_version_2_empty_models_only_is_a_request_error() -> None:
    sel = selector(Key(name="empty", value="1", models=(), empty_denies=True))
    with pytest.raises(RequestError):
        sel.select("gpt-4o")


def test_unresolved_env_key_message() -> None:
    raw = {"providers": {"openai": {"keys": [{"name": "k", "value": "env.OPENAI_API_KEY"}]}}}
    cfg = parse_config(raw, {}).config.providers["openai"]
    sel = KeySelector(cfg, random.Random(0))
    with pytest.raises(ConfigError) as ei:
        sel.select("gpt-4o")
    e = ei.value
    assert e.status == 500 and e.type == "configuration_error"
    assert e.message == (
        "no usable key for provider 'openai': env.OPENAI_API_KEY: not set (providers.openai.keys[0].value); "
        "set the variable and restart the gateway, or change the key in config.json"
    )


def test_empty_value_key_message() -> None:
    sel = selector(Key(name="blank", value=""))
    with pytest.raises(ConfigError) as ei:
        sel.select("m")
    assert "key 'blank' has an empty value" in ei.value.message


def test_unresolved_key_is_skipped_when_another_is_usable() -> None:
    sel = selector(Key(name="missing", value="", unresolved="env.X: not set (providers.openai.keys[0].value)"),
                   Key(name="ok", value="sk"))
    assert draw(sel, "m", 300) == {"ok": 300}


def test_eligible_keys_are_cached_per_model() -> None:
    sel = selector(Key(name="a", value="1"), Key(name="b", value="2"))
    sel.select("m1")
    sel.select("m1")
    sel.select("m2")
    assert set(sel._cache) == {"m1", "m2"}
