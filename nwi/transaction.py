"""Network-wide transactions: a group of objects commits on all its devices, or on none.

The coordinator lives in the engine, never in a driver (a driver knows one
device). It runs a two-phase protocol over the drivers' commit with a revert
timer (:meth:`Driver.prepare` / ``confirm`` / ``cancel``):

1. every device of the group is asked whether it can commit with a revert
   timer at all; one that cannot refuses the whole group before anything is
   sent (reason ``ConfirmedCommitUnsupported``);
2. a journal record is written (``nwi.journal``);
3. the group's objects are prepared wave by wave (the dependency levels
   inside the group): each wave's devices in parallel, each device's part of
   the wave as one prepare under the transaction's commit id, so each wave
   is planned against what the earlier waves left on the devices;
   Meanwhile the devices prepared in earlier waves have their revert timers
   extended (``nwi.transaction_timers``), and once the last wave is prepared
   those prepared a while ago are extended once more: that proves each still
   holds its part and leaves each most of a timeout for the confirm;
4. if any prepare (or that last extension) fails, every device prepared so
   far is cancelled (and would revert by itself anyway when its timer runs
   out); otherwise the decision is journalled and every device is confirmed.

If nwi dies anywhere in between, the devices revert by themselves; the next
run finds the journal record and resolves each device's commit id
(:func:`recover`).

Grouping and the graph: a group is scheduled as one node. It starts when
everything outside it that its members depend on is done, and what outside
depends on any member waits for the whole group. A group with a member that
cannot run (missing or failed dependency, a cycle, fewer members than its
declared size) waits whole.
"""

from __future__ import annotations

import graphlib
import logging
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

from nwi.drivers.base import CommitOutcome, Driver, DriverError, Transaction, TransactionRejected
from nwi.journal import CONFIRMING, PREPARING, JournalRecord, TransactionJournal
from nwi.model import ConfigObject, ObjectKey
from nwi.status import DEVICE_IN_SYNC, Outcome, Phase, Reason, TransactionInfo, reason_of_driver_error
from nwi.transaction_timers import RevertTimers

log = logging.getLogger(__name__)

ATOMIC_GROUP = "--atomic"
_ID_SAFE = re.compile(r"[^A-Za-z0-9-]")

#: per-device outcomes shown in status
IN_SYNC = DEVICE_IN_SYNC
CONFIRMED, REVERTED, REFUSED, FAILED, NOT_PREPARED, IN_DOUBT, UNSUPPORTED = (
    "Confirmed", "Reverted", "Refused", "Failed", "NotPrepared", "InDoubt", "Unsupported")


class GroupNode(NamedTuple):
    """A group in the scheduler's graph, where its members would be."""

    group: str


def group_of(obj: ConfigObject, atomic: bool) -> str:
    """The group an object belongs to ("" for none): the whole run with --atomic, else its annotation."""
    if atomic:
        return ATOMIC_GROUP
    return f"{obj.key.namespace}/{obj.transaction}" if obj.transaction else ""


def groups(objects: Iterable[ConfigObject], atomic: bool = False) -> dict[str, list[ConfigObject]]:
    out: dict[str, list[ConfigObject]] = defaultdict(list)
    for obj in objects:
        g = group_of(obj, atomic)
        if g:
            out[g].append(obj)
    return dict(out)


def new_commit_id(group: str) -> str:
    """A commit id unique to this attempt, readable on the device (NETCONF persist id, gNMI commit id)."""
    name = _ID_SAFE.sub("-", group.rsplit("/", 1)[-1].strip("-")) or "atomic"
    return f"nwi-{name[:40]}-{uuid.uuid4().hex[:10]}"


