"""gNMI wire conversions shared by the gNMI driver and the mock gNMI server.

Both sides must agree on how a structured :class:`~nwi.path.GnmiPath` maps to
the protobuf ``Path`` message and how JSON values map to ``TypedValue``; keeping
the mapping in one module means a driver/server round trip cannot hide a
conversion bug that only one side has. The protobuf classes are the ones
pygnmi ships (``pygnmi.spec.v080``), so client and server speak gNMI 0.8.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Iterator
from typing import Any

from pygnmi.spec.v080 import gnmi_pb2

from nwi.path import GnmiPath, PathElem
from nwi.tree import KeyedList, Tree, TreeError

Json = Any

#: Encoding names as nwi spells them (Device.spec.encoding) -> gNMI enum value.
ENCODINGS: dict[str, int] = {
    "json": gnmi_pb2.Encoding.Value("JSON"),
    "json_ietf": gnmi_pb2.Encoding.Value("JSON_IETF"),
    "proto": gnmi_pb2.Encoding.Value("PROTO"),
    "bytes": gnmi_pb2.Encoding.Value("BYTES"),
    "ascii": gnmi_pb2.Encoding.Value("ASCII"),
}
ENCODING_NAMES: dict[int, str] = {v: k for k, v in ENCODINGS.items()}


class CodecError(ValueError):
    """A TypedValue this codec cannot turn into JSON (or the other way round)."""


# ---- paths -------------------------------------------------------------------------
def strip_module(name: str) -> str:
    """``openconfig-interfaces:interfaces`` -> ``interfaces`` (no YANG: prefixes carry no meaning here)."""
    return name.split(":", 1)[1] if ":" in name else name


def path_from_proto(path: Any, strip_modules: bool = True) -> GnmiPath:
    """A protobuf ``Path`` as a GnmiPath; keys are sorted by name (a proto map has no order)."""
    elems: list[PathElem] = []
    if path.elem:
        for e in path.elem:
            name = strip_module(e.name) if strip_modules else e.name
            elems.append(PathElem(name, tuple(sorted(e.key.items()))))
    else:  # the deprecated string form (gNMI < 0.4): one name per element, no keys
        elems = [PathElem(strip_module(n) if strip_modules else n) for n in path.element]
    return GnmiPath(tuple(elems), path.origin)


def path_to_proto(path: GnmiPath, target: str = "") -> Any:
    # one constructor call; the message copies each element, so a cached one is never shared
    return gnmi_pb2.Path(origin=path.origin, target=target, elem=[_elem_to_proto(e) for e in path.elems])


@functools.lru_cache(maxsize=1 << 12)
def _elem_to_proto(elem: PathElem) -> Any:
    """An element's message, built once for the elements paths share (``nwi.path`` shares them:
    a transaction's paths repeat their parents): a third of the cost of building each anew."""
    return gnmi_pb2.PathElem(name=elem.name, key=dict(elem.keys)) if elem.keys else gnmi_pb2.PathElem(name=elem.name)


def canonical(path: GnmiPath) -> GnmiPath:
    """The same path with every element's keys sorted by name, for comparisons."""
    return GnmiPath(tuple(PathElem(e.name, tuple(sorted(e.keys))) for e in path.elems), path.origin)


def join(prefix: GnmiPath, path: GnmiPath) -> GnmiPath:
    """gNMI 2.4.1: the full path is prefix + path; the path's origin wins over the prefix's."""
    return GnmiPath(prefix.elems + path.elems, path.origin or prefix.origin)


def relative(full: GnmiPath, prefix: GnmiPath) -> GnmiPath:
    """``full`` with the elements of ``prefix`` removed from its front."""
    return GnmiPath(full.elems[len(prefix.elems) :], full.origin if not prefix.origin else "")


def has_wildcard(path: GnmiPath) -> bool:
    return any(e.name in ("*", "...") or any(v == "*" for _, v in e.keys) for e in path.elems)


# ---- values ------------------------------------------------------------------------
def strip_modules_json(value: Json) -> Json:
    """Drop RFC 7951 module prefixes from every object member name."""
    if isinstance(value, dict):
        return {strip_module(k): strip_modules_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_modules_json(v) for v in value]
    return value


