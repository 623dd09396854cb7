"""The reconcile queue between kopf handlers and the engine.

Handlers (one kopf worker per object) only enqueue a key and await its
outcome; a single queue worker drains everything queued at that moment into
one :meth:`Engine.apply` (or :meth:`Engine.remove`) run. So objects for one
device that become ready together go out as one transaction (the engine groups
them), a dependency chain created at once is applied in order in one run, and
no object is ever in two runs at the same time (one writer per object).
A request for an object already queued, or in the running batch at the
spec that batch holds, shares that request's outcome instead of starting
another run (kopf's create handler and the watch event that started the work
ask for the same thing).

The engine runs in a worker thread; it reports through the
:class:`~nwi.operator.sink.KubeStatusSink`, whose "turned Ready" callback
queues the object's waiting dependents: the prompt trigger, not a poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from nwi.drivers.base import Driver, DriverError
from nwi.drivers.gnmi import GnmiDriver
from nwi.engine import DriverPool, Engine, RunReport
from nwi.inventory import DeviceNotFound, DeviceUnfit, Inventory, ResolvedDevice, unfit_reason
from nwi.journal import FileJournal
from nwi.kinds import DEVICE_KIND
from nwi.model import ConfigObject, ObjectKey, SecretObject
from nwi.operator.index import DeviceIndex, ObjectIndex
from nwi.operator.kubeapi import Api
from nwi.operator.metrics import Metrics
from nwi.operator.models import model_dirs
from nwi.operator.sink import KubeStatusSink
from nwi.status import Outcome, Phase, Reason, derive_status, now

log = logging.getLogger(__name__)

_Factory = Callable[[str], Driver]
_EngineCall = Callable[[Engine, dict[ObjectKey, str]], RunReport]

#: seconds a device Secret read is used before it is read again (see _SecretCache)
SECRET_TTL = 10.0
#: reasons that say something about the device rather than the object
DEVICE_REASONS = {Reason.DEVICE_UNREACHABLE, Reason.AUTHENTICATION_FAILED, Reason.DEVICE_ERROR}


def schema_failures(objects: list[ConfigObject], yang_paths: tuple[Path, ...]) -> dict[ObjectKey, Outcome]:
    """Objects their kind's YANG models refuse (as ``nwi validate`` would): Failed, naming the leaf; never sent."""
    if not yang_paths:
        return {}
    from nwi.schema.check import check_configs

    report = check_configs(objects, yang_paths)
    out: dict[ObjectKey, Outcome] = {}
    for key, result in report.results.items():
        if result.issues:
            words = "; ".join(f"{i.path}: {i.message}" for i in result.issues[:3])
            out[key] = Outcome(Phase.FAILED, Reason.INVALID, f"not valid in its YANG models: {words}")
    return out


class DeviceMissing(DriverError):
    """``spec.switchID`` names no Device (in the object's namespace or the inventory namespace)."""

    reason = "DeviceNotFound"


@dataclass
class Settings:
    state_dir: Path = Path("/var/lib/nwi")
    inventory_namespace: str = "nwi-system"
    batch_window: float = 0.05  # seconds to gather objects that become ready together into one run
    workers: int = 16  # devices worked on at once within a run; status writes sent at once
    yang_paths: tuple[Path, ...] = ()  # YANG models: objects are checked against their kind's before sending
    confirm_timeout: int = 60  # network-wide transactions: seconds a prepared device waits for the confirm
    transient_delay: float = 1.0  # seconds an Applying/Waiting status waits before it is written


