"""The engine: order, batching, idempotence, drift, failures, deletion — on real virtual devices."""

from __future__ import annotations

from nwi.path import parse_path as P
from nwi.status import Phase
from tests.unit.engine_kit import Lab, key, obj


def seed() -> list:
    return [
        obj("vpls-01", "pe1", "/service/vpls[service-name=vpls-01]", {"service-id": 4321}, deps=["customer"],
            kind="SROSConfig"),
        obj("customer", "pe1", "/service/customer[customer-name=1234]", {"customer-id": 1234}, kind="SROSConfig"),
    ]


def test_dependency_order_status_and_second_run_writes_nothing() -> None:
    lab = Lab()
    report = lab.apply(seed())
    assert report.ok
    assert [k.name for k in report.order] == ["customer", "vpls-01"]
    assert [c.owner for t in lab.transactions for c in t.changes] == [
        "SROSConfig/ns/customer", "SROSConfig/ns/vpls-01"]
    # vpls-01 was visibly Waiting on customer before it turned Ready
    vpls_phases = [ph for k, ph in lab.sink.history if k.name == "vpls-01"]
    assert vpls_phases == ["Waiting", "Applying", "Ready"]
    st = lab.sink.statuses[key("vpls-01", "SROSConfig")]
    assert {c.type: c.status for c in st.conditions} == {
        "Ready": "True", "DependenciesReady": "True", "Applied": "True", "InSync": "True"}
    assert st.observed_generation == 1 and st.applied_hash and st.last_applied_time
    assert lab.device("pe1")["configure"]["service"]["vpls"] == [{"service-name": "vpls-01", "service-id": 4321}]

    again = lab.apply(seed())
    assert again.ok and again.transactions == 0 and lab.transactions == []


def test_objects_ready_together_for_one_device_share_one_transaction() -> None:
    lab = Lab()
    objs = [obj(f"if{i}", "r1", f"/interfaces/interface[name=eth{i}]", {"mtu": 1500}) for i in range(5)]
    objs += [obj("other", "r2", "/system", {"hostname": "r2"})]
    report = lab.apply(objs)
    assert report.ok
    per_device = sorted((t.device, len(t.changes)) for t in lab.transactions)
    assert per_device == [("r1", 5), ("r2", 1)]
    assert lab.connects == {"r1": 1, "r2": 1}  # one session per device for the run


def test_drift_is_repaired_or_reported_by_policy() -> None:
    lab = Lab()
    repaired = obj("a", "r1", "/system/config", {"hostname": "r1"})
    reported = obj("b", "r1", "/ntp", {"enabled": True}, drift_policy="report")
    dependent = obj("c", "r1", "/ntp-server", {"address": "127.0.0.1"}, deps=["b"])
    assert lab.apply([repaired, reported, dependent]).ok
    tree = lab.store("r1").snapshot()
    tree.update(P("/system/config"), {"hostname": "hand-edited"})
    tree.update(P("/ntp"), {"enabled": False})
    lab.store("r1").save(tree)

    report = lab.apply([repaired, reported, dependent])
    assert report.outcomes[repaired.key].reason == "DriftRepaired"
    assert "hand-edited" in report.outcomes[repaired.key].message
    assert report.outcomes[reported.key].phase == Phase.DRIFTED
    assert report.outcomes[dependent.key].phase == Phase.WAITING  # a drifted dependency is not in sync
    assert lab.device("r1")["system"]["config"] == {"hostname": "r1"}
    assert lab.device("r1")["ntp"] == {"enabled": False}


def test_rejected_change_fails_only_its_object_and_stops_its_dependents() -> None:
    lab = Lab()
    lab.store("r1").save(lab.store("r1").snapshot())
    base = obj("leaf", "r1", "/system", {"hostname": "r1"})
    assert lab.apply([base]).ok
    bad = obj("bad", "r1", "/system/hostname/child", {"x": 1})  # through a leaf: the device refuses
    good = obj("good", "r1", "/interfaces/interface[name=eth0]", {"mtu": 9000})
    behind = obj("behind", "r1", "/behind", {"x": 1}, deps=["bad"])
    elsewhere = obj("elsewhere", "r2", "/system", {"hostname": "r2"})
    report = lab.apply([base, bad, good, behind, elsewhere])
    assert report.outcomes[bad.key].phase == Phase.FAILED
    assert report.outcomes[bad.key].reason == "TransactionRejected"
    assert "leaf" in report.outcomes[bad.key].message
    assert report.outcomes[behind.key].phase == Phase.WAITING
    assert report.outcomes[behind.key].reason == "DependencyFailed"
    assert report.outcomes[good.key].phase == Phase.READY
    assert report.outcomes[elsewhere.key].phase == Phase.READY
    assert "behind" not in lab.device("r1")


