"""Values as a strict gNMI 0.10 target reads and writes them.

Reading (Set): a ``json_val`` / ``json_ietf_val`` MUST be valid JSON (gNMI
2.3.1, RFC 7159); anything else makes the operation invalid and so aborts the
whole SetRequest (3.4.4, 3.4.7). ``NaN``/``Infinity`` are not JSON either.
JSON ``null`` is no value for configuration (3.4.4: replacing a leaf with a nil
value MUST be refused; RFC 7951 spells the only null-like value, type
``empty``, as ``[null]``).

The one leniency, off unless a target opts in (``bare_strings``): pygnmi sends
a Python ``str`` as its raw UTF-8 bytes, so ``enable`` arrives where
``"enable"`` was meant. With the opt-in such a bare word is taken as a string,
but never text that starts like JSON (``{ [ " -`` or a digit): ``{"mtu": `` is
a broken object, not a word.

Writing (JSON_IETF answers): RFC 7951 section 4 wants the members of a
top-level JSON object qualified with the name of the module that defines
them (``openconfig-interfaces:interfaces``). See :func:`qualify` for how the
mock decides the module without YANG.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from nwi.drivers.gnmi_codec import CodecError, strip_modules_json, value_from_proto
from nwi.path import GnmiPath

Json = Any

#: first characters of text that is meant as JSON: such text is never a bare word
_JSON_START = frozenset('{["-0123456789')


class InvalidValue(ValueError):
    """A Set value a strict target refuses with INVALID_ARGUMENT. The message never quotes the value
    (configuration may hold secrets); it says what is wrong and where."""


def decode_set_value(tv: Any, *, bare_strings: bool = False) -> Json:
    """The JSON value of a Set's TypedValue, strictly.

    Raises :class:`InvalidValue` for malformed JSON or a null, and
    :class:`~nwi.drivers.gnmi_codec.CodecError` for encodings that need a schema.
    """
    kind = tv.WhichOneof("value")
    if kind in ("json_val", "json_ietf_val"):
        value = parse_json(getattr(tv, kind), kind, bare_strings=bare_strings)
        if kind == "json_ietf_val":
            value = strip_modules_json(value)
    else:
        value = value_from_proto(tv)
    where = find_null(value)
    if where is not None:
        raise InvalidValue(f"null at {where or 'the top'} is not a value (gNMI 3.4.4: delete what should go)")
    return value


def parse_json(raw: bytes, field: str = "json_val", *, bare_strings: bool = False) -> Json:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidValue(f"{field} is not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError as exc:
        if bare_strings and text.lstrip()[:1] not in _JSON_START:
            return text
        raise InvalidValue(
            f"{field} is not valid JSON (gNMI 2.3.1): {exc.msg} at line {exc.lineno} column {exc.colno}"
            + ("" if bare_strings else "; strings must be quoted")
        ) from None


def _not_json(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def find_null(value: Json, at: str = "") -> str | None:
    """Where ``value`` holds a JSON null (a JSON-pointer-like location, "" for the value itself), or None.

    ``[null]`` is RFC 7951's encoding of a leaf of type ``empty``: not a null.
    """
    if value is None:
        return at
    if isinstance(value, dict):
        for k, v in value.items():
            found = find_null(v, f"{at}/{k}")
            if found is not None:
                return found
    elif isinstance(value, list) and value != [None]:
        for i, v in enumerate(value):
            found = find_null(v, f"{at}/{i}")
            if found is not None:
                return found
    return None


# ---- JSON_IETF answers -------------------------------------------------------------
ModuleOf = Callable[[str], "str | None"]

#: registered origins (gNMI 2.7.1) and others that name a schema, not a module
_NOT_MODULES = frozenset({"", "openconfig", "rfc7951"})


def origin_module(origin: str, announced: Collection[str] = ()) -> str | None:
    """The module an origin names, when it names one.

    IOS XR uses the module as origin (``openconfig-interfaces:/interfaces``)
    and pygnmi writes ``/openconfig-interfaces:interfaces`` that way. Origins
    that name a schema instead (``openconfig``, ``rfc7951``, CLI origins such as
    ``srlinux_cli``, Arista's ``eos_native``) are not modules: an origin is
    taken as one when the target announces a model of that name, or when it
    has a hyphen, as module names nearly always do and those origins do not.
    """
    if origin in _NOT_MODULES or origin.endswith("_cli"):
        return None
    return origin if origin in announced or "-" in origin else None


def modules_named(written: GnmiPath, announced: Collection[str] = ()) -> dict[str, str]:
    """``{interfaces: openconfig-interfaces}`` when a path, as the client wrote it, names the module of its
    first element: qualified (``openconfig-interfaces:interfaces``) or through its origin."""
    if not written.elems:
        return {}
    first = written.elems[0].name
    if ":" in first:
        prefix, name = first.split(":", 1)
        return {name: prefix}
    module = origin_module(written.origin, announced)
    return {first: module} if module else {}


def qualify(value: Json, path: GnmiPath, module_of: ModuleOf) -> Json:
    """``value`` (the JSON_IETF value of the node at ``path``) with its top-level members qualified.

    RFC 7951 section 4: every member of a top-level JSON object carries its
    module's name; below that, only a member whose module differs from its
    parent's (an augmentation). The mock has no schema, so it assumes what
    lies under a top-level data node belongs to that node's module:

    * the value of the root: each member is a top-level node, qualified with
      its own module;
    * the value of any other node: its members are qualified with the module
      of the path's first (top-level) element;
    * a list's value (an array of entries): each entry's members, likewise.

    ``module_of(name)`` says the module of a top-level node, or None when
    unknown; then the members stay as they are (the mock will not invent a
    module name). Leaves are values, not objects, and are left alone, as are
    member names that are already qualified.
    """
    if path.elems:
        module = module_of(path.elems[0].name)
        if module is None:
            return value
        return _qualify_members(value, lambda _name: module)
    return _qualify_members(value, module_of)


def _qualify_members(value: Json, module_of: ModuleOf) -> Json:
    if isinstance(value, dict):
        out = {}
        for name, child in value.items():
            module = None if ":" in name else module_of(name)
            out[f"{module}:{name}" if module else name] = child
        return out
    if isinstance(value, list):
        return [_qualify_members(v, module_of) if isinstance(v, dict) else v for v in value]
    return value


__all__ = ["CodecError", "InvalidValue", "decode_set_value", "find_null", "modules_named", "origin_module",
           "parse_json", "qualify"]
