"""Set through pygnmi against the mock server: every rule of gNMI specification section 3.4."""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pytest
from pygnmi.client import gNMIclient, gNMIException
from pygnmi.spec.v080 import gnmi_pb2

from nwi.mockgnmi import MockGnmiServer, memory_target
from tests.gnmi.helpers import PASSWORD, USER, get_val, rpc_error, set_results

pytestmark = pytest.mark.protocol

ETH0 = "/interfaces/interface[name=eth0]"
Servers = Callable[..., MockGnmiServer]
Clients = Callable[..., gNMIclient]


def test_update_creates_then_merges_and_leaves_overwrite(client: gNMIclient) -> None:
    client.set(update=[(f"{ETH0}/config", {"mtu": 1500, "description": "uplink"})], encoding="json_ietf")
    client.set(update=[(f"{ETH0}/config", {"mtu": 9000, "enabled": True})], encoding="json_ietf")
    assert get_val(client, f"{ETH0}/config") == {"mtu": 9000, "description": "uplink", "enabled": True}


def test_replace_removes_what_it_does_not_supply(client: gNMIclient) -> None:
    client.set(update=[(f"{ETH0}/config", {"mtu": 1500, "description": "uplink"})], encoding="json_ietf")
    client.set(replace=[(f"{ETH0}/config", {"mtu": 1400})], encoding="json_ietf")
    assert get_val(client, f"{ETH0}/config") == {"mtu": 1400}


def test_replacing_a_list_removes_entries_not_supplied(client: gNMIclient) -> None:
    entries = [{"name": n, "config": {"mtu": 1500}} for n in ("eth0", "eth1", "eth2")]
    client.set(update=[("/interfaces/interface", entries)], encoding="json_ietf")
    client.set(replace=[("/interfaces/interface", [{"name": "eth1", "config": {"mtu": 1400}}])], encoding="json_ietf")
    assert get_val(client, "/interfaces") == {"interface": [{"name": "eth1", "config": {"mtu": 1400}}]}
    # the surviving entry is still addressable by its key (list-key hint, no YANG)
    assert get_val(client, "/interfaces/interface[name=eth1]/config/mtu") == 1400


def test_updating_a_list_adds_and_merges_entries(client: gNMIclient) -> None:
    client.set(update=[("/interfaces/interface", [{"name": "eth0", "config": {"mtu": 1500, "description": "a"}}])],
               encoding="json_ietf")
    client.set(update=[("/interfaces/interface", [{"name": "eth0", "config": {"mtu": 9000}},
                                                  {"name": "eth1", "config": {"mtu": 1500}}])], encoding="json_ietf")
    assert get_val(client, "/interfaces/interface[name=eth0]/config") == {"mtu": 9000, "description": "a"}
    assert get_val(client, "/interfaces/interface[name=eth1]/config/mtu") == 1500


def test_deleting_a_missing_path_succeeds(client: gNMIclient) -> None:
    resp = client.set(delete=["/does/not/exist", "/interfaces/interface[name=nope]"], encoding="json_ietf")
    assert [r["op"] for r in resp["response"]] == ["DELETE", "DELETE"]


def test_delete_removes_recursively(client: gNMIclient) -> None:
    client.set(update=[(f"{ETH0}/config", {"mtu": 1500}), ("/system/config", {"hostname": "r1"})], encoding="json_ietf")
    client.set(delete=[ETH0], encoding="json_ietf")
    with pytest.raises(gNMIException) as exc:
        client.get(path=[f"{ETH0}/config/mtu"], encoding="json_ietf")
    assert rpc_error(exc.value).code() == grpc.StatusCode.NOT_FOUND
    assert get_val(client, "/system/config/hostname") == "r1"


def test_wildcard_delete_is_expanded(client: gNMIclient) -> None:
    entries = [{"name": n, "config": {"mtu": 1500, "description": n}} for n in ("eth0", "eth1")]
    client.set(update=[("/interfaces/interface", entries)], encoding="json_ietf")
    client.set(delete=["/interfaces/interface[name=*]/config/description"], encoding="json_ietf")
    assert get_val(client, "/interfaces") == {"interface": [{"name": "eth0", "config": {"mtu": 1500}},
                                                            {"name": "eth1", "config": {"mtu": 1500}}]}


