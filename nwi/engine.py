"""The reconcile engine: executes the dependency graph through drivers.

It knows nothing of Kubernetes. The standalone CLI and the operator both call
:meth:`Engine.apply` / :meth:`Engine.remove` with the objects, where each one
goes (``device_of``), a :class:`DriverPool` and a :class:`StatusSink`.

Scheduling uses :class:`graphlib.TopologicalSorter` incrementally: an object is
dispatched the moment its last dependency turns Ready (no global wave
barrier); everything that is ready for one device at that moment goes out as
one transaction; devices are worked on concurrently (bounded).

Objects in a network-wide transaction (annotation, or ``atomic``) are
scheduled as one node per group and committed by :mod:`nwi.transaction`'s
coordinator: on all their devices, or on none.
"""

from __future__ import annotations

import contextlib
import graphlib
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from nwi.conflicts import find_conflicts
from nwi.drivers.base import Driver, DriverError, Transaction, TransactionRejected
from nwi.drivers.virtual import apply_change
from nwi.graph import DependencyGraph, describe_cycle
from nwi.journal import TransactionJournal
from nwi.model import ConfigObject, ObjectKey
from nwi.path import GnmiPath
from nwi.planner import ObjectPlan, plan_batch
from nwi.status import NO_TRANSACTION, ObjectStatus, Outcome, Phase, Reason, derive_status, reason_of_driver_error
from nwi.transaction import Coordinator, GroupNode, Recovered, condense, group_of, recover
from nwi.tree import Tree, TreeError

log = logging.getLogger(__name__)

#: outcomes after which what waits on an object may go ahead (applied; removed from the device)
_SUCCEEDED = (Phase.READY, Phase.DELETING)



#: what the state says while a transaction is on its way: the device may or may not hold it yet
_APPLY_INTENT = Outcome(Phase.APPLYING, Reason.UNKNOWN,
                        "sent to the device, outcome not recorded yet (if no nwi run is in progress, the run "
                        "was interrupted: the next apply reads the device and settles it)")
_REMOVE_INTENT = Outcome(Phase.DELETING, Reason.UNKNOWN,
                         "removal sent to the device, outcome not recorded yet (if no nwi run is in progress, "
                         "the run was interrupted: run the delete again)")


class StatusSink(Protocol):
    """Where statuses go: the SQLite store (CLI) or the Kubernetes API (operator)."""

    def previous(self, key: ObjectKey) -> ObjectStatus | None: ...

    def record(self, obj: ConfigObject, status: ObjectStatus) -> None: ...


class IntentLog(Protocol):
    """Write-ahead record of what is about to be sent (the CLI's SQLite state).

    Before a transaction goes to a device, the engine records each of its
    objects as Applying (or Deleting) with reason ``Unknown`` in the sink and
    calls :meth:`durable`: only when that returns is the transaction sent. A
    process killed at any moment thus leaves a state that names everything
    that may be on a device; outcomes are recorded as they settle and made
    durable with the next intent (or by the log's own batching).
    """

    def durable(self) -> None:
        """Return once everything recorded so far survives the process; raise if it cannot."""
        ...


class DriverPool:
    """One open driver per device for a whole run (connection reuse), opened lazily.

    ``factory`` builds an unconnected driver for a device id. A device that
    failed to connect is not retried within the run: its error is re-raised.
    """

    def __init__(self, factory: Callable[[str], Driver]) -> None:
        self._factory = factory
        self._drivers: dict[str, Driver] = {}
        self._failed: dict[str, DriverError] = {}
        self._lock = threading.Lock()
        self._device_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

    def get(self, device: str) -> Driver:
        with self._lock:
            if device in self._failed:
                raise self._failed[device]
            driver = self._drivers.get(device)
            dlock = self._device_locks[device]
        if driver is not None:
            return driver
        with dlock:  # connect outside the pool lock: other devices go on meanwhile
            if device in self._drivers:
                return self._drivers[device]
            driver = self._factory(device)
            try:
                driver.connect()
            except DriverError as exc:
                self._failed[device] = exc
                raise
            self._drivers[device] = driver
            return driver

    def close(self) -> None:
        for driver in self._drivers.values():
            try:
                driver.close()
            except Exception:  # closing is best effort; the run's outcome is already known
                log.exception("closing driver %s", driver.name)
        self._drivers.clear()


