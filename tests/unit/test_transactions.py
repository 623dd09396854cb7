"""Network-wide transactions on virtual devices: the coordinator, grouping in the graph, the journal."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from nwi.drivers.base import CommitOutcome, DeviceInfo, Driver, DriverError, Transaction, TransactionRejected
from nwi.drivers.virtual import DeviceStore, VirtualDriver
from nwi.engine import DriverPool, Engine
from nwi.journal import CONFIRMING, PREPARING, JournalRecord, MemoryJournal
from nwi.loader import InvalidInput, build_object
from nwi.model import ConfigObject, Source
from nwi.path import GnmiPath
from nwi.status import Phase, Reason
from tests.unit.engine_kit import MemorySink, key


def gobj(name: str, switch: str, path: str, props: dict[str, Any], txn: str = "", deps: Sequence[str] = (),
         size: int = 0) -> ConfigObject:
    annotations: dict[str, str] = {}
    if txn:
        annotations["nwi.enc.nokia.com/transaction"] = txn
    if size:
        annotations["nwi.enc.nokia.com/transaction-size"] = str(size)
    if deps:
        annotations["nwi.enc.nokia.com/depends_on"] = json.dumps([{"kind": "OpenConfig", "name": d} for d in deps])
    o = build_object({"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "OpenConfig",
                      "metadata": {"name": name, "namespace": "ns", "generation": 1, "annotations": annotations},
                      "spec": {"switchID": switch, "path": path, "properties": props}}, Source("test"))
    assert isinstance(o, ConfigObject)
    return o


class FaultyDriver(Driver):
    """A virtual device that records the protocol calls and can refuse, fail or lack confirmed commit."""

    def __init__(self, name: str, store: DeviceStore, lab: TxnLab) -> None:
        self.name = name
        self.inner = VirtualDriver(name, store)
        self.lab = lab

    def connect(self) -> DeviceInfo:
        return self.inner.connect()

    def read(self, paths: Sequence[GnmiPath]) -> dict[GnmiPath, Any]:
        return self.inner.read(paths)

    def apply(self, txn: Transaction, dry_run: bool = False) -> None:
        self.lab.calls.append((self.name, "apply", ""))
        self.inner.apply(txn, dry_run)

    def close(self) -> None:
        pass

    def confirmed_commit_problem(self) -> str | None:
        return "this device cannot commit with a revert timer" if self.name in self.lab.unsupported else None

    def prepare(self, txn: Transaction, commit_id: str, timeout: int) -> None:
        self.lab.calls.append((self.name, "prepare", commit_id))
        self.lab.timeouts.append(timeout)
        if self.name in self.lab.refuse:
            raise TransactionRejected(self.name, "refused by the device", [c.owner for c in txn.changes])
        if self.name in self.lab.hang:
            raise DriverError(self.name, "no answer within the operation timeout")
        if self.name in self.lab.slow:  # the injected fault: a device that takes long to commit
            self.lab.during_slow_prepare(commit_id)
            threading.Event().wait(self.lab.slow[self.name])
        self.inner.prepare(txn, commit_id, timeout)

    def extend(self, commit_id: str, timeout: int) -> None:
        self.lab.calls.append((self.name, "extend", commit_id))
        self.inner.extend(commit_id, timeout)

    def confirm(self, commit_id: str) -> None:
        self.lab.calls.append((self.name, "confirm", commit_id))
        if self.name in self.lab.lose_confirm:
            raise DriverError(self.name, "connection lost")
        self.inner.confirm(commit_id)

    def cancel(self, commit_id: str) -> None:
        self.lab.calls.append((self.name, "cancel", commit_id))
        self.inner.cancel(commit_id)

    def resolve_commit(self, commit_id: str, confirm: bool) -> CommitOutcome:
        return self.inner.resolve_commit(commit_id, confirm)


class TxnLab:
    def __init__(self) -> None:
        self.stores: dict[str, DeviceStore] = {}
        self.calls: list[tuple[str, str, str]] = []
        self.timeouts: list[int] = []
        self.refuse: set[str] = set()
        self.hang: set[str] = set()
        self.unsupported: set[str] = set()
        self.lose_confirm: set[str] = set()
        self.slow: dict[str, float] = {}  # device -> seconds its prepare takes to answer
        self.during_slow_prepare: Callable[[str], None] = lambda device: None
        self.sink = MemorySink()
        self.journal = MemoryJournal()

    def store(self, name: str) -> DeviceStore:
        return self.stores.setdefault(name, DeviceStore(name, None))

    def engine(self, timeout: int = 60) -> Engine:
        pool = DriverPool(lambda d: FaultyDriver(d, self.store(d), self))
        return Engine(pool, self.sink, max_workers=4, journal=self.journal, confirm_timeout=timeout)

    def apply(self, objects: Sequence[ConfigObject], atomic: bool = False, timeout: int = 60) -> Any:
        self.calls.clear()
        return self.engine(timeout).apply(objects, {o.key: o.spec.switch_id for o in objects}, atomic=atomic)

    def device(self, name: str) -> dict[str, Any]:
        return self.store(name).snapshot().to_json()

    def ops(self, op: str) -> list[str]:
        return sorted(d for d, o, _ in self.calls if o == op)


def vpn(txn: str = "vpn-1") -> list[ConfigObject]:
    return [gobj(f"pe{i}", f"pe{i}", "/network-instances/network-instance[name=vpn-1]", {"rd": f"65000:{i}"}, txn)
            for i in (1, 2, 3)]


def test_a_group_lands_on_all_its_devices_with_one_commit_id_and_says_so_in_status() -> None:
    lab = TxnLab()
    report = lab.apply(vpn())
    assert report.ok, report.outcomes
    assert lab.ops("prepare") == ["pe1", "pe2", "pe3"] and lab.ops("confirm") == ["pe1", "pe2", "pe3"]
    assert len({cid for _, _, cid in lab.calls}) == 1  # one commit id across the devices
    for i in (1, 2, 3):
        assert lab.device(f"pe{i}")["network-instances"]["network-instance"][0]["rd"] == f"65000:{i}"
        st = lab.sink.statuses[key(f"pe{i}")]
        assert st.transaction is not None and st.transaction.group == "ns/vpn-1"
        assert dict(st.transaction.devices) == {"pe1": "Confirmed", "pe2": "Confirmed", "pe3": "Confirmed"}
        assert st.transaction.id.startswith("nwi-vpn-1-")
        assert st.to_dict()["transaction"]["devices"]["pe3"] == "Confirmed"
    assert lab.journal.records == {}  # closed once every device confirmed
    # a second run finds everything in sync: nothing prepared, the status keeps the transaction that applied it
    again = lab.apply(vpn())
    assert again.ok and lab.calls == []
    assert lab.sink.statuses[key("pe1")].transaction is not None


def test_one_device_of_three_refusing_leaves_all_three_as_they_were() -> None:
    lab = TxnLab()
    for i in (1, 2, 3):  # what was there before stays
        lab.store(f"pe{i}").commit(Transaction(f"pe{i}", [_update("/system/config", {"hostname": f"pe{i}"})]))
    before = {d: lab.device(d) for d in ("pe1", "pe2", "pe3")}
    lab.refuse = {"pe3"}
    report = lab.apply(vpn())
    assert not report.ok
    assert {d: lab.device(d) for d in ("pe1", "pe2", "pe3")} == before
    assert lab.ops("cancel") == ["pe1", "pe2"] and lab.ops("confirm") == []
    assert report.outcomes[key("pe3")].reason == Reason.TRANSACTION_REJECTED
    for name in ("pe1", "pe2"):
        out = report.outcomes[key(name)]
        assert out.phase == Phase.FAILED and out.reason == Reason.TRANSACTION_ABORTED
        assert "pe3: refused by the device" in out.message and "nothing of it stays" in out.message
    devices = dict(lab.sink.statuses[key("pe1")].transaction.devices)  # type: ignore[union-attr]
    assert devices == {"pe1": "Reverted", "pe2": "Reverted", "pe3": "Refused"}


def test_a_device_that_cannot_commit_with_a_revert_timer_refuses_the_group_before_anything_is_sent() -> None:
    lab = TxnLab()
    lab.unsupported = {"pe2"}
    report = lab.apply(vpn())
    assert lab.calls == []
    assert report.outcomes[key("pe2")].reason == Reason.CONFIRMED_COMMIT_UNSUPPORTED
    out = report.outcomes[key("pe1")]
    assert out.reason == Reason.TRANSACTION_ABORTED
    assert "pe2: this device cannot commit with a revert timer" in out.message and "nothing was sent" in out.message
    # the same objects without the annotation go out as plain per-device transactions
    plain = [gobj(o.key.name, o.spec.switch_id, o.spec.path, o.properties) for o in vpn()]
    assert lab.apply(plain).ok and lab.ops("apply") == ["pe1", "pe2", "pe3"]


def test_a_linux_backed_virtual_device_says_why_it_cannot_take_part() -> None:
    class Kernel:  # a Datastore that is not the tree store: no rollback point
        def snapshot(self) -> Any:
            raise AssertionError

        def commit(self, txn: Transaction, dry_run: bool = False) -> None:
            raise AssertionError

    problem = VirtualDriver("h1", Kernel()).confirmed_commit_problem()
    assert problem is not None and "keeps no rollback point" in problem
    assert VirtualDriver("h1", DeviceStore("h1", None)).confirmed_commit_problem() is None


def test_a_device_timing_out_during_prepare_aborts_the_group() -> None:
    lab = TxnLab()
    lab.hang = {"pe2"}
    report = lab.apply(vpn())
    assert report.outcomes[key("pe2")].phase == Phase.FAILED
    assert all(lab.device(f"pe{i}") == {} for i in (1, 2, 3))
    assert report.outcomes[key("pe1")].reason == Reason.TRANSACTION_ABORTED


def test_a_group_over_several_waves_is_prepared_wave_by_wave_and_confirmed_once() -> None:
    lab = TxnLab()
    objs = [
        gobj("vrf", "pe1", "/network-instances/network-instance[name=a]", {"type": "L3VRF"}, "svc"),
        gobj("peer", "pe2", "/network-instances/network-instance[name=a]", {"type": "L3VRF"}, "svc", deps=["vrf"]),
        gobj("route", "pe1", "/routing/static[prefix=10.0.0.0/8]", {"next-hop": "a"}, "svc", deps=["peer"]),
    ]
    report = lab.apply(objs)
    assert report.ok, report.outcomes
    assert [(d, o) for d, o, _ in lab.calls[:3]] == [("pe1", "prepare"), ("pe2", "prepare"), ("pe1", "prepare")]
    assert sorted((d, o) for d, o, _ in lab.calls[3:]) == [("pe1", "confirm"), ("pe2", "confirm")]
    assert len({cid for _, _, cid in lab.calls}) == 1
    # a failure in the last wave cancels what the first waves prepared, on every device
    lab2 = TxnLab()
    lab2.refuse = {"pe2"}
    report = lab2.apply([*objs[:2], gobj("late", "pe3", "/system", {"x": 1}, "svc", deps=["peer"])])
    assert lab2.ops("cancel") == ["pe1"] and all(lab2.device(d) == {} for d in ("pe1", "pe2", "pe3"))
    assert report.outcomes[key("late")].reason == Reason.TRANSACTION_ABORTED


def _two_waves() -> list[ConfigObject]:
    return [gobj("vrf", "pe1", "/network-instances/network-instance[name=a]", {"type": "L3VRF"}, "svc"),
            gobj("peer", "pe2", "/network-instances/network-instance[name=a]", {"type": "L3VRF"}, "svc",
                 deps=["vrf"])]


def test_the_first_waves_timers_are_extended_while_a_slow_later_wave_is_prepared() -> None:
    lab = TxnLab()
    lab.slow = {"pe2": 2.5}  # wave 2 takes longer than the revert timeout: without extensions pe1 reverts
    report = lab.apply(_two_waves(), timeout=1)
    assert report.ok, report.outcomes
    assert lab.ops("extend").count("pe1") >= 2
    assert lab.device("pe1") and lab.device("pe2")
    assert lab.store("pe1").outcome(lab.calls[0][2]) == CommitOutcome.CONFIRMED
    info = report.outcomes[key("vrf")].transaction
    assert info is not None and dict(info.devices) == {"pe1": "Confirmed", "pe2": "Confirmed"}


def test_a_part_gone_before_the_decision_aborts_the_group_instead_of_confirming_the_others() -> None:
    lab = TxnLab()
    lab.slow = {"pe2": 1.5}
    lab.during_slow_prepare = lambda cid: lab.store("pe1").cancel(cid)  # pe1's part goes while pe2 prepares
    report = lab.apply(_two_waves(), timeout=1)
    assert not report.ok
    assert lab.ops("confirm") == [] and lab.device("pe1") == {} and lab.device("pe2") == {}
    vrf, peer = report.outcomes[key("vrf")], report.outcomes[key("peer")]
    assert vrf.reason == peer.reason == Reason.TRANSACTION_ABORTED
    assert "pe1: its part reverted before the decision" in vrf.message
    assert vrf.transaction is not None and dict(vrf.transaction.devices)["pe1"] == "Reverted (by its timer)"
    assert not lab.journal.records


def test_a_group_with_a_member_waiting_outside_waits_whole_and_so_does_what_needs_it() -> None:
    lab = TxnLab()
    objs = [*vpn()[:2], gobj("pe3", "pe3", "/x", {"a": 1}, "vpn-1", deps=["not-there"]),
            gobj("after", "pe9", "/y", {"b": 1}, deps=["pe1"])]
    report = lab.apply(objs)
    assert lab.calls == []
    assert report.outcomes[key("pe3")].reason == Reason.DEPENDENCY_NOT_FOUND
    out = report.outcomes[key("pe1")]
    assert out.phase == Phase.WAITING and "transaction ns/vpn-1 waits whole: member pe3 is Waiting" in out.message
    assert report.outcomes[key("after")].phase == Phase.WAITING


def test_a_declared_size_holds_the_group_until_every_member_exists() -> None:
    lab = TxnLab()
    objs = [gobj(f"pe{i}", f"pe{i}", "/x", {"a": i}, "vpn-1", size=3) for i in (1, 2)]
    report = lab.apply(objs)
    assert lab.calls == [] and report.outcomes[key("pe1")].reason == Reason.TRANSACTION_INCOMPLETE
    assert "2 of its 3 members exist" in report.outcomes[key("pe1")].message
    assert lab.apply([*objs, gobj("pe3", "pe3", "/x", {"a": 3}, "vpn-1", size=3)]).ok


def test_what_depends_on_a_member_waits_for_the_whole_group() -> None:
    lab = TxnLab()
    lab.refuse = {"pe3"}
    objs = [*vpn(), gobj("after", "pe9", "/y", {"b": 1}, deps=["pe1"])]
    report = lab.apply(objs)
    assert report.outcomes[key("after")].reason == Reason.DEPENDENCY_FAILED and lab.device("pe9") == {}


def test_an_outside_object_between_two_members_makes_the_group_fail_with_the_reason() -> None:
    lab = TxnLab()
    objs = [gobj("a", "pe1", "/a", {"x": 1}, "g"), gobj("mid", "pe2", "/m", {"x": 1}, deps=["a"]),
            gobj("b", "pe3", "/b", {"x": 1}, "g", deps=["mid"])]
    report = lab.apply(objs)
    assert report.outcomes[key("a")].reason == Reason.TRANSACTION_CYCLE
    assert "OpenConfig/ns/mid" in report.outcomes[key("a")].message
    assert report.outcomes[key("mid")].phase == Phase.WAITING and lab.calls == []


def test_atomic_makes_the_whole_run_one_group() -> None:
    lab = TxnLab()
    lab.refuse = {"pe2"}
    plain = [gobj(f"o{i}", f"pe{i}", "/x", {"a": i}) for i in (1, 2, 3)]
    report = lab.apply(plain, atomic=True)
    assert all(o.phase == Phase.FAILED for o in report.outcomes.values())
    assert all(lab.device(f"pe{i}") == {} for i in (1, 2, 3))
    assert report.outcomes[key("o1")].transaction.group == "--atomic"  # type: ignore[union-attr]


def test_after_a_crash_between_prepare_and_confirm_the_next_run_resolves_reports_and_reapplies() -> None:
    lab = TxnLab()
    # a run that died after preparing pe1 and pe2, before deciding
    for i in (1, 2):
        lab.store(f"pe{i}").prepare(Transaction(f"pe{i}", [_update("/x", {"old": i})]), "nwi-vpn-1-dead", 600)
    lab.journal.write(JournalRecord("nwi-vpn-1-dead", "ns/vpn-1", ["pe1", "pe2", "pe3"], [], PREPARING, 1.0))
    report = lab.apply(vpn())
    assert report.ok
    assert len(report.recovered) == 1
    assert report.recovered[0].devices == {"pe1": "Reverted", "pe2": "Reverted", "pe3": "Unknown"}
    assert "interrupted before it was decided" in report.recovered[0].describe()
    assert "x" not in lab.device("pe1")  # presumed abort: the half-done transaction is gone, the new one landed
    st = lab.sink.statuses[key("pe1")]
    assert st.transaction is not None and "nwi-vpn-1-dead" in st.transaction.note
    assert lab.journal.records == {}


def test_after_a_crash_past_the_decision_the_next_run_confirms_what_is_still_pending() -> None:
    lab = TxnLab()
    lab.store("pe1").prepare(Transaction("pe1", [_update("/x", {"kept": True})]), "nwi-g-decided", 600)
    lab.journal.write(JournalRecord("nwi-g-decided", "ns/g", ["pe1"], [], CONFIRMING, 1.0))
    report = lab.apply([gobj("other", "pe1", "/y", {"a": 1})])
    assert report.recovered[0].devices == {"pe1": "Confirmed"}
    assert lab.device("pe1")["x"] == {"kept": True}


def test_a_record_whose_device_is_not_in_the_run_stays_open_is_reported_once_and_closed_by_a_run_reaching_it(
        ) -> None:
    lab = TxnLab()
    lab.store("pe2").prepare(Transaction("pe2", [_update("/x", {"old": 2})]), "nwi-g-x", 600)
    lab.journal.write(JournalRecord("nwi-g-x", "ns/g", ["pe1", "pe2"], [], PREPARING, 1.0))
    report = lab.apply([gobj("other", "pe1", "/y", {"a": 1})])
    assert report.recovered[0].devices == {"pe1": "Unknown", "pe2": "not asked (not in this run)"}
    assert "the first run that reaches it asks it" in report.recovered[0].describe()
    assert "nwi-g-x" in lab.journal.records
    # runs that reach none of its devices not asked yet stay quiet about it; pe1 is not asked again
    for _ in range(2):
        report = lab.apply([gobj("other", "pe1", "/y", {"a": 1})])
        assert report.recovered == [] and "nwi-g-x" in lab.journal.records
    # a run that reaches pe2 asks it (presumed abort: cancelled), reports what is new, and closes the record
    report = lab.apply([gobj("third", "pe2", "/z", {"a": 3})])
    assert [r.devices for r in report.recovered] == [{"pe1": "Unknown", "pe2": "Reverted"}]
    assert "x" not in lab.device("pe2") and lab.journal.records == {}
    assert lab.apply([gobj("third", "pe2", "/z", {"a": 3})]).recovered == []


def test_status_forgets_the_transaction_of_an_object_that_left_its_group() -> None:
    lab = TxnLab()
    assert lab.apply(vpn()).ok
    assert lab.sink.statuses[key("pe1")].transaction is not None
    report = lab.apply([*vpn("")[:1], *vpn()[1:]])  # pe1 leaves the group; the others stay in it
    assert report.ok
    assert lab.sink.statuses[key("pe1")].transaction is None
    assert lab.sink.statuses[key("pe2")].transaction is not None
    # --atomic is a group of its own run: a later run without it forgets it too
    assert lab.apply(vpn(""), atomic=True).ok
    assert lab.sink.statuses[key("pe1")].transaction.group == "--atomic"  # type: ignore[union-attr]
    lab.apply(vpn(""))
    assert all(lab.sink.statuses[key(f"pe{i}")].transaction is None for i in (1, 2, 3))


def test_a_staged_virtual_commit_reverts_by_itself_once_its_deadline_passes(tmp_path: Any) -> None:
    store = DeviceStore("pe1", tmp_path)
    store.commit(Transaction("pe1", [_update("/keep", {"a": 1})]))
    store.prepare(Transaction("pe1", [_update("/staged", {"b": 2})]), "nwi-t-1", 1)
    assert store.snapshot().to_json()["staged"] == {"b": 2}  # staged: visible, as on a device
    with pytest.raises(TransactionRejected, match="nwi-t-1 is pending"):
        store.commit(Transaction("pe1", [_update("/other", {"c": 3})]))
    assert DeviceStore("pe1", tmp_path).outcome("nwi-t-1") == CommitOutcome.PENDING  # another process sees it
    deadline = time.monotonic() + 10
    while store.outcome("nwi-t-1") == CommitOutcome.PENDING and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.outcome("nwi-t-1") == CommitOutcome.REVERTED
    assert store.snapshot().to_json() == {"keep": {"a": 1}}
    with pytest.raises(DriverError, match="was reverted"):
        store.confirm("nwi-t-1")


def test_transaction_annotations_are_checked_with_file_object_and_field() -> None:
    with pytest.raises(InvalidInput) as exc:
        gobj("a", "pe1", "/x", {}, "bad name!")
    assert "metadata.annotations[nwi.enc.nokia.com/transaction]" in str(exc.value.errors[0])
    with pytest.raises(InvalidInput) as exc:
        gobj("a", "pe1", "/x", {}, "ok", size=0) if False else _with_size("zero")
    assert "transaction-size" in str(exc.value.errors[0])
    assert gobj("a", "pe1", "/x", {}, "vpn-1", size=3).manifest()["metadata"]["annotations"] == {
        "nwi.enc.nokia.com/transaction": "vpn-1", "nwi.enc.nokia.com/transaction-size": "3"}


def _with_size(size: str) -> ConfigObject:
    o = build_object({"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "OpenConfig",
                      "metadata": {"name": "a", "namespace": "ns", "annotations": {
                          "nwi.enc.nokia.com/transaction": "t", "nwi.enc.nokia.com/transaction-size": size}},
                      "spec": {"switchID": "pe1", "path": "/x"}}, Source("f.yaml"))
    assert isinstance(o, ConfigObject)
    return o


def _update(path: str, value: Any) -> Any:
    from nwi.drivers.base import Change, Op
    from nwi.path import parse_path

    return Change(Op.UPDATE, parse_path(path), value)


def test_a_chain_on_one_device_costs_it_one_prepare_in_dependency_order() -> None:
    lab = TxnLab()
    objs = [gobj("svc", "pe1", "/service/vpls[name=v]", {"name": "v", "customer": "c"}, "g", deps=["cust"]),
            gobj("cust", "pe1", "/customer[name=c]", {"name": "c"}, "g"),
            gobj("far", "pe2", "/service/vpls[name=v]", {"name": "v"}, "g", deps=["svc"])]
    assert lab.apply(objs).ok
    assert [(d, o) for d, o, _ in lab.calls if o == "prepare"] == [("pe1", "prepare"), ("pe2", "prepare")]
    assert lab.device("pe1")["service"]["vpls"][0]["customer"] == "c"


def test_a_confirm_that_does_not_get_through_is_in_doubt_and_the_next_run_finishes_it() -> None:
    lab = TxnLab()
    lab.lose_confirm = {"pe2"}
    report = lab.apply(vpn())
    out = report.outcomes[key("pe2")]
    assert out.phase == Phase.FAILED and out.reason == Reason.TRANSACTION_IN_DOUBT
    assert "reverts it by itself unless the confirm arrived" in out.message
    assert report.outcomes[key("pe1")].phase == Phase.READY  # decided: the others are confirmed
    [record] = lab.journal.records.values()
    assert record.state == CONFIRMING  # left open for the next run
    lab.lose_confirm = set()
    again = lab.apply(vpn())
    assert again.recovered[0].devices["pe2"] == "Confirmed"  # still pending: confirmed as decided
    assert again.ok and lab.journal.records == {}
    assert lab.device("pe2")["network-instances"]["network-instance"][0]["rd"] == "65000:2"
