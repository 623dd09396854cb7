"""One object against the models: its path and its properties, as the subtree they are.

The path is walked from the kind's top-level node (keys checked as leaves,
list keys matching the list's), then the properties below it: every name must
be a data node of the schema (with a did-you-mean when it is not), containers
and list entries must be mappings, lists arrays of entries with their keys,
leaves single values that libyang accepts for the leaf's type (ranges,
lengths, patterns, enums, identityrefs, bits, unions). Nothing here needs
other objects; what does (leafref targets, must, when, mandatory) is checked
per device (:mod:`nwi.schema.device`).

Names are reported as the user wrote them, on the gNMI path of the node at
fault: ``/configure/service/vpls[service-name=vpls-01]/admin-stat``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nwi.path import GnmiPath, PathElem
from nwi.schema.models import ModelSet
from nwi.schema.nodes import SchemaNode, enum_names, restriction
from nwi.schema.values import check_value, lexical


@dataclass(frozen=True)
class SchemaIssue:
    """One problem: the gNMI path of the node at fault and the YANG reason."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class LeafrefUse:
    """A leafref leaf an object sets: checked against the device's whole candidate tree."""

    path: GnmiPath  # the leaf (a leaf-list's entries share it)
    target: str  # the leafref's YANG path expression
    value: Any  # RFC 7951 JSON


@dataclass
class ObjectCheck:
    """What checking one object found, and its properties as RFC 7951 JSON (names qualified where
    the module changes, values typed by the schema) for the device-level check and for encoders."""

    node: SchemaNode | None = None
    value: Any = None
    #: the models it was checked against (the kind's, or those its path names)
    model_set: ModelSet | None = None
    issues: list[SchemaIssue] = field(default_factory=list)
    leafrefs: list[LeafrefUse] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues


def _suggest(name: str, node: SchemaNode | None, choices: list[str] | None = None) -> str:
    names = choices if choices is not None else (node.child_names() if node is not None else [])
    match = difflib.get_close_matches(name.split(":")[-1], names, n=1, cutoff=0.6)
    return f" (did you mean {match[0]}?)" if match else ""


def _noun(value: Any) -> str:
    return "node" if isinstance(value, Mapping | list) else "leaf"


