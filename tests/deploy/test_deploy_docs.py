"""The deployment docs stay true: every value is in the chart README's table, every `--set` in the
docs names a real value, and the guide's install commands render valid objects."""

from __future__ import annotations

import re
import shlex

import helm_python as helm
import yaml
from bifrost_chart import CHART, ROOT, Render, merge, strict_problems

GUIDE = ROOT / "docs" / "deployment" / "kubernetes.md"
README = CHART / "README.md"


def _values() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((CHART / "values.yaml").read_text())


def _leaves(d: dict, prefix: str = "") -> list[str]:  # type: ignore[type-arg]
    out = []
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        out += _leaves(v, key) if isinstance(v, dict) and v else [key]
    return out


def test_every_value_is_in_the_chart_readme_table() -> None:
    rows = set(re.findall(r"^\| `([^`]+)` \|", README.read_text(), re.M))
    missing = [k for k in _leaves(_values())
               if not any(k == r or k.startswith(r + ".") for r in rows)]
    assert not missing, f"add these to deploy/helm/bifrost/README.md: {missing}"


def test_every_set_flag_in_the_docs_names_a_chart_value() -> None:
    values = _values()
    for doc in (GUIDE, README):
        for key in re.findall(r"--set '?([\w.\[\]]+)=", doc.read_text()):
            node = values
            for part in key.split("."):
                name, indexed = part.split("[")[0], "[" in part
                assert isinstance(node, dict) and name in node, f"{doc.name}: --set {key}: no such value"
                node = node[name]
                if indexed:  # an element of a list value: check its fields against the default's first entry
                    assert isinstance(node, list), f"{doc.name}: --set {key}: {name} is not a list"
                    if not node:
                        break
                    node = node[0]


def test_the_guides_install_commands_render_valid_objects() -> None:
    text = GUIDE.read_text()
    my_values = yaml.safe_load(re.search(r"cat > my-values.yaml <<'EOF'\n(.*?)\nEOF", text, re.S).group(1))
    quick = Render(my_values)
    assert quick.workload()["kind"] == "StatefulSet" and not strict_problems(quick.all)
    cmd = re.search(r"helm install bifrost deploy/helm/bifrost -f my-values.yaml \\\n(.*?)\n```", text, re.S)
    args = shlex.split(cmd.group(1).replace("\\\n", " "))
    sets = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    # One parse for all --set flags, as Helm applies them in order onto the same lists.
    prod = Render(merge(my_values, helm.parse_set_string(",".join(sets))))
    assert prod.workload()["kind"] == "Deployment" and prod.has("HorizontalPodAutoscaler", "bifrost")
    assert prod.get("Ingress", "bifrost")["spec"]["tls"][0]["secretName"] == "bifrost-tls"
    assert not strict_problems(prod.all)
