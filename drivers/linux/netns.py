"""The network namespace each Linux-backed virtual device owns.

A device's links live in a namespace of its own (``/run/netns/<name>``), so
nothing nwi does can reach the host's links: every netlink socket the backend
opens is bound to that namespace. The namespace is created on the first
commit, never by a read, and removed only on request.
"""

from __future__ import annotations

import os
import re

from pyroute2 import IPRoute, netns

#: Where iproute2 (``ip netns``) and pyroute2 keep named namespaces.
NETNS_DIR = "/run/netns"
#: Prefix of every device namespace; tests set NWI_NETNS_PREFIX to own theirs.
DEFAULT_PREFIX = "nwi-"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def netns_for_device(device: str, prefix: str | None = None) -> str:
    """The namespace name of a device: a safe file name (``172.20.20.200`` -> ``nwi-172.20.20.200``)."""
    if prefix is None:
        prefix = os.environ.get("NWI_NETNS_PREFIX", DEFAULT_PREFIX)
    name = prefix + _UNSAFE.sub("_", device)
    if name in (".", "..") or not name:
        name = prefix + "_"
    return name[:200]


def check_name(name: str) -> str:
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        raise ValueError(f"{name!r} is not a usable network namespace name")
    return name


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, check_name(name)))


def ensure(name: str) -> None:
    """Create the namespace unless it is there (lo is brought up so local traffic works)."""
    if exists(name):
        return
    netns.create(check_name(name))
    with IPRoute(netns=name, flags=0) as ipr:
        lo = ipr.link_lookup(ifname="lo")
        if lo:
            ipr.link("set", index=lo[0], state="up")


def remove(name: str) -> bool:
    """Remove the namespace (its virtual links go with it); False when it did not exist."""
    if not exists(name):
        return False
    netns.remove(check_name(name))
    return True


def remove_device_netns(device: str, prefix: str | None = None) -> bool:
    """Remove the namespace of ``device`` (for ``nwi`` cleanup); False when there was none."""
    return remove(netns_for_device(device, prefix))


def open_netns(name: str) -> IPRoute:
    """A netlink socket inside an existing namespace (never creates one)."""
    if not exists(name):
        raise FileNotFoundError(f"network namespace {name!r} does not exist")
    return IPRoute(netns=check_name(name), flags=0)
