"""The gNMI driver (pygnmi) against the mock server; results checked through a separate pygnmi client."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from pygnmi.client import gNMIclient

from nwi.drivers.base import (
    AuthenticationFailed,
    Change,
    ConnectionParams,
    DeviceUnreachable,
    Op,
    Transaction,
    TransactionRejected,
)
from nwi.drivers.gnmi import GnmiDriver, UnsupportedEncoding
from nwi.mockgnmi import MockGnmiServer, memory_target
from nwi.mockgnmi.service import GnmiService
from nwi.path import parse_path
from tests.gnmi.helpers import IF_KEYS, PASSWORD, USER, get_val

pytestmark = pytest.mark.protocol

ETH0 = parse_path("/interfaces/interface[name=eth0]")


@pytest.fixture
def drivers() -> Iterator[Callable[..., GnmiDriver]]:
    made: list[GnmiDriver] = []

    def make(port: int, **kwargs: object) -> GnmiDriver:
        params = {"username": USER, "password": PASSWORD, "insecure": True, "connect_timeout": 2.0, **kwargs}
        d = GnmiDriver("r1", ConnectionParams("127.0.0.1", port, **params))
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


@pytest.fixture
def driver(server: MockGnmiServer, drivers: Callable[..., GnmiDriver]) -> GnmiDriver:
    d = drivers(server.port_of("r1"))
    d.connect()
    return d


def txn(*changes: Change) -> Transaction:
    return Transaction("r1", list(changes))


def test_connect_reports_capabilities(driver: GnmiDriver) -> None:
    info = driver.connect()
    assert info.reachable and "gnmi-0.10.0" in info.capabilities and "encoding:json_ietf" in info.capabilities


def test_connect_asks_for_capabilities_once(
    servers: Callable[..., MockGnmiServer], drivers: Callable[..., GnmiDriver], monkeypatch: pytest.MonkeyPatch
) -> None:
    # pygnmi's connect() already sends a CapabilityRequest; a second one per device is a wasted
    # round trip for every device of a fleet
    asked: list[object] = []
    answer = GnmiService.Capabilities

    def counting(self: GnmiService, request: object, context: object) -> object:
        asked.append(request)
        return answer(self, request, context)

    monkeypatch.setattr(GnmiService, "Capabilities", counting)  # before the server binds its handlers
    server = servers([memory_target("r1", username=USER, password=PASSWORD)])
    info = drivers(server.port_of("r1")).connect()
    assert "encoding:json_ietf" in info.capabilities
    assert len(asked) == 1


def test_apply_then_read_back(driver: GnmiDriver, client: gNMIclient) -> None:
    driver.apply(txn(
        Change(Op.UPDATE, ETH0.child("config"), {"mtu": 1500, "description": "uplink"}, owner="if-eth0"),
        Change(Op.UPDATE, parse_path("/system/config/hostname"), "r1", owner="system"),  # a bare string, quoted
    ))
    assert get_val(client, "/interfaces/interface[name=eth0]/config") == {"mtu": 1500, "description": "uplink"}
    assert get_val(client, "/system/config/hostname") == "r1"
    got = driver.read([ETH0, parse_path("/system/config/hostname"), parse_path("/nothing/here")])
    assert got == {
        ETH0: {"name": "eth0", "config": {"mtu": 1500, "description": "uplink"}},
        parse_path("/system/config/hostname"): "r1",
        parse_path("/nothing/here"): None,
    }


def test_one_transaction_is_one_set_in_delete_replace_update_order(driver: GnmiDriver, client: gNMIclient) -> None:
    client.set(update=[("/system/config", {"hostname": "old", "domain": "x"})], encoding="json_ietf")
    driver.apply(txn(
        Change(Op.UPDATE, parse_path("/system/config/contact"), "noc", owner="c"),
        Change(Op.REPLACE, parse_path("/system/config"), {"hostname": "new"}, owner="b"),
        Change(Op.DELETE, parse_path("/system"), owner="a"),
    ))
    assert get_val(client, "/system/config") == {"hostname": "new", "contact": "noc"}


def test_rejected_transaction_names_the_owner_and_changes_nothing(driver: GnmiDriver, client: gNMIclient) -> None:
    client.set(update=[("/system/config/hostname", '"r1"')], encoding="json_ietf")
    before = get_val(client, "/")
    with pytest.raises(TransactionRejected) as exc:
        driver.apply(txn(
            Change(Op.UPDATE, ETH0.child("config"), {"mtu": 1500}, owner="good"),
            Change(Op.UPDATE, parse_path("/system/config/hostname/oops"), {"x": 1}, owner="bad"),
        ))
    assert exc.value.failed_owners == ("bad",)
    assert "INVALID_ARGUMENT" in exc.value.message and "hostname" in exc.value.message
    assert get_val(client, "/") == before


def test_injected_set_failure_blames_the_whole_transaction(server: MockGnmiServer, driver: GnmiDriver) -> None:
    server.target("r1").faults.fail_next_sets(1, "FAILED_PRECONDITION")
    with pytest.raises(TransactionRejected) as exc:
        driver.apply(txn(Change(Op.UPDATE, parse_path("/a"), 1, owner="x"),
                         Change(Op.UPDATE, parse_path("/b"), 2, owner="y")))
    assert exc.value.failed_owners == ("x", "y")
    assert "FAILED_PRECONDITION" in exc.value.message


def test_dry_run_sends_nothing_but_catches_structural_errors(driver: GnmiDriver, client: gNMIclient) -> None:
    driver.apply(txn(Change(Op.UPDATE, parse_path("/a"), 1, owner="x")), dry_run=True)
    assert get_val(client, "/", encoding="json", datatype="config") == {}
    with pytest.raises(TransactionRejected) as exc:
        driver.apply(txn(Change(Op.REPLACE, ETH0, {"name": "eth1"}, owner="mismatch")), dry_run=True)
    assert exc.value.failed_owners == ("mismatch",)


def test_key_values_with_brackets_and_equals_reach_the_device_exactly(server: MockGnmiServer,
                                                                      driver: GnmiDriver) -> None:
    # a string path parser without escapes (pygnmi's) would split these key values at '=' or ']'
    odd = parse_path(r"/acl/entry[match=a=b]/rule[expr=x\]y]")
    driver.apply(txn(Change(Op.UPDATE, odd, {"x": 1}, owner="acl")))
    stored = server.target("r1").config()
    assert stored.get(odd) == {"expr": "x]y", "x": 1}
    assert stored.get(parse_path(r"/acl/entry[match=a=b]"))["match"] == "a=b"
    assert driver.read([odd]) == {odd: {"expr": "x]y", "x": 1}}


def test_one_channel_for_the_whole_run(server: MockGnmiServer, driver: GnmiDriver) -> None:
    for i in range(5):
        driver.apply(txn(Change(Op.UPDATE, parse_path(f"/items/item[id={i}]"), {"v": i}, owner=f"o{i}")))
        driver.read([parse_path(f"/items/item[id={i}]")])
    assert len(server.target("r1").peers) == 1


def test_unreachable_device(drivers: Callable[..., GnmiDriver]) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DeviceUnreachable) as exc:
        drivers(port, connect_timeout=1.0).connect()
    assert f"127.0.0.1:{port}" in str(exc.value)
    assert "Connection refused" in str(exc.value)  # gRPC's reason, not just "not ready in time"


def test_wrong_password_is_authentication_failed(server: MockGnmiServer,
                                                 drivers: Callable[..., GnmiDriver]) -> None:
    with pytest.raises(AuthenticationFailed) as exc:
        drivers(server.port_of("r1"), password="hunter2").connect()
    assert "hunter2" not in str(exc.value) and PASSWORD not in str(exc.value)
    assert "hunter2" not in repr(drivers(1, password="hunter2").params)


def test_slow_device_hits_the_operation_timeout(server: MockGnmiServer, drivers: Callable[..., GnmiDriver]) -> None:
    d = drivers(server.port_of("r1"), operation_timeout=1.0)
    d.connect()
    server.target("r1").faults.latency = 2.5
    with pytest.raises(DeviceUnreachable) as exc:
        d.read([parse_path("/a")])
    assert "DEADLINE_EXCEEDED" in str(exc.value)


def test_device_going_down_mid_run(server: MockGnmiServer, driver: GnmiDriver) -> None:
    server.stop_target("r1")
    with pytest.raises(DeviceUnreachable):
        driver.apply(txn(Change(Op.UPDATE, parse_path("/a"), 1, owner="x")))


def test_tls_with_ca_and_mutual_tls(servers: Callable[..., MockGnmiServer],
                                    drivers: Callable[..., GnmiDriver]) -> None:
    srv = servers([memory_target("r1", username=USER, password=PASSWORD)], tls=True)
    assert srv.tls is not None
    d = drivers(srv.port_of("r1"), insecure=False, ca_cert=srv.tls.ca_cert)
    d.apply(txn(Change(Op.UPDATE, parse_path("/a"), {"b": 1}, owner="x")))
    assert d.read([parse_path("/a")]) == {parse_path("/a"): {"b": 1}}
    mtls = servers([memory_target("r1", username=USER, password=PASSWORD)], tls=True, mtls=True)
    assert mtls.tls is not None
    d2 = drivers(mtls.port_of("r1"), insecure=False, ca_cert=mtls.tls.ca_cert, client_cert=mtls.tls.client_cert,
                 client_key=mtls.tls.client_key)
    assert d2.connect().reachable
    no_cert = drivers(mtls.port_of("r1"), insecure=False, ca_cert=mtls.tls.ca_cert, connect_timeout=1.0)
    with pytest.raises(DeviceUnreachable):
        no_cert.connect()


def test_json_encoding_and_unsupported_encoding(server: MockGnmiServer, drivers: Callable[..., GnmiDriver],
                                                client: gNMIclient) -> None:
    d = drivers(server.port_of("r1"), encoding="json")
    d.apply(txn(Change(Op.UPDATE, parse_path("/a"), "text", owner="x")))
    assert get_val(client, "/a", encoding="json") == "text"
    with pytest.raises(UnsupportedEncoding):
        drivers(server.port_of("r1"), encoding="ascii").connect()


def test_read_strips_json_ietf_module_prefixes(driver: GnmiDriver, client: gNMIclient) -> None:
    client.set(update=[("/interfaces", {"interface": [{"name": "eth0", "config": {"mtu": 1500}}]})],
               encoding="json_ietf")
    assert driver.read([ETH0.child("config")]) == {ETH0.child("config"): {"mtu": 1500}}


def test_list_key_hints_make_lists_mergeable(servers: Callable[..., MockGnmiServer],
                                             drivers: Callable[..., GnmiDriver]) -> None:
    srv = servers([memory_target("r1", username=USER, password=PASSWORD, list_keys=IF_KEYS)])
    d = drivers(srv.port_of("r1"))
    d.apply(txn(Change(Op.UPDATE, parse_path("/interfaces"), {"interface": [{"name": "eth0", "mtu": 1}]}, owner="a")))
    d.apply(txn(Change(Op.UPDATE, parse_path("/interfaces"), {"interface": [{"name": "eth1", "mtu": 2}]}, owner="b")))
    assert d.read([parse_path("/interfaces/interface[name=eth0]/mtu")]) == {
        parse_path("/interfaces/interface[name=eth0]/mtu"): 1}
