"""A device's candidate configuration against its models, as a whole (plan time).

Every object for the device is placed into one tree, over what the device
holds where nwi has read it, in plan order (merge, replace, delete); libyang
then validates the tree: mandatory nodes, ``must`` and ``when``, unique,
min/max-elements and leafrefs with ``require-instance``. Each problem is
pinned to the object whose subtree holds the node at fault.

Where nwi does not know the device's whole configuration (it reads only the
objects' paths from a real device), a refusal may come from what the device
holds elsewhere, or from defaults a partial tree lacks (SR Linux's ``must``
statements over defaults refuse partial interface trees a device accepts): such
findings are warnings. A device whose whole configuration nwi holds (the
virtual device) is known, and they are errors.

Leafrefs that resolve are followed to the object that creates their target:
when that object is not among the referring object's (transitive)
dependencies, the missing ``depends_on`` edge is reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import cffi
from _libyang import ffi, lib

from nwi import jsontext
from nwi.model import ConfigObject, ObjectKey
from nwi.path import GnmiPath, PathElem
from nwi.schema.models import ModelSet
from nwi.schema.nodes import SchemaNode
from nwi.schema.objects import ObjectCheck, check_object
from nwi.schema.values import check_value

#: at most this many findings per device: each costs a full validation pass of the tree
MAX_FINDINGS = 25


@dataclass(frozen=True)
class DeviceFinding:
    """A problem of a device's whole candidate tree."""

    device: str
    severity: str  # "error" | "warning"
    path: str  # gNMI path of the node at fault
    message: str
    owner: ObjectKey | None  # the object whose subtree holds the node (None: outside every object)

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class InferredEdge:
    """A leafref from ``obj`` into what ``depends_on`` creates, without a depends_on edge between them."""

    obj: ObjectKey
    depends_on: ObjectKey
    leaf: str  # gNMI path of the leafref leaf
    target: str  # gNMI path of the node it points at

    def reference(self) -> dict[str, str]:
        """The entry to add to ``obj``'s depends_on annotation."""
        return {"kind": self.depends_on.kind, "name": self.depends_on.name, "namespace": self.depends_on.namespace}


@dataclass
class DeviceCheck:
    findings: list[DeviceFinding] = field(default_factory=list)
    edges: list[InferredEdge] = field(default_factory=list)