class _Sessions:
    """gNMI sessions kept open from one engine run to the next.

    An engine run opens each device's driver when it first needs it; at 2,000
    objects created one by one there are hundreds of runs, and opening a gNMI
    session each time (channel, TLS context, Capabilities) was 6 % of the
    operator's CPU in a profile. A session is kept per device with a digest of
    what it was opened with (address, credentials, TLS): a changed Device or
    Secret opens a new one. One that failed in a run, or holds a commit not
    confirmed yet, is closed and opened afresh next time. Only plain gNMI
    sessions are kept: a gRPC channel survives idle time and gRPC re-opens a
    broken connection, where a NETCONF/SSH session may be cut while idle; a
    device with YANG models gets a fresh session (and codec) per run as before.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, tuple[str, Driver]] = {}

    def get(self, device_id: str, fresh: Driver) -> Driver:
        """The kept session for ``device_id`` if it was opened like ``fresh`` (unconnected), else ``fresh``, kept."""
        if not isinstance(fresh, GnmiDriver) or fresh.codec is not None:
            return fresh
        digest = hashlib.sha256(repr(fresh.params).encode()).hexdigest()  # (credentials only as a digest)
        with self._lock:
            kept = self._open.get(device_id)
            if kept is not None and kept[0] == digest:
                return kept[1]
            self._open[device_id] = (digest, fresh)
        if kept is not None:
            _close(kept[1])
        return fresh

    def holds(self, driver: Driver) -> bool:
        with self._lock:
            return any(d is driver for _, d in self._open.values())

    def discard(self, device_id: str) -> None:
        with self._lock:
            kept = self._open.pop(device_id, None)
        if kept is not None:
            _close(kept[1])

    def close(self) -> None:
        with self._lock:
            kept, self._open = list(self._open.values()), {}
        for _, driver in kept:
            _close(driver)


class _RunPool(DriverPool):
    """A run's pool whose gNMI drivers outlive the run (see :class:`_Sessions`)."""

    def __init__(self, factory: _Factory, sessions: _Sessions) -> None:
        super().__init__(factory)
        self.sessions = sessions

    def close(self) -> None:
        for device, driver in list(self._drivers.items()):
            if getattr(driver, "_pending", None):  # a commit not confirmed: that session is not reused
                self.sessions.discard(device)
            if not self.sessions.holds(driver):
                _close(driver)
        for device in self._failed:
            self.sessions.discard(device)
        self._drivers.clear()


def _close(driver: Driver) -> None:
    try:
        driver.close()
    except Exception:  # closing is best effort
        log.debug("closing driver %s", driver.name, exc_info=True)


class _SecretCache:
    """Device Secrets as read in the last :data:`SECRET_TTL` seconds.

    Engine runs and stream (re)connections each read the Secrets of their
    devices; at thousands of objects that was a GET per run (13 % of a run's
    time on a loaded API server). The operator may only ``get`` Secrets, never
    watch them (see deploy/rbac.yaml), so a changed Secret is seen within the
    TTL, and at once after a device-level failure (authentication, say), which
    clears the cache.
    """

    def __init__(self, read: Callable[[str, str], SecretObject | None], ttl: float = SECRET_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read, self._ttl, self._clock = read, ttl, clock
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], tuple[float, SecretObject | None]] = {}

    def get(self, namespace: str, name: str) -> SecretObject | None:
        now = self._clock()
        with self._lock:
            kept = self._kept.get((namespace, name))
        if kept is not None and now - kept[0] < self._ttl:
            return kept[1]
        secret = self._read(namespace, name)
        with self._lock:
            self._kept[(namespace, name)] = (now, secret)
        return secret

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


