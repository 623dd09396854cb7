"""Desired links vs kernel links -> an ordered list of steps (or the reasons to refuse).

The desired state is the kernel's state with the transaction applied (merge
keeps what the kernel has; replace and delete take it away). Everything is
validated here, before a single netlink request is sent. The order is
dependency-safe: ports leave a bridge before it goes, children are deleted
before their parents, parents are created before their children, and bridges
before the ports that join them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Any, Literal

from nwi.drivers.linux.reader import LinkState
from nwi.drivers.linux.schema import INTERFACE, INTERFACES, LINK_TYPES, LinkSpec, parse_link
from nwi.tree import Tree

Action = Literal["detach", "delete", "create", "converge"]


@dataclass(frozen=True)
class Target:
    """What one link's attributes should be; None = leave the kernel's value."""

    mtu: int | None = None
    mac_address: str | None = None
    up: bool | None = None
    mode: str | None = None
    vlan_filtering: bool | None = None
    master: str | None = None  # always managed: None means "no master"
    addresses: tuple[str, ...] = ()  # always managed
    vlans: dict[int, tuple[bool, bool]] | None = None

    @classmethod
    def of_spec(cls, spec: LinkSpec) -> Target:
        return cls(
            mtu=spec.mtu,
            mac_address=spec.mac_address,
            up=None if spec.admin_state is None else spec.admin_state == "enable",
            mode=spec.mode,
            vlan_filtering=spec.vlan_filtering,
            master=spec.master,
            addresses=spec.addresses or (),
            vlans=spec.port_vlan_membership(),
        )

    @classmethod
    def of_state(cls, state: LinkState) -> Target:
        """Everything the kernel reported: used to put a link back as it was (rollback)."""
        # a bridge's MAC follows its ports unless pinned; pinning it on rollback would change that
        mac = None if state.type == "bridge" or state.mac_address == "00:00:00:00:00:00" else state.mac_address
        return cls(
            mtu=state.mtu,
            mac_address=mac,
            up=state.up,
            mode=state.mode,
            vlan_filtering=state.vlan_filtering,
            master=state.master,
            addresses=tuple(state.addresses),
            vlans=state.vlans,
        )

    def differences(self, state: LinkState) -> list[str]:
        """The managed fields on which ``state`` differs from this target."""
        diffs = []
        for name, want, have in (
            ("mtu", self.mtu, state.mtu),
            ("mac-address", self.mac_address, state.mac_address),
            ("admin-state", self.up, state.up),
            ("mode", self.mode, state.mode),
            ("vlan-filtering", self.vlan_filtering, state.vlan_filtering),
        ):
            if want is not None and want != have:
                diffs.append(name)
        if self.master != state.master:
            diffs.append("master")
        if set(self.addresses) != set(state.addresses):
            diffs.append("addresses")
        if self.vlans is not None and self.vlans != state.vlans:
            diffs.append("vlans")
        return diffs


@dataclass(frozen=True)
class Step:
    """One unit of work; ``peer`` is set when a veth pair is created or deleted as one."""

    action: Action
    name: str
    spec: LinkSpec | None = None
    target: Target | None = None
    peer: str | None = None
    detail: str = ""

    def describe(self) -> str:
        what = f"{self.action} {self.name}"
        if self.peer:
            what += f" (veth pair with {self.peer})"
        return f"{what}: {self.detail}" if self.detail else what


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)

    def describe(self) -> list[str]:
        return [s.describe() for s in self.steps]


class PlanError(ValueError):
    """The desired state is invalid; ``errors`` name the link and field, ``links`` the links at fault."""

    def __init__(self, errors: list[str], links: Iterable[str] = ()) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.links = tuple(links)


def desired_entries(tree: Tree) -> dict[str, Any]:
    """``{name: json}`` of the desired tree; refuse anything outside ``/interfaces/interface``."""
    doc = tree.to_json()
    extra = sorted(set(doc) - {INTERFACES})
    if extra:
        raise PlanError([f"{'/' + extra[0]}: the Linux backend only manages /interfaces/interface[name=X]"])
    interfaces = doc.get(INTERFACES) or {}
    if not isinstance(interfaces, dict) or set(interfaces) - {INTERFACE}:
        raise PlanError(["/interfaces: only the 'interface' list is supported"])
    entries = interfaces.get(INTERFACE) or []
    out: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise PlanError([f"/interfaces/interface: entry {entry!r} has no name"])
        out[entry["name"]] = entry
    return out


def make_plan(current: dict[str, LinkState], desired_tree: Tree) -> Plan:
    """The steps that take the kernel from ``current`` to ``desired_tree``; raise PlanError."""
    entries = desired_entries(desired_tree)
    before = {n: s.to_json() for n, s in current.items()}
    touched = {n for n in set(entries) | set(before) if entries.get(n) != before.get(n)}

    specs: dict[str, LinkSpec] = {}
    errors: list[str] = []
    bad: set[str] = set()
    for name, entry in entries.items():
        if name not in touched and entry.get("type") not in LINK_TYPES:
            continue  # a link of a kind nwi does not manage, left alone as found
        spec, errs = parse_link(name, entry, prefix=f"interface[name={name}].")
        if spec is None:
            errors += errs
            bad.add(name)
        else:
            specs[name] = spec
    if errors:
        raise PlanError(errors, bad)

    dropped = _pair_veths(specs, current, touched)
    _check_references(specs, current, (set(entries) - dropped) | set(specs))

    recreate = {n for n, spec in specs.items() if n in current and _identity_changed(spec, current[n])}
    gone = (set(current) - set(entries)) | (dropped & set(current))
    # a child dies with its parent and a veth end with its peer: recreate those too
    changed = True
    while changed:
        changed = False
        for n, spec in specs.items():
            if n in recreate or n not in current:
                continue
            dead = recreate | gone
            if (spec.parent in dead) or (spec.type == "veth" and spec.peer in dead):
                recreate.add(n)
                changed = True
    doomed = gone | recreate

    plan = Plan()
    # 1. ports leave bridges that go away or that they leave
    for n in sorted(current):
        state = current[n]
        if n in doomed or state.master is None:
            continue
        spec = specs.get(n)
        want_master = spec.master if spec is not None else state.master
        if state.master in doomed or want_master != state.master:
            plan.steps.append(Step("detach", n, detail=f"leave {state.master}"))
    # 2. deletions, children first; a veth pair goes in one step
    plan.steps += _delete_steps(current, doomed)
    # 3. creations and changes, parents (and bridges) first
    order = _creation_order(specs)
    created: set[str] = set()
    for n in order:
        spec = specs[n]
        target = Target.of_spec(spec)
        is_new = n not in current or n in recreate
        if is_new and n not in created:
            peer = spec.peer if spec.type == "veth" else None
            plan.steps.append(Step("create", n, spec=spec, peer=peer, detail=spec.type))
            created.add(n)
            if peer:
                created.add(peer)
        if is_new:
            plan.steps.append(Step("converge", n, spec=spec, target=target))
        else:
            diffs = target.differences(current[n])
            if diffs:
                plan.steps.append(Step("converge", n, spec=spec, target=target, detail=", ".join(diffs)))
    return plan


def _identity_changed(spec: LinkSpec, state: LinkState) -> bool:
    """Type, parent, peer and VLAN id cannot change on a live link: it is recreated."""
    if spec.type != state.type:
        return True
    if spec.type == "veth":
        return spec.peer != state.peer
    if spec.type in ("macvlan", "vlan"):
        return spec.parent != state.parent or (spec.type == "vlan" and spec.vlan_id != state.vlan_id)
    return False


def _pair_veths(specs: dict[str, LinkSpec], current: dict[str, LinkState], touched: set[str]) -> set[str]:
    """Make veth pairs whole; return the ends dropped because their pair goes away.

    One declared end implies the other. Deleting either end deletes the pair
    (the kernel does so), and an end left describing an old pairing is stale
    when the transaction did not touch it.
    """
    errors: list[str] = []
    bad: set[str] = set()
    dropped: set[str] = set()
    for name in sorted(specs):
        spec = specs[name]
        if spec.type != "veth" or name in dropped:
            continue
        assert spec.peer is not None
        where = f"interface[name={name}].peer"
        other = specs.get(spec.peer)
        if other is not None:
            if other.type == "veth" and other.peer == name:
                continue
            if name not in touched:
                dropped.add(name)  # this end's partner was re-paired: the old pair goes
            elif spec.peer not in touched:
                was = current.get(spec.peer)
                paired = f" (paired with {was.peer!r})" if was is not None and was.type == "veth" else ""
                errors.append(f"{where}: {spec.peer!r} already exists as a {other.type}{paired}")
                bad.add(name)
            else:
                errors.append(f"{where}: {spec.peer!r} is declared as a {other.type} not paired with {name!r}")
                bad.add(name)
            continue
        was = current.get(spec.peer)
        if was is not None and was.type == "veth" and was.peer == name and name not in touched:
            dropped.add(name)  # the other end was deleted; this end goes with it
        elif was is None or spec.peer in touched:
            specs[spec.peer] = LinkSpec(name=spec.peer, type="veth", peer=name)
        else:
            errors.append(f"{where}: {spec.peer!r} already exists as a {was.type} that nwi does not manage")
            bad.add(name)
    if errors:
        raise PlanError(errors, bad)
    for name in dropped:
        specs.pop(name, None)
    return dropped


def _check_references(specs: dict[str, LinkSpec], current: dict[str, LinkState], known: set[str]) -> None:
    errors: list[str] = []
    bad: set[str] = set()
    for name, spec in sorted(specs.items()):
        where = f"interface[name={name}]"
        if spec.parent is not None and spec.parent not in known:
            errors.append(f"{where}.parent: link {spec.parent!r} does not exist on this device")
            bad.add(name)
        if spec.master is not None:
            bridge = specs.get(spec.master)
            if bridge is None:
                errors.append(f"{where}.master: bridge {spec.master!r} does not exist on this device")
                bad.add(name)
            elif bridge.type != "bridge":
                errors.append(f"{where}.master: {spec.master!r} is a {bridge.type}, not a bridge")
                bad.add(name)
            elif spec.port_vlans_given:
                filtering = bridge.vlan_filtering
                if filtering is None and spec.master in current:
                    filtering = current[spec.master].vlan_filtering
                if not filtering:
                    errors.append(f"{where}.vlans: bridge {spec.master!r} needs vlan-filtering: true for port VLANs")
                    bad.add(name)
    try:
        _creation_order(specs)
    except CycleError as exc:
        errors.append(f"interface: links depend on each other in a cycle: {' -> '.join(exc.args[1])}")
        bad.update(exc.args[1])
    if errors:
        raise PlanError(errors, bad)


def _creation_order(specs: dict[str, LinkSpec]) -> list[str]:
    graph: TopologicalSorter[str] = TopologicalSorter()
    for name in sorted(specs):
        spec = specs[name]
        deps = [d for d in (spec.parent, spec.master) if d is not None and d in specs]
        graph.add(name, *deps)
    return list(graph.static_order())


def _delete_steps(current: dict[str, LinkState], doomed: set[str]) -> list[Step]:
    """Children before parents; each veth pair once (named by its first end)."""
    unit = {}
    for n in doomed:
        peer = current[n].peer
        unit[n] = min(n, peer) if current[n].type == "veth" and peer in doomed else n
    graph: TopologicalSorter[str] = TopologicalSorter()
    for n in sorted(doomed):
        graph.add(unit[n])
        parent = current[n].parent
        if parent in doomed:
            graph.add(unit[parent], unit[n])  # the parent waits for its child
    steps = []
    for u in graph.static_order():
        state = current[u]
        peer = state.peer if state.type == "veth" and state.peer in doomed else None
        verb = "move out to the host namespace" if state.type == "host" else state.type
        steps.append(Step("delete", u, peer=peer, detail=verb))
    return steps
