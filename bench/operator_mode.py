"""Operator mode: N objects applied with ``kubectl apply`` to a real kube-apiserver; time until all are Ready.

Uses the project's envtest-like harness (``tests/harness/kube.py``: etcd +
kube-apiserver on loopback ports) and runs ``nwi operator`` as a child
process with the admin kubeconfig, watching only the benchmark namespace. The
devices are the same mock gNMI fleet as the CLI measurements.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from bench.fleet import running_fleet
from bench.intents import NAMESPACE, PASSWORD, USERNAME, FleetSpec, config_docs, inventory_docs

REPO = Path(__file__).resolve().parent.parent
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _harness() -> Any:
    """``tests/harness/kube.py`` (it is test tooling, not part of the installed package)."""
    sys.path.insert(0, str(REPO / "tests"))
    try:
        from harness import kube
    finally:
        sys.path.pop(0)
    return kube


def unavailable() -> str | None:
    try:
        kube = _harness()
    except ImportError as exc:
        return f"kube harness not importable: {exc}"
    reason: str | None = kube.unavailable()
    return reason


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
            return True
    except OSError:
        return False


def _phases(server: Any) -> dict[str, int]:
    out = server.kubectl("get", "srosconfigs", "-n", NAMESPACE, "-o", "json", timeout=120).stdout
    counts: dict[str, int] = {}
    for item in json.loads(out).get("items", []):
        phase = (item.get("status") or {}).get("phase") or "-"
        counts[phase] = counts.get(phase, 0) + 1
    return counts


def measure(objects: int, devices: int, timeout: float = 300.0, workers: int = 16) -> dict[str, Any]:
    """Start apiserver, fleet and operator; ``kubectl apply`` the set; wait for all Ready (or ``timeout``)."""
    kube = _harness()
    spec = FleetSpec(objects, devices)
    work = Path(tempfile.mkdtemp(prefix="nwi-bench-operator-"))
    with kube.KubeApiServer() as server, running_fleet(spec.device_names(), USERNAME, PASSWORD) as fleet:
        server.kubectl("apply", "-f", str(REPO / "crds"))
        server.kubectl("wait", "--for=condition=established", "--timeout=60s", "crd", "--all")
        server.kubectl("create", "namespace", NAMESPACE)
        inventory = work / "inventory.yaml"
        inventory.write_text(yaml.dump_all(inventory_docs(spec, fleet.ports), Dumper=_Dumper))
        server.kubectl("apply", "-f", str(inventory))
        configs = work / "configs.yaml"
        configs.write_text(yaml.dump_all(config_docs(spec), Dumper=_Dumper))
        health = kube.free_port()
        log = work / "operator.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "nwi.cli", "operator", "--kubeconfig", str(server.kubeconfig), "--standalone",
                 "--namespace", NAMESPACE, "--state-dir", str(work / "state"), "--metrics-port", "0",
                 "--health-port", str(health), "--workers", str(workers)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
        try:
            kube.wait_for(lambda: proc.poll() is None and _healthy(health), 60, f"operator /healthz (log: {log})")
            start = time.perf_counter()
            server.kubectl("apply", "-f", str(configs), timeout=600)
            applied = time.perf_counter()
            phases: dict[str, int] = {}

            def all_ready() -> bool:
                nonlocal phases
                if proc.poll() is not None:
                    raise RuntimeError(f"operator exited with {proc.returncode}; log: {log}")
                phases = _phases(server)
                return phases.get("Ready", 0) == objects

            try:
                kube.wait_for(all_ready, timeout, f"{objects} objects Ready", interval=0.5)
                ready = True
            except TimeoutError:
                ready = False
            done = time.perf_counter()
            writes = fleet.total("sets")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {
        "objects": objects,
        "devices": devices,
        "all_ready": ready,
        "phases": phases,
        "kubectl_apply_s": applied - start,
        "ready_s": done - start,  # from the start of `kubectl apply` until every object is Ready
        "device_writes": writes,
        "log": str(log),
    }
