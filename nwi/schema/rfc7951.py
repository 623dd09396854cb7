"""Values on the wire as a device's YANG schema says: RFC 7951 JSON, module names, typed leaves.

nwi objects carry a gNMI path and a JSON subtree written the way people
write YAML: no module names, ``service-id: 4321`` as a number whatever its
YANG type. Devices want more: RFC 7951 qualifies a member name with its
module at the top level and where the module changes (augments), writes
64-bit integers and decimal64 as strings (section 6.1) and an identityref
as ``module:identity`` (6.8); NETCONF needs each element's namespace.
Without a schema that is guessed; with a :class:`~nwi.schema.models.ModelSet`
a :class:`Codec` looks it up:

* :meth:`Codec.encode` — the RFC 7951 value of the node at a path;
* :meth:`Codec.typed` — a value in the form reads are compared in: no
  module names on members, each leaf as RFC 7951 carries it after libyang
  read it (canonical text, ``iana-if-type:ethernetCsmacd`` for the
  ``ethernetCsmacd`` written, ``1.5`` for ``1.50``), so that drift has no
  false positives;
* :meth:`Codec.qualified_path` — a path with ``module:`` where the module
  changes, from which NETCONF takes each element's namespace;
* :meth:`Codec.check` — a device's whole configuration validated as its
  target would (the mock and the virtual device refuse what fails).

Leaf values are judged by libyang (:func:`nwi.schema.values.check_value`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

import libyang
from _libyang import ffi, lib

from nwi.path import GnmiPath, PathElem
from nwi.schema.models import ModelSet
from nwi.schema.nodes import SchemaNode
from nwi.schema.values import check_value

Json = Any
#: ``values``: every node, type, range, pattern, enum, identityref and list key of what is set;
#: ``full``: also the whole configuration's mandatory nodes, must/when and leafrefs
Checks = Literal["values", "full"]

_LOCATION = re.compile(r'location "(.*)"')


class _Mode(NamedTuple):
    strict: bool  # refuse what the schema does not know (else pass it on as it is)
    qualify: bool  # RFC 7951 member names (else plain names, as objects write them)


_ENCODE = _Mode(strict=True, qualify=True)
_ANSWER = _Mode(strict=False, qualify=True)
_TYPED = _Mode(strict=False, qualify=False)


class SchemaError(ValueError):
    """A path or value the schema refuses; ``where`` is the data node it names."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