# ---- the candidate tree as RFC 7951 JSON ---------------------------------------------------
class _Candidate:
    """A device's tree as nested RFC 7951 JSON, with list entries found by their keys."""

    def __init__(self, ms: ModelSet) -> None:
        self.ms = ms
        self.root: dict[str, Any] = {}
        self.entries: dict[int, dict[tuple[str, ...], dict[str, Any]]] = {}  # id(list) -> keys -> entry

    def _key(self, node: SchemaNode, entry: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(str(entry.get(k)) for k in node.keys)

    def _index(self, node: SchemaNode, items: list[Any]) -> dict[tuple[str, ...], dict[str, Any]]:
        idx = self.entries.get(id(items))
        if idx is None:
            idx = self.entries[id(items)] = {self._key(node, e): e for e in items if isinstance(e, dict)}
        return idx

    def locate(self, path: GnmiPath, create: bool) -> tuple[dict[str, Any], SchemaNode] | None:
        """The container or list entry at ``path`` (created with its ancestors when ``create``)."""
        here = self.root
        node: SchemaNode | None = None
        for elem in path.elems:
            node = self.ms.root(elem.name) if node is None else node.child(elem.name)
            if node is None:
                return None
            name = node.qualified_name()
            if node.keyword == "list":
                items = here.get(name)
                if items is None:
                    if not create:
                        return None
                    items = here[name] = []
                keys = dict(elem.keys)
                key = tuple(keys.get(k, "") for k in node.keys)
                idx = self._index(node, items)
                entry = idx.get(key)
                if entry is None:
                    if not create:
                        return None
                    entry = {}
                    for k in node.keys:
                        leaf = node.child(k)
                        entry[k] = _typed(leaf, keys.get(k, ""))
                    items.append(entry)
                    idx[key] = entry
                here = entry
            else:
                child = here.get(name)
                if not isinstance(child, dict):
                    if not create:
                        return None
                    child = here[name] = {}
                here = child
        return (here, node) if node is not None else None

    def merge(self, dst: dict[str, Any], src: Mapping[str, Any], node: SchemaNode) -> None:
        for name, value in src.items():
            child = node.child(name)
            if child is None:
                continue
            if child.keyword == "list" and isinstance(value, list):
                items = dst.setdefault(name, [])
                idx = self._index(child, items)
                for entry in value:
                    key = self._key(child, entry)
                    have = idx.get(key)
                    if have is None:
                        have = idx[key] = {}
                        items.append(have)
                    self.merge(have, entry, child)
            elif child.keyword == "container" and isinstance(value, Mapping):
                sub = dst.get(name)
                if not isinstance(sub, dict):
                    sub = dst[name] = {}
                self.merge(sub, value, child)
            elif child.keyword == "leaf-list" and isinstance(value, list):
                have_list = dst.setdefault(name, [])
                have_list += [v for v in value if v not in have_list]
            else:
                dst[name] = value

    def place(self, path: GnmiPath, value: Any, op: str) -> None:
        if op == "delete":
            self.remove(path)
            return
        found = self.locate(path, create=True)
        if found is None or not isinstance(value, Mapping):
            return
        here, node = found
        if op == "replace":
            for k in [k for k in here if k not in node.keys]:
                del here[k]
        self.merge(here, value, node)

    def remove(self, path: GnmiPath) -> None:
        if not path.elems:
            return
        parent = self.locate(GnmiPath(path.elems[:-1], path.origin), create=False) if len(path.elems) > 1 else None
        container = parent[0] if parent is not None else (self.root if len(path.elems) == 1 else None)
        pnode = parent[1] if parent is not None else None
        if container is None:
            return
        last = path.elems[-1]
        node = self.ms.root(last.name) if pnode is None else pnode.child(last.name)
        if node is None:
            return
        name = node.qualified_name()
        if node.keyword == "list" and last.keys:
            items = container.get(name)
            if isinstance(items, list):
                key = tuple(dict(last.keys).get(k, "") for k in node.keys)
                entry = self._index(node, items).pop(key, None)
                if entry is not None:
                    items.remove(entry)
        else:
            container.pop(name, None)


def _typed(leaf: SchemaNode | None, text: str) -> Any:
    """A key's text from a path as its leaf's RFC 7951 JSON value (as written when the leaf refuses it)."""
    if leaf is None:
        return text
    checked = check_value(leaf, text)
    return checked.json if not checked.error else text


# ---- libyang data trees ------------------------------------------------------------------
_LOCATION = re.compile(r'(Data|Schema) location "([^"]*)"')

_abi = cffi.FFI()
_abi.cdef("struct nwi_lysc_prefix { char *prefix; void *mod; };")


class _Tree:
    """A libyang data tree parsed from JSON text; freed with the object."""

    def __init__(self, ms: ModelSet, doc: Mapping[str, Any]) -> None:
        self.ms = ms
        self.ptr = ffi.new("struct lyd_node **")
        raw = jsontext.dumps(doc).encode()
        inp = ffi.new("struct ly_in **")
        lib.ly_in_new_memory(raw, inp)
        try:
            ret = lib.lyd_parse_data(ms.cdata, ffi.NULL, inp[0], lib.LYD_JSON,
                                     lib.LYD_PARSE_ONLY | lib.LYD_PARSE_STRICT, 0, self.ptr)
        finally:
            lib.ly_in_free(inp[0], 0)
        errs = _errors(ms) if ret != lib.LY_SUCCESS else []
        self.parse_error = "" if ret == lib.LY_SUCCESS else (errs[0][0] if errs else "cannot parse")

    def free(self) -> None:
        if self.ptr[0] != ffi.NULL:
            lib.lyd_free_all(self.ptr[0])
            self.ptr[0] = ffi.NULL

    def validate(self) -> tuple[str, str, bool] | None:
        """The first problem (message, libyang path, whether that is a data path rather than a schema
        path), None when the tree is valid."""
        # the data path of a problem is stored with it only when path resolution is on; the bindings turn
        # it off when they configure logging (on import), so it is switched on for each pass
        lib.ly_set_log_clb(ffi.NULL, True)
        try:
            ret = lib.lyd_validate_all(self.ptr, self.ms.cdata,
                                       lib.LYD_VALIDATE_PRESENT | lib.LYD_VALIDATE_NO_STATE, ffi.NULL)
            errs = _errors(self.ms)
        finally:
            lib.ly_set_log_clb(ffi.NULL, False)  # as the bindings leave it: others' messages stay as they were
        if ret == lib.LY_SUCCESS:
            return None
        return errs[0] if errs else ("invalid", "", False)

    def find(self, data_path: str) -> Any:
        match = ffi.new("struct lyd_node **")
        if self.ptr[0] == ffi.NULL:
            return ffi.NULL
        if lib.lyd_find_path(self.ptr[0], data_path.encode(), 0, match) != lib.LY_SUCCESS:
            _errors(self.ms)
            return ffi.NULL
        return match[0]

    def is_default(self, data_path: str) -> bool:
        """Whether the node at ``data_path`` is a default validation created (nobody set it)."""
        node = self.find(data_path)
        return node != ffi.NULL and bool(node.flags & lib.LYD_DEFAULT)

    def drop(self, data_path: str) -> bool:
        """Remove the node at ``data_path`` (to look for the next problem); False when it is not there."""
        node = self.find(data_path)
        if node == ffi.NULL:
            return False
        if node == self.ptr[0]:
            self.ptr[0] = node.next if node.next != node else ffi.NULL
        lib.lyd_free_tree(node)
        return True

    def xpath(self, ctx_node: Any, expr: str) -> list[str]:
        """Data paths of the nodes ``expr`` selects from ``ctx_node`` (``current()`` is ``ctx_node``)."""
        out_set = ffi.new("struct ly_set **")
        if lib.lyd_find_xpath(ctx_node, expr.encode(), out_set) != lib.LY_SUCCESS:
            _errors(self.ms)
            return []
        try:
            found = out_set[0]
            return [_data_path(found.dnodes[i]) for i in range(found.count)]
        finally:
            lib.ly_set_free(out_set[0], ffi.NULL)


def _data_path(node: Any) -> str:
    raw = lib.lyd_path(node, lib.LYD_PATH_STD, ffi.NULL, 0)
    try:
        return ffi.string(raw).decode()
    finally:
        lib.free(raw)


def _errors(ms: ModelSet) -> list[tuple[str, str, bool]]:
    out = []
    err = lib.ly_err_first(ms.cdata)
    while err:
        if err.level == lib.LY_LLERR:
            where = ffi.string(err.path).decode() if err.path else ""
            m = _LOCATION.search(where)
            out.append((ffi.string(err.msg).decode() if err.msg else "invalid", m.group(2) if m else "",
                        bool(m and m.group(1) == "Data")))
        err = err.next
    lib.ly_err_clean(ms.cdata, ffi.NULL)
    return out


# ---- libyang data paths <-> gNMI paths ---------------------------------------------------
_STEP = re.compile(r"/([^/\[]+)((?:\[(?:[^\]'\"]|'[^']*'|\"[^\"]*\")*\])*)")
_PRED = re.compile(r"\[([^=\]]+)=(?:'([^']*)'|\"([^\"]*)\")\]")


def gnmi_path(data_path: str) -> GnmiPath:
    """A libyang data path (``/nokia-conf:configure/service/vpls[service-name='v1']``) as a gNMI path with
    the module prefixes dropped, as objects write their paths."""
    elems = []
    for name, preds in _STEP.findall(data_path):
        keys = tuple((k.split(":")[-1], v1 if v1 or not v2 else v2) for k, v1, v2 in _PRED.findall(preds))
        elems.append(PathElem(name.split(":")[-1], keys))
    return GnmiPath(tuple(elems))


def _plain(path: GnmiPath) -> tuple[PathElem, ...]:
    return tuple(PathElem(e.name.split(":")[-1], e.keys) for e in path.elems)


def _quote(value: str) -> str:
    return f"'{value}'" if "'" not in value else f'"{value}"'


def data_path(ms: ModelSet, path: GnmiPath) -> str | None:
    """A gNMI path as libyang's data path (module-qualified where RFC 7951 wants it, keys quoted)."""
    out = []
    node: SchemaNode | None = None
    for elem in path.elems:
        node = ms.root(elem.name) if node is None else node.child(elem.name)
        if node is None:
            return None
        preds = "".join(f"[{k}={_quote(v)}]" for k, v in elem.keys)
        out.append(f"/{node.qualified_name()}{preds}")
    return "".join(out)


def _leafref_xpath(node: SchemaNode) -> str:
    """The leafref's path with its prefixes turned into module names (libyang's data XPath wants those)."""
    t = ffi.cast("struct lysc_type_leafref *", ffi.cast("struct lysc_node_leaf *", node.cdata).type)
    expr = ffi.string(lib.lyxp_get_expr(t.path)).decode()
    prefixes: dict[str, str] = {}
    if t.prefixes != ffi.NULL:
        arr = _abi.cast("struct nwi_lysc_prefix *", int(ffi.cast("uintptr_t", t.prefixes)))
        count = _abi.cast("uint64_t *", arr)[-1]
        for i in range(count):
            if arr[i].prefix != _abi.NULL and arr[i].mod != _abi.NULL:
                mod = ffi.cast("struct lys_module *", int(_abi.cast("uintptr_t", arr[i].mod)))
                prefixes[_abi.string(arr[i].prefix).decode()] = ffi.string(mod.name).decode()
    return re.sub(r"([A-Za-z_][\w.-]*):(?=[A-Za-z_])", lambda m: f"{prefixes.get(m.group(1), m.group(1))}:", expr)


# ---- the check ---------------------------------------------------------------------------
class _Owners:
    """Which object's subtree holds a node: the longest object path that is a prefix of it."""

    def __init__(self, objects: Iterable[ConfigObject]) -> None:
        self.by_path: dict[tuple[PathElem, ...], ObjectKey] = {}
        for o in objects:
            self.by_path.setdefault(_plain(o.device_path), o.key)

    def of(self, path: GnmiPath) -> ObjectKey | None:
        elems = _plain(path)
        for n in range(len(elems), 0, -1):
            key = self.by_path.get(elems[:n])
            if key is not None:
                return key
        return None


def check_device(ms: ModelSet, device: str, entries: Sequence[tuple[ConfigObject, ObjectCheck]],
                 held: Mapping[GnmiPath, Any], whole: bool,
                 depends: Callable[[ObjectKey, ObjectKey], bool], validate: bool = True) -> DeviceCheck:
    """Validate one device's candidate tree; ``held``: what the device holds (path -> JSON subtree);
    ``whole``: ``held`` is the device's whole configuration; ``depends(a, b)``: a depends on b, transitively.
    Without ``validate`` only the leafrefs are followed (for the edges they imply)."""
    out = DeviceCheck()
    candidate = _Candidate(ms)
    for path, value in held.items():
        if value is None:
            continue
        if path.elems:
            held_value = check_object(ms, path, value).value
            candidate.place(path, held_value, "merge")
        elif isinstance(value, Mapping):  # the root: each top-level subtree
            for top, sub in value.items():
                p = GnmiPath((PathElem(top.split(":")[-1]),))
                if ms.root(top) is not None:
                    candidate.place(p, check_object(ms, p, sub).value, "merge")
    for obj, result in entries:
        candidate.place(obj.device_path, result.value, obj.spec.operation)
    owners = _Owners(o for o, _ in entries)
    severity = "error" if whole else "warning"
    tree = _Tree(ms, candidate.root)
    try:
        if tree.parse_error:
            out.findings.append(DeviceFinding(device, "warning", "/", f"not validated: {tree.parse_error}", None))
            return out
        dropped: set[str] = set()  # nodes removed after their own finding: what they leave missing is not news

        def add(gpath: GnmiPath, message: str, default: bool = False) -> None:
            if gpath.render() in dropped:
                return
            if default:
                # a must/when on a node nobody set, which validation filled in with its default: a device
                # does not hold defaults to its constraints as libyang does (SR Linux's interface MAC swap)
                out.findings.append(DeviceFinding(
                    device, "warning", gpath.render(), f"{message} (on {gpath.elems[-1].name}'s default value, "
                    "which no object sets: devices need not enforce this)", owners.of(gpath)))
                return
            if "leafref" in message and "no target instance" in message:
                message = (f"{message} No object creates it, and the device does not hold it" if whole else
                           f"{message} No object creates it; nwi has not read the device's whole configuration, "
                           "so the device may hold it")
            elif not whole:
                message += " (the device's whole configuration is not known: it may hold what this needs)"
            out.findings.append(DeviceFinding(device, severity, gpath.render() if gpath.elems else "/", message,
                                              owners.of(gpath)))

        seen: set[str] = set()
        for _ in range(2 * MAX_FINDINGS if validate else 0):  # each pass removes what it reported, or the loop ends
            if len(out.findings) >= MAX_FINDINGS:
                break
            problem = tree.validate()
            if problem is None:
                break
            message, where, is_data = problem
            if where in seen:
                break  # a node validation puts back (a default): what follows cannot be told apart
            seen.add(where)
            if is_data:
                gpath = gnmi_path(where)
                add(gpath, message, tree.is_default(where))
                dropped.add(gpath.render())
                if not tree.drop(where):
                    break
                continue
            # a schema location (a missing mandatory node, min-elements): the instances lacking it
            parent, _, child = where.rpartition("/")
            lacking = tree.xpath(tree.ptr[0], f"{parent}[not({child})]") if parent and child else []
            if not lacking:
                add(gnmi_path(where) if where else GnmiPath(), message)
                break
            for entry in lacking:
                add(gnmi_path(f"{entry}/{child}"), message)
                tree.drop(entry)
        out.edges, backwards = _inferred_edges(ms, device, tree, entries, owners, depends)
        out.findings += backwards
    finally:
        tree.free()
    return out


def _inferred_edges(ms: ModelSet, device: str, tree: _Tree, entries: Sequence[tuple[ConfigObject, ObjectCheck]],
                    owners: _Owners, depends: Callable[[ObjectKey, ObjectKey], bool],
                    ) -> tuple[list[InferredEdge], list[DeviceFinding]]:
    edges: dict[tuple[ObjectKey, ObjectKey], InferredEdge] = {}
    reversed_: dict[tuple[ObjectKey, ObjectKey], DeviceFinding] = {}
    xpaths: dict[int, str] = {}
    for obj, result in entries:
        for use in result.leafrefs:
            dp = data_path(ms, use.path)
            node = ms.node(use.path)
            if dp is None or node is None or node.keyword != "leaf":
                continue
            leaf = tree.find(dp)
            if leaf == ffi.NULL:
                continue
            expr = xpaths.get(id(node))
            if expr is None:
                expr = xpaths[id(node)] = _leafref_xpath(node)
            for target in tree.xpath(leaf, f"{expr}[. = current()]"):
                tpath = gnmi_path(target)
                owner = owners.of(tpath)
                if owner is None or owner == obj.key or depends(obj.key, owner):
                    continue
                if depends(owner, obj.key):
                    # the edge would close a cycle: the depends_on between them points the other way
                    reversed_[(obj.key, owner)] = DeviceFinding(
                        device, "warning", use.path.render(),
                        f"refers to {tpath.render()}, which {owner} creates, but {owner} depends on "
                        f"{obj.key}: the device needs {owner} first (is that depends_on reversed?)", obj.key)
                    continue
                edges.setdefault((obj.key, owner), InferredEdge(obj.key, owner, use.path.render(), tpath.render()))
    return list(edges.values()), list(reversed_.values())
