"""A group over NETCONF (netconfd), gNMI (the mock server) and a virtual device lands whole or not at all.

``nwi apply`` runs as a child process; the faults: one device of the three refusing its part, a
device timing out during prepare, and nwi killed with SIGKILL between prepare and confirm.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness.netconfd import IF_NS, NetconfServer
from lxml import etree
from mixed_kit import HeldStore, devices_yaml, service_yaml, virtual_config

from nwi.mockgnmi import MockGnmiServer, Target
from nwi.mockgnmi.confirmed import COMMITS

pytestmark = pytest.mark.protocol
REPO = Path(__file__).resolve().parents[2]


def nwi(*args: str, state: Path, wait: bool = True) -> Any:
    cmd = [sys.executable, "-m", "nwi.cli", *args, "--state-dir", str(state)]
    if not wait:
        return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)


def write(tmp: Path, nc: NetconfServer, gnmi_port: int, service: str, timeout: float = 20) -> Path:
    d = tmp / "in"
    d.mkdir(exist_ok=True)
    (d / "devices.yaml").write_text(devices_yaml(nc, gnmi_port, timeout))
    (d / "service.yaml").write_text(service)
    return d


def nc_description(nc: NetconfServer) -> str | None:
    with nc.raw_session() as m:
        running = etree.fromstring(m.get_config("running").data_xml.encode())
    found = running.xpath("//if:interface[if:name='vpn1']/if:description", namespaces={"if": IF_NS})
    return None if not found else str(found[0].text)


def gnmi_config(target: Target) -> dict[str, Any]:
    return target.datastore.inner.snapshot().to_json()  # type: ignore[attr-defined]


def wait_for(check: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def statuses(state: Path) -> dict[str, dict[str, Any]]:
    out = nwi("get", "-o", "json", state=state)
    return {i["metadata"]["name"]: i["status"] for i in json.loads(out.stdout)["items"]}


def test_the_group_lands_on_all_three_and_status_and_plan_say_so(
        tmp_path: Path, nc: NetconfServer, gnmi: tuple[MockGnmiServer, Target]) -> None:
    server, target = gnmi
    src = write(tmp_path, nc, server.port_of("pe-gnmi"), service_yaml())
    state = tmp_path / "state"
    plan = nwi("plan", "-f", str(src), state=state)
    assert "transaction lab/l3vpn-1: 3 object(s) on 3 device(s) (lab/pe-nc, lab/pe-gnmi, lab/pe-virt)" in plan.stdout
    run = nwi("apply", "-f", str(src), state=state)
    assert run.returncode == 0, run.stdout + run.stderr
    assert nc_description(nc) == "l3vpn-1"
    assert gnmi_config(target)["network-instances"]["network-instance"][0]["route-distinguisher"] == "65000:2"
    assert virtual_config(state)["network-instances"]["network-instance"][0]["route-distinguisher"] == "65000:3"
    st = statuses(state)
    ids = {s["transaction"]["id"] for s in st.values()}
    assert len(ids) == 1
    assert st["svc-nc"]["transaction"]["devices"] == {
        "lab/pe-nc": "Confirmed", "lab/pe-gnmi": "Confirmed", "lab/pe-virt": "Confirmed"}
    wide = nwi("get", "-o", "wide", state=state).stdout
    assert "TRANSACTION" in wide and "pe-gnmi=Confirmed" in wide


@pytest.mark.parametrize("refuser", ["netconf", "gnmi", "virtual"])
def test_one_device_of_three_refusing_leaves_all_three_unchanged(
        tmp_path: Path, nc: NetconfServer, gnmi: tuple[MockGnmiServer, Target], refuser: str) -> None:
    server, target = gnmi
    service = service_yaml(nc_type="iana-if-type:no-such-type" if refuser == "netconf" else
                           "iana-if-type:ethernetCsmacd")
    if refuser == "gnmi":
        target.faults.fail_next_sets(1, "INVALID_ARGUMENT")
    if refuser == "virtual":  # a list key that contradicts the path: the device cannot take it
        service = service.replace('{name: l3vpn-1, type: L3VRF, route-distinguisher: "65000:3"}',
                                  '{name: other, type: L3VRF}')
    state = tmp_path / "state"
    run = nwi("apply", "-f", str(write(tmp_path, nc, server.port_of("pe-gnmi"), service)), state=state)
    assert run.returncode == 1, run.stdout + run.stderr
    assert nc_description(nc) is None
    assert "network-instances" not in gnmi_config(target) and COMMITS.ongoing(target) is None
    assert "network-instances" not in virtual_config(state)
    st = statuses(state)
    assert all(s["phase"] == "Failed" for s in st.values())
    name = {"netconf": "pe-nc", "gnmi": "pe-gnmi", "virtual": "pe-virt"}[refuser]
    devices = st["svc-nc"]["transaction"]["devices"]
    assert devices[f"lab/{name}"] == "Refused", devices
    assert all(o in ("Reverted", "NotPrepared", "Refused") for o in devices.values()), devices
    others = [s for n, s in st.items() if n != f"svc-{name.removeprefix('pe-')}"]
    assert all(s["reason"] == "TransactionAborted" for s in others), st


def test_a_device_timing_out_during_prepare_aborts_the_group_and_reverts_by_itself(
        tmp_path: Path, nc: NetconfServer, gnmi: tuple[MockGnmiServer, Target], gnmi_store: HeldStore) -> None:
    server, target = gnmi
    gnmi_store.slow_commit = 4.0  # the Set lands after the client (operation timeout 2 s) gave up
    state = tmp_path / "state"
    src = write(tmp_path, nc, server.port_of("pe-gnmi"), service_yaml(), timeout=2)
    run = nwi("apply", "-f", str(src), "--confirm-timeout", "4", state=state)
    assert run.returncode == 1, run.stdout + run.stderr
    st = statuses(state)
    assert st["svc-gnmi"]["reason"] == "DeviceUnreachable" and "DEADLINE_EXCEEDED" in st["svc-gnmi"]["message"]
    assert st["svc-nc"]["reason"] == "TransactionAborted"
    assert nc_description(nc) is None and "network-instances" not in virtual_config(state)
    # the late Set did land on the gNMI device, with its rollback timer: it reverts by itself
    assert wait_for(lambda: COMMITS.ongoing(target) is None and "network-instances" not in gnmi_config(target), 30)


def test_a_slow_later_wave_keeps_the_first_waves_timers_running_until_the_group_is_confirmed(
        tmp_path: Path, nc: NetconfServer, gnmi: tuple[MockGnmiServer, Target]) -> None:
    server, target = gnmi
    state = tmp_path / "state"
    src = write(tmp_path, nc, server.port_of("pe-gnmi"), service_yaml(gnmi_after_virt=True))
    # wave 1: pe-nc and pe-virt; wave 2: pe-gnmi, whose read and prepare take 2.5 s each: more than the
    # 3 s revert timeout of wave 1's devices, which revert before the confirm unless their timers are extended
    target.faults.latency = 2.5
    try:
        run = nwi("apply", "-f", str(src), "--confirm-timeout", "3", state=state)
    finally:
        target.faults.latency = 0.0
    assert run.returncode == 0, run.stdout + run.stderr
    st = statuses(state)
    assert all(s["phase"] == "Ready" for s in st.values()), st
    assert st["svc-nc"]["transaction"]["devices"] == {
        "lab/pe-nc": "Confirmed", "lab/pe-gnmi": "Confirmed", "lab/pe-virt": "Confirmed"}
    assert COMMITS.ongoing(target) is None
    assert virtual_config(state)["network-instances"]["network-instance"][0]["route-distinguisher"] == "65000:3"
    assert "network-instances" in gnmi_config(target) and nc_description(nc) == "l3vpn-1"
    assert not list((state / "transactions").glob("*.json"))


def test_nwi_killed_between_prepare_and_confirm_devices_revert_and_the_next_run_reports_and_reapplies(
        tmp_path: Path, nc: NetconfServer, gnmi: tuple[MockGnmiServer, Target], gnmi_store: HeldStore) -> None:
    server, target = gnmi
    state = tmp_path / "state"
    src = write(tmp_path, nc, server.port_of("pe-gnmi"), service_yaml(gnmi_after_virt=True))
    gnmi_store.hold_reads.set()  # wave 2 (pe-gnmi) starts with a read: nwi waits there, wave 1 prepared
    child = nwi("apply", "-f", str(src), "--confirm-timeout", "5", state=state, wait=False)
    try:
        assert gnmi_store.reading.wait(120), child.communicate()
        assert nc_description(nc) == "l3vpn-1"  # wave 1 is prepared on its devices, not confirmed
        assert "network-instances" in json.loads((state / "devices" / "pe-virt.json").read_text())
        os.kill(child.pid, signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()
        gnmi_store.hold_reads.clear()
        gnmi_store.release.set()
    # nobody confirms: each device reverts by itself when its timer runs out (netconfd looks at its
    # timer only while idle, hence the spaced-out polling)
    assert wait_for(lambda: nc_description(nc) is None, 60, every=3), nc.log[-2000:]
    assert wait_for(lambda: "network-instances" not in virtual_config(state), 30)
    assert "network-instances" not in gnmi_config(target)
    again = nwi("apply", "-f", str(src), state=state)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "recovered: transaction lab/l3vpn-1" in again.stderr and "before it was decided" in again.stderr
    assert "lab/pe-nc Reverted" in again.stderr and "lab/pe-virt Reverted" in again.stderr
    assert nc_description(nc) == "l3vpn-1" and "network-instances" in gnmi_config(target)
    st = statuses(state)
    assert "was interrupted before it was decided" in st["svc-nc"]["transaction"]["note"]
    assert not list((state / "transactions").glob("*.json"))  # the journal record is closed
