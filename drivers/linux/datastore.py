"""``LinuxDatastore``: the virtual device's Datastore backed by kernel links in a namespace.

``VirtualDriver(name, LinuxDatastore(netns))`` is a virtual device whose
configuration is real Linux state, and the mock gNMI server serves it like any
other Datastore. A commit is: read the kernel, apply the transaction to that
tree, validate the result, diff it against the kernel, program the difference,
and undo everything on the first failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from nwi.drivers.base import Transaction, TransactionRejected
from nwi.drivers.linux import netns as ns
from nwi.drivers.linux.applier import Applier, StepFailed
from nwi.drivers.linux.planner import Plan, PlanError, make_plan
from nwi.drivers.linux.reader import LinkState, links_to_tree, read_links
from nwi.drivers.linux.schema import LIST_KEYS, interface_name
from nwi.drivers.virtual import apply_changes
from nwi.path import GnmiPath
from nwi.tree import Tree

LOCK_DIR = "/run/lock"


class LinuxDatastore:
    """The links of one network namespace as a configuration tree.

    ``netns`` is the namespace this device owns (see :func:`netns_for_device`);
    it is created by the first commit that changes something. ``host_netns``
    names the namespace that ``type: host`` links are moved in from and back
    out to (None: the namespace this process runs in).
    """

    def __init__(self, netns: str, host_netns: str | None = None, device: str | None = None) -> None:
        self.netns = ns.check_name(netns)
        self.host_netns = host_netns
        self.device = device or netns
        #: the plan of the last commit (dry runs included), for reports and tests
        self.last_plan: Plan = Plan()

    @classmethod
    def for_device(cls, device: str, prefix: str | None = None, host_netns: str | None = None) -> LinuxDatastore:
        return cls(ns.netns_for_device(device, prefix), host_netns=host_netns, device=device)

    def __repr__(self) -> str:
        return f"LinuxDatastore(netns={self.netns!r})"

    # ---- Datastore protocol -----------------------------------------------------------
    def snapshot(self) -> Tree:
        """The namespace's links read now from the kernel (empty when the namespace does not exist)."""
        return links_to_tree(self._read())

    def commit(self, txn: Transaction, dry_run: bool = False) -> None:
        with self._locked():
            current = self._read()
            desired = apply_changes(links_to_tree(current), txn)
            desired.list_keys = dict(LIST_KEYS)
            try:
                plan = make_plan(current, desired)
            except PlanError as exc:
                owners = _owners(txn, exc.links)
                raise TransactionRejected(self.device, f"invalid Linux config: {exc}", owners) from None
            self.last_plan = plan
            if dry_run or not plan.steps:
                return
            ns.ensure(self.netns)
            with ns.open_netns(self.netns) as ipr:
                try:
                    Applier(ipr, self.netns, self.host_netns).run(plan)
                except StepFailed as exc:
                    message = f"{exc.message} (rolled back)"
                    if exc.rollback_errors:
                        message = f"{exc.message}; ROLLBACK INCOMPLETE: {'; '.join(exc.rollback_errors)}"
                    links = [exc.step.name] + ([exc.step.peer] if exc.step.peer else [])
                    raise TransactionRejected(self.device, message, _owners(txn, links)) from None

    # ---- lifecycle --------------------------------------------------------------------
    def remove(self) -> bool:
        """Remove the device's namespace and every virtual link in it; False when there was none."""
        with self._locked():
            return ns.remove(self.netns)

    def links(self) -> dict[str, LinkState]:
        return self._read()

    def _read(self) -> dict[str, LinkState]:
        if not ns.exists(self.netns):
            return {}
        with ns.open_netns(self.netns) as ipr:
            return read_links(ipr)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One commit at a time per namespace, across threads and processes."""
        os.makedirs(LOCK_DIR, exist_ok=True)
        with open(os.path.join(LOCK_DIR, f"nwi-netns-{self.netns}.lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _owners(txn: Transaction, links: tuple[str, ...] | list[str]) -> list[str]:
    """The objects of ``txn`` that touch the links at fault (all of them when none does)."""
    wanted = set(links)
    blamed = []
    for change in txn.changes:
        name = _link_of(change.path)
        if change.owner and name in wanted and change.owner not in blamed:
            blamed.append(change.owner)
    return blamed or list(dict.fromkeys(c.owner for c in txn.changes if c.owner))


def _link_of(path: GnmiPath) -> str | None:
    if len(path.elems) < 2:
        return None
    return interface_name(GnmiPath(path.elems[:2]))
