"""The plan's schema checks: every device's candidate tree (``nwi.schema.device``) and the depends_on
edges its leafrefs imply."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nwi.graph import DependencyGraph
from nwi.kinds import API_VERSION, DEPENDS_ON
from nwi.model import ConfigObject, ObjectKey
from nwi.path import GnmiPath
from nwi.schema.check import SchemaReport, label
from nwi.schema.device import DeviceFinding, InferredEdge, check_device
from nwi.schema.objects import ObjectCheck


@dataclass
class PlanSchema:
    """What the per-device checks of one plan found."""

    findings: list[DeviceFinding] = field(default_factory=list)
    edges: list[InferredEdge] = field(default_factory=list)
    devices: int = 0
    seconds: float = 0.0
    sources: dict[ObjectKey, ConfigObject] = field(default_factory=dict)

    @property
    def errors(self) -> list[DeviceFinding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[DeviceFinding]:
        return [f for f in self.findings if f.severity == "warning"]

    def line(self, finding: DeviceFinding) -> str:
        """A finding as the CLI prints it: file and object when an object holds the node."""
        obj = self.sources.get(finding.owner) if finding.owner is not None else None
        where = f"{obj.source}: {label(obj)}" if obj is not None else f"device {finding.device}"
        return f"{where}: {finding.path}: {finding.message}"

    def annotation(self, key: ObjectKey) -> str:
        """``key``'s depends_on annotation with the inferred edges added, ready to paste."""
        obj = self.sources[key]
        refs = [{"apiVersion": API_VERSION, "kind": d.kind, "name": d.name, "namespace": d.namespace}
                for d in obj.depends_on]
        refs += [{"apiVersion": API_VERSION, **e.reference()} for e in self.edges if e.obj == key]
        return json.dumps(refs)

    def suggestions(self) -> list[str]:
        """The text ``nwi plan`` prints for the inferred edges."""
        if not self.edges:
            return []
        out = ["suggested depends_on edges (a leafref points into an object that is not a dependency):"]
        for e in self.edges:
            out.append(f"  {e.obj} -> {e.depends_on}: {e.leaf} refers to {e.target}")
        for key in dict.fromkeys(e.obj for e in self.edges):
            out.append(f"  {key}: {DEPENDS_ON}: '{self.annotation(key)}'")
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "devices": self.devices,
            "seconds": round(self.seconds, 4),
            "findings": [{"device": f.device, "severity": f.severity, "path": f.path, "message": f.message,
                          "object": str(f.owner) if f.owner else None} for f in self.findings],
            "inferredEdges": [{"object": str(e.obj), "dependsOn": e.reference(), "leaf": e.leaf, "target": e.target}
                              for e in self.edges],
        }


class _Ancestors:
    """Transitive dependencies, computed on demand (only leafrefs into other objects ask)."""

    def __init__(self, graph: DependencyGraph) -> None:
        self.deps = graph.deps
        self.memo: dict[ObjectKey, frozenset[ObjectKey]] = {}

    def of(self, key: ObjectKey) -> frozenset[ObjectKey]:
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        seen: set[ObjectKey] = set()
        stack = list(self.deps.get(key, ()))
        while stack:
            k = stack.pop()
            if k in seen:
                continue
            seen.add(k)
            stack.extend(self.deps.get(k, ()))
        result = self.memo[key] = frozenset(seen)
        return result

    def depends(self, a: ObjectKey, b: ObjectKey) -> bool:
        return b in self.of(a)


def check_plan(report: SchemaReport, objects: Sequence[ConfigObject], devices: Sequence[str],
               reads: Mapping[str, Mapping[GnmiPath, Any]], whole: Mapping[str, Any],
               graph: DependencyGraph, validate: bool = True) -> PlanSchema:
    """Validate each device's candidate tree, per model set; ``whole``: device -> its whole configuration
    (the virtual device's), used instead of ``reads`` and making findings errors."""
    t0 = time.perf_counter()
    out = PlanSchema(sources={o.key: o for o in objects})
    waves = graph.wave_numbers()
    groups: dict[tuple[str, int], list[tuple[int, ConfigObject, ObjectCheck]]] = defaultdict(list)
    sets = {}
    for i, (obj, device) in enumerate(zip(objects, devices, strict=True)):
        checked = report.results.get(obj.key)
        ms = checked.model_set if checked is not None else None
        if checked is None or ms is None or not checked.ok:
            continue
        sets[id(ms)] = ms
        wave = waves[i]
        groups[(device, id(ms))].append((wave if wave is not None else 1 << 30, obj, checked))
    ancestors = _Ancestors(graph)
    for (device, ms_id), members in groups.items():
        members.sort(key=lambda m: m[0])  # as the plan applies them: dependencies first
        known = device in whole
        held = {GnmiPath(): whole[device]} if known else reads.get(device, {})
        result = check_device(sets[ms_id], device, [(o, r) for _, o, r in members], held, known,
                              ancestors.depends, validate)
        out.findings += result.findings
        out.edges += result.edges
        out.devices += 1
    out.seconds = time.perf_counter() - t0
    return out


def with_plan_json(plan_text: str, schema: PlanSchema) -> str:
    """``nwi plan -o json``'s document with the schema findings and inferred edges under ``schema``."""
    doc = json.loads(plan_text)
    doc["schema"] = schema.as_json()
    return json.dumps(doc, indent=2)


def add_inferred_deps(report: SchemaReport, objects: Sequence[ConfigObject],
                      devices: Sequence[str]) -> tuple[list[ConfigObject], list[InferredEdge], list[InferredEdge]]:
    """``--add-inferred-deps``: the objects with the depends_on edges their leafrefs imply added (the
    objects, the edges added, the edges left out because they would close a cycle). Only this run's
    objects change; the files stay as they are."""
    graph = DependencyGraph.build(objects)
    edges = check_plan(report, objects, devices, {}, {}, graph, validate=False).edges
    if not edges:
        return list(objects), [], []
    ancestors = _Ancestors(graph)
    # an edge a -> b closes a cycle when b already depends on a; those stay out, said so
    refused = [e for e in edges if ancestors.depends(e.depends_on, e.obj)]
    added = [e for e in edges if e not in refused]
    extra: dict[ObjectKey, list[ObjectKey]] = defaultdict(list)
    for e in added:
        extra[e.obj].append(e.depends_on)
    out = [replace(o, depends_on=(*o.depends_on, *extra[o.key])) if o.key in extra else o for o in objects]
    if DependencyGraph.build(out).cycles:  # edges that only together close a cycle: add none of them
        return list(objects), [], edges
    return out, added, refused


def edge_notes(report: SchemaReport | None) -> list[str]:
    """What ``--add-inferred-deps`` did, one line per edge, for stderr."""
    if report is None:
        return []
    out = [f"added depends_on {e.obj} -> {e.depends_on} for this run ({e.leaf} refers to {e.target})"
           for e in report.added_edges]
    out += [f"not added: depends_on {e.obj} -> {e.depends_on} would close a dependency cycle ({e.leaf} refers "
            f"to {e.target})" for e in report.refused_edges]
    return out
