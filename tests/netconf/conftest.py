"""Fixtures: a real netconfd per test session, raw ncclient sessions to inspect it, and nwi drivers on it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ncclient import manager

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ -> `harness` package

from harness.netconfd import NetconfServer, RawConnect, unavailable, wipe

from nwi.drivers.netconf import NetconfDriver


def _start(target: str) -> Iterator[NetconfServer]:
    reason = unavailable()
    if reason:
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    server = NetconfServer(target=target)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def netconf_server() -> Iterator[NetconfServer]:
    """netconfd with :candidate and :confirmed-commit (its default), on a free port."""
    yield from _start("candidate")


@pytest.fixture(scope="session")
def running_only_server() -> Iterator[NetconfServer]:
    """netconfd --target=running: :writable-running, no :candidate."""
    yield from _start("running")


@pytest.fixture
def raw() -> Iterator[RawConnect]:
    """Open plain ncclient sessions (not nwi's) to look at a server; all closed after the test."""
    opened: list[manager.Manager] = []

    def connect(server: NetconfServer) -> manager.Manager:
        opened.append(server.raw_session())
        return opened[-1]

    yield connect
    for m in opened:
        if m.connected:
            m.close_session()


@pytest.fixture
def server(netconf_server: NetconfServer) -> NetconfServer:
    """The session's candidate server, with an empty interfaces/system config."""
    wipe(netconf_server)
    return netconf_server


@pytest.fixture
def running_server(running_only_server: NetconfServer) -> NetconfServer:
    wipe(running_only_server)
    return running_only_server


@pytest.fixture
def driver(server: NetconfServer) -> Iterator[NetconfDriver]:
    d = NetconfDriver("r1", server.connection_params())
    yield d
    d.close()


@pytest.fixture
def running_driver(running_server: NetconfServer) -> Iterator[NetconfDriver]:
    d = NetconfDriver("r2", running_server.connection_params())
    yield d
    d.close()
