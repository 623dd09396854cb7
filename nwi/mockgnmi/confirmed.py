"""The gNMI Commit Confirmed extension on the mock server (openconfig/reference
``rpc/gnmi/gnmi-commit-confirmed.md``, version 0.1.0).

A target is a singleton resource: at most one commit is on-going. A SetRequest
carrying ``Commit``:

* ``commit``: applies the Set as usual and starts the rollback timer
  (``rollback_duration``, 10 minutes when absent); FAILED_PRECONDITION while
  another commit is on-going;
* ``confirm`` / ``cancel``: ends the on-going commit, keeping or reverting
  it; FAILED_PRECONDITION when none is on-going, INVALID_ARGUMENT when the id
  is not the on-going commit's;
* ``set_rollback_duration``: restarts the timer with a new duration
  (INVALID_ARGUMENT when it is absent or 0), same precondition and id rules;
* no id: INVALID_ARGUMENT, whatever the action.

A SetRequest *without* the extension while a commit is on-going is refused
with FAILED_PRECONDITION. When the timer runs out, the target's configuration
is put back as it was before the commit. The confirm, cancel and
set-rollback-duration actions carry no operations of their own: a request
with both is INVALID_ARGUMENT (the document is silent; refusing is the
cautious reading).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import grpc
from pygnmi.spec.v080 import gnmi_pb2

from nwi.drivers import gnmi_commit
from nwi.drivers.base import Change, Op, Transaction
from nwi.mockgnmi.target import Target
from nwi.path import GnmiPath, PathElem
from nwi.tree import Tree

log = logging.getLogger(__name__)

DEFAULT_ROLLBACK = 600.0  # seconds: "a default 10 minutes duration"


class _Rpc(Protocol):
    def abort(self, code: grpc.StatusCode, message: str) -> NoReturn: ...


@dataclass
class _OnGoing:
    id: str
    before: Tree
    deadline: float
    timer: threading.Timer


class CommitConfirmed:
    """The extension's state: the on-going commit of each target.

    One instance serves every listener (:data:`COMMITS`): a listener restarted
    after a dropped connection gets a new service, and the target's on-going
    commit must outlive that, as it outlives a client's session on a device.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ongoing: weakref.WeakKeyDictionary[Target, _OnGoing] = weakref.WeakKeyDictionary()
        self._disabled: weakref.WeakSet[Target] = weakref.WeakSet()
        #: what became of each commit id, per target name (for tests and the devices file's operators)
        self.outcomes: dict[tuple[str, str], str] = {}

    def disable(self, target: Target, disabled: bool = True) -> None:
        """Make ``target`` behave as a device without the extension: it ignores it (tests, demos)."""
        with self._lock:
            (self._disabled.add if disabled else self._disabled.discard)(target)

    def set(self, rpc: _Rpc, target: Target, request: Any, apply: Callable[[], Any]) -> Any:
        """Handle a SetRequest on ``target``: the extension's actions here, the Set itself through ``apply``."""
        commit = None if target in self._disabled else gnmi_commit.commit_of(request.extension)
        if commit is not None and commit.WhichOneof("action") == "commit":
            return self._commit(rpc, target, commit, apply)
        with self._lock:
            ongoing = self._ongoing.get(target)
            if commit is None:
                if ongoing is not None:
                    rpc.abort(grpc.StatusCode.FAILED_PRECONDITION,
                              f"commit {ongoing.id!r} is waiting for confirmation on target {target.name!r}: "
                              "confirm or cancel it first")
            else:
                return self._act(rpc, target, commit, request, ongoing)
        return apply()  # outside the lock: the targets' Sets do not wait for each other

    def _commit(self, rpc: _Rpc, target: Target, commit: Any, apply: Callable[[], Any]) -> Any:
        if not commit.id:
            rpc.abort(grpc.StatusCode.INVALID_ARGUMENT, "commit confirmed: the commit id is required")
        has = commit.commit.HasField("rollback_duration")
        duration = gnmi_commit.duration_seconds(commit.commit.rollback_duration) if has else DEFAULT_ROLLBACK
        if duration <= 0:
            rpc.abort(grpc.StatusCode.INVALID_ARGUMENT, "commit confirmed: rollback_duration must be > 0")
        with self._lock:
            ongoing = self._ongoing.get(target)
            if ongoing is not None:
                rpc.abort(grpc.StatusCode.FAILED_PRECONDITION,
                          f"commit {ongoing.id!r} is on-going on target {target.name!r}")
            # reserved: from here on, other commits and plain Sets are refused
            reserved = self._ongoing[target] = _OnGoing(commit.id, target.config().copy(), 0.0, _timer(0, _nothing))
        try:
            response = apply()  # aborts (nothing applied, no timer) when the Set fails
        except BaseException:
            with self._lock:
                if self._ongoing.get(target) is reserved:
                    del self._ongoing[target]
            raise
        with self._lock:
            self._start(target, reserved, duration)
            self.outcomes[(target.name, commit.id)] = "Pending"
        return response

    def _act(self, rpc: _Rpc, target: Target, commit: Any, request: Any, ongoing: _OnGoing | None) -> Any:
        """confirm, cancel, set_rollback_duration (the lock is held)."""
        action = commit.WhichOneof("action")
        if not commit.id:
            rpc.abort(grpc.StatusCode.INVALID_ARGUMENT, "commit confirmed: the commit id is required")
        if action is None:
            rpc.abort(grpc.StatusCode.INVALID_ARGUMENT, "commit confirmed: no action given")
        if request.delete or request.replace or request.update:
            rpc.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      f"commit confirmed: a {action} action carries no operations")
        if ongoing is None:
            rpc.abort(grpc.StatusCode.FAILED_PRECONDITION,
                      f"no commit is waiting for confirmation on target {target.name!r}")
        if commit.id != ongoing.id:
            rpc.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      f"commit id {commit.id!r} is not the on-going commit's")
        if not ongoing.deadline:  # its Set is still being applied: nothing to confirm or cancel yet
            rpc.abort(grpc.StatusCode.FAILED_PRECONDITION,
                      f"commit {ongoing.id!r} is still being applied on target {target.name!r}")
        if action == "confirm":
            self._end(target, ongoing, "Confirmed")
        elif action == "cancel":
            self._revert(target, ongoing, "Reverted")
        else:
            has = commit.set_rollback_duration.HasField("rollback_duration")
            duration = gnmi_commit.duration_seconds(commit.set_rollback_duration.rollback_duration) if has else 0
            if duration <= 0:
                rpc.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          "set_rollback_duration: rollback_duration must be given and > 0")
            ongoing.timer.cancel()
            self._start(target, ongoing, duration)
        return gnmi_pb2.SetResponse(timestamp=time.time_ns())

    def ongoing(self, target: Target) -> str | None:
        with self._lock:
            found = self._ongoing.get(target)
            return found.id if found else None

    def remaining(self, target: Target) -> float | None:
        """Seconds until the on-going commit reverts (None when none is on-going): tests see a timer move."""
        with self._lock:
            found = self._ongoing.get(target)
            return None if found is None or not found.deadline else found.deadline - time.monotonic()

    def stop(self) -> None:
        """Cancel every timer (the server stops; what is on-going stays as it is)."""
        with self._lock:
            for ongoing in self._ongoing.values():
                ongoing.timer.cancel()

    # ---- with the lock held -----------------------------------------------------------------
    def _start(self, target: Target, ongoing: _OnGoing, duration: float) -> None:
        ongoing.deadline = time.monotonic() + duration
        ongoing.timer = _timer(duration, lambda: self._expire(target, ongoing))
        self._ongoing[target] = ongoing
        ongoing.timer.start()

    def _end(self, target: Target, ongoing: _OnGoing, outcome: str) -> None:
        ongoing.timer.cancel()
        self._ongoing.pop(target, None)
        self.outcomes[(target.name, ongoing.id)] = outcome

    def _revert(self, target: Target, ongoing: _OnGoing, outcome: str) -> None:
        self._end(target, ongoing, outcome)
        target.commit(lambda now: restore(target.name, now, ongoing.before))
        log.info("target %s: commit %s reverted (%s)", target.name, ongoing.id, outcome)

    def _expire(self, target: Target, ongoing: _OnGoing) -> None:
        with self._lock:
            if self._ongoing.get(target) is ongoing:
                self._revert(target, ongoing, "Reverted")


COMMITS = CommitConfirmed()


def _nothing() -> None:
    pass


def _timer(seconds: float, action: Callable[[], None]) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.daemon = True  # a server that stops does not wait for rollback timers
    return timer


def restore(device: str, now: Tree, before: Tree) -> Transaction:
    """The transaction that turns ``now`` back into ``before``: every top-level node replaced or deleted."""
    old = before.to_json()
    changes = [Change(Op.DELETE, GnmiPath((PathElem(name),))) for name in now.to_json() if name not in old]
    changes += [Change(Op.REPLACE, GnmiPath((PathElem(name),)), value) for name, value in old.items()]
    return Transaction(device, changes)
