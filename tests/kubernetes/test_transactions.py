"""The operator and network-wide transactions, against the real kube-apiserver: a group whose last member
arrives later waits whole, then lands on all its devices; one device refusing leaves all unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.kube import KubeApiServer, wait_for
from kube_kit import PASSWORD, USERNAME, CountingStore, Operator, device_yaml, status_of, table

from nwi.mockgnmi.harness import running
from nwi.mockgnmi.server import MockGnmiServer
from nwi.mockgnmi.target import Credentials, Target
from nwi.path import parse_path

pytestmark = pytest.mark.kubernetes

NS = "txn-test"
PES = ("pe1", "pe2", "pe3")


@pytest.fixture(scope="module")
def stores() -> dict[str, CountingStore]:
    return {pe: CountingStore(pe) for pe in PES}


@pytest.fixture(scope="module")
def pes(stores: dict[str, CountingStore]) -> Iterator[MockGnmiServer]:
    targets = [Target(pe, stores[pe], port=0, credentials=Credentials(USERNAME, PASSWORD)) for pe in PES]
    with running(targets) as server:
        yield server


@pytest.fixture(scope="module")
def txn_operator(kube: KubeApiServer, deployed: Path, pes: MockGnmiServer,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    kube.kubectl("create", "namespace", NS, check=False)  # before the operator starts watching it
    op = Operator(deployed, tmp_path_factory.mktemp("operator-txn"), ["--standalone", "--namespace", NS])
    op.start()
    kube.kubectl("apply", "-f", "-", input="".join(device_yaml(NS, pe, pes.port_of(pe)) + "\n---\n" for pe in PES))
    yield op
    op.stop()


def member(name: str, pe: str, txn: str, size: int, vrf: str) -> str:
    return f"""
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: OpenConfig
metadata:
  name: {name}
  namespace: {NS}
  annotations:
    nwi.enc.nokia.com/transaction: {txn}
    nwi.enc.nokia.com/transaction-size: "{size}"
spec:
  switchID: {pe}
  path: /network-instances/network-instance[name={vrf}]
  properties: {json.dumps({"name": vrf, "type": "L3VRF"})}
---"""


def vrf(stores: dict[str, CountingStore], pe: str, name: str) -> Any:
    return stores[pe].inner.snapshot().get(parse_path(f"/network-instances/network-instance[name={name}]"))


def events(kube: KubeApiServer, name: str) -> list[dict[str, Any]]:
    doc = json.loads(kube.kubectl("get", "events", "-n", NS, "-o", "json",
                                  "--field-selector", f"involvedObject.name={name}").stdout)
    return list(doc["items"])


def test_a_group_whose_last_member_arrives_later_waits_whole_then_lands_on_all(
        kube: KubeApiServer, txn_operator: Operator, stores: dict[str, CountingStore]) -> None:
    kube.kubectl("apply", "-f", "-", input=member("vpn-pe1", "pe1", "vpn-a", 3, "vpn-a")
                 + member("vpn-pe2", "pe2", "vpn-a", 3, "vpn-a"))

    def held() -> dict[str, Any] | None:
        st = status_of(kube, "openconfig", NS, "vpn-pe2")
        return st if st.get("reason") == "TransactionIncomplete" else None

    try:
        st = wait_for(held, 60, "vpn-pe2 held: its transaction is incomplete")
    except TimeoutError as exc:
        raise AssertionError(f"{status_of(kube, 'openconfig', NS, 'vpn-pe2')}\n{txn_operator.logs()[-3000:]}") from exc
    assert st["phase"] == "Waiting" and "2 of its 3 members exist" in st["message"]
    assert vrf(stores, "pe1", "vpn-a") is None and vrf(stores, "pe2", "vpn-a") is None  # nothing sent meanwhile
    assert stores["pe1"].writes == 0 and stores["pe2"].writes == 0

    kube.kubectl("apply", "-f", "-", input=member("vpn-pe3", "pe3", "vpn-a", 3, "vpn-a"))
    for name in ("vpn-pe1", "vpn-pe2", "vpn-pe3"):
        wait_for(lambda n=name: status_of(kube, "openconfig", NS, n).get("phase") == "Ready", 60,  # type: ignore[misc]
                 f"{name} Ready")
    assert all(vrf(stores, pe, "vpn-a") is not None for pe in PES)
    st = status_of(kube, "openconfig", NS, "vpn-pe1")
    assert st["transaction"]["name"] == "txn-test/vpn-a"
    assert st["transaction"]["devices"] == {f"{NS}/{pe}": "Confirmed" for pe in PES}
    ids = {status_of(kube, "openconfig", NS, f"vpn-{pe}")["transaction"]["id"] for pe in PES}
    assert len(ids) == 1
    wide = kube.kubectl("get", "openconfigs", "-n", NS, "-o", "wide").stdout
    assert "TRANSACTION" in wide and ids.pop() in wide
    reasons = {e["reason"] for e in events(kube, "vpn-pe1")}
    assert "Transaction" in reasons


def test_one_device_refusing_leaves_every_device_unchanged(
        kube: KubeApiServer, txn_operator: Operator, stores: dict[str, CountingStore], pes: MockGnmiServer) -> None:
    pes.target("pe3").faults.fail_next_sets(1, "INVALID_ARGUMENT")
    kube.kubectl("apply", "-f", "-", input="".join(member(f"b-{pe}", pe, "vpn-b", 3, "vpn-b") for pe in PES))
    for pe in PES:
        wait_for(lambda p=pe: status_of(kube, "openconfig", NS, f"b-{p}").get("phase") == "Failed",  # type: ignore[misc]
                 60, f"b-{pe} Failed")
    assert all(vrf(stores, pe, "vpn-b") is None for pe in PES)
    rows = table(kube, "openconfigs", NS)
    assert rows["b-pe1"]["PHASE"] == "Failed"
    st = status_of(kube, "openconfig", NS, "b-pe1")
    assert st["reason"] == "TransactionAborted" and st["transaction"]["devices"][f"{NS}/pe3"] == "Refused"
    warnings = [e for e in events(kube, "b-pe1") if e["reason"] == "Transaction"]
    assert warnings and "Reverted" in warnings[0]["message"]
