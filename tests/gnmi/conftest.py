"""Fixtures for the gNMI tests: the mock server (in-process, on free loopback ports) and pygnmi clients.

pygnmi is the client nobody here wrote: the server is judged by what it
answers to it, not by calling server internals.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pygnmi.client import gNMIclient

from nwi.mockgnmi import MockGnmiServer, Target, memory_target, running
from tests.gnmi.helpers import IF_KEYS, PASSWORD, USER


@pytest.fixture
def servers() -> Iterator[Callable[..., MockGnmiServer]]:
    """``servers(targets, **kw)`` starts a mock server; all are stopped at the end of the test."""
    with contextlib.ExitStack() as stack:

        def start(targets: list[Target], **kwargs: Any) -> MockGnmiServer:
            return stack.enter_context(running(targets, **kwargs))

        yield start


@pytest.fixture
def server(servers: Callable[..., MockGnmiServer]) -> MockGnmiServer:
    """One server, one target ``r1`` on its own port, with credentials and list-key hints."""
    return servers([memory_target("r1", username=USER, password=PASSWORD, list_keys=IF_KEYS,
                                  state={"system": {"state": {"uptime": 42, "hostname": "r1"}}})])


@pytest.fixture
def clients() -> Iterator[Callable[..., gNMIclient]]:
    """``clients(port, **kw)``: a connected pygnmi client (insecure, admin credentials by default)."""
    opened: list[gNMIclient] = []

    def connect(port: int, **kwargs: Any) -> gNMIclient:
        kwargs.setdefault("username", USER)
        kwargs.setdefault("password", PASSWORD)
        kwargs.setdefault("insecure", True)
        kwargs.setdefault("gnmi_timeout", 5)
        c = gNMIclient(target=("127.0.0.1", port), **kwargs)
        c.connect()
        opened.append(c)
        return c

    yield connect
    for c in opened:
        c.close()


@pytest.fixture
def client(server: MockGnmiServer, clients: Callable[..., gNMIclient]) -> gNMIclient:
    return clients(server.port_of("r1"))