class _DeviceReads:
    """What each device holds at the paths a run touches: read in one Get, then kept up to date.

    The first batch for a device reads every path the run needs from it; later
    batches are answered from what was read. Once nwi commits to the device,
    what was read becomes a tree to which each of nwi's own successful
    transactions is applied with the device's semantics (the same tree the
    planner predicts with); until then the values read are the answer as they
    are, so an in-sync run builds no tree. A run thus costs one Get per device
    instead of one per batch, and still sees its own writes. A write whose
    outcome is unknown (connection lost mid-Set) makes the device's later
    batches read from the device again. One batch per device runs at a time,
    so a device's entry is never used by two threads at once.
    """

    def __init__(self, paths: Mapping[str, Sequence[GnmiPath]]) -> None:
        self._paths = paths
        self._read: dict[str, dict[GnmiPath, Any]] = {}  # device -> values as read, while nothing was written
        self._trees: dict[str, tuple[Tree, frozenset[GnmiPath]]] = {}  # device -> read + own writes
        self._stale: set[str] = set()

    def read(self, device: str, driver: Driver, paths: Sequence[GnmiPath]) -> dict[GnmiPath, Any]:
        if device not in self._stale:
            if device not in self._read and device not in self._trees:
                self._read[device] = driver.read(self._paths.get(device) or paths)
            values = self._read.get(device)
            if values is not None:
                if all(p in values for p in paths):
                    return {p: values[p] for p in paths}
            else:
                tree, known = self._trees[device]
                if known.issuperset(paths):
                    return {p: tree.get(p) for p in paths}
        return driver.read(paths)

    def wrote(self, device: str, txn: Transaction) -> None:
        """``txn`` was committed: the snapshot follows it."""
        values = self._read.pop(device, None)
        if values is not None:
            self._trees[device] = (Tree.of_subtrees(values), frozenset(values))
        if device in self._trees:
            tree = self._trees[device][0]
            try:
                for change in txn.ordered():  # in place: the device took it all, and a failure drops the tree
                    apply_change(tree, change)
            except TreeError:
                self.invalidate(device)

    def invalidate(self, device: str) -> None:
        self._stale.add(device)
        self._read.pop(device, None)
        self._trees.pop(device, None)


@dataclass
class RunReport:
    outcomes: dict[ObjectKey, Outcome] = field(default_factory=dict)
    #: keys in the order they reached their final outcome (Ready in application order)
    order: list[ObjectKey] = field(default_factory=list)
    transactions: int = 0  # transactions sent to devices (writes; a group's prepares count one per device and wave)
    #: what interrupted network-wide transactions of an earlier run had left on their devices
    recovered: list[Recovered] = field(default_factory=list)
    #: why the run stopped early (a signal, a state that could not record); None when it ran to its end
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        return all(o.phase == Phase.READY for o in self.outcomes.values())

    def count(self, phase: Phase) -> int:
        return sum(1 for o in self.outcomes.values() if o.phase == phase)


BatchFn = Callable[[str, list[ConfigObject]], dict[ObjectKey, Outcome]]


