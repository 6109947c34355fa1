"""What each storage, scaling and cluster mode renders: the objects, names, ports and wiring that the
troubleshooting commands and Bifrost users rely on."""

from __future__ import annotations

import base64

from bifrost_chart import TAG, Render, env_of, merge

PG = {"storage": {"mode": "postgres"}, "postgresql": {"enabled": True}}


def test_sqlite_with_persistence_is_a_statefulset_with_a_claim_template_and_a_headless_service() -> None:
    r = Render(merge(TAG, {"storage": {"persistence": {"size": "20Gi", "storageClass": "fast-ssd"}}}))
    sts = r.get("StatefulSet", "bifrost")
    assert sts["spec"]["serviceName"] == "bifrost-headless"
    (vct,) = sts["spec"]["volumeClaimTemplates"]
    assert vct["metadata"]["name"] == "data"  # PVCs data-bifrost-0, data-bifrost-1, ...
    assert vct["spec"] == {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast-ssd",
                           "resources": {"requests": {"storage": "20Gi"}}}
    # Only selector labels on the template: Bifrost 2.1.6's immutable-safe claim labels.
    assert set(vct["metadata"]["labels"]) == {"app.kubernetes.io/name", "app.kubernetes.io/instance",
                                              "app.kubernetes.io/component"}
    assert {"name": "data", "mountPath": "/app/data"} in r.container()["volumeMounts"]
    headless = r.get("Service", "bifrost-headless")
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    assert not r.has("Deployment")
    assert "data-bifrost-0" in r.notes


def test_existing_claim_keeps_a_deployment_on_that_claim_and_recreates_pods() -> None:
    r = Render(merge(TAG, {"storage": {"persistence": {"existingClaim": "bifrost-data"}}}))
    dep = r.get("Deployment", "bifrost")
    assert not r.has("StatefulSet") and not r.has("Service", "bifrost-headless")
    vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    assert vols["data"] == {"name": "data", "persistentVolumeClaim": {"claimName": "bifrost-data"}}
    assert dep["spec"]["strategy"] == {"type": "Recreate"}  # two pods never hold the ReadWriteOnce claim
    assert not r.has("PersistentVolumeClaim")  # the chart references the claim, never creates or deletes it


def test_storage_class_dash_renders_the_empty_class() -> None:
    r = Render(merge(TAG, {"storage": {"persistence": {"storageClass": "-"}}}))
    (vct,) = r.get("StatefulSet", "bifrost")["spec"]["volumeClaimTemplates"]
    assert vct["spec"]["storageClassName"] == ""
    default = Render(TAG).get("StatefulSet", "bifrost")["spec"]["volumeClaimTemplates"][0]
    assert "storageClassName" not in default["spec"]  # unset: the cluster's default class


def test_sqlite_without_persistence_uses_an_empty_dir() -> None:
    r = Render(merge(TAG, {"storage": {"persistence": {"enabled": False}}}))
    vols = {v["name"]: v for v in r.get("Deployment", "bifrost")["spec"]["template"]["spec"]["volumes"]}
    assert vols["data"]["emptyDir"] == {}
    assert "lost when the pod restarts" in r.notes


