"""Fixtures of the operator fault and security tests: a kube-apiserver of their own, deploy/ applied, a device.

The apiserver is not the one of ``tests/kubernetes``: one test here restarts
it, which must not disturb other tests. It lives as long as this directory's
tests (package scope). The device is nwi's mock gNMI server on 127.0.0.1 with
two targets whose datastores record every write.

A failed test's report carries the logs its operators wrote during it and the
cluster's state (``fault_kit.failure_report``): a fault that shows up once on
a loaded CI machine must be diagnosable from that one report.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # fault_kit
from fault_kit import Lab, RecordingStore, SetClock, failure_report, log_marks
from harness.kube import KubeApiServer, unavailable
from kube_kit import PASSWORD, USERNAME, deploy

from nwi.mockgnmi.harness import running
from nwi.mockgnmi.target import Credentials, Target

SWITCHES = ("sw-a", "sw-b")
LOG_MARKS = pytest.StashKey[dict[Path, int]]()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[LOG_MARKS] = log_marks()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport,
                                                                                           pytest.TestReport]:
    report = yield
    if report.failed and report.when in ("setup", "call"):
        kube = getattr(item, "funcargs", {}).get("kube")
        report.sections += failure_report(kube if isinstance(kube, KubeApiServer) else None,
                                          item.stash.get(LOG_MARKS, {}))
    return report


@pytest.fixture(scope="package")
def kube() -> Iterator[KubeApiServer]:
    reason = unavailable()
    if reason:
        pytest.fail(reason)  # tests/run.sh provides everything; a missing piece is a broken setup
    with KubeApiServer() as server:
        yield server


@pytest.fixture(scope="package")
def deployed(kube: KubeApiServer) -> Path:
    return deploy(kube)


@pytest.fixture(scope="package")
def lab() -> Iterator[Lab]:
    stores = {name: RecordingStore(name) for name in SWITCHES}
    clocks = {name: SetClock() for name in SWITCHES}
    creds = Credentials(USERNAME, PASSWORD)
    targets = [Target(n, stores[n], port=0, credentials=creds, faults=clocks[n]) for n in SWITCHES]
    with running(targets) as server:
        yield Lab(server, stores, clocks)
        for store in stores.values():
            store.release()  # never leave a server thread waiting on a held commit
