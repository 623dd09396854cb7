"""The virtual device: an in-memory configuration tree with gNMI semantics.

Each virtual device's tree is persisted as JSON under the state directory
(``<state>/devices/<name>.json``) so that a second run sees the first run's
state. A transaction is applied to a copy of the tree and swapped in only when
every change succeeded, so a failure leaves the device exactly as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from nwi.drivers.base import Change, DeviceInfo, Driver, Op, Transaction, TransactionRejected
from nwi.path import GnmiPath
from nwi.tree import Tree, TreeError

_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


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
    """The persisted tree of one virtual device (file + advisory lock)."""

    def __init__(self, name: str, state_dir: Path | None, list_keys: Mapping[str, tuple[str, ...]] | None = None):
        self.name = name
        self.list_keys = dict(list_keys or {})
        self.file = state_dir / "devices" / f"{_SAFE.sub('_', name)}.json" if state_dir else None
        self._memory = Tree(list_keys=self.list_keys)

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
        return self.load()

    def commit(self, txn: Transaction, dry_run: bool = False) -> None:
        with self.locked():
            new = apply_changes(self.load(), txn)
            if not dry_run:
                self.save(new)

    def save(self, tree: Tree) -> None:
        if self.file is None:
            self._memory = tree
            return
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(json.dumps(tree.dump(), indent=1, sort_keys=True))
        os.replace(tmp, self.file)  # atomic: a reader sees the old or the new tree, never half


class VirtualDriver(Driver):
    """Driver for a virtual device backed by a :class:`Datastore`."""

    def __init__(self, name: str, store: Datastore) -> None:
        self.name = name
        self.store = store

    def connect(self) -> DeviceInfo:
        return DeviceInfo(reachable=True, capabilities=("nwi-virtual",))

    def read(self, paths: Sequence[GnmiPath]) -> dict[GnmiPath, Any]:
        tree = self.store.snapshot()
        return {p: tree.get(p) for p in paths}

    def apply(self, txn: Transaction, dry_run: bool = False) -> None:
        self.store.commit(txn, dry_run)

    def close(self) -> None:
        pass
