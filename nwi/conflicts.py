"""Objects that claim the same device state.

Two objects writing the same path on one device would overwrite each other on
every run (last writer wins, then the other repairs its "drift"). The same goes
for an object that replaces or deletes a subtree in which another object
writes. nwi refuses both: every object involved turns Failed with reason
``PathConflict`` naming the others, and nothing of theirs is applied.
Nested paths are fine when the outer object merges (a VPRN and its interfaces).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from nwi.model import ConfigObject, ObjectKey
from nwi.path import GnmiPath


def find_conflicts(objects: Sequence[ConfigObject], device_of: Mapping[ObjectKey, str]) -> dict[ObjectKey, str]:
    """Map each conflicting object to a message naming what it conflicts with."""
    at: dict[tuple[str, GnmiPath], list[ConfigObject]] = defaultdict(list)
    for obj in objects:
        at[(device_of[obj.key], obj.device_path.without_origin())].append(obj)
    clashes: dict[ObjectKey, set[ObjectKey]] = defaultdict(set)
    for claimants in at.values():
        if len(claimants) > 1:
            for o in claimants:
                clashes[o.key].update(c.key for c in claimants if c.key != o.key)
    # only a replace or delete can enclose another object's path in conflict: look for enclosing
    # paths only on devices that have one (a repository of merges costs one pass, not one per depth)
    enclosing: dict[str, set[GnmiPath]] = defaultdict(set)
    for (device, path), claimants in at.items():
        if any(c.spec.operation != "merge" for c in claimants):
            enclosing[device].add(path)
    for obj in objects:
        device = device_of[obj.key]
        outers = enclosing.get(device)
        if not outers:
            continue
        path = obj.device_path.without_origin()
        for depth in range(len(path.elems)):
            prefix = GnmiPath(path.elems[:depth])
            if prefix not in outers:
                continue
            for outer in at[(device, prefix)]:
                if outer.spec.operation != "merge":
                    clashes[obj.key].add(outer.key)
                    clashes[outer.key].add(obj.key)
    by_key = {o.key: o for o in objects}
    return {
        key: "conflicting claim on the device: " + "; ".join(
            f"{other.short(key)} {by_key[other].spec.operation}s {by_key[other].device_path}"
            for other in sorted(others))
        + f" (this object {by_key[key].spec.operation}s {by_key[key].device_path})"
        for key, others in clashes.items()
    }
