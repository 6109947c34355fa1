"""Impossible value combinations fail the render with a message that says what is wrong and how to fix
it; every `fail` in the chart is exercised here, and values.schema.json rejects wrong types."""

from __future__ import annotations

import re
from typing import Any

import pytest
from bifrost_chart import CHART, TAG, merge, render_error

PG = {"storage": {"mode": "postgres"}, "postgresql": {"enabled": True}}
EXT = {"storage": {"mode": "postgres"},
       "postgresql": {"external": {"enabled": True, "host": "db", "sslMode": "require"}}}
PEERS = {"bifrost": {"cluster": {"enabled": True, "peers": ["bifrost-0.bifrost-headless:7946"]}}}

# (values, the message's distinctive text). The first word after "ERROR: " is what the scan below matches.
CASES: list[tuple[str, dict[str, Any], str]] = [
    ("no-tag", {}, "ERROR: image.tag is required. Please specify the Bifrost image version "
                   "(e.g., --set image.tag=0.1.0)"),
    ("hpa-on-sqlite", merge(TAG, {"autoscaling": {"enabled": True}}),
     "ERROR: autoscaling.enabled with SQLite storage needs bifrost.cluster.enabled=true"),
    ("replicas-on-sqlite", merge(TAG, {"replicaCount": 3}),
     "ERROR: replicaCount=3 with SQLite storage needs bifrost.cluster.enabled=true"),
    ("rwo-claim-shared", merge(TAG, PEERS, {"storage": {"persistence": {"existingClaim": "bifrost-data"}}}),
     "ERROR: storage.persistence.existingClaim (bifrost-data) is one volume shared by every replica; "
     "with accessMode ReadWriteOnce only one pod can mount it"),
    ("claim-with-postgres", merge(TAG, PG, {"storage": {"persistence": {"existingClaim": "x"}}}),
     "ERROR: storage.persistence.existingClaim is only used with SQLite storage"),
    ("hpa-min-above-max", merge(TAG, PG, {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 2}}),
     "ERROR: autoscaling.minReplicas (5) is greater than autoscaling.maxReplicas (2)"),
    ("both-postgres", merge(TAG, PG, {"postgresql": {"external": {"enabled": True, "host": "db"}}}),
     "ERROR: postgresql.enabled (embedded PostgreSQL) and postgresql.external.enabled are both true"),
    ("postgres-without-db", merge(TAG, {"storage": {"mode": "postgres"}}),
     "ERROR: PostgreSQL storage is selected (storage.mode or storage.configStore/logsStore.type is postgres) "
     "but no database is"),
    ("external-no-host", merge(TAG, EXT, {"postgresql": {"external": {"host": ""}}}),
     "ERROR: postgresql.external.host is required when using external PostgreSQL"),
    ("external-no-database", merge(TAG, EXT, {"postgresql": {"external": {"database": ""}}}),
     "ERROR: postgresql.external.database is required when using external PostgreSQL"),
    ("external-no-user", merge(TAG, EXT, {"postgresql": {"external": {"user": ""}}}),
     "ERROR: postgresql.external.user is required when using external PostgreSQL"),
    ("external-no-sslmode", merge(TAG, EXT, {"postgresql": {"external": {"sslMode": ""}}}),
     "ERROR: postgresql.external.sslMode is required when using external PostgreSQL. "
     "Values: disable, allow, prefer, require, verify-ca, verify-full"),
    ("two-encryption-keys", merge(TAG, {"bifrost": {"encryptionKey": "k", "encryptionKeySecret": {"name": "s"}}}),
     "ERROR: bifrost.encryptionKey and bifrost.encryptionKeySecret.name are both set"),
    ("auth-without-credentials", merge(TAG, {"bifrost": {"authConfig": {"isEnabled": True}}}),
     "ERROR: bifrost.authConfig.isEnabled is true but no admin credentials are set"),
    ("provider-secret-without-env", merge(TAG, {"bifrost": {"providerSecrets": {"openai": {"existingSecret": "s"}}}}),
     "ERROR: bifrost.providerSecrets.openai.envVar is required with existingSecret"),
    ("gossip-without-port", merge(TAG, PG, PEERS, {"bifrost": {"cluster": {"gossip": {"port": None}}}}),
     "ERROR: bifrost.cluster.gossip.port is required when cluster mode is enabled"),
    ("discovery-without-type", merge(TAG, PG, {"bifrost": {"cluster": {"enabled": True,
                                                                       "discovery": {"enabled": True}}}}),
     "ERROR: bifrost.cluster.discovery.type is required when cluster discovery is enabled. "
     "Supported types: kubernetes, dns, udp, consul, etcd, mdns"),
    ("consul-without-service", merge(TAG, PG, {"bifrost": {"cluster": {"enabled": True, "discovery": {
        "enabled": True, "type": "consul"}}}}),
     "ERROR: bifrost.cluster.discovery.serviceName is required for consul/etcd/udp discovery."),
    ("rbac-without-serviceaccount", merge(TAG, PG, {"serviceAccount": {"create": False}, "bifrost": {"cluster": {
        "enabled": True, "discovery": {"enabled": True, "type": "kubernetes"}}}}),
     "ERROR: rbac.podDiscovery.enabled requires either serviceAccount.create=true or an explicit "
     "serviceAccount.name when serviceAccount.create=false."),
    ("cluster-without-peers", merge(TAG, PG, {"bifrost": {"cluster": {"enabled": True}}}),
     "ERROR: bifrost.cluster.enabled needs a way to find peers"),
    ("migration-job-on-sqlite", merge(TAG, {"migrations": {"job": {"enabled": True}}}),
     "ERROR: migrations.job.enabled needs PostgreSQL storage"),
    ("vector-store", merge(TAG, {"vectorStore": {"enabled": True, "type": "redis"}}),
     "ERROR: vectorStore.enabled: vector stores (semantic cache) are not implemented by Bifrost for Python yet."),
    ("scim", merge(TAG, {"bifrost": {"scim": {"enabled": True}}}),
     "ERROR: bifrost.scim.enabled: SCIM is not implemented by Bifrost for Python yet."),
    ("ingress-without-hosts", merge(TAG, {"ingress": {"enabled": True, "hosts": []}}),
     "ERROR: ingress.enabled needs at least one entry in ingress.hosts"),
    ("httproute-without-parent", merge(TAG, {"httproute": {"enabled": True}}),
     "ERROR: httproute.enabled needs httproute.parentRefs naming your Gateway"),
    ("pdb-both-bounds", merge(TAG, {"podDisruptionBudget": {"enabled": True, "minAvailable": 1,
                                                            "maxUnavailable": 1}}),
     "ERROR: podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable are both set"),
    ("servicemonitor-without-operator", merge(TAG, {"serviceMonitor": {"enabled": True}}),
     "ERROR: serviceMonitor.enabled is true but the monitoring.coreos.com/v1 API (Prometheus Operator) is not "
     "installed in the cluster."),
]


