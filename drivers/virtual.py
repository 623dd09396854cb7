"""The virtual device: an in-memory configuration tree with gNMI semantics.

Each virtual device's tree is persisted as JSON under the state directory
(``<state>/devices/<name>.json``) so that a second run sees the first run's
state. A transaction is applied to a copy of the tree and swapped in only when
every change succeeded, so a failure leaves the device exactly as it was.

A network-wide transaction's part is *staged*: applied to the tree (so that
reads, and the transaction's later waves, see it) with a rollback point and a
revert deadline kept beside it (``<name>.pending.json``: commit id, deadline,
the tree as it was). Confirming drops the rollback point; cancelling, or the
deadline passing, puts the old tree back. A virtual device has no process of
its own, so "reverts by itself" happens on its next use after the deadline,
by whoever uses it (nwi, the mock gNMI server): nobody can see the staged
state once the deadline has passed. What became of each commit id is kept in
``<name>.commits.json`` (the last 64), for nwi to ask after a restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from nwi.drivers.base import (
    Change,
    CommitOutcome,
    ConfirmedCommitUnsupported,
    DeviceInfo,
    Driver,
    DriverError,
    Op,
    Transaction,
    TransactionRejected,
)
from nwi.path import GnmiPath
from nwi.tree import Tree, TreeError

if TYPE_CHECKING:  # libyang is loaded only for devices that have models
    from nwi.schema.models import ModelSet

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_KEEP_OUTCOMES = 64


def apply_change(tree: Tree, change: Change) -> None:
    """Apply one change in place (raises TreeError)."""
    if change.op == Op.DELETE:
        tree.delete(change.path)
    elif change.op == Op.REPLACE:
        tree.replace(change.path, change.value)
    else:
        tree.update(change.path, change.value)


def apply_changes(tree: Tree, txn: Transaction) -> Tree:
    """Apply ``txn`` to a copy of ``tree`` and return the copy; the original is untouched."""
    work = tree.copy()
    for change in txn.ordered():
        try:
            apply_change(work, change)
        except TreeError as exc:
            owners = [change.owner] if change.owner else []
            raise TransactionRejected(txn.device, f"{change.op} {change.path}: {exc}", owners) from exc
    return work


class Datastore(Protocol):
    """Where a virtual device keeps its configuration.

    The tree-backed :class:`DeviceStore` and the Linux backend (kernel state
    through netlink) both implement it, and so the virtual driver and the mock
    gNMI server serve either the same way.
    """

    def snapshot(self) -> Tree:
        """The device's whole current configuration, freshly read."""
        ...

    def commit(self, txn: Transaction, dry_run: bool = False) -> None:
        """Apply ``txn`` all or nothing (raise TransactionRejected); ``dry_run`` only checks."""
        ...


