"""Helpers of the operator fault tests: a device that records (and can hold) every write, operators in turn.

The kube-apiserver harness and the operator process come from
``tests/harness/kube.py`` and ``tests/kubernetes/kube_kit.py``; this adds what
the fault tests need on top: a datastore that counts writes per path (to prove
"applied exactly once") and can keep a Set in flight on the device while the
test kills something, Set attempt times (to measure the retry backoff), and
the evidence a failed test shows (:func:`failure_report`): the logs of the
operators it ran and what kubectl saw.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kubernetes"))  # kube_kit
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ -> `harness` package

from harness.kube import KubeApiServer
from kube_kit import Operator

from nwi.drivers.base import Op, Transaction
from nwi.drivers.virtual import DeviceStore
from nwi.mockgnmi.faults import Faults
from nwi.mockgnmi.server import MockGnmiServer
from nwi.path import parse_path
from nwi.tree import Tree

#: kopf peering priorities, rising: an operator killed with SIGKILL leaves its record in the peering
#: object until its lifetime (60 s) ends; a successor with a lower or equal priority would pause till then
_PRIORITIES = itertools.count(100, 10)

#: every operator made by :func:`operator`, for the failure report of the test that ran it
_MADE: list[Operator] = []

#: what a failure report shows of each operator log (a run that went wrong ends with what matters)
_LOG_TAIL = 60_000


class RecordingStore:
    """A device datastore that records every committed write and can hold commits "on the wire".

    ``hold(n)``: commit number ``n`` from now (1 = the next one) and every later one wait
    (``holding`` is set once one does) until ``release()``; the gNMI Set that carries
    them stays in flight meanwhile, exactly as on a device that is slow to commit.
    """

    def __init__(self, name: str) -> None:
        self.inner = DeviceStore(name, None)
        self.writes: Counter[tuple[str, str]] = Counter()  # (op, rendered path) -> commits that carried it
        self.commits = 0
        self.hold_from: int | None = None
        self._open = threading.Event()
        self._open.set()
        self.holding = threading.Event()
        self._lock = threading.Lock()

    def snapshot(self) -> Tree:
        return self.inner.snapshot()

    def commit(self, txn: Transaction, dry_run: bool = False) -> None:
        with self._lock:
            held = not dry_run and self.hold_from is not None and self.commits + 1 >= self.hold_from
        if held and not self._open.is_set():
            self.holding.set()
            if not self._open.wait(60):
                raise TimeoutError("a held commit was never released")
        self.inner.commit(txn, dry_run)
        if not dry_run:
            with self._lock:
                self.commits += 1
                self.writes.update((str(c.op), c.path.render()) for c in txn.changes)

    def hold(self, from_commit: int = 1) -> None:
        with self._lock:
            self.hold_from = self.commits + from_commit
        self.holding.clear()
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def written(self, path: str, op: Op = Op.UPDATE) -> int:
        """How many committed transactions carried ``op`` on ``path`` (update is how merge objects go out)."""
        with self._lock:
            return self.writes[(str(op), parse_path(path).render())]

    def max_writes(self) -> int:
        """The most commits that carried any one write (1: every path was written once)."""
        with self._lock:
            return max(self.writes.values(), default=0)

    def config(self, path: str | None = None) -> Any:
        """The device's configuration at ``path``, or all of it."""
        tree = self.inner.snapshot()
        return tree.to_json() if path is None else tree.get(parse_path(path))


class SetClock(Faults):
    """Faults that also note when each Set reaches the device (after any injected latency)."""

    def __init__(self) -> None:
        super().__init__()
        self.set_times: list[float] = []

    def take_set_failure(self) -> Any:
        self.set_times.append(time.monotonic())
        return super().take_set_failure()


@dataclass
class Lab:
    """The mock gNMI server and, per target, its recording datastore and its Set clock."""

    server: MockGnmiServer
    stores: dict[str, RecordingStore]
    clocks: dict[str, SetClock]

    def port(self, name: str) -> int:
        return self.server.port_of(name)


def operator(kubeconfig: Path, workdir: Path, *extra: str) -> Operator:
    """An operator as the Deployment runs it (kopf peering), with a priority above every earlier one."""
    workdir.mkdir(parents=True, exist_ok=True)
    op = Operator(kubeconfig, workdir, ["--peering", "nwi-operator", "--priority", str(next(_PRIORITIES)),
                                        *extra])
    _MADE.append(op)
    return op


def restart_args(op: Operator) -> None:
    """Give ``op`` a new, higher peering priority for its next start (a new pod after a crash)."""
    i = op.extra.index("--priority")
    op.extra[i + 1] = str(next(_PRIORITIES))



def log_marks() -> dict[Path, int]:
    """How long each operator log is now: a failure report shows only what a test added."""
    return {path: path.stat().st_size for op in _MADE for path in _log_files(op)}


def failure_report(kube: KubeApiServer | None, marks: dict[Path, int]) -> list[tuple[str, str]]:
    """(title, text) sections for a failed test: each operator's log since ``marks``, then the cluster."""
    sections = []
    for op in _MADE:
        for path in _log_files(op):
            text = path.read_bytes()[marks.get(path, 0):].decode(errors="replace")
            if not text:
                continue
            if len(text) > _LOG_TAIL:
                text = f"[... {len(text) - _LOG_TAIL} characters before]\n" + text[-_LOG_TAIL:]
            running = op.proc is not None and op.proc.poll() is None
            state = "; ".join([*op.ended, "running" if running else "not running"])
            sections.append((f"operator log {path} ({state})", text))
    if kube is not None:
        sections.append(("kubectl state", _cluster_state(kube)))
        log = kube.rundir / "apiserver.log"
        if log.exists():
            sections.append((f"kube-apiserver log (tail of {log})", "\n".join(log.read_text().splitlines()[-40:])))
    return sections


def _log_files(op: Operator) -> list[Path]:
    return [p for p in (op.workdir / f"operator-{i}.log" for i in range(1, op.starts + 1)) if p.exists()]


def _cluster_state(kube: KubeApiServer) -> str:
    """What a person would look at: config objects and Devices, their statuses and kopf's annotations, Events."""
    if kube.raw_get("/readyz") is None:
        return "the kube-apiserver does not answer /readyz"
    kinds = "openconfigs,srosconfigs,srlinuxconfigs,linuxconfigs,devices"
    out = []
    for args in (["get", kinds, "-A", "-o", "wide"],
                 ["get", kinds, "-A", "-o", "yaml", "--show-managed-fields=false"],
                 ["get", "events", "-A", "--sort-by=.lastTimestamp"]):
        result = kube.kubectl(*args, check=False, timeout=20)
        out.append(f"$ kubectl {' '.join(args)}\n{result.stdout}{result.stderr}")
    return "\n".join(out)
