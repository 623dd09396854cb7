"""The operator under faults, on a real kube-apiserver with the mock gNMI device, driven with kubectl.

* SIGKILL while a Set is in flight (held on the device), then a restart: every
  intent ends on the device exactly once, nothing in sync is written again,
  and a kill in the middle of a deletion orphans no finalizer.
* The kube-apiserver restarts under a running operator: the status it could
  not write during the outage is written afterwards, and objects created or
  edited after the restart are applied (the watches came back).
* A device that keeps failing is retried with exponential backoff and jitter,
  measured at the device, and the object turns Ready without a manual step.
* kopf stopping by itself (a watch that a restarting apiserver answers with
  404 before its CRDs are back) is started again in the same process, even
  when its own shutdown hangs; a signal ends it.
"""

from __future__ import annotations

import itertools
import json
import statistics
import threading
from pathlib import Path
from typing import Any

import pytest
from fault_kit import Lab, operator, restart_args
from harness.kube import KubeApiServer, wait_for
from kube_kit import PASSWORD, Operator, config_yaml, device_yaml, status_of

from nwi.drivers.base import Op
from nwi.operator import runner
from nwi.operator.controller import backoff, jittered

pytestmark = pytest.mark.kubernetes

# (name, switch, path, properties, depends_on)
INTENTS: list[tuple[str, str, str, dict[str, Any], tuple[str, ...]]] = [
    ("base", "sw-a", "/system/config", {"hostname": "sw-a"}, ()),
    ("vlan-10", "sw-a", "/vlans/vlan[vlan-id=10]/config", {"vlan-id": 10, "name": "ten"}, ("base",)),
    ("vlan-20", "sw-a", "/vlans/vlan[vlan-id=20]/config", {"vlan-id": 20, "name": "twenty"}, ("base",)),
    ("eth1", "sw-b", "/interfaces/interface[name=eth1]/config", {"name": "eth1", "mtu": 9000}, ()),
    ("eth2", "sw-b", "/interfaces/interface[name=eth2]/config", {"name": "eth2", "mtu": 1500}, ()),
]


def _devices(kube: KubeApiServer, lab: Lab, ns: str, *names: str) -> None:
    kube.kubectl("create", "namespace", ns)
    kube.kubectl("apply", "-f", "-", input="---".join(device_yaml(ns, n, lab.port(n)) for n in names))


def _phases(kube: KubeApiServer, ns: str) -> dict[str, str]:
    items = kube.get_json("openconfigs", "-n", ns)["items"]
    return {i["metadata"]["name"]: (i.get("status") or {}).get("phase", "") for i in items}


def _all_ready(kube: KubeApiServer, ns: str, count: int) -> bool:
    phases = _phases(kube, ns)
    return len(phases) == count and set(phases.values()) == {"Ready"}


def _kill(op: Operator) -> None:
    """SIGKILL: no cleanup handler runs, nothing is flushed; finalizers and statuses stay as they were."""
    assert op.proc is not None and op.proc.poll() is None
    op.proc.kill()
    op.proc.wait(10)


def test_sigkill_mid_apply_and_mid_delete_applies_once_and_orphans_nothing(
    kube: KubeApiServer, deployed: Path, lab: Lab, tmp_path: Path
) -> None:
    ns = "kill-test"
    _devices(kube, lab, ns, "sw-a", "sw-b")
    a = lab.stores["sw-a"]
    op = operator(deployed, tmp_path / "op")
    op.start()
    try:
        # --- killed while base's Set is on the wire to sw-a (the device holds the commit) ---
        a.hold()
        kube.kubectl("apply", "-f", "-", input="".join(config_yaml(n, ns, s, p, v, d) for n, s, p, v, d in INTENTS))
        wait_for(a.holding.is_set, 30, "base's Set in flight on sw-a")
        # a Set that takes long shows as Applying (statuses of short ones go straight to the outcome)
        wait_for(lambda: _phases(kube, ns)["base"] == "Applying", 30, "base Applying while its Set is held")
        _kill(op)
        a.release()  # the device completes the Set although its client is gone, as real devices do
        wait_for(lambda: a.written("/system/config") == 1, 10, "the Set in flight committed on sw-a")

        restart_args(op)
        op.start()
        wait_for(lambda: _all_ready(kube, ns, len(INTENTS)), 60, "every intent Ready after the restart")
        for name, switch, path, props, _ in INTENTS:
            assert lab.stores[switch].written(path) == 1, f"{name} written {lab.stores[switch].written(path)} times"
            assert lab.stores[switch].config(path) == props
        # base was on the device before the restart: found in sync, not written again
        base = status_of(kube, "openconfig", ns, "base")
        assert base["reason"] == "InSync" and base["appliedHash"], base

        # --- killed while a removal Set is on the wire (base stays Blocked behind its vlans) ---
        a.hold()
        kube.kubectl("delete", "openconfigs", "--all", "-n", ns, "--wait=false")
        wait_for(a.holding.is_set, 30, "a removal Set in flight on sw-a")
        _kill(op)
        a.release()
        restart_args(op)
        op.start()
        wait_for(lambda: not _phases(kube, ns), 60, "every object gone: no finalizer left behind")
        for name, switch, path, _, _ in INTENTS:
            assert lab.stores[switch].config(path) is None, f"{name} still on {switch}"
            assert lab.stores[switch].written(path, Op.DELETE) == 1, f"{name} removed more than once"
    finally:
        a.release()
        op.stop()
    assert PASSWORD not in op.logs()
    print(f"sw-a commits: {a.commits}, sw-b commits: {lab.stores['sw-b'].commits}")


