"""The Linux backend against the real host kernel, in namespaces the tests own.

Covers veth, macvlan, bridge and host links: create, change, replace, delete;
idempotence; drift repair; rollback when the kernel refuses a step; and bad
input refused before the kernel is touched. Results are read back with
iproute2, not with the reader under test.
"""

from __future__ import annotations

import subprocess

import pytest

from nwi.drivers.base import TransactionRejected
from nwi.drivers.linux import netns as ns
from nwi.drivers.linux.applier import Applier
from nwi.drivers.linux.datastore import LinuxDatastore
from nwi.drivers.virtual import VirtualDriver
from tests.kernel.helpers import addresses, delete, iface, info_data, ip, kernel_view, kind, links, replace, txn, update

pytestmark = pytest.mark.kernel

UPLINK = {"type": "veth", "peer": "eth1-peer", "admin-state": "enable"}
MACVLAN = {
    "type": "macvlan",
    "parent": "eth1",
    "mode": "bridge",
    "addresses": ["172.254.1.200/24", "fd00:254::200/64"],
    "admin-state": "enable",
}


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def test_veth_create_change_replace_delete(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(update("v0", {"type": "veth", "peer": "v1", "mtu": 1400, "admin-state": "enable"})))
    found = links(netns_name)
    assert set(found) == {"v0", "v1"}
    assert kind(found["v0"]) == kind(found["v1"]) == "veth"
    assert found["v0"]["link"] == "v1" and found["v0"]["mtu"] == 1400 and "UP" in found["v0"]["flags"]
    index = found["v0"]["ifindex"]

    store.commit(txn(update("v0", {"mtu": 9000, "mac-address": "02:00:00:00:00:10"})))
    found = links(netns_name)
    assert found["v0"]["ifindex"] == index, "a change of MTU/MAC must not recreate the link"
    assert (found["v0"]["mtu"], found["v0"]["address"]) == (9000, "02:00:00:00:00:10")

    # replace with another peer: the old pair goes, a new pair comes
    store.commit(txn(replace("v0", {"type": "veth", "peer": "v2"})))
    found = links(netns_name)
    assert set(found) == {"v0", "v2"} and found["v0"]["link"] == "v2"
    assert store.snapshot().get(iface("v2"))["peer"] == "v0"

    store.commit(txn(delete("v0")))
    assert links(netns_name) == {}


def test_deleting_one_veth_end_takes_the_pair(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(update("a0", {"type": "veth", "peer": "a1"})))
    store.commit(txn(delete("a1")))
    assert links(netns_name) == {}


def test_macvlan_in_bridge_mode_with_addresses(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(update("eth1", UPLINK), update("mv0", MACVLAN)))
    found = links(netns_name)
    assert kind(found["mv0"]) == "macvlan" and info_data(found["mv0"])["mode"] == "bridge"
    assert found["mv0"]["link"] == "eth1" and "UP" in found["mv0"]["flags"]
    assert addresses(netns_name, "mv0") == {"172.254.1.200/24", "fd00:254::200/64"}
    snap = store.snapshot().get(iface("mv0"))
    assert snap["addresses"] == ["172.254.1.200/24", "fd00:254::200/64"] and snap["mode"] == "bridge"
    index = found["mv0"]["ifindex"]

    # change: mode and one address, in place
    store.commit(txn(update("mv0", {"mode": "vepa", "addresses": ["172.254.1.201/24"]})))
    found = links(netns_name)
    assert found["mv0"]["ifindex"] == index and info_data(found["mv0"])["mode"] == "vepa"
    assert addresses(netns_name, "mv0") == {"172.254.1.201/24"}

    # replace onto another parent: recreated there
    store.commit(txn(update("eth2", {"type": "veth", "peer": "eth2-peer"}),
                     replace("mv0", {**MACVLAN, "parent": "eth2", "mode": "private"})))
    found = links(netns_name)
    assert found["mv0"]["link"] == "eth2" and info_data(found["mv0"])["mode"] == "private"
    assert found["mv0"]["ifindex"] != index
    assert addresses(netns_name, "mv0") == {"172.254.1.200/24", "fd00:254::200/64"}

    store.commit(txn(delete("mv0")))
    assert "mv0" not in links(netns_name) and {"eth1", "eth2"} <= set(links(netns_name))


