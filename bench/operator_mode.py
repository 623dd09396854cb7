"""Operator mode: N objects applied with ``kubectl apply --server-side`` (as Flux does) to a real kube-apiserver.

Uses the project's envtest-like harness (``tests/harness/kube.py``: etcd +
kube-apiserver on loopback ports) and runs ``nwi operator`` as a child
process with the admin kubeconfig, watching only the benchmark namespace; the
devices are the same mock gNMI fleet as the CLI measurements. One run gives:

* ``create_s``: the time ``kubectl apply --server-side`` itself takes;
  ``ready_s``: from its start until every object is Ready (seen on a watch,
  so the benchmark's polling adds no load); ``pace_ratio`` = ready / create;
* ``api_writes``: the requests that changed something, as the apiserver
  counts them (``apiserver_request_total``), per object: kubectl's own and
  the operator's (finalizer, kopf's bookkeeping, status, Events);
* the operator's RSS once all are Ready, and its startup over the same
  objects already Ready (a second process: relist, index, compare with the
  devices' streams, no writes);
* ``drift_repair_s``: a hand change on one device (a gNMI Set from outside),
  until the device holds nwi's value again (drift by subscription);
* ``floor``: the same apiserver's own pace for N creates, metadata patches and
  status patches at the operator's concurrency, in a namespace the operator
  does not watch, after the operator has stopped;
* ``load_avg``: the machine's 1-minute load average at the start and end (the
  machine is shared: a slow spell shows there).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.fleet import running_fleet
from bench.intents import KIND, NAMESPACE, PASSWORD, USERNAME, FleetSpec, config_docs, inventory_docs
from nwi.kinds import CONFIG_KINDS, GROUP, VERSION

REPO = Path(__file__).resolve().parent.parent
PLURAL = CONFIG_KINDS[KIND].plural
FLOOR_NAMESPACE = "bench-floor"
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_WRITE_VERBS = ("POST", "PUT", "PATCH", "APPLY", "DELETE")


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


def _get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            text: str = r.read().decode()
            return text
    except OSError:
        return None


def _metric(text: str | None, name: str) -> float:
    """Sum of a Prometheus metric's samples (all label sets) in ``text``."""
    total = 0.0
    for m in re.finditer(rf"^{name}(?:\{{[^}}]*\}})? ([0-9.e+-]+)$", text or "", re.M):
        total += float(m.group(1))
    return total


