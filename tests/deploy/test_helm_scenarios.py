"""The chart renders with real Helm in every storage and scaling mode, and what it renders is valid
Kubernetes (1.33, strict), a config.json the gateway's own loader accepts, and Secrets for every secret."""

from __future__ import annotations

import json
from typing import Any

import helm_python as helm
import pytest
import yaml
from bifrost_chart import (
    CHART,
    REFERENCE_VALUES,
    TAG,
    Render,
    env_for_loader,
    env_of,
    merge,
    strict_problems,
)

from bifrost.config.loader import ConfigInvalid, parse_config

SECRET_LITERALS = ["sk-live-openai-literal", "enc-passphrase-literal-123", "admin-pw-literal", "pg-pw-literal",
                   "AKIA-literal", "aws-secret-literal"]

SCENARIOS: dict[str, dict[str, Any]] = {
    "defaults": TAG,
    "sqlite-persistence": merge(TAG, {"storage": {"persistence": {"size": "20Gi", "storageClass": "fast-ssd"}}}),
    "existing-claim": merge(TAG, {"storage": {"persistence": {"existingClaim": "bifrost-data"}}}),
    "storage-class-dash": merge(TAG, {"storage": {"persistence": {"storageClass": "-"}}}),
    "sqlite-no-persistence": merge(TAG, {"storage": {"persistence": {"enabled": False}}}),
    "embedded-postgres": merge(TAG, {"storage": {"mode": "postgres"}, "postgresql": {"enabled": True}}),
    "external-postgres-secret": merge(TAG, {"storage": {"mode": "postgres"}, "postgresql": {"external": {
        "enabled": True, "host": "db.internal", "port": 6432, "user": "gw", "database": "gateway",
        "sslMode": "require", "existingSecret": "bifrost-db", "passwordKey": "pg-password"}}}),
    "ingress-tls": merge(TAG, {"ingress": {
        "enabled": True, "className": "nginx",
        "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        "hosts": [{"host": "bifrost.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
        "tls": [{"secretName": "bifrost-tls", "hosts": ["bifrost.example.com"]}]}}),
    "hpa": merge(TAG, {"storage": {"mode": "postgres"}, "postgresql": {"enabled": True},
                       "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 6},
                       "podDisruptionBudget": {"enabled": True}}),
    "cluster-kubernetes": merge(TAG, {"replicaCount": 3, "storage": {"mode": "postgres"},
                                      "postgresql": {"enabled": True},
                                      "bifrost": {"cluster": {"enabled": True, "discovery": {
                                          "enabled": True, "type": "kubernetes"}}}}),
    "bifrost-reference-values": merge(yaml.safe_load(REFERENCE_VALUES.read_text()), TAG),
    # Bifrost's chart writes postgresql.auth.password ("bifrost_password") into the ConfigMap; ours must not.
    "bifrost-reference-values-postgres": merge(yaml.safe_load(REFERENCE_VALUES.read_text()), TAG, {
        "storage": {"mode": "postgres"}, "postgresql": {"enabled": True}}),
    "secrets-everywhere": merge(TAG, {
        "storage": {"mode": "postgres"},
        "postgresql": {"external": {"enabled": True, "host": "db.internal", "password": "pg-pw-literal",
                                    "sslMode": "verify-full"}},
        "bifrost": {
            "encryptionKey": "enc-passphrase-literal-123",
            "authConfig": {"adminUsername": "admin", "adminPassword": "admin-pw-literal", "isEnabled": True},
            "providers": {
                "openai": {"keys": [{"name": "primary", "value": "sk-live-openai-literal", "models": [], "weight": 1},
                                    {"name": "from-env", "value": "env.OPENAI_API_KEY_2", "weight": 1}]},
                "bedrock": {"keys": [{"name": "aws", "value": "", "bedrock_key_config": {
                    "access_key": "AKIA-literal", "secret_key": "aws-secret-literal", "region": "us-east-1"}}]},
            },
            "providerSecrets": {"anthropic": {"existingSecret": "provider-api-keys", "key": "anthropic",
                                              "envVar": "ANTHROPIC_API_KEY"}},
        },
        "extraEnv": {"OPENAI_API_KEY_2": "set-by-extra-env"},
    }),
    "everything-on": merge(TAG, {
        "storage": {"mode": "postgres"}, "postgresql": {"enabled": True, "auth": {"existingSecret": "pg-auth"}},
        "autoscaling": {"enabled": True}, "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        "ingress": {"enabled": True}, "migrations": {"job": {"enabled": True}},
        "httproute": {"enabled": True, "parentRefs": [{"name": "gw", "namespace": "gateway-system"}],
                      "hostnames": ["bifrost.example.com"]},
        "serviceMonitor": {"enabled": True, "apiVersionCheck": False},
        "bifrost": {"encryptionKeySecret": {"name": "bifrost-encryption"},
                    "authConfig": {"existingSecret": "bifrost-admin", "isEnabled": True},
                    "cluster": {"enabled": True, "discovery": {"enabled": True, "type": "dns"}},
                    "plugins": {"maxim": {"enabled": True, "secretRef": {"name": "maxim"}}},
                    "governance": {"budgets": [{"id": "b1", "max_limit": 10, "reset_duration": "1M"}]}},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                                       "whenUnsatisfiable": "ScheduleAnyway",
                                       "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "bifrost"}}}],
        "envFrom": [{"secretRef": {"name": "extra-env"}}],
        "env": [{"name": "MALLOC_ARENA_MAX", "value": "2"}],
    }),
}


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def scenario(request: pytest.FixtureRequest) -> tuple[str, Render]:
    return request.param, Render(SCENARIOS[request.param])