def internal_waves(members: Sequence[ConfigObject], device_of: Mapping[ObjectKey, str]) -> list[list[ConfigObject]]:
    """The group's members by dependency level among themselves (dependencies outside are done already).

    Levels count across devices only: a dependency on the same device goes into the same prepare, ahead of
    its dependent (one commit on that device holds both, in that order, all or nothing), so a chain that
    stays on one device costs that device one prepare, not one per link; a dependency on another device
    puts the dependent a wave later, where its device's prepare is planned against what the earlier
    waves left on the devices. Within a wave, members keep a dependency order.
    """
    by_key = {m.key: m for m in members}
    ts: graphlib.TopologicalSorter[ObjectKey] = graphlib.TopologicalSorter()
    for m in members:
        ts.add(m.key, *[d for d in m.depends_on if d in by_key])
    order = list(ts.static_order())
    level: dict[ObjectKey, int] = {}
    for key in order:
        own = device_of[key]
        level[key] = max((level[d] + (device_of[d] != own) for d in by_key[key].depends_on if d in by_key),
                         default=0)
    waves: list[list[ConfigObject]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for key in order:
        waves[level[key]].append(by_key[key])
    return waves


# ---- the scheduler's view: groups condensed into nodes -----------------------------------------------------
@dataclass
class Condensed:
    sorter: graphlib.TopologicalSorter[ObjectKey | GroupNode]
    #: members of groups that are scheduled (as a GroupNode)
    members: dict[str, list[ConfigObject]]
    #: objects that will not run, with their outcome (groups that wait whole, groups on a cycle)
    held: dict[ObjectKey, Outcome] = field(default_factory=dict)


def condense(
    runnable: Sequence[ObjectKey],
    by_key: Mapping[ObjectKey, ConfigObject],
    deps: Mapping[ObjectKey, Sequence[ObjectKey]],
    not_runnable: Mapping[ObjectKey, str],
    atomic: bool,
) -> Condensed:
    """A sorter where each group is one node, and the outcomes of the groups that must wait whole.

    ``not_runnable`` maps objects of the run that cannot run to why (settled by the engine already).
    """
    run = set(runnable)
    member_groups = groups((by_key[k] for k in by_key), atomic)
    held: dict[ObjectKey, Outcome] = {}
    scheduled: dict[str, list[ConfigObject]] = {}
    for name, members in member_groups.items():
        stuck = [m for m in members if m.key not in run]
        declared = max((m.transaction_size for m in members), default=0)
        shown = _shown(name)
        info = TransactionInfo(shown, "")
        if stuck:
            first = stuck[0]
            why = not_runnable.get(first.key, "cannot run")
            for m in members:
                if m.key in run:
                    held[m.key] = Outcome(
                        Phase.WAITING, Reason.DEPENDENCIES_NOT_READY,
                        f"transaction {shown} waits whole: member {first.key.short(m.key)} {why}",
                        waiting_on=tuple(s.key.short(m.key) for s in stuck), transaction=info)
        elif declared and len(members) < declared:
            for m in members:
                held[m.key] = Outcome(
                    Phase.WAITING, Reason.TRANSACTION_INCOMPLETE,
                    f"transaction {shown} waits whole: {len(members)} of its {declared} members exist",
                    transaction=info)
        else:
            scheduled[name] = members
    held.update(_behind(held, [k for k in runnable if k not in held], deps, waiting=True))
    node_of: dict[ObjectKey, ObjectKey | GroupNode] = {}
    for name, members in scheduled.items():
        for m in members:
            node_of[m.key] = GroupNode(name)
    while True:
        keys = [k for k in runnable if k not in held]
        keep = set(keys)
        ts: graphlib.TopologicalSorter[ObjectKey | GroupNode] = graphlib.TopologicalSorter()
        for k in keys:
            node = node_of.get(k, k)
            ts.add(node, *{node_of.get(d, d) for d in deps.get(k, ()) if d in keep} - {node})
        try:
            ts.prepare()
        except graphlib.CycleError as exc:
            on_cycle = [n for n in exc.args[1] if isinstance(n, GroupNode)]
            if not on_cycle:  # the engine removed cycles before: only groups can make new ones
                raise
            outside = [n for n in exc.args[1] if not isinstance(n, GroupNode)]
            for g in dict.fromkeys(on_cycle):
                through = ", ".join(str(k) for k in outside) or "another transaction"
                for m in scheduled.pop(g.group):
                    held[m.key] = Outcome(
                        Phase.FAILED, Reason.TRANSACTION_CYCLE,
                        f"transaction {_shown(g.group)} cannot be atomic: {through} depends on a member of it and "
                        "another member depends on that", transaction=TransactionInfo(_shown(g.group), ""))
                    node_of.pop(m.key, None)
            held.update(_behind(held, keys, deps))
            continue
        return Condensed(ts, scheduled, held)


def _behind(held: Mapping[ObjectKey, Outcome], keys: Sequence[ObjectKey],
            deps: Mapping[ObjectKey, Sequence[ObjectKey]], waiting: bool = False) -> dict[ObjectKey, Outcome]:
    """Objects that need (transitively) an object held back: they wait too."""
    out: dict[ObjectKey, Outcome] = {}
    stuck = set(held)
    changed = True
    while changed:
        changed = False
        for k in keys:
            if k in stuck:
                continue
            culprits = [d for d in deps.get(k, ()) if d in stuck]
            if culprits:
                stuck.add(k)
                names = ", ".join(c.short(k) for c in culprits)
                out[k] = Outcome(Phase.WAITING, Reason.DEPENDENCIES_NOT_READY if waiting else Reason.DEPENDENCY_FAILED,
                                 f"waiting for {names} (held with its transaction)" if waiting
                                 else f"not attempted: {names} did not succeed",
                                 waiting_on=tuple(c.short(k) for c in culprits))
                changed = True
    return out


def _shown(group: str) -> str:
    return group


# ---- running one group ---------------------------------------------------------------------------------
#: plans one device's part of a wave: (objects to write with the transaction, outcomes of the others)
PlanFn = Callable[[str, Driver, list[ConfigObject]], tuple[Transaction, list[ConfigObject], dict[ObjectKey, Outcome]]]


@dataclass
class _DevicePart:
    device: str
    outcome: str = IN_SYNC  # per-device outcome, as status shows it
    prepared: bool = False
    error: DriverError | None = None
    #: held around every call to the device's driver: the revert timers' extensions must not overlap them
    lock: threading.Lock = field(default_factory=threading.Lock)


class Coordinator:
    """Runs one group's two-phase commit (in one of the engine's worker threads)."""

    def __init__(self, get_driver: Callable[[str], Driver], plan: PlanFn, journal: TransactionJournal | None,
                 confirm_timeout: int, max_workers: int, on_written: Callable[[str, Transaction], None],
                 on_unknown: Callable[[str], None], count: Callable[[], None]) -> None:
        self.get_driver = get_driver
        self.plan = plan
        self.journal = journal
        self.confirm_timeout = confirm_timeout
        self.max_workers = max_workers
        self.on_written = on_written  # the engine's read cache follows what was prepared
        self.on_unknown = on_unknown  # ...and forgets a device whose state is unknown
        self.count = count

    def run(self, group: str, members: Sequence[ConfigObject], device_of: Mapping[ObjectKey, str],
            note: str = "") -> dict[ObjectKey, Outcome]:
        commit_id = new_commit_id(group)
        devices = list(dict.fromkeys(device_of[m.key] for m in members))
        parts = {d: _DevicePart(d) for d in devices}
        outcomes: dict[ObjectKey, Outcome] = {}
        written: dict[ObjectKey, str] = {}  # object -> device, for those whose changes were prepared
        workers = max(1, min(self.max_workers, len(devices)))

        def info() -> TransactionInfo:
            return TransactionInfo(group, commit_id, tuple((d, parts[d].outcome) for d in devices), note)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nwi-txn") as pool:
            # phase 0: can every device commit with a revert timer?
            refusals = dict(zip(devices, pool.map(self._problem, devices), strict=True))
            bad = {d: p for d, p in refusals.items() if p is not None}
            if bad:
                for d, problem in bad.items():
                    parts[d].outcome = FAILED if isinstance(problem, DriverError) else UNSUPPORTED
                for d in devices:
                    if d not in bad:
                        parts[d].outcome = NOT_PREPARED
                culprit = ", ".join(f"{d}: {_text(p)}" for d, p in bad.items())
                return self._fail_all(members, device_of, bad, culprit, info(), nothing_sent=True)
            record = JournalRecord(commit_id, group, [], [str(m.key) for m in members], PREPARING, time.time())
            if self.journal is not None:
                record.devices = list(devices)
                self.journal.write(record)  # before anything reaches a device
            # phase 1: prepare, wave by wave, the timers of the devices prepared already kept running
            timers = RevertTimers(self.get_driver, commit_id, self.confirm_timeout,
                                  {d: p.lock for d, p in parts.items()}, workers)
            try:
                failed = self._prepare_waves(members, device_of, commit_id, parts, outcomes, written, pool, timers)
            except BaseException:
                timers.close()
                raise
            prepared = [d for d in devices if parts[d].prepared]
            if failed:
                timers.close()
                # and the devices whose prepare may have landed after all (no answer): a cancel that finds
                # nothing pending is harmless, and one that comes too early leaves the device's own timer
                in_doubt = [d for d, e in failed.items() if not isinstance(e, TransactionRejected)]
                list(pool.map(lambda d: self._cancel(d, commit_id, parts), [*prepared, *in_doubt]))
                for d in in_doubt:
                    parts[d].outcome = FAILED
                for d, e in failed.items():
                    if isinstance(e, _Lost) and e.gone:
                        parts[d].outcome = REVERTED + " (by its timer)"
                for d in devices:
                    if d not in failed and not parts[d].prepared and parts[d].outcome == IN_SYNC:
                        parts[d].outcome = NOT_PREPARED if any(device_of[m.key] == d and m.key not in outcomes
                                                               for m in members) else IN_SYNC
                if self.journal is not None:
                    self.journal.remove(commit_id)
                culprit = ", ".join(f"{d}: {e.message}" for d, e in failed.items())
                return self._fail_all(members, device_of, failed, culprit, info(), nothing_sent=False,
                                      blamed=outcomes)
            # phase 2: confirm
            try:
                if prepared and self.journal is not None:
                    record.state = CONFIRMING
                    self.journal.write(record)
            finally:
                timers.close()  # decided: from here on only the confirms count
            list(pool.map(lambda d: self._confirm(d, commit_id, parts), prepared))
        doubt = [d for d in prepared if parts[d].outcome == IN_DOUBT]
        if self.journal is not None and not doubt:
            self.journal.remove(commit_id)  # with a device in doubt, the next run asks it again
        final = info()
        result: dict[ObjectKey, Outcome] = {}
        for m in members:
            device = device_of[m.key]
            o = outcomes[m.key]
            if m.key in written and parts[device].outcome == IN_DOUBT:
                err = parts[device].error
                result[m.key] = Outcome(
                    Phase.FAILED, Reason.TRANSACTION_IN_DOUBT,
                    f"transaction {group} ({commit_id}) was decided, but confirming it on {device} failed "
                    f"({err.message if err else 'no answer'}): the device reverts it by itself unless the "
                    "confirm arrived; the next run asks the device", transaction=final)
            elif m.key in written:
                result[m.key] = Outcome(o.phase, o.reason,
                                        f"{o.message} in transaction {group} ({commit_id}) on {len(devices)} "
                                        "device(s)", o.waiting_on, o.applied_hash, True, final)
            else:
                result[m.key] = Outcome(o.phase, o.reason, o.message, o.waiting_on, o.applied_hash, o.wrote, final)
        return result

    def _prepare_waves(self, members: Sequence[ConfigObject], device_of: Mapping[ObjectKey, str], commit_id: str,
                       parts: dict[str, _DevicePart], outcomes: dict[ObjectKey, Outcome],
                       written: dict[ObjectKey, str], pool: ThreadPoolExecutor,
                       timers: RevertTimers) -> dict[str, DriverError]:
        """Prepare the group wave by wave; the devices that failed (none: every part is pending, and each
        device has a whole timeout left for the confirm)."""
        failed: dict[str, DriverError] = {}
        for wave in internal_waves(members, device_of):
            by_device: dict[str, list[ConfigObject]] = defaultdict(list)
            for m in wave:
                by_device[device_of[m.key]].append(m)
            results = list(pool.map(lambda item: self._prepare(item[0], item[1], commit_id, parts, timers),
                                    by_device.items()))
            for device, (wave_outcomes, wrote_keys, error) in zip(by_device, results, strict=True):
                outcomes.update(wave_outcomes)
                for k in wrote_keys:
                    written[k] = device
                if error is not None:
                    failed[device] = error
            failed.update(_lost(timers.lost()))
            if failed:
                return failed
        # the devices prepared a while ago: still pending? (and a fresh timeout for the confirm)
        return _lost(timers.refresh([d for d, p in parts.items() if p.prepared]))

    # ---- per device (in the coordinator's threads) ---------------------------------------------------
    def _problem(self, device: str) -> str | DriverError | None:
        try:
            return self.get_driver(device).confirmed_commit_problem()
        except DriverError as exc:
            return exc

    def _prepare(self, device: str, objects: list[ConfigObject], commit_id: str, parts: dict[str, _DevicePart],
                 timers: RevertTimers) -> tuple[dict[ObjectKey, Outcome], list[ObjectKey], DriverError | None]:
        with parts[device].lock:
            return self._prepare_locked(device, objects, commit_id, parts, timers)

    def _prepare_locked(self, device: str, objects: list[ConfigObject], commit_id: str,
                        parts: dict[str, _DevicePart],
                        timers: RevertTimers) -> tuple[dict[ObjectKey, Outcome], list[ObjectKey], DriverError | None]:
        part = parts[device]
        try:
            driver = self.get_driver(device)
            txn, to_write, outcomes = self.plan(device, driver, objects)
        except DriverError as exc:
            part.outcome, part.error = FAILED, exc
            return {}, [], exc
        rejected = [o for o in outcomes.values() if o.phase == Phase.FAILED]
        if rejected:  # the planner refused an object's change: the device would not take it either
            part.outcome = REFUSED
            err = TransactionRejected(device, rejected[0].message)
            part.error = err
            return outcomes, [], err
        if not txn:
            return outcomes, [], None
        try:
            self.count()
            started = time.monotonic()  # the device's timer starts after this, so "restarted at" errs early
            driver.prepare(txn, commit_id, self.confirm_timeout)
        except TransactionRejected as exc:
            part.outcome, part.error = REFUSED, exc
            blamed = set(exc.failed_owners)
            for o in to_write:
                if not blamed or str(o.key) in blamed:
                    outcomes[o.key] = Outcome(Phase.FAILED, Reason.TRANSACTION_REJECTED, exc.message)
            return outcomes, [], exc
        except DriverError as exc:
            part.outcome, part.error = FAILED, exc
            self.on_unknown(device)
            for o in to_write:
                outcomes[o.key] = Outcome(Phase.FAILED, _device_reason(exc), str(exc))
            return outcomes, [], exc
        part.prepared = True
        part.outcome = "Prepared"
        timers.restarted(device, started)
        self.on_written(device, txn)
        for o in to_write:
            outcomes[o.key] = Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash=o.desired_hash, wrote=True)
        return outcomes, [o.key for o in to_write], None

    def _cancel(self, device: str, commit_id: str, parts: dict[str, _DevicePart]) -> None:
        self.on_unknown(device)
        try:
            with parts[device].lock:
                self.get_driver(device).cancel(commit_id)
            parts[device].outcome = REVERTED
        except DriverError as exc:
            log.warning("%s: cancelling %s failed (%s); the device reverts it when its timer runs out",
                        device, commit_id, exc)
            parts[device].outcome = REVERTED + " (by its timer)"

    def _confirm(self, device: str, commit_id: str, parts: dict[str, _DevicePart]) -> None:
        try:
            with parts[device].lock:
                self.get_driver(device).confirm(commit_id)
            parts[device].outcome = CONFIRMED
        except DriverError as exc:
            log.error("%s: confirming %s failed: %s", device, commit_id, exc)
            self.on_unknown(device)
            parts[device].outcome, parts[device].error = IN_DOUBT, exc

    def _fail_all(self, members: Sequence[ConfigObject], device_of: Mapping[ObjectKey, str],
                  culprits: Mapping[str, object], why: str, txn: TransactionInfo, nothing_sent: bool,
                  blamed: Mapping[ObjectKey, Outcome] | None = None) -> dict[ObjectKey, Outcome]:
        result: dict[ObjectKey, Outcome] = {}
        aftermath = ("nothing was sent to any device" if nothing_sent
                     else "every device prepared was cancelled: nothing of it stays on any device")
        for m in members:
            device = device_of[m.key]
            own = (blamed or {}).get(m.key)
            culprit = culprits.get(device)
            if own is not None and own.phase == Phase.FAILED:
                result[m.key] = Outcome(own.phase, own.reason, f"{own.message}; transaction {txn.group} aborted, "
                                        f"{aftermath}", own.waiting_on, transaction=txn)
            elif isinstance(culprit, str):
                result[m.key] = Outcome(Phase.FAILED, Reason.CONFIRMED_COMMIT_UNSUPPORTED,
                                        f"{culprit}; transaction {txn.group} refused, {aftermath}", transaction=txn)
            elif isinstance(culprit, DriverError) and nothing_sent:
                result[m.key] = Outcome(Phase.FAILED, _device_reason(culprit), f"{culprit}; transaction "
                                        f"{txn.group} refused, {aftermath}", transaction=txn)
            else:
                result[m.key] = Outcome(Phase.FAILED, Reason.TRANSACTION_ABORTED,
                                        f"transaction {txn.group} aborted ({why}); {aftermath}", transaction=txn)
        return result


