"""crds/ is generated from the code and must not drift from it."""

from __future__ import annotations

from typing import Any

import yaml

from nwi import crdgen
from nwi.kinds import CONFIG_KINDS
from tests.conftest import REPO


def test_crds_directory_is_up_to_date() -> None:
    expected = crdgen.generate()
    on_disk = {p.name: p.read_text() for p in (REPO / "crds").glob("*.yaml")}
    assert sorted(on_disk) == sorted(expected), "run: python -m nwi.crdgen crds"
    for name, doc in expected.items():
        assert on_disk[name] == crdgen.render(doc), f"crds/{name} is stale; run: python -m nwi.crdgen crds"


def _walk(schema: dict[str, Any], path: str = "") -> list[str]:
    """Structural-schema violations: every node typed (or preserving unknown fields), no $ref/anyOf."""
    problems = []
    if "type" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        problems.append(f"{path}: no type")
    for bad in ("$ref", "anyOf", "additionalProperties", "title"):
        if bad in schema:
            problems.append(f"{path}: {bad}")
    for name, sub in schema.get("properties", {}).items():
        problems += _walk(sub, f"{path}.{name}")
    if "items" in schema:
        problems += _walk(schema["items"], f"{path}[]")
    return problems


def test_every_crd_is_structural_with_status_and_columns() -> None:
    for name, doc in crdgen.generate().items():
        version = doc["spec"]["versions"][0]
        assert version["subresources"] == {"status": {}}
        assert _walk(version["schema"]["openAPIV3Schema"]) == [], name
        if doc["spec"]["names"]["kind"] in CONFIG_KINDS:
            cols = [c["name"].upper() for c in version["additionalPrinterColumns"] if "priority" not in c]
            assert cols == ["SWITCH", "PATH", "PHASE", "WAITING-ON", "AGE"]
            props = version["schema"]["openAPIV3Schema"]["properties"]
            assert props["properties"]["x-kubernetes-preserve-unknown-fields"] is True  # legacy form
            assert props["spec"]["required"] == ["switchID", "path"]


def test_one_crd_per_registered_kind() -> None:
    kinds = {yaml.safe_load(p.read_text())["spec"]["names"]["kind"] for p in (REPO / "crds").glob("*.yaml")}
    assert kinds == {*CONFIG_KINDS, "Device"}
