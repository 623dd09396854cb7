"""What the kopf handlers do, kept apart from kopf's decorators (see ``handlers.py``).

Handlers stay thin: they put what they saw into the index, queue the object
with the reconciler and turn the outcome into kopf's vocabulary. kopf owns
retries (``TemporaryError`` with a backoff computed from its retry count),
finalizers and progress.

Some things are not left to kopf's per-object cycle, for throughput at
thousands of objects (each watch event and each write costs the operator and
the API server alike; a new object now costs two writes of nwi's, the
finalizer and its outcome's status, and three watch events):

* kopf spends a new object's first processing cycle adding its finalizer and
  runs the create handler only on the next event. The watch event of a new
  object therefore already queues its work (:meth:`Controller.observe`), in
  the same pass as the finalizer; the create handler that follows shares that
  work's outcome (or finds the object Ready) instead of doing it again.
* kopf's diff base lives in memory (:mod:`nwi.operator.diffbase`), not in an
  annotation written after every handled change, and kopf's "kopf-managed"
  marker rides on the finalizer's patch (:func:`~nwi.operator.handlers.mark_managed`).
* A watch event rebuilds (validates) the object only when its uid,
  generation or nwi annotations changed (:func:`entry_of`): most events carry
  a new status, not a new spec.
* Drift: gNMI devices are watched by subscription (:mod:`nwi.operator.watch`);
  the rest (NETCONF, virtual devices, and Waiting objects as a backstop) are
  re-checked by one timer for all objects, every ``drift_interval``, in one
  engine run (one read per device), not by a kopf timer per object (a task
  each, and a run each).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kopf

from nwi.inventory import DEFAULT_INVENTORY_NAMESPACE
from nwi.kinds import CONFIG_KINDS, DEVICE_PLURAL, GROUP
from nwi.loader import InvalidInput, build_object
from nwi.model import ConfigObject, DeviceObject, ObjectKey, Source
from nwi.operator.diffbase import ACTED_ON, HandledInMemory
from nwi.operator.index import DeviceIndex, Entry, ObjectIndex, resource_version
from nwi.operator.kubeapi import Api
from nwi.operator.metrics import Metrics
from nwi.operator.reconciler import Reconciler, Settings
from nwi.operator.watch import DriftWatch
from nwi.status import ObjectStatus, Outcome, Phase, Reason
from nwi.transaction import group_of

log = logging.getLogger(__name__)

FINALIZER = f"{GROUP}/finalizer"

#: failures that no retry can fix: the object itself must change
PERMANENT = {Reason.DEPENDENCY_CYCLE, Reason.INVALID}
# where /metrics and /healthz listen unless told otherwise: not every address of a developer's machine
LOOPBACK = "127.0.0.1"


@dataclass
class OperatorConfig:
    """Everything ``nwi operator`` is told on its command line."""

    kubeconfig: Path | None = None
    context: str | None = None
    namespaces: list[str] = field(default_factory=list)  # empty: the whole cluster
    selector: str = ""  # label selector for config objects (sharding)
    inventory_namespace: str = DEFAULT_INVENTORY_NAMESPACE
    state_dir: Path = Path("/var/lib/nwi")
    drift_interval: float = 300.0
    wait_recheck: float = 60.0  # backstop re-check of Blocked deletions (the index wakes them on change)
    retry_base: float = 2.0
    retry_max: float = 300.0
    batch_window: float = 0.05
    workers: int = 16
    subscribe: bool = True  # drift on gNMI devices by Subscribe STREAM ON_CHANGE instead of the timer
    metrics_port: int = 8000  # 0: off
    health_port: int = 8080  # 0: off
    listen_address: str = LOOPBACK  # of /metrics and /healthz; the Deployment sets 0.0.0.0
    yang_paths: tuple[Path, ...] = ()  # --yang-path: objects are checked against their kind's models first
    confirm_timeout: int = 60  # network-wide transactions: a prepared device reverts unless confirmed by then

    def liveness_endpoint(self) -> str | None:
        """kopf's /healthz URL (kopf listens where it points), or None when off."""
        if not self.health_port:
            return None
        host = f"[{self.listen_address}]" if ":" in self.listen_address else self.listen_address
        return f"http://{host}:{self.health_port}/healthz"
    peering: str | None = None  # kopf peering object name (None: auto-detect "default")
    standalone: bool = False
    priority: int | None = None