def api_writes(server: Any) -> dict[str, int]:
    """Write requests the apiserver has served so far, by resource[/subresource] (its own counters)."""
    text = (server.raw_get("/metrics") or b"").decode()
    out: dict[str, int] = {}
    for m in re.finditer(r"^apiserver_request_total\{([^}]*)\} ([0-9.e+]+)$", text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if labels.get("verb") not in _WRITE_VERBS:
            continue
        what = labels.get("resource", "") + (f"/{labels['subresource']}" if labels.get("subresource") else "")
        out[what] = out.get(what, 0) + int(float(m.group(2)))
    return out


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def _rss_mb(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = round(int(value.split()[0]) / 1024, 1)
            elif key == "Threads":
                out[key] = int(value)
    except OSError:
        pass
    return {"rss_mb": out.get("VmRSS", 0.0), "peak_rss_mb": out.get("VmHWM", 0.0), "threads": out.get("Threads", 0)}


class ReadyWatch:
    """Counts objects whose status.phase is Ready, from a watch (no polling of N objects)."""

    def __init__(self, server: Any, namespace: str) -> None:
        from kubernetes import client, config, watch

        api_client = config.new_client_from_config(str(server.kubeconfig))
        self.api = client.CustomObjectsApi(api_client)
        self.namespace = namespace
        self.phases: dict[str, str] = {}
        self._ready = 0
        self.changed = threading.Condition()
        self._watch = watch.Watch()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-ready-watch")
        self._thread.start()

    def _run(self) -> None:
        rv = ""
        while not self._stopped:
            try:
                for event in self._watch.stream(self.api.list_namespaced_custom_object, GROUP, VERSION,
                                                self.namespace, PLURAL, resource_version=rv,
                                                allow_watch_bookmarks=False, timeout_seconds=3600):
                    obj = event["object"]
                    rv = obj["metadata"]["resourceVersion"]
                    name = obj["metadata"]["name"]
                    phase = None if event["type"] == "DELETED" else (obj.get("status") or {}).get("phase") or "-"
                    with self.changed:
                        before = self.phases.pop(name, None) if phase is None else self.phases.get(name)
                        if phase is not None:
                            self.phases[name] = phase
                        self._ready += (phase == "Ready") - (before == "Ready")
                        self.changed.notify_all()
            except Exception:  # the watch expired or the server went away: start it again from where it was
                time.sleep(0.5)

    def ready(self) -> int:
        # counted as events arrive: the waiting thread asks after every event, and summing every phase
        # each time would cost the benchmark CPU in proportion to the objects, per event
        with self.changed:
            return self._ready

    def counts(self) -> dict[str, int]:
        with self.changed:
            out: dict[str, int] = {}
            for p in self.phases.values():
                out[p] = out.get(p, 0) + 1
            return out

    def wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(min(left, 1.0))
            return True

    def stop(self) -> None:
        self._stopped = True
        self._watch.stop()


class OperatorProcess:
    """``nwi operator`` as a child process (optionally under py-spy, for a profile)."""

    def __init__(self, server: Any, work: Path, name: str, workers: int, profile: Path | None,
                 namespace: str = NAMESPACE, env: dict[str, str] | None = None) -> None:
        kube = _harness()
        self.health = kube.free_port()
        self.metrics_port = kube.free_port()
        self.log = work / f"{name}.log"
        argv = [sys.executable, "-m", "nwi.cli", "operator", "--kubeconfig", str(server.kubeconfig), "--standalone",
                "--namespace", namespace, "--state-dir", str(work / "state"), "--metrics-port",
                str(self.metrics_port), "--health-port", str(self.health), "--workers", str(workers)]
        if profile is not None:
            spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
            idle = ["--idle"] if os.environ.get("NWI_BENCH_IDLE") else []  # waits too: where a run's time goes
            argv = [spy, "record", "--format", "raw", "--rate", "100", "--nonblocking", *idle, "-o", str(profile), "--",
                    *argv]
        self.started = time.perf_counter()
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        self.kube = kube

    @property
    def pid(self) -> int:
        """The operator's own pid (under py-spy: its child)."""
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        except OSError:
            children = []
        return int(children[0]) if children and Path(sys.executable).name not in self._cmd(self.proc.pid) \
            else self.proc.pid

    @staticmethod
    def _cmd(pid: int) -> str:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            return ""

    def metrics(self) -> str | None:
        return _get(f"http://127.0.0.1:{self.metrics_port}/metrics")

    def wait_healthy(self) -> None:
        def healthy() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"operator exited with {self.proc.returncode}; log: {self.log}")
            return _get(f"http://127.0.0.1:{self.health}/healthz") is not None

        self.kube.wait_for(healthy, 120, f"operator /healthz (log: {self.log})")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT if self.pid != self.proc.pid else signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _hand_change(port: int, device: str, spec: FleetSpec) -> tuple[Any, Any]:
    """A gNMI Set made by hand on ``device`` (as an engineer with gnmic would): one leaf nwi manages."""
    from nwi.drivers.base import Change, ConnectionParams, Op, Transaction
    from nwi.drivers.gnmi import GnmiDriver
    from nwi.loader import build_object
    from nwi.model import ConfigObject, Source

    first = next(d for d in config_docs(spec) if d["spec"]["switchID"] == device)  # the device's first customer
    obj = build_object(first, Source("bench"), NAMESPACE)
    assert isinstance(obj, ConfigObject) and "description" in (obj.spec.properties or {})
    drv = GnmiDriver(device, ConnectionParams(address="127.0.0.1", port=port, username=USERNAME, password=PASSWORD,
                                              insecure=True))
    drv.connect()
    path = obj.device_path.child("description")
    before = drv.read([path])[path]
    drv.apply(Transaction(device, [Change(Op.UPDATE, obj.device_path, {"description": "changed by hand"})]))
    return drv, (path, before)


def measure_drift(fleet: Any, device: str, spec: FleetSpec, timeout: float = 30.0) -> float | None:
    """Seconds from a hand change on ``device`` until it holds nwi's value again (None: not repaired)."""
    drv, (path, before) = _hand_change(fleet.ports[device], device, spec)
    start = time.perf_counter()
    try:
        while time.perf_counter() - start < timeout:
            if drv.read([path])[path] == before:
                return time.perf_counter() - start
            time.sleep(0.02)  # the benchmark's own probe of the device, not the operator's
        return None
    finally:
        drv.close()


def measure_floor(server: Any, n: int, concurrency: int) -> dict[str, Any]:
    """The apiserver's pace: N creates, N metadata patches, N status patches, ``concurrency`` at a time."""
    from kubernetes import client, config

    api_client = config.new_client_from_config(str(server.kubeconfig))
    api_client.configuration.connection_pool_maxsize = concurrency
    custom = client.CustomObjectsApi(api_client)
    server.kubectl("create", "namespace", FLOOR_NAMESPACE)
    names = [f"floor-{i:06d}" for i in range(n)]

    def body(name: str) -> dict[str, Any]:
        return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND,
                "metadata": {"name": name, "namespace": FLOOR_NAMESPACE},
                "spec": {"switchID": "pe001", "path": f"/service/vpls[service-name={name}]",
                         "properties": {"service-name": name, "admin-state": "enable"}}}

    steps: dict[str, Callable[[str], Any]] = {
        "create_s": lambda name: custom.create_namespaced_custom_object(GROUP, VERSION, FLOOR_NAMESPACE, PLURAL,
                                                                        body(name)),
        "metadata_patch_s": lambda name: custom.patch_namespaced_custom_object(
            GROUP, VERSION, FLOOR_NAMESPACE, PLURAL, name,
            {"metadata": {"finalizers": [f"{GROUP}/finalizer"], "annotations": {f"{GROUP}/bench": "x"}}}),
        "status_patch_s": lambda name: custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, FLOOR_NAMESPACE, PLURAL, name, {"status": {"phase": "Ready", "reason": "Applied"}}),
    }
    out: dict[str, Any] = {"objects": n, "concurrency": concurrency}
    with ThreadPoolExecutor(concurrency) as pool:
        for step, call in steps.items():
            start = time.perf_counter()
            list(pool.map(call, names))
            out[step] = round(time.perf_counter() - start, 2)
    return out