class _Walk:
    def __init__(self, ms: ModelSet) -> None:
        self.ms = ms
        self.out = ObjectCheck()

    def issue(self, path: GnmiPath, message: str) -> None:
        self.out.issues.append(SchemaIssue(path.render(), message))

    # ---- the path --------------------------------------------------------------------
    def path(self, path: GnmiPath) -> SchemaNode | None:
        # sibling objects share their parent's path (a VPRN's interfaces, SAPs, BGP peers): a parent
        # found valid once is not walked again
        elems = path.elems
        valid = self.ms.valid_paths
        parent = valid.get(elems[:-1]) if len(elems) > 1 else None
        start = len(elems) - 1 if parent is not None else 0
        node: SchemaNode | None = parent
        for i in range(start, len(elems)):
            elem = elems[i]
            here = GnmiPath(elems[: i + 1], path.origin)
            if node is None:
                found = self.ms.root(elem.name)
                if found is None:
                    tops = sorted({n for n in self.ms.roots() if ":" not in n})
                    self.issue(here, f"no such top-level node in {', '.join(self.ms.patterns) or 'the models'}"
                                     f"{_suggest(elem.name, None, tops)}")
                    return None
            else:
                found = node.child(elem.name)
                if found is None:
                    self.issue(here, f"no such node in {node.module}{_suggest(elem.name, node)}")
                    return None
            node = found
            if not self.keys(here, node, elem, last=i == len(elems) - 1):
                return None
            if i < len(elems) - 1:
                if len(valid) > 200_000:  # bounded, for a long-running operator
                    valid.clear()
                valid[elems[: i + 1]] = node
        return node

    def keys(self, here: GnmiPath, node: SchemaNode, elem: PathElem, last: bool) -> bool:
        if node.keyword != "list":
            if elem.keys:
                self.issue(here, f"{node.keyword} {node.name} is not a list: it takes no keys")
                return False
            return True
        given = [k for k, _ in elem.keys]
        if not given and last:
            return True  # the whole list: its entries are the properties (checked below)
        if sorted(given) != sorted(node.keys):
            self.issue(here, f"list {node.name} is keyed by {', '.join(node.keys)}, not "
                             f"{', '.join(given) or 'nothing'}")
            return False
        ok = True
        for k, v in elem.keys:
            leaf = node.child(k)
            assert leaf is not None  # a key of the list
            checked = check_value(leaf, v)
            if checked.error:
                self.issue(here, f"key {k}: {checked.error}")
                ok = False
        return ok

    # ---- the properties --------------------------------------------------------------
    # ``where`` is the parent's path and ``name`` the child's as written: the child's own path is built
    # only for an issue or a leafref (building one per node was a third of the time)
    def entry(self, where: GnmiPath, node: SchemaNode, props: Mapping[str, Any],
              path_keys: tuple[tuple[str, str], ...]) -> dict[str, Any]:
        """A container's or a list entry's children; ``path_keys``: the entry's keys from the path."""
        out: dict[str, Any] = {}
        keys = dict(path_keys)
        for k, v in path_keys:
            leaf = node.child(k)
            if leaf is not None:
                out[leaf.name] = check_value(leaf, v).json
        children = node.children()
        for name, value in props.items():
            child = children.get(name) if isinstance(name, str) else None
            if child is None:
                self.unknown(where, node, name, value)
                continue
            if not child.config:
                self.issue(_at(where, name), f"{child.keyword} {child.name} is state data (config false): "
                                             "devices refuse it")
                continue
            if keys and child.name in keys:
                v = keys[child.name]
                text = lexical(value)
                if text is None or check_value(child, text).json != check_value(child, v).json:
                    self.issue(_at(where, name), f"list key {child.name} is {v!r} in the path but {value!r} "
                                                 "in the properties")
            converted = self.node(where, name, child, value)
            if converted is not _BAD:
                out[child.qname] = converted
        return out

    def unknown(self, where: GnmiPath, node: SchemaNode, name: Any, value: Any) -> None:
        if not isinstance(name, str):
            self.issue(where, f"{name!r} is not a node name")
            return
        here = _at(where, name)
        module = name.split(":")[0] if ":" in name else ""
        if module and not self.ms.implements(module):
            self.issue(here, f"no such {_noun(value)} in {node.module}: module {module} is not in the "
                             f"models (is it under the yang path?)")
        else:
            self.issue(here, f"no such {_noun(value)} in {node.module}{_suggest(name, node)}")

    def node(self, where: GnmiPath, name: str, node: SchemaNode, value: Any) -> Any:
        kw = node.keyword
        if kw == "leaf":
            return self.leaf(where, name, node, value)
        if kw == "container":
            if value is None and node.presence:
                return {}
            if not isinstance(value, Mapping):
                self.issue(_at(where, name), f"container {node.name} needs a mapping, not {_what(value)}")
                return _BAD
            return self.entry(_at(where, name), node, value, ())
        if kw == "list":
            return self.list(where, name, node, value)
        if kw == "leaf-list":
            if not isinstance(value, list):
                self.issue(_at(where, name), f"leaf-list {node.name} needs a list of values, not {_what(value)}")
                return _BAD
            out = [self.leaf(where, name, node, v) for v in value]
            return [v for v in out if v is not _BAD]
        return value  # anydata / anyxml: any JSON

    def list(self, where: GnmiPath, name: str, node: SchemaNode, value: Any) -> Any:
        if not isinstance(value, list):
            self.issue(_at(where, name), f"list {node.name} needs a list of entries, not {_what(value)}"
                                         f" (each entry a mapping with {', '.join(node.keys) or 'its leaves'})")
            return _BAD
        out = []
        for i, entry in enumerate(value):
            if not isinstance(entry, Mapping):
                self.issue(_at(where, name), f"entry {i} of list {node.name} must be a mapping")
                continue
            missing = [k for k in node.keys if k not in entry]
            if missing:
                self.issue(_at(where, name), f"entry {i} of list {node.name} lacks its key {', '.join(missing)}")
                continue
            keys = tuple((k, lexical(entry[k]) or "") for k in node.keys)
            entry_path = GnmiPath((*where.elems, PathElem(name, keys)), where.origin)
            out.append(self.entry(entry_path, node, entry, ()))
        return out

    def leaf(self, where: GnmiPath, name: str, node: SchemaNode, value: Any) -> Any:
        checked = check_value(node, value)
        if checked.error:
            self.issue(_at(where, name), f"{checked.error}{_type_hint(node, value)}")
            return _BAD
        if checked.needs_data:
            target = node.leafref_path
            if target:
                self.out.leafrefs.append(LeafrefUse(_at(where, name), target, checked.json))
        return checked.json


def _at(where: GnmiPath, name: str) -> GnmiPath:
    return GnmiPath((*where.elems, PathElem(name)), where.origin)


_BAD = object()  # a value already reported: left out of the JSON


def _what(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"the value {value!r}"


def _type_hint(node: SchemaNode, value: Any = None) -> str:
    """What the leaf takes: the enum names a user can pick from, or the range, length or pattern."""
    idents = node.identity_names()
    if idents and value is not None:
        match = difflib.get_close_matches(str(value).split(":")[-1], list(idents), n=1, cutoff=0.6)
        if match:
            return f" (did you mean {idents[match[0]][0]}?)"
    names = enum_names(node)
    hints = []
    if names:
        hints.append("one of " + ", ".join(names[:12]) + (", ..." if len(names) > 12 else ""))
    rest = restriction(node)
    if rest:
        hints.append(rest)
    return f" (expected {'; '.join(hints)})" if hints else ""


def check_object(ms: ModelSet, path: GnmiPath, properties: Mapping[str, Any] | None,
                 operation: str = "merge") -> ObjectCheck:
    """Check one object's device path and (unless it deletes) its properties.

    ``path`` is the path as the device knows it (the kind's root included,
    ``ConfigObject.device_path``). The result's ``value`` is the subtree at
    ``path`` in RFC 7951 JSON, with the path's list keys as leaves.
    """
    walk = _Walk(ms)
    walk.out.model_set = ms
    node = walk.path(path)
    walk.out.node = node
    if node is None or operation == "delete":
        return walk.out
    props = properties or {}
    last = path.elems[-1]
    if node.keyword == "list" and not last.keys:
        walk.issue(path, f"list {node.name} without keys: give one entry's keys in the path")
    elif node.is_leaf:
        walk.issue(path, f"{node.keyword} {node.name}: the path must name the node holding it, "
                         f"with {node.name} in the properties")
    elif node.keyword in ("container", "list"):
        if not node.config:
            walk.issue(path, f"{node.keyword} {node.name} is state data (config false): devices refuse it")
        else:
            walk.out.value = walk.entry(path, node, props, last.keys if node.keyword == "list" else ())
    else:
        walk.out.value = dict(props)
    return walk.out