def test_every_rendered_object_validates_against_kubernetes_1_33_strict(scenario: tuple[str, Render]) -> None:
    _, r = scenario
    assert not strict_problems(r.all)


def test_every_object_carries_the_release_label_and_only_gateway_pods_are_named_bifrost(
        scenario: tuple[str, Render]) -> None:
    _, r = scenario
    for d in r.all:
        assert d["metadata"]["labels"]["app.kubernetes.io/instance"] == "bifrost", d["kind"]
        assert d["metadata"].get("namespace") == "default", d["kind"]
    for d in r.all:
        tmpl = (d.get("spec") or {}).get("template")
        if d["kind"] in ("Deployment", "StatefulSet", "Job") and tmpl:
            is_gateway = d is r.workload()
            assert (tmpl["metadata"]["labels"]["app.kubernetes.io/name"] == "bifrost") == is_gateway, d["metadata"]
            assert tmpl["metadata"]["labels"]["app.kubernetes.io/instance"] == "bifrost"


def test_config_json_is_accepted_by_the_gateways_own_loader(scenario: tuple[str, Render]) -> None:
    name, r = scenario
    raw = r.config_json()
    env = env_for_loader(r.container())
    try:
        loaded = parse_config(raw, env, source=f"{name}/config.json")
    except ConfigInvalid as exc:
        pytest.fail(f"{name}: the gateway rejects the chart's config.json: {exc.problems}")
    assert loaded.warnings == [], loaded.warnings  # warnings are unknown keys (typos): the chart writes none
    # Every env.VAR the config refers to is set in the container.
    refs = {s[4:] for s in _strings(raw) if s.startswith("env.")}
    missing = refs - set(env)
    assert not missing, f"{name}: config.json references unset variables {missing}"


def test_no_password_or_key_is_ever_rendered_into_the_configmap(scenario: tuple[str, Render]) -> None:
    name, r = scenario
    cm = json.dumps(r.get("ConfigMap", "bifrost-config"))
    for literal in SECRET_LITERALS + ["bifrost_password"]:
        assert literal not in cm, f"{name}: {literal!r} is in the ConfigMap"
    for d in r.all:
        if d["kind"] == "ConfigMap":
            assert "password\": \"" not in d["data"].get("config.json", "").replace("env.", "")


def test_pods_roll_when_the_config_changes_and_mount_it_read_only(scenario: tuple[str, Render]) -> None:
    name, r = scenario
    pod = r.workload()["spec"]["template"]
    checksum = pod["metadata"]["annotations"]["checksum/config"]
    assert len(checksum) == 64
    mounts = {m["name"]: m for m in r.container()["volumeMounts"]}
    assert mounts["config"]["mountPath"] == "/app/data/config.json" and mounts["config"]["readOnly"] is True
    changed = Render(merge(SCENARIOS[name], {"bifrost": {"client": {"initialPoolSize": 777}}}))
    assert changed.workload()["spec"]["template"]["metadata"]["annotations"]["checksum/config"] != checksum


def test_the_default_render_equals_helm_install_dry_run() -> None:
    with helm.Config(namespace="default", storage_driver="memory") as cfg:
        rel = cfg.install(str(CHART), "bifrost", TAG, dry_run="client", namespace="default")
    installed = sorted((d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(rel["manifest"]) if d)
    assert installed == Render(TAG).kinds() == [
        ("ConfigMap", "bifrost-config"), ("Service", "bifrost"), ("Service", "bifrost-headless"),
        ("ServiceAccount", "bifrost"), ("StatefulSet", "bifrost")]
    assert "port-forward -n default svc/bifrost 8080:8080" in rel["notes"]


def test_the_chart_lints_clean_in_strict_mode() -> None:
    for values in (TAG, SCENARIOS["embedded-postgres"], SCENARIOS["cluster-kubernetes"]):
        report = helm.lint(str(CHART), values, strict=True, kube_version="v1.33.0")
        assert not report["errors"], report
        assert not [m for m in report["messages"] if m["severity"] >= 2], report["messages"]


def test_fullname_follows_bifrosts_rules() -> None:
    r = Render(TAG, release="prod")
    assert r.workload()["metadata"]["name"] == "prod-bifrost"
    assert r.has("ConfigMap", "prod-bifrost-config") and r.has("Service", "prod-bifrost-headless")
    assert Render(merge(TAG, {"fullnameOverride": "gw"})).has("StatefulSet", "gw")


def _strings(v: Any) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, dict):
        return [s for x in v.values() for s in _strings(x)]
    if isinstance(v, list):
        return [s for x in v for s in _strings(x)]
    return []


__all__ = ["SCENARIOS", "env_of"]
