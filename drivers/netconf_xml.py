"""gNMI-style paths and JSON properties to NETCONF XML, and NETCONF replies back to JSON.

NETCONF carries configuration as XML in YANG module namespaces, while nwi
objects carry a gNMI path plus a JSON (RFC 7951 style) subtree. This module
is the translation, with no I/O, so that it is testable on its own:

* :func:`edit_config` builds the ``<config>`` document of one change, with
  ``nc:operation`` ``replace`` or ``remove`` on the target node;
* :func:`subtree_filter` builds the ``<filter>`` that selects one path;
* :func:`extract` turns a ``<data>`` reply back into the JSON at that path.

Namespaces come from, in order: a module prefix on a name
(``ietf-interfaces:interfaces``, also in JSON member names, RFC 7951 4), the
path's origin when it names a module (``ietf-interfaces:/interfaces``), and the
kind's per-top-element map (``nwi.kinds.CONFIG_KINDS[kind].yang_namespaces``).
Children inherit their parent's namespace.

The document is built with lxml, never by string concatenation, and every
name is checked against the XML name grammar first, so no key, value or
property name can inject markup (tests/netconf fuzz this).

Values read back are strings: XML has no types, and guessing (is ``"1234"`` a
number or an SR OS customer name?) would be wrong either way for some leaf.
The planner compares scalars by their text (``nwi.planner.same_config``), so
``4321`` desired and ``"4321"`` read are the same value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lxml import etree

from nwi.kinds import CONFIG_KINDS
from nwi.path import GnmiPath, PathElem

NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
_IETF_PREFIX = "urn:ietf:params:xml:ns:yang:"

EditOperation = Literal["merge", "replace", "remove"]

#: Modules whose namespace does not follow ``urn:ietf:params:xml:ns:yang:<module>``.
#: The driver adds whatever the server advertises in its hello on top of these.
WELL_KNOWN_MODULES: Mapping[str, str] = {
    "nokia-conf": "urn:nokia.com:sros:ns:yang:sr:conf",
    "openconfig-interfaces": "http://openconfig.net/yang/interfaces",
    "openconfig-if-ip": "http://openconfig.net/yang/interfaces/ip",
    "openconfig-if-ethernet": "http://openconfig.net/yang/interfaces/ethernet",
    "openconfig-network-instance": "http://openconfig.net/yang/network-instance",
    "openconfig-system": "http://openconfig.net/yang/system",
    "openconfig-routing-policy": "http://openconfig.net/yang/routing-policy",
    "openconfig-bgp": "http://openconfig.net/yang/bgp",
    "openconfig-vlan": "http://openconfig.net/yang/vlan",
    "srl_nokia-interfaces": "urn:srl_nokia/interfaces",
    "srl_nokia-network-instance": "urn:srl_nokia/network-instance",
    "srl_nokia-system": "urn:srl_nokia/system",
}

#: List names and their keys, per namespace. XML cannot tell a one-entry list
#: from a container, so a read needs these to return a list; an edit uses them
#: to put key leaves first (RFC 7950 7.8.5). Lists named with keys in a path
#: need no entry here; repeated elements in a reply are always a list.
LIST_KEYS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    _IETF_PREFIX + "ietf-interfaces": {"interface": ("name",)},
    _IETF_PREFIX + "ietf-ip": {"address": ("ip",), "neighbor": ("ip",)},
    _IETF_PREFIX + "ietf-system": {
        "server": ("name",),
        "user": ("name",),
        "authorized-key": ("name",),
        "search": (),  # leaf-list
        "user-authentication-order": (),  # leaf-list
    },
    "urn:nokia.com:sros:ns:yang:sr:conf": {
        "customer": ("customer-name",),
        "vpls": ("service-name",),
        "vprn": ("service-name",),
        "epipe": ("service-name",),
        "ies": ("service-name",),
        "sap": ("sap-id",),
        "spoke-sdp": ("sdp-bind-id",),
        "mesh-sdp": ("sdp-bind-id",),
        "sdp": ("sdp-id",),
        "interface": ("interface-name",),
        "port": ("port-id",),
        "lag": ("lag-name",),
        "router": ("router-name",),
        "group": ("group-name",),
        "neighbor": ("ip-address",),
        "card": ("slot-number",),
        "mda": ("mda-slot",),
        "policy-statement": ("name",),
        "prefix-list": ("name",),
        "entry": ("entry-id",),
    },
    "http://openconfig.net/yang/interfaces": {"interface": ("name",), "subinterface": ("index",)},
    "http://openconfig.net/yang/interfaces/ip": {"address": ("ip",), "neighbor": ("ip",)},
    "http://openconfig.net/yang/network-instance": {
        "network-instance": ("name",),
        "protocol": ("identifier", "name"),
        "neighbor": ("neighbor-address",),
        "interface": ("id",),
    },
    "http://openconfig.net/yang/vlan": {"vlan": ("vlan-id",)},
}

# XML names (NCName) and YANG identifiers; anything else is refused before lxml sees it.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_IDENTITY = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*):([A-Za-z_][A-Za-z0-9_.-]*)\Z")


class XmlBuildError(ValueError):
    """A path or value that has no NETCONF XML form (bad name, unknown namespace, bad text)."""


@dataclass(frozen=True)
class Namespaces:
    """How names resolve to XML namespaces for one kind on one server."""

    #: top-level element name -> namespace (the kind's map)
    top: Mapping[str, str] = field(default_factory=dict)
    #: module name -> namespace (well-known + the server's hello)
    modules: Mapping[str, str] = field(default_factory=lambda: dict(WELL_KNOWN_MODULES))

    def module_ns(self, module: str) -> str | None:
        if module in self.modules:
            return self.modules[module]
        if module.startswith(("ietf-", "iana-")):
            return _IETF_PREFIX + module
        return None

    def module_of(self, namespace: str) -> str | None:
        """The module name of a namespace (for JSON member prefixes and identities)."""
        for name, ns in self.modules.items():
            if ns == namespace:
                return name
        if namespace.startswith(_IETF_PREFIX):
            return namespace[len(_IETF_PREFIX) :]
        return None

    def top_ns(self, name: str, origin: str) -> str:
        if origin and origin not in ("openconfig", "rfc7951"):
            ns = self.module_ns(origin)
            if ns:
                return ns
        if name in self.top:
            return self.top[name]
        raise XmlBuildError(
            f"no XML namespace for top-level element {name!r}: prefix it with its YANG module "
            f"(e.g. /ietf-interfaces:interfaces) or use a kind whose namespace map has it"
        )


def namespaces_for(kind: str, server_modules: Mapping[str, str] | None = None) -> Namespaces:
    """The namespaces of ``kind`` (empty map for an unknown kind) plus the server's modules."""
    config_kind = CONFIG_KINDS.get(kind)
    modules = dict(WELL_KNOWN_MODULES)
    modules.update(server_modules or {})
    return Namespaces(dict(config_kind.yang_namespaces) if config_kind else {}, modules)


