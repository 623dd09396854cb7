"""The driver reads a batch in few Gets, even when most paths do not exist yet (a first apply)."""

from __future__ import annotations

from nwi.drivers.base import Transaction
from nwi.drivers.virtual import DeviceStore
from nwi.path import parse_path as P
from nwi.tree import Tree
from tests.gnmi.helpers import connected


class CountingStore(DeviceStore):
    """Counts how often the server reads the device (once per Get)."""

    reads = 0

    def snapshot(self) -> Tree:
        self.reads += 1
        return super().snapshot()


def test_missing_paths_are_read_through_their_parent_not_one_by_one() -> None:
    store = CountingStore("r1", None)
    with connected(store) as driver:
        paths = [P(f"/interfaces/interface[name=eth{i}]/config") for i in range(40)]
        paths += [P(f"/service/vpls[service-name=v{i}]") for i in range(40)]
        store.reads = 0
        assert driver.read(paths) == dict.fromkeys(paths)
        empty_reads = store.reads

        store.commit(Transaction("r1", []))
        tree = store.snapshot()
        for i in range(0, 40, 2):
            tree.update(P(f"/interfaces/interface[name=eth{i}]/config"), {"mtu": 1500 + i})
        tree.update(P("/service/vpls[service-name=v7]"), {"service-id": 7})
        store.save(tree)
        store.reads = 0
        got = driver.read(paths)
        mixed_reads = store.reads
    assert empty_reads <= 4, empty_reads  # not 80: one Get per level climbed, not one per path
    assert mixed_reads <= 4, mixed_reads
    for i in range(40):
        want = {"mtu": 1500 + i} if i % 2 == 0 else None
        assert got[P(f"/interfaces/interface[name=eth{i}]/config")] == want
    assert got[P("/service/vpls[service-name=v7]")] == {"service-name": "v7", "service-id": 7}
    assert got[P("/service/vpls[service-name=v8]")] is None


def test_a_path_that_is_also_a_parent_is_not_asked_for_twice() -> None:
    # /configure is asked for as the parent of /configure/service and is itself the parent of
    # the port: on an empty device, three Gets (the batch, its parents, /configure), not four
    store = CountingStore("r1", None)
    with connected(store) as driver:
        paths = [P("/configure/service/customer[customer-name=c1]"), P("/configure/port[port-id=1/1/1]")]
        store.reads = 0
        assert driver.read(paths) == dict.fromkeys(paths)
    assert store.reads == 3


def test_nested_requested_paths_are_cut_out_of_their_ancestor() -> None:
    store = CountingStore("r1", None)
    tree = Tree()
    tree.update(P("/service/vpls[service-name=v1]"), {"service-id": 1, "sap": [{"sap-id": "1/1/1:10", "x": 1}]})
    tree.update(P("/interfaces"), {"interface": [{"name": "eth0", "mtu": 1500}]})
    store.save(tree)
    with connected(store) as driver:
        paths = [P("/service/vpls[service-name=v1]"), P("/service/vpls[service-name=v1]/sap[sap-id=1/1/1:10]"),
                 P("/service/vpls[service-name=v1]/service-id"), P("/service/vpls[service-name=v1]/nothing"),
                 P("/interfaces/interface"), P("/interfaces/interface[name=eth0]")]
        store.reads = 0
        got = driver.read(paths)
    assert store.reads == 1
    assert got == {
        paths[0]: {"service-name": "v1", "service-id": 1, "sap": [{"sap-id": "1/1/1:10", "x": 1}]},
        paths[1]: {"sap-id": "1/1/1:10", "x": 1},
        paths[2]: 1,
        paths[3]: None,
        paths[4]: [{"name": "eth0", "mtu": 1500}],
        paths[5]: {"name": "eth0", "mtu": 1500},
    }


def test_missing_top_level_list_entries_are_read_in_one_request_not_one_per_path() -> None:
    """300 ``/interface[name=...]`` on one device, most missing: the first Get fails (NOT_FOUND), then one
    Get with wildcard keys answers for every entry (it was one Get per path: 95 s at 0.3 s latency)."""
    store = CountingStore("r1", None)
    with connected(store) as driver:
        tree = Tree()
        for i in range(0, 300, 7):  # some exist
            tree.replace(P(f"/interface[name=e{i}]"), {"name": f"e{i}", "mtu": i})
        tree.replace(P("/system/name"), "r1")
        store.save(tree)
        paths = [P(f"/interface[name=e{i}]") for i in range(300)]
        paths += [P(f"/lag[name=l{i}]") for i in range(5)]  # a second list, wholly missing
        paths += [P("/system"), P("/absent")]  # top-level containers are still asked for alone
        store.reads = 0
        got = driver.read(paths)
        assert store.reads <= 4  # the batch, both lists at once, then /system and /absent alone
        assert got[P("/system")] == {"name": "r1"} and got[P("/absent")] is None
        for i in range(300):
            assert got[P(f"/interface[name=e{i}]")] == ({"name": f"e{i}", "mtu": i} if i % 7 == 0 else None)
        assert all(got[P(f"/lag[name=l{i}]")] is None for i in range(5))