def decode_json_bytes(raw: bytes) -> Json:
    """JSON text to a value; bytes that are not JSON are taken as a bare string.

    pygnmi sends a Python ``str`` value as its raw UTF-8 bytes, unquoted, so
    ``enable`` arrives where ``"enable"`` was meant. Real targets accept that
    too, so the mock does as well rather than failing such clients.
    """
    text = raw.decode("utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def value_from_proto(tv: Any) -> Json:
    """A TypedValue as JSON; raises :class:`CodecError` for kinds that need a schema."""
    kind = tv.WhichOneof("value")
    if kind is None:
        raise CodecError("the update carries no value")
    if kind == "json_val":
        return decode_json_bytes(tv.json_val)
    if kind == "json_ietf_val":
        return strip_modules_json(decode_json_bytes(tv.json_ietf_val))
    if kind in ("string_val", "ascii_val", "int_val", "uint_val", "bool_val", "float_val", "double_val"):
        return getattr(tv, kind)
    if kind == "decimal_val":
        return tv.decimal_val.digits / (10**tv.decimal_val.precision)
    if kind == "leaflist_val":
        return [value_from_proto(e) for e in tv.leaflist_val.element]
    if kind == "bytes_val":
        return base64.b64encode(tv.bytes_val).decode("ascii")
    raise CodecError(f"values encoded as {kind} need a schema; use json or json_ietf")


def value_to_proto(value: Json, encoding: str) -> Any:
    """A JSON value as a TypedValue in ``encoding`` (json, json_ietf, or proto for scalars)."""
    if encoding == "json":
        return gnmi_pb2.TypedValue(json_val=json.dumps(value).encode())
    if encoding == "json_ietf":
        return gnmi_pb2.TypedValue(json_ietf_val=json.dumps(value).encode())
    if encoding == "proto":
        return scalar_to_proto(value)
    raise CodecError(f"encoding {encoding!r} is not supported")


def scalar_to_proto(value: Json) -> Any:
    """A leaf value as a native TypedValue (PROTO encoding): the scalar fields, or a leaf-list."""
    if isinstance(value, bool):
        return gnmi_pb2.TypedValue(bool_val=value)
    if isinstance(value, int):
        return gnmi_pb2.TypedValue(int_val=value) if value < 0 else gnmi_pb2.TypedValue(uint_val=value)
    if isinstance(value, float):
        return gnmi_pb2.TypedValue(double_val=value)
    if isinstance(value, str):
        return gnmi_pb2.TypedValue(string_val=value)
    if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
        return gnmi_pb2.TypedValue(leaflist_val=gnmi_pb2.ScalarArray(element=[scalar_to_proto(v) for v in value]))
    # an unkeyed list of objects or an empty container has no scalar form: send it as JSON
    return gnmi_pb2.TypedValue(json_val=json.dumps(value).encode())


# ---- leaves ------------------------------------------------------------------------
def leaves(tree: Tree, origin: str = "") -> Iterator[tuple[GnmiPath, Json]]:
    """Every leaf of ``tree`` with its concrete path (list entries addressed by their keys).

    Telemetry (Subscribe, and Get in PROTO encoding) reports values leaf by
    leaf (gNMI 3.5: no aggregation unless the schema allows it). A plain JSON
    array, which no path can address entry by entry, is one leaf.
    """
    yield from _leaves(tree.root, GnmiPath((), origin))


def _leaves(node: Any, at: GnmiPath) -> Iterator[tuple[GnmiPath, Json]]:
    if isinstance(node, dict):
        for name, child in node.items():
            if isinstance(child, KeyedList):
                for ident, entry in child.entries.items():
                    keys = dict(zip(child.key_names, ident, strict=True))
                    yield from _leaves(entry, at.child(name, keys))
            else:
                yield from _leaves(child, at.child(name))
    else:
        yield at, node


def matching_leaves(tree: Tree, pattern: GnmiPath) -> Iterator[tuple[GnmiPath, Json]]:
    """The leaves of ``tree`` that :func:`matches` selects with ``pattern``, found by walking down the
    pattern instead of testing every leaf of the tree against it."""
    yield from _matching(tree.root, pattern.elems, GnmiPath((), pattern.origin))


def _matching(node: Any, elems: tuple[PathElem, ...], at: GnmiPath) -> Iterator[tuple[GnmiPath, Json]]:
    if not elems:
        yield from _leaves(node, at)
        return
    if not isinstance(node, dict):
        return  # a leaf above the pattern's end: not selected
    want, rest = elems[0], elems[1:]
    names = list(node) if want.name == "*" else [want.name] if want.name in node else []
    wanted = want.key_dict if want.keys else None
    for name in names:
        child = node[name]
        if isinstance(child, KeyedList):
            for ident, entry in child.entries.items():
                keys = dict(zip(child.key_names, ident, strict=True))
                if wanted is not None and (wanted.keys() != keys.keys()
                                           or any(v != "*" and keys[k] != v for k, v in wanted.items())):
                    continue
                yield from _matching(entry, rest, at.child(name, keys))
        elif wanted is None:  # a pattern element with keys selects list entries only
            yield from _matching(child, rest, at.child(name))


def overlaps(pattern: GnmiPath, at: GnmiPath) -> bool:
    """True when the subtree at ``at`` may hold leaves ``pattern`` selects (the one lies in the other)."""
    n = min(len(pattern.elems), len(at.elems))
    return matches(GnmiPath(pattern.elems[:n], pattern.origin), GnmiPath(at.elems[:n], pattern.origin))


def matching_leaves_at(tree: Tree, pattern: GnmiPath, at: GnmiPath) -> list[tuple[GnmiPath, Json]] | None:
    """The leaves of :func:`matching_leaves` that lie under the concrete path ``at`` (those a change at
    ``at`` may have changed); None when ``at`` cannot be looked up as it is stored (keys addressing a
    plain JSON list, which only a write converts)."""
    if not overlaps(pattern, at):
        return []
    node: Any = tree.root
    for elem in at.elems:
        child = node.get(elem.name) if isinstance(node, dict) else None
        if elem.keys:
            if child is None:
                return []
            if not isinstance(child, KeyedList):
                return None
            try:
                child = child.entries.get(child.path_ident(elem.keys))
            except TreeError:
                return None
        if child is None:
            return []
        node = child
    here = GnmiPath(at.elems, pattern.origin)
    n = len(at.elems)
    if n >= len(pattern.elems):  # ``at`` is inside what the pattern selects: every leaf under it
        return list(_leaves(node, here))
    return list(_matching(node, pattern.elems[n:], here))


def matches(pattern: GnmiPath, path: GnmiPath) -> bool:
    """True when ``path`` lies at or under a node ``pattern`` (``*`` wildcards allowed) selects.

    An element without keys selects every entry of a list; one with keys must
    name all of them (each a value or ``*``).
    """
    if len(pattern.elems) > len(path.elems):
        return False
    for want, have in zip(pattern.elems, path.elems, strict=False):
        if want.name != "*" and want.name != have.name:
            return False
        if want.keys:
            have_keys = have.key_dict
            if set(want.key_dict) != set(have_keys):
                return False
            if any(v != "*" and have_keys[k] != v for k, v in want.keys):
                return False
    return True
