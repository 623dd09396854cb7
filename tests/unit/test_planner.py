"""The planner: changes only where the device differs, with readable diffs."""

from __future__ import annotations

from nwi.drivers.base import Op
from nwi.path import parse_path as P
from nwi.planner import plan_batch, plan_object, render_diff, same_config, simulate_waves
from tests.unit.engine_kit import obj


def test_merge_in_sync_when_device_already_holds_properties_and_more() -> None:
    o = obj("a", "r1", "/system/config", {"hostname": "r1"})
    assert plan_object(o, "r1", {"hostname": "r1", "domain": "x"}).in_sync
    p = plan_object(o, "r1", {"hostname": "old"})
    assert p.change is not None and p.change.op == Op.UPDATE
    assert p.diff() == ['~ /hostname: "old" -> "r1"']


def test_replace_is_exact_and_delete_wants_absence() -> None:
    r = obj("r", "r1", "/system/config", {"hostname": "r1"}, operation="replace")
    assert not plan_object(r, "r1", {"hostname": "r1", "domain": "x"}).in_sync
    assert plan_object(r, "r1", {"hostname": "r1"}).in_sync
    d = obj("d", "r1", "/system/ntp", operation="delete")
    assert plan_object(d, "r1", None).in_sync
    p = plan_object(d, "r1", {"enabled": True})
    assert p.change is not None and p.change.op == Op.DELETE and p.diff() == ['- {"enabled": true}']


def test_list_entry_keys_count_as_present() -> None:
    o = obj("v", "r1", "/service/vpls[service-name=v1]", {"service-id": 1}, kind="SROSConfig")
    assert o.device_path == P("/configure/service/vpls[service-name=v1]")
    assert plan_object(o, "r1", {"service-name": "v1", "service-id": 1}).in_sync
    assert plan_object(o, "r1", None).diff() == ['+ {"service-id": 1, "service-name": "v1"}']


def test_device_string_forms_of_numbers_compare_equal() -> None:
    assert same_config({"mtu": "1500", "up": "true"}, {"mtu": 1500, "up": True})
    assert not same_config({"mtu": "1500"}, {"mtu": 1501})
    assert not same_config({"a": 1}, {"a": 1, "b": 2})


def test_batch_is_one_transaction_in_gnmi_order() -> None:
    objs = [obj("u", "r1", "/a", {"x": 1}), obj("d", "r1", "/b", operation="delete"),
            obj("r", "r1", "/c", {"y": 2}, operation="replace")]
    batch = plan_batch(objs, "r1", {P("/b"): {"z": 1}}.get)
    assert [c.op for c in batch.transaction.ordered()] == [Op.DELETE, Op.REPLACE, Op.UPDATE]


def test_simulated_waves_see_earlier_waves() -> None:
    parent = obj("p", "r1", "/system/config", {"hostname": "r1"})
    child = obj("c", "r1", "/system/config", {"hostname": "r1"}, deps=["p"])
    waves = simulate_waves([child, parent], [1, 0], ["r1", "r1"], {"r1": {}})
    assert waves[0][0].objects[0].change is not None
    assert waves[1][0].objects[0].in_sync  # the parent's change already put it there


def test_render_diff_add_remove() -> None:
    assert sorted(render_diff({"a": 1, "b": 2}, {"a": 1, "c": 3})) == ["+ /c: 3", "- /b"]


def test_linux_replace_ignores_kernel_defaults_and_spelling() -> None:
    desired = {"type": "veth", "peer": "veth1", "mac-address": "AA:BB:CC:00:00:01", "mtu": 9000}
    o = obj("v", "lab", "/interfaces/interface[name=veth0]", desired, operation="replace", kind="LinuxConfig")
    kernel = {"name": "veth0", "type": "veth", "peer": "veth1", "mac-address": "aa:bb:cc:00:00:01", "mtu": 9000,
              "admin-state": "up", "addresses": []}
    assert plan_object(o, "lab", kernel).in_sync
    changed = plan_object(o, "lab", {**kernel, "mtu": 1500})
    assert changed.change is not None and changed.change.op == Op.REPLACE
    assert changed.diff() == ["~ /mtu: 1500 -> 9000"]


def test_planning_leaves_the_objects_properties_alone() -> None:
    o = obj("v", "r1", "/service/vpls[service-name=v1]", {"service-id": 1, "fdb": {"size": 10}}, kind="SROSConfig")
    for before in (None, {"service-name": "v1", "service-id": 2}):
        p = plan_object(o, "r1", before)
        assert p.change is not None and p.after["service-name"] == "v1"
        assert o.spec.properties == {"service-id": 1, "fdb": {"size": 10}}
        p.change.value["service-id"] = 99  # what a driver does with the change's value stays there
        assert o.spec.properties == {"service-id": 1, "fdb": {"size": 10}}


def test_objects_of_one_batch_see_the_device_as_it_was_before_the_batch() -> None:
    a = obj("a", "r1", "/system/config", {"hostname": "r1"})
    b = obj("b", "r1", "/system/config", {"hostname": "r1"})
    waves = simulate_waves([a, b], [0, 0], ["r1", "r1"], {"r1": {}})
    assert [p.change is not None for p in waves[0][0].objects] == [True, True]


def test_simulated_removal_sees_earlier_removals() -> None:
    child = obj("c", "r1", "/system/config/ntp", {"enabled": True})
    parent = obj("p", "r1", "/system/config", {"hostname": "r1"})
    gone = obj("g", "r2", "/system/dns", {"search": "x"})
    current = {"r1": {P("/system/config/ntp"): {"enabled": True}, P("/system/config"): {"hostname": "r1"}},
               "r2": {}}
    waves = simulate_waves([parent, gone, child], [1, 0, 0], ["r1", "r2", "r1"], current, removal=True)
    assert [b.device for b in waves[0]] == ["r1", "r2"]  # one batch per device, in device order
    assert waves[0][0].transaction.changes[0].op == Op.DELETE
    assert waves[0][1].objects[0].in_sync  # nothing of it on r2
    (removed,) = waves[1][0].objects
    assert removed.change is not None and removed.before == {"hostname": "r1"}  # the child is already gone
