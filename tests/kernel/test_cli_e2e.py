"""End to end: ``nwi apply`` on samples/linux builds real links in the device's namespace.

The host kernel has no 802.1Q, so here the macvlan/bridge part of the samples
is applied; ``guest_cases.py`` applies the whole of samples/linux, VLANs included,
inside the guest kernel (QEMU).
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import SAMPLES, NwiRunner
from tests.kernel.helpers import addresses, info_data, kind, links

pytestmark = pytest.mark.kernel

DEVICE = SAMPLES / "linux" / "device.yaml"
MACVLAN_BRIDGE = SAMPLES / "linux" / "macvlan-bridge"


def ip_d_link(netns: str) -> str:
    return subprocess.run(["ip", "-n", netns, "-d", "link"], check=True, capture_output=True, text=True).stdout


def test_nwi_apply_samples_linux_builds_links(nwi: NwiRunner, lab_netns: str) -> None:
    result = nwi("apply", "-f", DEVICE, "-f", MACVLAN_BRIDGE)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "4 Ready" in result.stdout

    text = ip_d_link(lab_netns)
    assert "net1@eth1" in text and "macvlan mode bridge" in text
    found = links(lab_netns)
    assert kind(found["net1"]) == "macvlan" and info_data(found["net1"])["mode"] == "bridge"
    assert found["net1"]["link"] == "eth1"
    assert addresses(lab_netns, "net1") == {"172.254.1.200/24"}
    assert kind(found["br-lab"]) == "bridge" and found["eth1-br"]["master"] == "br-lab"

    # a second apply sends nothing; a link deleted by hand is put back
    again = nwi("apply", "-f", DEVICE, "-f", MACVLAN_BRIDGE)
    assert again.exit_code == 0 and "0 transaction(s) sent" in again.stdout, again.stdout
    subprocess.run(["ip", "-n", lab_netns, "link", "del", "net1"], check=True)
    repaired = nwi("apply", "-f", DEVICE, "-f", MACVLAN_BRIDGE)
    assert repaired.exit_code == 0 and "1 transaction(s) sent" in repaired.stdout, repaired.stdout
    assert addresses(lab_netns, "net1") == {"172.254.1.200/24"}

    removed = nwi("delete", "-f", DEVICE, "-f", MACVLAN_BRIDGE)
    assert removed.exit_code == 0, removed.stdout + removed.stderr
    assert links(lab_netns) == {}


def test_remove_netns_removes_the_device_namespace(nwi: NwiRunner, lab_netns: str) -> None:
    assert nwi("apply", "-f", DEVICE, "-f", MACVLAN_BRIDGE).exit_code == 0
    assert lab_netns in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    result = nwi("remove-netns", "linux-lab")
    assert result.stdout.strip() == f"{lab_netns}: removed"
    assert lab_netns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert nwi("remove-netns", "linux-lab").stdout.strip() == f"{lab_netns}: not present"
