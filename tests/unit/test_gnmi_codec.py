"""gNMI wire conversions: structured paths to protobuf Path messages and back."""

from __future__ import annotations

from nwi.drivers.gnmi_codec import path_from_proto, path_to_proto
from nwi.path import parse_path


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
