"""Text renderings for the CLI: kubectl-like tables, plans, and the DAG as DOT or Mermaid."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import yaml

from nwi.graph import DependencyGraph, describe_cycle
from nwi.loader import printable
from nwi.model import DeviceObject, ObjectKey
from nwi.planner import DeviceBatch
from nwi.store import StoredObject

PHASE_COLOURS = {
    "Ready": "#8fd18f",
    "Waiting": "#f5e08c",
    "Applying": "#9cc3f0",
    "Pending": "#dddddd",
    "Failed": "#f08c8c",
    "Drifted": "#f5b86c",
    "Deleting": "#c9b3e6",
    "Blocked": "#e6a3c9",
}


def age(created: str, now: datetime | None = None) -> str:
    """kubectl-style age: 45s, 12m, 3h, 2d."""
    try:
        then = datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<unknown>"
    secs = int(((now or datetime.now(UTC)) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size * (2 if unit != "m" else 1):
            return f"{secs // size}{unit}"
    return f"{max(secs, 0)}s"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Plain columns separated by three spaces, like kubectl."""
    if not rows:
        return ""
    # a terminal never gets a raw control character (an escape sequence in a name from older state)
    rows = [[c if c.isprintable() else printable(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def object_rows(objects: Iterable[StoredObject], wide: bool, show_kind: bool) -> list[list[str]]:
    head = ["NAMESPACE", "NAME", *(["KIND"] if show_kind or wide else []), "SWITCH", "PATH", "PHASE",
            "WAITING-ON", "AGE", *(["REASON", "MESSAGE", "APPLIED", "TRANSACTION"] if wide else [])]
    rows = [head]
    for s in objects:
        k = s.obj.key
        st = s.status
        row = [k.namespace, k.name, *([k.kind] if show_kind or wide else []), s.obj.spec.switch_id, s.obj.spec.path,
               str(st.phase), ",".join(st.waiting_on) or "<none>", age(s.created)]
        if wide:
            row += [st.reason or "", _one_line(st.message), st.applied_hash or "",
                    st.transaction.summary() if st.transaction else "<none>"]
        rows.append(row)
    return rows


def device_rows(devices: Iterable[DeviceObject], wide: bool) -> list[list[str]]:
    """Devices as ``kubectl get devices`` lists them (the CLI has no reachability to show)."""
    wide_head = ["BACKEND", "TRANSPORT", "CREDENTIALS"] if wide else []
    rows = [["NAMESPACE", "NAME", "ADDRESS", "PORT", "DRIVER", *wide_head]]
    for d in devices:
        spec = d.spec
        row = [d.key.namespace, d.key.name, d.address, str(spec.default_port() or "<none>"), spec.driver]
        if wide:
            row += [spec.backend if spec.driver == "virtual" else "<none>", _transport(d),
                    spec.credentials_secret_ref.name if spec.credentials_secret_ref else "<file or env>"]
        rows.append(row)
    return rows


def _transport(d: DeviceObject) -> str:
    spec = d.spec
    if spec.driver == "virtual":
        return "local"
    if spec.driver == "netconf":
        return "ssh" if spec.host_key_verify else "ssh (host key not verified)"
    if spec.insecure:
        return "plaintext"
    return "tls (not verified)" if spec.tls is not None and spec.tls.skip_verify else "tls"


def _one_line(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def object_docs(objects: Iterable[StoredObject]) -> list[dict[str, Any]]:
    docs = []
    for s in objects:
        doc = s.obj.manifest()
        doc["metadata"]["generation"] = s.obj.generation
        doc["metadata"]["creationTimestamp"] = s.created
        doc["status"] = s.status.to_dict()
        docs.append(doc)
    return docs


def as_json(docs: list[dict[str, Any]]) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}, indent=2)


def as_yaml(docs: list[dict[str, Any]]) -> str:
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": docs}, sort_keys=False)


#: a plan's network-wide transactions: group -> {"devices": [...], "members": [...]}
PlanGroups = Mapping[str, Mapping[str, Sequence[str]]]


def plan_text(graph: DependencyGraph, waves: list[list[DeviceBatch]], unreachable: Mapping[str, str],
              transactions: PlanGroups | None = None) -> str:
    out: list[str] = []
    for key, cycle in sorted(graph.cycles.items()):
        out.append(f"! {key}: dependency cycle {describe_cycle(cycle)}")
    for key, gone in sorted(graph.missing.items()):
        out.append(f"! {key}: waits on missing " + ", ".join(str(g) for g in gone))
    for key, stuck in sorted(graph.blocked.items()):
        out.append(f"! {key}: blocked behind " + ", ".join(str(g) for g in stuck))
    for device, message in sorted(unreachable.items()):
        out.append(f"! device {device}: cannot read current state ({message}); diffs assume it is empty")
    changes = 0
    for i, wave in enumerate(waves, start=1):
        out.append(f"wave {i}:")
        for batch in wave:
            txn = batch.transaction
            changes += len(txn.changes)
            label = f"{len(txn.changes)} change(s) in one transaction" if txn else "no changes"
            out.append(f"  device {batch.device}: {label}")
            for p in batch.objects:
                if p.error:
                    out.append(f"    ! {p.key}: {p.error}")
                elif p.change is None:
                    out.append(f"    = {p.key} (in sync)")
                else:
                    out.append(f"    {p.change.op} {p.path}   ({p.key})")
                    out.extend(f"        {line}" for line in p.diff())
    for group, g in (transactions or {}).items():
        out.append(f"transaction {group}: {len(g['members'])} object(s) on {len(g['devices'])} device(s) "
                   f"({', '.join(g['devices'])}), all or none")
    out.append(f"plan: {changes} change(s) over {sum(len(w) for w in waves)} device transaction(s); nothing applied")
    return "\n".join(out)


def plan_json(graph: DependencyGraph, waves: list[list[DeviceBatch]], unreachable: Mapping[str, str],
              transactions: PlanGroups | None = None) -> str:
    doc = {
        "transactions": {k: {"devices": list(v["devices"]), "members": list(v["members"])}
                         for k, v in (transactions or {}).items()},
        "cycles": {str(k): [str(c) for c in v] for k, v in graph.cycles.items()},
        "missing": {str(k): [str(c) for c in v] for k, v in graph.missing.items()},
        "blocked": {str(k): [str(c) for c in v] for k, v in graph.blocked.items()},
        "unreachable": dict(unreachable),
        "waves": [
            [
                {
                    "device": b.device,
                    "objects": [
                        {"object": str(p.key), "path": str(p.path), "inSync": p.in_sync, "error": p.error,
                         "op": str(p.change.op) if p.change else None, "diff": p.diff()}
                        for p in b.objects
                    ],
                }
                for b in wave
            ]
            for wave in waves
        ],
    }
    return json.dumps(doc, indent=2)


def _node_id(key: ObjectKey) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in str(key))


def graph_dot(edges: Mapping[ObjectKey, Sequence[ObjectKey]], phases: Mapping[ObjectKey, str]) -> str:
    """Edges drawn from a dependency to its dependent: the order things are applied in."""
    lines = ["digraph nwi {", "  rankdir=LR;", '  node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for key in sorted(edges):
        phase = phases.get(key, "Pending")
        label = f"{key.kind}\\n{key.namespace}/{key.name}\\n{phase}"
        lines.append(f'  {_node_id(key)} [label="{label}", fillcolor="{PHASE_COLOURS.get(phase, "#ffffff")}"];')
    for key in sorted(edges):
        for dep in edges[key]:
            if dep not in edges:
                lines.append(f'  {_node_id(dep)} [label="{dep.kind}\\n{dep.namespace}/{dep.name}\\n(missing)", '
                             'fillcolor="#ffffff", style="dashed"];')
            lines.append(f"  {_node_id(dep)} -> {_node_id(key)};")
    lines.append("}")
    return "\n".join(lines)


def graph_mermaid(edges: Mapping[ObjectKey, Sequence[ObjectKey]], phases: Mapping[ObjectKey, str]) -> str:
    lines = ["graph LR"]
    for key in sorted(edges):
        phase = phases.get(key, "Pending")
        lines.append(f'  {_node_id(key)}["{key.kind}<br/>{key.namespace}/{key.name}<br/>{phase}"]:::{phase.lower()}')
    for key in sorted(edges):
        for dep in edges[key]:
            if dep not in edges:
                lines.append(f'  {_node_id(dep)}["{dep.kind}<br/>{dep.namespace}/{dep.name}<br/>(missing)"]')
            lines.append(f"  {_node_id(dep)} --> {_node_id(key)}")
    for phase, colour in PHASE_COLOURS.items():
        lines.append(f"  classDef {phase.lower()} fill:{colour}")
    return "\n".join(lines)
