"""NETCONF with the device's YANG models, against the real netconfd: namespaces per module from the
schema (the ietf-ip augment of ietf-interfaces included), values typed on the way back, no false drift.

The models are the IETF modules netconfd itself runs (Debian's libyuma-base).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from harness.netconfd import IF_NS, IP_NS, NetconfServer, RawConnect

from nwi.drivers.base import Change, Op, Transaction, TransactionRejected
from nwi.drivers.netconf import NetconfDriver
from nwi.path import parse_path
from nwi.planner import plan_object
from nwi.schema import ModelSet, load_model_set
from tests.unit.engine_kit import obj
from tests.yang_models import YUMA_IETF, need

pytestmark = pytest.mark.protocol

#: written as objects are, without any module name: the models say where each element belongs
ETH0 = parse_path("/interfaces/interface[name=eth0]")
CONFIG: dict[str, Any] = {
    "description": "uplink",
    "type": "ethernetCsmacd",  # an identity of iana-if-type, for a leaf of ietf-interfaces
    "enabled": True,
    "ipv4": {"mtu": 1500, "address": [{"ip": "192.0.2.1", "prefix-length": 24}]},  # ietf-ip's augment
}
NSMAP = {"if": IF_NS, "ip": IP_NS}


@pytest.fixture(scope="module")
def models() -> ModelSet:
    need(YUMA_IETF)
    return load_model_set([YUMA_IETF], ["ietf-interfaces", "ietf-ip", "iana-if-type"])


@pytest.fixture
def typed_driver(server: NetconfServer, models: ModelSet) -> Iterator[NetconfDriver]:
    d = NetconfDriver("r1", server.connection_params(), models=models)
    yield d
    d.close()


def _txn(value: Any) -> Transaction:
    return Transaction("r1", [Change(Op.UPDATE, ETH0, value, owner="if-eth0", kind="OpenConfig")])


def test_augment_gets_its_modules_namespace(typed_driver: NetconfDriver, server: NetconfServer,
                                           raw: RawConnect) -> None:
    typed_driver.apply(_txn(CONFIG))
    data = raw(server).get_config(source="running").data_ele
    eth0 = "if:interfaces/if:interface[if:name='eth0']"
    assert data.xpath(f"{eth0}/ip:ipv4/ip:mtu/text()", namespaces=NSMAP) == ["1500"]
    kind = data.xpath(f"{eth0}/if:type", namespaces=NSMAP)[0]
    prefix, _, identity = kind.text.partition(":")
    assert (kind.nsmap[prefix], identity) == ("urn:ietf:params:xml:ns:yang:iana-if-type", "ethernetCsmacd")


def test_without_models_the_same_object_has_no_namespace_to_go_to(server: NetconfServer) -> None:
    with NetconfDriver("r1", server.connection_params()) as plain, pytest.raises(TransactionRejected):
        plain.apply(_txn(CONFIG))  # (OpenConfig's namespace map sends it to openconfig-interfaces)


def test_read_back_is_typed_and_in_sync(typed_driver: NetconfDriver) -> None:
    typed_driver.apply(_txn(CONFIG))
    read = typed_driver.read([ETH0])[ETH0]
    assert read["ipv4"]["mtu"] == 1500 and read["enabled"] is True  # XML text, typed by the schema
    assert read["ipv4"]["address"] == [{"ip": "192.0.2.1", "prefix-length": 24}]  # one entry: still a list
    o = obj("if-eth0", "r1", "/interfaces/interface[name=eth0]", CONFIG)
    assert plan_object(o, "r1", read, typed_driver.typed).in_sync  # no false drift
    assert not plan_object(o, "r1", {**read, "description": "other"}, typed_driver.typed).in_sync


def test_a_value_the_models_refuse_is_never_sent(typed_driver: NetconfDriver, server: NetconfServer,
                                                 raw: RawConnect) -> None:
    with pytest.raises(TransactionRejected, match=r"/ipv4/mtu: .*range") as err:
        typed_driver.apply(_txn({"ipv4": {"mtu": 10}}))  # ietf-ip: mtu 68..max
    assert err.value.failed_owners == ("if-eth0",)
    assert not raw(server).get_config(source="running").data_ele.xpath("if:interfaces/if:interface",
                                                                       namespaces=NSMAP)
