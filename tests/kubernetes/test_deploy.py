"""deploy/: renders with kustomize, validates against the apiserver's OpenAPI schemas, least-privilege RBAC."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness.kube import KubeApiServer
from kube_kit import DEPLOY

from nwi import crdgen

pytestmark = pytest.mark.kubernetes

SA = "system:serviceaccount:nwi-system:nwi-operator"
ALLOWED_VERBS = {"get", "list", "watch", "patch", "create"}


def rendered(kube: KubeApiServer, directory: Path = DEPLOY) -> list[dict[str, Any]]:
    out = kube.kubectl("kustomize", str(directory)).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_crd_copies_are_what_the_generator_produces() -> None:
    generated = crdgen.generate()
    on_disk = {p.name for p in (DEPLOY / "crds").glob("*.yaml")}
    assert on_disk == set(generated), "deploy/crds differs: run `python -m nwi.crdgen deploy/crds`"
    for name, doc in generated.items():
        assert (DEPLOY / "crds" / name).read_text() == crdgen.render(doc), f"deploy/crds/{name} is stale"
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    assert {f"crds/{n}" for n in generated} <= set(kustomization["resources"])


def test_manifests_validate_against_the_apiserver_schemas(kube: KubeApiServer, deployed: Path) -> None:
    kinds = sorted(d["kind"] for d in rendered(kube))
    assert kinds.count("CustomResourceDefinition") == len(crdgen.generate()) + 2  # + kopf's peering CRDs
    for kind in ("Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Deployment", "Service",
                 "ClusterKopfPeering"):
        assert kind in kinds
    # kubectl checks every document against the server's OpenAPI schema, the server dry-runs them all
    result = kube.kubectl("apply", "--dry-run=server", "--validate=strict", "-k", str(DEPLOY))
    assert "(server dry run)" in result.stdout


def test_schema_validation_catches_a_mistake(kube: KubeApiServer, deployed: Path, tmp_path: Path) -> None:
    """The validation above can fail: a misspelt field in the Deployment is refused."""
    broken = tmp_path / "deploy"
    shutil.copytree(DEPLOY, broken)
    text = (broken / "deployment.yaml").read_text()
    (broken / "deployment.yaml").write_text(text.replace("readinessProbe:", "readynessProbe:"))
    result = kube.kubectl("apply", "--dry-run=server", "--validate=strict", "-k", str(broken), check=False)
    assert result.returncode != 0
    assert "readynessProbe" in result.stderr


def test_rbac_is_least_privilege(kube: KubeApiServer) -> None:
    docs = rendered(kube)
    roles = [d for d in docs if d["kind"] in ("ClusterRole", "Role")]
    assert roles
    for role in roles:
        for rule in role["rules"]:
            for fld in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(fld, []), f"wildcard {fld} in {role['metadata']['name']}: {rule}"
            assert set(rule["verbs"]) <= ALLOWED_VERBS, rule
            assert not rule.get("nonResourceURLs"), rule
            if "secrets" in rule["resources"]:
                assert rule["verbs"] == ["get"], "Secrets: read by name only, never listed or watched"
    for binding in (d for d in docs if d["kind"] in ("ClusterRoleBinding", "RoleBinding")):
        assert binding["roleRef"]["name"] not in ("cluster-admin", "admin", "edit"), binding
        assert binding["roleRef"]["name"] in {r["metadata"]["name"] for r in roles}


@pytest.mark.parametrize(("verb", "resource", "allowed"), [
    ("patch", "srosconfigs.nwi.enc.nokia.com/status", True),
    ("watch", "devices.nwi.enc.nokia.com", True),
    ("get", "secrets", True),
    ("create", "events", True),
    ("list", "secrets", False),
    ("delete", "srosconfigs.nwi.enc.nokia.com", False),
    ("update", "srosconfigs.nwi.enc.nokia.com", False),
    ("create", "pods", False),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io", False),
])
def test_the_operator_account_can_do_what_it_needs_and_no_more(
    kube: KubeApiServer, deployed: Path, verb: str, resource: str, allowed: bool
) -> None:
    result = kube.kubectl("auth", "can-i", verb, resource, "--all-namespaces", f"--as={SA}", check=False)
    assert result.stdout.strip() == ("yes" if allowed else "no"), result.stdout + result.stderr


def test_deployment_is_hardened(kube: KubeApiServer) -> None:
    deployment = next(d for d in rendered(kube) if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "nwi-operator"
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    assert container["args"][0] == "operator"
    service = next(d for d in rendered(kube) if d["kind"] == "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
