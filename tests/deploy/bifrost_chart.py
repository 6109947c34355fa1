"""Render deploy/helm/bifrost with real Helm (helm-python-sdk, Helm's Go SDK) and inspect the objects."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate as kv
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "bifrost"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
# Bifrost's own chart values (2.1.16): a Bifrost user's values file must render with our chart.
REFERENCE_VALUES = ROOT / "tests" / "fixtures" / "helm" / "bifrost-values-2.1.16.yaml"
K8S_VERSION = "1.33.0"
TAG = {"image": {"tag": "0.1.0"}}


def merge(base: dict[str, Any], *layers: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge value layers like `-f a.yaml -f b.yaml --set ...` (later wins)."""
    out = copy.deepcopy(base)
    for layer in layers:
        for k, v in layer.items():
            if isinstance(v, dict) and isinstance(out.get(k), dict):
                out[k] = merge(out[k], v)
            else:
                out[k] = copy.deepcopy(v)
    return out


class Render:
    """One `helm template`: the release's objects, its hook objects (helm.sh/hook) and NOTES.txt."""

    def __init__(self, values: dict[str, Any], release: str = "bifrost", namespace: str = "default") -> None:
        with helm.Chart.load(str(CHART)) as chart:
            out = chart.render(values, name=release, namespace=namespace)
        self.release = release
        self.namespace = namespace
        texts = [text for path, text in sorted(out.items()) if path.endswith(".yaml")]
        objs = [d for text in texts for d in yaml.safe_load_all(text) if d]
        self.docs = [d for d in objs if "helm.sh/hook" not in (d["metadata"].get("annotations") or {})]
        self.hooks = [d for d in objs if "helm.sh/hook" in (d["metadata"].get("annotations") or {})]
        self.notes: str = next(text for path, text in out.items() if path.endswith("NOTES.txt"))

    @property
    def all(self) -> list[dict[str, Any]]:
        return self.docs + self.hooks

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.all if d["kind"] == kind and d["metadata"]["name"] == name]
        assert found, f"no {kind}/{name} in {[(d['kind'], d['metadata']['name']) for d in self.all]}"
        return found[0]

    def has(self, kind: str, name: str | None = None) -> bool:
        return any(d["kind"] == kind and (name is None or d["metadata"]["name"] == name) for d in self.all)

    def kinds(self) -> list[tuple[str, str]]:
        return sorted((d["kind"], d["metadata"]["name"]) for d in self.all)

    def workload(self) -> dict[str, Any]:
        """The gateway's StatefulSet or Deployment (named <fullname>, component server)."""
        ws = [d for d in self.docs if d["kind"] in ("StatefulSet", "Deployment")
              and d["metadata"]["labels"].get("app.kubernetes.io/component") == "server"]
        assert len(ws) == 1, [d["metadata"]["name"] for d in ws]
        return ws[0]

    def container(self) -> dict[str, Any]:
        return self.workload()["spec"]["template"]["spec"]["containers"][0]

    def config_json(self, name: str = "bifrost-config") -> dict[str, Any]:
        return json.loads(self.get("ConfigMap", name)["data"]["config.json"])


def render_error(values: dict[str, Any]) -> str:
    """The error text of a render that must fail (a `fail`, `required` or values.schema.json error)."""
    try:
        with helm.Chart.load(str(CHART)) as chart:
            chart.render(values, name="bifrost", namespace="default")
    except helm.HelmError as e:
        return str(e)
    raise AssertionError("the render succeeded but should have failed")


def strict_problems(docs: list[dict[str, Any]]) -> list[str]:
    """kubernetes-validate in strict mode (unknown fields fail) at K8S_VERSION; CRDs are skipped."""
    problems = []
    for d in docs:
        try:
            kv.validate(d, K8S_VERSION, strict=True)
        except kv.ValidationError as e:
            problems.append(f"{d['kind']}/{d['metadata']['name']} {'.'.join(map(str, e.path))}: {e.message}")
        except kv.SchemaNotFoundError:
            assert d["apiVersion"].startswith(("monitoring.coreos.com/", "gateway.networking.k8s.io/")), d["kind"]
    return problems


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    """name -> value (plain) or the valueFrom dict."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def env_for_loader(container: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the gateway would see it: Secret-backed variables get a stand-in value."""
    return {e["name"]: e["value"] if "value" in e else f"from-secret-{e['name']}" for e in container.get("env", [])}
