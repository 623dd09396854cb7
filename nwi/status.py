"""Status of a config object, in the shape the CRD's status subresource has.

Conditions follow the kstatus convention (``Ready`` with ``observedGeneration``)
so Flux and Argo CD health checks understand them. The four conditions are
always derived from one :class:`Outcome`, so they cannot contradict the phase.
"""

from __future__ import annotations

import enum
import functools
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class Phase(enum.StrEnum):
    PENDING = "Pending"
    WAITING = "Waiting"
    APPLYING = "Applying"
    READY = "Ready"
    FAILED = "Failed"
    DRIFTED = "Drifted"
    DELETING = "Deleting"
    BLOCKED = "Blocked"


class Reason(enum.StrEnum):
    APPLIED = "Applied"
    IN_SYNC = "InSync"
    DRIFT_REPAIRED = "DriftRepaired"
    DRIFT_REPORTED = "DriftDetected"
    DEPENDENCY_CYCLE = "DependencyCycle"
    DEPENDENCY_NOT_FOUND = "DependencyNotFound"
    DEPENDENCIES_NOT_READY = "DependenciesNotReady"
    DEPENDENCY_FAILED = "DependencyFailed"
    HAS_DEPENDENTS = "HasDependents"
    PROGRESSING = "Progressing"
    INVALID = "InvalidSpec"
    PATH_CONFLICT = "PathConflict"
    DEVICE_NOT_FOUND = "DeviceNotFound"
    CREDENTIALS_NOT_FOUND = "CredentialsNotFound"
    DEVICE_UNREACHABLE = "DeviceUnreachable"
    AUTHENTICATION_FAILED = "AuthenticationFailed"
    TRANSACTION_REJECTED = "TransactionRejected"
    DEVICE_ERROR = "DeviceError"
    REMOVED = "Removed"
    # network-wide transactions (nwi.transaction)
    TRANSACTION_ABORTED = "TransactionAborted"  # another device of the transaction failed: nothing stays anywhere
    TRANSACTION_INCOMPLETE = "TransactionIncomplete"  # not every declared member exists yet: the group waits
    TRANSACTION_CYCLE = "TransactionCycle"  # an object outside the group both needs and is needed by it
    CONFIRMED_COMMIT_UNSUPPORTED = "ConfirmedCommitUnsupported"
    TRANSACTION_IN_DOUBT = "TransactionInDoubt"  # confirm failed after the decision: the device may revert
    UNKNOWN = "Unknown"  # written ahead of a transaction: the device may or may not hold it
    INTERRUPTED = "Interrupted"
    STATE_NOT_RECORDED = "StateNotRecorded"



def reason_of_driver_error(error_reason: str) -> Reason:
    """The status reason for a driver error: each DriverError names its Reason; anything else is DeviceError."""
    try:
        return Reason(error_reason)
    except ValueError:
        return Reason.DEVICE_ERROR


_stamp: tuple[int, str] = (0, "")


def now() -> str:
    """RFC 3339 UTC, to the second (as Kubernetes writes times); formatted once per second."""
    global _stamp
    second = int(time.time())
    if _stamp[0] != second:
        _stamp = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _stamp[1]


#: a device's part in a network-wide transaction when it held the group's changes already
DEVICE_IN_SYNC = "InSync"


@dataclass(frozen=True)
class TransactionInfo:
    """Which network-wide transaction applied an object, and how each of its devices came out.

    ``devices`` pairs a device with its outcome: Confirmed, InSync (nothing to
    write there), Reverted (prepared, then cancelled), Refused, Failed,
    NotPrepared (never reached), InDoubt (the confirm did not get through).
    """

    group: str
    id: str
    devices: tuple[tuple[str, str], ...] = ()
    note: str = ""  # e.g. what a recovery found of an interrupted earlier attempt

    @property
    def sent_nothing(self) -> bool:
        """Every device was in sync and nothing was recovered: a re-check, not a transaction."""
        return bool(self.devices) and not self.note and all(o == DEVICE_IN_SYNC for _, o in self.devices)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.group, "id": self.id, "devices": dict(self.devices)}
        if self.note:
            d["note"] = self.note
        return d

    @classmethod
    def from_dict(cls, d: Any) -> TransactionInfo | None:
        if not isinstance(d, dict) or not d.get("name"):
            return None
        devices = d.get("devices") or {}
        return cls(str(d["name"]), str(d.get("id", "")), tuple((str(k), str(v)) for k, v in devices.items()),
                   str(d.get("note", "")))

    def summary(self) -> str:
        """One line for a table column: ``name/id pe1=Confirmed,pe2=Confirmed``."""
        return f"{self.group}/{self.id} " + ",".join(f"{d.rsplit('/', 1)[-1]}={o}" for d, o in self.devices)


