"""A schema-free configuration tree with gNMI Set semantics.

This is the datastore of the virtual device and of the mock gNMI server, so the
two behave identically. Containers are dicts; lists addressed with keys in a
path (``interface[name=eth0]``) are :class:`KeyedList` nodes whose entries are
found by key; everything else is a leaf (JSON scalar or leaf-list).

Semantics (gNMI specification, section 3.4):

* ``delete`` removes the node at a path; deleting a missing path succeeds.
* ``replace`` makes the node at a path exactly the given value; for a list
  entry, the keys named in the path are kept as leaves of the entry.
* ``update`` merges: containers recursively, keyed lists entry by entry,
  leaves overwrite.

No YANG is needed. Optional *list-key hints* (``{"interface": ("name",)}``)
let a JSON array of objects merge entry by entry before any path has named
its keys.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from typing import Any

from nwi.path import GnmiPath, PathElem

Json = Any


class TreeError(ValueError):
    """An operation the tree cannot carry out (e.g. a path through a leaf)."""


_MISSING = object()


class KeyedList:
    """List entries indexed by their key values (in ``key_names`` order)."""

    __slots__ = ("entries", "key_names")

    def __init__(self, key_names: tuple[str, ...]) -> None:
        self.key_names = key_names
        self.entries: dict[tuple[str, ...], dict[str, Any]] = {}

    def ident(self, keys: Mapping[str, Any]) -> tuple[str, ...]:
        # same test as set(keys) == set(key_names) (key names are unique), without building two sets:
        # this runs for every keyed element of every path the planner and the devices touch
        names = self.key_names
        if len(names) == 1 and len(keys) == 1:  # most lists have one key: skip the generic checks
            value = keys.get(names[0], _MISSING)
            if value is not _MISSING:
                return (value if isinstance(value, str) else _key_text(value),)
        if len(keys) != len(names) or any(k not in keys for k in names):
            raise TreeError(f"list keyed by {list(names)} addressed with keys {sorted(keys)}")
        return tuple(_key_text(keys[k]) for k in names)

    def path_ident(self, keys: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
        """The entry a path element's keys (``PathElem.keys``: strings already) address."""
        names = self.key_names
        if len(names) == 1 and len(keys) == 1 and keys[0][0] == names[0]:
            return (keys[0][1],)
        return self.ident(dict(keys))

    def __deepcopy__(self, memo: dict[int, Any]) -> KeyedList:
        new = KeyedList(self.key_names)
        new.entries = copy.deepcopy(self.entries, memo)
        return new


_SCALARS = (str, int, float, bool, type(None))


def _copied(node: Any) -> Any:
    """A deep copy of a tree node: what ``copy.deepcopy`` makes, several times faster (every commit to
    a virtual device or the mock copies the device's whole tree)."""
    kind = type(node)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else _copied(v) for k, v in node.items()}
    if kind is KeyedList:
        new = KeyedList(node.key_names)
        new.entries = {ident: _copied(entry) for ident, entry in node.entries.items()}
        return new
    if kind is list:
        return [v if type(v) in _SCALARS else _copied(v) for v in node]
    if kind in _SCALARS:
        return node
    return copy.deepcopy(node)