def test_a_rejected_transaction_changes_nothing_and_innocents_are_retried_alone() -> None:
    lab = Lab()
    lab.apply([obj("leaf", "r1", "/system", {"hostname": "r1"})])
    before = lab.device("r1")
    # the planner cannot see this one coming (nothing at the path yet); the device refuses it
    bad = obj("bad", "r1", "/system/hostname/x", {"y": 1})
    good = obj("good", "r1", "/vlans", {"vlan": 100})
    report = lab.apply([bad, good])
    first, second = lab.transactions
    assert {c.owner for c in first.changes} == {str(bad.key), str(good.key)}
    assert [c.owner for c in second.changes] == [str(good.key)]
    assert report.outcomes[bad.key].phase == Phase.FAILED
    assert report.outcomes[good.key].phase == Phase.READY
    assert lab.device("r1") == {**before, "vlans": {"vlan": 100}}


def test_unreachable_device_fails_its_objects_and_others_go_on() -> None:
    lab = Lab(down={"r1"})
    report = lab.apply([obj("a", "r1", "/a", {"x": 1}), obj("b", "r2", "/b", {"x": 1})])
    assert report.outcomes[key("a")].phase == Phase.FAILED
    assert report.outcomes[key("a")].reason == "DeviceUnreachable"
    assert "connection refused" in report.outcomes[key("a")].message
    assert report.outcomes[key("b")].phase == Phase.READY
    lab.down.clear()
    assert lab.apply([obj("a", "r1", "/a", {"x": 1}), obj("b", "r2", "/b", {"x": 1})]).ok


def test_cycle_members_fail_missing_dependency_waits_rest_applies() -> None:
    lab = Lab()
    objs = [obj("x", "r1", "/x", {"v": 1}, deps=["y"]), obj("y", "r1", "/y", {"v": 1}, deps=["x"]),
            obj("z", "r1", "/z", {"v": 1}, deps=["x"]), obj("m", "r1", "/m", {"v": 1}, deps=["ghost"]),
            obj("ok", "r1", "/ok", {"v": 1})]
    report = lab.apply(objs)
    for name in ("x", "y"):
        out = report.outcomes[key(name)]
        assert (out.phase, out.reason) == (Phase.FAILED, "DependencyCycle")
        assert "x -> y -> x" in out.message or "y -> x -> y" in out.message
    assert report.outcomes[key("z")].phase == Phase.WAITING
    m = report.outcomes[key("m")]
    assert (m.phase, m.reason, m.waiting_on) == (Phase.WAITING, "DependencyNotFound", ("ghost",))
    assert report.outcomes[key("ok")].phase == Phase.READY
    assert set(lab.device("r1")) == {"ok"}


def test_remove_goes_dependents_first_and_blocks_while_dependents_remain() -> None:
    lab = Lab()
    objs = seed()
    assert lab.apply(objs).ok
    customer, vpls = objs[1], objs[0]
    dependents = {customer.key: [vpls.key]}
    device_of = {o.key: "pe1" for o in objs}

    blocked = lab.engine().remove([customer], device_of, dependents)
    out = blocked.outcomes[customer.key]
    assert (out.phase, out.reason, out.waiting_on) == (Phase.BLOCKED, "HasDependents", ("vpls-01",))
    assert lab.device("pe1")["configure"]["service"]["customer"]  # config stays

    lab.transactions.clear()
    both = lab.engine().remove([customer, vpls], device_of, dependents)
    assert [k.name for k in both.order] == ["vpls-01", "customer"]
    assert all(o.phase == Phase.DELETING for o in both.outcomes.values())
    assert lab.device("pe1")["configure"]["service"] == {"customer": [], "vpls": []}