class _Lost(TransactionRejected):
    """A prepared device's part is gone before the decision (``gone``), or its timer could not be extended."""

    def __init__(self, device: str, cause: DriverError) -> None:
        self.gone = isinstance(cause, TransactionRejected)
        super().__init__(device, f"its part reverted before the decision ({cause.message})" if self.gone
                         else f"its revert timer could not be extended before the decision ({cause.message})")


def _lost(errors: Mapping[str, DriverError]) -> dict[str, DriverError]:
    return {d: _Lost(d, e) for d, e in errors.items()}


def _text(problem: object) -> str:
    return problem.message if isinstance(problem, DriverError) else str(problem)




def _device_reason(exc: DriverError) -> Reason:
    return reason_of_driver_error(exc.reason)


# ---- after a restart ----------------------------------------------------------------------------------------
@dataclass
class Recovered:
    """What an interrupted transaction left, as its devices tell it."""

    record: JournalRecord
    devices: dict[str, str]  # device -> CommitOutcome (or why it could not be asked)

    @property
    def complete(self) -> bool:
        return all(d in self.record.answers for d in self.record.devices)

    def describe(self) -> str:
        decided = "after the decision to confirm" if self.record.state == CONFIRMING else "before it was decided"
        devs = ", ".join(f"{d} {o}" for d, o in self.devices.items()) or "no device was prepared"
        text = f"transaction {self.record.group} ({self.record.id}) was interrupted {decided}; devices: {devs}"
        if not self.complete:
            text += (". A device not asked settled it by itself (its timer reverted what no confirm reached); "
                     "the first run that reaches it asks it and closes the record, which is not reported again "
                     "until then")
        return text


