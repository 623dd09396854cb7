"""NETCONF ``<rpc-error>`` reports in words, and the objects they blame.

An operator reading an object's Failed status needs what the server said:
the error tag, the node it points at and its message (RFC 6241 4.3), plus the
bad value or element when the server names one. When the error path points
into one change's subtree, only that change's object is blamed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lxml import etree
from ncclient.operations.rpc import RPCError

from nwi.drivers.base import Change

# The edit-config payload prefix netconfd (and others) put in front of error paths.
_RPC_PREFIX = re.compile(r"^/(?:[\w.-]+:)?rpc/(?:[\w.-]+:)?[\w.-]+/(?:[\w.-]+:)?config(?=/)")
_STEP = re.compile(r"/(?:[\w.-]+:)?([\w.-]+)((?:\[[^\]]*\])*)")
_PREDICATE = re.compile(r"\[(?:[\w.-]+:)?([\w.-]+)\s*=\s*(['\"])(.*?)\2\]")


def rpc_errors(exc: RPCError) -> list[RPCError]:
    """Every error of a reply (ncclient folds several into one exception with ``errlist``)."""
    return list(exc.errlist) if exc.errlist else [exc]


def describe(exc: RPCError) -> str:
    """``tag at path: message (detail)`` for each error of the reply, joined by ``; ``."""
    parts = []
    for err in rpc_errors(exc):
        text = (err.tag or "error").strip()
        path = error_path(err)
        if path:
            text += f" at {path}"
        text += f": {(err.message or '').strip() or 'no message'}"
        detail = _info_detail(err)
        if detail:
            text += f" ({detail})"
        parts.append(text)
    return "; ".join(parts)


def error_path(err: RPCError) -> str:
    """The error path without the ``/rpc/edit-config/config`` envelope."""
    return _RPC_PREFIX.sub("", (err.path or "").strip())


def _info_detail(err: RPCError) -> str:
    """``bad-element``/``bad-value``/``bad-attribute`` from ``<error-info>`` (RFC 6241 appendix A)."""
    info = err.info
    if not info:
        return ""
    try:
        root = etree.fromstring(info.encode() if isinstance(info, str) else info)
    except etree.XMLSyntaxError:
        return ""
    found = []
    for elem in root.iter():
        if not isinstance(elem.tag, str):
            continue
        local = etree.QName(elem).localname
        if local in ("bad-element", "bad-value", "bad-attribute", "bad-namespace") and (elem.text or "").strip():
            found.append(f"{local} {elem.text.strip()}")
    return ", ".join(found)


def blamed_owners(exc: RPCError, changes: Sequence[Change]) -> list[str]:
    """Owners of the changes an error path points into; empty when no path points at any."""
    owners: list[str] = []
    for err in rpc_errors(exc):
        steps = _steps(error_path(err))
        if not steps:
            continue
        for change in changes:
            if change.owner and change.owner not in owners and _overlaps(change, steps):
                owners.append(change.owner)
    return owners


def _steps(path: str) -> list[tuple[str, dict[str, str]]]:
    steps = []
    for m in _STEP.finditer(path):
        keys = {k.group(1): k.group(3) for k in _PREDICATE.finditer(m.group(2))}
        steps.append((m.group(1), keys))
    return steps


def _overlaps(change: Change, steps: list[tuple[str, dict[str, str]]]) -> bool:
    """True when the error path lies in the change's subtree or on the way to it."""
    for elem, (name, keys) in zip(change.path.elems, steps, strict=False):
        if elem.name.rpartition(":")[2] != name:
            return False
        mine = {k.rpartition(":")[2]: v for k, v in elem.keys}
        if any(k in keys and keys[k] != v for k, v in mine.items()):
            return False
    return True
