"""Does the running datastore hold what a change asked for?

After ``commit confirmed`` the driver reads running back and checks each
change before confirming. Servers canonicalise values (``0010`` -> ``10``,
``2001:DB8::1`` -> ``2001:db8::1``) and report everything as text, so leaves
are compared by meaning, not by spelling: as text, as numbers, as IP
addresses/prefixes, then case-insensitively. The device may hold more than was
asked (other leaves, defaults); only what the change wrote is checked.
"""

from __future__ import annotations

import decimal
import ipaddress
from typing import Any


def missing(actual: Any, desired: Any, where: str = "") -> list[str]:
    """What of ``desired`` is not in ``actual``, as ``where: reason`` lines (empty: all there)."""
    at = where or "/"
    if isinstance(desired, dict):
        if actual == {} and not desired:
            return []
        if isinstance(actual, list) and len(actual) == 1:
            actual = actual[0]  # XML cannot tell a one-entry list from a container
        if not isinstance(actual, dict):
            return [f"{at}: expected a container, found {_show(actual)}"]
        out: list[str] = []
        for name, value in desired.items():
            found = _member(actual, name)
            if found is _ABSENT:
                if value is None or value == [None] or value == {}:
                    # an empty leaf or container may be reported as absent by servers that prune them
                    continue
                out.append(f"{at.rstrip('/')}/{name}: missing")
                continue
            out.extend(missing(found, value, f"{at.rstrip('/')}/{name}"))
        return out
    if isinstance(desired, list):
        if desired == [None]:
            return []
        have = actual if isinstance(actual, list) else [actual]
        out = []
        for i, item in enumerate(desired):
            if not any(not missing(h, item) for h in have):
                out.append(f"{at}[{i}]: no entry matches {_show(item)}")
        return out
    if desired is None:
        return []
    if isinstance(actual, (dict, list)) or not same_scalar(actual, desired):
        return [f"{at}: expected {_show(desired)}, found {_show(actual)}"]
    return []


_ABSENT = object()


def _member(actual: dict[str, Any], name: str) -> Any:
    """A member by its JSON name, allowing a module prefix on either side (``ietf-ip:ipv4`` vs ``ipv4``)."""
    if name in actual:
        return actual[name]
    local = name.rpartition(":")[2]
    for key, value in actual.items():
        if key.rpartition(":")[2] == local:
            return value
    return _ABSENT


def same_scalar(actual: Any, desired: Any) -> bool:
    a, d = _text(actual), _text(desired)
    if a == d:
        return True
    try:
        return decimal.Decimal(a) == decimal.Decimal(d)
    except decimal.InvalidOperation:
        pass
    for parse in (ipaddress.ip_address, ipaddress.ip_network, ipaddress.ip_interface):
        try:
            return bool(parse(a) == parse(d))
        except ValueError:
            continue
    return a.casefold() == d.casefold()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