def test_apiserver_restart_operator_resumes_and_loses_nothing(
    kube: KubeApiServer, deployed: Path, lab: Lab, tmp_path: Path
) -> None:
    ns = "apiserver-restart"
    _devices(kube, lab, ns, "sw-a")
    a = lab.stores["sw-a"]
    path = "/interfaces/interface[name={}]/config"
    op = operator(deployed, tmp_path / "op")
    op.start()
    try:
        kube.kubectl("apply", "-f", "-", input=config_yaml("before", ns, "sw-a", path.format("before"), {"mtu": 1500}))
        wait_for(lambda: _all_ready(kube, ns, 1), 30, "'before' Ready")

        # a Set in flight when the apiserver goes away: its result can only be written after the outage
        a.hold()
        kube.kubectl("apply", "-f", "-", input=config_yaml("inflight", ns, "sw-a", path.format("inflight"),
                                                           {"mtu": 2000}))
        wait_for(a.holding.is_set, 30, "inflight's Set on the wire")
        kube.stop_apiserver()
        log_size = len(op.logs())
        a.release()
        wait_for(lambda: a.written(path.format("inflight")) == 1, 10, "inflight committed on the device")
        # the operator noticed: it failed to write the status (or lost its watches) while the API was down
        wait_for(lambda: "refused" in op.logs()[log_size:].lower(), 30, "the operator hitting the outage")
        assert op.proc is not None and op.proc.poll() is None, "the operator died with the apiserver"
        kube.start_apiserver()

        wait_for(lambda: _all_ready(kube, ns, 2), 60, "inflight Ready after the apiserver came back")
        assert a.written(path.format("inflight")) == 1, "inflight was written again"
        # the watches are back: a new object and an edit made after the restart are both applied
        kube.kubectl("apply", "-f", "-", input=config_yaml("after", ns, "sw-a", path.format("after"), {"mtu": 3000})
                     + config_yaml("before", ns, "sw-a", path.format("before"), {"mtu": 1600}))
        wait_for(lambda: a.config(path.format("after")) == {"mtu": 3000}, 30, "'after' on the device")
        wait_for(lambda: a.config(path.format("before")) == {"mtu": 1600}, 30, "the edit of 'before' on the device")
        wait_for(lambda: _all_ready(kube, ns, 3), 30, "all three Ready")
        assert a.written(path.format("after")) == 1
        # inflight's status could not be written during the outage; afterwards the device was found to hold it:
        # Ready and InSync, with its hash (only its Applied event, which had nowhere to go, is missing)
        inflight = status_of(kube, "openconfig", ns, "inflight")
        assert inflight["reason"] == "InSync" and inflight["appliedHash"], inflight
        events = json.loads(kube.kubectl("get", "events", "-n", ns, "-o", "json").stdout)["items"]
        applied = sorted(e["involvedObject"]["name"] for e in events if e["reason"] == "Applied")
        assert applied == ["after", "before", "before"], applied
        assert op.proc is not None and op.proc.poll() is None, "the operator exited after the apiserver came back"
    finally:
        a.release()
        if kube.raw_get("/readyz") is None:
            kube.start_apiserver()  # leave the apiserver up for the tests after this one
        op.stop()


