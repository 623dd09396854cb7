"""`nwi apply -f samples/netconf` end to end: the real CLI, the real netconfd, checked with a raw ncclient session.

The samples are used as shipped, except that the Device points at this
test's server port instead of 8830.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from harness.netconfd import IF_NS, IP_NS, SYS_NS, NetconfServer, RawConnect
from lxml import etree
from ncclient import manager

pytestmark = pytest.mark.protocol

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "netconf"
NSMAP = {"if": IF_NS, "ip": IP_NS, "sys": SYS_NS}
ETH0 = "if:interfaces/if:interface[if:name='eth0']"
LO0 = "if:interfaces/if:interface[if:name='lo0']"

Nwi = Callable[..., Any]


def samples_for(server: NetconfServer, dest: Path, edit: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """A copy of samples/netconf whose Device points at ``server``; ``edit`` may change any document."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for src in sorted(SAMPLES.glob("*.yaml")):
        docs = list(yaml.safe_load_all(src.read_text()))
        for doc in docs:
            if doc["kind"] == "Device":
                doc["spec"]["port"] = server.port
            if edit is not None:
                edit(doc)
        (dest / src.name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return dest


def values(m: manager.Manager, xpath: str) -> list[str]:
    data = m.get_config(source="running").data_ele
    return [str(e.text) for e in data.xpath(xpath, namespaces=NSMAP)]


def status(nwi: Nwi) -> dict[str, dict[str, Any]]:
    result = nwi("get", "-o", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    return {i["metadata"]["name"]: i["status"] for i in json.loads(result.stdout)["items"]}


def test_samples_apply_update_replace_and_delete(
    server: NetconfServer, raw: RawConnect, nwi: Nwi, tmp_path: Path
) -> None:
    m = raw(server)
    first = nwi("apply", "-f", samples_for(server, tmp_path / "v1"))
    assert first.exit_code == 0, first.stdout + first.stderr
    assert {s["phase"] for s in status(nwi).values()} == {"Ready"}
    assert values(m, f"{ETH0}/if:description") == ["uplink to core"]
    assert values(m, f"{ETH0}/ip:ipv4/ip:address/ip:ip") == ["192.0.2.1"]
    assert values(m, f"{LO0}/if:description") == ["router id"]
    assert values(m, "sys:system/sys:hostname") == ["lab-router-1"]
    assert values(m, "sys:system/sys:ntp/sys:server/sys:name") == ["ntp1", "ntp2"]

    # again: the drift read finds everything in sync, nothing is sent
    again = nwi("apply", "-f", tmp_path / "v1")
    assert again.exit_code == 0 and "0 transaction(s) sent" in again.stdout

    # someone changes the device behind nwi's back: the next apply repairs it
    with m.locked("candidate"):
        m.edit_config(
            target="candidate",
            config=f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><system xmlns="{SYS_NS}">'
            "<hostname>hand-edited</hostname></system></config>",
        )
        m.commit()
    repaired = nwi("apply", "-f", tmp_path / "v1")
    assert repaired.exit_code == 0, repaired.stdout + repaired.stderr
    assert values(m, "sys:system/sys:hostname") == ["lab-router-1"]

    # update (merge) and replace
    def v2(doc: dict[str, Any]) -> None:
        name = doc["metadata"]["name"]
        if name == "uplink-eth0":
            doc["spec"]["properties"]["description"] = "uplink to core-2"
        if name == "loopback-lo0":  # operation: replace -> the description disappears
            del doc["spec"]["properties"]["description"]

    second = nwi("apply", "-f", samples_for(server, tmp_path / "v2", v2))
    assert second.exit_code == 0, second.stdout + second.stderr
    assert values(m, f"{ETH0}/if:description") == ["uplink to core-2"]
    assert values(m, f"{ETH0}/ip:ipv4/ip:mtu") == ["1500"]  # merge kept the rest
    assert values(m, f"{LO0}/if:description") == []
    assert values(m, f"{LO0}/ip:ipv4/ip:address/ip:ip") == ["198.51.100.1"]

    # delete: every object's config leaves the device
    gone = nwi("delete", "-f", tmp_path / "v2")
    assert gone.exit_code == 0, gone.stdout + gone.stderr
    assert values(m, "if:interfaces/if:interface/if:name") == []
    assert values(m, "sys:system/sys:hostname") == []
    assert values(m, "sys:system/sys:ntp/sys:server/sys:name") == []


def test_rejected_object_is_failed_with_the_servers_message_and_running_unchanged(
    server: NetconfServer, raw: RawConnect, nwi: Nwi, tmp_path: Path
) -> None:
    m = raw(server)
    ok = nwi("apply", "-f", samples_for(server, tmp_path / "good"))
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    before = etree.tostring(m.get_config(source="running").data_ele, method="c14n")

    def break_eth0(doc: dict[str, Any]) -> None:
        if doc["metadata"]["name"] == "uplink-eth0":
            doc["spec"]["properties"]["enabled"] = "maybe"
            doc["spec"]["properties"]["description"] = "should not land"

    bad = nwi("apply", "-f", samples_for(server, tmp_path / "bad", break_eth0))
    assert bad.exit_code != 0
    phases = status(nwi)
    assert phases["uplink-eth0"]["phase"] == "Failed"
    assert "invalid-value" in phases["uplink-eth0"]["message"]
    assert "invalid value" in phases["uplink-eth0"]["message"]
    assert etree.tostring(m.get_config(source="running").data_ele, method="c14n") == before
    assert values(m, f"{ETH0}/if:description") == ["uplink to core"]