def _key_text(value: Any) -> str:
    """Key values in paths are strings; JSON bodies may carry numbers or bools."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


class Tree:
    """The configuration tree of one device."""

    def __init__(self, root: dict[str, Any] | None = None, list_keys: Mapping[str, tuple[str, ...]] | None = None):
        self.root: dict[str, Any] = root if root is not None else {}
        self.list_keys = dict(list_keys or {})

    # ---- reading -----------------------------------------------------------------
    def get(self, path: GnmiPath) -> Json | None:
        """The JSON value at ``path``, or None when nothing is there."""
        node = self._find(path.elems)
        return None if node is None else to_json(node)

    def find(self, path: GnmiPath) -> Iterator[tuple[GnmiPath, Json]]:
        """All (concrete path, JSON value) matches, with ``*`` allowed in names and key values."""
        yield from self._walk(self.root, path.elems, GnmiPath((), path.origin))

    def _walk(self, node: Any, elems: tuple[PathElem, ...], at: GnmiPath) -> Iterator[tuple[GnmiPath, Json]]:
        if not elems:
            yield at, to_json(node)
            return
        head, rest = elems[0], elems[1:]
        if not isinstance(node, dict):
            return
        names = list(node) if head.name == "*" else [head.name]
        for name in names:
            if name not in node:
                continue
            child = node[name]
            if not head.keys and isinstance(child, KeyedList) and rest:
                # gNMI path conventions: a list element without keys selects every entry, as
                # [key=*] does (a path ending at the list itself still selects the whole list)
                for ident, entry in child.entries.items():
                    yield from self._walk(entry, rest, at.child(name, dict(zip(child.key_names, ident, strict=True))))
                continue
            if not head.keys:
                yield from self._walk(child, rest, at.child(name))
                continue
            child = self._as_keyed(node, name, head.keys, create=False)
            if child is None:
                continue
            want = head.key_dict
            for ident, entry in child.entries.items():
                have = dict(zip(child.key_names, ident, strict=True))
                if set(want) != set(have):
                    continue
                if all(v == "*" or have[k] == v for k, v in want.items()):
                    yield from self._walk(entry, rest, at.child(name, have))

    def selects_many(self, path: GnmiPath) -> bool:
        """True when ``path`` goes through a list element given without keys (so it is a wildcard:
        matching nothing is an empty answer, not a missing node) -- a list this tree holds, or one
        its list-key hints name (whether or not anything is there yet)."""
        node: Any = self.root
        for elem in path.elems[:-1]:
            child = node.get(elem.name) if isinstance(node, dict) else None
            if not elem.keys and (isinstance(child, KeyedList) or elem.name in self.list_keys):
                return True
            if elem.keys and isinstance(child, KeyedList):
                try:
                    child = child.entries.get(child.path_ident(elem.keys))
                except TreeError:
                    child = None
            node = child
        return False

    def _find(self, elems: tuple[PathElem, ...]) -> Any:
        node: Any = self.root
        for elem in elems:
            if not isinstance(node, dict) or elem.name not in node:
                return None
            if elem.keys:
                lst = self._as_keyed(node, elem.name, elem.keys, create=False)
                if lst is None:
                    return None
                node = lst.entries.get(lst.path_ident(elem.keys))
                if node is None:
                    return None
            else:
                node = node[elem.name]
        return node

    # ---- writing -----------------------------------------------------------------
    def delete(self, path: GnmiPath) -> None:
        if not path.elems:
            self.root.clear()
            return
        parent = self._find(path.elems[:-1])
        last = path.elems[-1]
        if not isinstance(parent, dict) or last.name not in parent:
            return  # deleting what is not there succeeds (gNMI 3.4.6)
        if not last.keys:
            del parent[last.name]
            return
        lst = self._as_keyed(parent, last.name, last.keys, create=False)
        if lst is not None:
            lst.entries.pop(lst.path_ident(last.keys), None)

    def replace(self, path: GnmiPath, value: Json) -> None:
        if not path.elems:
            if not isinstance(value, dict):
                raise TreeError("the root can only be replaced by an object")
            self.root = self._from_json(value)
            return
        parent, last = self._parent(path)
        self._place(parent, last, value, merge=False)

    def update(self, path: GnmiPath, value: Json) -> None:
        if not path.elems:
            if not isinstance(value, dict):
                raise TreeError("the root can only be updated with an object")
            self._merge_into(self.root, value)
            return
        parent, last = self._parent(path)
        self._place(parent, last, value, merge=True)

    def _parent(self, path: GnmiPath) -> tuple[dict[str, Any], PathElem]:
        node: dict[str, Any] = self.root
        for elem in path.elems[:-1]:
            node = self._descend(node, elem, path)
        return node, path.elems[-1]

    def _descend(self, node: dict[str, Any], elem: PathElem, path: GnmiPath) -> dict[str, Any]:
        if elem.keys:
            lst = self._as_keyed(node, elem.name, elem.keys, create=True)
            assert lst is not None
            ident = lst.path_ident(elem.keys)
            entry = lst.entries.get(ident)
            if entry is None:
                entry = lst.entries[ident] = dict(zip(lst.key_names, ident, strict=True))
            return entry
        child = node.setdefault(elem.name, {})
        if isinstance(child, KeyedList):
            raise TreeError(f"{path}: {elem.name!r} is a list keyed by {list(child.key_names)}: name the entry")
        if not isinstance(child, dict):
            raise TreeError(f"{path}: {elem.name!r} is a leaf, not a container")
        return child

    def _place(self, parent: dict[str, Any], last: PathElem, value: Json, merge: bool) -> None:
        if last.keys:
            if not isinstance(value, dict):
                raise TreeError(f"list entry {last.render()!r} must be given an object")
            lst = self._as_keyed(parent, last.name, last.keys, create=True)
            assert lst is not None
            ident = lst.path_ident(last.keys)
            keys = dict(zip(lst.key_names, ident, strict=True))
            for k, v in keys.items():
                if k in value and _key_text(value[k]) != v:
                    raise TreeError(f"key {k!r} is {v!r} in the path but {value[k]!r} in the value")
            entry = lst.entries.get(ident)
            if merge and entry is not None:
                self._merge_into(entry, value)
            else:
                new = self._from_json(value)
                for k, v in keys.items():
                    new.setdefault(k, v)
                lst.entries[ident] = new
            return
        if merge and isinstance(parent.get(last.name), (dict, KeyedList)):
            self._merge_value(parent, last.name, value)
        else:
            parent[last.name] = self._from_json(value, last.name)

    def _merge_into(self, node: dict[str, Any], value: dict[str, Any]) -> None:
        for k, v in value.items():
            self._merge_value(node, k, v)

    def _merge_value(self, node: dict[str, Any], name: str, value: Json) -> None:
        current = node.get(name)
        if isinstance(current, dict) and isinstance(value, dict):
            self._merge_into(current, value)
        elif isinstance(current, KeyedList) and _is_object_list(value):
            for item in value:
                ident = _entry_ident(current, item, name)
                entry = current.entries.get(ident)
                if entry is None:
                    current.entries[ident] = self._from_json(item)
                else:
                    self._merge_into(entry, item)
        else:
            node[name] = self._from_json(value, name)

    def _as_keyed(
        self, node: dict[str, Any], name: str, keys: tuple[tuple[str, str], ...], create: bool
    ) -> KeyedList | None:
        """The keyed list at ``node[name]`` (addressed with a path element's ``keys``), converting a
        plain JSON list of objects."""
        current = node.get(name)
        if isinstance(current, KeyedList):
            return current
        key_names = tuple(k for k, _ in keys)
        if current is None:
            if not create:
                return None
            lst = KeyedList(tuple(sorted(key_names)))
            node[name] = lst
            return lst
        if _is_object_list(current) and all(all(k in e for k in key_names) for e in current):
            lst = KeyedList(tuple(sorted(key_names)))
            for e in current:
                lst.entries[lst.ident({k: e[k] for k in key_names})] = e
            node[name] = lst
            return lst
        raise TreeError(f"{name!r} is not a list keyed by {list(key_names)}")

    def _from_json(self, value: Json, name: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self._from_json(v, k) for k, v in value.items()}
        if name is not None and name in self.list_keys and _is_object_list(value):
            lst = KeyedList(tuple(sorted(self.list_keys[name])))
            for item in value:
                lst.entries[_entry_ident(lst, item, name)] = self._from_json(item)
            return lst
        return _copy_leaf(value)

    # ---- whole-tree helpers --------------------------------------------------------
    @classmethod
    def of_subtrees(cls, subtrees: Mapping[GnmiPath, Json]) -> Tree:
        """A tree holding each value read at its path (None: nothing there), outer paths placed
        first so that a nested path's value lands inside its ancestor's."""
        tree = cls()
        for path, value in sorted(subtrees.items(), key=lambda kv: len(kv[0].elems)):
            if value is not None:
                tree.replace(path, value)
        return tree

    def copy(self) -> Tree:
        return Tree(_copied(self.root), self.list_keys)

    def to_json(self) -> dict[str, Any]:
        result = to_json(self.root)
        assert isinstance(result, dict)
        return result

    def dump(self) -> Json:
        """A JSON document that :meth:`load` turns back into the same tree, list keys included."""
        return _dump(self.root)

    @classmethod
    def load(cls, doc: Json, list_keys: Mapping[str, tuple[str, ...]] | None = None) -> Tree:
        root = _load(doc)
        if not isinstance(root, dict):
            raise TreeError("a stored tree must be an object")
        return cls(root, list_keys)


def _entry_ident(lst: KeyedList, item: dict[str, Any], name: str) -> tuple[str, ...]:
    """The identity of a list entry given as a JSON object, which must hold every key."""
    missing = [k for k in lst.key_names if k not in item]
    if missing:
        raise TreeError(f"an entry of list {name!r} has no key {', '.join(map(repr, missing))}")
    return lst.ident({k: item[k] for k in lst.key_names})


def _is_object_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(e, dict) for e in value)


def to_json(node: Any) -> Json:
    if isinstance(node, dict):
        return {k: to_json(v) for k, v in node.items()}
    if isinstance(node, KeyedList):
        return [to_json(e) for e in node.entries.values()]
    return _copy_leaf(node)


_SCALARS = (str, int, float, bool, type(None))


def _copy_leaf(value: Any) -> Any:
    """A leaf the caller may keep: scalars are immutable (deepcopy would return them as they are, slowly)."""
    return value if isinstance(value, _SCALARS) else copy.deepcopy(value)


_LIST_TAG = "@keyed-list"


def _dump(node: Any) -> Json:
    if isinstance(node, dict):
        return {k: _dump(v) for k, v in node.items()}
    if isinstance(node, KeyedList):
        return {_LIST_TAG: list(node.key_names), "entries": [_dump(e) for e in node.entries.values()]}
    return node


def _load(doc: Json) -> Any:
    if isinstance(doc, dict):
        if _LIST_TAG in doc:
            lst = KeyedList(tuple(doc[_LIST_TAG]))
            for e in doc["entries"]:
                entry = _load(e)
                lst.entries[lst.ident({k: entry[k] for k in lst.key_names})] = entry
            return lst
        return {k: _load(v) for k, v in doc.items()}
    return doc