def test_deletes_then_replaces_then_updates(client: gNMIclient) -> None:
    client.set(update=[("/system/config", {"hostname": "old", "domain": "example.net"})], encoding="json_ietf")
    # one SetRequest: the delete is applied first, then the replace, then the update
    client.set(
        update=[("/system/config/contact", '"noc"')],
        replace=[("/system/config", {"hostname": "new"})],
        delete=["/system"],
        encoding="json_ietf",
    )
    assert get_val(client, "/system/config") == {"hostname": "new", "contact": "noc"}


def test_repeated_path_applies_in_order(client: gNMIclient) -> None:
    client.set(update=[("/system/config/hostname", '"first"'), ("/system/config/hostname", '"second"')],
               encoding="json_ietf")
    assert get_val(client, "/system/config/hostname") == "second"


def test_one_response_per_operation_in_order(client: gNMIclient) -> None:
    resp = client.set(delete=["/a"], replace=[("/b", {"x": 1})], update=[("/c", {"y": 2}), ("/d", 3)],
                      encoding="json_ietf")
    assert [(r["op"], r["path"]) for r in resp["response"]] == [
        ("DELETE", "a"), ("REPLACE", "b"), ("UPDATE", "c"), ("UPDATE", "d")]
    assert resp["timestamp"] > 0


def test_a_failing_operation_aborts_all_and_applies_nothing(client: gNMIclient) -> None:
    client.set(update=[(f"{ETH0}/config", {"mtu": 1500})], encoding="json_ietf")
    before = get_val(client, "/")
    with pytest.raises(gNMIException) as exc:
        client.set(
            delete=[f"{ETH0}/config/mtu"],
            update=[
                ("/system/config", {"hostname": "r1"}),
                # the key in the value contradicts the key in the path (3.4.5): invalid
                ("/interfaces/interface[name=eth1]", {"name": "eth2"}),
            ],
            encoding="json_ietf",
        )
    err = rpc_error(exc.value)
    # gNMI 0.10 (3.4.7): the RPC status says why (the failed operation's code), the details say which
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "eth2" in err.details() and "nothing applied" in err.details()
    results = set_results(exc.value)
    assert [(op, code) for op, code, _ in results] == [
        ("DELETE", grpc.StatusCode.ABORTED.value[0]),
        ("UPDATE", grpc.StatusCode.ABORTED.value[0]),
        ("UPDATE", grpc.StatusCode.INVALID_ARGUMENT.value[0]),
    ]
    assert "eth2" in results[2][2]
    assert get_val(client, "/") == before  # the delete and the first update were not applied


def test_a_path_through_a_leaf_is_rejected(client: gNMIclient) -> None:
    client.set(update=[("/system/config/hostname", '"r1"')], encoding="json_ietf")
    with pytest.raises(gNMIException) as exc:
        client.set(update=[("/system/config/hostname/sub", {"x": 1})], encoding="json_ietf")
    assert rpc_error(exc.value).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert get_val(client, "/system/config/hostname") == "r1"


def test_a_strict_subset_of_list_keys_is_invalid(servers: Servers, clients: Clients) -> None:
    srv = servers([memory_target("r", list_keys={"neighbor": ("afi", "address")})])
    c = clients(srv.port_of("r"), username="", password="")
    c.set(update=[("/bgp/neighbor[address=10.0.0.1][afi=ipv4]", {"peer-as": 65001})], encoding="json_ietf")
    with pytest.raises(gNMIException) as exc:
        c.set(update=[("/bgp/neighbor[address=10.0.0.1]", {"peer-as": 65002})], encoding="json_ietf")
    assert rpc_error(exc.value).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert set_results(exc.value)[0][1] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert get_val(c, "/bgp/neighbor[address=10.0.0.1][afi=ipv4]/peer-as") == 65001


def test_wildcards_are_refused_in_replace_and_update(client: gNMIclient) -> None:
    with pytest.raises(gNMIException) as exc:
        client.set(update=[("/interfaces/interface[name=*]/config", {"mtu": 1})], encoding="json_ietf")
    assert rpc_error(exc.value).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "wildcard" in set_results(exc.value)[0][2]