NOT_IN_RUN = "not asked (not in this run)"


def recover(journal: TransactionJournal, get_driver: Callable[[str], Driver],
            known: Callable[[str], bool]) -> list[Recovered]:
    """Resolve the open journal records this run can: a commit still pending is confirmed when the decision
    was taken, else cancelled (presumed abort); each device says what became of it. A record is closed once
    all its devices answered; one with a device this run does not reach (or that did not answer) stays,
    with the answers so far, for a later run. A record is reported the first time it is found, and then
    only when a device adds an answer: runs that reach none of its devices stay quiet about it."""
    out = []
    for record in journal.open_records():
        confirm = record.state == CONFIRMING
        unasked: dict[str, str] = {}
        added = False
        for device in record.devices:
            if device in record.answers:
                continue
            if not known(device):
                unasked[device] = NOT_IN_RUN
                continue
            try:
                record.answers[device] = str(get_driver(device).resolve_commit(record.id, confirm))
                added = True
            except DriverError as exc:
                unasked[device] = f"not asked ({exc.message})"
        rec = Recovered(record, {d: record.answers.get(d) or unasked[d] for d in record.devices})
        if rec.complete:
            journal.remove(record.id)
        if added or not record.reported:
            record.reported = True
            if not rec.complete:
                journal.write(record)
            log.warning("%s", rec.describe())
            out.append(rec)
        else:
            log.debug("%s (reported before)", rec.describe())
    return out


__all__ = ["ATOMIC_GROUP", "CommitOutcome", "Coordinator", "GroupNode", "Recovered", "condense", "group_of",
           "groups", "recover"]
