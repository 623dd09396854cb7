"""The operator's drift watch against the mock gNMI server: a hand change is reported without any Get,
and a stream that breaks is opened again and resynced. No Kubernetes: the index is filled by hand."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nwi.drivers.base import Change, ConnectionParams, Driver, Op, Transaction
from nwi.drivers.gnmi import GnmiDriver
from nwi.loader import build_object
from nwi.mockgnmi.harness import memory_target, running
from nwi.mockgnmi.server import MockGnmiServer
from nwi.model import ConfigObject, DeviceObject, ObjectKey, Source
from nwi.operator import watch as watch_mod
from nwi.operator.index import DeviceIndex, Entry, ObjectIndex
from nwi.operator.watch import DriftWatch, covering_paths, subscription_paths
from nwi.path import parse_path
from nwi.status import Outcome, Phase, Reason, derive_status

NS = "default"
PATH = "/system/config"
WANT = {"hostname": "r1"}


@pytest.fixture
def lab() -> Iterator[tuple[MockGnmiServer, Any]]:
    target = memory_target("r1")
    with running([target]) as server:
        yield server, target


def _device(port: int) -> DeviceObject:
    doc = {"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "Device", "metadata": {"name": "r1", "namespace": NS},
           "spec": {"address": "127.0.0.1", "port": port, "driver": "gnmi", "insecure": True}}
    dev = build_object(doc, Source("test"), NS)
    assert isinstance(dev, DeviceObject)
    return dev


def _object(name: str, path: str, props: dict[str, Any], policy: str = "repair") -> ConfigObject:
    doc = {"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "OpenConfig",
           "metadata": {"name": name, "namespace": NS, "generation": 1},
           "spec": {"switchID": "r1", "path": path, "driftPolicy": policy, "properties": props}}
    obj = build_object(doc, Source("test"), NS)
    assert isinstance(obj, ConfigObject)
    return obj


def _ready(index: ObjectIndex, obj: ConfigObject) -> None:
    status = derive_status(Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash=obj.desired_hash),
                           None, obj.generation, f"{NS}/r1")
    index.upsert(Entry(obj.key, obj, status, generation=obj.generation))


def _set(target: Any, path: str, value: dict[str, Any]) -> None:
    """A change on the device made outside nwi (as by hand, through the target's own commit)."""
    target.commit(lambda tree: Transaction("r1", [Change(Op.UPDATE, parse_path(path), value)]))


def _watch(server: MockGnmiServer, index: ObjectIndex, reported: list[list[ObjectKey]],
           changed: threading.Condition) -> DriftWatch:
    devices = DeviceIndex()
    devices.upsert(_device(server.port_of("r1")))

    def open_driver(obj: ConfigObject) -> Driver:
        return GnmiDriver("r1", ConnectionParams(address="127.0.0.1", port=server.port_of("r1"), insecure=True))

    def on_drift(keys: list[ObjectKey]) -> None:
        with changed:
            reported.append(keys)
            changed.notify_all()

    return DriftWatch(index, devices, NS, open_driver, on_drift, settle=0.1)


def _wait(changed: threading.Condition, condition: Any, what: str, timeout: float = 20.0) -> None:
    """Wait for ``condition`` (re-checked on every report and every 50 ms: stream state changes notify nothing)."""
    deadline = time.monotonic() + timeout
    with changed:
        while not condition():
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for {what}"
            changed.wait(min(left, 0.05))


def test_covering_paths_leave_out_paths_inside_others() -> None:
    paths = [parse_path("/a/b[k=1]"), parse_path("/a/b[k=1]/c"), parse_path("/a/b[k=2]"), parse_path("/x")]
    assert set(covering_paths(paths)) == {parse_path("/a/b[k=1]"), parse_path("/a/b[k=2]"), parse_path("/x")}


def test_subscription_paths_are_the_lists_objects_live_in() -> None:
    paths = [parse_path("/c/vpls[name=a]"), parse_path("/c/vpls[name=b]"), parse_path("/c/vpls[name=a]/sap[id=1]"),
             parse_path("/i/interface[name=eth0]/config"), parse_path("/system/config")]
    assert subscription_paths(paths) == {parse_path("/c/vpls[name=*]"), parse_path("/i/interface[name=*]/config"),
                                         parse_path("/system/config")}


def test_hand_change_is_reported_by_the_stream_without_a_get(lab: tuple[MockGnmiServer, Any]) -> None:
    server, target = lab
    obj = _object("hostname", PATH, WANT)
    other = _object("ntp", "/system/ntp/config", {"enabled": True})
    _set(target, PATH, WANT)
    _set(target, "/system/ntp/config", {"enabled": True})
    index = ObjectIndex()
    _ready(index, obj)
    _ready(index, other)
    reported: list[list[ObjectKey]] = []
    changed = threading.Condition()
    watch = _watch(server, index, reported, changed)
    watch.start()
    try:
        _wait(changed, lambda: watch.covers(obj.key) and watch.covers(other.key), "the stream's snapshot")
        assert reported == [], "the device was in sync: nothing to report"
        _set(target, PATH, {"hostname": "tampered"})
        _wait(changed, lambda: reported, "the hand change reported")
        assert reported == [[obj.key]]  # only the object whose subtree changed
        assert target.rpcs.get("Get", 0) == 0, "drift was found by the stream, not by reading the device"
        assert target.rpcs.get("Subscribe") == 1
    finally:
        watch.stop()


def test_stream_loss_reconnects_and_resyncs(lab: tuple[MockGnmiServer, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    server, target = lab
    monkeypatch.setattr(watch_mod, "BACKOFF_BASE", 0.05)
    obj = _object("hostname", PATH, WANT)
    _set(target, PATH, WANT)
    index = ObjectIndex()
    _ready(index, obj)
    reported: list[list[ObjectKey]] = []
    changed = threading.Condition()
    watch = _watch(server, index, reported, changed)
    watch.start()
    try:
        _wait(changed, lambda: watch.covers(obj.key), "the first stream's snapshot")
        server.stop_target("r1")  # the device goes away: the stream breaks
        _wait(changed, lambda: not watch.covers(obj.key), "the stream noticed as broken")
        _set(target, PATH, {"hostname": "changed-while-down"})  # a change no stream could tell
        server.start_target("r1")
        _wait(changed, lambda: reported, "the change found by the new stream's snapshot")
        assert reported == [[obj.key]]
        assert target.rpcs.get("Subscribe", 0) >= 2, "the stream was opened again"
        assert target.rpcs.get("Get", 0) == 0
    finally:
        watch.stop()


def test_plans_follow_the_objects_that_changed_as_a_fresh_watch_would_see_them() -> None:
    """Objects added, moved to another list, deleted or deleting, and a Device removed: each refresh's
    plans are what a watch started afresh over the same index computes."""
    index, devices = ObjectIndex(), DeviceIndex()
    devices.upsert(_device(1))
    watch = DriftWatch(index, devices, NS, lambda obj: None, lambda keys: None)  # type: ignore[arg-type,return-value]

    def fresh() -> dict[str, Any]:
        return {d: (p.paths, p.keys) for d, p in DriftWatch(index, devices, NS, lambda obj: None,  # type: ignore
                                                            lambda keys: None).plans().items()}

    def plans() -> dict[str, Any]:
        return {d: (p.paths, p.keys) for d, p in watch.plans().items()}

    objs = [_object(f"if{i}", f"/interfaces/interface[name=eth{i}]/config", {"mtu": 1500}) for i in range(5)]
    for obj in objs:
        _ready(index, obj)
    assert plans() == fresh() and plans()["default/r1"][0] == {parse_path("/interfaces/interface[name=*]/config")}
    _ready(index, _object("if0", "/system/config", {"hostname": "moved"}))  # another list now
    index.upsert(Entry(objs[1].key, objs[1], index.get(objs[1].key).status, deleting=True))  # type: ignore[union-attr]
    index.remove(objs[2].key)
    assert plans() == fresh()
    assert plans()["default/r1"][1] == {objs[0].key, objs[3].key, objs[4].key}
    devices.remove(ObjectKey("Device", NS, "r1"))
    assert plans() == fresh() == {}