class Engine:
    def __init__(
        self,
        pool: DriverPool,
        sink: StatusSink,
        max_workers: int = 16,
        on_outcome: Callable[[ConfigObject, Outcome], None] | None = None,
        progress: bool = True,
        journal: TransactionJournal | None = None,
        confirm_timeout: int = 60,
        intents: IntentLog | None = None,
        stop: threading.Event | None = None,
        executor: Executor | None = None,
    ) -> None:
        """``progress``: also record Waiting and Applying on the way (the operator shows them in
        ``kubectl get``); a sink read only after the run (the CLI's store) needs just the outcomes.
        ``journal``: where network-wide transactions are recorded while they run (None: not recorded,
        so a run that dies leaves the devices to revert and nothing to report afterwards);
        ``confirm_timeout``: seconds a prepared device waits for the confirm before it reverts.
        ``intents``: record each transaction's objects durably before sending it (see :class:`IntentLog`).
        ``stop``: once set, nothing more is sent; transactions in flight finish and are recorded, and
        what was never dispatched keeps its earlier status (the report marks it ``Interrupted``).
        ``executor``: threads for the devices' batches, kept by the caller across runs (None: this run
        starts its own ``max_workers``; the operator runs hundreds of small runs, and starting 16
        threads each time was half of a run's time on a loaded machine)."""
        self.pool = pool
        self.journal = journal
        self.confirm_timeout = confirm_timeout
        self.intents = intents
        self.stop = stop or threading.Event()
        self._stopped: str | None = None
        self._device_of: Mapping[ObjectKey, str] = {}
        self.sink = sink
        self.max_workers = max_workers
        self.on_outcome = on_outcome
        self.progress = progress
        self._txn_lock = threading.Lock()
        self._atomic = False  # this run is one network-wide transaction (apply --atomic)
        self._transactions = 0
        self._reads = _DeviceReads({})
        self.executor = executor

    # ---- public ------------------------------------------------------------------
    def apply(
        self,
        objects: Sequence[ConfigObject],
        device_of: Mapping[ObjectKey, str],
        external_ready: Iterable[ObjectKey] = (),
        atomic: bool = False,
    ) -> RunReport:
        """Bring every object onto its device in dependency order; ``atomic``: all of them as one
        network-wide transaction (else the objects' transaction annotations group them)."""
        by_key = {o.key: o for o in objects}
        self._atomic = atomic
        conflicts = find_conflicts(objects, device_of)
        graph = DependencyGraph.build(objects, external_ready, failed=conflicts)
        report = RunReport()
        for key, message in conflicts.items():
            self._settle(report, by_key[key], device_of, Outcome(Phase.FAILED, Reason.PATH_CONFLICT, message))
        for key, cycle in graph.cycles.items():
            if key in conflicts:
                continue
            self._settle(report, by_key[key], device_of, Outcome(
                Phase.FAILED, Reason.DEPENDENCY_CYCLE,
                f"dependency cycle: {describe_cycle(cycle, key)}",
                waiting_on=tuple(d.short(key) for d in by_key[key].depends_on if d in graph.cycles)))
        for key, gone in graph.missing.items():
            if key not in graph.cycles and key not in conflicts:
                self._settle(report, by_key[key], device_of, Outcome(
                    Phase.WAITING, Reason.DEPENDENCY_NOT_FOUND,
                    "dependency not found: " + ", ".join(d.short(key) for d in gone),
                    waiting_on=tuple(d.short(key) for d in gone)))
        for key, unready in graph.blocked.items():
            self._settle(report, by_key[key], device_of, Outcome(
                Phase.WAITING, Reason.DEPENDENCIES_NOT_READY,
                "waiting for " + ", ".join(d.short(key) for d in unready),
                waiting_on=tuple(d.short(key) for d in unready)))
        runnable = graph.runnable
        for key in runnable if self.progress else ():  # visible while it waits: WAITING-ON names its dependencies
            obj = by_key[key]
            inside = tuple(d for d in obj.depends_on if d in by_key)
            if inside:
                self._record_transient(obj, device_of, Outcome(
                    Phase.WAITING, Reason.DEPENDENCIES_NOT_READY,
                    "waiting for " + ", ".join(d.short(key) for d in inside),
                    waiting_on=tuple(d.short(key) for d in inside)))
        paths: dict[str, list[GnmiPath]] = defaultdict(list)
        for key in runnable:
            paths[device_of[key]].append(by_key[key].device_path)
        self._reads = _DeviceReads(paths)
        grouped = atomic or any(o.transaction for o in objects)
        if not grouped and self.journal is None:
            self._run(graph, by_key, device_of, report, self._apply_batch)
            return report
        notes: dict[str, str] = {}
        if self.journal is not None:
            known = set(device_of.values())
            report.recovered = recover(self.journal, self.pool.get, known.__contains__)
            notes = {r.record.group: r.describe() for r in report.recovered}
        if not grouped:
            self._run(graph, by_key, device_of, report, self._apply_batch)
            return report
        why = {k: _why(o) for k, o in report.outcomes.items()}
        condensed = condense(runnable, by_key, graph.deps, why, atomic)
        for key, outcome in condensed.held.items():
            self._settle(report, by_key[key], device_of, outcome)
        self._run(graph, by_key, device_of, report, self._apply_batch, condensed.sorter, condensed.members, notes)
        return report

    def remove(
        self,
        objects: Sequence[ConfigObject],
        device_of: Mapping[ObjectKey, str],
        dependents: Mapping[ObjectKey, Iterable[ObjectKey]],
    ) -> RunReport:
        """Remove objects' config from devices, dependents first.

        ``dependents`` maps each object to everything that depends on it (being
        removed or not). One whose dependents stay is Blocked and keeps its
        config on the device, and so is everything it depends on.
        """
        by_key = {o.key: o for o in objects}
        self._atomic = False
        # reversed edges: an object waits for its dependents to be gone; a dependent that is
        # not being removed is "missing" from this graph and blocks it
        graph = DependencyGraph.from_edges({k: tuple(dependents.get(k, ())) for k in by_key})
        report = RunReport()
        for key in set(graph.missing) | set(graph.blocked) | set(graph.cycles):
            waiting = graph.missing.get(key, ()) + graph.blocked.get(key, ()) + graph.cycles.get(key, ())
            names = tuple(sorted({d.short(key) for d in waiting if d != key}))
            self._settle(report, by_key[key], device_of, Outcome(
                Phase.BLOCKED, Reason.HAS_DEPENDENTS,
                "still needed by " + ", ".join(names) + "; config stays on the device",
                waiting_on=names))
        self._run(graph, by_key, device_of, report, self._remove_batch)
        return report

    # ---- scheduling ----------------------------------------------------------------
    def _run(
        self,
        graph: DependencyGraph,
        by_key: Mapping[ObjectKey, ConfigObject],
        device_of: Mapping[ObjectKey, str],
        report: RunReport,
        batch_fn: BatchFn,
        sorter: graphlib.TopologicalSorter[Any] | None = None,
        group_members: Mapping[str, list[ConfigObject]] | None = None,
        notes: Mapping[str, str] | None = None,
    ) -> None:
        """``sorter`` (with ``group_members``): the graph with each group condensed into one node."""
        ts: graphlib.TopologicalSorter[Any] = sorter if sorter is not None else graph.sorter()
        members_of = group_members or {}
        devices_of_group = {g: {device_of[m.key] for m in ms} for g, ms in members_of.items()}
        ready_groups: list[GroupNode] = []
        self._device_of = device_of
        self._stopped = None
        pending: dict[str, list[ConfigObject]] = defaultdict(list)
        busy: set[str] = set()
        futures: dict[Future[dict[ObjectKey, Outcome]], tuple[set[str], list[ConfigObject], GroupNode | None]] = {}
        self._transactions = 0
        removing = batch_fn == self._remove_batch
        in_flight = Outcome(Phase.DELETING if removing else Phase.APPLYING, Reason.PROGRESSING,
                            "removing from the device" if removing else "sending to the device")
        kept = self.executor
        with (contextlib.nullcontext(kept) if kept is not None
              else ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="nwi-device")) as executor:

            def pump() -> None:
                if self.stop.is_set() or self._stopped:
                    return  # in flight finishes; nothing new goes out
                for node in ts.get_ready():
                    if isinstance(node, GroupNode):
                        ready_groups.append(node)
                    else:
                        pending[device_of[node]].append(by_key[node])
                for node in list(ready_groups):  # a group holds all its devices while it runs
                    devices = devices_of_group[node.group]
                    if busy.isdisjoint(devices):
                        ready_groups.remove(node)
                        busy.update(devices)
                        batch = members_of[node.group]
                        for obj in batch:
                            self._record_transient(obj, device_of, in_flight)
                        note = (notes or {}).get(node.group, "")
                        futures[executor.submit(self._group_batch, node.group, batch, device_of, note)] = (
                            devices, batch, node)
                for device in list(pending):
                    if device not in busy:
                        batch = pending.pop(device)
                        busy.add(device)
                        for obj in batch:
                            self._record_transient(obj, device_of, in_flight)
                        futures[executor.submit(batch_fn, device, batch)] = ({device}, batch, None)

            pump()
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in done:
                    devices, batch, group = futures.pop(fut)
                    busy.difference_update(devices)
                    outcomes = fut.result()
                    for obj in batch:
                        self._settle(report, obj, device_of, outcomes[obj.key])
                    succeeded = [o.key for o in batch if outcomes[o.key].phase in _SUCCEEDED]
                    if group is None:
                        ts.done(*succeeded)
                    elif len(succeeded) == len(batch):
                        ts.done(group)
                pump()
        report.transactions = self._transactions
        if self.stop.is_set() and not self._stopped:
            self._stopped = "interrupted"
        report.stopped = self._stopped
        if self._stopped:
            for key in by_key:
                if key not in report.outcomes:  # never sent: its recorded status still tells the truth
                    report.outcomes[key] = Outcome(Phase.PENDING, Reason.INTERRUPTED,
                                                   f"not attempted: the run stopped ({self._stopped})")
                    report.order.append(key)
            return
        # whatever was never dispatched sits behind something that did not succeed (in removal,
        # the edges point to dependents: "behind" means a dependent that stayed)
        unsettled = {k: None for k in by_key if k not in report.outcomes}  # ordered, fast membership
        for key in unsettled:
            culprits = tuple(d.short(key) for d in graph.deps.get(key, ())
                             if d in by_key and (d in unsettled or report.outcomes[d].phase not in _SUCCEEDED))
            self._settle(report, by_key[key], device_of, Outcome(
                Phase.BLOCKED if removing else Phase.WAITING,
                Reason.HAS_DEPENDENTS if removing else Reason.DEPENDENCY_FAILED,
                "not attempted: " + ", ".join(culprits) + " did not succeed",
                waiting_on=culprits))

    def _settle(
        self, report: RunReport, obj: ConfigObject, device_of: Mapping[ObjectKey, str], outcome: Outcome
    ) -> None:
        report.outcomes[obj.key] = outcome
        report.order.append(obj.key)
        self._record(obj, device_of, outcome)
        if self.on_outcome is not None:
            self.on_outcome(obj, outcome)

    def _record(self, obj: ConfigObject, device_of: Mapping[ObjectKey, str], outcome: Outcome) -> None:
        previous = self.sink.previous(obj.key)
        if (outcome.transaction is None and previous is not None and previous.transaction is not None
                and previous.transaction.group != group_of(obj, self._atomic)):
            outcome = replace(outcome, transaction=NO_TRANSACTION)  # it left that group: status says so
        self.sink.record(obj, derive_status(outcome, previous, obj.generation, device_of.get(obj.key, "")))

    def _record_transient(self, obj: ConfigObject, device_of: Mapping[ObjectKey, str], outcome: Outcome) -> None:
        """Record Waiting/Applying on the way, except for a re-check of an object Ready at this hash:
        its conditions must not flap on every run (kstatus consumers would see it go unready)."""
        if not self.progress:
            return
        prev = self.sink.previous(obj.key)
        if not (prev and prev.phase in (Phase.READY, Phase.DRIFTED) and prev.applied_hash == obj.desired_hash):
            self._record(obj, device_of, outcome)

    def _intend(self, objects: Sequence[ConfigObject], intent: Outcome) -> dict[ObjectKey, Outcome] | None:
        """Record ``objects`` as about to be written and wait until that is durable; None to go ahead,
        else their outcomes (not sent: an intent that cannot be recorded stops the whole run)."""
        if self.intents is None:
            return None
        for obj in objects:
            self._record(obj, self._device_of, intent)
        try:
            self.intents.durable()
        except Exception as exc:  # the intent log's own error (a full disk, say): nothing may be sent now
            self._stopped = f"state not recorded: {exc}"
            return {o.key: Outcome(Phase.FAILED, Reason.STATE_NOT_RECORDED,
                                   f"not sent: its intent could not be recorded ({exc})") for o in objects}
        return None

    def _count_transaction(self) -> None:
        with self._txn_lock:
            self._transactions += 1

    # ---- batches (run in worker threads) -------------------------------------------
    def _apply_batch(self, device: str, objects: list[ConfigObject]) -> dict[ObjectKey, Outcome]:
        try:
            driver = self.pool.get(device)
            _, to_write, outcomes = self._plan_device(device, driver, objects)
        except DriverError as exc:
            return {o.key: _device_failure(exc) for o in objects}
        outcomes.update(self._write(driver, device, to_write))
        return outcomes

    def _plan_device(
        self, device: str, driver: Driver, objects: list[ConfigObject]
    ) -> tuple[Transaction, list[tuple[ConfigObject, ObjectPlan]], dict[ObjectKey, Outcome]]:
        """What ``objects`` need on ``device``: the transaction, the objects it writes, the others' outcomes."""
        current = self._reads.read(device, driver, [o.device_path for o in objects])
        batch = plan_batch(objects, device, current.get, typed=driver.typed)
        outcomes: dict[ObjectKey, Outcome] = {}
        to_write: list[tuple[ConfigObject, ObjectPlan]] = []
        for obj, plan in zip(objects, batch.objects, strict=True):
            previous = self.sink.previous(obj.key)
            drifted = previous is not None and previous.applied_hash == obj.desired_hash and not plan.in_sync
            if plan.error:
                outcomes[obj.key] = Outcome(Phase.FAILED, Reason.TRANSACTION_REJECTED, plan.error)
            elif plan.in_sync:
                outcomes[obj.key] = Outcome(Phase.READY, Reason.IN_SYNC, "device holds the desired state",
                                            applied_hash=obj.desired_hash)
            elif drifted and obj.spec.drift_policy == "report":
                outcomes[obj.key] = Outcome(Phase.DRIFTED, Reason.DRIFT_REPORTED,
                                            "device differs from the desired state: " + "; ".join(plan.diff()))
            else:
                to_write.append((obj, plan))
        txn = Transaction(device, [p.change for _, p in to_write if p.change is not None])
        return txn, to_write, outcomes

    def _group_batch(self, group: str, members: list[ConfigObject], device_of: Mapping[ObjectKey, str],
                     note: str) -> dict[ObjectKey, Outcome]:
        """One network-wide transaction, by the coordinator (in a worker thread; it holds the group's devices)."""

        def plan(device: str, driver: Driver, objects: list[ConfigObject]) -> tuple[
                Transaction, list[ConfigObject], dict[ObjectKey, Outcome]]:
            txn, to_write, outcomes = self._plan_device(device, driver, objects)
            return txn, [o for o, _ in to_write], outcomes

        refused = self._intend(members, _APPLY_INTENT)  # all of them may land: each is recorded first
        if refused is not None:
            return refused
        coordinator = Coordinator(self.pool.get, plan, self.journal, self.confirm_timeout, self.max_workers,
                                  self._reads.wrote, self._reads.invalidate, self._count_transaction)
        return coordinator.run(group, members, device_of, note)

    def _write(
        self, driver: Driver, device: str, items: list[tuple[ConfigObject, ObjectPlan]]
    ) -> dict[ObjectKey, Outcome]:
        """Send one transaction for ``items``; if the device blames some of them, retry the rest once."""
        if not items:
            return {}
        txn = Transaction(device, [p.change for _, p in items if p.change is not None])
        refused = self._intend([o for o, _ in items], _APPLY_INTENT)
        if refused is not None:
            return refused
        try:
            self._count_transaction()
            driver.apply(txn)
            self._reads.wrote(device, txn)
        except TransactionRejected as exc:
            blamed = set(exc.failed_owners)
            innocent = [(o, p) for o, p in items if str(o.key) not in blamed]
            if blamed and innocent and len(innocent) < len(items):
                result = {o.key: Outcome(Phase.FAILED, Reason.TRANSACTION_REJECTED, exc.message)
                          for o, _ in items if str(o.key) in blamed}
                result.update(self._write(driver, device, innocent))
                return result
            return {o.key: Outcome(Phase.FAILED, Reason.TRANSACTION_REJECTED, exc.message) for o, _ in items}
        except DriverError as exc:
            self._reads.invalidate(device)  # did the Set land? only the device knows now
            return {o.key: _device_failure(exc) for o, _ in items}
        result = {}
        for obj, plan in items:
            previous = self.sink.previous(obj.key)
            repaired = previous is not None and previous.applied_hash == obj.desired_hash
            reason = Reason.DRIFT_REPAIRED if repaired else Reason.APPLIED
            message = "drift repaired: " + "; ".join(plan.diff()) if repaired else "applied"
            result[obj.key] = Outcome(Phase.READY, reason, message, applied_hash=obj.desired_hash, wrote=True)
        return result

    def _remove_batch(self, device: str, objects: list[ConfigObject]) -> dict[ObjectKey, Outcome]:
        try:
            driver = self.pool.get(device)
            current = driver.read([o.device_path for o in objects])
            batch = plan_batch(objects, device, current.get, removal=True)
            txn = batch.transaction
            if txn:
                refused = self._intend(objects, _REMOVE_INTENT)
                if refused is not None:
                    return refused
                self._count_transaction()
                driver.apply(txn)
        except DriverError as exc:
            return {o.key: _device_failure(exc) for o in objects}
        return {o.key: Outcome(Phase.DELETING, Reason.REMOVED, "config removed from the device",
                               wrote=bool(txn)) for o in objects}


def _why(outcome: Outcome) -> str:
    """Why an object cannot run, as a clause: "is Waiting (dependency not found: x)"."""
    return f"is {outcome.phase} ({outcome.message})"


def _device_failure(exc: DriverError) -> Outcome:
    return Outcome(Phase.FAILED, reason_of_driver_error(exc.reason), str(exc))
