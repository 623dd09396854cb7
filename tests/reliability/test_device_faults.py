"""Device faults through the real gNMI driver and the mock server's fault injection.

A device that drops the connection mid-Set, is slow, or rejects a Set leaves
its objects Failed with the reason; the device keeps its before state (gNMI
atomicity); other devices go on; the next run recovers without a manual step.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Sequence
from typing import Any

import pytest

from nwi.drivers.base import ConnectionParams, Transaction
from nwi.drivers.gnmi import GnmiDriver
from nwi.engine import DriverPool, Engine
from nwi.mockgnmi import MockGnmiServer, memory_target, running
from nwi.model import ConfigObject
from nwi.path import parse_path
from nwi.status import Phase
from tests.unit.engine_kit import Lab, MemorySink, obj


class DroppingDriver(GnmiDriver):
    """Cuts the connection while its next Set is on the wire (as a rebooting device would)."""

    server: MockGnmiServer
    drop_next_set = False

    def apply(self, txn: Transaction, dry_run: bool = False) -> None:
        if DroppingDriver.drop_next_set:
            DroppingDriver.drop_next_set = False
            self.server.target(self.name).faults.drop_rpcs = 1
        super().apply(txn, dry_run)


def params(srv: MockGnmiServer, name: str, operation_timeout: float = 5.0) -> ConnectionParams:
    return ConnectionParams("127.0.0.1", srv.port_of(name), "admin", "admin", insecure=True,
                            connect_timeout=3, operation_timeout=operation_timeout)


def run(srv: MockGnmiServer, objects: Sequence[ConfigObject], sink: MemorySink, timeout: float = 5.0) -> Any:
    DroppingDriver.server = srv
    pool = DriverPool(lambda d: DroppingDriver(d, params(srv, d, timeout)))
    try:
        return Engine(pool, sink).apply(objects, {o.key: o.spec.switch_id for o in objects})
    finally:
        pool.close()


def device_config(srv: MockGnmiServer, name: str) -> dict[str, Any]:
    return srv.target(name).config().to_json()


@pytest.fixture
def two_devices() -> Any:
    with running([memory_target(n, username="admin", password="admin") for n in ("r1", "r2")]) as srv:
        yield srv


def intents() -> list[ConfigObject]:
    return [obj("sys1", "r1", "/system/config", {"hostname": "r1"}),
            obj("if1", "r1", "/interfaces/interface[name=eth1]", {"mtu": 9000}),
            obj("sys2", "r2", "/system/config", {"hostname": "r2"})]


def test_connection_dropped_mid_set_leaves_device_as_before_and_recovers(two_devices: MockGnmiServer) -> None:
    sink = MemorySink()
    before = device_config(two_devices, "r1")
    DroppingDriver.drop_next_set = True
    report = run(two_devices, intents()[:2], sink)
    assert {o.phase for o in report.outcomes.values()} == {Phase.FAILED}
    assert device_config(two_devices, "r1") == before  # nothing half-applied
    # the device is back once its port listens again (the mock re-opens it in a thread of its own: under
    # load that took longer than the engine took to start the next run, which then found nobody there)
    deadline = time.monotonic() + 10
    while not two_devices.listening("r1"):
        assert time.monotonic() < deadline, "the dropped port did not listen again within 10 s"
        time.sleep(0.01)
    assert run(two_devices, intents()[:2], sink).ok  # next run: no manual step
    assert device_config(two_devices, "r1")["system"]["config"] == {"hostname": "r1"}


def test_slow_device_times_out_alone_and_recovers(two_devices: MockGnmiServer) -> None:
    sink = MemorySink()
    two_devices.target("r1").faults.latency = 3.0
    report = run(two_devices, intents(), sink, timeout=1.0)
    r1 = [o for k, o in report.outcomes.items() if k.name != "sys2"]
    assert all(o.phase == Phase.FAILED for o in r1)
    assert any("deadline" in o.message.lower() or "timed out" in o.message.lower() for o in r1), r1
    assert report.outcomes[intents()[2].key].phase == Phase.READY
    two_devices.target("r1").faults.latency = 0.0
    assert run(two_devices, intents(), sink).ok


def test_rejected_set_fails_its_objects_with_the_reason_and_recovers(two_devices: MockGnmiServer) -> None:
    sink = MemorySink()
    two_devices.target("r1").faults.fail_next_sets(1, "RESOURCE_EXHAUSTED")
    report = run(two_devices, intents(), sink)
    failed = [o for o in report.outcomes.values() if o.phase == Phase.FAILED]
    assert len(failed) == 2 and all("RESOURCE_EXHAUSTED" in o.message for o in failed)
    assert "system" not in device_config(two_devices, "r1")
    assert run(two_devices, intents(), sink).ok


def test_ten_thousand_objects_with_one_percent_of_devices_down() -> None:
    """100 devices, 1 unreachable: the other 9,900 objects reach Ready; memory stays bounded."""
    lab = Lab(down={"dev-7"})
    objects = []
    for d in range(100):
        for i in range(100):
            deps = [f"d{d}-o{i - 1}"] if i % 5 else []
            objects.append(obj(f"d{d}-o{i}", f"dev-{d}", f"/things/thing[id={i}]", {"v": i}, deps=deps))
    tracemalloc.start()
    report = lab.apply(objects)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ready = report.count(Phase.READY)
    assert ready == 9_900
    down = [o for k, o in report.outcomes.items() if k.name.startswith("d7-")]
    assert {o.phase for o in down} == {Phase.FAILED, Phase.WAITING}
    assert sum(o.reason == "DeviceUnreachable" for o in down) == 20  # chain heads; the rest wait behind them
    assert peak < 250 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"
    assert parse_path("/things/thing[id=0]")  # the paths used are valid gNMI paths
