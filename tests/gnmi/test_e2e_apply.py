"""End to end: `nwi apply -f samples/gnmi/resources` against two mock gNMI targets, read back through pygnmi."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pygnmi.client import gNMIclient

from nwi.mockgnmi import MockGnmiServer
from nwi.mockgnmi import devices as devices_file
from tests.conftest import SAMPLES, NwiRunner
from tests.gnmi.helpers import get_val

pytestmark = pytest.mark.protocol

SAMPLE = SAMPLES / "gnmi"
LEAVES = ("leaf1", "leaf2")


@pytest.fixture
def fabric(servers: Callable[..., MockGnmiServer], tmp_path: Path) -> tuple[MockGnmiServer, Path]:
    """The sample's mock targets on free ports, and a copy of its resources whose Devices point at them."""
    doc = yaml.safe_load((SAMPLE / "mock-devices.yaml").read_text())
    for t in doc["targets"]:
        t["port"] = 0
    srv = servers(devices_file.parse(doc))
    resources = tmp_path / "resources"
    shutil.copytree(SAMPLE / "resources", resources)
    text = (resources / "devices.yaml").read_text()
    for leaf, sample_port in zip(LEAVES, (57401, 57402), strict=True):
        text = text.replace(f"port: {sample_port}", f"port: {srv.port_of(leaf)}")
    (resources / "devices.yaml").write_text(text.replace("connect: 5", "connect: 1"))  # fail fast when down
    return srv, resources


def desired(resources: Path) -> dict[tuple[str, str], Any]:
    """(switch, path) -> properties, as written in the sample."""
    out = {}
    for f in sorted(resources.glob("leaf*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            out[(doc["spec"]["switchID"], doc["spec"]["path"])] = doc["spec"]["properties"]
    return out


def credentials(resources: Path) -> tuple[str, str]:
    for doc in yaml.safe_load_all((resources / "devices.yaml").read_text()):
        if doc["kind"] == "Secret":
            return doc["stringData"]["username"], doc["stringData"]["password"]
    raise AssertionError("the sample has no Secret")


def test_apply_then_read_back_through_pygnmi(fabric: tuple[MockGnmiServer, Path], nwi: NwiRunner,
                                             clients: Callable[..., gNMIclient]) -> None:
    srv, resources = fabric
    result = nwi("apply", "-f", resources)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "6 Ready" in result.stdout
    user, password = credentials(resources)
    want = desired(resources)
    assert len(want) == 6
    for leaf in LEAVES:
        c = clients(srv.port_of(leaf), username=user, password=password)
        for (switch, path), props in want.items():
            if switch != leaf:
                continue
            # JSON: the sample's devices file names modules, so JSON_IETF answers qualify member names
            got = get_val(c, path, datatype="config", encoding="json")
            for key, value in props.items():
                assert got[key] == value, (leaf, path, key)
    # the dependency was honoured: the network-instance names the interface's subinterface
    c = clients(srv.port_of("leaf1"), username=user, password=password)
    assert get_val(c, "/network-instance[name=default]/interface", encoding="json") == [{"name": "ethernet-1/1.0"}]
    assert get_val(c, "/network-instance[name=default]/interface") == [
        {"srl_nokia-network-instance:name": "ethernet-1/1.0"}]

    again = nwi("apply", "-f", resources)
    assert again.exit_code == 0 and "0 transaction(s) sent" in again.stdout


def test_a_set_refused_by_one_device_fails_only_its_objects(
    fabric: tuple[MockGnmiServer, Path], nwi: NwiRunner, clients: Callable[..., gNMIclient]
) -> None:
    srv, resources = fabric
    srv.target("leaf2").faults.fail_next_sets(100, "FAILED_PRECONDITION")
    result = nwi("apply", "-f", resources, "-o", "json")
    assert result.exit_code != 0
    phases = {i["metadata"]["name"]: i["status"]["phase"] for i in json.loads(result.stdout)["items"]}
    assert all(phases[n] == "Ready" for n in phases if n.startswith("leaf1"))
    assert all(phases[n] != "Ready" for n in phases if n.startswith("leaf2"))
    user, password = credentials(resources)
    c = clients(srv.port_of("leaf2"), username=user, password=password)
    assert get_val(c, "/", datatype="config") == {}  # nothing half-applied on leaf2


def test_unreachable_device_is_reported(fabric: tuple[MockGnmiServer, Path], nwi: NwiRunner) -> None:
    srv, resources = fabric
    srv.stop_target("leaf2")
    result = nwi("apply", "-f", resources, "-o", "json")
    assert result.exit_code != 0
    items = {i["metadata"]["name"]: i["status"] for i in json.loads(result.stdout)["items"]}
    assert items["leaf1-system"]["phase"] == "Ready"
    assert items["leaf2-system"]["phase"] != "Ready"
    assert "Unreachable" in json.dumps(items["leaf2-system"])
