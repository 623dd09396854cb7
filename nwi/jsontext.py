"""JSON text on the hot paths: spec hashes, stored manifests and statuses, the parse cache.

orjson encodes ten times faster than the standard library, which mattered:
at 10k objects, JSON encoding was a tenth of an apply. Where orjson cannot
encode a value (an integer beyond 64 bits) the standard library does; the
same value always takes the same route, so a hash stays stable. Keys that are
not strings (YAML allows ``1: x``) become strings, as ``json.dumps`` makes
them. NaN and Infinity never get here: the loader refuses them, since JSON
and the device protocols have no such numbers.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME  # dates are not JSON: raise, as json does
_SORTED = _OPTS | orjson.OPT_SORT_KEYS


def dumps(value: Any, sort_keys: bool = False) -> str:
    """Compact JSON text of ``value``."""
    try:
        return orjson.dumps(value, option=_SORTED if sort_keys else _OPTS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(_text_keys(value), sort_keys=sort_keys, separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """The value of JSON ``text`` (raises ``ValueError`` on malformed text).

    The standard library's parser: orjson reads an integer beyond 64 bits as a float, and a
    stored manifest read back must be the intent as written, to the last digit.
    """
    return json.loads(text)


def _text_keys(value: Any) -> Any:
    """``value`` with every mapping key as JSON text would have it (``1`` -> ``"1"``), so that keys of
    mixed types can be sorted."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else json.dumps(k): _text_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_text_keys(v) for v in value]
    return value
