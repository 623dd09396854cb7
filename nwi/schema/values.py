"""Leaf values: checked by libyang against the leaf's type, and given their RFC 7951 JSON form.

Properties come from YAML, so a number may be written as ``4321`` or
``"4321"``, a boolean as ``true``; libyang's checks work on the lexical text
(``lyd_value_validate``), so both spellings are checked by value, as a device
parsing its own JSON or XML would. The answer per (leaf, text) is kept: a
large set repeats the same few values (``enable``) on the same leaves.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from _libyang import ffi, lib

from nwi.schema.nodes import JSON_NUMBER_TYPES, SchemaNode


class Checked(NamedTuple):
    """The outcome of checking one value: ``error`` is libyang's reason ('' when valid)."""

    error: str
    json: Any  # the value as RFC 7951 JSON carries it (valid values only)
    needs_data: bool  # leafref / instance-identifier: valid as a value, its target is checked per device


def lexical(value: Any) -> str | None:
    """The YANG lexical text of a YAML scalar; None for what no leaf holds (mappings, lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value) if not isinstance(value, float) else repr(value)
    return None


_cache: dict[tuple[int, str], Checked] = {}
_fast: dict[tuple[int, type, Any], Checked] = {}
_SCALARS = frozenset({str, int, bool, float})
_MAX_CACHED = 500_000
_lock = threading.Lock()


def check_value(node: SchemaNode, value: Any) -> Checked:
    """Check ``value`` (a YAML scalar) against leaf or leaf-list ``node``'s type."""
    if value is None or value == [None]:
        if node.basetype == lib.LY_TYPE_EMPTY:
            return Checked("", [None], False)
        return Checked(f"a value is needed (type {node.type_name})", None, False)
    # by the value itself first (its type too: True == 1), then by its text
    fast = (id(node), value.__class__, value) if value.__class__ in _SCALARS else None
    if fast is not None:
        hit = _fast.get(fast)
        if hit is not None:
            return hit
    text = lexical(value)
    if text is None:
        return Checked(f"expected a single {node.type_name} value, not a {type(value).__name__}", None, False)
    key = (id(node), text)
    hit = _cache.get(key)
    if hit is not None:
        if fast is not None:
            _fast[fast] = hit
        return hit
    result = _check_text(node, text)
    if result.error and ":" not in text:
        # an identity written without its module (``ethernetCsmacd``): RFC 7951 wants it qualified
        # where its module differs from the leaf's; accept it when exactly one identity has the name
        forms = node.identity_names().get(text, [])
        if len(forms) == 1:
            qualified = _check_text(node, forms[0])
            if not qualified.error:
                result = qualified
    with _lock:
        if len(_cache) > _MAX_CACHED:  # bounded for a long-running operator (unique descriptions add up)
            _cache.clear()
            _fast.clear()
        _cache[key] = result
        if fast is not None:
            _fast[fast] = result
    return result


def _check_text(node: SchemaNode, text: str) -> Checked:
    ctx = node.model_set.cdata
    raw = text.encode()
    realtype = ffi.new("struct lysc_type **")
    canonical = ffi.new("char **")
    ret = lib.lyd_value_validate(ctx, node.cdata, raw, len(raw), ffi.NULL, realtype, canonical)
    if ret not in (lib.LY_SUCCESS, lib.LY_EINCOMPLETE):
        return Checked(_reason(ctx, text), None, False)
    base = realtype[0].basetype if realtype[0] != ffi.NULL else node.basetype
    canon = ffi.string(canonical[0]).decode() if canonical[0] != ffi.NULL else text
    return Checked("", _json(base, canon), ret == lib.LY_EINCOMPLETE)


def _json(base: int, canonical: str) -> Any:
    if base in JSON_NUMBER_TYPES:
        return int(canonical)
    if base == lib.LY_TYPE_BOOL:
        return canonical == "true"
    if base == lib.LY_TYPE_EMPTY:
        return [None]
    return canonical


def _reason(ctx: Any, text: str) -> str:
    """libyang's last message for a refused value, without the generic prefixes."""
    msgs = []
    err = lib.ly_err_first(ctx)
    while err:
        if err.msg:
            msgs.append(ffi.string(err.msg).decode())
        err = err.next
    lib.ly_err_clean(ctx, ffi.NULL)
    return msgs[-1] if msgs else f"invalid value {text!r}"
