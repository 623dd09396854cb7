"""The operator's in-memory view of the cluster: config objects, their statuses, reverse edges, Devices.

kopf gives each object its own worker, but the dependency graph spans objects:
"who depends on me" (to wake dependents the moment an object turns Ready, and
to keep a deleted object Blocked while dependents exist) needs an index over
all of them. It is fed by watch events (and a priming list at start-up) on
the event loop, and read and updated by the status sink from engine threads,
hence the lock. Waiters on the event loop are woken on every change.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nwi.model import ConfigObject, DeviceObject, ObjectKey
from nwi.status import ObjectStatus, Phase


@dataclass(slots=True)  # one per object: no instance dict
class Entry:
    """One config object as last seen. ``obj`` is None when the document does not validate."""

    key: ObjectKey
    obj: ConfigObject | None
    status: ObjectStatus
    status_version: int = 0  # resourceVersion the status was read at (or written with)
    deleting: bool = False
    uid: str = ""
    generation: int | None = None
    error: str = ""  # why ``obj`` is None
    #: what ``obj`` was built from besides the name (see ``controller.basis_of``): an event with the same
    #: basis reuses ``obj`` instead of validating the document again
    basis: tuple[Any, ...] = ()
    version: int = 0  # resourceVersion of the body this entry was built from (0: not from a body)

    @property
    def ready(self) -> bool:
        """Ready for dependents: applied as currently specified and in sync when last checked."""
        return self.ready_with(self.status)

    def ready_with(self, status: ObjectStatus) -> bool:
        """:attr:`ready` if ``status`` were the object's status."""
        if self.obj is None or self.deleting or status.phase != Phase.READY:
            return False
        if status.applied_hash != self.obj.desired_hash:
            return False
        gen = self.obj.generation
        return gen is None or status.observed_generation in (None, gen)


def resource_version(value: object) -> int:
    """resourceVersion as a number (etcd revision) for ordering; 0 when opaque."""
    try:
        return int(str(value))
    except ValueError:
        return 0


