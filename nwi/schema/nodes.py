"""A Python view of libyang's compiled schema tree, built lazily and shared.

Validation walks an object's properties node by node; asking libyang through
CFFI for each child by name would cost a C round trip per step. Each
:class:`SchemaNode` lists its data children once (choice and case are
transparent, as they are in data) and then answers lookups from a dict.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import cffi
from _libyang import ffi, lib

if TYPE_CHECKING:
    from nwi.schema.models import ModelSet

_DATA_NODES = {
    lib.LYS_CONTAINER: "container",
    lib.LYS_LIST: "list",
    lib.LYS_LEAF: "leaf",
    lib.LYS_LEAFLIST: "leaf-list",
    lib.LYS_ANYDATA: "anydata",
    lib.LYS_ANYXML: "anyxml",
}

#: RFC 7951 section 6.1: these integer types are JSON numbers; the 64-bit ones (and decimal64) are strings
JSON_NUMBER_TYPES = frozenset({lib.LY_TYPE_INT8, lib.LY_TYPE_INT16, lib.LY_TYPE_INT32,
                               lib.LY_TYPE_UINT8, lib.LY_TYPE_UINT16, lib.LY_TYPE_UINT32})
INTEGER_TYPES = JSON_NUMBER_TYPES | {lib.LY_TYPE_INT64, lib.LY_TYPE_UINT64}


def _c(s: Any) -> str:
    return ffi.string(s).decode() if s else ""


class SchemaNode:
    """One data node of the schema: container, list, leaf, leaf-list, anydata or anyxml."""

    __slots__ = (
        "_children",
        "_keys",
        "_leafref",
        "_lock",
        "cdata",
        "config",
        "keyword",
        "model_set",
        "module",
        "name",
        "parent",
        "qname",
    )

    def __init__(self, model_set: ModelSet, cdata: Any, parent: SchemaNode | None) -> None:
        self.model_set = model_set
        self.cdata = cdata
        self.parent = parent
        self.name: str = _c(cdata.name)
        self.module: str = _c(cdata.module.name)
        self.keyword: str = _DATA_NODES[cdata.nodetype]
        self.config: bool = bool(cdata.flags & lib.LYS_CONFIG_W)
        self._keys: tuple[str, ...] | None = None
        self._leafref: str | None = None
        #: the name as RFC 7951 JSON writes it here (:meth:`qualified_name`)
        self.qname = self.name if parent is not None and parent.module == self.module else f"{self.module}:{self.name}"
        self._children: dict[str, SchemaNode] | None = None
        self._lock = threading.Lock()

    # ---- structure --------------------------------------------------------------------
    def children(self) -> dict[str, SchemaNode]:
        """Data children by name; a child from another module (an augment) also as ``module:name``."""
        if self._children is None:
            with self._lock:
                if self._children is None:
                    kids: dict[str, SchemaNode] = {}
                    if self.keyword in ("container", "list"):
                        child = lib.lys_getnext(ffi.NULL, self.cdata, ffi.NULL, 0)
                        while child:
                            if child.nodetype in _DATA_NODES:
                                node = SchemaNode(self.model_set, child, self)
                                kids.setdefault(node.name, node)
                                kids[f"{node.module}:{node.name}"] = node
                            child = lib.lys_getnext(child, self.cdata, ffi.NULL, 0)
                    self._children = kids
        return self._children

    @property
    def keys(self) -> tuple[str, ...]:
        """A list's key leaves, in the schema's order (() for other nodes)."""
        if self._keys is None:
            self._keys = tuple(dict.fromkeys(c.name for c in self.children().values() if c.is_key)) \
                if self.keyword == "list" else ()
        return self._keys

    def child(self, name: str) -> SchemaNode | None:
        """The child ``name`` or ``module:name`` (RFC 7951 qualifies a name whose module differs)."""
        return self.children().get(name)

    def child_names(self) -> list[str]:
        """Plain names of the data children (for did-you-mean)."""
        return sorted({n for n in self.children() if ":" not in n})

    @property
    def is_key(self) -> bool:
        return self.keyword == "leaf" and bool(self.cdata.flags & lib.LYS_KEY)

    @property
    def is_leaf(self) -> bool:
        return self.keyword in ("leaf", "leaf-list")

    @property
    def presence(self) -> bool:
        return self.keyword == "container" and bool(self.cdata.flags & lib.LYS_PRESENCE)

    def qualified_name(self) -> str:
        """``module:name`` where RFC 7951 wants it (top level, or a module other than the parent's)."""
        return self.qname

    def schema_path(self) -> str:
        """``/module:top/child/...`` (libyang's data path without predicates)."""
        parts: list[str] = []
        node: SchemaNode | None = self
        while node is not None:
            parts.append(node.qualified_name())
            node = node.parent
        return "/" + "/".join(reversed(parts))

    # ---- leaf types -------------------------------------------------------------------
    def _type(self) -> Any:
        if not self.is_leaf:
            return ffi.NULL
        return ffi.cast("struct lysc_node_leaf *", self.cdata).type

    @property
    def basetype(self) -> int:
        """``LY_TYPE_*`` of a leaf or leaf-list (0 for other nodes)."""
        t = self._type()
        return int(t.basetype) if t != ffi.NULL else 0

    @property
    def type_name(self) -> str:
        """The built-in type's YANG name (``uint32``, ``enumeration``, ``leafref``...)."""
        return type_name(self.basetype)

    @property
    def leafref_path(self) -> str:
        """The ``path`` of a leafref leaf ('' for other leaves)."""
        if self._leafref is None:
            t = self._type()
            if t == ffi.NULL or t.basetype != lib.LY_TYPE_LEAFREF:
                self._leafref = ""
            else:
                self._leafref = _c(lib.lyxp_get_expr(ffi.cast("struct lysc_type_leafref *", t).path))
        return self._leafref

    def identity_names(self) -> dict[str, list[str]]:
        """For an identityref leaf (or a union holding one): identity name -> its ``module:name`` forms,
        over every identity derived from the bases (for qualifying names a user wrote bare)."""
        out: dict[str, list[str]] = {}
        for t in _member_types(self._type()):
            if t.basetype != lib.LY_TYPE_IDENT:
                continue
            ir = ffi.cast("struct lysc_type_identityref *", t)
            for base in _sized(ir.bases):
                _collect_derived(base, out, set())
        return out

    def __repr__(self) -> str:
        return f"SchemaNode({self.schema_path()}, {self.keyword})"


def _sized(arr: Any) -> Iterator[Any]:
    """The items of a libyang sized array (its length is stored just before the first item)."""
    if arr == ffi.NULL:
        return
    count = ffi.cast("uint64_t *", arr)[-1]  # LY_ARRAY_COUNT_TYPE is uint64_t
    for i in range(count):
        yield arr[i]


def _member_types(t: Any) -> Iterator[Any]:
    if t == ffi.NULL:
        return
    if t.basetype == lib.LY_TYPE_UNION:
        for m in _sized(ffi.cast("struct lysc_type_union *", t).types):
            yield from _member_types(m)
    else:
        yield t


# The bindings declare ``struct lysc_ident`` opaque; its layout (libyang 2.1's tree_schema.h, the version the
# bindings are pinned to) is read through a private FFI. Only the derived-identity walk needs it.
_ident_ffi = cffi.FFI()
_ident_ffi.cdef("""
struct nwi_lysc_ident {
    const char *name; const char *dsc; const char *ref; void *module;
    struct nwi_lysc_ident **derived; void *exts; uint16_t flags;
};
struct nwi_lysc_range_part { int64_t min; int64_t max; };
struct nwi_lysc_range {
    struct nwi_lysc_range_part *parts; const char *dsc; const char *ref; const char *emsg;
    const char *eapptag; void *exts;
};
struct nwi_lysc_pattern { const char *expr; void *code; const char *dsc; const char *ref; const char *emsg; };
""")
# libyang stores unsigned bounds (and string lengths) in the same 64 bits, for types below decimal64
_UNSIGNED_BOUNDS = frozenset({lib.LY_TYPE_BINARY, lib.LY_TYPE_UINT8, lib.LY_TYPE_UINT16, lib.LY_TYPE_UINT32,
                              lib.LY_TYPE_UINT64, lib.LY_TYPE_STRING})


def _range_text(rng: Any, basetype: int, fraction_digits: int = 0) -> str:
    if rng == ffi.NULL:
        return ""
    r = _ident_ffi.cast("struct nwi_lysc_range *", int(ffi.cast("uintptr_t", rng)))
    count = _ident_ffi.cast("uint64_t *", r.parts)[-1] if r.parts != _ident_ffi.NULL else 0
    parts = []
    for i in range(count):
        lo, hi = int(r.parts[i].min), int(r.parts[i].max)
        if basetype in _UNSIGNED_BOUNDS:
            lo, hi = lo & 0xFFFFFFFFFFFFFFFF, hi & 0xFFFFFFFFFFFFFFFF
        if fraction_digits:
            lo_s, hi_s = str(lo / 10**fraction_digits), str(hi / 10**fraction_digits)
        else:
            lo_s, hi_s = str(lo), str(hi)
        parts.append(lo_s if lo == hi else f"{lo_s}..{hi_s}")
    return " | ".join(parts)


def restriction(node: SchemaNode) -> str:
    """The range, length or patterns a leaf's type imposes, as YANG writes them ('' when none)."""
    out = []
    for t in _member_types(node._type()):
        b = t.basetype
        if b in INTEGER_TYPES:
            text = _range_text(ffi.cast("struct lysc_type_num *", t).range, b)
            if text:
                out.append(f"range {text}")
        elif b == lib.LY_TYPE_DEC64:
            dec = ffi.cast("struct lysc_type_dec *", t)
            text = _range_text(dec.range, b, int(dec.fraction_digits))
            if text:
                out.append(f"range {text}")
        elif b in (lib.LY_TYPE_STRING, lib.LY_TYPE_BINARY):
            st = ffi.cast("struct lysc_type_str *", t)
            text = _range_text(st.length, b)
            if text:
                out.append(f"length {text}")
            if b == lib.LY_TYPE_STRING:
                for pat in _sized(st.patterns):
                    pp = _ident_ffi.cast("struct nwi_lysc_pattern *", int(ffi.cast("uintptr_t", pat)))
                    out.append(f'pattern "{_ident_ffi.string(pp.expr).decode()}"')
    return "; ".join(out)


def _collect_derived(base: Any, out: dict[str, list[str]], seen: set[int]) -> None:
    ident = _ident_ffi.cast("struct nwi_lysc_ident *", int(ffi.cast("uintptr_t", base)))
    derived = ident.derived
    if derived == _ident_ffi.NULL:
        return
    count = _ident_ffi.cast("uint64_t *", derived)[-1]
    for i in range(count):
        d = derived[i]
        addr = int(_ident_ffi.cast("uintptr_t", d))
        if addr in seen:
            continue
        seen.add(addr)
        module = ffi.cast("struct lys_module *", int(_ident_ffi.cast("uintptr_t", d.module)))
        if module.implemented:
            name = _ident_ffi.string(d.name).decode()
            q = f"{_c(module.name)}:{name}"
            forms = out.setdefault(name, [])
            if q not in forms:
                forms.append(q)
        _collect_derived(d, out, seen)


_TYPE_NAMES = {
    lib.LY_TYPE_BINARY: "binary", lib.LY_TYPE_UINT8: "uint8", lib.LY_TYPE_UINT16: "uint16",
    lib.LY_TYPE_UINT32: "uint32", lib.LY_TYPE_UINT64: "uint64", lib.LY_TYPE_STRING: "string",
    lib.LY_TYPE_BITS: "bits", lib.LY_TYPE_BOOL: "boolean", lib.LY_TYPE_DEC64: "decimal64",
    lib.LY_TYPE_EMPTY: "empty", lib.LY_TYPE_ENUM: "enumeration", lib.LY_TYPE_IDENT: "identityref",
    lib.LY_TYPE_INST: "instance-identifier", lib.LY_TYPE_LEAFREF: "leafref", lib.LY_TYPE_UNION: "union",
    lib.LY_TYPE_INT8: "int8", lib.LY_TYPE_INT16: "int16", lib.LY_TYPE_INT32: "int32", lib.LY_TYPE_INT64: "int64",
}


def type_name(basetype: int) -> str:
    return _TYPE_NAMES.get(basetype, "")


def top_level_nodes(model_set: ModelSet) -> Iterator[SchemaNode]:
    """Every implemented module's top-level data nodes (augments into other modules' trees excluded)."""
    for module in model_set.context:
        compiled = module.cdata.compiled
        if compiled == ffi.NULL:
            continue
        child = lib.lys_getnext(ffi.NULL, ffi.NULL, compiled, 0)
        while child:
            if child.nodetype in _DATA_NODES:
                yield SchemaNode(model_set, child, None)
            child = lib.lys_getnext(child, ffi.NULL, compiled, 0)


def enum_names(node: SchemaNode) -> list[str]:
    """The enum names an enumeration leaf (or a union's enumeration members) accepts, in schema order."""
    names: list[str] = []
    for t in _member_types(node._type()):
        if t.basetype == lib.LY_TYPE_ENUM:
            for e in _sized(ffi.cast("struct lysc_type_enum *", t).enums):
                names.append(_c(e.name))
    return names
