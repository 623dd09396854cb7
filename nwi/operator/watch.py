"""Drift by subscription: every gNMI device is watched with one Subscribe STREAM (ON_CHANGE) on nwi's paths.

A timer that re-reads every device finds a hand change only at its next tick
and costs a Get per device per tick for nothing. Instead, for each gNMI
Device that config objects use, a thread holds one subscription on the paths
of those objects and mirrors what the device sends. The paths are those of
the objects with every list key a wildcard (:func:`subscription_paths`): a
device holds its hundreds of objects in a few lists (customers, services,
ports), and one subscription path per list, not per object, keeps the
subscription short (a target matches every change against every path: with
a path per object that was most of the mock fleet's CPU in a 10k-object run)
and unchanged while objects of those lists come and go. List entries nwi
does not manage come along and are ignored. When a change arrives, the objects under
the changed leaves are compared with the mirror (the planner's own
comparison): an object believed Ready that no longer matches — or one
Drifted that matches again — is queued with the reconciler, whose engine
reads the device and repairs or reports it per ``driftPolicy``. nwi's own
writes come back as changes too; they match, so they cost a comparison and no
request. An operator with nothing to do sends nothing to these devices.

The set of paths is fixed for a gNMI subscription's life, so the stream is
opened again when the paths of the device's objects change, once they have
stayed the same for ``settle`` seconds (a thousand objects created one by one
reopen it once, not a thousand times; until then the old stream goes on).
The initial snapshot of a stream is not compared for objects nwi wrote after
the stream was requested: the snapshot may predate that write (their own
changes arrive on the stream right after). A stream that breaks is opened again with exponential
backoff, and its initial snapshot is compared in full: what changed while it
was down is found then (resync). Until a device's stream has delivered its
snapshot, its objects are not "covered", and the operator's drift timer
checks them as it checks NETCONF and virtual devices.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from nwi.drivers.base import Driver, DriverError
from nwi.inventory import DeviceNotFound, Inventory
from nwi.model import ConfigObject, ObjectKey
from nwi.operator.index import DeviceIndex, ObjectIndex
from nwi.operator.metrics import Metrics
from nwi.path import GnmiPath, PathElem
from nwi.planner import plan_object
from nwi.status import Phase
from nwi.tree import Tree, TreeError

log = logging.getLogger(__name__)

#: reconnects of a broken stream back off from BACKOFF_BASE to BACKOFF_MAX seconds
BACKOFF_BASE, BACKOFF_MAX = 0.5, 30.0


def covering_paths(paths: Iterable[GnmiPath]) -> frozenset[GnmiPath]:
    """The paths to subscribe to: each path once, leaving out those inside another one."""
    chosen: set[GnmiPath] = set()
    for p in sorted(set(paths), key=lambda p: len(p.elems)):  # outer paths first
        if not any(GnmiPath(p.elems[:i], p.origin) in chosen for i in range(len(p.elems))):
            chosen.add(p)
    return frozenset(chosen)


def wildcarded(path: GnmiPath) -> GnmiPath:
    """``path`` with every list key ``*``: the list it lives in."""
    return GnmiPath(tuple(PathElem(e.name, tuple((k, "*") for k, _ in e.keys)) for e in path.elems), path.origin)


def subscription_paths(paths: Iterable[GnmiPath]) -> frozenset[GnmiPath]:
    """What to subscribe to for objects at ``paths``: each path with every list key ``*``, covered ones left out."""
    return covering_paths(wildcarded(p) for p in paths)


@dataclass(frozen=True, slots=True)
class _Resolved:
    obj: ConfigObject
    device_id: str | None  # None: not on a gNMI device
    path: GnmiPath | None  # the object's path, wildcarded


def _resolve(obj: ConfigObject, inventory: Inventory) -> _Resolved:
    try:
        rd = inventory.resolve(obj)
    except DeviceNotFound:
        return _Resolved(obj, None, None)
    if rd.device is None or rd.spec.driver != "gnmi":
        return _Resolved(obj, None, None)
    return _Resolved(obj, rd.id, wildcarded(obj.device_path))


@dataclass
class _Plan:
    """What one device's stream watches: the subscription paths and the objects behind them."""

    paths: frozenset[GnmiPath]
    keys: frozenset[ObjectKey]
    sample: ConfigObject  # an object on the device: it says how to reach the device (and with which Secret)


@dataclass
class _Stream:
    device: str
    plan: _Plan
    stop: threading.Event = field(default_factory=threading.Event)
    synced: bool = False
    requested: float = 0.0  # monotonic time the subscription was asked for
    thread: threading.Thread | None = None
    cancel: Callable[[], None] | None = None


