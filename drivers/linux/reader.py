"""Read a namespace's links from the kernel into nwi's JSON form.

State is always read back from the kernel, never from a cache, so a link
changed or deleted by hand shows up on the next read (drift).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

from pyroute2 import IPRoute

from nwi.drivers.linux.schema import INTERFACE, INTERFACES, LIST_KEYS, sort_addresses
from nwi.path import GnmiPath, PathElem
from nwi.tree import Tree

IFF_UP = 0x1
IFF_LOOPBACK = 0x8
BRIDGE_VLAN_INFO_PVID = 0x2
BRIDGE_VLAN_INFO_UNTAGGED = 0x4

#: kernel link kind -> nwi type; anything else is reported under its kernel kind.
_KIND_TYPES = {"veth": "veth", "macvlan": "macvlan", "vlan": "vlan", "bridge": "bridge", None: "host"}


@dataclass
class LinkState:
    """One link as the kernel reports it."""

    index: int
    name: str
    type: str
    peer: str | None = None
    parent: str | None = None
    mode: str | None = None
    vlan_id: int | None = None
    mtu: int | None = None
    mac_address: str | None = None
    up: bool = False
    addresses: list[str] = field(default_factory=list)
    master: str | None = None
    vlan_filtering: bool | None = None
    #: {vid: (pvid, untagged)} for a port of a VLAN-filtering bridge, else None
    vlans: dict[int, tuple[bool, bool]] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        for key, value in (
            ("peer", self.peer),
            ("parent", self.parent),
            ("mode", self.mode),
            ("vlan-id", self.vlan_id),
            ("mtu", self.mtu),
            ("mac-address", self.mac_address),
        ):
            if value is not None:
                out[key] = value
        out["admin-state"] = "enable" if self.up else "disable"
        out["addresses"] = list(self.addresses)
        if self.master is not None:
            out["master"] = self.master
        if self.vlan_filtering is not None:
            out["vlan-filtering"] = self.vlan_filtering
        if self.vlans is not None:
            out["vlans"] = sorted(v for v, (_, untagged) in self.vlans.items() if not untagged)
            out["untagged"] = sorted(v for v, (_, untagged) in self.vlans.items() if untagged)
            pvid = [v for v, (is_pvid, _) in self.vlans.items() if is_pvid]
            if pvid:
                out["pvid"] = pvid[0]
        return out


def _info(msg: Any) -> tuple[str | None, Any]:
    linkinfo = msg.get_attr("IFLA_LINKINFO")
    if linkinfo is None:
        return None, None
    return linkinfo.get_attr("IFLA_INFO_KIND"), linkinfo.get_attr("IFLA_INFO_DATA")


def read_links(ipr: IPRoute) -> dict[str, LinkState]:
    """Every link of the namespace except loopback, by name."""
    msgs = [m for m in ipr.link("dump") if not m["flags"] & IFF_LOOPBACK]
    names = {m["index"]: m.get_attr("IFLA_IFNAME") for m in msgs}
    links: dict[str, LinkState] = {}
    for m in msgs:
        kind, data = _info(m)
        name = names[m["index"]]
        # IFLA_LINK_NETNSID is present when the peer/parent lives in another namespace
        foreign = m.get_attr("IFLA_LINK_NETNSID") is not None
        other = None if foreign else names.get(m.get_attr("IFLA_LINK") or 0)
        ltype = "host" if foreign and kind in ("veth", "macvlan", "vlan") else _KIND_TYPES.get(kind, kind or "host")
        state = LinkState(
            index=m["index"],
            name=name,
            type=ltype,
            mtu=m.get_attr("IFLA_MTU"),
            mac_address=m.get_attr("IFLA_ADDRESS"),
            up=bool(m["flags"] & IFF_UP),
            master=names.get(m.get_attr("IFLA_MASTER") or 0),
        )
        if ltype == "veth":
            state.peer = other
        elif ltype in ("macvlan", "vlan"):
            state.parent = other
        if ltype == "macvlan" and data is not None:
            state.mode = data.get_attr("IFLA_MACVLAN_MODE")
        if ltype == "vlan" and data is not None:
            state.vlan_id = data.get_attr("IFLA_VLAN_ID")
        if ltype == "bridge" and data is not None:
            state.vlan_filtering = bool(data.get_attr("IFLA_BR_VLAN_FILTERING"))
        links[name] = state
    _read_addresses(ipr, links)
    _read_port_vlans(ipr, links)
    return links


def _read_addresses(ipr: IPRoute, links: dict[str, LinkState]) -> None:
    by_index = {s.index: s for s in links.values()}
    for msg in ipr.addr("dump"):
        state = by_index.get(msg["index"])
        if state is None:
            continue
        addr = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
        iface = ipaddress.ip_interface(f"{addr}/{msg['prefixlen']}")
        # IPv6 link-local addresses are made by the kernel, not configured
        if msg["family"] == socket.AF_INET6 and iface.ip.is_link_local:
            continue
        state.addresses.append(str(iface))
    for state in links.values():
        state.addresses = sort_addresses(state.addresses)


def _read_port_vlans(ipr: IPRoute, links: dict[str, LinkState]) -> None:
    """Bridge-port VLANs, reported only for ports of a VLAN-filtering bridge."""
    filtering = {n for n, s in links.items() if s.type == "bridge" and s.vlan_filtering}
    if not filtering:
        return
    by_index = {s.index: s for s in links.values()}
    for msg in ipr.get_vlans():
        state = by_index.get(msg["index"])
        if state is None or state.master not in filtering:
            continue
        spec = msg.get_attr("IFLA_AF_SPEC")
        infos = spec.get_attrs("IFLA_BRIDGE_VLAN_INFO") if spec is not None else []
        state.vlans = {
            int(i["vid"]): (bool(i["flags"] & BRIDGE_VLAN_INFO_PVID), bool(i["flags"] & BRIDGE_VLAN_INFO_UNTAGGED))
            for i in infos
        }
    for state in links.values():
        if state.master in filtering and state.vlans is None:
            state.vlans = {}


INTERFACES_PATH = GnmiPath((PathElem(INTERFACES),))


def links_to_tree(links: dict[str, LinkState]) -> Tree:
    """The nwi tree of a namespace: ``/interfaces/interface[name=X]`` per link, sorted by name."""
    tree = Tree(list_keys=LIST_KEYS)
    if links:
        tree.replace(INTERFACES_PATH, {INTERFACE: [links[n].to_json() for n in sorted(links)]})
    return tree