def namespaces_any_kind(server_modules: Mapping[str, str] | None = None) -> Namespaces:
    """Namespaces when the kind is unknown (drift reads): every kind's map, preferring what the server has.

    A top-level name claimed by two kinds (``system``: SR Linux and OpenConfig)
    resolves to the namespace the server advertises; when it advertises
    neither, the name stays unresolved and needs a module prefix.
    """
    advertised = set((server_modules or {}).values())
    claims: dict[str, set[str]] = {}
    for config_kind in CONFIG_KINDS.values():
        for name, ns in config_kind.yang_namespaces.items():
            claims.setdefault(name, set()).add(ns)
    top: dict[str, str] = {}
    for name, candidates in claims.items():
        offered = candidates & advertised
        if len(offered) == 1:
            top[name] = offered.pop()
        elif len(candidates) == 1 and not offered:
            top[name] = next(iter(candidates))
    base = namespaces_for("", server_modules)
    return Namespaces(top, base.modules)


# ---- names ---------------------------------------------------------------------------


def split_name(name: str) -> tuple[str | None, str]:
    """``module:local`` -> (module, local); ``local`` -> (None, local). Both parts must be XML names."""
    module, sep, local = name.partition(":")
    if not sep:
        module, local = "", name
    if sep and not _NAME.match(module):
        raise XmlBuildError(f"invalid YANG module name {module!r} in {name!r}")
    if not _NAME.match(local):
        raise XmlBuildError(f"invalid element name {name!r}: not an XML/YANG identifier")
    return (module or None), local


def _qualify(name: str, parent_ns: str | None, ns: Namespaces, origin: str = "") -> tuple[str, str]:
    """(namespace, local name) of a path element or JSON member under ``parent_ns``."""
    module, local = split_name(name)
    if module is not None:
        resolved = ns.module_ns(module)
        if resolved is None:
            raise XmlBuildError(f"unknown YANG module {module!r} in {name!r}: its namespace is not known")
        return resolved, local
    if parent_ns is None:
        return ns.top_ns(local, origin), local
    return parent_ns, local


def _tag(namespace: str, local: str) -> str:
    return f"{{{namespace}}}{local}"


# ---- JSON -> XML ---------------------------------------------------------------------


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise XmlBuildError(f"unsupported value {value!r}: expected a string, number, boolean, object or list")


