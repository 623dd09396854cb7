"""Helpers for kernel tests: build transactions, read the kernel back with iproute2."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from nwi.drivers.base import Change, Op, Transaction
from nwi.drivers.linux import netns as ns
from nwi.path import GnmiPath, parse_path


def iface(name: str) -> GnmiPath:
    return parse_path(f"/interfaces/interface[name={name}]")


def update(name: str, value: dict[str, Any], owner: str = "") -> Change:
    return Change(Op.UPDATE, iface(name), value, owner=owner or f"LinuxConfig/default/{name}")


def replace(name: str, value: dict[str, Any], owner: str = "") -> Change:
    return Change(Op.REPLACE, iface(name), value, owner=owner or f"LinuxConfig/default/{name}")


def delete(name: str, owner: str = "") -> Change:
    return Change(Op.DELETE, iface(name), None, owner=owner or f"LinuxConfig/default/{name}")


def txn(*changes: Change) -> Transaction:
    return Transaction("test-device", list(changes))


def ip(netns: str, *args: str) -> Any:
    """``ip -j -d -n NETNS ARGS`` parsed; [] when the namespace does not exist."""
    if not ns.exists(netns):
        return []
    out = subprocess.run(["ip", "-j", "-d", "-n", netns, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out or "[]")


def links(netns: str) -> dict[str, Any]:
    """The namespace's links as iproute2 reports them, loopback left out."""
    return {link["ifname"]: link for link in ip(netns, "link", "show") if link["ifname"] != "lo"}


def addresses(netns: str, link: str) -> set[str]:
    """Configured (non link-local) addresses of one link, per iproute2."""
    out = set()
    for entry in ip(netns, "addr", "show", "dev", link):
        for a in entry.get("addr_info", []):
            if a.get("scope") != "link":
                out.add(f"{a['local']}/{a['prefixlen']}")
    return out


def kind(link: dict[str, Any]) -> str | None:
    info = link.get("linkinfo") or {}
    return info.get("info_kind")


def info_data(link: dict[str, Any]) -> dict[str, Any]:
    return (link.get("linkinfo") or {}).get("info_data") or {}


def bridge_vlans(netns: str) -> dict[str, dict[int, set[str]]]:
    """``{port: {vid: flags}}`` from ``bridge -j vlan show`` (flags: PVID, Egress Untagged)."""
    out = subprocess.run(["bridge", "-n", netns, "-j", "vlan", "show"], check=True, capture_output=True, text=True)
    result: dict[str, dict[int, set[str]]] = {}
    for port in json.loads(out.stdout or "[]"):
        result[port["ifname"]] = {v["vlan"]: set(v.get("flags", [])) for v in port.get("vlans", [])}
    return result


def kernel_view(netns: str) -> dict[str, tuple[object, ...]]:
    """What a rollback must restore, per link: index, kind, peer/parent, MTU, MAC, up, master,
    macvlan mode, VLAN id, bridge VLAN filtering, addresses (volatile timers and counters left out)."""
    view = {}
    for name, link in links(netns).items():
        data = info_data(link)
        view[name] = (
            link["ifindex"], kind(link), link.get("link"), link["mtu"], link["address"],
            "UP" in link["flags"], link.get("master"), data.get("mode"), data.get("id"),
            data.get("vlan_filtering"), frozenset(addresses(netns, name)),
        )
    return view
