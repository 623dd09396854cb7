"""Helpers of the state tests: real ``nwi`` processes against the mock gNMI server, and their inputs.

The ``nwi`` runs are separate processes (``python -m nwi.cli``) so that the
tests can kill them with real signals and run two at once on one state
directory. The device is nwi's mock gNMI server in this process, with
``fault_kit.RecordingStore`` as its datastore: it counts every committed write
per path and can keep the Nth commit "on the wire" (the Set in flight) until
the test releases it.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
KIND = "SRLinuxConfig"
NAMESPACE = "lab"


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
