"""The gNMI 0.10 behaviour of the mock, seen through clients nwi did not write: Arista's gnmi-py and cisco-gnmi.

Each test runs ``foreign_probe.py`` in a child process under the pure-Python
protobuf runtime (both libraries ship old generated code) against a mock
server in this process, and judges the JSON the child reports. pygnmi's view
of the same behaviour is in test_set.py, test_get.py and test_subscribe.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nwi.mockgnmi import MockGnmiServer, Model, memory_target
from tests.gnmi.helpers import IF_KEYS, PASSWORD, USER

pytestmark = [pytest.mark.protocol, pytest.mark.parametrize("client", ["gnmi-py", "cisco-gnmi"])]

PROBE = Path(__file__).with_name("foreign_probe.py")
ETH0 = "/interfaces/interface[name=eth0]"
LOAD = {"do": "set", "update": [[f"{ETH0}/config", '{"mtu": 1500}'],
                                ["/interfaces/interface[name=eth1]/config", '{"mtu": 9000}']]}


@pytest.fixture
def server(servers: Callable[..., MockGnmiServer]) -> MockGnmiServer:
    return servers([memory_target(
        "r1", username=USER, password=PASSWORD, list_keys=IF_KEYS,
        models=[Model("openconfig-interfaces", "OpenConfig", "3.5.0")], modules={"system": "openconfig-system"})])


def probe(client: str, server: MockGnmiServer, *probes: dict[str, Any]) -> list[dict[str, Any]]:
    job = {"client": client, "address": f"127.0.0.1:{server.port_of('r1')}", "username": USER,
           "password": PASSWORD, "probes": list(probes)}
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    done = subprocess.run([sys.executable, str(PROBE)], input=json.dumps(job), capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(probes), done.stdout + done.stderr
    return results


def refused(result: dict[str, Any], code: str) -> str:
    assert "error" in result, result
    assert result["error"]["code"] == code, result
    details: str = result["error"]["details"]
    return details


def test_capabilities_announce_gnmi_0_10_and_the_models(client: str, server: MockGnmiServer) -> None:
    [caps] = probe(client, server, {"do": "capabilities"})
    assert caps["version"] == "0.10.0"
    assert caps["models"] == [["openconfig-interfaces", "OpenConfig", "3.5.0"], ["openconfig-system", "", ""]]
    assert set(caps["encodings"]) == {"JSON", "JSON_IETF", "PROTO"}


def test_invalid_values_abort_the_whole_set(client: str, server: MockGnmiServer) -> None:
    good = ["/system/config", '{"hostname": "r1"}']
    results = probe(
        client, server, LOAD,
        *({"do": "set", "update": [good, [f"{ETH0}/config", text]]} for text in ('{not json', '{"mtu": ', "[1, 2",
                                                                                 "enable")),
        {"do": "set", "update": [good], "replace": [[ETH0, "{}"]]},
        {"do": "set", "update": [good], "replace": [[f"{ETH0}/config/mtu", "null"]]},
        {"do": "get", "paths": ["/"], "encoding": "JSON"},
    )
    assert results[0] == {"ok": True}
    for bad in results[1:5]:
        assert "not valid JSON" in refused(bad, "INVALID_ARGUMENT")
    assert "{}" in refused(results[5], "INVALID_ARGUMENT")
    assert "null" in refused(results[6], "INVALID_ARGUMENT")
    # none of the Sets applied its valid update either
    assert results[7]["notifications"] == [{"": {"interfaces": {"interface": [
        {"name": "eth0", "config": {"mtu": 1500}}, {"name": "eth1", "config": {"mtu": 9000}}]}}}]


def test_get_keyless_list_element_and_json_ietf_modules(client: str, server: MockGnmiServer) -> None:
    results = probe(
        client, server, LOAD, {"do": "set", "update": [["/system/config", '{"hostname": "r1"}']]},
        {"do": "get", "paths": ["/interfaces/interface/config/mtu"]},
        {"do": "get", "paths": ["/"]},
        {"do": "get", "paths": ["openconfig-interfaces:/interfaces/interface[name=eth1]/config"]},
    )
    assert results[2]["notifications"] == [{"interfaces/interface[name=eth0]/config/mtu": 1500,
                                             "interfaces/interface[name=eth1]/config/mtu": 9000}]
    # RFC 7951 section 4: system's module is known from the devices hint; interfaces' is not
    assert results[3]["notifications"] == [{"": {
        "interfaces": {"interface": [{"name": "eth0", "config": {"mtu": 1500}},
                                     {"name": "eth1", "config": {"mtu": 9000}}]},
        "openconfig-system:system": {"config": {"hostname": "r1"}}}}]
    # an origin naming an announced model is the module of the answer's members
    assert results[4]["notifications"] == [{"interfaces/interface[name=eth1]/config": {
        "openconfig-interfaces:mtu": 9000}}]


def test_subscribe_updates_only_and_modes(client: str, server: MockGnmiServer) -> None:
    results = probe(
        client, server, LOAD,
        {"do": "subscribe", "mode": "ONCE", "paths": ["/interfaces/interface/config/mtu"]},
        {"do": "subscribe", "mode": "ONCE", "paths": ["/interfaces"], "updates_only": True},
        {"do": "subscribe", "mode": "POLL", "paths": ["/interfaces"], "updates_only": True,
         "polls": [{"do": "set", "update": [["/interfaces/interface[name=eth1]/config/mtu", "1400"]]}, None]},
        {"do": "subscribe", "mode": 7, "paths": ["/interfaces"]},
    )
    empty = {"updates": {}, "deletes": []}
    assert results[1]["answers"] == [{"updates": {"interfaces/interface[name=eth0]/config/mtu": 1500,
                                                  "interfaces/interface[name=eth1]/config/mtu": 9000},
                                      "deletes": []}]
    assert results[2]["answers"] == [empty]  # ONCE + updates_only: sync_response alone
    assert results[3]["answers"] == [
        empty,  # POLL + updates_only: the initial answer is sync_response alone
        {"updates": {"interfaces/interface[name=eth1]/config/mtu": 1400}, "deletes": []},  # what changed
        empty,  # nothing changed since
    ]
    assert "not recognized" in refused(results[4], "INVALID_ARGUMENT")