class Codec:
    """RFC 7951 encoding, typed comparison and whole-configuration checks for one model set."""

    def __init__(self, models: ModelSet) -> None:
        _keep_error_paths()
        self.models = models
        self._lock = threading.Lock()  # libyang's error list is per context: one whole-tree check at a time
        self._namespaces = {m.name: m.namespace for m in models.modules()}
        self._nodes: dict[tuple[tuple[str, tuple[str, ...]], ...], SchemaNode | None] = {}
        for m in models.context:  # imported-only modules too (identities, typedefs)
            self._namespaces.setdefault(m.name(), ffi.string(m.cdata.ns).decode() if m.cdata.ns else "")

    # ---- schema ------------------------------------------------------------------------
    def namespaces(self) -> dict[str, str]:
        """module name -> XML namespace, for every module of the model set."""
        return dict(self._namespaces)

    def _child(self, parent: SchemaNode | None, name: str, where: Where, config: bool = True) -> SchemaNode:
        node = self.models.root(name) if parent is None else parent.child(name)
        if node is not None and (not config or parent is None or node.config or not parent.config):
            return node
        local = name.split(":", 1)[-1]
        at = _show(where)
        if node is not None:
            raise SchemaError(f"{at}/{local}", f"{node.keyword} {local} is state data (config false) "
                                                  f"in {node.module}: it cannot be configured")
        if parent is None:
            names = sorted({n for n in self.models.roots() if ":" not in n})
            place = "no such top-level node in the models"
        else:
            names = parent.child_names()
            place = f"no such node in {parent.module}"
        hint = _closest(local, names)
        raise SchemaError(f"{at}/{local}", place + (f" (did you mean {hint}?)" if hint else ""))

    def node(self, path: GnmiPath) -> SchemaNode | None:
        """The schema node at ``path`` (None for the root); raises :class:`SchemaError` naming the element."""
        shape = tuple((e.name, tuple(k for k, _ in e.keys)) for e in path.elems)  # what decides the node
        hit = self._nodes.get(shape, _MISSING)
        if hit is not _MISSING:
            return hit
        node = self._walk(path)
        if len(self._nodes) < 1 << 14:
            self._nodes[shape] = node
        return node

    def _walk(self, path: GnmiPath) -> SchemaNode | None:
        node: SchemaNode | None = None
        for i, elem in enumerate(path.elems):
            node = self._child(node, elem.name, GnmiPath(path.elems[:i]))
            if elem.keys and node.keyword != "list":
                raise SchemaError(_render(path.elems[: i + 1]),
                                  f"{node.keyword} {node.name} is not a list: it takes no keys")
            if elem.keys and {k for k, _ in elem.keys} != set(node.keys):
                raise SchemaError(_render(path.elems[: i + 1]),
                                  f"list {node.name} is keyed by {', '.join(node.keys)}")
        return node

    def qualified_path(self, path: GnmiPath) -> GnmiPath:
        """``path`` with ``module:`` on its first element and wherever the module changes."""
        node: SchemaNode | None = None
        elems: list[PathElem] = []
        for i, elem in enumerate(path.elems):
            node = self._child(node, elem.name, GnmiPath(path.elems[:i]))
            elems.append(PathElem(node.qualified_name(), elem.keys))
        return GnmiPath(tuple(elems), path.origin)

    # ---- values ------------------------------------------------------------------------
    def encode(self, path: GnmiPath, value: Json) -> Json:
        """The RFC 7951 value of the node at ``path``, its members qualified relative to that node.

        Raises :class:`SchemaError` naming the first node or value the schema refuses.
        """
        return self._at(path, value, _ENCODE)

    def answer(self, path: GnmiPath, value: Json) -> Json:
        """Data (state included) in RFC 7951, as a target answers a Get; what the schema does not
        know is passed on as it is."""
        try:
            return self._at(path, value, _ANSWER)
        except SchemaError:
            return value

    def typed(self, path: GnmiPath, value: Json) -> Json:
        """``value`` as it compares (see the module docstring); what the schema refuses stays as it is."""
        try:
            return self._at(path, value, _TYPED)
        except SchemaError:
            return value

    def _at(self, path: GnmiPath, value: Json, mode: _Mode) -> Json:
        node = self.node(path) if mode.strict else self._lenient_node(path)
        where: Where = path
        if node is None:
            return self._members(None, value, where, mode)
        return self._value(node, value, where, bool(path.elems[-1].keys), mode)

    def _lenient_node(self, path: GnmiPath) -> SchemaNode | None:
        node: SchemaNode | None = None
        for i, elem in enumerate(path.elems):
            node = self._child(node, elem.name, GnmiPath(path.elems[:i]), config=False)
        return node

    def _members(self, node: SchemaNode | None, value: Json, where: Where, mode: _Mode) -> Json:
        if not isinstance(value, dict):
            if mode.strict:
                what = "the root" if node is None else f"{node.keyword} {node.name}"
                raise SchemaError(_show(where) or "/", f"{what} takes an object, not {_short(value)}")
            return value
        keys = node.keys if node is not None else ()
        out: dict[str, Any] = {}
        for name in [*(k for k in keys if k in value), *(k for k in value if k not in keys)]:
            local = name.split(":", 1)[-1]
            try:
                child = self._child(node, name, where, config=mode.strict)
            except SchemaError:
                if mode.strict:
                    raise
                out[name if mode.qualify else local] = value[name]
                continue
            member = child.qualified_name() if mode.qualify else child.name
            out[member] = self._value(child, value[name], (where, "/" + local), False, mode)
        return out

    def _value(self, node: SchemaNode, value: Json, where: Where, entry: bool, mode: _Mode) -> Json:
        kw = node.keyword
        if kw == "container" or (kw == "list" and entry):
            return value if value is None else self._members(node, value, where, mode)
        if kw == "list":
            if isinstance(value, dict) and not mode.strict:
                value = [value]  # XML: one entry reads like a container
            if not isinstance(value, list):
                if mode.strict:
                    raise SchemaError(_show(where), f"list {node.name} takes an array of entries, not {_short(value)}")
                return value
            return [self._members(node, v, (where, f"[{_keys_of(node, v)}]"), mode) for v in value]
        if kw == "leaf-list":
            items = value if isinstance(value, list) else [value]
            return [self._leaf(node, v, where, mode) for v in items]
        if kw == "leaf":
            return self._leaf(node, value, where, mode)
        return value  # anydata / anyxml: free-form by definition

    def _leaf(self, node: SchemaNode, value: Json, where: Where, mode: _Mode) -> Json:
        checked = check_value(node, value)
        if checked.error:
            if mode.strict:
                raise SchemaError(_show(where), f"{checked.error} ({node.type_name} in {node.module})")
            return value
        return checked.json

    # ---- whole configurations ------------------------------------------------------------
    def check(self, config: dict[str, Any], checks: Checks = "values") -> list[SchemaError]:
        """What a target would refuse in ``config``, a device's whole configuration in nwi's form.

        ``values`` checks every node and leaf; ``full`` also validates the whole
        data tree (mandatory nodes, must/when, leafrefs, unique, min/max-elements).
        """
        try:
            doc = self.encode(GnmiPath(), config)
        except SchemaError as exc:
            return [exc]
        if checks != "full":
            return []
        raw = json.dumps(doc).encode()
        tree = ffi.new("struct lyd_node **")
        with self._lock:
            ret = lib.lyd_parse_data_mem(self.models.cdata, raw, lib.LYD_JSON,
                                         lib.LYD_PARSE_STRICT | lib.LYD_PARSE_NO_STATE, lib.LYD_VALIDATE_NO_STATE,
                                         tree)
            if tree[0] != ffi.NULL:
                lib.lyd_free_all(tree[0])
            if ret == lib.LY_SUCCESS:
                lib.ly_err_clean(self.models.cdata, ffi.NULL)
                return []
            return list(self._errors())

    def _errors(self) -> Iterator[SchemaError]:
        err = lib.ly_err_first(self.models.cdata)
        found = False
        while err != ffi.NULL:
            where = ffi.string(err.path).decode() if err.path != ffi.NULL else "/"
            m = _LOCATION.search(where)  # libyang 2.1 words it 'Data location "/m:a/b[k='v']".'
            message = ffi.string(err.msg).decode() if err.msg != ffi.NULL else "invalid configuration"
            found = True
            yield SchemaError(m.group(1) if m else where, message)
            err = err.next
        lib.ly_err_clean(self.models.cdata, ffi.NULL)
        if not found:
            yield SchemaError("/", "invalid configuration")


