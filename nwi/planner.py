"""The planner: desired objects + current device state -> per-device transactions with diffs.

The expected result of each change is computed by applying it to a scratch
:class:`~nwi.tree.Tree` holding the device's current subtree, so the planner
predicts exactly what the virtual device and the mock gNMI server do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonpatch

from nwi.drivers.base import Change, Op, Transaction
from nwi.drivers.virtual import apply_change
from nwi.kinds import CONFIG_KINDS
from nwi.model import ConfigObject, ObjectKey
from nwi.path import GnmiPath
from nwi.tree import Tree, TreeError

_OPS = {"merge": Op.UPDATE, "replace": Op.REPLACE, "delete": Op.DELETE}


@dataclass(slots=True)  # one per object planned: no per-instance __dict__
class ObjectPlan:
    """What one object needs on its device."""

    key: ObjectKey
    device: str
    path: GnmiPath
    before: Any
    after: Any
    change: Change | None  # None: already in sync
    error: str = ""  # the change cannot be applied to the current tree

    @property
    def in_sync(self) -> bool:
        return self.change is None and not self.error

    def diff(self) -> list[str]:
        """Human-readable diff lines (JSON Patch between before and after)."""
        return render_diff(self.before, self.after)


@dataclass(slots=True)
class DeviceBatch:
    """One transaction for one device and the objects it serves."""

    device: str
    objects: list[ObjectPlan] = field(default_factory=list)

    @property
    def transaction(self) -> Transaction:
        return Transaction(self.device, [p.change for p in self.objects if p.change is not None])


def expected_after(op: str, path: GnmiPath, before: Any, properties: Mapping[str, Any]) -> Any:
    """The subtree at ``path`` after applying the object's operation to ``before``."""
    if before is None:  # the common first-apply case, without a scratch tree (same result)
        return None if op == "delete" else _with_path_keys(path, properties)
    scratch = Tree()
    scratch.replace(path, before)
    if op == "delete":
        scratch.delete(path)
    elif op == "replace":
        scratch.replace(path, dict(properties))
    else:
        scratch.update(path, dict(properties))
    return scratch.get(path)


def _with_path_keys(path: GnmiPath, properties: Mapping[str, Any]) -> dict[str, Any]:
    """What a list entry holds when created from ``properties``: its keys from the path, as leaves."""
    after = dict(properties)  # a shallow copy is enough: only top-level key leaves are added
    for k, v in path.elems[-1].keys if path.elems else ():
        if k in after and _scalar_text(after[k]) != v:
            raise TreeError(f"key {k!r} is {v!r} in the path but {after[k]!r} in the value")
        after.setdefault(k, v)
    return after


#: a value at a path as it compares on a device with models (``nwi.drivers.base.Driver.typed``)
Typed = Callable[[GnmiPath, Any], Any]


def plan_object(obj: ConfigObject, device: str, before: Any, typed: Typed | None = None) -> ObjectPlan:
    path = obj.device_path
    op = obj.spec.operation
    kind = CONFIG_KINDS[obj.key.kind]
    compare_op = "merge" if op == "replace" and kind.device_fills_defaults else op
    try:
        # the spec's own dict, not a copy: canonical() and expected_after() only read it
        after = expected_after(compare_op, path, before, kind.canonical(path, obj.spec.properties or {}))
    except TreeError as exc:
        return ObjectPlan(obj.key, device, path, before, None, None, error=str(exc))
    if same_config(before, after) or (
        typed is not None and before is not None and after is not None
        and same_config(typed(path, before), typed(path, after))  # e.g. "1.50" read for the 1.5 written
    ):
        return ObjectPlan(obj.key, device, path, before, after, None)
    value = None if op == "delete" else obj.properties
    change = Change(_OPS[op], path, value, owner=str(obj.key), kind=obj.key.kind)
    return ObjectPlan(obj.key, device, path, before, after, change)


def plan_removal(obj: ConfigObject, device: str, before: Any) -> ObjectPlan:
    """Removing an object's config from its device (nothing to remove for a ``delete`` object)."""
    path = obj.device_path
    if obj.spec.operation == "delete" or before is None:
        return ObjectPlan(obj.key, device, path, before, before if obj.spec.operation == "delete" else None, None)
    change = Change(Op.DELETE, path, None, owner=str(obj.key), kind=obj.key.kind)
    return ObjectPlan(obj.key, device, path, before, None, change)


