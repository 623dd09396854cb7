"""Helpers of the state tests: real ``nwi`` processes against the mock gNMI server, a device that can hold a Set.

The ``nwi`` runs are separate processes (``python -m nwi.cli``) so that the
tests can kill them with real signals and run two at once on one state
directory. The device is nwi's mock gNMI server in this process; its
datastore counts every committed write per path and can keep the Nth commit
"on the wire" (the Set in flight) until the test releases it.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nwi.drivers.base import Transaction
from nwi.drivers.virtual import DeviceStore
from nwi.tree import Tree

REPO = Path(__file__).resolve().parents[2]
KIND = "SRLinuxConfig"
NAMESPACE = "lab"


class HoldingStore:
    """A device datastore that counts writes per (op, path) and holds commits from the ``hold_from``-th on.

    ``holding`` is set once a held commit waits; ``release()`` lets it (and
    every later one) through. The gNMI Set carrying a held commit stays in
    flight meanwhile, as on a device that is slow to commit.
    """

    def __init__(self, name: str) -> None:
        self.inner = DeviceStore(name, None)
        self.writes: Counter[tuple[str, str]] = Counter()
        self.commits = 0
        self.hold_from: int | None = None
        self.holding = threading.Event()
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()

    def snapshot(self) -> Tree:
        return self.inner.snapshot()

    def hold(self, from_commit: int) -> None:
        """Hold commit number ``from_commit`` (1 = the next one) and every later one."""
        with self._lock:
            self.hold_from = self.commits + from_commit
        self._open.clear()
        self.holding.clear()

    def release(self) -> None:
        self._open.set()

    def commit(self, txn: Transaction, dry_run: bool = False) -> None:
        if not dry_run:
            with self._lock:
                held = self.hold_from is not None and self.commits + 1 >= self.hold_from
            if held and not self._open.is_set():
                self.holding.set()
                if not self._open.wait(60):
                    raise TimeoutError("a held commit was never released")
        self.inner.commit(txn, dry_run)
        if not dry_run:
            with self._lock:
                self.commits += 1
                self.writes.update((str(c.op), c.path.render()) for c in txn.changes)

    def max_writes(self) -> int:
        with self._lock:
            return max(self.writes.values(), default=0)

    def config(self) -> Any:
        return self.inner.snapshot().to_json()


def write_inputs(directory: Path, port: int, count: int, value: str = "v1", device: str = "r1",
                 padding: int = 0) -> Path:
    """A Device and ``count`` interfaces, each with a subinterface that depends on it: two waves,
    so two transactions on the one device. ``padding``: bytes more in each subinterface."""
    directory.mkdir(parents=True, exist_ok=True)
    docs = [{
        "apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "Device",
        "metadata": {"name": device, "namespace": NAMESPACE},
        "spec": {"address": "127.0.0.1", "port": port, "driver": "gnmi", "insecure": True,
                 "timeouts": {"connect": 5, "operation": 30}},
    }]
    for i in range(count):
        docs.append(config(f"if-{i}", device, f"/interface[name=e{i}]", {"description": f"{value}-{i}"}))
        docs.append(config(f"sub-{i}", device, f"/interface[name=e{i}]/subinterface[index=0]",
                           {"description": f"{value}-sub-{i}" + "x" * padding}, depends_on=f"if-{i}"))
    (directory / "objects.yaml").write_text("\n---\n".join(json.dumps(d) for d in docs))
    return directory


def config(name: str, device: str, path: str, properties: dict[str, Any], depends_on: str | None = None) -> Any:
    meta: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    if depends_on:
        meta["annotations"] = {"nwi.enc.nokia.com/depends_on": json.dumps([{"kind": KIND, "name": depends_on}])}
    return {"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": KIND, "metadata": meta,
            "spec": {"switchID": device, "path": path, "properties": properties}}


def nwi_process(state_dir: Path, *args: str | os.PathLike[str], env: dict[str, str] | None = None
                ) -> subprocess.Popen[str]:
    """``nwi ARGS`` as its own process (a new process group, so signals reach it alone); ``env``: more
    environment variables."""
    environ = {**os.environ, "NWI_STATE_DIR": str(state_dir), "PYTHONUNBUFFERED": "1", **(env or {})}
    environ.pop("NWI_LOCK_TIMEOUT", None)
    return subprocess.Popen([sys.executable, "-m", "nwi.cli", *map(str, args)], cwd=REPO, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def nwi_run(state_dir: Path, *args: str | os.PathLike[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = nwi_process(state_dir, *args)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def stored(state_dir: Path) -> dict[str, dict[str, Any]]:
    """``nwi get -o json`` by object name: each object's status."""
    result = nwi_run(state_dir, "get", "-o", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    items = doc["items"] if isinstance(doc, dict) and "items" in doc else doc
    return {item["metadata"]["name"]: item.get("status", {}) for item in items}


def wait_for(condition: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Poll ``condition`` until it is true (its value is returned); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def lock_held(state_dir: Path) -> bool:
    """Whether some process holds the state directory's lock (tried without waiting)."""
    path = state_dir / "lock"
    if not path.exists():
        return False
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
        return False