_codecs: dict[int, Codec] = {}
_codecs_lock = threading.Lock()


def codec_for(models: ModelSet) -> Codec:
    """The one codec of a model set (model sets are shared per process, so are their codecs)."""
    with _codecs_lock:
        codec = _codecs.get(id(models))
        if codec is None or codec.models is not models:
            codec = _codecs[id(models)] = Codec(models)
        return codec


def _keep_error_paths() -> None:
    """Make libyang record where a validation error is (the node's path), not only what it is.

    libyang 2.1 stores an error's path only while a log callback is set; the
    bindings' callback hands messages to the ``libyang`` Python logger, which
    discards them unless configured (errors are read from the stored list).
    """
    libyang.configure_logging(True, logging.ERROR)


def _closest(name: str, names: list[str]) -> str | None:
    import difflib

    hits = difflib.get_close_matches(name, names, n=1)
    return hits[0] if hits else None


def _keys_of(node: SchemaNode, entry: Json) -> str:
    if not isinstance(entry, dict):
        return "?"
    return ",".join(f"{k}={entry.get(k, '?')}" for k in node.keys)


def _short(value: Json, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: where a value is, built as cheaply as possible and rendered only for an error message: a path, or
#: (the parent's Where, "/member" or "[key=value]")
Where = GnmiPath | tuple[Any, str]
_MISSING: Any = object()


def _show(where: Where) -> str:
    parts: list[str] = []
    at: Any = where
    while not isinstance(at, GnmiPath):
        at, piece = at
        parts.append(piece)
    return _render(at.elems) + "".join(reversed(parts))


def _render(elems: tuple[PathElem, ...]) -> str:
    """A path as errors show it: without module prefixes, as objects write it."""
    return "".join("/" + PathElem(e.name.split(":", 1)[-1], e.keys).render() for e in elems)