def test_embedded_postgres_renders_its_deployment_service_claim_and_generated_secret() -> None:
    r = Render(merge(TAG, PG))
    assert r.has("Deployment", "bifrost")  # the gateway: kubectl exec deployment/bifrost ...
    pg = r.get("Deployment", "bifrost-postgresql")
    assert pg["spec"]["strategy"] == {"type": "Recreate"}
    labels = pg["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "bifrost-postgresql"
    assert labels["app.kubernetes.io/component"] == "database"
    svc = r.get("Service", "bifrost-postgresql")
    assert svc["spec"]["ports"] == [{"name": "postgresql", "port": 5432, "targetPort": "postgresql",
                                     "protocol": "TCP"}]
    assert svc["spec"]["selector"] == pg["spec"]["selector"]["matchLabels"]
    pvc = r.get("PersistentVolumeClaim", "bifrost-postgresql")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "8Gi"
    env = env_of(pg["spec"]["template"]["spec"]["containers"][0])
    assert env["POSTGRES_USER"] == "bifrost" and env["POSTGRES_DB"] == "bifrost"
    assert "--encoding=UTF8" in env["POSTGRES_INITDB_ARGS"]
    assert env["POSTGRES_PASSWORD"] == {"secretKeyRef": {"name": "bifrost-postgresql", "key": "password"}}
    password = base64.b64decode(r.get("Secret", "bifrost-postgresql")["data"]["password"]).decode()
    assert len(password) == 32 and password.isalnum()
    assert r.get("Secret", "bifrost-postgresql")["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    gw_env = env_of(r.container())
    assert gw_env["BIFROST_POSTGRES_PASSWORD"] == {"secretKeyRef": {"name": "bifrost-postgresql", "key": "password"}}
    store = r.config_json()["config_store"]
    assert store == {"enabled": True, "type": "postgres", "config": {
        "host": "bifrost-postgresql", "port": "5432", "user": "bifrost", "db_name": "bifrost",
        "ssl_mode": "disable", "password": "env.BIFROST_POSTGRES_PASSWORD"}}


def test_embedded_postgres_can_use_an_existing_secret_or_a_given_password() -> None:
    r = Render(merge(TAG, PG, {"postgresql": {"auth": {"existingSecret": "pg-auth", "passwordKey": "pw"}}}))
    assert not r.has("Secret", "bifrost-postgresql")
    ref = {"secretKeyRef": {"name": "pg-auth", "key": "pw"}}
    assert env_of(r.container())["BIFROST_POSTGRES_PASSWORD"] == ref
    pg = r.get("Deployment", "bifrost-postgresql")["spec"]["template"]["spec"]["containers"][0]
    assert env_of(pg)["POSTGRES_PASSWORD"] == ref
    given = Render(merge(TAG, PG, {"postgresql": {"auth": {"password": "bifrost_password"}}}))
    assert base64.b64decode(given.get("Secret", "bifrost-postgresql")["data"]["password"]) == b"bifrost_password"


def test_external_postgres_with_an_existing_secret_sets_bifrost_postgres_password() -> None:
    r = Render(merge(TAG, {"storage": {"mode": "postgres"}, "postgresql": {"external": {
        "enabled": True, "host": "db.internal", "port": 6432, "user": "gw", "database": "gateway",
        "sslMode": "require", "existingSecret": "bifrost-db", "passwordKey": "pg-password"}}}))
    assert not r.has("Deployment", "bifrost-postgresql") and not r.has("Secret")
    assert env_of(r.container())["BIFROST_POSTGRES_PASSWORD"] == {
        "secretKeyRef": {"name": "bifrost-db", "key": "pg-password"}}
    for store in ("config_store", "logs_store"):
        assert r.config_json()[store]["config"] == {
            "host": "db.internal", "port": "6432", "user": "gw", "db_name": "gateway", "ssl_mode": "require",
            "password": "env.BIFROST_POSTGRES_PASSWORD"}
    vols = {v["name"]: v for v in r.workload()["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in vols["data"]  # the app dir stays writable without a volume


def test_ingress_with_tls_routes_every_host_to_the_service() -> None:
    r = Render(merge(TAG, {"ingress": {
        "enabled": True, "className": "nginx", "annotations": {"cert-manager.io/cluster-issuer": "letsencrypt"},
        "hosts": [{"host": "bifrost.example.com", "paths": [{"path": "/", "pathType": "Prefix"}]}],
        "tls": [{"secretName": "bifrost-tls", "hosts": ["bifrost.example.com"]}]}}))
    ing = r.get("Ingress", "bifrost")
    assert ing["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"hosts": ["bifrost.example.com"], "secretName": "bifrost-tls"}]
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "bifrost.example.com"
    assert rule["http"]["paths"][0]["backend"] == {"service": {"name": "bifrost", "port": {"number": 8080}}}
    assert "https://bifrost.example.com/" in r.notes


def test_hpa_defaults_protect_streams_on_scale_down() -> None:
    r = Render(merge(TAG, PG, {"autoscaling": {"enabled": True}}))
    hpa = r.get("HorizontalPodAutoscaler", "bifrost")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "bifrost"}
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 10)
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["spec"]["metrics"]}
    assert targets == {"cpu": 80, "memory": 80}
    assert hpa["spec"]["behavior"]["scaleDown"] == {
        "stabilizationWindowSeconds": 300, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 120}]}
    assert "replicas" not in r.workload()["spec"]  # the HPA owns the count
    pod = r.workload()["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == 60
    assert pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"] == ["sh", "-c", "sleep 15"]
    # The gateway's own drain ends before the kubelet's SIGKILL: 15 s preStop + 40 s drain < 60 s.
    assert r.config_json()["client"]["shutdown_grace_seconds"] == 40


def test_pod_disruption_budget_selects_the_gateway_pods() -> None:
    r = Render(merge(TAG, PG, {"podDisruptionBudget": {"enabled": True}}))
    pdb = r.get("PodDisruptionBudget", "bifrost")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == r.workload()["spec"]["selector"]["matchLabels"]


def test_cluster_mode_with_kubernetes_discovery() -> None:
    r = Render(merge(TAG, PG, {"replicaCount": 3, "bifrost": {"cluster": {
        "enabled": True, "discovery": {"enabled": True, "type": "kubernetes"}}}}))
    sts = r.get("StatefulSet", "bifrost")
    assert sts["spec"]["serviceName"] == "bifrost-headless" and sts["spec"]["replicas"] == 3
    assert "volumeClaimTemplates" not in sts["spec"]  # PostgreSQL holds the state
    ports = {(p["name"], p["containerPort"], p["protocol"]) for p in r.container()["ports"]}
    assert {("http", 8080, "TCP"), ("gossip", 7946, "TCP"), ("gossip-udp", 7946, "UDP")} <= ports
    for svc in ("bifrost", "bifrost-headless"):
        sp = {(p["name"], p["port"], p["protocol"]) for p in r.get("Service", svc)["spec"]["ports"]}
        assert {("gossip", 7946, "TCP"), ("gossip-udp", 7946, "UDP")} <= sp
    headless = r.get("Service", "bifrost-headless")["spec"]
    assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
    role = r.get("Role", "bifrost-pod-discovery")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]
    rb = r.get("RoleBinding", "bifrost-pod-discovery")
    assert rb["roleRef"]["name"] == "bifrost-pod-discovery"
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "bifrost", "namespace": "default"}]
    assert sts["spec"]["template"]["spec"]["serviceAccountName"] == "bifrost"
    disc = r.config_json()["cluster_config"]["discovery"]
    assert disc == {"enabled": True, "type": "kubernetes", "k8s_namespace": "default",
                    "k8s_label_selector": "app.kubernetes.io/name=bifrost,app.kubernetes.io/instance=bifrost"}
    assert r.config_json()["cluster_config"]["gossip"]["port"] == 7946
    assert "bifrost-N.bifrost-headless" in r.notes


