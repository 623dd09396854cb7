"""Helpers of the Kubernetes tests: the operator as a process, a counting mock device, kubectl readers."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ -> `harness` package

from harness.kube import KubeApiServer, free_port, wait_for

from nwi.drivers.base import Transaction
from nwi.drivers.virtual import DeviceStore
from nwi.mockgnmi.server import MockGnmiServer
from nwi.tree import Tree

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SWITCH = "172.20.20.200"  # the seed's switchID: a Device *name*; the Device's address is 127.0.0.1
FLAKY = "flaky-sw"
USERNAME, PASSWORD = "nwi-test", "s3cr3t-Pa55"


class CountingStore:
    """A Datastore that counts what reaches the device: commits (writes) and snapshots (reads)."""

    def __init__(self, name: str) -> None:
        self.inner = DeviceStore(name, None)
        self.writes = 0
        self.reads = 0
        self._lock = threading.Lock()

    def snapshot(self) -> Tree:
        with self._lock:
            self.reads += 1
        return self.inner.snapshot()

    def commit(self, txn: Transaction, dry_run: bool = False) -> None:
        self.inner.commit(txn, dry_run)
        if not dry_run:
            with self._lock:
                self.writes += 1


@dataclass
class Device:
    server: MockGnmiServer
    stores: dict[str, CountingStore]

    def port(self, name: str) -> int:
        return self.server.port_of(name)

    def config(self, name: str = SWITCH) -> Any:
        return self.stores[name].inner.snapshot().dump()


@dataclass
class Operator:
    """``nwi operator`` as a child process; stopped with SIGTERM like a pod."""

    kubeconfig: Path
    workdir: Path
    extra: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None
    health_port: int = 0
    metrics_port: int = 0
    starts: int = 0
    ended: list[str] = field(default_factory=list)  # how each stopped run ended (failure reports show it)

    @property
    def log(self) -> Path:
        return self.workdir / f"operator-{self.starts}.log"

    def start(self) -> Operator:
        self.starts += 1
        self.health_port, self.metrics_port = free_port(), free_port()
        argv = [str(Path(sys.executable).with_name("nwi")), "operator", "--kubeconfig", str(self.kubeconfig),
                "--state-dir", str(self.workdir / "state"), "--health-port", str(self.health_port),
                "--metrics-port", str(self.metrics_port), "--retry-max", "4", "--wait-recheck", "30", *self.extra]
        out = open(self.log, "wb")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ})
        out.close()
        wait_for(self._healthy, 60, f"the operator's /healthz (log: {self.log})")
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"operator exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
        return self.http(self.health_port, "/healthz") is not None

    def http(self, port: int, path: str) -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
                body: bytes = resp.read()
                return body.decode()
        except OSError:
            return None

    def metrics(self) -> str:
        text = self.http(self.metrics_port, "/metrics")
        assert text is not None, "metrics endpoint does not answer"
        return text

    def metric(self, name: str) -> float:
        """One unlabelled metric's value (0 while it has none)."""
        match = re.search(rf"^{name} ([0-9.e+]+)$", self.metrics(), re.M)
        return float(match.group(1)) if match else 0.0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            self.ended.append(f"run {self.starts} had exited by itself with {self.proc.returncode}")
        elif self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.ended.append(f"run {self.starts} stopped with SIGTERM: exit {self.proc.returncode}")
        self.proc = None

    def logs(self) -> str:
        return "\n".join((self.workdir / f"operator-{i}.log").read_text() for i in range(1, self.starts + 1))


def deploy(kube: KubeApiServer) -> Path:
    """``kubectl apply -k deploy/`` as a user would (the CRs wait for their CRDs); the operator SA's kubeconfig."""
    first = kube.kubectl("apply", "-k", str(DEPLOY), check=False)
    if first.returncode != 0:  # "ensure CRDs are installed first": wait for them, apply again
        assert "ensure CRDs are installed first" in first.stderr, first.stderr
        kube.kubectl("wait", "--for=condition=established", "--timeout=60s", "crd", "--all")
        kube.kubectl("apply", "-k", str(DEPLOY))
    token = kube.service_account_token("nwi-system", "nwi-operator")
    return kube.write_kubeconfig(kube.rundir / "operator.kubeconfig", token)


def device_yaml(namespace: str, name: str, port: int, connect_timeout: float = 2.0) -> str:
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: {name}-creds, namespace: {namespace}}}
stringData: {{username: {USERNAME}, password: {PASSWORD}}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {{name: "{name}", namespace: {namespace}}}
spec:
  driver: gnmi
  address: 127.0.0.1
  port: {port}
  insecure: true
  credentialsSecretRef: {{name: {name}-creds}}
  timeouts: {{connect: {connect_timeout}, operation: 5}}
"""


def status_of(kube: KubeApiServer, kind: str, namespace: str, name: str) -> dict[str, Any]:
    doc = kube.get_json(kind, name, "-n", namespace)
    status: dict[str, Any] = doc.get("status") or {}
    return status


def table(kube: KubeApiServer, kind: str, namespace: str) -> dict[str, dict[str, str]]:
    """``kubectl get KIND`` as a user reads it: rows by NAME, cells by column header."""
    out = kube.kubectl("get", kind, "-n", namespace).stdout.splitlines()
    if not out:
        return {}
    header = out[0]
    starts = [i for i, ch in enumerate(header) if ch != " " and (i == 0 or header[i - 1] == " ")]
    names = header.split()
    rows = {}
    for line in out[1:]:
        cells = [line[s:e].strip() for s, e in zip(starts, [*starts[1:], None], strict=True)]
        row = dict(zip(names, cells, strict=True))
        rows[row["NAME"]] = row
    return rows


def config_yaml(name: str, ns: str, switch: str, path: str, props: dict[str, Any],
                depends: tuple[str, ...] = (), kind: str = "OpenConfig", extra_spec: str = "") -> str:
    """One config object as YAML, with its depends_on annotation (a document of a multi-document stream)."""
    refs = json.dumps([{"kind": kind, "name": d} for d in depends])
    return f"""
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: {kind}
metadata:
  name: {name}
  namespace: {ns}
  annotations: {{nwi.enc.nokia.com/depends_on: '{refs}'}}
spec:
  switchID: "{switch}"
  path: "{path}"
  properties: {json.dumps(props)}
{extra_spec}
---"""