class Reconciler:
    def __init__(self, index: ObjectIndex, devices: DeviceIndex, api: Api, metrics: Metrics,
                 settings: Settings) -> None:
        self.index = index
        self.devices = devices
        self.api = api
        self.metrics = metrics
        self.settings = settings
        self.sink = KubeStatusSink(index, api, self._turned_ready, settings.workers, settings.transient_delay)
        index.decided = self.sink.writer.pending  # readiness counts statuses decided but not written yet
        self._pending: dict[str, dict[ObjectKey, list[asyncio.Future[Outcome | None]]]] = {"apply": {},
                                                                                        "remove": {}}
        self._running: frozenset[ObjectKey] = frozenset()
        #: the batch being run: key -> (desired hash it runs with, futures waiting for its outcome)
        self._inflight: dict[ObjectKey, tuple[str, list[asyncio.Future[Outcome | None]]]] = {}
        self._device_status: dict[ObjectKey, tuple[bool, str]] = {}
        self._sessions = _Sessions()
        self._secret_cache = _SecretCache(lambda namespace, name: self.api.read_secret(namespace, name))
        #: the device threads of every engine run (a run used to start and stop its own: see Engine)
        self._executor = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="nwi-device")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle (on the event loop) ---------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.sink.writer.start()
        self._task = asyncio.create_task(self._work(), name="nwi-reconciler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await asyncio.to_thread(self.sink.writer.stop)
        await asyncio.to_thread(self._sessions.close)
        await asyncio.to_thread(self._executor.shutdown)

    # ---- requests ----------------------------------------------------------------------------------
    def enqueue(self, key: ObjectKey, op: str = "apply") -> asyncio.Future[Outcome | None]:
        """Queue ``key`` for the next run; the future gets its outcome (None: nothing to do)."""
        assert self._loop is not None and self._wake is not None, "start() first"
        fut: asyncio.Future[Outcome | None] = self._loop.create_future()
        if op == "apply" and key not in self._pending[op]:
            running = self._inflight.get(key)
            entry = self.index.get(key)
            if running is not None and entry is not None and entry.obj is not None \
                    and entry.obj.desired_hash == running[0] and not entry.deleting:
                running[1].append(fut)  # the running batch applies exactly this: its outcome is ours
                return fut
        self._pending[op].setdefault(key, []).append(fut)
        self.metrics.queue_depth.set(sum(len(q) for q in self._pending.values()))
        self._wake.set()
        return fut

    def enqueue_threadsafe(self, key: ObjectKey) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.enqueue, key)

    async def reconcile(self, key: ObjectKey) -> Outcome | None:
        return await self.enqueue(key, "apply")

    async def remove(self, key: ObjectKey) -> Outcome | None:
        return await self.enqueue(key, "remove")

    def _turned_ready(self, key: ObjectKey) -> None:
        """From the sink (engine thread): wake dependents that were waiting for ``key``."""
        for dep in self.index.dependents(key):
            entry = self.index.get(dep)
            if entry is None or entry.deleting or dep in self._running:
                continue  # in the running batch, the engine itself starts it next
            status = self.sink.previous(dep) or entry.status  # (a run that has ended may not be written yet)
            # a cycle member wakes too: an edit broke the cycle and the other side turned Ready
            stuck = status.phase in (Phase.WAITING, Phase.PENDING)
            if stuck or status.reason == Reason.DEPENDENCY_CYCLE:
                log.debug("%s is Ready: waking %s", key, dep)
                self.enqueue_threadsafe(dep)

    # ---- the queue worker -------------------------------------------------------------------------
    async def _work(self) -> None:
        assert self._wake is not None
        while True:
            await self._wake.wait()
            # a short debounce: objects created together (kubectl apply -f dir/) arrive a few ms apart
            await asyncio.sleep(self.settings.batch_window)
            self._wake.clear()
            batches = {op: q for op, q in self._pending.items() if q}
            self._pending = {"apply": {}, "remove": {}}
            self.metrics.queue_depth.set(0)
            for op in ("remove", "apply"):  # removals first: they may unblock nothing else, but free devices
                queued = batches.get(op)
                if not queued:
                    continue
                keys = list(queued)
                if op == "apply":
                    for key, futures in queued.items():
                        entry = self.index.get(key)
                        if entry is not None and entry.obj is not None:
                            self._inflight[key] = (entry.obj.desired_hash, futures)
                try:
                    outcomes = await asyncio.to_thread(self._remove if op == "remove" else self._apply, keys)
                except Exception as exc:  # a bug or an API outage must not kill the worker
                    log.exception("%s run over %d object(s) failed", op, len(keys))
                    outcomes = {k: Outcome(Phase.FAILED, Reason.DEVICE_ERROR, f"internal error: {exc}")
                                for k in keys}
                finally:
                    if op == "apply":
                        self._inflight = {}
                for key, futures in queued.items():
                    for fut in futures:  # (those that joined while it ran are in the same list)
                        if not fut.done():
                            fut.set_result(outcomes.get(key))

    # ---- engine runs (in a worker thread) -------------------------------------------------------------
    def _apply(self, keys: list[ObjectKey]) -> dict[ObjectKey, Outcome]:
        objects = self.index.closure(self._with_transaction_members(keys))
        if not objects:
            return {}
        refused = schema_failures(objects, self.settings.yang_paths)
        for obj in objects:
            if obj.key in refused:
                status = derive_status(refused[obj.key], self.sink.previous(obj.key), obj.generation, "")
                self.sink.record(obj, status)
        objects = [o for o in objects if o.key not in refused]  # their dependents wait: they are not Ready
        if not objects:
            return refused
        in_run = {o.key for o in objects}
        external = self.index.ready_keys(among={d for o in objects for d in o.depends_on}) - in_run
        report = self._run("apply", objects, lambda engine, device_of: engine.apply(objects, device_of, external))
        return {**refused, **report.outcomes}

    def _with_transaction_members(self, keys: list[ObjectKey]) -> list[ObjectKey]:
        """``keys`` and every other member of their network-wide transactions: a group goes in one run,
        whole (the engine holds it while a declared member is missing)."""
        groups = set()
        for key in keys:
            entry = self.index.get(key)
            if entry is not None and entry.obj is not None and entry.obj.transaction:
                groups.add((key.namespace, entry.obj.transaction))
        if not groups:
            return keys
        members = [k for k in self.index.keys()  # noqa: SIM118 (keys() is the index's own method, a copy under its lock)
                   if (e := self.index.get(k)) is not None and e.obj is not None
                   and (k.namespace, e.obj.transaction) in groups]
        return list(dict.fromkeys([*keys, *members]))

    def _remove(self, keys: list[ObjectKey]) -> dict[ObjectKey, Outcome]:
        outcomes: dict[ObjectKey, Outcome] = {}
        objects: list[ConfigObject] = []
        for key in keys:
            entry = self.index.get(key)
            if entry is None:
                continue
            if entry.obj is None:
                outcomes[key] = Outcome(Phase.DELETING, Reason.REMOVED,
                                        "spec is invalid: config it may have applied earlier stays on the device")
                continue
            if entry.status.applied_hash is None:  # never applied by nwi: nothing of ours on the device
                outcomes[key] = Outcome(Phase.DELETING, Reason.REMOVED, "never applied; nothing to remove")
                continue
            objects.append(entry.obj)
        if objects:
            dependents = self.index.dependents_map(o.key for o in objects)
            report = self._run("remove", objects,
                               lambda engine, device_of: engine.remove(objects, device_of, dependents))
            outcomes.update(report.outcomes)
        return outcomes

    def _run(self, op: str, objects: list[ConfigObject], call: _EngineCall) -> RunReport:
        device_of, build = self._inventory(objects)

        def factory(device_id: str) -> Driver:
            return self._sessions.get(device_id, build(device_id))

        pool = _RunPool(factory, self._sessions)
        engine = Engine(pool, self.sink, self.settings.workers,
                        journal=FileJournal(self.settings.state_dir / "transactions"),
                        confirm_timeout=self.settings.confirm_timeout, executor=self._executor)
        self._running = frozenset(o.key for o in objects)
        start = time.monotonic()
        try:
            report = call(engine, device_of)
        finally:
            pool.close()
            self._running = frozenset()
            self.metrics.apply_latency.labels(op).observe(time.monotonic() - start)
        self.metrics.transactions.inc(report.transactions)
        for obj in objects:
            outcome = report.outcomes.get(obj.key)
            if outcome is None:
                continue
            self.metrics.reconciles.labels(obj.key.kind, str(outcome.phase)).inc()
            if outcome.phase == Phase.FAILED:
                self.metrics.failures.labels(obj.key.kind, str(outcome.reason)).inc()
        for device_id in {device_of[k] for k, o in report.outcomes.items()
                          if o.phase == Phase.FAILED and o.reason in DEVICE_REASONS and k in device_of}:
            self._sessions.discard(device_id)  # the session may be what failed: a fresh one next time
            self._secret_cache.clear()  # and so may the credentials: read them afresh too
        self._report_devices(objects, device_of, report)
        log.info("%s run: %d object(s), %d transaction(s), %.3fs", op, len(objects), report.transactions,
                 time.monotonic() - start)
        return report

    def _inventory(self, objects: Iterable[ConfigObject]) -> tuple[dict[ObjectKey, str], _Factory]:
        """Where each object goes, and a driver factory with the Devices' Secrets read just now."""
        devices = self.devices.all()
        ns = self.settings.inventory_namespace
        probe = Inventory(devices, (), ns, strict=True, environ={})
        missing: dict[str, str] = {}
        objects = list(objects)
        for obj in objects:
            try:
                probe.resolve(obj)
            except DeviceNotFound as exc:
                missing[_missing_id(obj)] = str(exc)
        inventory = Inventory(devices, self._secrets(probe.resolved.values()), ns, strict=True, environ={},
                              yang_paths=self.settings.yang_paths,
                              model_dirs=model_dirs(self.api, probe.resolved.values(), self.settings.state_dir))
        device_of: dict[ObjectKey, str] = {}
        unfit: dict[str, tuple[str, str]] = {}  # pseudo-device of the objects a Device cannot hold
        for obj in objects:
            if _missing_id(obj) in missing:
                device_of[obj.key] = _missing_id(obj)
                continue
            rd = inventory.resolve(obj)
            reason = unfit_reason(obj, rd)
            if reason is None:
                device_of[obj.key] = rd.id
            else:  # failed on its own: the Device's other objects go ahead
                device_of[obj.key] = f"unfit:{rd.id}:{obj.key.kind}"
                unfit[device_of[obj.key]] = (rd.name, reason)

        def factory(device_id: str) -> Driver:
            if device_id in missing:
                raise DeviceMissing(device_id.removeprefix("missing:"), missing[device_id])
            if device_id in unfit:
                raise DeviceUnfit(*unfit[device_id])
            return inventory.driver(device_id, self.settings.state_dir)

        return device_of, factory

    def _secrets(self, resolved: Iterable[ResolvedDevice]) -> list[SecretObject]:
        out: dict[ObjectKey, SecretObject] = {}
        for rd in resolved:
            if rd.device is None:
                continue
            spec, ns = rd.device.spec, rd.device.key.namespace
            refs = [spec.credentials_secret_ref]
            if spec.tls is not None:
                refs += [spec.tls.ca_secret_ref, spec.tls.client_cert_secret_ref]
            for ref in refs:
                key = ObjectKey("Secret", ns, ref.name) if ref is not None else None
                if key is None or key in out:
                    continue
                secret = self._secret_cache.get(ns, ref.name) if ref is not None else None
                if secret is not None:
                    out[key] = secret
        return list(out.values())

    def _report_devices(self, objects: list[ConfigObject], device_of: dict[ObjectKey, str],
                        report: RunReport) -> None:
        """Device status: reachable unless every attempted object failed on the device itself."""
        attempted: dict[str, list[Outcome]] = {}
        for obj in objects:
            outcome = report.outcomes.get(obj.key)
            if outcome is not None and outcome.phase in (Phase.READY, Phase.FAILED, Phase.DRIFTED,
                                                         Phase.DELETING):
                attempted.setdefault(device_of[obj.key], []).append(outcome)
        for device_id, outcomes in attempted.items():
            if device_id.startswith(("missing:", "virtual:", "unfit:")):
                continue
            ns, name = device_id.split("/", 1)
            failed = [o for o in outcomes if o.phase == Phase.FAILED and o.reason in DEVICE_REASONS]
            reachable = len(failed) < len(outcomes)
            message = "" if reachable else failed[0].message
            key = ObjectKey(DEVICE_KIND, ns, name)
            if self._device_status.get(key) == (reachable, message):
                continue
            status = {"reachable": reachable, "message": message}
            if reachable:
                status["lastContact"] = now()
            try:
                self.api.patch_status(key, status)
                self._device_status[key] = (reachable, message)
            except Exception:  # device status is informational; object statuses carry the outcome
                log.exception("could not update Device %s status", key)

    def open_driver(self, obj: ConfigObject) -> Driver:
        """An unconnected driver for ``obj``'s device, with its Secrets read now (the drift watch's streams)."""
        device_of, factory = self._inventory([obj])
        return factory(device_of[obj.key])

    # ---- statuses outside engine runs ----------------------------------------------------------------
    def report(self, key: ObjectKey, outcome: Outcome) -> None:
        """Record an outcome the engine never saw (invalid spec)."""
        entry = self.index.get(key)
        if entry is None:
            return
        previous = self.sink.previous(key) or entry.status
        self.sink.put(key, derive_status(outcome, previous, entry.generation, previous.device))


def _missing_id(obj: ConfigObject) -> str:
    return f"missing:{obj.key.namespace}/{obj.spec.switch_id}"