def test_two_claims_on_one_path_fail_both_and_touch_nothing() -> None:
    lab = Lab()
    a = obj("a", "r1", "/system/config", {"hostname": "a"})
    b = obj("b", "r1", "/system/config", {"hostname": "b"})
    behind = obj("behind", "r1", "/x", {"v": 1}, deps=["a"])
    outer = obj("outer", "r1", "/interfaces", {"interface": []}, operation="replace")
    inner = obj("inner", "r1", "/interfaces/interface[name=eth0]", {"mtu": 1})
    nested_ok = obj("vprn", "r1", "/vprn[name=v]", {"id": 1})
    nested_child = obj("vprn-if", "r1", "/vprn[name=v]/interface[name=i]", {"ip": "127.0.0.1"})
    other_device = obj("c", "r2", "/system/config", {"hostname": "c"})
    wipe_elsewhere = obj("wipe", "r2", "/vprn", operation="delete")  # encloses vprn-if's path, but on r2
    gone = obj("gone", "r1", "/old", operation="delete")
    under_gone = obj("under-gone", "r1", "/old/thing[id=1]/leaf", {"v": 1})
    report = lab.apply([a, b, behind, outer, inner, nested_ok, nested_child, other_device, wipe_elsewhere, gone,
                        under_gone])
    for o, rival in ((a, "b"), (b, "a"), (outer, "inner"), (inner, "outer"), (gone, "under-gone"),
                     (under_gone, "gone")):
        out = report.outcomes[o.key]
        assert (out.phase, out.reason) == (Phase.FAILED, "PathConflict")
        assert rival in out.message
    assert report.outcomes[behind.key].phase == Phase.WAITING
    for o in (nested_ok, nested_child, other_device, wipe_elsewhere):
        assert report.outcomes[o.key].phase == Phase.READY
    assert set(lab.device("r1")) == {"vprn"}


def test_recheck_of_a_ready_object_does_not_flap_its_conditions() -> None:
    lab = Lab()
    objs = seed()
    lab.apply(objs)
    before = {k: [(c.type, c.status, c.last_transition_time) for c in s.conditions]
              for k, s in lab.sink.statuses.items()}
    lab.sink.history.clear()
    lab.apply(objs)
    assert {ph for _, ph in lab.sink.history} == {"Ready"}
    after = {k: [(c.type, c.status, c.last_transition_time) for c in s.conditions]
             for k, s in lab.sink.statuses.items()}
    assert after == before


def test_one_read_per_device_per_run_and_later_batches_see_earlier_writes() -> None:
    lab = Lab()
    chain = [obj("a", "r1", "/a", {"v": 1}), obj("b", "r1", "/b", {"v": 1}, deps=["a"]),
             obj("c", "r1", "/c", {"v": 1}, deps=["b"]), obj("x", "r2", "/x", {"v": 1})]
    assert lab.apply(chain).ok
    lab.reads.clear()
    assert lab.apply(chain).ok
    assert sorted(lab.reads) == [("r1", 3), ("r2", 1)]  # one Get per device for the whole run

    # a write is followed by the snapshot later batches are answered from: a child that overlaps
    # the written parent sees the parent's write without another Get
    parent = obj("p", "r1", "/sys", {"hostname": "r1", "ntp": {"enabled": True}})
    child = obj("k", "r1", "/sys/ntp", {"enabled": True}, deps=["p"])
    lab2 = Lab()
    report = lab2.apply([parent, child])
    assert [n for n, _ in lab2.reads] == ["r1"]
    assert report.outcomes[child.key].reason == "InSync"  # planned against the parent's write
    assert len(lab2.transactions) == 1


def test_objects_behind_a_failure_name_what_they_wait_for_in_any_input_order() -> None:
    lab = Lab(down={"r1"})
    # listed dependents-first: each must still name its own unready dependency
    chain = [obj("c", "r2", "/c", {"v": 1}, deps=["b"]), obj("b", "r2", "/b", {"v": 1}, deps=["a"]),
             obj("a", "r1", "/a", {"v": 1})]
    report = lab.apply(chain)
    assert report.outcomes[key("a")].phase == Phase.FAILED
    for name, waits_for in (("b", ("a",)), ("c", ("b",))):
        out = report.outcomes[key(name)]
        assert (out.phase, out.reason, out.waiting_on) == (Phase.WAITING, "DependencyFailed", waits_for)


def test_without_progress_only_outcomes_are_recorded() -> None:
    lab = Lab()
    objs = seed()
    lab.apply(objs)  # with progress (the operator's way): Waiting and Applying show on the way
    assert {"Waiting", "Applying"} <= {ph for _, ph in lab.sink.history}
    lab.sink.history.clear()
    lab.sink.statuses.clear()
    engine = lab.engine()
    engine.progress = False  # the CLI's store is read after the run: only outcomes matter
    report = engine.apply(objs, {o.key: o.spec.switch_id for o in objs})
    assert report.ok
    assert sorted(lab.sink.history) == sorted((o.key, "Ready") for o in objs)