def _set_text(elem: etree._Element, value: Any) -> None:
    text = _scalar_text(value)
    try:
        elem.text = text
    except ValueError as exc:  # control characters, NUL: not representable in XML 1.0
        raise XmlBuildError(f"value {text!r} cannot be carried in XML: {exc}") from exc


def _identity_nsmap(value: Any, ns: Namespaces) -> dict[str, str]:
    """The declaration an identityref value in RFC 7951 form (``iana-if-type:ethernetCsmacd``) needs.

    The module name becomes the XML prefix, so the text stays as written and is a
    valid QName. For a plain string that merely looks like one, the extra
    declaration is harmless: the text is unchanged.
    """
    if not isinstance(value, str):
        return {}
    m = _IDENTITY.match(value)
    identity_ns = ns.module_ns(m.group(1)) if m else None
    return {m.group(1): identity_ns} if m and identity_ns else {}


def _add_child(parent: etree._Element, name: str, value: Any, parent_ns: str, ns: Namespaces) -> None:
    namespace, local = _qualify(name, parent_ns, ns)
    if value == [None]:  # RFC 7951 6.9: an empty leaf
        value = None
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, list):
            raise XmlBuildError(f"{name!r}: a list inside a list has no XML form")
        _set_value(_new(parent, namespace, local, item, ns), item, namespace, ns)


def _set_value(elem: etree._Element, value: Any, namespace: str, ns: Namespaces) -> None:
    if isinstance(value, dict):
        _fill(elem, value, namespace, ns)
    elif value is None:
        pass  # an empty container or empty leaf
    elif isinstance(value, list):
        raise XmlBuildError(f"{etree.QName(elem).localname!r}: a list value needs a path to the list itself")
    else:
        _set_text(elem, value)


def _fill(elem: etree._Element, members: dict[str, Any], namespace: str, ns: Namespaces) -> None:
    """Children of ``elem`` from a JSON object, key leaves first (RFC 7950 7.8.5)."""
    if not all(isinstance(k, str) for k in members):
        raise XmlBuildError("JSON member names must be strings")
    keys = LIST_KEYS.get(namespace, {}).get(etree.QName(elem).localname, ())
    first = [k for k in keys if k in members]
    for name in first + [k for k in members if k not in first]:
        _add_child(elem, name, members[name], namespace, ns)


def _new(parent: etree._Element, namespace: str, local: str, value: Any, ns: Namespaces) -> etree._Element:
    """A child element; a namespace change becomes a default-namespace declaration (readable XML)."""
    nsmap: dict[str | None, str] = {}
    if etree.QName(parent).namespace != namespace:
        nsmap[None] = namespace
    for prefix, uri in _identity_nsmap(value, ns).items():
        if parent.nsmap.get(prefix) != uri:
            nsmap[prefix] = uri
    return etree.SubElement(parent, _tag(namespace, local), nsmap=nsmap or None)


def _chain(
    root: etree._Element, elems: tuple[PathElem, ...], origin: str, ns: Namespaces
) -> tuple[etree._Element, str | None]:
    """Elements for ``elems`` (keys as leaf children); returns the last and its namespace."""
    node = root
    namespace: str | None = None
    for elem in elems:
        namespace, local = _qualify(elem.name, namespace, ns, origin)
        node = _new(node, namespace, local, None, ns)
        _add_keys(node, elem, namespace, ns)
    return node, namespace


def _add_keys(node: etree._Element, elem: PathElem, namespace: str, ns: Namespaces) -> None:
    for key, value in elem.keys:
        if value == "*":
            raise XmlBuildError(f"wildcard key {key}=* is not supported over NETCONF")
        key_ns, key_local = _qualify(key, namespace, ns)
        _set_text(_new(node, key_ns, key_local, value, ns), value)


def _target_items(path: GnmiPath, value: Any, operation: EditOperation) -> list[Any]:
    """The value(s) to place at the path's last element: one per element to emit."""
    if operation == "remove":
        return [None]
    path_keys = dict(path.elems[-1].keys)
    if path_keys:
        if not isinstance(value, dict):
            raise XmlBuildError(f"{path}: a list entry must be given an object, not {type(value).__name__}")
        for key, key_value in path_keys.items():
            if key in value and _scalar_text(value[key]) != key_value:
                raise XmlBuildError(f"{path}: key {key!r} is {key_value!r} in the path but {value[key]!r} in the value")
        return [{k: v for k, v in value.items() if k not in path_keys}]
    if value == [None]:
        return [None]
    if isinstance(value, list):  # the path names a whole list or leaf-list
        return value
    return [value]


