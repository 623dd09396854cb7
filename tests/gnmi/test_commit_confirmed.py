"""The gNMI Commit Confirmed extension: the mock server through raw gRPC stubs, then nwi's driver on it.

The rules are the ones openconfig/reference rpc/gnmi/gnmi-commit-confirmed.md (0.1.0) states: one
commit on-going per target; FAILED_PRECONDITION for a commit while one is on-going, for confirm /
cancel / set-rollback-duration without one, and for a plain Set while one is on-going;
INVALID_ARGUMENT for a wrong or missing id and for a zero rollback duration; the revert when the
rollback duration runs out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from nwi.drivers import gnmi_commit
from nwi.drivers.base import Change, CommitOutcome, ConnectionParams, Op, Transaction, TransactionRejected
from nwi.drivers.gnmi import GnmiDriver
from nwi.mockgnmi import MockGnmiServer, Target, memory_target
from nwi.mockgnmi.confirmed import COMMITS
from nwi.path import parse_path
from tests.gnmi.helpers import IF_KEYS, PASSWORD, USER

pytestmark = pytest.mark.protocol
META = [("username", USER), ("password", PASSWORD)]


@pytest.fixture
def target() -> Target:
    return memory_target("r1", username=USER, password=PASSWORD, list_keys=IF_KEYS)


@pytest.fixture
def stub(servers: Callable[..., MockGnmiServer], target: Target) -> Iterator[Any]:
    srv = servers([target])
    channel = grpc.insecure_channel(f"127.0.0.1:{srv.port_of('r1')}")
    yield gnmi_pb2_grpc.gNMIStub(channel)
    channel.close()


def _set(stub: Any, commit_id: str | None = None, action: str = "", seconds: float | None = None,
         hostname: str | None = None) -> Any:
    request = gnmi_pb2.SetRequest()
    if hostname is not None:
        request.update.append(gnmi_pb2.Update(path=gnmi_pb2.Path(elem=[gnmi_pb2.PathElem(name="system")]),
                                              val=gnmi_pb2.TypedValue(json_val=json.dumps(
                                                  {"hostname": hostname}).encode())))
    if commit_id is not None:
        gnmi_commit.to_v080(gnmi_commit.extension(commit_id, action, seconds), request.extension.add())
    return stub.Set(request, metadata=META, timeout=10)


def _code(call: Callable[[], Any]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as exc:
        call()
    return exc.value.code()  # type: ignore[no-any-return]


def _hostname(target: Target) -> Any:
    return target.config().to_json().get("system", {}).get("hostname")


def test_commit_then_confirm_keeps_the_change(stub: Any, target: Target) -> None:
    _set(stub, hostname="before")
    _set(stub, "c1", "commit", 60, hostname="staged")
    assert _hostname(target) == "staged"
    assert COMMITS.ongoing(target) == "c1"
    _set(stub, "c1", "confirm")
    assert _hostname(target) == "staged" and COMMITS.ongoing(target) is None
    _set(stub, hostname="plain Sets work again")


def test_cancel_reverts_to_the_state_before_the_commit(stub: Any, target: Target) -> None:
    _set(stub, hostname="before")
    _set(stub, "c2", "commit", 60, hostname="staged")
    _set(stub, "c2", "cancel")
    assert _hostname(target) == "before"


def test_the_rollback_duration_running_out_reverts_it(stub: Any, target: Target) -> None:
    _set(stub, "c3", "commit", 0.5, hostname="doomed")
    assert _hostname(target) == "doomed"
    deadline = time.monotonic() + 10
    while COMMITS.ongoing(target) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert COMMITS.ongoing(target) is None and _hostname(target) is None
    assert COMMITS.outcomes[("r1", "c3")] == "Reverted"
    assert _code(lambda: _set(stub, "c3", "confirm")) == grpc.StatusCode.FAILED_PRECONDITION


def test_set_rollback_duration_restarts_the_timer(stub: Any, target: Target) -> None:
    _set(stub, "c4", "commit", 600, hostname="staged")
    _set(stub, "c4", "set_rollback_duration", 0.3)
    deadline = time.monotonic() + 10
    while COMMITS.ongoing(target) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _hostname(target) is None


def test_the_errors_the_document_specifies(stub: Any, target: Target) -> None:
    fp, ia = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT
    for action in ("confirm", "cancel"):  # nothing on-going
        assert _code(lambda a=action: _set(stub, "x", a)) == fp  # type: ignore[misc]
    assert _code(lambda: _set(stub, "x", "set_rollback_duration", 5)) == fp
    assert _code(lambda: _set(stub, "", "commit", 5, hostname="h")) == ia  # no id
    _set(stub, "c5", "commit", 60, hostname="staged")
    assert _code(lambda: _set(stub, "c6", "commit", 60, hostname="other")) == fp  # one at a time
    assert _code(lambda: _set(stub, hostname="plain")) == fp  # no Set without the extension meanwhile
    assert _code(lambda: _set(stub, "wrong", "confirm")) == ia
    assert _code(lambda: _set(stub, "wrong", "cancel")) == ia
    assert _code(lambda: _set(stub, "c5", "set_rollback_duration", 0)) == ia
    assert _code(lambda: _set(stub, "c5", "set_rollback_duration")) == ia  # no duration given
    assert _hostname(target) == "staged"  # none of those changed anything
    _set(stub, "c5", "cancel")


def test_a_refused_commit_starts_no_timer(stub: Any, target: Target) -> None:
    request = gnmi_pb2.SetRequest(update=[gnmi_pb2.Update(
        path=gnmi_pb2.Path(elem=[gnmi_pb2.PathElem(name="a", key={"k": "1"})]),
        val=gnmi_pb2.TypedValue(json_val=b'"not an object"'))])
    gnmi_commit.to_v080(gnmi_commit.extension("c7", "commit", 60), request.extension.add())
    with pytest.raises(grpc.RpcError):
        stub.Set(request, metadata=META, timeout=10)
    assert COMMITS.ongoing(target) is None
    _set(stub, hostname="plain")


# ---- the driver ---------------------------------------------------------------------------------------
@pytest.fixture
def driver(servers: Callable[..., MockGnmiServer], target: Target) -> Iterator[GnmiDriver]:
    srv = servers([target])
    d = GnmiDriver("r1", ConnectionParams("127.0.0.1", srv.port_of("r1"), USER, PASSWORD, insecure=True))
    d.connect()
    yield d
    d.close()


def _txn(hostname: str, path: str = "/system") -> Transaction:
    return Transaction("r1", [Change(Op.UPDATE, parse_path(path), {"hostname": hostname}, "o")])


def test_the_driver_prepares_confirms_and_cancels(driver: GnmiDriver, target: Target) -> None:
    assert driver.confirmed_commit_problem() is None
    driver.prepare(_txn("one"), "nwi-a", 60)
    # a second wave: the extension allows no amending, so the driver re-commits the union
    driver.prepare(_txn("two", "/other"), "nwi-a", 60)
    assert _hostname(target) == "one" and target.config().to_json()["other"] == {"hostname": "two"}
    driver.confirm("nwi-a")
    assert COMMITS.ongoing(target) is None
    driver.prepare(_txn("three"), "nwi-b", 60)
    driver.prepare(_txn("four", "/more"), "nwi-b", 60)
    driver.cancel("nwi-b")
    assert _hostname(target) == "one" and "more" not in target.config().to_json()


def test_the_driver_extends_the_rollback_timer_of_a_commit_still_on_going(driver: GnmiDriver,
                                                                          target: Target) -> None:
    driver.prepare(_txn("kept"), "nwi-e", 5)
    before = COMMITS.remaining(target)
    assert before is not None and before <= 5
    driver.extend("nwi-e", 600)  # set_rollback_duration: the timer starts again with the new duration
    after = COMMITS.remaining(target)
    assert after is not None and after > 500 and _hostname(target) == "kept"
    driver.cancel("nwi-e")
    with pytest.raises(TransactionRejected, match="set_rollback_duration nwi-e"):
        driver.extend("nwi-e", 600)  # nothing on-going any more: gone, which the coordinator must hear


def test_the_driver_resolves_a_commit_left_by_a_dead_run(driver: GnmiDriver, target: Target) -> None:
    driver.prepare(_txn("left"), "nwi-c", 60)
    assert driver.resolve_commit("nwi-c", confirm=False) == CommitOutcome.REVERTED
    assert _hostname(target) is None
    assert driver.resolve_commit("nwi-c", confirm=True) == CommitOutcome.UNKNOWN  # nothing pending now


def test_a_device_that_ignores_the_extension_is_named_as_such(driver: GnmiDriver, target: Target) -> None:
    COMMITS.disable(target)
    try:
        problem = GnmiDriver("r1", driver.params).confirmed_commit_problem()
    finally:
        COMMITS.disable(target, False)
    assert problem is not None and "ignores the Commit Confirmed extension" in problem


def test_a_refused_prepare_is_a_transaction_rejected(driver: GnmiDriver, target: Target) -> None:
    driver.prepare(_txn("first"), "nwi-d", 60)
    other = GnmiDriver("r1", driver.params)
    with pytest.raises(TransactionRejected, match="FAILED_PRECONDITION"):
        other.prepare(_txn("second"), "nwi-e", 60)
    other.close()
    driver.cancel("nwi-d")


def test_pygnmi_stubs_and_the_newer_messages_live_side_by_side() -> None:
    from pygnmi.spec.v080 import gnmi_ext_pb2

    assert "commit" not in gnmi_ext_pb2.Extension.DESCRIPTOR.fields_by_name
    assert "commit" in gnmi_commit.message("Extension").DESCRIPTOR.fields_by_name
    assert gnmi_commit.message("Commit").DESCRIPTOR.file.pool is not gnmi_ext_pb2.DESCRIPTOR.pool