class DriftWatch:
    """One subscription per gNMI device in use; reports objects to re-check through ``on_drift``."""

    def __init__(
        self,
        index: ObjectIndex,
        devices: DeviceIndex,
        inventory_namespace: str,
        open_driver: Callable[[ConfigObject], Driver],
        on_drift: Callable[[list[ObjectKey]], None],
        metrics: Metrics | None = None,
        settle: float = 2.0,
        decided_at: Callable[[ObjectKey], float] = lambda key: 0.0,
    ) -> None:
        """``decided_at(key)``: monotonic time nwi last decided a status for ``key`` (0: never)."""
        self.index = index
        self.devices = devices
        self.inventory_namespace = inventory_namespace
        self.open_driver = open_driver
        self.on_drift = on_drift
        self.settle = settle
        self.metrics = metrics or Metrics()
        self.decided_at = decided_at
        self._candidates: dict[str, tuple[frozenset[GnmiPath], float]] = {}  # device -> (new paths, since)
        #: each object's device id and wildcarded path as last resolved, per object and per device, and each
        #: device's plan: kept while the object and the Devices stay the same (see plans)
        self._touched = index.track()
        self._devices_seen = devices.version
        self._resolved: dict[ObjectKey, _Resolved] = {}
        self._on_device: dict[str, dict[ObjectKey, _Resolved]] = {}
        self._plans: dict[str, _Plan] = {}
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._refresh_loop, name="nwi-drift-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            streams = list(self._streams.values())
            self._streams.clear()
        for stream in streams:
            self._end(stream)

    def covers(self, key: ObjectKey) -> bool:
        """True when ``key``'s device is watched and its stream has delivered its snapshot."""
        known = self._resolved.get(key)
        with self._lock:
            stream = self._streams.get(known.device_id) if known is not None and known.device_id else None
            return stream is not None and stream.synced and key in stream.plan.keys

    def watchable(self, obj: ConfigObject) -> bool:
        """True when ``obj`` goes to a gNMI Device (so a stream watches, or will watch, it)."""
        for namespace in (obj.key.namespace, self.inventory_namespace):
            device = self.devices.get(ObjectKey("Device", namespace, obj.spec.switch_id))
            if device is not None:
                return device.spec.driver == "gnmi"
        return False

    # ---- which devices, which paths ----------------------------------------------------------------
    def _refresh_loop(self) -> None:
        seen = (-1, -1)
        while not self._stop.wait(min(self.settle, 1.0)):
            version = (self.index.version, self.devices.version)
            if version == seen and not self._candidates:
                continue
            seen = version
            try:
                self.refresh()
            except Exception:  # a bug here must not end drift detection for good
                log.exception("drift watch: refresh failed")

    def plans(self) -> dict[str, _Plan]:
        """Per gNMI device id: the paths its objects occupy and the objects.

        Kept up to date from the objects the index says changed since the last
        call (all of them again when a Device changed): a refresh runs every
        second while objects change, and going through every object each time
        was a tenth of the operator's CPU at 10k.
        """
        touched = self._touched()
        if self.devices.version != self._devices_seen:
            self._devices_seen = self.devices.version
            touched |= set(self._resolved)
        if touched:
            inventory = Inventory(self.devices.all(), (), self.inventory_namespace, strict=True, environ={})
            dirty: set[str] = set()
            for key in touched:
                old = self._resolved.get(key)
                if old is not None and old.device_id is not None:
                    dirty.add(old.device_id)
                    self._on_device[old.device_id].pop(key, None)
                entry = self.index.get(key)
                if entry is None or entry.obj is None or entry.deleting:
                    self._resolved.pop(key, None)
                    continue
                known = _resolve(entry.obj, inventory)
                self._resolved[key] = known  # replaced, never missing meanwhile: covers() reads it unlocked
                if known.device_id is not None:
                    dirty.add(known.device_id)
                    self._on_device.setdefault(known.device_id, {})[key] = known
            for device in dirty:
                objects = self._on_device.get(device)
                if objects:
                    self._plans[device] = _Plan(covering_paths(r.path for r in objects.values() if r.path),
                                                frozenset(objects), next(iter(objects.values())).obj)
                else:
                    self._on_device.pop(device, None)
                    self._plans.pop(device, None)
        return dict(self._plans)

    def refresh(self) -> None:
        """Open, reopen (paths changed) or end streams so that they match the objects now known."""
        plans = self.plans()
        now = time.monotonic()
        ended: list[_Stream] = []
        started: list[_Stream] = []
        with self._lock:
            for device in list(self._candidates):
                if device not in plans:
                    del self._candidates[device]
            for device, stream in list(self._streams.items()):
                plan = plans.get(device)
                if plan is None:
                    ended.append(self._streams.pop(device))
                elif plan.paths != stream.plan.paths:
                    paths, since = self._candidates.get(device, ((), now))
                    if paths != plan.paths:
                        self._candidates[device] = (plan.paths, now)  # changed again: wait for it to settle
                    elif now - since >= self.settle:
                        del self._candidates[device]
                        ended.append(self._streams.pop(device))
                else:
                    self._candidates.pop(device, None)
                    stream.plan = plan  # same paths: the stream goes on, with the objects as they are now
            for device, plan in plans.items():
                if device not in self._streams:
                    stream = _Stream(device, plan)
                    self._streams[device] = stream
                    started.append(stream)
        for stream in ended:
            self._end(stream)
        for stream in started:
            stream.thread = threading.Thread(target=self._run, args=(stream,), name=f"nwi-watch-{stream.device}",
                                             daemon=True)
            stream.thread.start()

    def _end(self, stream: _Stream) -> None:
        stream.stop.set()
        cancel = stream.cancel
        if cancel is not None:
            cancel()

    # ---- one device's stream (its own thread) ------------------------------------------------------
    def _run(self, stream: _Stream) -> None:
        failures = 0
        while not stream.stop.is_set() and not self._stop.is_set():
            driver: Driver | None = None
            try:
                driver = self.open_driver(stream.plan.sample)
                subscribe = getattr(driver, "subscribe", None)
                if subscribe is None:
                    return  # not a gNMI driver after all (the Device changed): the timer covers it
                driver.connect()
                stream.requested = time.monotonic()
                sub = subscribe(sorted(stream.plan.paths, key=str))
                stream.cancel = sub.cancel
                if stream.stop.is_set():
                    sub.cancel()
                self.metrics.streams_opened.inc()
                mirror = Tree()
                for telemetry in sub:
                    for path in telemetry.deletes:
                        _quiet(mirror.delete, path)
                    for path, value in telemetry.updates.items():
                        _quiet(mirror.replace, path, value)
                    if telemetry.sync:
                        failures = 0
                        stream.synced = True
                        self.metrics.streams_synced.inc()
                        log.info("watching %s: %d path(s) by subscription", stream.device, len(stream.plan.paths))
                        self._check(stream, mirror, None)
                    elif stream.synced:
                        self._check(stream, mirror, [*telemetry.updates, *telemetry.deletes])
            except DriverError as exc:
                failures += 1
                log.warning("drift watch on %s: %s", stream.device, exc)
            except Exception:
                failures += 1
                log.exception("drift watch on %s failed", stream.device)
            finally:
                if stream.synced:
                    self.metrics.streams_synced.dec()
                stream.synced = False
                stream.cancel = None
                if driver is not None:
                    try:
                        driver.close()
                    except Exception:  # closing is best effort
                        log.debug("closing the watch driver of %s", stream.device, exc_info=True)
            delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** min(max(failures - 1, 0), 10))
            stream.stop.wait(delay)

    def _check(self, stream: _Stream, mirror: Tree, changed: list[GnmiPath] | None) -> None:
        """Queue the objects (under ``changed`` leaves; all when None) whose device state says so."""
        out: list[ObjectKey] = []
        for key in stream.plan.keys:
            entry = self.index.get(key)
            if entry is None or entry.obj is None or entry.deleting:
                continue
            obj = entry.obj
            path = obj.device_path
            if changed is not None and not any(path.is_prefix_of(c) or c.is_prefix_of(path) for c in changed):
                continue
            status = self.index.decided(key) or entry.status
            if status.applied_hash != obj.desired_hash or status.phase not in (Phase.READY, Phase.DRIFTED):
                continue  # not applied yet, or failed: the reconciler is on it already
            if changed is None and self.decided_at(key) >= stream.requested:
                continue  # the snapshot may predate nwi's write; that write's changes come next
            try:
                in_sync = plan_object(obj, stream.device, mirror.get(path)).in_sync
            except TreeError:
                in_sync = False
            self.metrics.stream_checks.inc()
            if in_sync != (status.phase == Phase.READY):
                out.append(key)
        if out:
            log.info("drift watch on %s: %d object(s) to check: %s", stream.device, len(out),
                     ", ".join(str(k) for k in sorted(out)[:5]) + (" ..." if len(out) > 5 else ""))
            self.on_drift(out)


def _quiet(fn: Callable[..., None], *args: object) -> None:
    # a leaf the mirror cannot place (a device's odd path) cannot make drift either
    with contextlib.suppress(TreeError):
        fn(*args)
