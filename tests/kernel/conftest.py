"""Fixtures for tests against real netlink: namespaces the test creates and always removes.

Every namespace a test uses is named with a per-run prefix (``NWI_NETNS_PREFIX``),
so the session-end sweep can remove leftovers of a crashed test without ever
touching a namespace it did not create. Checks read the kernel with iproute2
(``ip -j``), not with the code under test.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator

import pytest

from nwi.drivers.linux import netns as ns
from nwi.drivers.linux.datastore import LinuxDatastore

#: one prefix per test run (and per guest kernel), short enough for 15-char link names elsewhere
RUN_PREFIX = f"nwit{os.getpid() % 100000}{secrets.token_hex(2)}-"


def _can_make_netns() -> str:
    """Empty when this machine can create network namespaces, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = RUN_PREFIX + "probe"
    try:
        ns.ensure(probe)
    except Exception as exc:
        return f"cannot create a network namespace here: {exc}"
    finally:
        with contextlib.suppress(Exception):
            ns.remove(probe)
    return ""


_WHY_NOT = _can_make_netns()


@pytest.fixture(scope="session", autouse=True)
def _sweep() -> Iterator[None]:
    yield
    for name in os.listdir(ns.NETNS_DIR) if os.path.isdir(ns.NETNS_DIR) else []:
        if name.startswith(RUN_PREFIX):
            ns.remove(name)


@pytest.fixture
def netns_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace name owned by this test; removed afterwards whatever happened."""
    if _WHY_NOT:
        pytest.skip(_WHY_NOT)
    name = f"{RUN_PREFIX}{secrets.token_hex(3)}"
    yield name
    ns.remove(name)


@pytest.fixture
def store(netns_name: str) -> LinuxDatastore:
    return LinuxDatastore(netns_name, device="test-device")


@pytest.fixture
def host_ns() -> Iterator[str]:
    """A namespace standing in for the host, so ``type: host`` moves never touch the real host."""
    if _WHY_NOT:
        pytest.skip(_WHY_NOT)
    name = f"{RUN_PREFIX}h{secrets.token_hex(3)}"
    ns.ensure(name)
    yield name
    ns.remove(name)


@pytest.fixture
def lab_netns(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Maps the sample Device ``linux-lab`` to a namespace this test owns (via NWI_NETNS_PREFIX)."""
    if _WHY_NOT:
        pytest.skip(_WHY_NOT)
    prefix = f"{RUN_PREFIX}{secrets.token_hex(2)}-"
    monkeypatch.setenv("NWI_NETNS_PREFIX", prefix)
    name = ns.netns_for_device("linux-lab")
    assert name == prefix + "linux-lab"
    yield name
    ns.remove(name)