def plan_batch(
    objects: Sequence[ConfigObject], device: str, current: Callable[[GnmiPath], Any], removal: bool = False,
    typed: Typed | None = None,
) -> DeviceBatch:
    """One batch: each object's plan against ``current(path)``, the device's subtree at its path;
    ``typed``: how the device's values compare (its models), if it has any."""
    if removal:
        return DeviceBatch(device, [plan_removal(o, device, current(o.device_path)) for o in objects])
    return DeviceBatch(device, [plan_object(o, device, current(o.device_path), typed) for o in objects])


def same_config(a: Any, b: Any) -> bool:
    """Equality as a device reports it: numbers and their JSON_IETF string forms are the same value."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_config(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_config(x, y) for x, y in zip(a, b, strict=True))
    if a == b:
        return True
    return _scalar_text(a) is not None and _scalar_text(a) == _scalar_text(b)


def _scalar_text(v: Any) -> str | None:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    return None


def render_diff(before: Any, after: Any) -> list[str]:
    if before is None and after is None:
        return []
    if before is None or after is None or not isinstance(before, dict) or not isinstance(after, dict):
        lines = []
        if before is not None:
            lines.append(f"- {_short(before)}")
        if after is not None:
            lines.append(f"+ {_short(after)}")
        return lines
    out = []
    for op in jsonpatch.make_patch(before, after).patch:
        where = op["path"] or "/"
        if op["op"] == "add":
            out.append(f"+ {where}: {_short(op['value'])}")
        elif op["op"] == "remove":
            out.append(f"- {where}")
        elif op["op"] == "replace":
            old = jsonpatch.JsonPointer(op["path"]).resolve(before)
            out.append(f"~ {where}: {_short(old)} -> {_short(op['value'])}")
        else:  # move/copy: jsonpatch optimisations, shown as what they are
            out.append(f"~ {op['op']} {op.get('from')} -> {where}")
    return out


def _short(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def simulate_waves(
    objects: Sequence[ConfigObject],
    waves: Sequence[int | None],
    devices: Sequence[str],
    read: Mapping[str, Mapping[GnmiPath, Any]],
    removal: bool = False,
    typed: Mapping[str, Typed] | None = None,
) -> list[list[DeviceBatch]]:
    """Plan every wave against a scratch copy of each device, updated as earlier waves would change it.

    ``waves[i]`` is ``objects[i]``'s wave (None: not planned, e.g. behind a
    cycle) and ``devices[i]`` its device, as
    :meth:`~nwi.graph.DependencyGraph.wave_numbers` gives them. ``read``
    holds, per device, the current subtree at every path the objects use;
    ``typed``, per device with models, how its values compare.
    Returns the batches of each wave, one per device, in device order.
    """
    count = max((n for n in waves if n is not None), default=-1) + 1
    # device by device, all its waves in turn: one device's scratch tree stays in the CPU's caches
    # while it is worked on; the objects are sorted out in their own order, the order they were
    # loaded and lie in memory in (going wave by wave over 100k objects jumped all over it)
    per_device: dict[str, list[list[ConfigObject]]] = {}
    for obj, n, device in zip(objects, waves, devices, strict=True):
        if n is None:
            continue
        lists = per_device.get(device)
        if lists is None:
            lists = per_device[device] = [[] for _ in range(count)]
        lists[n].append(obj)
    out: list[list[DeviceBatch]] = [[] for _ in range(count)]
    for device, lists in sorted(per_device.items()):
        t = Tree.of_subtrees(read[device]) if device in read else Tree()
        for n, objs in enumerate(lists):
            if not objs:
                continue
            # every object of the batch sees the tree as it was before the batch (plans first, then changes)
            batch = plan_batch(objs, device, t.get, removal, (typed or {}).get(device))
            for p in batch.objects:
                if p.change is not None:
                    try:
                        apply_change(t, p.change)
                    except TreeError as exc:
                        p.error = str(exc)
            out[n].append(batch)
    return out
