"""The one interface every device driver implements.

A driver knows nothing of the dependency graph: it receives one
:class:`Transaction` for one device and applies it all or nothing, in the
order gNMI SetRequest semantics give (deletes, then replaces, then updates).
Modelled on NAPALM's small driver surface: connect, read, apply (with a dry
run that validates without changing the device), close; and, for network-wide
transactions (``nwi.transaction``), NAPALM's commit with a revert timer split
in its two halves: :meth:`Driver.prepare` (committed, but reverted by the
device itself unless confirmed in time), :meth:`Driver.extend` (the timer
restarted), :meth:`Driver.confirm`,
:meth:`Driver.cancel`, and :meth:`Driver.commit_outcome` to ask a device,
after nwi restarted, what became of a commit id.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple

from nwi.path import GnmiPath


class Op(enum.StrEnum):
    DELETE = "delete"
    REPLACE = "replace"
    UPDATE = "update"


#: gNMI 3.4.3: the order in which one SetRequest's operations take effect.
OP_ORDER = {Op.DELETE: 0, Op.REPLACE: 1, Op.UPDATE: 2}


class Change(NamedTuple):
    """One operation of a transaction.

    ``owner`` names the object it serves (for per-object error reports);
    ``kind`` is that object's config kind (``nwi.kinds.CONFIG_KINDS``), which
    gives NETCONF its XML namespaces. Immutable as a named tuple rather than a
    frozen dataclass: the planner makes one per object, and a frozen
    dataclass's ``__init__`` costs four times as much.
    """

    op: Op
    path: GnmiPath
    value: Any = None
    owner: str = ""
    kind: str = ""


@dataclass(frozen=True)
class ConnectionParams:
    """How to reach one device. Secrets are excluded from repr, so never logged."""

    address: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    insecure: bool = False  # gNMI: plaintext gRPC
    ca_cert: bytes | None = None  # PEM
    client_cert: bytes | None = None  # PEM
    client_key: bytes | None = field(default=None, repr=False)  # PEM
    skip_verify: bool = False  # TLS without verifying the server certificate
    host_key_verify: bool = True  # NETCONF/SSH
    known_hosts: str | None = None  # NETCONF: known_hosts file (default: the user's)
    encoding: str = "json_ietf"
    connect_timeout: float = 10.0
    operation_timeout: float = 30.0


@dataclass
class Transaction:
    """All changes for one device that go out together."""

    device: str
    changes: list[Change] = field(default_factory=list)

    def ordered(self) -> list[Change]:
        return sorted(self.changes, key=lambda c: OP_ORDER[c.op])

    def __bool__(self) -> bool:
        return bool(self.changes)


@dataclass(frozen=True)
class DeviceInfo:
    """What a driver learned on connect (for Device status)."""

    reachable: bool = True
    capabilities: tuple[str, ...] = ()
    detail: str = ""


class DriverError(Exception):
    """Base of typed driver errors; messages never carry credentials."""

    reason = "DeviceError"

    def __init__(self, device: str, message: str) -> None:
        super().__init__(f"{device}: {message}")
        self.device = device
        self.message = message


class DeviceUnreachable(DriverError):
    reason = "DeviceUnreachable"


class AuthenticationFailed(DriverError):
    reason = "AuthenticationFailed"


class TransactionRejected(DriverError):
    """The device refused the transaction and kept its previous state.

    ``failed_owners`` names the objects whose changes the device blamed, when
    it said so; otherwise every object of the transaction shares the failure.
    """

    reason = "TransactionRejected"

    def __init__(self, device: str, message: str, failed_owners: Sequence[str] = ()) -> None:
        super().__init__(device, message)
        self.failed_owners = tuple(failed_owners)


class CommitOutcome(enum.StrEnum):
    """What a device says became of a commit id prepared with a revert timer."""

    PENDING = "Pending"  # prepared; the device reverts it unless it is confirmed before its timer runs out
    CONFIRMED = "Confirmed"
    REVERTED = "Reverted"  # cancelled, or its timer ran out
    UNKNOWN = "Unknown"  # the device has no record of it (never prepared there, or it cannot tell)


class ConfirmedCommitUnsupported(DriverError):
    """The device cannot commit with a revert timer, so it cannot take part in a network-wide transaction."""

    reason = "ConfirmedCommitUnsupported"


class SchemaRejected(TransactionRejected):
    """The device's YANG models refuse the transaction (an unknown node, a value out of range...)."""