def test_cluster_mode_with_sqlite_gives_each_peer_its_own_volume() -> None:
    r = Render(merge(TAG, {"replicaCount": 2, "bifrost": {"cluster": {"enabled": True, "peers": [
        "bifrost-0.bifrost-headless:7946", "bifrost-1.bifrost-headless:7946"]}}}))
    sts = r.get("StatefulSet", "bifrost")
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    assert not r.has("Role")
    assert r.config_json()["cluster_config"]["peers"] == ["bifrost-0.bifrost-headless:7946",
                                                         "bifrost-1.bifrost-headless:7946"]


def test_encryption_key_literal_goes_into_its_own_secret() -> None:
    r = Render(merge(TAG, {"bifrost": {"encryptionKey": "enc-passphrase-literal-123"}}))
    sec = r.get("Secret", "bifrost-encryption")
    assert base64.b64decode(sec["data"]["encryption-key"]) == b"enc-passphrase-literal-123"
    assert env_of(r.container())["BIFROST_ENCRYPTION_KEY"] == {
        "secretKeyRef": {"name": "bifrost-encryption", "key": "encryption-key"}}
    assert r.config_json()["encryption_key"] == "env.BIFROST_ENCRYPTION_KEY"
    existing = Render(merge(TAG, {"bifrost": {"encryptionKeySecret": {"name": "my-key"}}}))
    assert not existing.has("Secret")
    assert env_of(existing.container())["BIFROST_ENCRYPTION_KEY"] == {
        "secretKeyRef": {"name": "my-key", "key": "encryption-key"}}


def test_admin_credentials_come_from_a_secret() -> None:
    r = Render(merge(TAG, {"bifrost": {"authConfig": {"existingSecret": "admin", "usernameKey": "u",
                                                      "passwordKey": "p", "isEnabled": True}}}))
    env = env_of(r.container())
    assert env["BIFROST_ADMIN_USERNAME"] == {"secretKeyRef": {"name": "admin", "key": "u"}}
    assert env["BIFROST_ADMIN_PASSWORD"] == {"secretKeyRef": {"name": "admin", "key": "p"}}
    assert r.config_json()["auth_config"]["admin_password"] == "env.BIFROST_ADMIN_PASSWORD"


