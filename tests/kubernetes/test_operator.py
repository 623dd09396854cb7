"""The operator against a real kube-apiserver, driven with kubectl as a user would.

The tests of this module share one operator and one mock gNMI device and run
in file order: the seed is applied, survives a restart untouched, then is
deleted in the wrong order on purpose.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from harness.kube import KubeApiServer, wait_for
from kube_kit import (
    FLAKY,
    PASSWORD,
    REPO,
    SWITCH,
    Device,
    Operator,
    config_yaml,
    device_yaml,
    status_of,
    table,
)

from nwi.path import parse_path

pytestmark = pytest.mark.kubernetes

SEED_NS = "enc-nwi-system"


def _service(device: Device, which: str, name: str) -> Any:
    return device.stores[SWITCH].inner.snapshot().get(parse_path(f"/configure/service/{which}[{name}]"))


def test_seed_applies_in_dependency_order_with_waiting_visible(
    kube: KubeApiServer, operator: Operator, device: Device
) -> None:
    # the Device lives in the shared inventory namespace; its credentials in a Secret next to it
    kube.kubectl("apply", "-f", "-", input=device_yaml("nwi-system", SWITCH, device.port(SWITCH)))
    # a slow device keeps customer-1234 in flight long enough to see vpls-01 wait for it
    device.server.target(SWITCH).faults.latency = 0.5
    try:
        first = kube.kubectl("apply", "-f", str(REPO / "crds"), "-f", str(REPO / "samples" / "seed"), check=False)
        if first.returncode != 0:
            # the seed's Namespace document sorts after customer-1234.yaml: kubectl creates the namespace
            # too late for it the first time; a user (or Flux) simply applies again
            assert f'namespaces "{SEED_NS}" not found' in first.stderr, first.stderr
            kube.kubectl("apply", "-f", str(REPO / "crds"), "-f", str(REPO / "samples" / "seed"))

        def vpls_waiting() -> dict[str, str] | None:
            row = table(kube, "srosconfigs", SEED_NS).get("vpls-01")
            return row if row and row["PHASE"] == "Waiting" and "customer-1234" in row["WAITING-ON"] else None

        waiting = wait_for(vpls_waiting, 30, "vpls-01 Waiting on customer-1234 in `kubectl get srosconfigs`", 0.05)
        # the printer column renders the list readably: the name, JSON-quoted
        assert waiting["WAITING-ON"] == '["customer-1234"]'

        def both_ready() -> dict[str, dict[str, str]] | None:
            rows = table(kube, "srosconfigs", SEED_NS)
            ok = {r["PHASE"] for r in rows.values()} == {"Ready"} and len(rows) == 2
            return rows if ok else None

        rows = wait_for(both_ready, 60, "both seed objects Ready")
    finally:
        device.server.target(SWITCH).faults.latency = 0.0
    assert rows["vpls-01"]["SWITCH"] == SWITCH and rows["vpls-01"]["WAITING-ON"] == ""

    # the device holds the config, under SR OS's /configure root
    assert _service(device, "customer", "customer-name=1234") == {
        "customer-id": 1234, "customer-name": "1234", "description": "Customer 1234"}
    assert _service(device, "vpls", "service-name=vpls-01")["service-id"] == 4321

    # kstatus: Ready condition, observedGeneration of the current generation, the applied hash
    for name in ("customer-1234", "vpls-01"):
        doc = kube.get_json("srosconfig", name, "-n", SEED_NS)
        status = doc["status"]
        ready = next(c for c in status["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "True"
        assert status["observedGeneration"] == doc["metadata"]["generation"]
        assert re.fullmatch(r"[0-9a-f]{16}", status["appliedHash"])
        assert status["device"] == f"nwi-system/{SWITCH}"
        assert "nwi.enc.nokia.com/finalizer" in doc["metadata"]["finalizers"]

    events = kube.kubectl("get", "events", "-n", SEED_NS, "-o", "json").stdout
    applied = {e["involvedObject"]["name"] for e in json.loads(events)["items"] if e["reason"] == "Applied"}
    assert applied == {"customer-1234", "vpls-01"}
    assert PASSWORD not in events

    device_status = status_of(kube, "device", "nwi-system", SWITCH)
    assert device_status["reachable"] is True

    metrics = operator.metrics()
    assert re.search(r'nwi_reconciles_total\{kind="SROSConfig",phase="Ready"\} [1-9]', metrics), metrics
    assert re.search(r"nwi_device_transactions_total [1-9]", metrics)
    assert "nwi_reconcile_queue_depth" in metrics and "nwi_apply_duration_seconds_bucket" in metrics


def test_restart_does_not_rewrite_objects_in_sync(kube: KubeApiServer, operator: Operator, device: Device) -> None:
    store = device.stores[SWITCH]
    writes, reads = store.writes, store.reads
    assert writes >= 2
    operator.stop()
    operator.start()

    def rechecked() -> bool:
        # the new process compares each object with the device: the gNMI device's subscription
        # snapshot (it counts each object compared; a Ready status found in sync is kept as it was,
        # so the status itself does not change)
        checked = re.search(r"nwi_subscription_checks_total (\d+)", operator.metrics())
        return checked is not None and float(checked.group(1)) >= 2 and store.reads > reads

    wait_for(rechecked, 60, "both seed objects re-read from the device and reconciled after the restart")
    assert store.writes == writes, "the restarted operator wrote to the device although everything was in sync"
    assert {r["PHASE"] for r in table(kube, "srosconfigs", SEED_NS).values()} == {"Ready"}


def test_deleting_a_dependency_first_blocks_it_until_the_dependent_is_gone(
    kube: KubeApiServer, operator: Operator, device: Device
) -> None:
    kube.kubectl("delete", "srosconfig", "customer-1234", "-n", SEED_NS, "--wait=false")

    def blocked() -> dict[str, str] | None:
        row = table(kube, "srosconfigs", SEED_NS).get("customer-1234")
        return row if row and row["PHASE"] == "Blocked" else None

    row = wait_for(blocked, 30, "customer-1234 Blocked")
    assert "vpls-01" in row["WAITING-ON"]
    assert "still needed by vpls-01" in status_of(kube, "srosconfig", SEED_NS, "customer-1234")["message"]
    assert _service(device, "customer", "customer-name=1234") is not None, "config left the device too early"

    kube.kubectl("delete", "srosconfig", "vpls-01", "-n", SEED_NS, "--timeout=60s")
    kube.kubectl("wait", "--for=delete", "srosconfig/customer-1234", "-n", SEED_NS, "--timeout=60s")
    assert _service(device, "vpls", "service-name=vpls-01") is None
    assert _service(device, "customer", "customer-name=1234") is None
    reasons = [e["reason"] for e in json.loads(kube.kubectl("get", "events", "-n", SEED_NS, "-o", "json").stdout)
               ["items"] if e["involvedObject"]["name"] == "customer-1234"]
    assert "Blocked" in reasons and "Removed" in reasons



def test_a_cycle_fails_every_member(kube: KubeApiServer, operator: Operator, device: Device) -> None:
    ns = "cycle-test"
    kube.kubectl("create", "namespace", ns)
    writes = device.stores[SWITCH].writes
    docs = "".join([
        config_yaml("a", ns, SWITCH, "/service/customer[customer-name=a]", {"customer-name": "a"}, ("b",),
                    kind="SROSConfig"),
        config_yaml("b", ns, SWITCH, "/service/customer[customer-name=b]", {"customer-name": "b"}, ("a",),
                    kind="SROSConfig"),
        config_yaml("c", ns, SWITCH, "/service/customer[customer-name=c]", {"customer-name": "c"}, ("a",),
                    kind="SROSConfig"),
    ])
    kube.kubectl("apply", "-f", "-", input=docs)

    def settled() -> dict[str, dict[str, str]] | None:
        rows = table(kube, "srosconfigs", ns)
        return rows if rows.get("a", {}).get("PHASE") == "Failed" and rows.get("b", {}).get("PHASE") == "Failed" \
            and rows.get("c", {}).get("PHASE") == "Waiting" else None

    wait_for(settled, 30, "a and b Failed, c Waiting behind them")
    for name in ("a", "b"):
        status = status_of(kube, "srosconfig", ns, name)
        assert status["reason"] == "DependencyCycle"
        assert re.search(r"dependency cycle: (a -> b -> a|b -> a -> b)", status["message"]), status["message"]
    assert status_of(kube, "srosconfig", ns, "c")["waitingOn"] == ["a"]
    assert device.stores[SWITCH].writes == writes, "nothing on a cycle may reach the device"


def test_unreachable_device_fails_clearly_and_recovers(
    kube: KubeApiServer, operator: Operator, device: Device
) -> None:
    ns = "flaky-test"
    kube.kubectl("create", "namespace", ns)
    device.server.stop_target(FLAKY)
    port = device.port(FLAKY)
    kube.kubectl("apply", "-f", "-", input=device_yaml(ns, FLAKY, port, connect_timeout=1))
    kube.kubectl("apply", "-f", "-", input=config_yaml(
        "eth0", ns, FLAKY, "/interfaces/interface[name=eth0]/config", {"name": "eth0", "mtu": 1500}))

    def failed() -> dict[str, Any] | None:
        status = status_of(kube, "openconfig", ns, "eth0")
        return status if status.get("phase") == "Failed" else None

    status = wait_for(failed, 30, "eth0 Failed while the device is down")
    assert status["reason"] == "DeviceUnreachable"
    assert f"127.0.0.1:{port}" in status["message"], status["message"]
    assert table(kube, "openconfigs", ns)["eth0"]["PHASE"] == "Failed"
    assert status_of(kube, "device", ns, FLAKY)["reachable"] is False

    started = time.monotonic()
    device.server.start_target(FLAKY)
    wait_for(lambda: status_of(kube, "openconfig", ns, "eth0").get("phase") == "Ready", 60,
             "eth0 Ready once the device is back (kopf retries with backoff)")
    recovery = time.monotonic() - started
    assert device.stores[FLAKY].inner.snapshot().get(parse_path("/interfaces/interface[name=eth0]/config")) == {
        "name": "eth0", "mtu": 1500}
    wait_for(lambda: status_of(kube, "device", ns, FLAKY).get("reachable") is True, 30, "Device reachable again")
    events = json.loads(kube.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
    failures = [e["message"] for e in events if e["reason"] == "Failed"]
    assert failures and all("DeviceUnreachable" in m for m in failures)
    assert all(PASSWORD not in e["message"] for e in events)
    print(f"recovered {recovery:.1f}s after the device came back")


def test_missing_device_fails_clearly_until_it_is_created(
    kube: KubeApiServer, operator: Operator, device: Device
) -> None:
    ns = "late-device"
    kube.kubectl("create", "namespace", ns)
    kube.kubectl("apply", "-f", "-", input=config_yaml(
        "ntp", ns, "late-sw", "/system/clock/config", {"timezone-name": "UTC"}))

    def failed() -> dict[str, Any] | None:
        status = status_of(kube, "openconfig", ns, "ntp")
        return status if status.get("phase") == "Failed" else None

    status = wait_for(failed, 30, "ntp Failed without a Device")
    assert "no Device 'late-sw'" in status["message"] and ns in status["message"], status["message"]
    # the Device appears (pointing at the mock switch): the object is retried at once, not after a backoff
    kube.kubectl("apply", "-f", "-", input=device_yaml(ns, "late-sw", device.port(SWITCH)))
    wait_for(lambda: status_of(kube, "openconfig", ns, "ntp").get("phase") == "Ready", 30, "ntp Ready")
    assert device.stores[SWITCH].inner.snapshot().get(parse_path("/system/clock/config")) == {"timezone-name": "UTC"}
