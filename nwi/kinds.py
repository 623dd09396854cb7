"""The registry of config kinds: one shared schema, per-kind defaults.

Adding a kind is one entry in :data:`CONFIG_KINDS`; its CRD, its validation
and its CLI support all derive from it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from nwi.path import GnmiPath, plain_elem

GROUP = "nwi.enc.nokia.com"
VERSION = "v1alpha2"
API_VERSION = f"{GROUP}/{VERSION}"
DEPENDS_ON = f"{GROUP}/depends_on"
#: objects with the same value (in one namespace) commit on all their devices or on none
TRANSACTION = f"{GROUP}/transaction"
#: optional: how many members the transaction has; it waits whole until all of them exist
TRANSACTION_SIZE = f"{GROUP}/transaction-size"

DriverName = Literal["gnmi", "netconf", "virtual"]


@dataclass(frozen=True)
class ConfigKind:
    """A device-config kind. Kinds differ only in defaults, never in schema."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    description: str
    default_driver: DriverName = "gnmi"
    default_encoding: str = "json_ietf"
    #: First element of every device path. Paths of this kind are written
    #: relative to it (``/service/...`` means ``/configure/service/...`` on SR OS);
    #: a path that already starts with it is used as is.
    path_root: str = ""
    #: NETCONF: XML namespace of each top-level element of this kind's tree.
    yang_namespaces: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: The device reports attributes nobody configured (kernel defaults): a ``replace`` is then
    #: in sync when every desired field matches, as for ``merge``; it is still sent as a replace.
    device_fills_defaults: bool = False
    #: ``module:function`` giving properties in the form the device reads them back, so that
    #: writing one spelling and reading another is not mistaken for a difference.
    canonicaliser: str = ""

    def canonical(self, path: GnmiPath, properties: dict[str, Any]) -> dict[str, Any]:
        if not self.canonicaliser:
            return properties
        module, _, func = self.canonicaliser.partition(":")
        try:
            result: dict[str, Any] = getattr(importlib.import_module(module), func)(path, properties)
        except ValueError:
            return properties  # invalid input is reported by validation, not here
        return result

    def device_path(self, path: GnmiPath) -> GnmiPath:
        """``path`` as the device knows it: this kind's root prepended where the path omits it."""
        root = self.path_root
        if not root or (path.elems and path.elems[0].name.split(":")[-1] == root):
            return path
        return GnmiPath((plain_elem(root), *path.elems), path.origin)

    @property
    def singular(self) -> str:
        return self.kind.lower()


def _ns(**entries: str) -> MappingProxyType[str, str]:
    return MappingProxyType({k.replace("_", "-"): v for k, v in entries.items()})


CONFIG_KINDS: dict[str, ConfigKind] = {
    k.kind: k
    for k in (
        ConfigKind(
            kind="SROSConfig",
            plural="srosconfigs",
            short_names=("sros",),
            description="Configuration of a Nokia SR OS router, at a path under /configure.",
            default_driver="netconf",
            path_root="configure",
            yang_namespaces=_ns(configure="urn:nokia.com:sros:ns:yang:sr:conf"),
        ),
        ConfigKind(
            kind="SRLinuxConfig",
            plural="srlinuxconfigs",
            short_names=("srl",),
            description="Configuration of a Nokia SR Linux router.",
            yang_namespaces=_ns(
                interface="urn:srl_nokia/interfaces",
                network_instance="urn:srl_nokia/network-instance",
                system="urn:srl_nokia/system",
                routing_policy="urn:srl_nokia/routing-policy",
            ),
        ),
        ConfigKind(
            kind="OpenConfig",
            plural="openconfigs",
            short_names=("oc",),
            description="OpenConfig configuration of any gNMI or NETCONF device.",
            yang_namespaces=_ns(
                interfaces="http://openconfig.net/yang/interfaces",
                network_instances="http://openconfig.net/yang/network-instance",
                system="http://openconfig.net/yang/system",
                routing_policy="http://openconfig.net/yang/routing-policy",
                bgp="http://openconfig.net/yang/bgp",
                vlans="http://openconfig.net/yang/vlan",
            ),
        ),
        ConfigKind(
            kind="LinuxConfig",
            plural="linuxconfigs",
            short_names=("lx",),
            description="Linux link state (veth, macvlan, VLAN, bridge) of a virtual device.",
            default_driver="virtual",
            default_encoding="json",
            device_fills_defaults=True,
            canonicaliser="nwi.drivers.linux:canonical_linux_properties",
        ),
    )
}

DEVICE_KIND = "Device"
DEVICE_PLURAL = "devices"
