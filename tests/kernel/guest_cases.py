"""VLAN tests that need a kernel with 802.1Q and VLAN-aware bridges: run *inside* the guest kernel.

``test_vlan_guest.py`` boots the guest and runs this file there with pytest; each test
here is reported back as a host test. The host kernel lacks 8021q and bridge
VLAN filtering, so this file refuses to run outside the guest.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from nwi.drivers.base import TransactionRejected
from nwi.drivers.linux.applier import Applier
from nwi.drivers.linux.datastore import LinuxDatastore
from tests.conftest import SAMPLES, NwiRunner
from tests.harness.vm import GUEST_ENV
from tests.kernel.helpers import (
    bridge_vlans,
    delete,
    iface,
    info_data,
    kernel_view,
    kind,
    links,
    replace,
    txn,
    update,
)

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.skipif(not os.environ.get(GUEST_ENV), reason="runs in the guest kernel only (test_vlan_guest.py)"),
]

TRUNK = {"type": "veth", "peer": "v1", "admin-state": "enable"}
VLAN_BRIDGE = {"type": "bridge", "vlan-filtering": True, "admin-state": "enable"}


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def test_vlan_100_on_a_veth_create_change_replace_delete(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(update("v0", TRUNK),
                     update("v0.100", {"type": "vlan", "parent": "v0", "vlan-id": 100,
                                       "addresses": ["192.0.2.1/24"], "admin-state": "enable"})))
    found = links(netns_name)
    assert kind(found["v0.100"]) == "vlan" and found["v0.100"]["link"] == "v0"
    assert info_data(found["v0.100"])["id"] == 100 and "UP" in found["v0.100"]["flags"]
    assert store.snapshot().get(iface("v0.100"))["vlan-id"] == 100
    index = found["v0.100"]["ifindex"]

    # change in place: MTU and MAC
    store.commit(txn(update("v0.100", {"mtu": 1400, "mac-address": "02:00:00:00:01:00"})))
    found = links(netns_name)
    assert found["v0.100"]["ifindex"] == index
    assert (found["v0.100"]["mtu"], found["v0.100"]["address"]) == (1400, "02:00:00:00:01:00")

    # change of VLAN id: the link is recreated with the new id, attributes kept (merge)
    store.commit(txn(update("v0.100", {"vlan-id": 200})))
    found = links(netns_name)
    assert info_data(found["v0.100"])["id"] == 200 and found["v0.100"]["ifindex"] != index
    assert found["v0.100"]["mtu"] == 1400

    # replace: onto the other end of the pair, VLAN 100 again, nothing else kept
    store.commit(txn(replace("v0.100", {"type": "vlan", "parent": "v1", "vlan-id": 100})))
    found = links(netns_name)
    assert found["v0.100"]["link"] == "v1" and info_data(found["v0.100"])["id"] == 100
    assert found["v0.100"]["mtu"] == 1500

    store.commit(txn(delete("v0.100")))
    assert set(links(netns_name)) == {"v0", "v1"}


def test_recreating_a_parent_recreates_its_vlans(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(update("v0", TRUNK), update("v0.100", {"type": "vlan", "parent": "v0", "vlan-id": 100})))
    store.commit(txn(replace("v0", {"type": "veth", "peer": "v9"})))
    found = links(netns_name)
    assert set(found) == {"v0", "v9", "v0.100"} and found["v0.100"]["link"] == "v0"


def test_vlan_aware_bridge_carries_vlan_100_on_a_port(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(
        update("br0", VLAN_BRIDGE),
        update("p0", {"type": "veth", "peer": "p0-peer", "master": "br0", "vlans": [100], "admin-state": "enable"}),
        update("p1", {"type": "veth", "peer": "p1-peer", "master": "br0", "pvid": 100, "untagged": [100]}),
    ))
    found = links(netns_name)
    assert info_data(found["br0"])["vlan_filtering"] == 1
    vlans = bridge_vlans(netns_name)
    assert vlans["p0"] == {100: set()}, vlans  # given VLANs are the port's exact membership
    assert vlans["p1"] == {100: {"PVID", "Egress Untagged"}}, vlans
    port = store.snapshot().get(iface("p1"))
    assert (port["vlans"], port["untagged"], port["pvid"]) == ([], [100], 100)

    # change: p0 carries 100 and 200 tagged with native VLAN 10; p1 moves its native VLAN to 300
    store.commit(txn(update("p0", {"vlans": [100, 200], "pvid": 10, "untagged": [10]}),
                     update("p1", {"pvid": 300, "untagged": [300]})))
    vlans = bridge_vlans(netns_name)
    assert vlans["p0"] == {10: {"PVID", "Egress Untagged"}, 100: set(), 200: set()}, vlans
    assert vlans["p1"] == {300: {"PVID", "Egress Untagged"}}, vlans

    # replace a port without VLAN fields: it keeps the VLANs the kernel has
    store.commit(txn(replace("p0", {"type": "veth", "peer": "p0-peer", "master": "br0"})))
    assert bridge_vlans(netns_name)["p0"] == {10: {"PVID", "Egress Untagged"}, 100: set(), 200: set()}

    # a new port without VLAN fields gets the bridge's default (VLAN 1, native)
    store.commit(txn(update("p2", {"type": "veth", "peer": "p2-peer", "master": "br0"})))
    assert bridge_vlans(netns_name)["p2"] == {1: {"PVID", "Egress Untagged"}}

    # VLAN filtering off: the port's VLANs must go first, else the bridge refuses
    with pytest.raises(TransactionRejected, match="vlan-filtering"):
        store.commit(txn(update("br0", {"vlan-filtering": False})))
    store.commit(txn(delete("p0"), delete("p1"), delete("p2"), delete("br0")))
    assert links(netns_name) == {}


def test_vlan_state_is_idempotent_and_drift_repaired(
    store: LinuxDatastore, netns_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = txn(
        update("br0", VLAN_BRIDGE),
        update("p0", {"type": "veth", "peer": "p0-peer", "master": "br0", "vlans": [100], "pvid": 10,
                      "untagged": [10]}),
        update("v0", TRUNK), update("v0.100", {"type": "vlan", "parent": "v0", "vlan-id": 100}),
    )
    store.commit(config)
    before = (kernel_view(netns_name), bridge_vlans(netns_name))
    with monkeypatch.context() as m:
        m.setattr(Applier, "run", lambda self, plan: pytest.fail("second commit sent netlink changes"))
        store.commit(config)
    assert store.last_plan.steps == []
    assert (kernel_view(netns_name), bridge_vlans(netns_name)) == before

    sh("bridge", "-n", netns_name, "vlan", "del", "vid", "100", "dev", "p0")
    sh("ip", "-n", netns_name, "link", "del", "v0.100")
    snap = store.snapshot()
    assert snap.get(iface("v0.100")) is None and snap.get(iface("p0"))["vlans"] == []
    store.commit(config)
    assert bridge_vlans(netns_name)["p0"] == {10: {"PVID", "Egress Untagged"}, 100: set()}
    assert info_data(links(netns_name)["v0.100"])["id"] == 100


def test_rollback_when_kernel_refuses_a_duplicate_vlan(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(update("v0", TRUNK), update("v0.100", {"type": "vlan", "parent": "v0", "vlan-id": 100}),
                     update("br0", VLAN_BRIDGE),
                     update("p0", {"type": "veth", "peer": "p0-peer", "master": "br0", "vlans": [100]})))
    before = (kernel_view(netns_name), bridge_vlans(netns_name))
    with pytest.raises(TransactionRejected, match=r"create dup.*(File exists|exists).*rolled back") as err:
        store.commit(txn(
            update("p0", {"vlans": [100, 200], "pvid": 200}),
            update("v0.100", {"mtu": 1300}),
            # a second VLAN 100 on the same parent: the kernel says EEXIST
            update("dup", {"type": "vlan", "parent": "v0", "vlan-id": 100}, owner="LinuxConfig/default/dup"),
        ))
    assert err.value.failed_owners == ("LinuxConfig/default/dup",)
    assert (kernel_view(netns_name), bridge_vlans(netns_name)) == before


@pytest.mark.parametrize("vid", [0, 4095])
def test_bad_vlan_ids_refused_before_anything_changes(store: LinuxDatastore, netns_name: str, vid: int) -> None:
    store.commit(txn(update("v0", TRUNK)))
    before = kernel_view(netns_name)
    with pytest.raises(TransactionRejected, match="vlan-id"):
        store.commit(txn(update("v0.1", {"type": "vlan", "parent": "v0", "vlan-id": 100}),
                         update("bad", {"type": "vlan", "parent": "v0", "vlan-id": vid})))
    assert kernel_view(netns_name) == before


def test_port_vlans_need_a_filtering_bridge(store: LinuxDatastore, netns_name: str) -> None:
    with pytest.raises(TransactionRejected, match=r"p0\]\.vlans.*vlan-filtering"):
        store.commit(txn(update("br0", {"type": "bridge"}),
                         update("p0", {"type": "veth", "peer": "p0-peer", "master": "br0", "vlans": [100]})))
    assert links(netns_name) == {}


def test_nwi_apply_all_of_samples_linux(nwi: NwiRunner, lab_netns: str) -> None:
    result = nwi("apply", "-f", SAMPLES / "linux")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "8 Ready" in result.stdout, result.stdout
    text = subprocess.run(["ip", "-n", lab_netns, "-d", "link"], check=True, capture_output=True, text=True).stdout
    assert "trunk0.100@trunk0" in text and "vlan protocol 802.1Q id 100" in text, text
    assert "macvlan mode bridge" in text and "vlan_filtering 1" in text, text
    assert bridge_vlans(lab_netns)["trunk1"] == {1: {"PVID", "Egress Untagged"}, 100: set()}
    again = nwi("apply", "-f", SAMPLES / "linux")
    assert again.exit_code == 0 and "0 transaction(s) sent" in again.stdout, again.stdout
