"""Fixtures: a real kube-apiserver + etcd, deploy/ applied to it, the operator as a process, a mock gNMI device.

The operator runs as ``nwi operator`` with a kubeconfig holding a token of the
ServiceAccount that ``deploy/`` creates, so every test also proves that the
RBAC in ``deploy/rbac.yaml`` is enough. The device is nwi's mock gNMI server on
127.0.0.1, serving a target named after the sample's switchID; nothing ever
connects to 172.20.20.200 itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # kube_kit
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ -> `harness` package

from harness.kube import KubeApiServer, unavailable
from kube_kit import FLAKY, PASSWORD, SWITCH, USERNAME, CountingStore, Device, Operator, deploy

from nwi.mockgnmi.harness import running
from nwi.mockgnmi.target import Credentials, Target


@pytest.fixture(scope="session")
def kube() -> Iterator[KubeApiServer]:
    reason = unavailable()
    if reason:
        pytest.fail(reason)  # tests/run.sh provides everything; a missing piece is a broken setup
    with KubeApiServer() as server:
        yield server


@pytest.fixture(scope="session")
def deployed(kube: KubeApiServer) -> Path:
    """``kubectl apply -k deploy/`` as a user would, and the operator ServiceAccount's kubeconfig."""
    return deploy(kube)


@pytest.fixture(scope="session")
def device() -> Iterator[Device]:
    stores = {name: CountingStore(name) for name in (SWITCH, FLAKY)}
    creds = Credentials(USERNAME, PASSWORD)
    targets = [Target(name, store, port=0, credentials=creds) for name, store in stores.items()]
    with running(targets) as server:
        yield Device(server, stores)


@pytest.fixture(scope="module")
def operator(deployed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    op = Operator(deployed, tmp_path_factory.mktemp("operator"), ["--peering", "nwi-operator"])
    op.start()
    yield op
    op.stop()
    # whatever the tests did, no secret may reach the operator's log
    assert PASSWORD not in op.logs()


