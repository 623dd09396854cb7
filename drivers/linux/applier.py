"""Carry out a plan over netlink, undoing every completed step when one fails.

Each step first reads the link's state fresh from the kernel and pushes the
inverse operation (rebuild it as it was, or delete what was created) onto an
undo stack; a failure runs the stack backwards, so the namespace ends as it
began. Host links (``type: host``) are moved in from, and back out to, the
host namespace; they are never deleted.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from nwi.drivers.linux import netns as ns
from nwi.drivers.linux.planner import Plan, Step, Target
from nwi.drivers.linux.reader import BRIDGE_VLAN_INFO_PVID, BRIDGE_VLAN_INFO_UNTAGGED, LinkState, read_links

log = logging.getLogger(__name__)


class StepFailed(Exception):
    """A step the kernel refused; ``rollback_errors`` lists undo steps that failed too."""

    def __init__(self, step: Step, message: str, rollback_errors: list[str]) -> None:
        super().__init__(message)
        self.step = step
        self.message = message
        self.rollback_errors = rollback_errors


def kernel_message(exc: BaseException) -> str:
    if isinstance(exc, NetlinkError):
        return f"kernel refused: {os.strerror(exc.code) if exc.code else exc}"
    return str(exc)


@dataclass
class Applier:
    """Applies plans inside ``netns``; ``host_netns`` (None: this process's own) lends ``host`` links."""

    ipr: IPRoute
    netns: str
    host_netns: str | None = None
    undo: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    #: links this run created: undoing their creation covers every later change to them
    created: set[str] = field(default_factory=set)

    # ---- the plan -------------------------------------------------------------------
    def run(self, plan: Plan) -> None:
        self.undo = []
        self.created = set()
        for step in plan.steps:
            try:
                self._do(step)
            except Exception as exc:
                message = f"{step.describe()}: {kernel_message(exc)}"
                log.warning("netns %s: %s; rolling back %d step(s)", self.netns, message, len(self.undo))
                raise StepFailed(step, message, self.rollback()) from exc

    def rollback(self) -> list[str]:
        failures = []
        while self.undo:
            what, fn = self.undo.pop()
            try:
                fn()
            except Exception as exc:
                failures.append(f"undo {what}: {kernel_message(exc)}")
                log.error("netns %s: undo %s failed: %s", self.netns, what, exc)
        return failures

    def _do(self, step: Step) -> None:
        if step.action == "detach":
            before = self._state(step.name)
            self.undo.append((f"detach {step.name}", lambda: self.converge(step.name, Target.of_state(before))))
            self._set(step.name, master=0)
        elif step.action == "delete":
            self._delete(step)
        elif step.action == "create":
            assert step.spec is not None
            spec = step.spec
            self._add(spec.name, spec.type, spec.peer, spec.parent, spec.mode, spec.vlan_id)
            if spec.type != "host":  # a host link outlives the undo: its changes must be undone too
                self.created.update(n for n in (spec.name, step.peer) if n)
        else:
            assert step.target is not None
            if step.name in self.created:
                self.converge(step.name, step.target)
                return
            before = self._state(step.name)
            self.undo.append((f"change {step.name}", lambda: self.converge(step.name, Target.of_state(before))))
            self.converge(step.name, step.target)

    # ---- reading ----------------------------------------------------------------------
    def _links(self) -> dict[str, LinkState]:
        return read_links(self.ipr)

    def _state(self, name: str) -> LinkState:
        state = self._links().get(name)
        if state is None:
            raise LookupError(f"link {name!r} vanished")
        return state

    def _index(self, name: str) -> int:
        found = self.ipr.link_lookup(ifname=name)
        if not found:
            raise LookupError(f"link {name!r} does not exist")
        return int(found[0])

    # ---- create / delete ----------------------------------------------------------------
    def _add(
        self, name: str, ltype: str, peer: str | None, parent: str | None, mode: str | None, vlan_id: int | None
    ) -> None:
        if ltype == "host":
            self._move_in(name)
            self.undo.append((f"move in {name}", lambda: self._move_out(name)))
            return
        args: dict[str, object] = {"ifname": name, "kind": ltype}
        if ltype == "veth":
            args["peer"] = {"ifname": peer}
        elif ltype in ("macvlan", "vlan"):
            assert parent is not None
            args["link"] = self._index(parent)
            if ltype == "macvlan" and mode is not None:
                args["macvlan_mode"] = mode
            if ltype == "vlan":
                args["vlan_id"] = vlan_id
        self.ipr.link("add", **args)
        self.undo.append((f"create {name}", lambda: self._delete_if_there(name)))

    def _delete_if_there(self, name: str) -> None:
        found = self.ipr.link_lookup(ifname=name)
        if found:
            self.ipr.link("del", index=found[0])

    def _delete(self, step: Step) -> None:
        links = self._links()
        before = links[step.name]
        peer_before = links.get(step.peer) if step.peer else None
        if before.type == "host":
            self._move_out(step.name)
            self.undo.append((f"move out {step.name}", lambda: self._rebuild(before, None)))
            return
        self.ipr.link("del", index=before.index)
        self.undo.append((f"delete {step.name}", lambda: self._rebuild(before, peer_before)))

    def _rebuild(self, before: LinkState, peer_before: LinkState | None) -> None:
        """Undo a delete: the link (and its veth peer) as they were, attributes included."""
        if before.type == "host":
            self._move_in(before.name)
        else:
            self._add(before.name, before.type, before.peer, before.parent, before.mode, before.vlan_id)
            self.undo.pop()  # rollback is already running: no undo for the undo
        self.converge(before.name, Target.of_state(before))
        if peer_before is not None:
            self.converge(peer_before.name, Target.of_state(peer_before))

    # ---- host links ---------------------------------------------------------------------
    def _host(self) -> IPRoute:
        return ns.open_netns(self.host_netns) if self.host_netns else IPRoute()

    @contextlib.contextmanager
    def _netns_fd(self, name: str | None) -> Iterator[int]:
        """An fd of a named namespace, or of the one this process runs in (None)."""
        path = os.path.join(ns.NETNS_DIR, ns.check_name(name)) if name else "/proc/self/ns/net"
        fd = os.open(path, os.O_RDONLY)
        try:
            yield fd
        finally:
            os.close(fd)

    def _move_in(self, name: str) -> None:
        with self._host() as host:
            found = host.link_lookup(ifname=name)
            if not found:
                where = f"namespace {self.host_netns!r}" if self.host_netns else "the host namespace"
                raise LookupError(f"host link {name!r} is not in {where}")
            with self._netns_fd(self.netns) as fd:
                host.link("set", index=found[0], net_ns_fd=fd)

    def _move_out(self, name: str) -> None:
        index = self._index(name)
        with self._netns_fd(self.host_netns) as fd:
            self.ipr.link("set", index=index, net_ns_fd=fd)

    # ---- attributes -------------------------------------------------------------------
    def _set(self, name: str, **attrs: object) -> None:
        self.ipr.link("set", index=self._index(name), **attrs)

    def converge(self, name: str, target: Target) -> None:
        """Make one link's attributes match ``target`` (reads first; changes only what differs)."""
        state = self._state(name)
        index = state.index
        if target.mode is not None and target.mode != state.mode:
            self.ipr.link("set", index=index, kind="macvlan", macvlan_mode=target.mode)
        if target.vlan_filtering is not None and target.vlan_filtering != state.vlan_filtering:
            self.ipr.link("set", index=index, kind="bridge", br_vlan_filtering=int(target.vlan_filtering))
        if target.mtu is not None and target.mtu != state.mtu:
            self.ipr.link("set", index=index, mtu=target.mtu)
        if target.mac_address is not None and target.mac_address != state.mac_address:
            self.ipr.link("set", index=index, address=target.mac_address)
        if target.master != state.master:
            self.ipr.link("set", index=index, master=self._index(target.master) if target.master else 0)
            state = self._state(name)  # joining a bridge gives the port the bridge's default VLAN
        if target.vlans is not None and target.vlans != state.vlans:
            self._converge_vlans(index, state.vlans or {}, target.vlans)
        have, want = set(state.addresses), set(target.addresses)
        for cidr in sorted(have - want):
            address, prefix = cidr.split("/")
            self.ipr.addr("del", index=index, address=address, prefixlen=int(prefix))
        for cidr in sorted(want - have):
            address, prefix = cidr.split("/")
            self.ipr.addr("add", index=index, address=address, prefixlen=int(prefix))
        if target.up is not None and target.up != state.up:
            self.ipr.link("set", index=index, state="up" if target.up else "down")

    def _converge_vlans(
        self, index: int, have: dict[int, tuple[bool, bool]], want: dict[int, tuple[bool, bool]]
    ) -> None:
        for vid, (pvid, untagged) in sorted(want.items()):
            if have.get(vid) != (pvid, untagged):
                flags = (BRIDGE_VLAN_INFO_PVID if pvid else 0) | (BRIDGE_VLAN_INFO_UNTAGGED if untagged else 0)
                self.ipr.vlan_filter("add", index=index, vlan_info={"vid": vid, "flags": flags})
        for vid in sorted(set(have) - set(want)):
            self.ipr.vlan_filter("del", index=index, vlan_info={"vid": vid})