def test_bridge_create_ports_replace_delete(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(
        update("br0", {"type": "bridge", "admin-state": "enable", "addresses": ["10.9.0.1/24"]}),
        update("p0", {"type": "veth", "peer": "p0-peer", "master": "br0", "admin-state": "enable"}),
        update("p1", {"type": "veth", "peer": "p1-peer", "master": "br0"}),
    ))
    found = links(netns_name)
    assert kind(found["br0"]) == "bridge"
    assert found["p0"]["master"] == found["p1"]["master"] == "br0"
    assert addresses(netns_name, "br0") == {"10.9.0.1/24"}
    bridge_index = found["br0"]["ifindex"]

    # change: p1 leaves the bridge (merge with master removed is a replace of p1)
    store.commit(txn(replace("p1", {"type": "veth", "peer": "p1-peer"})))
    assert "master" not in links(netns_name)["p1"]

    # replace the bridge: same identity, so its ports stay
    store.commit(txn(replace("br0", {"type": "bridge", "mtu": 1450})))
    found = links(netns_name)
    assert found["br0"]["ifindex"] == bridge_index and found["br0"]["mtu"] == 1450
    assert found["p0"]["master"] == "br0" and addresses(netns_name, "br0") == set()

    # the bridge cannot go while a port still names it
    before = kernel_view(netns_name)
    with pytest.raises(TransactionRejected, match=r"p0.*master.*br0"):
        store.commit(txn(delete("br0")))
    assert kernel_view(netns_name) == before

    store.commit(txn(delete("p0"), delete("br0")))
    assert set(links(netns_name)) == {"p1", "p1-peer"}