def _write_configs(path: Path, docs: list[dict[str, Any]]) -> None:
    path.write_text(yaml.dump_all(docs, Dumper=_Dumper))


def install(server: Any, spec: FleetSpec, ports: dict[str, int], work: Path) -> list[dict[str, Any]]:
    """nwi's CRDs, the benchmark namespace and the Devices of ``spec`` (at the fleet's ``ports``) on a fresh
    apiserver; the Device documents applied."""
    server.kubectl("apply", "-f", str(REPO / "crds"))
    server.kubectl("wait", "--for=condition=established", "--timeout=60s", "crd", "--all")
    server.kubectl("create", "namespace", NAMESPACE)
    docs = inventory_docs(spec, ports)
    _write_configs(work / "inventory.yaml", docs)
    server.kubectl("apply", "-f", str(work / "inventory.yaml"))
    return docs


def _load() -> float:
    return round(os.getloadavg()[0], 2)


@dataclass
class Cluster:
    """A fresh apiserver and mock fleet for one run, nwi installed (see :func:`fresh_cluster`)."""

    kube: Any  # the harness module
    server: Any
    fleet: Any
    spec: FleetSpec
    work: Path
    device_docs: list[dict[str, Any]]
    #: the run's figures, started with its size and the load average before anything started
    result: dict[str, Any]


@contextlib.contextmanager
def fresh_cluster(objects: int, devices: int, workers: int, prefix: str) -> Iterator[Cluster]:
    """etcd + kube-apiserver and a mock fleet for ``objects`` over ``devices``, with nwi's CRDs, the namespace
    and the Devices installed; the load average is recorded before the start and after the stop."""
    kube = _harness()
    spec = FleetSpec(objects, devices)
    work = Path(tempfile.mkdtemp(prefix=prefix))
    result: dict[str, Any] = {"objects": objects, "devices": devices, "workers": workers,
                              "load_avg": {"start": _load()}}
    with kube.KubeApiServer() as server, running_fleet(spec.device_names(), USERNAME, PASSWORD) as fleet:
        yield Cluster(kube, server, fleet, spec, work, install(server, spec, fleet.ports, work), result)
    result["load_avg"]["end"] = _load()