#: an outcome's ``transaction`` for an object no longer in the group its status names: the status forgets it
#: (None, by contrast, keeps what the status says: most outcomes do not concern the transaction)
NO_TRANSACTION = TransactionInfo("", "")


def _transaction_after(outcome_txn: TransactionInfo | None, prev: TransactionInfo | None) -> TransactionInfo | None:
    if outcome_txn is None:
        return prev
    if outcome_txn.sent_nothing and prev is not None and prev.group == outcome_txn.group:
        return prev  # the record stays that of the transaction that put the devices where they are
    return None if outcome_txn == NO_TRANSACTION else outcome_txn


@dataclass(frozen=True)
class Outcome:
    """What happened to one object, from which its whole status follows."""

    phase: Phase
    reason: Reason
    message: str = ""
    waiting_on: tuple[str, ...] = ()
    applied_hash: str | None = None  # set when the device holds the desired state
    wrote: bool = False  # a write went to the device for this object
    transaction: TransactionInfo | None = None  # the network-wide transaction it was part of


@dataclass(frozen=True, slots=True)  # four per object, 100k objects in an operator: no instance dicts
class Condition:
    type: str
    status: str
    reason: str
    message: str = ""
    last_transition_time: str = field(default_factory=now)
    observed_generation: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "lastTransitionTime": self.last_transition_time,
        }
        if self.observed_generation is not None:
            d["observedGeneration"] = self.observed_generation
        return d


@dataclass(slots=True)  # one per object
class ObjectStatus:
    phase: Phase = Phase.PENDING
    reason: str = ""
    message: str = ""
    conditions: tuple[Condition, ...] = ()
    observed_generation: int | None = None
    applied_hash: str | None = None
    waiting_on: list[str] = field(default_factory=list)
    device: str = ""
    last_applied_time: str | None = None
    transaction: TransactionInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        # every field present, empty or not: the operator's merge patch turns empty ones into
        # deletions (nwi.operator.kubeapi.without_empty), which an omitted key would not be
        return self._fields({"conditions": [c.to_dict() for c in self.conditions]})

    def to_stored(self) -> dict[str, Any]:
        """:meth:`to_dict` for the CLI's state file: conditions that :func:`derive_status` made are
        kept as their transition times alone (``since``), since the rest follows from phase,
        reason, message and generation; :meth:`from_dict` rebuilds them. A third of the bytes."""
        since = [c.last_transition_time for c in self.conditions]
        if len(since) == len(_CONDITION_TYPES) and self.conditions == _conditions(
                _wanted(self.phase, self.reason), self.message, tuple(since), self.observed_generation):
            return self._fields({"since": since})
        return self.to_dict()

    def _fields(self, conditions: dict[str, Any]) -> dict[str, Any]:
        d: dict[str, Any] = {
            "phase": str(self.phase),
            "reason": self.reason,
            "message": self.message,
            **conditions,
            "waitingOn": list(self.waiting_on),
            "device": self.device,
        }
        if self.observed_generation is not None:
            d["observedGeneration"] = self.observed_generation
        if self.applied_hash:
            d["appliedHash"] = self.applied_hash
        if self.last_applied_time:
            d["lastAppliedTime"] = self.last_applied_time
        if self.transaction is not None:
            d["transaction"] = self.transaction.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ObjectStatus:
        if not d:
            return cls()
        # the operator reads every object's status from the API: its strings repeat from object to object
        # (condition types, reasons, messages, timestamps to the second), so they are interned
        conds = tuple(
            Condition(
                _interned(c.get("type", "")),
                _interned(c.get("status", "Unknown")),
                _interned(c.get("reason", "")),
                _interned(c.get("message", "")),
                _interned(c.get("lastTransitionTime", "")),
                c.get("observedGeneration"),
            )
            for c in d.get("conditions") or []
        )
        try:
            phase = Phase(d.get("phase", "Pending"))
        except ValueError:
            phase = Phase.PENDING
        since = d.get("since")
        if isinstance(since, list) and len(since) == len(_CONDITION_TYPES) and not conds:  # see to_stored()
            conds = _conditions(_wanted(phase, d.get("reason", "")), d.get("message", ""), tuple(since),
                                d.get("observedGeneration"))
        elif len(conds) == len(_CONDITION_TYPES):
            # the conditions derive_status makes: the tuple it shares between statuses of one outcome
            derived = _conditions(_wanted(phase, d.get("reason", "")), d.get("message", ""),
                                  tuple(c.last_transition_time for c in conds), d.get("observedGeneration"))
            conds = derived if derived == conds else conds
        return cls(
            phase=phase,
            reason=_interned(d.get("reason", "")),
            message=_interned(d.get("message", "")),
            conditions=conds,
            observed_generation=d.get("observedGeneration"),
            applied_hash=d.get("appliedHash"),
            waiting_on=list(d.get("waitingOn") or []),
            device=_interned(d.get("device", "")),
            last_applied_time=_interned(d.get("lastAppliedTime")),
            transaction=TransactionInfo.from_dict(d.get("transaction")),
        )


