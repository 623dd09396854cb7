"""Drift: a timer per object re-reads the device; drift is repaired, or only reported with driftPolicy: report."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.kube import KubeApiServer, wait_for
from kube_kit import SWITCH, Device, Operator, device_yaml, status_of

from nwi.drivers.base import Change, Op, Transaction
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
