"""Every resource name, label selector, port and `--set` value that docs/troubleshooting.md uses in a
kubectl/helm command exists in what the chart renders (across its modes), so each command finds its object."""

from __future__ import annotations

import re

import pytest
from bifrost_chart import ROOT, TAG, Render, merge

GUIDE = ROOT / "docs" / "troubleshooting.md"
KIND_ALIASES = {"deploy": "Deployment", "deployment": "Deployment", "statefulset": "StatefulSet",
                "sts": "StatefulSet", "svc": "Service", "service": "Service", "endpoints": "Service",
                "pvc": "PersistentVolumeClaim", "secret": "Secret", "configmap": "ConfigMap", "cm": "ConfigMap",
                "ingress": "Ingress", "hpa": "HorizontalPodAutoscaler", "job": "Job", "pod": "Pod"}

MODES = [
    TAG,
    merge(TAG, {"bifrost": {"encryptionKey": "k"}}),
    merge(TAG, {"storage": {"mode": "postgres"}, "postgresql": {"enabled": True},
                "autoscaling": {"enabled": True}, "ingress": {"enabled": True},
                "migrations": {"job": {"enabled": True}}}),
    merge(TAG, {"replicaCount": 3, "storage": {"mode": "postgres"}, "postgresql": {"enabled": True},
                "bifrost": {"cluster": {"enabled": True, "discovery": {"enabled": True, "type": "kubernetes"}}}}),
    merge(TAG, {"storage": {"persistence": {"existingClaim": "bifrost-data"}}}),
]


def rendered_names(renders: list[Render]) -> set[tuple[str, str]]:
    """(kind, name) of every object, plus pods and claims the workloads create, plus referenced Secrets/claims."""
    names: set[tuple[str, str]] = set()
    for r in renders:
        for d in r.all:
            names.add((d["kind"], d["metadata"]["name"]))
            spec = d.get("spec") or {}
            if d["kind"] == "StatefulSet":
                for i in range(int(spec.get("replicas") or 1)):
                    names.add(("Pod", f"{d['metadata']['name']}-{i}"))
                    for vct in spec.get("volumeClaimTemplates", []):
                        names.add(("PersistentVolumeClaim", f"{vct['metadata']['name']}-{d['metadata']['name']}-{i}"))
            pod = (spec.get("template") or {}).get("spec") or {}
            for c in pod.get("containers", []):
                for e in c.get("env", []):
                    ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                    if ref:
                        names.add(("Secret", ref["name"]))
            for v in pod.get("volumes", []):
                if "persistentVolumeClaim" in v:
                    names.add(("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]))
    return names


def pod_label_sets(renders: list[Render]) -> list[dict[str, str]]:
    sets = []
    for r in renders:
        for d in r.all:
            sets.append(d["metadata"].get("labels") or {})
            tmpl = (d.get("spec") or {}).get("template")
            if tmpl:
                sets.append(tmpl["metadata"]["labels"])
    return sets


def commands(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if re.search(r"\b(kubectl|helm) ", ln)]


def references(text: str) -> tuple[set[tuple[str, str]], set[str], set[str]]:
    objs: set[tuple[str, str]] = set()
    selectors: set[str] = set()
    peers: set[str] = set()
    for ln in commands(text):
        # kind/name, but not a path such as deploy/helm/bifrost
        for kind, name in re.findall(r"(?<![\w/])(deploy|deployment|statefulset|sts|svc|service|job)/"
                                     r"([a-z0-9][a-z0-9-]*)(?![\w/-])", ln):
            objs.add((KIND_ALIASES[kind], name))
        m = re.search(r"kubectl (?:get|describe|delete|scale|logs) ([a-z,]+) ([a-z0-9][a-z0-9-]*)(?=[\s]|$)", ln)
        if m and m.group(2) not in ("-l", "-o"):
            for kind in m.group(1).split(","):
                if kind in KIND_ALIASES and kind != "pod":
                    objs.add((KIND_ALIASES[kind], m.group(2)))
        selectors.update(re.findall(r"-l ([\w./-]+=[\w.-]+(?:,[\w./-]+=[\w.-]+)*)", ln))
        peers.update(f"{a}.{b}" for a, b in re.findall(r"\b([a-z0-9-]+-\d+)\.([a-z0-9-]+-headless)\b", ln))
    return objs, selectors, peers


@pytest.fixture(scope="module")
def renders() -> list[Render]:
    return [Render(v) for v in MODES]


def check(text: str, renders: list[Render]) -> list[str]:
    problems: list[str] = []
    names = rendered_names(renders)
    objs, selectors, peers = references(text)
    user_made = {("Secret", n) for n in re.findall(r"kubectl create secret generic ([a-z0-9-]+)", text)}
    for kind, name in sorted(objs):
        if (kind, name) not in names | user_made:
            problems.append(f"{kind}/{name} is not rendered by the chart in any mode")
    label_sets = pod_label_sets(renders)
    for sel in sorted(selectors):
        want = dict(p.split("=", 1) for p in sel.split(","))
        if not any(want.items() <= ls.items() for ls in label_sets):
            problems.append(f"-l {sel} selects nothing the chart renders")
    for peer in sorted(peers):
        pod, svc = peer.split(".")
        if ("Pod", pod) not in names or ("Service", svc) not in names:
            problems.append(f"{peer}: no such StatefulSet pod behind a headless Service")
    return problems


def test_the_checker_catches_a_wrong_name(renders: list[Render]) -> None:
    bad = "kubectl get svc bifrost-gateway\nkubectl logs -l app=bifrost\nkubectl exec deploy/bifrost -- true\n"
    assert check(bad, renders) == ["Service/bifrost-gateway is not rendered by the chart in any mode",
                                   "-l app=bifrost selects nothing the chart renders"]


def test_every_name_the_troubleshooting_guide_uses_exists(renders: list[Render]) -> None:
    assert GUIDE.exists(), "docs/troubleshooting.md is missing"
    text = GUIDE.read_text()
    assert commands(text), "the guide has no kubectl/helm commands"
    assert not check(text, renders)