def measure(objects: int, devices: int, timeout: float = 900.0, workers: int = 16, profile: Path | None = None,
            restart: bool = True, drift: bool = True, floor: bool = True) -> dict[str, Any]:
    """One operator run (see the module docstring); every figure as measured, targets not asserted here."""
    with fresh_cluster(objects, devices, workers, "nwi-bench-operator-") as cluster:
        kube, server, fleet, spec, work, result = (cluster.kube, cluster.server, cluster.fleet, cluster.spec,
                                                   cluster.work, cluster.result)
        configs = work / "configs.yaml"
        _write_configs(configs, config_docs(spec))
        watch = ReadyWatch(server, NAMESPACE)
        op = OperatorProcess(server, work, "operator", workers, profile)
        try:
            op.wait_healthy()
            writes_before = api_writes(server)
            start = time.perf_counter()
            server.kubectl("apply", "--server-side", "-f", str(configs), timeout=1800)
            created = time.perf_counter()
            all_ready = watch.wait(lambda: watch.ready() == objects, timeout)
            done = time.perf_counter()
            result.update({
                "create_s": round(created - start, 2),
                "ready_s": round(done - start, 2),
                "pace_ratio": round((done - start) / (created - start), 3),
                "all_ready": all_ready,
                "phases": watch.counts(),
                "device_writes": fleet.total("sets"),
            })
            result.update(_rss_mb(op.pid))
            writes = _diff(api_writes(server), writes_before)
            result["api_writes"] = writes
            result["api_writes_per_object"] = round(sum(writes.values()) / objects, 2)
            if drift and all_ready:
                kube.wait_for(lambda: _metric(op.metrics(), "nwi_subscribed_devices") >= devices, 120,
                              "every device's subscription synced")
                repair = measure_drift(fleet, spec.device_names()[devices // 2], spec)
                result["drift_repair_s"] = round(repair, 3) if repair is not None else None
        finally:
            op.stop()
        if restart and result.get("all_ready"):
            result["startup"] = measure_startup(server, work, workers, objects, devices)
        watch.stop()
        if floor:
            result["floor"] = measure_floor(server, objects, workers)
    result["log"] = str(op.log)
    return result


def measure_startup(server: Any, work: Path, workers: int, objects: int, devices: int) -> dict[str, Any]:
    """A second operator over the N objects already Ready: time to index them and compare them with the devices'
    streams, and the writes it made (none expected)."""
    kube = _harness()
    before = api_writes(server)
    op = OperatorProcess(server, work, "operator-restart", workers, None)
    try:
        op.wait_healthy()

        def primed() -> bool:
            return "primed:" in op.log.read_text(errors="replace")

        kube.wait_for(primed, 300, "the restarted operator's priming list")
        primed_s = time.perf_counter() - op.started
        kube.wait_for(lambda: _metric(op.metrics(), "nwi_subscription_checks_total") >= objects
                      and _metric(op.metrics(), "nwi_subscribed_devices") >= devices, 600,
                      "every object compared with its device's stream")
        checked_s = time.perf_counter() - op.started
        out: dict[str, Any] = {"objects": objects, "primed_s": round(primed_s, 2), "compared_s": round(checked_s, 2)}
        out.update(_rss_mb(op.pid))
        time.sleep(5)  # kopf's resume handlers may still be on their way: give them a moment before counting
        out["api_writes"] = _diff(api_writes(server), before)
        out["reconciled"] = _metric(op.metrics(), "nwi_reconciles_total")
        return out
    finally:
        op.stop()


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="One operator benchmark run; prints its JSON.")
    p.add_argument("objects", type=int)
    p.add_argument("devices", type=int)
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--profile", type=Path, help="py-spy raw profile of the operator to this file")
    p.add_argument("--no-restart", action="store_true")
    p.add_argument("--no-floor", action="store_true")
    a = p.parse_args(argv)
    print(json.dumps(measure(a.objects, a.devices, workers=a.workers, profile=a.profile, restart=not a.no_restart,
                             floor=not a.no_floor)))


if __name__ == "__main__":
    main()