class Driver(abc.ABC):
    """One device session. Use as a context manager or call connect/close."""

    name: str
    #: With the device's YANG models: a value at a path as it compares (``nwi.schema.rfc7951``'s
    #: ``Codec.typed``), applied to what is read and to what is desired before they are compared.
    #: None: no schema, values compare by their text (``nwi.planner.same_config``).
    typed: Callable[[GnmiPath, Any], Any] | None = None

    # ---- commit with a revert timer (network-wide transactions) --------------------------------
    def confirmed_commit_problem(self) -> str | None:
        """Why this device cannot take part in a network-wide transaction, or None when it can.

        Asked after :meth:`connect`; a driver without the four methods below says so here.
        """
        return f"the {type(self).__name__} cannot commit with a revert timer"

    def prepare(self, txn: Transaction, commit_id: str, timeout: int) -> None:
        """Commit ``txn`` so that the device reverts it by itself unless :meth:`confirm` comes within
        ``timeout`` seconds. Called again with the same ``commit_id`` (a later wave of the same
        transaction), it adds ``txn`` to the pending commit and restarts the timer; a revert then
        restores the state before the first call. Raise TransactionRejected (nothing of ``txn``
        applied, earlier prepares of ``commit_id`` still pending) or another DriverError."""
        raise ConfirmedCommitUnsupported(self.name, self.confirmed_commit_problem() or "not supported")

    def extend(self, commit_id: str, timeout: int) -> None:
        """Restart the revert timer of the pending commit ``commit_id``: the device now waits ``timeout``
        seconds for the confirm. Raise TransactionRejected when it is no longer pending (its timer ran
        out, or it was cancelled), another DriverError when the device could not be asked."""
        raise ConfirmedCommitUnsupported(self.name, self.confirmed_commit_problem() or "not supported")

    def confirm(self, commit_id: str) -> None:
        """Make the pending commit ``commit_id`` permanent."""
        raise ConfirmedCommitUnsupported(self.name, self.confirmed_commit_problem() or "not supported")

    def cancel(self, commit_id: str) -> None:
        """Revert the pending commit ``commit_id`` now (nothing to do when it is no longer pending)."""
        raise ConfirmedCommitUnsupported(self.name, self.confirmed_commit_problem() or "not supported")

    def resolve_commit(self, commit_id: str, confirm: bool) -> CommitOutcome:
        """What became of ``commit_id``, prepared by a run that was interrupted (asked after a restart).

        A commit still pending is first confirmed or cancelled as ``confirm`` says (the coordinator's
        decision, from its journal): NETCONF and gNMI offer no read-only query for a commit id, so
        asking is acting. Returns CONFIRMED, REVERTED, or UNKNOWN when the device cannot tell.
        """
        return CommitOutcome.UNKNOWN

    @abc.abstractmethod
    def connect(self) -> DeviceInfo:
        """Open the session; raise DeviceUnreachable or AuthenticationFailed."""

    @abc.abstractmethod
    def read(self, paths: Sequence[GnmiPath]) -> dict[GnmiPath, Any]:
        """The current JSON subtree at each path (None where nothing is configured)."""

    @abc.abstractmethod
    def apply(self, txn: Transaction, dry_run: bool = False) -> None:
        """Apply ``txn`` atomically; with ``dry_run`` only check it. Raise TransactionRejected."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the session; safe to call twice."""

    def __enter__(self) -> Driver:
        self.connect()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