def backoff(retry: int, base: float, cap: float) -> float:
    """Exponential backoff for kopf's retry count (0 on the first retry)."""
    return float(min(cap, base * (2 ** min(retry, 30))))


def jittered(delay: float, rand: Callable[[], float] = random.random, spread: float = 0.2) -> float:
    """``delay`` less up to ``spread`` of it at random: objects that failed together do not retry in lockstep."""
    return delay * (1 - spread * rand())


def plain(body: Mapping[str, Any]) -> dict[str, Any]:
    """kopf's body view as plain dicts (the loader wants mappings it can index)."""
    return {k: v for k, v in body.items()}


def basis_of(meta: Mapping[str, Any], spec: Any) -> tuple[Any, ...]:
    """What an object's build depends on besides its name: uid, generation (the spec's version) and the
    annotations nwi reads. The spec itself stands in only when there is no generation to vouch for it."""
    annotations = meta.get("annotations")
    acted_on = tuple(annotations.get(k) for k in ACTED_ON) if isinstance(annotations, Mapping) else (annotations,)
    generation = meta.get("generation")
    return (meta.get("uid"), generation, acted_on, None if isinstance(generation, int) else repr(spec))


def entry_of(body: Mapping[str, Any], known: Entry | None = None) -> Entry:
    """The index entry for a watch event's body. The object is built (validated) only when its basis changed
    since ``known``: most events of an object carry a new status, not a new spec, and building was most of
    the cost of an event at thousands of objects."""
    doc = plain(body)
    meta = doc.get("metadata") or {}
    key = ObjectKey(str(doc.get("kind")), str(meta.get("namespace")), str(meta.get("name")))
    basis = basis_of(meta, doc.get("spec"))
    if known is not None and known.key == key and known.basis == basis:
        obj, error = known.obj, known.error
    else:
        obj, error = _build(doc, key)
    generation = meta.get("generation")
    return Entry(
        key=key,
        obj=obj,
        status=ObjectStatus.from_dict(doc.get("status")),
        status_version=resource_version(meta.get("resourceVersion", 0)),
        deleting=bool(meta.get("deletionTimestamp")),
        uid=str(meta.get("uid") or ""),
        error=error,
        generation=generation if isinstance(generation, int) else None,
        basis=basis,
        version=resource_version(meta.get("resourceVersion", 0)),
    )


def _build(doc: dict[str, Any], key: ObjectKey) -> tuple[ConfigObject | None, str]:
    try:
        built = build_object(doc, Source(f"{key.kind} {key.namespace}/{key.name}"), key.namespace)
    except InvalidInput as exc:
        return None, "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in exc.errors)
    return (built if isinstance(built, ConfigObject) else None), ""