_WAITING_REASONS = {
    Reason.DEPENDENCY_NOT_FOUND,
    Reason.DEPENDENCIES_NOT_READY,
    Reason.DEPENDENCY_FAILED,
    Reason.DEPENDENCY_CYCLE,
}


_READY_REASONS = {Reason.APPLIED, Reason.IN_SYNC, Reason.DRIFT_REPAIRED}


def _same_outcome(outcome: Outcome, prev: ObjectStatus, generation: int | None, device: str) -> bool:
    # "still in sync" confirms a Ready status as it stands (it keeps saying how it got there)
    confirmed = outcome.reason == Reason.IN_SYNC and prev.phase == Phase.READY and prev.reason in _READY_REASONS
    return (
        not outcome.wrote
        and outcome.phase == prev.phase
        and (confirmed or (outcome.reason == prev.reason and outcome.message == prev.message))
        and list(outcome.waiting_on) == prev.waiting_on
        and (outcome.applied_hash is None or outcome.applied_hash == prev.applied_hash)
        and generation == prev.observed_generation
        and device == prev.device
        and len(prev.conditions) == 4
        and _transaction_after(outcome.transaction, prev.transaction) == prev.transaction
    )


_CONDITION_TYPES = ("Ready", "DependenciesReady", "Applied", "InSync")


def _interned(value: Any) -> Any:
    """``value`` as the one shared copy of that string (anything else as it is)."""
    return sys.intern(value) if type(value) is str else value


@functools.lru_cache(maxsize=256)
def _wanted(phase: Phase, reason: str) -> tuple[tuple[str, bool, str], ...]:
    """Each condition's type, truth and reason for an outcome's phase and reason."""
    ready = phase == Phase.READY
    deps_ok = reason not in _WAITING_REASONS and phase != Phase.WAITING
    if phase == Phase.DRIFTED:
        in_sync, sync_reason = False, reason
    elif ready:
        in_sync, sync_reason = True, Reason.IN_SYNC
    else:
        in_sync, sync_reason = False, reason
    applied = ready or phase == Phase.DRIFTED
    return tuple(zip(_CONDITION_TYPES, (ready, deps_ok, applied, in_sync), (
        str(reason), str(Reason.IN_SYNC if deps_ok else reason), str(Reason.APPLIED if applied else reason),
        str(sync_reason)), strict=True))


@functools.lru_cache(maxsize=4096)
def _conditions(
    wanted: tuple[tuple[str, bool, str], ...], message: str, since: tuple[str, ...], generation: int | None
) -> tuple[Condition, ...]:
    """The conditions, shared by every status that has the same ones (10k objects applied in the
    same second share one tuple: frozen, so sharing is safe)."""
    return tuple(Condition(type_, "True" if ok else "False", str(reason), message, t, generation)
                 for (type_, ok, reason), t in zip(wanted, since, strict=True))


def derive_status(
    outcome: Outcome, previous: ObjectStatus | None, generation: int | None, device: str
) -> ObjectStatus:
    """The full status for ``outcome``; transition times move only when a condition changes.

    A re-check that finds everything as it was returns ``previous`` itself, so
    callers can tell "nothing to write" by identity (10k in-sync objects cost
    no status writes).
    """
    if previous is not None and _same_outcome(outcome, previous, generation, device):
        return previous
    prev = previous or ObjectStatus()
    applied_hash = outcome.applied_hash if outcome.applied_hash is not None else prev.applied_hash
    wanted = _wanted(outcome.phase, outcome.reason)
    stamp = now()
    before = {c.type: c for c in prev.conditions}
    since = []
    for type_, ok, _ in wanted:
        old = before.get(type_)
        since.append(old.last_transition_time if old and old.status == ("True" if ok else "False") else stamp)
    return ObjectStatus(
        phase=outcome.phase,
        reason=str(outcome.reason),
        message=outcome.message,
        conditions=_conditions(wanted, outcome.message, tuple(since), generation),
        observed_generation=generation,
        applied_hash=applied_hash,
        waiting_on=list(outcome.waiting_on),
        device=device,
        last_applied_time=stamp if outcome.wrote else prev.last_applied_time,
        transaction=_transaction_after(outcome.transaction, prev.transaction),
    )