def test_a_value_encoding_without_schema_is_unimplemented(client: gNMIclient) -> None:
    with pytest.raises(gNMIException) as exc:
        client.set(update=[("/system/config", {"hostname": "x"})], encoding="proto")  # pygnmi: proto_bytes
    assert rpc_error(exc.value).code() == grpc.StatusCode.UNIMPLEMENTED
    assert set_results(exc.value)[0][1] == grpc.StatusCode.UNIMPLEMENTED.value[0]


def test_bare_strings_from_pygnmi_are_refused_by_default(client: gNMIclient) -> None:
    # pygnmi sends a Python str as raw bytes: `enable`, not `"enable"`; a router refuses that (2.3.1)
    with pytest.raises(gNMIException) as exc:
        client.set(update=[("/system/config/admin-state", "enable")], encoding="json_ietf")
    assert rpc_error(exc.value).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not valid JSON" in rpc_error(exc.value).details() and "quoted" in rpc_error(exc.value).details()


def test_bare_strings_are_strings_with_the_opt_in(servers: Servers, clients: Clients) -> None:
    srv = servers([memory_target("r", bare_strings=True)])
    c = clients(srv.port_of("r"), username="", password="")
    c.set(update=[("/system/config/admin-state", "enable")], encoding="json_ietf")
    c.set(update=[("/system/config/motd", "hello world")], encoding="json")
    assert get_val(c, "/system/config") == {"admin-state": "enable", "motd": "hello world"}


@pytest.mark.parametrize("text", ['{not json', '{"mtu": ', "[1, 2", '"unterminated', "12ab", "-x", " {x"])
@pytest.mark.parametrize("bare_strings", [False, True])
def test_malformed_json_aborts_the_whole_set(servers: Servers, clients: Clients, text: str,
                                             bare_strings: bool) -> None:
    # text that starts like JSON is broken JSON, never a bare word, even with the opt-in
    srv = servers([memory_target("r", bare_strings=bare_strings)])
    c = clients(srv.port_of("r"), username="", password="")
    c.set(update=[("/interfaces/interface[name=eth0]/config", {"mtu": 1500})], encoding="json_ietf")
    before = get_val(c, "/")
    with pytest.raises(gNMIException) as exc:
        c.set(update=[("/system/config", {"hostname": "r"}), ("/interfaces/interface[name=eth0]/config", text)],
              encoding="json_ietf")
    err = rpc_error(exc.value)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "operation 1" in err.details() and "not valid JSON" in err.details()
    assert [code for _, code, _ in set_results(exc.value)] == [grpc.StatusCode.ABORTED.value[0],
                                                                grpc.StatusCode.INVALID_ARGUMENT.value[0]]
    assert get_val(c, "/") == before  # the valid update was not applied either


def test_replacing_a_list_entry_with_an_empty_object_is_invalid(client: gNMIclient) -> None:
    client.set(update=[(f"{ETH0}/config", {"mtu": 1500})], encoding="json_ietf")
    with pytest.raises(gNMIException) as exc:
        client.set(replace=[(ETH0, {})], encoding="json_ietf")
    assert rpc_error(exc.value).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "{}" in rpc_error(exc.value).details()
    assert get_val(client, f"{ETH0}/config/mtu") == 1500
    # an entry given with its keys only is a valid replace
    client.set(replace=[(ETH0, {"name": "eth0"})], encoding="json_ietf")
    assert get_val(client, ETH0) == {"name": "eth0"}


@pytest.mark.parametrize("value", ["null", '{"mtu": null}', '[1, null]'])
def test_null_is_no_value(client: gNMIclient, value: str) -> None:
    client.set(update=[(f"{ETH0}/config", {"mtu": 1500})], encoding="json_ietf")
    for op in ("replace", "update"):
        with pytest.raises(gNMIException) as exc:
            client.set(**{op: [(f"{ETH0}/config/mtu", value)]}, encoding="json_ietf")
        assert rpc_error(exc.value).code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "null" in rpc_error(exc.value).details()
    assert get_val(client, f"{ETH0}/config/mtu") == 1500


def test_an_empty_leaf_is_not_a_null(client: gNMIclient) -> None:
    client.set(update=[("/system/config/flag", "[null]")], encoding="json_ietf")  # RFC 7951 type empty
    assert get_val(client, "/system/config/flag") == [None]