class Controller:
    def __init__(self, cfg: OperatorConfig, api: Api, metrics: Metrics) -> None:
        self.cfg = cfg
        self.api = api
        self.index = ObjectIndex()
        self.devices = DeviceIndex()
        self.diffbase = HandledInMemory()
        self.reconciler = Reconciler(self.index, self.devices, api, metrics, Settings(
            cfg.state_dir, cfg.inventory_namespace, cfg.batch_window, cfg.workers, cfg.yang_paths,
            cfg.confirm_timeout))
        self.watch = DriftWatch(self.index, self.devices, cfg.inventory_namespace, self.reconciler.open_driver,
                                self._drifted, metrics, decided_at=self.reconciler.sink.decided_at,
                                ) if cfg.subscribe else None
        self._timer: asyncio.Task[None] | None = None

    # ---- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self.prime)
        await self.reconciler.start()
        if self.watch is not None:
            self.watch.start()
        self._timer = asyncio.create_task(self._drift_timer(), name="nwi-drift-timer")

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.watch is not None:
            await asyncio.to_thread(self.watch.stop)
        await self.reconciler.stop()

    def prime(self) -> None:
        """List everything once before handlers run, so a dependency is never 'not found' for being unseen yet."""
        namespaces = self.watched_namespaces()
        for device in self.api.list_objects(DEVICE_PLURAL, namespaces, ""):
            self.observe_device(device, None)
        config_ns = list(self.cfg.namespaces)
        for kind in CONFIG_KINDS.values():
            for body in self.api.list_objects(kind.plural, config_ns, self.cfg.selector):
                self.index.upsert(entry_of({"kind": kind.kind, **body}))
        log.info("primed: %d config object(s), %d device(s)", len(self.index.keys()), len(self.devices.all()))

    def watched_namespaces(self) -> list[str]:
        """kopf's namespaces: the shard's, plus the inventory namespace for shared Devices (empty: all)."""
        if not self.cfg.namespaces:
            return []
        return sorted({*self.cfg.namespaces, self.cfg.inventory_namespace})

    def in_scope(self, namespace: str | None) -> bool:
        return not self.cfg.namespaces or namespace in self.cfg.namespaces

    # ---- watch events ------------------------------------------------------------------------------
    def observe(self, body: Mapping[str, Any], event_type: str | None) -> None:
        entry = self._entry_of(body)
        if event_type == "DELETED":
            self.index.remove(entry.key)
            self.reconciler.sink.forget(entry.key)
            self.diffbase.forget(entry.uid)
            return
        self.index.upsert(entry)
        meta = body.get("metadata") or {}
        if (event_type == "ADDED" and entry.obj is not None and not entry.deleting
                and FINALIZER not in (meta.get("finalizers") or ()) and not self.index.is_ready(entry)):
            # kopf adds the finalizer in this cycle and calls the create handler in the next one:
            # start the work now (the handler then shares its outcome)
            self.reconciler.enqueue(entry.key)
        elif entry.obj is not None and not entry.deleting and self.index.is_ready(entry) and self._group_changed(entry):
            # an edit of the transaction annotations alone: kopf's diff (the spec) sees nothing, no
            # handler runs, yet the status must join or leave the group
            self.reconciler.enqueue(entry.key)

    def _entry_of(self, body: Mapping[str, Any]) -> Entry:
        meta = body.get("metadata") or {}
        known = self.index.get(ObjectKey(str(body.get("kind")), str(meta.get("namespace")), str(meta.get("name"))))
        version = resource_version(meta.get("resourceVersion", 0))
        if known is not None and version and known.version == version and known.uid == str(meta.get("uid") or ""):
            # this very version is indexed already (kopf's start-up pass hands every object the priming
            # list indexed to both handlers): a new entry and status each would be allocated amid kopf's
            # short-lived bodies, hundreds of MB at 100k objects that the process could not give back
            return known
        return entry_of(body, known)

    def observe_device(self, body: Mapping[str, Any], event_type: str | None) -> None:
        doc = plain(body)
        meta = doc.get("metadata") or {}
        key = ObjectKey("Device", str(meta.get("namespace")), str(meta.get("name")))
        if event_type == "DELETED":
            self.devices.remove(key)
            return
        try:
            device = build_object({"kind": "Device", **doc}, Source(f"Device {key.namespace}/{key.name}"),
                                  key.namespace)
        except InvalidInput as exc:
            log.warning("Device %s/%s is invalid and ignored: %s", key.namespace, key.name,
                        "; ".join(f"{e.field}: {e.message}" for e in exc.errors))
            self.devices.remove(key)
            return
        assert isinstance(device, DeviceObject)
        if self.devices.upsert(device) and event_type is not None:
            # a new or changed Device: objects that could not reach it try again now
            for obj_key in self.index.using_device(key.name):
                entry = self.index.get(obj_key)
                if entry is not None and not self.index.is_ready(entry) and not entry.deleting:
                    self.reconciler.enqueue(obj_key)

    # ---- change handlers ---------------------------------------------------------------------------
    async def apply(self, body: Mapping[str, Any], retry: int, reason: str = "create") -> None:
        """Create/update/resume: bring the object onto its device (or say why not)."""
        self.reconciler.metrics.handler_calls.labels(reason).inc()
        entry = self._entry_of(body)
        self.index.upsert(entry)
        if entry.deleting:
            return
        if entry.obj is None:
            await asyncio.to_thread(self.reconciler.report, entry.key,
                                    Outcome(Phase.FAILED, Reason.INVALID, f"invalid: {entry.error}"))
            return  # permanent until the object is edited (kopf calls us again then)
        if self.index.is_ready(entry) and (reason != "resume" or self.watched(entry.key)):
            # applied at this spec already (the watch event's early start, or before a restart, with
            # the device's stream to tell drift): nothing to read or write. A resumed object on an
            # unwatched device is re-read once, as the timer would.
            return
        outcome = await self.reconciler.reconcile(entry.key)
        self.raise_for(outcome, retry)

    def _group_changed(self, entry: Entry) -> bool:
        """The object joined or left a network-wide transaction since its status was decided: an edit of
        annotations alone, which changes neither its spec nor its hash, must still reach its status."""
        decided = self.index.decided(entry.key)
        txn = (decided if decided is not None else entry.status).transaction
        return entry.obj is not None and (txn.group if txn else "") != group_of(entry.obj, atomic=False)

    def watched(self, key: ObjectKey) -> bool:
        """The object's device is (or is about to be) watched by subscription."""
        if self.watch is None:
            return False
        entry = self.index.get(key)
        return entry is not None and entry.obj is not None and self.watch.watchable(entry.obj)

    def raise_for(self, outcome: Outcome | None, retry: int) -> None:
        """Translate an outcome into kopf: done, retry later, or retry with backoff."""
        if outcome is None or outcome.phase in (Phase.READY, Phase.DRIFTED):
            return
        if outcome.phase == Phase.WAITING:
            # nothing to retry: the dependency turning Ready wakes this object (the sink's trigger),
            # and the periodic timer re-checks it as a backstop
            return
        if outcome.phase == Phase.FAILED and outcome.reason in PERMANENT:
            return
        raise kopf.TemporaryError(outcome.message, delay=self.retry_delay(retry))

    def retry_delay(self, retry: int) -> float:
        """kopf's delay before retry number ``retry`` (0 first): exponential, capped, jittered."""
        return jittered(backoff(retry, self.cfg.retry_base, self.cfg.retry_max))

    async def delete(self, body: Mapping[str, Any], retry: int) -> None:
        """Remove the object's config from its device, then let kopf release the finalizer."""
        entry = self._entry_of(body)
        self.index.upsert(entry)
        key = entry.key
        outcome = await self.reconciler.remove(key)
        while outcome is not None and outcome.phase == Phase.BLOCKED:
            # the index wakes us on every change; retry as soon as no dependent is left
            gone = await self.index.wait_until(lambda: not self.index.dependents(key), self.cfg.wait_recheck)
            if not gone:
                raise kopf.TemporaryError(outcome.message, delay=1)
            outcome = await self.reconciler.remove(key)
        if outcome is None or outcome.phase == Phase.DELETING:
            return
        raise kopf.TemporaryError(outcome.message, delay=self.retry_delay(retry))

    # ---- drift -----------------------------------------------------------------------------------
    def _drifted(self, keys: list[ObjectKey]) -> None:
        """From a device's stream (its thread): these objects' device state changed; reconcile them."""
        for key in keys:
            self.reconciler.enqueue_threadsafe(key)

    async def _drift_timer(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.drift_interval)
            self.reconciler.metrics.timer_runs.inc()
            due = self.drift_due()
            if due:
                log.debug("drift timer: re-checking %d object(s)", len(due))
            for key in due:
                self.reconciler.enqueue(key)  # one run for all: one read per device

    def drift_due(self) -> list[ObjectKey]:
        """Objects the timer re-checks: believed in sync on a device no stream covers, and Waiting ones.

        (Waiting objects are woken by their dependency's trigger; the timer is the backstop. Failed
        objects are kopf's to retry, with backoff.)
        """
        out = []
        for entry in self.index.entries():
            if entry.obj is None or entry.deleting:
                continue
            status = self.index.decided(entry.key) or entry.status
            watched = self.watch is not None and self.watch.covers(entry.key)
            if status.phase == Phase.WAITING or (status.phase in (Phase.READY, Phase.DRIFTED) and not watched):
                out.append(entry.key)
        return out
