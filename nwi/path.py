"""gNMI path strings: parse them into a structured path and render them back.

The syntax follows the gNMI path-string convention: ``/elem/elem[key=value]``,
an optional origin prefix (``openconfig:/interfaces``), ``\\``-escapes inside
key values (``]``, ``=`` and ``\\`` itself) and in names (``/``, ``[``, ``]``).
Rendering produces the canonical form, so ``render(parse(s)) == s`` for every
canonical string and ``parse(render(p)) == p`` for every path.
"""

from __future__ import annotations

import functools
import re
from sys import intern
from typing import NamedTuple

_ORIGIN = re.compile(r"^([A-Za-z0-9_.-]+):/")
# Escape-free paths (nearly all of them) match these; the same grammar as the
# character-by-character parser below, which still handles escapes and names errors.
_PLAIN_ELEM = r"/([^/\[\]\\]+)((?:\[[^=\[\]\\]+=[^\]\\]*\])*)"
_PLAIN_ELEMS = re.compile(_PLAIN_ELEM)
_PLAIN_KEYS = re.compile(r"\[([^=\[\]\\]+)=([^\]\\]*)\]")
_NAME_ESCAPES = frozenset("\\/[]")
_KEY_NAME_ESCAPES = frozenset("\\=[]")
_VALUE_ESCAPES = frozenset("\\]")


