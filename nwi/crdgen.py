"""Generate the CustomResourceDefinitions from the pydantic specs and the kind registry.

``python -m nwi.crdgen crds/`` (or ``nwi crds --out crds/``) writes one file
per kind; a test fails when ``crds/`` differs from what this produces.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from nwi.kinds import CONFIG_KINDS, DEVICE_KIND, DEVICE_PLURAL, GROUP, VERSION
from nwi.model import ConfigSpec, DeviceSpec

PRESERVE = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}

_CONDITION = {
    "type": "object",
    "required": ["type", "status"],
    "properties": {
        "type": {"type": "string"},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "reason": {"type": "string"},
        "message": {"type": "string"},
        "lastTransitionTime": {"type": "string", "format": "date-time"},
        "observedGeneration": {"type": "integer", "format": "int64"},
    },
}

CONFIG_STATUS = {
    "type": "object",
    "properties": {
        "phase": {
            "type": "string",
            "enum": ["Pending", "Waiting", "Applying", "Ready", "Failed", "Drifted", "Deleting", "Blocked"],
        },
        "reason": {"type": "string"},
        "message": {"type": "string"},
        "conditions": {"type": "array", "items": _CONDITION},
        "observedGeneration": {"type": "integer", "format": "int64"},
        "appliedHash": {"type": "string"},
        "waitingOn": {"type": "array", "items": {"type": "string"}},
        "device": {"type": "string"},
        "lastAppliedTime": {"type": "string", "format": "date-time"},
        "transaction": {
            "type": "object",
            "description": "The network-wide transaction that last applied the object, and each device's outcome.",
            "properties": {
                "name": {"type": "string"},
                "id": {"type": "string"},
                "devices": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "note": {"type": "string"},
            },
        },
    },
}

DEVICE_STATUS = {
    "type": "object",
    "properties": {
        "reachable": {"type": "boolean"},
        "capabilities": {"type": "array", "items": {"type": "string"}},
        "lastContact": {"type": "string", "format": "date-time"},
        "message": {"type": "string"},
    },
}


def structural(model: type[BaseModel]) -> dict[str, Any]:
    """A Kubernetes structural schema from a pydantic model (refs inlined, no titles, no nulls)."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    defs = schema.pop("$defs", {})
    return _clean(schema, defs)


def _clean(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_clean(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _clean(defs[node["$ref"].split("/")[-1]], defs)
        extra = {k: v for k, v in node.items() if k != "$ref"}
        return {**target, **_clean(extra, defs)}
    if "anyOf" in node:  # Optional[X] -> X
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        if len(options) == 1:
            merged = {**_clean(options[0], defs), **_clean(rest, defs)}
            if merged.get("default", 0) is None:
                del merged["default"]
            return merged
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k == "title":
            continue
        if k == "additionalProperties":
            # structural schemas forbid additionalProperties beside properties; unknown
            # fields are pruned by the apiserver (and refused by nwi's own validation)
            if v is True:
                out["x-kubernetes-preserve-unknown-fields"] = True
            continue
        if k == "exclusiveMinimum":  # structural schemas need minimum + exclusiveMinimum: true
            out["minimum"] = v
            out["exclusiveMinimum"] = True
            continue
        if k == "default" and v is None:
            continue
        out[k] = _clean(v, defs) if k in ("properties", "items") else v
        if k == "properties":
            out[k] = {name: _clean(sub, defs) for name, sub in v.items()}
    return out


def _crd(kind: str, plural: str, short_names: list[str], description: str, spec: dict[str, Any],
         status: dict[str, Any], columns: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": spec,
        "status": status,
        **(extra or {}),
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": short_names,
                "categories": ["nwi"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "description": description,
                            "type": "object",
                            "required": ["spec"],
                            "properties": props,
                        }
                    },
                }
            ],
        },
    }


CONFIG_COLUMNS: list[dict[str, Any]] = [
    {"name": "Switch", "type": "string", "jsonPath": ".spec.switchID"},
    {"name": "Path", "type": "string", "jsonPath": ".spec.path"},
    {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
    {"name": "Waiting-On", "type": "string", "jsonPath": ".status.waitingOn"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    {"name": "Message", "type": "string", "jsonPath": ".status.message", "priority": 1},
    {"name": "Applied", "type": "string", "jsonPath": ".status.appliedHash", "priority": 1},
    {"name": "Transaction", "type": "string", "jsonPath": ".status.transaction.id", "priority": 1},
]

DEVICE_COLUMNS: list[dict[str, Any]] = [
    {"name": "Address", "type": "string", "jsonPath": ".spec.address"},
    {"name": "Port", "type": "integer", "jsonPath": ".spec.port"},
    {"name": "Driver", "type": "string", "jsonPath": ".spec.driver"},
    {"name": "Reachable", "type": "boolean", "jsonPath": ".status.reachable"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def generate() -> dict[str, dict[str, Any]]:
    """File name -> CRD document, for every kind."""
    out = {}
    spec = structural(ConfigSpec)
    for k in CONFIG_KINDS.values():
        crd = _crd(k.kind, k.plural, list(k.short_names), k.description, spec, CONFIG_STATUS, CONFIG_COLUMNS,
                   extra={"properties": {**PRESERVE, "description": "Legacy form of spec.properties."}})
        out[f"{GROUP}_{k.plural}.yaml"] = crd
    out[f"{GROUP}_{DEVICE_PLURAL}.yaml"] = _crd(
        DEVICE_KIND, DEVICE_PLURAL, ["nwidev"], "A device nwi configures, and how to reach it.",
        structural(DeviceSpec), DEVICE_STATUS, DEVICE_COLUMNS)
    return out


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def render(doc: dict[str, Any]) -> str:
    return "# Generated by nwi.crdgen from nwi/model.py and nwi/kinds.py; do not edit.\n" + yaml.dump(
        doc, Dumper=_NoAliases, sort_keys=False, width=120)


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, doc in generate().items():
        path = directory / name
        path.write_text(render(doc))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write(Path(sys.argv[1] if len(sys.argv) > 1 else "crds")):
        print(p)