def test_provider_literal_keys_move_into_a_secret_and_provider_secrets_inject_env() -> None:
    r = Render(merge(TAG, {"bifrost": {
        "providers": {"openai": {"keys": [{"name": "k", "value": "sk-live-openai-literal", "weight": 1}]},
                      "anthropic": {"keys": [{"name": "a", "value": "env.ANTHROPIC_API_KEY", "weight": 1}]}},
        "providerSecrets": {"anthropic": {"existingSecret": "provider-api-keys", "key": "anthropic-key",
                                          "envVar": "ANTHROPIC_API_KEY"}}}}))
    sec = r.get("Secret", "bifrost-provider-keys")
    assert base64.b64decode(sec["data"]["BIFROST_PROVIDER_OPENAI_KEY0"]) == b"sk-live-openai-literal"
    providers = r.config_json()["providers"]
    assert providers["openai"]["keys"][0]["value"] == "env.BIFROST_PROVIDER_OPENAI_KEY0"
    assert providers["anthropic"]["keys"][0]["value"] == "env.ANTHROPIC_API_KEY"  # references are kept
    env = env_of(r.container())
    assert env["ANTHROPIC_API_KEY"] == {"secretKeyRef": {"name": "provider-api-keys", "key": "anthropic-key"}}
    assert env["BIFROST_PROVIDER_OPENAI_KEY0"] == {
        "secretKeyRef": {"name": "bifrost-provider-keys", "key": "BIFROST_PROVIDER_OPENAI_KEY0"}}


def test_client_values_become_bifrosts_snake_case_keys() -> None:
    r = Render(merge(TAG, {"bifrost": {"client": {"initialPoolSize": 800, "dropExcessRequests": True,
                                                  "headerFilterConfig": {"allowlist": ["x-team"]}}}}))
    client = r.config_json()["client"]
    assert client["initial_pool_size"] == 800 and client["drop_excess_requests"] is True
    assert client["header_filter_config"] == {"allowlist": ["x-team"]}


def test_restricted_security_defaults_and_the_openshift_override() -> None:
    pod = Render(TAG).workload()["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"fsGroup": 1000, "runAsUser": 1000, "runAsNonRoot": True,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    sc = pod["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    openshift = Render(merge(TAG, {"podSecurityContext": {"fsGroup": None, "runAsUser": None},
                                   "securityContext": {"runAsUser": None}}))
    pod = openshift.workload()["spec"]["template"]["spec"]
    assert "runAsUser" not in pod["securityContext"] and "fsGroup" not in pod["securityContext"]
    assert "runAsUser" not in pod["containers"][0]["securityContext"]


def test_env_extra_env_and_env_from_are_passed_through_after_the_charts_own() -> None:
    r = Render(merge(TAG, {"env": [{"name": "MALLOC_ARENA_MAX", "value": "2"}],
                           "extraEnv": {"LOG_LEVEL": "debug", "A_VAR": 1},
                           "envFrom": [{"secretRef": {"name": "more"}}]}))
    names = [e["name"] for e in r.container()["env"]]
    assert names.index("MALLOC_ARENA_MAX") > names.index("LOG_STYLE")
    assert names[-2:] == ["A_VAR", "LOG_LEVEL"]  # extraEnv sorted; the later LOG_LEVEL wins in Kubernetes
    assert r.container()["envFrom"] == [{"secretRef": {"name": "more"}}]


def test_migration_job_runs_before_upgrades_and_waits_for_the_database() -> None:
    r = Render(merge(TAG, PG, {"migrations": {"job": {"enabled": True, "waitTimeoutSeconds": 120}}}))
    job = r.get("Job", "bifrost-migrate")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-upgrade"
    cm = r.get("ConfigMap", "bifrost-migrate-config")
    assert int(cm["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert cm["data"]["config.json"] == r.get("ConfigMap", "bifrost-config")["data"]["config.json"]
    spec = job["spec"]["template"]["spec"]
    (wait,) = spec["initContainers"]
    code = wait["command"][2]
    compile(code, "wait-for-database", "exec")  # valid Python for the image's interpreter
    assert '"bifrost-postgresql", 5432' in code and "+ 120" in code
    (migrate,) = spec["containers"]
    assert migrate["args"] == ["migrate"] and migrate["image"] == r.container()["image"]
    assert env_of(migrate)["BIFROST_POSTGRES_PASSWORD"] == env_of(r.container())["BIFROST_POSTGRES_PASSWORD"]
    assert spec["restartPolicy"] == "Never"


def test_servicemonitor_and_httproute_target_the_gateway_service() -> None:
    r = Render(merge(TAG, {"serviceMonitor": {"enabled": True, "apiVersionCheck": False},
                           "httproute": {"enabled": True, "parentRefs": [{"name": "gw"}],
                                         "hostnames": ["bifrost.example.com"]}}))
    sm = r.get("ServiceMonitor", "bifrost")
    assert sm["spec"]["endpoints"][0]["port"] == "http" and sm["spec"]["endpoints"][0]["path"] == "/metrics"
    selector = sm["spec"]["selector"]["matchLabels"].items()
    assert selector <= r.get("Service", "bifrost")["metadata"]["labels"].items()
    assert not selector <= r.get("Service", "bifrost-headless")["metadata"]["labels"].items()  # scraped once
    route = r.get("HTTPRoute", "bifrost")
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "bifrost", "port": 8080}]
