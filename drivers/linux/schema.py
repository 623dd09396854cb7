"""The LinuxConfig schema: what a virtual device's Linux links may look like.

One ``LinuxConfig`` object describes one link at ``/interfaces/interface[name=X]``.
The model is validated with pydantic so that a bad object is refused with the
field named *before* anything reaches the kernel. Absent optional fields mean:

* ``mtu``, ``mac-address``, ``admin-state``, macvlan ``mode``, ``vlan-filtering``:
  not managed (the kernel's value, or its default when the link is created);
* ``addresses``, ``master``: none (a ``replace`` without them removes them);
* ``vlans``/``pvid``/``untagged`` (bridge ports): when all three are absent the
  port keeps the kernel's VLANs; when any is given they are the port's exact
  VLAN membership.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from nwi.path import GnmiPath, PathElem

#: Link types nwi manages. ``host`` is a link whose life belongs outside the
#: namespace (a host NIC moved in on request, or a veth/macvlan whose other end
#: or parent lives elsewhere): nwi moves it in and, on delete, moves it back out.
LINK_TYPES = ("veth", "macvlan", "vlan", "bridge", "host")
LinkType = Literal["veth", "macvlan", "vlan", "bridge", "host"]
MacvlanMode = Literal["bridge", "vepa", "private", "passthru"]

#: The kernel's IFNAMSIZ is 16 including the terminating NUL.
_IFNAME = re.compile(r"^[^\s/:]{1,15}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

IfName = Annotated[str, Field(pattern=_IFNAME.pattern)]
VlanId = Annotated[int, Field(ge=1, le=4094, strict=True)]

INTERFACES = "interfaces"
INTERFACE = "interface"
#: Tells :class:`nwi.tree.Tree` that ``interface`` is a list keyed by ``name``.
LIST_KEYS: dict[str, tuple[str, ...]] = {INTERFACE: ("name",)}


class LinkSpec(BaseModel):
    """One link as configured (JSON names with dashes; Python names with underscores)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, strict=True)

    name: IfName
    type: LinkType
    peer: IfName | None = None
    parent: IfName | None = None
    mode: MacvlanMode | None = None
    vlan_id: VlanId | None = Field(default=None, alias="vlan-id")
    mtu: int | None = Field(default=None, ge=68, le=65535)
    mac_address: str | None = Field(default=None, alias="mac-address")
    admin_state: Literal["enable", "disable"] | None = Field(default=None, alias="admin-state")
    addresses: tuple[str, ...] | None = None
    master: IfName | None = None
    vlan_filtering: bool | None = Field(default=None, alias="vlan-filtering")
    vlans: tuple[VlanId, ...] | None = None
    pvid: VlanId | None = None
    untagged: tuple[VlanId, ...] | None = None

    @field_validator("name", "peer", "parent", "master")
    @classmethod
    def _not_dots(cls, v: str | None) -> str | None:
        if v in (".", ".."):
            raise ValueError("'.' and '..' are not interface names")
        return v

    @field_validator("mac_address")
    @classmethod
    def _mac(cls, v: str | None) -> str | None:
        if v is None:
            return v
        mac = v.lower()
        if not _MAC.match(mac):
            raise ValueError(f"{v!r} is not a MAC address like 02:00:00:00:00:01")
        return mac

    @field_validator("addresses", mode="before")
    @classmethod
    def _addresses(cls, v: Any) -> Any:
        # YAML gives lists; a tuple keeps the model hashable and frozen.
        if isinstance(v, list):
            v = tuple(v)
        if not isinstance(v, tuple):
            return v
        seen: list[str] = []
        for item in v:
            if not isinstance(item, str) or "/" not in item:
                raise ValueError(f"{item!r} is not an address with a prefix length (e.g. 172.254.1.200/24)")
            try:
                canon = str(ipaddress.ip_interface(item))
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IPv4/IPv6 CIDR: {exc}") from None
            if canon in seen:
                raise ValueError(f"{item!r} is listed twice")
            seen.append(canon)
        return tuple(sort_addresses(seen))

    @field_validator("vlans", "untagged", mode="before")
    @classmethod
    def _vid_list(cls, v: Any) -> Any:
        if isinstance(v, list):
            v = tuple(v)
        if isinstance(v, tuple) and len(set(v)) != len(v):
            raise ValueError("a VLAN id is listed twice")
        return tuple(sorted(v)) if isinstance(v, tuple) and all(isinstance(x, int) for x in v) else v

    @model_validator(mode="after")
    def _per_type(self) -> LinkSpec:
        t = self.type
        problems: list[str] = []

        def only(field: str, value: Any, allowed: tuple[str, ...]) -> None:
            if value is not None and t not in allowed:
                problems.append(f"{field}: only allowed on type {' or '.join(allowed)}, not {t}")

        only("peer", self.peer, ("veth",))
        only("parent", self.parent, ("macvlan", "vlan"))
        only("mode", self.mode, ("macvlan",))
        only("vlan-id", self.vlan_id, ("vlan",))
        only("vlan-filtering", self.vlan_filtering, ("bridge",))
        if t == "veth" and self.peer is None:
            problems.append("peer: a veth needs the name of its other end")
        if t in ("macvlan", "vlan") and self.parent is None:
            problems.append(f"parent: a {t} needs a parent link")
        if t == "vlan" and self.vlan_id is None:
            problems.append("vlan-id: a vlan needs a VLAN id (1..4094)")
        for field, other in (("peer", self.peer), ("parent", self.parent), ("master", self.master)):
            if other == self.name:
                problems.append(f"{field}: a link cannot name itself")
        if t == "bridge" and self.master is not None:
            problems.append("master: a bridge cannot be a port of another bridge")
        if self.port_vlans_given:
            if t == "bridge":
                problems.append("vlans: set VLANs on the bridge's ports, not on the bridge")
            elif self.master is None:
                problems.append("vlans: per-port VLANs need a master bridge (with vlan-filtering: true)")
            both = set(self.vlans or ()) & set(self.untagged or ())
            if both:
                problems.append(f"untagged: VLAN {sorted(both)} cannot be both tagged (vlans) and untagged")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def port_vlans_given(self) -> bool:
        return self.vlans is not None or self.pvid is not None or self.untagged is not None

    def port_vlan_membership(self) -> dict[int, tuple[bool, bool]] | None:
        """``{vid: (pvid, untagged)}`` when this port's VLANs are managed, else None."""
        if not self.port_vlans_given:
            return None
        members = {vid: (False, False) for vid in self.vlans or ()}
        for vid in self.untagged or ():
            members[vid] = (False, True)
        if self.pvid is not None:
            members[self.pvid] = (True, members.get(self.pvid, (False, False))[1])
        return members

    def to_json(self) -> dict[str, Any]:
        """The JSON form (dashed names, absent fields left out), as stored in the tree."""
        out = self.model_dump(by_alias=True, exclude_none=True)
        for key in ("addresses", "vlans", "untagged"):
            if key in out:
                out[key] = list(out[key])
        return out