class DeviceStore:
    """The persisted tree of one virtual device (file + advisory lock), with staged commits."""

    def __init__(self, name: str, state_dir: Path | None, list_keys: Mapping[str, tuple[str, ...]] | None = None):
        self.name = name
        self.list_keys = dict(list_keys or {})
        self.file = state_dir / "devices" / f"{_SAFE.sub('_', name)}.json" if state_dir else None
        self._memory = Tree(list_keys=self.list_keys)
        self._memory_side: dict[str, Any] = {}  # without a state dir: the pending record and outcomes

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        if self.file is None:
            yield
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.file.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def load(self) -> Tree:
        if self.file is None:
            return self._memory
        try:
            doc = json.loads(self.file.read_text())
        except FileNotFoundError:
            return Tree(list_keys=self.list_keys)
        return Tree.load(doc, self.list_keys)

    def snapshot(self) -> Tree:
        if self._side_exists("pending"):
            with self.locked():
                self._expire()
        return self.load()

    def commit(self, txn: Transaction, dry_run: bool = False) -> None:
        with self.locked():
            pending = self._expire()
            if pending is not None and not dry_run:
                raise TransactionRejected(txn.device, f"transaction {pending['id']} is pending on the device "
                                          "(confirmed or reverted by its deadline); nothing was applied")
            new = apply_changes(self.load(), txn)
            if not dry_run:
                self.save(new)

    def save(self, tree: Tree) -> None:
        if self.file is None:
            self._memory = tree
            return
        _write_atomic(self.file, tree.dump())

    # ---- staged commits ------------------------------------------------------------------
    def prepare(self, txn: Transaction, commit_id: str, timeout: float) -> None:
        with self.locked():
            pending = self._expire()
            if pending is not None and pending["id"] != commit_id:
                raise TransactionRejected(txn.device, f"transaction {pending['id']} is pending on the device; "
                                          "nothing was applied")
            tree = self.load()
            new = apply_changes(tree, txn)
            record = pending or {"id": commit_id, "before": tree.dump()}
            record["deadline"] = time.time() + timeout
            self._put_side("pending", record)  # first: a crash after it reverts to a tree equal to the old one
            self.save(new)

    def extend(self, commit_id: str, timeout: float) -> None:
        with self.locked():
            pending = self._expire()
            if pending is None or pending["id"] != commit_id:
                outcome = self._outcomes().get(commit_id)
                what = f"it was {outcome.lower()}" if outcome else "it is not pending here"
                raise TransactionRejected(self.name, f"cannot extend transaction {commit_id}: {what}")
            pending["deadline"] = time.time() + timeout
            self._put_side("pending", pending)

    def confirm(self, commit_id: str) -> None:
        with self.locked():
            pending = self._expire()
            if pending is not None and pending["id"] == commit_id:
                self._finish(commit_id, CommitOutcome.CONFIRMED)
                return
            outcome = self._outcomes().get(commit_id)
            if outcome != CommitOutcome.CONFIRMED:
                what = "was reverted (cancelled, or its deadline passed)" if outcome else "was never prepared here"
                raise DriverError(self.name, f"cannot confirm transaction {commit_id}: it {what}")

    def cancel(self, commit_id: str) -> None:
        with self.locked():
            pending = self._expire()
            if pending is not None and pending["id"] == commit_id:
                self.save(Tree.load(pending["before"], self.list_keys))
                self._finish(commit_id, CommitOutcome.REVERTED)

    def outcome(self, commit_id: str) -> CommitOutcome:
        with self.locked():
            pending = self._expire()
            if pending is not None and pending["id"] == commit_id:
                return CommitOutcome.PENDING
            return CommitOutcome(self._outcomes().get(commit_id, CommitOutcome.UNKNOWN))

    def _expire(self) -> dict[str, Any] | None:
        """The pending record, after reverting it if its deadline has passed (the lock is held)."""
        pending = self._get_side("pending")
        if pending is not None and time.time() >= pending["deadline"]:
            self.save(Tree.load(pending["before"], self.list_keys))
            self._finish(pending["id"], CommitOutcome.REVERTED)
            return None
        return pending

    def _finish(self, commit_id: str, outcome: CommitOutcome) -> None:
        outcomes = self._outcomes()
        outcomes[commit_id] = str(outcome)
        self._put_side("commits", dict(list(outcomes.items())[-_KEEP_OUTCOMES:]))
        self._put_side("pending", None)

    def _outcomes(self) -> dict[str, str]:
        return dict(self._get_side("commits") or {})

    # the pending record and the outcomes: files beside the tree's, or memory without a state dir
    def _side(self, what: str) -> Path:
        assert self.file is not None
        return self.file.with_suffix(f".{what}.json")

    def _side_exists(self, what: str) -> bool:
        return self._memory_side.get(what) is not None if self.file is None else self._side(what).exists()

    def _get_side(self, what: str) -> Any:
        if self.file is None:
            return self._memory_side.get(what)
        try:
            return json.loads(self._side(what).read_text())
        except FileNotFoundError:
            return None

    def _put_side(self, what: str, value: Any) -> None:
        if self.file is None:
            self._memory_side[what] = value
        elif value is None:
            self._side(what).unlink(missing_ok=True)
        else:
            _write_atomic(self._side(what), value)


def _write_atomic(file: Path, doc: Any) -> None:
    tmp = file.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(doc, indent=1, sort_keys=True))
        f.flush()
        os.fsync(f.fileno())  # a staged commit's rollback point must survive the machine going down
    os.replace(tmp, file)  # atomic: a reader sees the old or the new tree, never half


class VirtualDriver(Driver):
    """Driver for a virtual device backed by a :class:`Datastore`.

    With ``models`` (a device's YANG model set) the device refuses what they
    refuse and compares values by type (``nwi.drivers.schema_store``).
    """

    def __init__(self, name: str, store: Datastore, models: ModelSet | None = None) -> None:
        self.name = name
        self.store = store
        if models is not None:
            from nwi.drivers.schema_store import ModelledDatastore

            modelled = ModelledDatastore(store, models)
            self.store = modelled
            self.typed = modelled.codec.typed

    def connect(self) -> DeviceInfo:
        return DeviceInfo(reachable=True, capabilities=("nwi-virtual",))

    def read(self, paths: Sequence[GnmiPath]) -> dict[GnmiPath, Any]:
        tree = self.store.snapshot()
        return {p: tree.get(p) for p in paths}

    def apply(self, txn: Transaction, dry_run: bool = False) -> None:
        self.store.commit(txn, dry_run)

    def close(self) -> None:
        pass

    # ---- staged commits (only the tree-backed store keeps a rollback point) -------------------
    def confirmed_commit_problem(self) -> str | None:
        if isinstance(self.store, DeviceStore):
            return None
        return (f"virtual device {self.name}: its {type(self.store).__name__} applies to the kernel at once "
                "and keeps no rollback point")

    def _staged(self) -> DeviceStore:
        if not isinstance(self.store, DeviceStore):
            raise ConfirmedCommitUnsupported(self.name, self.confirmed_commit_problem() or "")
        return self.store

    def prepare(self, txn: Transaction, commit_id: str, timeout: int) -> None:
        self._staged().prepare(txn, commit_id, timeout)

    def extend(self, commit_id: str, timeout: int) -> None:
        self._staged().extend(commit_id, timeout)

    def confirm(self, commit_id: str) -> None:
        self._staged().confirm(commit_id)

    def cancel(self, commit_id: str) -> None:
        self._staged().cancel(commit_id)

    def resolve_commit(self, commit_id: str, confirm: bool) -> CommitOutcome:
        if not isinstance(self.store, DeviceStore):
            return CommitOutcome.UNKNOWN
        if self.store.outcome(commit_id) == CommitOutcome.PENDING:
            (self.store.confirm if confirm else self.store.cancel)(commit_id)
        return self.store.outcome(commit_id)