def edit_config(path: GnmiPath, value: Any, operation: EditOperation, ns: Namespaces) -> etree._Element:
    """The ``<config>`` element of an edit-config that applies ``value`` at ``path``.

    ``merge`` relies on the default operation; ``replace`` and ``remove`` mark
    the target node (``remove``, unlike ``delete``, succeeds when the node is
    absent, as gNMI delete does).
    """
    if not path.elems:
        raise XmlBuildError("the root path has no NETCONF subtree: name at least a top-level element")
    root = etree.Element(_tag(NC_NS, "config"), nsmap={"nc": NC_NS})
    parent, parent_ns = _chain(root, path.elems[:-1], path.origin, ns)
    last = path.elems[-1]
    namespace, local = _qualify(last.name, parent_ns, ns, path.origin)
    for item in _target_items(path, value, operation):
        if isinstance(item, list):
            raise XmlBuildError(f"{path}: a list inside a list has no XML form")
        target = _new(parent, namespace, local, item, ns)
        if operation != "merge":
            target.set(_tag(NC_NS, "operation"), operation)
        _add_keys(target, last, namespace, ns)
        _set_value(target, item, namespace, ns)
    return root


def subtree_filter(path: GnmiPath, ns: Namespaces) -> etree._Element:
    """A ``<filter type="subtree">`` selecting exactly the subtree at ``path`` (keys as content matches)."""
    if not path.elems:
        raise XmlBuildError("the root path has no NETCONF subtree: name at least a top-level element")
    root = etree.Element(_tag(NC_NS, "filter"), nsmap={"nc": NC_NS})
    root.set("type", "subtree")
    _chain(root, path.elems, path.origin, ns)
    return root


# ---- XML -> JSON ---------------------------------------------------------------------


def extract(data: etree._Element, path: GnmiPath, ns: Namespaces) -> Any:
    """The JSON value at ``path`` in a ``<data>`` reply, or None where nothing is configured."""
    nodes = [data]
    namespace: str | None = None
    for elem in path.elems:
        namespace, local = _qualify(elem.name, namespace, ns, path.origin)
        matches = []
        for node in nodes:
            for child in node.iterchildren(_tag(namespace, local)):
                if _keys_match(child, elem, namespace, ns):
                    matches.append(child)
        nodes = matches
        if not nodes:
            return None
    assert namespace is not None
    values = [v for v in (_to_json(n, namespace, ns) for n in nodes) if v is not _EMPTY]
    if not values:
        return None
    if path.elems[-1].keys:
        return values[0]
    if len(values) > 1 or etree.QName(nodes[0]).localname in LIST_KEYS.get(namespace, {}):
        return values
    return values[0]


def _keys_match(node: etree._Element, elem: PathElem, namespace: str, ns: Namespaces) -> bool:
    for key, value in elem.keys:
        key_ns, key_local = _qualify(key, namespace, ns)
        leaf = node.find(_tag(key_ns, key_local))
        if leaf is None or _leaf_text(leaf, ns) != value:
            return False
    return True


#: An element with neither text nor (non-empty) children. It reads as absent: servers
#: leave empty non-presence containers behind (netconfd after removing a child of a
#: missing container, and every server for the ancestors a merge creates), and those
#: carry no configuration. The price: an empty presence container or empty-type leaf
#: reads as absent too (XML does not tell them apart without the YANG schema).
_EMPTY: Any = object()


def _to_json(node: etree._Element, namespace: str, ns: Namespaces) -> Any:
    children = [c for c in node if isinstance(c.tag, str)]  # skip comments / processing instructions
    if not children:
        if node.text is None or not node.text.strip():
            return _EMPTY
        return _leaf_text(node, ns)
    groups: dict[tuple[str, str], list[etree._Element]] = {}
    for child in children:
        q = etree.QName(child)
        groups.setdefault((q.namespace or "", q.localname), []).append(child)
    out: dict[str, Any] = {}
    for (child_ns, local), elems in groups.items():
        name = local
        if child_ns != namespace:
            module = ns.module_of(child_ns)
            name = f"{module}:{local}" if module else local
        values = [v for v in (_to_json(e, child_ns, ns) for e in elems) if v is not _EMPTY]
        if values:
            out[name] = values if len(values) > 1 or local in LIST_KEYS.get(child_ns, {}) else values[0]
    return out or _EMPTY


def _leaf_text(node: etree._Element, ns: Namespaces) -> str:
    """A leaf's text; a QName value (identityref) comes back in RFC 7951 ``module:identity`` form."""
    text = node.text or ""
    m = _IDENTITY.match(text.strip())
    if m and m.group(1) in node.nsmap:
        module = ns.module_of(node.nsmap[m.group(1)])
        if module:
            return f"{module}:{m.group(2)}"
    return text