def test_failing_device_is_retried_with_exponential_backoff_and_recovers(
    kube: KubeApiServer, deployed: Path, lab: Lab, tmp_path: Path
) -> None:
    ns = "backoff-test"
    _devices(kube, lab, ns, "sw-b")
    clock = lab.clocks["sw-b"]
    path = "/interfaces/interface[name=eth9]/config"
    op = operator(deployed, tmp_path / "op")  # retry base 2 s (kopf's retry count 0, 1, ...), capped at 4 s
    op.start()
    try:
        clock.fail_next_sets(2, "UNAVAILABLE")  # the device refuses the next two Sets, then recovers
        first = len(clock.set_times)
        kube.kubectl("apply", "-f", "-", input=config_yaml("eth9", ns, "sw-b", path, {"mtu": 9000}))

        def failed() -> dict[str, Any] | None:
            status = status_of(kube, "openconfig", ns, "eth9")
            return status if status.get("phase") == "Failed" else None

        status = wait_for(failed, 30, "eth9 Failed while the device refuses Sets")
        assert status is not None, "wait_for returns the status"
        assert status["reason"] == "DeviceUnreachable" and "UNAVAILABLE" in status["message"], status
        wait_for(lambda: status_of(kube, "openconfig", ns, "eth9").get("phase") == "Ready", 30,
                 "eth9 Ready once the device accepts Sets again, without a manual step")
        attempts = clock.set_times[first:]
        assert lab.stores["sw-b"].config(path) == {"mtu": 9000}
    finally:
        clock.clear()
        op.stop()
    assert len(attempts) == 3, f"expected 2 failed Sets and 1 good one, the device saw {len(attempts)}"
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(attempts)]
    # kopf's delays: 2 s then 4 s, each less up to 20 % jitter; plus a connect and a Get per attempt
    assert 1.6 <= gaps[0] <= 3.5 and 3.2 <= gaps[1] <= 6.0, gaps
    print(f"Set attempts {gaps} s apart")


def test_retry_delay_is_exponential_capped_and_jittered() -> None:
    assert [backoff(r, 2, 30) for r in range(6)] == [2, 4, 8, 16, 30, 30]
    assert jittered(10, rand=lambda: 0.0) == 10 and jittered(10, rand=lambda: 1.0) == 8
    samples = [jittered(backoff(3, 2, 300)) for _ in range(200)]
    assert all(12.8 <= s <= 16 for s in samples)
    assert len(set(samples)) > 150 and statistics.pstdev(samples) > 0.3  # spread out, not in lockstep


def test_kopf_stopping_by_itself_is_started_again_and_a_signal_ends_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "STOP_GRACE", 0.2)
    now = 0.0
    paused: list[float] = []
    signalled = threading.Event()
    current: list[runner.KopfRun] = []
    never = threading.Event()
    seen: list[tuple[str, bool]] = []  # per run: its thread, and whether it got fresh flags (not asserted
    # in the run itself: the supervisor would catch that AssertionError as kopf failing)

    def fail(kopf_run: runner.KopfRun) -> None:  # a watch failed: kopf.run raises after its cleanup
        kopf_run.cleanup()
        raise RuntimeError("Watcher for openconfigs has failed: 404 page not found")

    def hang(kopf_run: runner.KopfRun) -> None:  # kopf's shutdown hangs after its cleanup ran
        kopf_run.cleanup()
        never.wait(30)

    def run_long(kopf_run: runner.KopfRun) -> None:  # a long healthy run, then kopf returns by itself
        nonlocal now
        now += 120

    def until_signal(kopf_run: runner.KopfRun) -> None:  # SIGTERM: the handler sets both flags
        signalled.set()
        kopf_run.stop.set()
        kopf_run.cleanup()

    runs = iter([fail, fail, hang, run_long, fail, until_signal])

    def once(kopf_run: runner.KopfRun) -> None:
        seen.append((threading.current_thread().name, current == [kopf_run] and not kopf_run.stop.is_set()))
        next(runs)(kopf_run)

    def pause(delay: float) -> None:
        nonlocal now
        paused.append(delay)
        now += delay

    runner.supervise(once, signalled, current, clock=lambda: now, pause=pause)
    never.set()
    assert next(runs, None) is None, "every run happened; the signalled one ended the supervisor"
    # kopf runs in a thread of its own (the main thread keeps the signals), each run with fresh flags
    assert seen == [("kopf", True)] * 6, seen
    assert paused == [1, 2, 4, 1, 1]  # doubling while runs end within a minute; a long run resets it
