"""Test kit for the engine: objects from short specs, an in-memory status sink, counting drivers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nwi.drivers.base import DeviceInfo, DeviceUnreachable, Driver, Transaction
from nwi.drivers.virtual import DeviceStore, VirtualDriver
from nwi.engine import DriverPool, Engine
from nwi.loader import build_object
from nwi.model import ConfigObject, ObjectKey, Source
from nwi.path import GnmiPath
from nwi.status import ObjectStatus


def obj(name: str, switch: str, path: str, props: dict[str, Any] | None = None, deps: Sequence[str] = (),
        operation: str = "merge", drift_policy: str = "repair", kind: str = "OpenConfig") -> ConfigObject:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "generation": 1}
    if deps:
        meta["annotations"] = {"nwi.enc.nokia.com/depends_on": json.dumps(
            [{"kind": kind, "name": d} for d in deps])}
    o = build_object({"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": kind, "metadata": meta,
                      "spec": {"switchID": switch, "path": path, "properties": props or {},
                               "operation": operation, "driftPolicy": drift_policy}}, Source("test"))
    assert isinstance(o, ConfigObject)
    return o


def key(name: str, kind: str = "OpenConfig") -> ObjectKey:
    return ObjectKey(kind, "ns", name)


@dataclass
class MemorySink:
    statuses: dict[ObjectKey, ObjectStatus] = field(default_factory=dict)
    history: list[tuple[ObjectKey, str]] = field(default_factory=list)

    def previous(self, k: ObjectKey) -> ObjectStatus | None:
        return self.statuses.get(k)

    def record(self, o: ConfigObject, status: ObjectStatus) -> None:
        self.statuses[o.key] = status
        self.history.append((o.key, str(status.phase)))


class CountingDriver(Driver):
    """A real virtual device that counts what reaches it and can be made unreachable."""

    def __init__(self, name: str, store: DeviceStore, lab: Lab) -> None:
        self.name = name
        self.inner = VirtualDriver(name, store)
        self.lab = lab

    def connect(self) -> DeviceInfo:
        if self.name in self.lab.down:
            raise DeviceUnreachable(self.name, "connection refused")
        self.lab.connects[self.name] = self.lab.connects.get(self.name, 0) + 1
        return self.inner.connect()

    def read(self, paths: Sequence[GnmiPath]) -> dict[GnmiPath, Any]:
        self.lab.reads.append((self.name, len(paths)))
        return self.inner.read(paths)

    def apply(self, txn: Transaction, dry_run: bool = False) -> None:
        self.lab.transactions.append(txn)
        self.inner.apply(txn, dry_run)

    def close(self) -> None:
        pass


@dataclass
class Lab:
    """Several in-memory virtual devices, and what was sent to them."""

    stores: dict[str, DeviceStore] = field(default_factory=dict)
    transactions: list[Transaction] = field(default_factory=list)
    connects: dict[str, int] = field(default_factory=dict)
    reads: list[tuple[str, int]] = field(default_factory=list)
    down: set[str] = field(default_factory=set)
    sink: MemorySink = field(default_factory=MemorySink)

    def store(self, device: str) -> DeviceStore:
        return self.stores.setdefault(device, DeviceStore(device, None))

    def engine(self) -> Engine:
        return Engine(DriverPool(lambda d: CountingDriver(d, self.store(d), self)), self.sink, max_workers=4)

    def apply(self, objects: Sequence[ConfigObject]) -> Any:
        self.transactions.clear()
        return self.engine().apply(objects, {o.key: o.spec.switch_id for o in objects})

    def device(self, name: str) -> dict[str, Any]:
        return self.store(name).snapshot().to_json()
