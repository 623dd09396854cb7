"""gNMI wire conversions: structured paths to protobuf Path messages and back."""

from __future__ import annotations

import pytest

from nwi.drivers.gnmi_codec import leaves, matches, matching_leaves, path_from_proto, path_to_proto
from nwi.path import parse_path
from nwi.tree import Tree


def test_path_round_trips_through_the_wire_form() -> None:
    for text in ("/", "/system/config", "oc:/interfaces/interface[name=eth0]/config",
                 "/service/vprn[service-name=v1]/interface[interface-name=i1]/sap[sap-id=1/1/2:3]",
                 "/x[a=1][b=2]"):
        path = parse_path(text)
        wire = path_to_proto(path, target="r1")
        assert wire.target == "r1" and path_from_proto(wire, strip_modules=False) == path


def test_a_message_never_shares_its_elements_with_another() -> None:
    """Element messages are built once per shared element; each Path must still own copies."""
    path = parse_path("/service/vprn[service-name=v1]/bgp")
    first = path_to_proto(path)
    first.elem[1].key["service-name"] = "changed"
    first.elem[2].name = "changed"
    again = path_to_proto(parse_path("/service/vprn[service-name=v1]/bgp"))
    assert path_from_proto(again) == path


MATCH_TREE = {
    "interface": [{"name": "e1", "mtu": 9000, "subif": [{"index": 0, "vlan": 10}, {"index": 1, "vlan": 11}]},
                  {"name": "e2", "mtu": 1500, "tags": ["a", "b"]}],
    "system": {"name": "pe1", "ntp": {"server": [{"address": "10.0.0.1", "vrf": "mgmt", "prefer": True}]}},
    "empty": {},
}


@pytest.mark.parametrize("pattern", [
    "/", "/interface", "/interface[name=e1]", "/interface[name=*]/mtu", "/interface/subif[index=*]/vlan",
    "/interface[name=e1]/subif[index=1]", "/interface[name=e3]", "/interface[mtu=9000]", "/*", "/*/name",
    "/interface[name=*]/tags", "/interface[name=e2]/tags/x", "/system/ntp/server[address=*][vrf=*]",
    "/system/ntp/server[address=10.0.0.1]", "/system[name=pe1]", "/empty", "/system/name/deeper",
])
def test_matching_leaves_are_the_leaves_that_match(pattern: str) -> None:
    tree = Tree(list_keys={"interface": ("name",), "subif": ("index",), "server": ("address", "vrf")})
    tree.update(parse_path("/"), MATCH_TREE)
    path = parse_path(pattern)
    assert list(matching_leaves(tree, path)) == [(p, v) for p, v in leaves(tree) if matches(path, p)]


def test_matching_leaves_selects_what_it_should() -> None:
    tree = Tree(list_keys={"interface": ("name",), "subif": ("index",), "server": ("address", "vrf")})
    tree.update(parse_path("/"), MATCH_TREE)
    found = dict(matching_leaves(tree, parse_path("/interface[name=*]/subif/vlan")))
    assert found == {parse_path("/interface[name=e1]/subif[index=0]/vlan"): 10,
                     parse_path("/interface[name=e1]/subif[index=1]/vlan"): 11}
