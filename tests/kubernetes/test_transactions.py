"""The operator and network-wide transactions, against the real kube-apiserver: a group whose last member
arrives later waits whole, then lands on all its devices; one device refusing leaves all unchanged; an object
that leaves its group loses status.transaction; the operator SIGKILLed between prepare and confirm (devices
revert by themselves; the restarted operator reports the recovery and re-applies, each path written once)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness.kube import KubeApiServer, wait_for
from kube_kit import PASSWORD, USERNAME, CountingStore, Operator, device_yaml, status_of, table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))  # fault_kit
from fault_kit import RecordingStore

from nwi.mockgnmi.confirmed import COMMITS
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


def test_an_object_that_leaves_its_group_loses_its_transaction_status(
        kube: KubeApiServer, txn_operator: Operator) -> None:
    kube.kubectl("apply", "-f", "-", input=member("solo", "pe1", "solo", 1, "solo"))
    wait_for(lambda: status_of(kube, "openconfig", NS, "solo").get("transaction", {}).get("id"), 60,
             "solo applied in its transaction")
    kube.kubectl("annotate", "openconfig", "solo", "-n", NS, "nwi.enc.nokia.com/transaction-",
                 "nwi.enc.nokia.com/transaction-size-")
    try:
        wait_for(lambda: "transaction" not in status_of(kube, "openconfig", NS, "solo"), 60,
                 "status.transaction gone once solo left its group")
    except TimeoutError as exc:
        raise AssertionError(f"{status_of(kube, 'openconfig', NS, 'solo')}\n{txn_operator.logs()[-3000:]}") from exc
    assert status_of(kube, "openconfig", NS, "solo")["phase"] == "Ready"


KILL_NS = "txn-kill"
KILLED = ("ka", "kb")


@pytest.fixture(scope="module")
def recording() -> Iterator[tuple[MockGnmiServer, dict[str, RecordingStore]]]:
    stores = {pe: RecordingStore(pe) for pe in KILLED}
    targets = [Target(pe, stores[pe], port=0, credentials=Credentials(USERNAME, PASSWORD)) for pe in KILLED]
    with running(targets) as server:
        yield server, stores
        for store in stores.values():
            store.release()


def test_operator_sigkilled_between_prepare_and_confirm_devices_revert_and_the_restart_reports_and_reapplies(
        kube: KubeApiServer, deployed: Path, recording: tuple[MockGnmiServer, dict[str, RecordingStore]],
        tmp_path: Path) -> None:
    server, stores = recording
    kube.kubectl("create", "namespace", KILL_NS, check=False)
    op = Operator(deployed, tmp_path / "op", ["--standalone", "--namespace", KILL_NS, "--confirm-timeout", "5"])
    (tmp_path / "op").mkdir()
    op.start()
    # an operation timeout well above the time the test holds a Set: the operator must be killed, not give up
    kube.kubectl("apply", "-f", "-", input="---".join(
        device_yaml(KILL_NS, pe, server.port_of(pe)).replace("operation: 5", "operation: 60") for pe in KILLED))
    path = "/network-instances/network-instance[name=k-vpn]"
    first = member("k-a", "ka", "k-vpn", 2, "k-vpn").replace(f"namespace: {NS}", f"namespace: {KILL_NS}")
    second = member("k-b", "kb", "k-vpn", 2, "k-vpn").replace(f"namespace: {NS}", f"namespace: {KILL_NS}")
    second = second.replace("    nwi.enc.nokia.com/transaction-size:", "    nwi.enc.nokia.com/depends_on: "
                            "'[{\"kind\": \"OpenConfig\", \"name\": \"k-a\"}]'\n"
                            "    nwi.enc.nokia.com/transaction-size:")
    a, b = stores["ka"], stores["kb"]
    try:
        b.hold()  # wave 2 (kb, after k-a on ka) stays on the wire: wave 1 is prepared on ka, nothing confirmed
        kube.kubectl("apply", "-f", "-", input=first + second)
        wait_for(b.holding.is_set, 60, "k-b's prepare in flight on kb")
        assert COMMITS.ongoing(server.target("ka")) is not None and a.config(path) is not None
        assert op.proc is not None
        op.proc.kill()  # SIGKILL: nothing cleans up, nobody will confirm or cancel
        op.proc.wait(10)
        b.release()  # kb completes the prepare its client is no longer waiting for, with its rollback timer
        # nobody confirms: each device reverts by itself within the 5 s timeout
        wait_for(lambda: all(COMMITS.ongoing(server.target(pe)) is None for pe in KILLED)
                 and a.config(path) is None and b.config(path) is None, 30, "ka and kb reverted by their timers")
        assert b.written(path) == 1  # the held prepare did land before it reverted
        before = {pe: stores[pe].written(path) for pe in KILLED}
        op.start()  # the same state dir: the journal record of the interrupted transaction is there
        for name in ("k-a", "k-b"):
            wait_for(lambda n=name: status_of(kube, "openconfig", KILL_NS, n).get("phase") == "Ready",  # type: ignore[misc]
                     90, f"{name} Ready after the restart")
    except TimeoutError as exc:
        raise AssertionError(op.logs()[-6000:]) from exc
    finally:
        b.release()
        op.stop()
    assert all(stores[pe].written(path) - before[pe] == 1 for pe in KILLED), {
        pe: stores[pe].written(path) for pe in KILLED}
    assert a.config(path) == b.config(path) == {"name": "k-vpn", "type": "L3VRF"}
    st = status_of(kube, "openconfig", KILL_NS, "k-a")
    note = st["transaction"]["note"]
    assert "was interrupted before it was decided" in note and f"{KILL_NS}/ka Reverted" in note, note
    assert st["transaction"]["devices"] == {f"{KILL_NS}/{pe}": "Confirmed" for pe in KILLED}
    messages = [e["message"] for e in json.loads(kube.kubectl(
        "get", "events", "-n", KILL_NS, "-o", "json", "--field-selector", "involvedObject.name=k-a").stdout)["items"]
        if e["reason"] == "Transaction"]
    assert any("was interrupted before it was decided" in m for m in messages), messages
    assert PASSWORD not in op.logs()
