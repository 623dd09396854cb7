"""Drift: repaired, or only reported with driftPolicy: report; on gNMI devices found by subscription, not polling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.kube import KubeApiServer, wait_for
from kube_kit import PASSWORD, SWITCH, USERNAME, CountingStore, Device, Operator, config_yaml, device_yaml, status_of

from nwi.drivers.base import Change, Op, Transaction
from nwi.mockgnmi.harness import running
from nwi.mockgnmi.target import Credentials, Target
from nwi.path import parse_path

pytestmark = pytest.mark.kubernetes

NS = "drift-test"


@pytest.fixture(scope="module")
def drift_operator(deployed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    op = Operator(deployed, tmp_path_factory.mktemp("drift-operator"),
                  ["--peering", "nwi-operator", "--drift-interval", "1"])
    op.start()
    yield op
    op.stop()


def _object(name: str, path: str, props: dict[str, Any], policy: str) -> str:
    return f"""
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: OpenConfig
metadata: {{name: {name}, namespace: {NS}}}
spec:
  switchID: "{SWITCH}"
  path: {path}
  driftPolicy: {policy}
  properties: {json.dumps(props)}
---"""


def test_drift_is_repaired_or_reported(kube: KubeApiServer, drift_operator: Operator, device: Device) -> None:
    kube.kubectl("create", "namespace", NS)
    kube.kubectl("apply", "-f", "-", input=device_yaml(NS, SWITCH, device.port(SWITCH)))
    kube.kubectl("apply", "-f", "-", input=_object("hostname", "/system/config", {"hostname": "r1"}, "repair")
                 + _object("ntp", "/system/ntp/config", {"enabled": True}, "report"))
    for name in ("hostname", "ntp"):
        wait_for(lambda n=name: status_of(kube, "openconfig", NS, n).get("phase") == "Ready", 30, f"{name} Ready")

    store = device.stores[SWITCH].inner  # changed behind nwi's back, as an engineer on the CLI would
    store.commit(Transaction(SWITCH, [Change(Op.UPDATE, parse_path("/system/config"), {"hostname": "tampered"}),
                                      Change(Op.UPDATE, parse_path("/system/ntp/config"), {"enabled": False})]))

    def reasons(name: str) -> set[str]:
        items = json.loads(kube.kubectl("get", "events", "-n", NS, "-o", "json").stdout)["items"]
        return {e["reason"] for e in items if e["involvedObject"]["name"] == name}

    wait_for(lambda: "DriftRepaired" in reasons("hostname"), 30, "a DriftRepaired event for hostname")
    assert store.snapshot().get(parse_path("/system/config")) == {"hostname": "r1"}

    drifted = wait_for(lambda: (s := status_of(kube, "openconfig", NS, "ntp")).get("phase") == "Drifted" and s,
                       30, "ntp Drifted")
    assert drifted["reason"] == "DriftDetected"
    assert "enabled" in drifted["message"]
    assert "Drifted" in reasons("ntp")
    assert store.snapshot().get(parse_path("/system/ntp/config")) == {"enabled": False}, "report must not repair"


@pytest.fixture
def watched_device() -> Iterator[tuple[int, Target, CountingStore]]:
    """A gNMI device of this test's own: only its objects are on it, so its RPC counts are theirs."""
    store = CountingStore("sub-sw")
    target = Target("sub-sw", store, port=0, credentials=Credentials(USERNAME, PASSWORD))
    with running([target]) as server:
        yield server.port_of("sub-sw"), target, store


def test_gnmi_drift_is_found_by_subscription_without_polling(
    kube: KubeApiServer, drift_operator: Operator, watched_device: tuple[int, Target, CountingStore]
) -> None:
    """A hand change on a gNMI device is seen on its stream and repaired (or reported); meanwhile the drift
    timer (every second here) sends the device nothing: no Get while nothing happens."""
    port, target, store = watched_device
    ns = "drift-sub"
    streams = drift_operator.metric("nwi_subscribed_devices")  # (devices of other tests are watched too)
    kube.kubectl("create", "namespace", ns)
    kube.kubectl("apply", "-f", "-", input=device_yaml(ns, "sub-sw", port)
                 + "---" + config_yaml("mtu", ns, "sub-sw", "/interfaces/interface[name=eth9]/config",
                                       {"name": "eth9", "mtu": 9000})
                 + config_yaml("descr", ns, "sub-sw", "/interfaces/interface[name=eth8]/config",
                               {"name": "eth8", "description": "uplink"}, extra_spec="  driftPolicy: report"))
    for name in ("mtu", "descr"):
        wait_for(lambda n=name: status_of(kube, "openconfig", ns, n).get("phase") == "Ready", 30, f"{name} Ready")
    wait_for(lambda: drift_operator.metric("nwi_subscribed_devices") >= streams + 1, 30,
             "the device's stream synced")

    # (an object joins its device's stream within a second of being seen: until then the timer covers it)
    ticks = drift_operator.metric("nwi_drift_timer_runs_total")
    wait_for(lambda: drift_operator.metric("nwi_drift_timer_runs_total") >= ticks + 3, 30, "three timer ticks")
    gets = target.rpcs.get("Get", 0)
    ticks = drift_operator.metric("nwi_drift_timer_runs_total")
    wait_for(lambda: drift_operator.metric("nwi_drift_timer_runs_total") >= ticks + 3, 30, "three more ticks")
    assert target.rpcs.get("Get", 0) == gets, "the timer polled a device its stream watches"

    # by hand, as an engineer with gnmic would: one committed change on the device
    target.commit(lambda tree: Transaction("sub-sw", [
        Change(Op.UPDATE, parse_path("/interfaces/interface[name=eth9]/config"), {"mtu": 1500}),
        Change(Op.UPDATE, parse_path("/interfaces/interface[name=eth8]/config"), {"description": "by hand"})]))
    wait_for(lambda: store.inner.snapshot().get(parse_path("/interfaces/interface[name=eth9]/config/mtu")) == 9000,
             30, "mtu repaired on the device")
    drifted = wait_for(lambda: (s := status_of(kube, "openconfig", ns, "descr")).get("phase") == "Drifted" and s,
                       30, "descr Drifted")
    assert "by hand" in drifted["message"]
    assert store.inner.snapshot().get(parse_path("/interfaces/interface[name=eth8]/config/description")) == \
        "by hand", "report must not repair"
    assert target.rpcs.get("Subscribe", 0) >= 1