@pytest.mark.parametrize("values,message", [(v, m) for _, v, m in CASES], ids=[c[0] for c in CASES])
def test_impossible_values_fail_with_a_message_saying_how_to_fix_them(values: dict[str, Any], message: str) -> None:
    assert message in render_error(values)


def test_the_missing_tag_message_shows_an_example_and_how_to_build_the_image() -> None:
    err = render_error({})
    assert "--set image.tag=" in err and "docker build -f deploy/docker/Dockerfile" in err


def test_every_fail_in_the_chart_is_asserted_above() -> None:
    templates = "\n".join(p.read_text() for p in sorted((CHART / "templates").iterdir()))
    in_chart = re.findall(r'fail \(?(?:printf )?"(ERROR: [^"%(]{8,40})', templates)
    assert len(in_chart) >= 25
    asserted = [m for _, _, m in CASES]
    missing = [c for c in in_chart if not any(a.startswith(c) for a in asserted)]
    assert not missing, f"fail messages with no test: {missing}"


@pytest.mark.parametrize("values,message", [
    ({"storage": {"mode": "mysql"}}, "at '/storage/mode': value must be one of 'sqlite', 'postgres'"),
    ({"replicaCount": "two"}, "at '/replicaCount'"),
    ({"bifrost": {"client": {"initialPoolSize": "big"}}}, "at '/bifrost/client/initialPoolSize'"),
    ({"bifrost": {"logLevel": "verbose"}}, "at '/bifrost/logLevel'"),
    ({"service": {"port": 70000}}, "at '/service/port'"),
    ({"postgresql": {"external": {"sslMode": "on"}}}, "at '/postgresql/external/sslMode'"),
], ids=["storage-mode", "replicas-type", "pool-size-type", "log-level", "port-range", "ssl-mode"])
def test_values_schema_rejects_wrong_types_and_values(values: dict[str, Any], message: str) -> None:
    assert message in render_error(merge(TAG, values))