def test_second_commit_changes_nothing(store: LinuxDatastore, netns_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = txn(
        update("eth1", UPLINK), update("mv0", MACVLAN),
        update("br0", {"type": "bridge", "admin-state": "enable"}),
        update("eth1-peer", {"type": "veth", "peer": "eth1", "master": "br0", "mtu": 1500}),
    )
    store.commit(config)
    assert store.last_plan.steps
    before = kernel_view(netns_name)

    def no_kernel_writes(self: Applier, plan: object) -> None:
        raise AssertionError("the second commit sent netlink changes")

    monkeypatch.setattr(Applier, "run", no_kernel_writes)
    store.commit(config)
    assert store.last_plan.steps == []
    assert kernel_view(netns_name) == before  # same ifindexes, same everything


def test_drift_is_seen_and_repaired(store: LinuxDatastore, netns_name: str) -> None:
    config = txn(update("eth1", {**UPLINK, "mtu": 1500}), update("mv0", MACVLAN))
    store.commit(config)
    sh("ip", "-n", netns_name, "link", "del", "mv0")
    sh("ip", "-n", netns_name, "link", "set", "eth1", "mtu", "1300")
    snap = store.snapshot()
    assert snap.get(iface("mv0")) is None
    assert snap.get(iface("eth1"))["mtu"] == 1300

    store.commit(config)
    found = links(netns_name)
    assert info_data(found["mv0"])["mode"] == "bridge" and found["eth1"]["mtu"] == 1500
    assert addresses(netns_name, "mv0") == {"172.254.1.200/24", "fd00:254::200/64"}


def test_rollback_when_kernel_refuses_mtu(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(update("eth1", UPLINK), update("mv0", MACVLAN)))
    before = kernel_view(netns_name)
    bad = txn(
        update("br9", {"type": "bridge", "admin-state": "enable"}),
        update("eth1", {"mtu": 1450, "addresses": ["10.1.1.1/24"]}),
        delete("mv0"),
        # a macvlan cannot be larger than its parent: the kernel says EINVAL
        update("mv1", {"type": "macvlan", "parent": "eth1", "mtu": 9000}, owner="LinuxConfig/default/too-big"),
    )
    with pytest.raises(TransactionRejected) as err:
        store.commit(bad)
    assert "mv1" in err.value.message and "rolled back" in err.value.message
    assert "Invalid argument" in err.value.message
    assert err.value.failed_owners == ("LinuxConfig/default/too-big",)
    after = kernel_view(netns_name)
    assert set(after) == set(before)
    # mv0 was deleted and rebuilt: a new index, everything else as it was
    assert {n: v[1:] for n, v in after.items()} == {n: v[1:] for n, v in before.items()}
    assert after["eth1"] == before["eth1"]


def test_rollback_when_kernel_refuses_mac(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(
        update("eth1", UPLINK), update("mv0", MACVLAN),
        update("br0", {"type": "bridge"}),
        update("eth1-peer", {"type": "veth", "peer": "eth1", "master": "br0"}),
    ))
    before = kernel_view(netns_name)
    with pytest.raises(TransactionRejected, match=r"x0.*Cannot assign requested address.*rolled back"):
        store.commit(txn(
            delete("br0"),  # its port is released first (a replace of eth1-peer)
            replace("eth1-peer", {"type": "veth", "peer": "eth1"}),
            update("mv0", {"mtu": 1400}),
            # a multicast MAC is refused by the kernel
            update("x0", {"type": "veth", "peer": "x1", "mac-address": "01:00:5e:00:00:01"}),
        ))
    after = kernel_view(netns_name)
    assert {n: v[1:] for n, v in after.items()} == {n: v[1:] for n, v in before.items()}
    assert links(netns_name)["eth1-peer"]["master"] == "br0"


def test_rollback_when_parent_vanishes_midway(
    store: LinuxDatastore, netns_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.commit(txn(update("eth1", UPLINK)))
    before = kernel_view(netns_name)
    real_add = Applier._add

    def add_after_parent_vanished(self: Applier, name: str, ltype: str, *rest: object) -> None:
        if ltype == "macvlan":  # someone deletes the parent between plan and step
            sh("ip", "-n", netns_name, "link", "del", "up5")
        real_add(self, name, ltype, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(Applier, "_add", add_after_parent_vanished)
    with pytest.raises(TransactionRejected, match=r"create mv5.*up5.*rolled back"):
        store.commit(txn(update("up5", {"type": "veth", "peer": "up5-peer"}),
                         update("mv5", {"type": "macvlan", "parent": "up5"}),
                         update("eth1", {"mtu": 1400})))
    assert kernel_view(netns_name) == before


@pytest.mark.parametrize(
    ("name", "props", "field"),
    [
        ("t0", {"type": "tunnel"}, "type"),
        ("t0", {"type": "vlan", "parent": "eth1", "vlan-id": 0}, "vlan-id"),
        ("t0", {"type": "vlan", "parent": "eth1", "vlan-id": 4095}, "vlan-id"),
        ("t0", {"type": "vlan", "vlan-id": 100}, "parent"),
        ("t0", {"type": "macvlan", "parent": "eth1", "mode": "loud"}, "mode"),
        ("t0", {"type": "veth"}, "peer"),
        ("t0", {"type": "bridge", "addresses": ["300.1.1.1/24"]}, "addresses"),
        ("t0", {"type": "bridge", "mac-address": "zz:00:00:00:00:00"}, "mac-address"),
        ("t0", {"type": "bridge", "mtu": 10}, "mtu"),
        ("t0", {"type": "bridge", "colour": "red"}, "colour"),
        ("this-name-is-too-long", {"type": "bridge"}, "name"),
    ],
)
def test_bad_input_refused_before_anything_changes(
    store: LinuxDatastore, netns_name: str, name: str, props: dict[str, object], field: str
) -> None:
    from nwi.drivers.linux import validate_linux_properties

    errors = validate_linux_properties(iface(name), props)
    assert errors and any(e.startswith(field) or f"{field}:" in e for e in errors), errors

    with pytest.raises(TransactionRejected, match=field):
        store.commit(txn(update("ok0", {"type": "bridge"}), update(name, props)))
    assert not ns.exists(netns_name), "a refused first commit must not even create the namespace"


def test_missing_parent_refused_against_the_device(store: LinuxDatastore, netns_name: str) -> None:
    store.commit(txn(update("eth1", UPLINK)))
    before = kernel_view(netns_name)
    for bad, field in (
        (update("mv0", {"type": "macvlan", "parent": "eth9"}), "parent"),
        (update("p0", {"type": "veth", "peer": "p0-peer", "master": "br9"}), "master"),
        (update("p0", {"type": "veth", "peer": "p0-peer", "master": "eth1"}), "master"),
        (update("p0", {"type": "veth", "peer": "eth1"}), "peer"),
    ):
        with pytest.raises(TransactionRejected, match=field) as err:
            store.commit(txn(update("br0", {"type": "bridge"}), bad))
        assert err.value.failed_owners == (bad.owner,)
        assert kernel_view(netns_name) == before


def test_validate_linux_properties_names_path_and_fields() -> None:
    from nwi.drivers.linux import validate_linux_properties
    from nwi.path import parse_path

    assert validate_linux_properties(iface("mv0"), MACVLAN) == []
    assert validate_linux_properties(parse_path("/interfaces"), {})[0].startswith("path:")
    assert any(e.startswith("name:") for e in validate_linux_properties(iface("a"), {"name": "b", "type": "bridge"}))
    assert validate_linux_properties(iface("v"), {"type": "vlan", "parent": "x", "vlan-id": "100"})


def test_host_link_is_moved_in_and_back_out(netns_name: str, host_ns: str) -> None:
    sh("ip", "-n", host_ns, "link", "add", "up0", "type", "veth", "peer", "name", "up0-h")
    store = LinuxDatastore(netns_name, host_netns=host_ns)
    store.commit(txn(update("up0", {"type": "host", "admin-state": "enable", "addresses": ["10.7.0.2/24"]}),
                     update("mv0", {"type": "macvlan", "parent": "up0", "mode": "bridge"})))
    assert set(links(netns_name)) == {"up0", "mv0"}
    assert "up0" not in links(host_ns)
    assert store.snapshot().get(iface("up0"))["type"] == "host"  # its peer lives outside
    assert addresses(netns_name, "up0") == {"10.7.0.2/24"}

    store.commit(txn(delete("mv0"), delete("up0")))
    assert links(netns_name) == {}
    assert {"up0", "up0-h"} <= set(links(host_ns)), "a host link goes back out, never deleted"

    with pytest.raises(TransactionRejected, match=r"up9.*not in namespace"):
        store.commit(txn(update("up9", {"type": "host"})))


def test_namespace_lifecycle(netns_name: str) -> None:
    store = LinuxDatastore(netns_name)
    assert store.snapshot().to_json() == {} and not ns.exists(netns_name), "a read creates nothing"
    store.commit(txn(update("b0", {"type": "bridge"})), dry_run=True)
    assert not ns.exists(netns_name) and [s.action for s in store.last_plan.steps] == ["create", "converge"]
    driver = VirtualDriver("dev", store)
    driver.apply(txn(update("b0", {"type": "bridge"})))
    assert ns.exists(netns_name)
    assert driver.read([iface("b0")])[iface("b0")]["type"] == "bridge"
    assert store.remove() and not ns.exists(netns_name) and not store.remove()


def test_device_namespace_names() -> None:
    assert ns.netns_for_device("172.20.20.200", prefix="nwi-") == "nwi-172.20.20.200"
    assert ns.netns_for_device("a/b c", prefix="nwi-") == "nwi-a_b_c"
    assert LinuxDatastore.for_device("r1", prefix="x-").netns == "x-r1"
    assert ip("nwi-no-such-namespace", "link", "show") == []


def test_canonical_properties_match_what_is_read_back(store: LinuxDatastore) -> None:
    from nwi.drivers.linux import canonical_linux_properties

    written = {"type": "macvlan", "parent": "eth1", "mac-address": "02:AA:00:00:00:01",
               "addresses": ["fd00:254:0::0200/64", "172.254.1.200/24"]}
    canon = canonical_linux_properties(iface("mv0"), written)
    assert canon == {"type": "macvlan", "parent": "eth1", "mac-address": "02:aa:00:00:00:01",
                     "addresses": ["172.254.1.200/24", "fd00:254::200/64"]}
    store.commit(txn(update("eth1", UPLINK), update("mv0", written)))
    read = store.snapshot().get(iface("mv0"))
    assert {k: read[k] for k in canon} == canon
    with pytest.raises(ValueError, match="vlan-id"):
        canonical_linux_properties(iface("v"), {"type": "vlan", "parent": "eth1", "vlan-id": 4095})
