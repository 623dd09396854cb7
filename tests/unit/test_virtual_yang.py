"""The virtual device with YANG models behaves like a real target: what the models refuse is refused
by name and nothing is applied; values are kept and compared by type."""

from __future__ import annotations

from pathlib import Path

import pytest

from nwi.drivers.base import Change, Op, SchemaRejected, Transaction
from nwi.drivers.virtual import DeviceStore, VirtualDriver
from nwi.inventory import Inventory
from nwi.loader import build_object
from nwi.model import DeviceObject, DeviceSpec, ObjectKey, Source
from nwi.path import parse_path
from nwi.schema import load_model_set
from tests.yang_models import CASES, VENDORS, need, write_test_modules


def _driver(vendor: str) -> VirtualDriver:
    dirs, modules = VENDORS[vendor]
    need(*dirs)
    features = {"srl_nokia-features": ("*",)} if vendor == "srlinux" else None
    return VirtualDriver(vendor, DeviceStore(vendor, None), load_model_set(dirs, modules, features))


@pytest.mark.parametrize("vendor", list(CASES))
def test_virtual_device_refuses_what_the_models_refuse_by_name(vendor: str) -> None:
    path, good, bad = CASES[vendor]
    driver = _driver(vendor)
    other = parse_path(path.replace("vpls-01", "vpls-02").replace("ethernet-1/1", "ethernet-1/2")
                       .replace("eth0", "eth1"))
    good_other = {**good, "name": "eth1"} if vendor == "openconfig" else good
    for value, node, words in bad:
        txn = Transaction(vendor, [Change(Op.UPDATE, other, good_other, owner="fine"),
                                   Change(Op.UPDATE, parse_path(path), value, owner="bad")])
        with pytest.raises(SchemaRejected) as err:
            driver.apply(txn)
        assert err.value.failed_owners == ("bad",)
        assert f"/{node}:" in err.value.message and words in err.value.message
        assert driver.read([other]) == {other: None}  # the whole transaction was refused
    driver.apply(Transaction(vendor, [Change(Op.UPDATE, parse_path(path), good, owner="fine")]))
    assert driver.read([parse_path(path)])[parse_path(path)] is not None


def test_virtual_device_keeps_values_typed(tmp_path: Path) -> None:
    models = load_model_set([write_test_modules(tmp_path / "yang")], ["nwi-test-base", "nwi-test-ext"])
    driver = VirtualDriver("v", DeviceStore("v", None), models)
    box = parse_path("/box")
    driver.apply(Transaction("v", [Change(Op.UPDATE, box, {"small": "12", "medium": "fibre", "ratio": 1.5})]))
    assert driver.read([box])[box] == {"small": 12, "medium": "nwi-test-ext:fibre", "ratio": "1.5"}
    assert driver.typed is not None


def test_a_device_with_spec_models_gets_a_driver_with_them(tmp_path: Path) -> None:
    yang = write_test_modules(tmp_path / "yang")
    spec = DeviceSpec.model_validate({"driver": "virtual", "models": {"yangPath": [str(yang)],
                                                                        "modules": ["nwi-test-*"]}})
    dev = DeviceObject(ObjectKey("Device", "ns", "v1"), spec, Source("test"))
    obj = build_object({"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "OpenConfig",
                        "metadata": {"name": "b", "namespace": "ns"},
                        "spec": {"switchID": "v1", "path": "/box", "properties": {"small": 1}}}, Source("t"))
    inventory = Inventory([dev])
    rd = inventory.resolve(obj)  # type: ignore[arg-type]
    driver = inventory.driver(rd.id, None)
    assert driver.typed is not None
    with pytest.raises(SchemaRejected, match="small"):
        driver.apply(Transaction("v1", [Change(Op.UPDATE, parse_path("/box"), {"small": -1}, owner="b")]))
    # without models, nothing changes: the same device accepts anything
    plain = Inventory([DeviceObject(dev.key, DeviceSpec.model_validate({"driver": "virtual"}), dev.source)])
    driver = plain.driver(plain.resolve(obj).id, None)  # type: ignore[arg-type]
    assert driver.typed is None
    driver.apply(Transaction("v1", [Change(Op.UPDATE, parse_path("/box"), {"small": -1}, owner="b")]))


def test_full_checks_validate_the_whole_configuration() -> None:
    """``full``: a VPLS naming a customer the configuration lacks is refused at the leafref, as SR OS would."""
    from nwi.drivers.schema_store import ModelledDatastore

    dirs, modules = VENDORS["sros"]
    need(*dirs)
    store = ModelledDatastore(DeviceStore("pe", None), load_model_set(dirs, modules), "full")
    vpls = Change(Op.UPDATE, parse_path("/configure/service/vpls[service-name=v1]"),
                  {"service-id": 10, "customer": "7"}, owner="vpls")
    with pytest.raises(SchemaRejected, match=r"vpls\[service-name='v1'\]/customer: .*leafref") as err:
        store.commit(Transaction("pe", [vpls]))
    assert err.value.failed_owners == ("vpls",)
    customer = Change(Op.UPDATE, parse_path("/configure/service/customer[customer-name=7]"), {"customer-id": 7},
                      owner="customer")
    store.commit(Transaction("pe", [customer, vpls]))  # with its customer, the whole configuration is valid
    # values (the default) checks what is set, not what it refers to
    ModelledDatastore(DeviceStore("pe2", None), load_model_set(dirs, modules)).commit(Transaction("pe2", [vpls]))


def test_spec_models_names_one_source() -> None:
    from pydantic import ValidationError

    from nwi.drivers.base import DriverError

    for bad in ({}, {"yangPath": ["/m"], "configMapRef": {"name": "m"}}):
        with pytest.raises(ValidationError, match="exactly one of yangPath and configMapRef"):
            DeviceSpec.model_validate({"driver": "virtual", "models": bad})
    spec = DeviceSpec.model_validate({"driver": "virtual", "models": {"configMapRef": {"name": "m"}}})
    dev = DeviceObject(ObjectKey("Device", "ns", "v1"), spec, Source("test"))
    obj = build_object({"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "OpenConfig",
                        "metadata": {"name": "b", "namespace": "ns"},
                        "spec": {"switchID": "v1", "path": "/box", "properties": {}}}, Source("t"))
    inventory = Inventory([dev])
    rd = inventory.resolve(obj)  # type: ignore[arg-type]
    with pytest.raises(DriverError, match=r"ConfigMap ns/m .*only the operator reads ConfigMaps"):
        inventory.driver(rd.id, None)
