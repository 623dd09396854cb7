"""Fixtures for network-wide transactions across protocols: netconfd, the mock gNMI server, a virtual device.

Each test gets a group spanning three devices: ``pe-nc`` (NETCONF, the real
netconfd), ``pe-gnmi`` (gNMI, nwi's mock server in this process, its datastore
wrapped so a test can hold its reads) and ``pe-virt`` (a virtual device in the
state directory). ``nwi apply`` runs as a child process, as a user runs it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ -> `harness` package

sys.path.insert(0, str(Path(__file__).resolve().parent))  # mixed_kit
from harness.netconfd import NetconfServer, unavailable, wipe
from mixed_kit import PASSWORD, USER, HeldStore

from nwi.mockgnmi import MockGnmiServer, Target, running
from nwi.mockgnmi.target import Credentials


@pytest.fixture(scope="session")
def netconf_server() -> Iterator[NetconfServer]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    server = NetconfServer(target="candidate")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nc(netconf_server: NetconfServer) -> NetconfServer:
    wipe(netconf_server)
    return netconf_server


@pytest.fixture
def gnmi_store() -> HeldStore:
    return HeldStore("pe-gnmi")


@pytest.fixture
def gnmi(gnmi_store: HeldStore) -> Iterator[tuple[MockGnmiServer, Target]]:
    target = Target("pe-gnmi", gnmi_store, port=0, credentials=Credentials(USER, PASSWORD))
    with running([target]) as server:
        yield server, target
    gnmi_store.release.set()