def test_a_list_entry_without_its_key_is_invalid(client: gNMIclient) -> None:
    with pytest.raises(gNMIException) as exc:
        client.set(update=[("/interfaces/interface", [{"config": {"mtu": 1}}])], encoding="json_ietf")
    assert rpc_error(exc.value).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'name'" in rpc_error(exc.value).details()


def test_a_keyless_list_element_is_refused_in_update(client: gNMIclient) -> None:
    client.set(update=[(f"{ETH0}/config", {"mtu": 1500})], encoding="json_ietf")
    with pytest.raises(gNMIException) as exc:
        client.set(update=[("/interfaces/interface/config", {"mtu": 1})], encoding="json_ietf")
    assert rpc_error(exc.value).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "name the entry" in rpc_error(exc.value).details()


def test_a_keyless_list_element_in_a_delete_selects_every_entry(client: gNMIclient) -> None:
    entries = [{"name": n, "config": {"mtu": 1500, "description": n}} for n in ("eth0", "eth1")]
    client.set(update=[("/interfaces/interface", entries)], encoding="json_ietf")
    client.set(delete=["/interfaces/interface/config/description"], encoding="json_ietf")
    assert get_val(client, "/interfaces") == {"interface": [{"name": "eth0", "config": {"mtu": 1500}},
                                                            {"name": "eth1", "config": {"mtu": 1500}}]}


def test_union_replace_is_unimplemented_not_ignored(server: MockGnmiServer) -> None:
    # pygnmi's 0.8 messages have no union_replace (SetRequest field 6, gNMI 0.10): add it as raw bytes
    update = gnmi_pb2.Update(path=gnmi_pb2.Path(elem=[gnmi_pb2.PathElem(name="system")]),
                             val=gnmi_pb2.TypedValue(json_val=b"{}"))
    raw = bytes([6 << 3 | 2]) + _varint(update.ByteSize()) + update.SerializeToString()
    with grpc.insecure_channel(f"127.0.0.1:{server.port_of('r1')}") as channel:
        call = channel.unary_unary("/gnmi.gNMI/Set", request_serializer=lambda b: b,
                                   response_deserializer=gnmi_pb2.SetResponse.FromString)
        with pytest.raises(grpc.RpcError) as exc:
            call(raw, metadata=[("username", USER), ("password", PASSWORD)], timeout=5)
    assert exc.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "union_replace" in exc.value.details()


def _varint(n: int) -> bytes:
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def test_json_ietf_module_prefixes_are_dropped(client: gNMIclient) -> None:
    client.set(update=[("/interfaces", {"openconfig-interfaces:interface": [
        {"name": "eth0", "openconfig-interfaces:config": {"mtu": 1500}}]})], encoding="json_ietf")
    assert get_val(client, f"{ETH0}/config/mtu") == 1500


def test_an_empty_set_request_is_not_an_error(client: gNMIclient) -> None:
    resp = client.set(encoding="json_ietf")
    assert resp is not None and "response" not in resp


def test_set_with_prefix_and_origin(client: gNMIclient) -> None:
    resp = client.set(prefix="openconfig:/interfaces", update=[("interface[name=eth7]/config", {"mtu": 1500})],
                      encoding="json_ietf")
    assert resp["prefix"] == "interfaces"
    assert get_val(client, "/interfaces/interface[name=eth7]/config/mtu") == 1500


def test_targets_on_a_shared_port_are_selected_by_prefix_target(servers: Servers, clients: Clients) -> None:
    srv: MockGnmiServer = servers([memory_target("a", port=None), memory_target("b", port=None)])
    assert srv.port_of("a") == srv.port_of("b")
    c = clients(srv.port_of("a"), username="", password="")
    c.set(target="b", update=[("/system/config/hostname", '"bee"')], encoding="json_ietf")
    c.set(update=[("/system/config/hostname", '"default-is-a"')], encoding="json_ietf")
    assert c.get(target="b", path=["/system/config/hostname"], encoding="json")["notification"][0]["update"][0][
        "val"] == "bee"
    assert get_val(c, "/system/config/hostname") == "default-is-a"
    with pytest.raises(gNMIException) as exc:
        c.get(target="nope", path=["/"], encoding="json")
    assert rpc_error(exc.value).code() == grpc.StatusCode.NOT_FOUND
