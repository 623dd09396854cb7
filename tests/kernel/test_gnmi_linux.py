"""The mock gNMI server serving a Linux-backed virtual device: a gNMI Set from pygnmi changes the kernel."""

from __future__ import annotations

import pytest
from pygnmi.client import gNMIclient, gNMIException

from nwi.drivers.linux.datastore import LinuxDatastore
from nwi.mockgnmi import Target, running
from nwi.mockgnmi.target import Credentials
from tests.kernel.helpers import addresses, info_data, kernel_view, kind, links

pytestmark = pytest.mark.kernel

USER, PASSWORD = "admin", "lab-pw-1"


def test_gnmi_set_programs_the_namespace(netns_name: str) -> None:
    target = Target("lab", LinuxDatastore(netns_name), port=0, credentials=Credentials(USER, PASSWORD))
    with running([target]) as server, gNMIclient(
        target=("127.0.0.1", server.port_of("lab")), username=USER, password=PASSWORD, insecure=True, gnmi_timeout=5
    ) as client:
        client.set(update=[
            ("/interfaces/interface[name=eth1]", {"type": "veth", "peer": "eth1-peer", "admin-state": "enable"}),
            ("/interfaces/interface[name=net1]", {"type": "macvlan", "parent": "eth1", "mode": "bridge",
                                                  "addresses": ["172.254.1.201/24"]}),
        ], encoding="json_ietf")
        found = links(netns_name)
        assert kind(found["net1"]) == "macvlan" and info_data(found["net1"])["mode"] == "bridge"
        assert addresses(netns_name, "net1") == {"172.254.1.201/24"}

        got = client.get(path=["/interfaces/interface[name=net1]"], encoding="json_ietf")
        assert "172.254.1.201/24" in str(got)

        before = kernel_view(netns_name)
        with pytest.raises(gNMIException):
            client.set(update=[("/interfaces/interface[name=v0.0]", {"type": "vlan", "parent": "eth1", "vlan-id": 0})],
                       encoding="json_ietf")
        assert kernel_view(netns_name) == before

        client.set(delete=["/interfaces/interface[name=net1]"], encoding="json_ietf")
        assert "net1" not in links(netns_name)