class ObjectIndex:
    """Config objects by key, with reverse dependency edges."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        #: the status nwi decided for a key but has not written yet (the operator's status writer)
        self.decided: Callable[[ObjectKey], ObjectStatus | None] = lambda key: None
        #: bumped on every change, so a watcher can tell cheaply whether anything moved
        self.version = 0
        self._entries: dict[ObjectKey, Entry] = {}
        self._dependents: dict[ObjectKey, set[ObjectKey]] = defaultdict(set)
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._trackers: list[set[ObjectKey]] = []

    # ---- updates -------------------------------------------------------------------------
    def upsert(self, entry: Entry) -> None:
        """Take a freshly observed object; keep the newer of the known and the observed status."""
        with self._lock:
            old = self._entries.get(entry.key)
            if old is entry:
                return  # the entry indexed already: nothing changed, nobody to wake
            if old is None or old.obj is not entry.obj or old.deleting != entry.deleting:
                for touched in self._trackers:
                    touched.add(entry.key)
            if old is not None:
                self._unlink(old)
                if old.status_version > entry.status_version:
                    entry.status, entry.status_version = old.status, old.status_version
            self._entries[entry.key] = entry
            if entry.obj is not None:
                for dep in entry.obj.depends_on:
                    self._dependents[dep].add(entry.key)
        self._notify()

    def remove(self, key: ObjectKey) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._unlink(old)
                for touched in self._trackers:
                    touched.add(key)
        self._notify()

    def track(self) -> Callable[[], set[ObjectKey]]:
        """A function that returns the keys whose object was added, changed (a new object, or deleting)
        or removed since it was last called (first call: every key), for consumers that keep something per
        object: at 100k objects, going through every entry each second is a core's tenth for nothing."""
        touched: set[ObjectKey] = set()
        with self._lock:
            touched.update(self._entries)
            self._trackers.append(touched)

        def drain() -> set[ObjectKey]:
            with self._lock:
                out = set(touched)
                touched.clear()
            return out

        return drain

    def _unlink(self, entry: Entry) -> None:
        if entry.obj is None:
            return
        for dep in entry.obj.depends_on:
            users = self._dependents.get(dep)
            if users is not None:
                users.discard(entry.key)
                if not users:
                    del self._dependents[dep]

    def set_status(self, key: ObjectKey, status: ObjectStatus, version: int) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and version >= entry.status_version:
                entry.status, entry.status_version = status, version
        self._notify()

    # ---- queries -------------------------------------------------------------------------
    def get(self, key: ObjectKey) -> Entry | None:
        with self._lock:
            return self._entries.get(key)

    def status(self, key: ObjectKey) -> ObjectStatus | None:
        with self._lock:
            entry = self._entries.get(key)
            return entry.status if entry is not None else None

    def keys(self) -> list[ObjectKey]:
        with self._lock:
            return list(self._entries)

    def dependents(self, key: ObjectKey) -> set[ObjectKey]:
        """Objects in the index that name ``key`` as a dependency."""
        with self._lock:
            return {d for d in self._dependents.get(key, ()) if d in self._entries}

    def dependents_map(self, keys: Iterable[ObjectKey]) -> dict[ObjectKey, list[ObjectKey]]:
        with self._lock:
            return {k: sorted(self.dependents(k)) for k in keys}

    def is_ready(self, entry: Entry) -> bool:
        """Ready, counting a status decided but not written yet."""
        decided = self.decided(entry.key)
        return entry.ready_with(decided if decided is not None else entry.status)

    def ready_keys(self, among: Iterable[ObjectKey] | None = None) -> set[ObjectKey]:
        """The Ready objects (of ``among`` only, when given: an engine run asks about its dependencies, not
        about all 10k objects)."""
        with self._lock:
            if among is None:
                return {k for k, e in self._entries.items() if self.is_ready(e)}
            return {k for k in among if (e := self._entries.get(k)) is not None and self.is_ready(e)}

    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries.values())

    def closure(self, keys: Iterable[ObjectKey]) -> list[ConfigObject]:
        """``keys`` plus, transitively, their dependencies that exist and are not Ready.

        Handing the engine the unready dependencies too lets one run apply a
        whole chain in order (and spell out a cycle on every member); Ready
        ones are passed as external instead. Objects being deleted are never
        applied, and an invalid one cannot be.
        """
        with self._lock:
            out: dict[ObjectKey, ConfigObject] = {}
            todo = list(keys)
            while todo:
                key = todo.pop()
                entry = self._entries.get(key)
                if key in out or entry is None or entry.obj is None or entry.deleting:
                    continue
                out[key] = entry.obj
                for dep in entry.obj.depends_on:
                    dep_entry = self._entries.get(dep)
                    if dep_entry is not None and not self.is_ready(dep_entry):
                        todo.append(dep)
            return list(out.values())

    def using_device(self, name: str) -> list[ObjectKey]:
        """Objects whose switchID is ``name``."""
        with self._lock:
            return [k for k, e in self._entries.items() if e.obj is not None and e.obj.spec.switch_id == name]

    # ---- waiting ---------------------------------------------------------------------------
    def _notify(self) -> None:
        with self._lock:
            self.version += 1
            waiters = list(self._waiters)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def wait_until(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait (on the event loop) until ``condition()`` holds after some change; False on timeout."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        waiter = (loop, event)
        with self._lock:
            self._waiters.append(waiter)
        try:
            deadline = loop.time() + timeout
            while not condition():
                left = deadline - loop.time()
                if left <= 0:
                    return False
                event.clear()
                try:
                    await asyncio.wait_for(event.wait(), left)
                except TimeoutError:
                    return condition()
            return True
        finally:
            with self._lock:
                self._waiters.remove(waiter)


class DeviceIndex:
    """Device objects by key (their Secrets are read on demand, never cached here)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._devices: dict[ObjectKey, DeviceObject] = {}
        self.version = 0  # bumped when a Device's spec changes

    def upsert(self, device: DeviceObject) -> bool:
        """Store ``device``; True when its spec is new or changed."""
        with self._lock:
            old = self._devices.get(device.key)
            self._devices[device.key] = device
            changed = old is None or old.spec != device.spec
            self.version += changed
            return changed

    def remove(self, key: ObjectKey) -> None:
        with self._lock:
            if self._devices.pop(key, None) is not None:
                self.version += 1

    def get(self, key: ObjectKey) -> DeviceObject | None:
        with self._lock:
            return self._devices.get(key)

    def all(self) -> list[DeviceObject]:
        with self._lock:
            return list(self._devices.values())