class PathError(ValueError):
    """A path string that cannot be parsed; ``position`` points at the problem."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        super().__init__(f"invalid path {text!r} at column {position + 1}: {reason}")
        self.text = text
        self.position = position
        self.reason = reason


class PathElem(NamedTuple):
    """One element: a name and its list keys, in the order they were written.

    Paths are hashed and compared in every planner, engine and driver step
    (dict keys, prefix checks); as named tuples that happens in C, not in a
    generated ``__hash__``/``__eq__`` per element.
    """

    name: str
    keys: tuple[tuple[str, str], ...] = ()

    @property
    def key_dict(self) -> dict[str, str]:
        return dict(self.keys)

    def render(self) -> str:
        out = _escape(self.name, _NAME_ESCAPES)
        for k, v in self.keys:
            out += f"[{_escape(k, _KEY_NAME_ESCAPES)}={_escape(v, _VALUE_ESCAPES)}]"
        return out


class GnmiPath(NamedTuple):
    """A structured gNMI path: an optional origin and a tuple of elements (a named tuple, as PathElem)."""

    elems: tuple[PathElem, ...] = ()
    origin: str = ""

    def render(self) -> str:
        body = "/" + "/".join(e.render() for e in self.elems)
        return f"{self.origin}:{body}" if self.origin else body

    def __str__(self) -> str:
        return self.render()

    def child(self, name: str, keys: dict[str, str] | None = None) -> GnmiPath:
        elem = PathElem(name, tuple((keys or {}).items()))
        return GnmiPath((*self.elems, elem), self.origin)

    def without_origin(self) -> GnmiPath:
        return GnmiPath(self.elems)

    def is_prefix_of(self, other: GnmiPath) -> bool:
        """True when ``other`` lies in the subtree at this path (or is this path)."""
        n = len(self.elems)
        return self.origin == other.origin and other.elems[:n] == self.elems


def plain_elem(name: str) -> PathElem:
    """The element ``name`` without keys, shared like every element :func:`parse_path` makes."""
    elem = _plain_elem(name, "")
    assert elem is not None  # no keys, none given twice
    return elem


@functools.lru_cache(maxsize=1 << 14)
def _plain_elem(name: str, key_text: str) -> PathElem | None:
    """One element of an escape-free path (``name`` and its ``[k=v]...`` text), None when a key is
    given twice. Elements are shared: the objects of a large set repeat the same few names and
    the same parent entries (a service's interfaces, SAPs and BGP peers all sit below its
    ``vprn[service-name=...]``), and every object keeps its path. Bounded, so a long-running
    operator holds at most a few MB of them."""
    if not key_text:
        return PathElem(intern(name))
    keys = tuple((intern(k), v) for k, v in _PLAIN_KEYS.findall(key_text))
    if len(keys) > 1 and len({k for k, _ in keys}) != len(keys):
        return None
    return PathElem(intern(name), keys)


def _escape(text: str, specials: frozenset[str]) -> str:
    return "".join("\\" + c if c in specials else c for c in text)


def parse_path(text: str) -> GnmiPath:
    """Parse a gNMI path string; raise :class:`PathError` naming the column at fault."""
    if not isinstance(text, str):
        raise PathError(repr(text), 0, "a path must be a string")
    return _parse_plain(text) or _parse_escaped(text)


def _parse_plain(text: str) -> GnmiPath | None:
    """The path when it has no escapes and no errors (one regex pass); None to leave it to the full parser."""
    origin = ""
    body = text
    if text[:1] != "/":
        m = _ORIGIN.match(text)
        if not m:
            return None
        origin = m.group(1)
        body = text[m.end() - 1:]
    elems = []
    covered = 0
    for name, key_text in _PLAIN_ELEMS.findall(body):
        covered += 1 + len(name) + len(key_text)
        elem = _plain_elem(name, key_text)
        if elem is None:
            return None  # a key given twice: the full parser says where
        elems.append(elem)
    # findall skips what does not match: the elements must cover the text end to end
    if covered != len(body) or not elems:
        return None
    return GnmiPath(tuple(elems), origin)


def _parse_escaped(text: str) -> GnmiPath:
    """The general parser: escapes, and errors that point at the column at fault."""
    origin = ""
    pos = 0
    m = _ORIGIN.match(text)
    if m:
        origin = m.group(1)
        pos = m.end() - 1
    if pos >= len(text) or text[pos] != "/":
        raise PathError(text, pos, "a path must start with '/' (after an optional 'origin:')")
    pos += 1
    elems: list[PathElem] = []
    if pos == len(text):  # the root path "/"
        return GnmiPath((), origin)
    while True:
        name, pos = _read_until(text, pos, "/[", "element name")
        if not name:
            raise PathError(text, pos, "empty element name")
        keys: list[tuple[str, str]] = []
        while pos < len(text) and text[pos] == "[":
            key_start = pos + 1
            key, pos = _read_until(text, key_start, "=]", "key name")
            if not key:
                raise PathError(text, key_start, "empty key name")
            if pos >= len(text) or text[pos] != "=":
                raise PathError(text, pos, f"key {key!r} has no '=value'")
            value, pos = _read_until(text, pos + 1, "]", "key value")
            if pos >= len(text):
                raise PathError(text, pos, f"key {key!r} is not closed with ']'")
            if any(k == key for k, _ in keys):
                raise PathError(text, key_start, f"key {key!r} given twice")
            keys.append((key, value))
            pos += 1  # past ']'
        elems.append(PathElem(name, tuple(keys)))
        if pos == len(text):
            break
        if text[pos] != "/":
            raise PathError(text, pos, f"unexpected {text[pos]!r} after element {name!r}")
        pos += 1
        if pos == len(text):
            raise PathError(text, pos, "trailing '/'")
    return GnmiPath(tuple(elems), origin)


def _read_until(text: str, pos: int, stops: str, what: str) -> tuple[str, int]:
    """Read an escaped token up to (not including) one of ``stops``."""
    out: list[str] = []
    while pos < len(text):
        c = text[pos]
        if c == "\\":
            if pos + 1 >= len(text):
                raise PathError(text, pos, f"dangling escape in {what}")
            out.append(text[pos + 1])
            pos += 2
            continue
        if c in stops:
            break
        if c == "]" or (c == "[" and what != "key value"):
            raise PathError(text, pos, f"unexpected {c!r} in {what}")
        out.append(c)
        pos += 1
    return "".join(out), pos
