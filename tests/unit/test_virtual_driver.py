"""The virtual device driver: atomic transactions, dry runs, persistence across runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from nwi.drivers.base import Change, Op, Transaction, TransactionRejected
from nwi.drivers.virtual import DeviceStore, VirtualDriver
from nwi.path import parse_path as P


def txn(*changes: Change) -> Transaction:
    return Transaction("r1", list(changes))


def test_persisted_under_the_state_dir_and_seen_by_a_new_session(tmp_path: Path) -> None:
    with VirtualDriver("r1", DeviceStore("r1", tmp_path)) as d:
        d.apply(txn(Change(Op.UPDATE, P("/system/config"), {"hostname": "r1"}, "a")))
    assert (tmp_path / "devices" / "r1.json").exists()
    with VirtualDriver("r1", DeviceStore("r1", tmp_path)) as again:
        assert again.read([P("/system/config"), P("/nothing")]) == {
            P("/system/config"): {"hostname": "r1"}, P("/nothing"): None}


def test_dry_run_checks_but_changes_nothing(tmp_path: Path) -> None:
    d = VirtualDriver("r1", DeviceStore("r1", tmp_path))
    d.apply(txn(Change(Op.UPDATE, P("/system"), {"hostname": "r1"}, "a")))
    d.apply(txn(Change(Op.UPDATE, P("/vlans"), {"vlan": 1}, "b")), dry_run=True)
    assert d.read([P("/vlans")]) == {P("/vlans"): None}
    with pytest.raises(TransactionRejected) as info:
        d.apply(txn(Change(Op.UPDATE, P("/system/hostname/x"), {"y": 1}, "bad")), dry_run=True)
    assert info.value.failed_owners == ("bad",)


def test_transaction_is_all_or_nothing_in_gnmi_order(tmp_path: Path) -> None:
    d = VirtualDriver("r1", DeviceStore("r1", tmp_path))
    d.apply(txn(Change(Op.UPDATE, P("/system"), {"hostname": "r1", "domain": "lab"}, "a")))
    before = d.read([P("/system")])
    with pytest.raises(TransactionRejected):
        d.apply(txn(Change(Op.UPDATE, P("/vlans"), {"vlan": 1}, "ok"),
                    Change(Op.UPDATE, P("/system/hostname/x"), {"y": 1}, "bad")))
    assert d.read([P("/system"), P("/vlans")]) == {**before, P("/vlans"): None}
    # deletes, then replaces, then updates, whatever order they were given in
    d.apply(txn(Change(Op.UPDATE, P("/system"), {"contact": "noc"}, "u"),
                Change(Op.REPLACE, P("/system"), {"hostname": "r2"}, "r"),
                Change(Op.DELETE, P("/system"), None, "d")))
    assert d.read([P("/system")]) == {P("/system"): {"hostname": "r2", "contact": "noc"}}