def sort_addresses(addresses: list[str] | tuple[str, ...]) -> list[str]:
    """Canonical order: IPv4 before IPv6, then by address, then prefix length."""
    parsed = [ipaddress.ip_interface(a) for a in addresses]
    parsed.sort(key=lambda i: (i.version, int(i.ip), i.network.prefixlen))
    return [str(i) for i in parsed]


def interface_name(path: GnmiPath) -> str | None:
    """X for ``/interfaces/interface[name=X]``, else None."""
    if len(path.elems) != 2 or path.elems[0] != PathElem(INTERFACES):
        return None
    elem = path.elems[1]
    if elem.name != INTERFACE or [k for k, _ in elem.keys] != ["name"]:
        return None
    return elem.key_dict["name"]


def format_errors(exc: ValidationError, prefix: str = "") -> list[str]:
    """pydantic errors as ``field: message`` lines (dashed field names, as users write them)."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        where = f"{prefix}{loc}" if loc else prefix.rstrip(".") or "properties"
        out.append(f"{where}: {msg}")
    return out


def parse_link(name: str, properties: Any, prefix: str = "") -> tuple[LinkSpec | None, list[str]]:
    """Validate one link's JSON; return the spec or the error messages (each naming its field)."""
    if not isinstance(properties, dict):
        return None, [f"{prefix or 'properties'}: must be an object, not {type(properties).__name__}"]
    if "name" in properties and properties["name"] != name:
        return None, [f"{prefix}name: {properties['name']!r} differs from the path key {name!r}"]
    try:
        return LinkSpec.model_validate({**properties, "name": name}), []
    except ValidationError as exc:
        return None, format_errors(exc, prefix)


def validate_linux_properties(path: GnmiPath, properties: dict[str, Any]) -> list[str]:
    """Check one LinuxConfig object before anything is applied; [] when it is valid.

    Checks the path form and every field of the link on its own; references to
    other links (parent, peer, master) are checked against the whole device at
    commit time, still before the kernel is touched.
    """
    name = interface_name(path)
    if name is None:
        return [f"path: LinuxConfig supports /interfaces/interface[name=X], not {path.render()}"]
    _, errors = parse_link(name, properties)
    return errors


def canonical_linux_properties(path: GnmiPath, properties: dict[str, Any]) -> dict[str, Any]:
    """The properties in the form the device reads them back (lower-case MAC, sorted canonical
    addresses and VLAN lists), so comparing what was written with what is read finds no
    false difference. Raises ValueError (the messages of validate_linux_properties) when invalid.
    """
    name = interface_name(path)
    spec, errors = parse_link(name or "", properties) if name else (None, validate_linux_properties(path, properties))
    if spec is None:
        raise ValueError("; ".join(errors))
    out = spec.to_json()
    if "name" not in properties:
        out.pop("name")
    return out
