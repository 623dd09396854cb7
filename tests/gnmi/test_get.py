"""Get through pygnmi: prefix, origin, wildcards, encodings, data types, errors (gNMI 3.3)."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from pygnmi.client import gNMIclient, gNMIException
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from nwi.mockgnmi import MockGnmiServer, Model, memory_target
from tests.gnmi.helpers import PASSWORD, USER, get_val, rpc_error

pytestmark = pytest.mark.protocol


@pytest.fixture
def loaded(client: gNMIclient) -> gNMIclient:
    client.set(
        update=[
            ("/interfaces/interface", [
                {"name": "eth0", "config": {"mtu": 1500, "enabled": True, "description": "uplink"}},
                {"name": "eth1", "config": {"mtu": 9000, "enabled": False}},
            ]),
            ("/system/config", {"hostname": "r1", "ratio": 0.5, "servers": ["10.0.0.1", "10.0.0.2"]}),
        ],
        encoding="json_ietf",
    )
    return client


def updates(resp: dict, i: int = 0) -> dict[str, object]:
    return {u["path"]: u["val"] for u in resp["notification"][i].get("update", [])}


def test_one_notification_per_path_with_timestamps(loaded: gNMIclient) -> None:
    resp = loaded.get(path=["/system/config/hostname", "/interfaces/interface[name=eth1]/config/mtu"],
                      encoding="json_ietf")
    assert len(resp["notification"]) == 2
    assert updates(resp, 0) == {"system/config/hostname": "r1"}
    assert updates(resp, 1) == {"interfaces/interface[name=eth1]/config/mtu": 9000}
    assert all(n["timestamp"] > 0 for n in resp["notification"])


def test_prefix_is_echoed_and_paths_are_relative(loaded: gNMIclient) -> None:
    resp = loaded.get(prefix="/interfaces", path=["interface[name=eth0]/config/mtu"], encoding="json")
    assert resp["notification"][0]["prefix"] == "interfaces"
    assert updates(resp) == {"interface[name=eth0]/config/mtu": 1500}


def test_origin_is_accepted(loaded: gNMIclient) -> None:
    assert get_val(loaded, "openconfig:/system/config/hostname") == "r1"
    assert get_val(loaded, "/system/config/hostname", prefix="openconfig:/") == "r1"


def test_wildcard_in_key_value(loaded: gNMIclient) -> None:
    resp = loaded.get(path=["/interfaces/interface[name=*]/config/mtu"], encoding="json_ietf")
    assert updates(resp) == {"interfaces/interface[name=eth0]/config/mtu": 1500,
                             "interfaces/interface[name=eth1]/config/mtu": 9000}


def test_wildcard_in_element_name(loaded: gNMIclient) -> None:
    resp = loaded.get(path=["/interfaces/interface[name=eth0]/*/description"], encoding="json_ietf")
    assert updates(resp) == {"interfaces/interface[name=eth0]/config/description": "uplink"}


def test_a_wildcard_matching_nothing_is_an_empty_notification(loaded: gNMIclient) -> None:
    resp = loaded.get(path=["/interfaces/interface[name=*]/state"], encoding="json_ietf")
    assert len(resp["notification"]) == 1 and updates(resp) == {}


def test_a_missing_concrete_path_is_not_found(loaded: gNMIclient) -> None:
    with pytest.raises(gNMIException) as exc:
        loaded.get(path=["/interfaces/interface[name=eth9]"], encoding="json_ietf")
    assert rpc_error(exc.value).code() == grpc.StatusCode.NOT_FOUND
    assert "eth9" in rpc_error(exc.value).details()


def test_json_and_json_ietf_carry_the_subtree(loaded: gNMIclient) -> None:
    want = {"name": "eth1", "config": {"mtu": 9000, "enabled": False}}
    for encoding in ("json", "json_ietf"):
        assert get_val(loaded, "/interfaces/interface[name=eth1]", encoding=encoding) == want


def test_proto_encoding_sends_typed_leaves(loaded: gNMIclient, server: MockGnmiServer) -> None:
    resp = loaded.get(path=["/interfaces/interface[name=eth1]/config"], encoding="proto")
    assert updates(resp) == {"interfaces/interface[name=eth1]/config/mtu": 9000,
                             "interfaces/interface[name=eth1]/config/enabled": False}
    # pygnmi's Get does not decode double_val or leaflist_val: read those with its raw stubs
    with grpc.insecure_channel(f"127.0.0.1:{server.port_of('r1')}") as channel:
        stub = gnmi_pb2_grpc.gNMIStub(channel)
        req = gnmi_pb2.GetRequest(path=[gnmi_pb2.Path(elem=[gnmi_pb2.PathElem(name="system")])],
                                  encoding=gnmi_pb2.Encoding.Value("PROTO"))
        resp_pb = stub.Get(req, metadata=[("username", USER), ("password", PASSWORD)], timeout=5)
    vals = {"/".join(e.name for e in u.path.elem): u.val for u in resp_pb.notification[0].update}
    assert vals["system/config/hostname"].string_val == "r1"
    assert vals["system/config/ratio"].double_val == 0.5
    assert [e.string_val for e in vals["system/config/servers"].leaflist_val.element] == ["10.0.0.1", "10.0.0.2"]
    assert vals["system/state/uptime"].uint_val == 42


def test_unsupported_encoding_is_unimplemented(loaded: gNMIclient, server: MockGnmiServer) -> None:
    # pygnmi refuses an encoding the target did not announce before sending: use its raw stubs
    with grpc.insecure_channel(f"127.0.0.1:{server.port_of('r1')}") as channel:
        stub = gnmi_pb2_grpc.gNMIStub(channel)
        req = gnmi_pb2.GetRequest(path=[gnmi_pb2.Path()], encoding=gnmi_pb2.Encoding.Value("ASCII"))
        with pytest.raises(grpc.RpcError) as exc:
            stub.Get(req, metadata=[("username", USER), ("password", PASSWORD)], timeout=5)
    assert exc.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "ASCII" in exc.value.details()


def test_data_types_config_state_all(loaded: gNMIclient) -> None:
    config = get_val(loaded, "/system", datatype="config")
    state = get_val(loaded, "/system", datatype="state")
    everything = get_val(loaded, "/system", datatype="all")
    assert "state" not in config and "config" in config
    assert state == {"state": {"uptime": 42, "hostname": "r1"}}
    assert everything == {**config, **state}
    assert get_val(loaded, "/system/state/uptime", datatype="operational") == 42
    with pytest.raises(gNMIException) as exc:
        loaded.get(path=["/system/state"], datatype="config", encoding="json")
    assert rpc_error(exc.value).code() == grpc.StatusCode.NOT_FOUND


def test_root_get_returns_everything(loaded: gNMIclient) -> None:
    root = get_val(loaded, "/", datatype="config")
    assert set(root) == {"interfaces", "system"}


def test_a_keyless_list_element_matches_every_entry(loaded: gNMIclient) -> None:
    # path conventions: a list element without keys means every entry, as [name=*] does
    resp = loaded.get(path=["/interfaces/interface/config/mtu"], encoding="json_ietf")
    assert updates(resp) == {"interfaces/interface[name=eth0]/config/mtu": 1500,
                             "interfaces/interface[name=eth1]/config/mtu": 9000}
    # it is a wildcard: matching nothing is an empty notification, not NOT_FOUND
    resp = loaded.get(path=["/interfaces/interface/state"], encoding="json_ietf")
    assert len(resp["notification"]) == 1 and updates(resp) == {}
    # PROTO sends the same leaves
    resp = loaded.get(path=["/interfaces/interface/config/mtu"], encoding="proto")
    assert updates(resp) == {"interfaces/interface[name=eth0]/config/mtu": 1500,
                             "interfaces/interface[name=eth1]/config/mtu": 9000}


def test_json_ietf_qualifies_top_level_members_when_the_module_is_known(
        servers: Callable[..., MockGnmiServer], clients: Callable[..., gNMIclient]) -> None:
    srv = servers([memory_target("r", list_keys={"interface": ("name",)},
                                 modules={"interfaces": "openconfig-interfaces"})])
    c = clients(srv.port_of("r"), username="", password="")
    c.set(update=[("/interfaces/interface[name=eth0]/config", {"mtu": 1500}),
                  ("/system/config", {"hostname": "r"})], encoding="json_ietf")
    root = get_val(c, "/")
    # RFC 7951 section 4: members of the top-level object carry their module; system's module is not known
    assert root == {"openconfig-interfaces:interfaces": {"interface": [{"name": "eth0", "config": {"mtu": 1500}}]},
                    "system": {"config": {"hostname": "r"}}}
    assert get_val(c, "/interfaces/interface[name=eth0]/config") == {"openconfig-interfaces:mtu": 1500}
    assert get_val(c, "/interfaces/interface") == [{"openconfig-interfaces:name": "eth0",
                                                    "openconfig-interfaces:config": {"mtu": 1500}}]
    assert get_val(c, "/interfaces/interface[name=eth0]/config/mtu") == 1500  # a leaf is a bare value
    assert get_val(c, "/interfaces/interface[name=eth0]/config", encoding="json") == {"mtu": 1500}  # JSON: never
    # the name a client writes qualified is remembered for the answers
    c.set(update=[("/openconfig-system:system/config", {"domain": "example.net"})], encoding="json_ietf")
    assert "openconfig-system:system" in get_val(c, "/")
    assert get_val(c, "/system/config") == {"openconfig-system:hostname": "r",
                                            "openconfig-system:domain": "example.net"}


def test_json_ietf_keeps_the_module_the_client_wrote(loaded: gNMIclient) -> None:
    assert get_val(loaded, "/openconfig-interfaces:interfaces/interface[name=eth1]/config") == {
        "openconfig-interfaces:mtu": 9000, "openconfig-interfaces:enabled": False}
    # nothing was learned from a read: an unqualified Get stays unqualified
    assert get_val(loaded, "/interfaces/interface[name=eth1]/config") == {"mtu": 9000, "enabled": False}


def test_json_ietf_takes_the_module_from_an_origin_naming_an_announced_model(
        servers: Callable[..., MockGnmiServer], clients: Callable[..., gNMIclient]) -> None:
    srv = servers([memory_target("r", models=[Model("openconfig-interfaces", "OpenConfig", "3.5.0")])])
    c = clients(srv.port_of("r"), username="", password="")
    c.set(update=[("/interfaces/interface[name=eth0]/config", {"mtu": 1500})], encoding="json_ietf")
    assert get_val(c, "openconfig-interfaces:/interfaces/interface[name=eth0]/config") == {
        "openconfig-interfaces:mtu": 1500}
    assert get_val(c, "openconfig:/interfaces/interface[name=eth0]/config") == {"mtu": 1500}  # not a model


def test_capabilities_announce_gnmi_0_10_and_the_models_served(
        servers: Callable[..., MockGnmiServer], clients: Callable[..., gNMIclient]) -> None:
    srv = servers([memory_target("a", port=None, models=[Model("openconfig-interfaces", "OpenConfig", "3.5.0")]),
                   memory_target("b", port=None, modules={"system": "openconfig-system"})])
    caps = clients(srv.port_of("a"), username="", password="").capabilities()
    assert caps["gnmi_version"] == "0.10.0"
    assert caps["supported_models"] == [
        {"name": "openconfig-interfaces", "organization": "OpenConfig", "version": "3.5.0"},
        {"name": "openconfig-system", "organization": "", "version": ""},
    ]
    assert set(caps["supported_encodings"]) == {"json", "json_ietf", "proto"}
