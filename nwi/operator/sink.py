"""The operator's StatusSink: statuses go to the status subresource, transitions become Events.

``record`` hands the status to a :class:`~nwi.operator.statuswriter.StatusWriter`
(coalesced, concurrent, transient phases delayed); ``write`` is what its
threads do. ``previous`` answers with the newest status nwi decided: the one
waiting to be written, else the index's (as last observed or written), so an
unchanged status is not patched again: an operator restart over objects
already in sync writes neither the devices nor, beyond the reason, the API.
Turning Ready wakes the object's dependents (``on_ready``): that is the
trigger that replaces polling.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from nwi.model import ConfigObject, ObjectKey
from nwi.operator.index import ObjectIndex
from nwi.operator.kubeapi import Api
from nwi.operator.statuswriter import StatusWriter
from nwi.status import ObjectStatus, Phase, Reason

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"


def transient(status: ObjectStatus) -> bool:
    """A phase on the way to an outcome (in flight, or waiting on a dependency of the same run)."""
    return status.phase in (Phase.APPLYING, Phase.WAITING) or status.reason == Reason.PROGRESSING


class KubeStatusSink:
    def __init__(self, index: ObjectIndex, api: Api, on_ready: Callable[[ObjectKey], None],
                 workers: int = 16, transient_delay: float = 1.0) -> None:
        self.index = index
        self.api = api
        self.on_ready = on_ready
        self.writer = StatusWriter(self.write, workers, transient_delay)
        self._decided: dict[ObjectKey, float] = {}

    def decided_at(self, key: ObjectKey) -> float:
        """Monotonic time a status was last decided for ``key`` (0.0: not by this process)."""
        return self._decided.get(key, 0.0)

    def previous(self, key: ObjectKey) -> ObjectStatus | None:
        pending = self.writer.pending(key)
        return pending if pending is not None else self.index.status(key)

    def forget(self, key: ObjectKey) -> None:
        """The object is gone: drop what is kept for it."""
        self.writer.drop(key)
        self._decided.pop(key, None)

    def record(self, obj: ConfigObject, status: ObjectStatus) -> None:
        # (re-checks of Ready or report-only Drifted objects never come here as Applying: the
        # engine does not record transient phases for them, so their conditions do not flap)
        self.put(obj.key, status)

    def put(self, key: ObjectKey, status: ObjectStatus) -> None:
        """Queue ``status`` for writing, unless it is what the API already holds and nothing newer is queued."""
        self._decided[key] = time.monotonic()
        if self.writer.pending(key) is None:
            entry = self.index.get(key)
            if entry is None or entry.status.to_dict() == status.to_dict():
                return
        self.writer.put(key, status, transient(status))

    def write(self, key: ObjectKey, status: ObjectStatus) -> None:
        """Patch the status if it changed; post an Event for a transition worth one (in a writer thread)."""
        entry = self.index.get(key)
        if entry is None:
            return  # deleted meanwhile: nothing to report on
        before = entry.status
        stored, wanted = before.to_dict(), status.to_dict()
        if stored == wanted:
            return
        version = self.api.patch_status(key, replacing(stored, wanted))
        if version is None:
            return
        self.index.set_status(key, status, version)
        log.info("%s: %s (%s) %s", key, status.phase, status.reason, status.message)
        event = transition_event(before, status)
        if event is not None:
            self.api.post_event(key, entry.uid, *event)
        txn = status.transaction
        if txn is not None and txn.id and txn != before.transaction:  # each device's part, as an Event
            self.api.post_event(key, entry.uid, NORMAL if status.phase == Phase.READY else WARNING, "Transaction",
                                f"{txn.group} ({txn.id}): " + ", ".join(f"{d} {o}" for d, o in txn.devices)
                                + (f"; {txn.note}" if txn.note else ""))
        if status.phase == Phase.READY and before.phase != Phase.READY:
            self.on_ready(key)


def replacing(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``after`` as a merge patch over ``before``: a merge patch keeps what it omits (RFC 7396), so what
    ``before`` has and ``after`` lacks goes as null (a group left, a recovery note or a device of an earlier
    transaction record)."""
    patch = dict(after)
    for key, old in before.items():
        new = after.get(key)
        if key not in after:
            patch[key] = None
        elif isinstance(old, dict) and isinstance(new, dict):
            patch[key] = replacing(old, new)
    return patch


def transition_event(before: ObjectStatus, after: ObjectStatus) -> tuple[str, str, str] | None:
    """(type, reason, message) of the Event for a status change, if it deserves one."""
    changed = (before.phase, before.message) != (after.phase, after.message)
    if after.phase == Phase.READY and after.reason in (Reason.APPLIED, Reason.DRIFT_REPAIRED):
        wrote = (before.reason, before.applied_hash, before.last_applied_time) != (
            after.reason, after.applied_hash, after.last_applied_time)
        return (NORMAL, str(after.reason), after.message) if wrote else None
    if not changed:
        return None
    if after.phase == Phase.FAILED:
        return WARNING, "Failed", f"{after.reason}: {after.message}" if after.reason else after.message
    if after.phase == Phase.DRIFTED:
        return WARNING, "Drifted", after.message
    if after.phase == Phase.BLOCKED:
        return NORMAL, "Blocked", after.message
    if after.phase == Phase.DELETING and after.reason == Reason.REMOVED:
        return NORMAL, "Removed", after.message
    return None
