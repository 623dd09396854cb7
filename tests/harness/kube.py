"""A real kube-apiserver + etcd for tests, like controller-runtime's envtest.

:class:`KubeApiServer` starts etcd and the apiserver (built once from Debian's
``kubernetes`` source package by ``kube-apiserver.sh build`` next to this file,
cached under ``~/.cache/k8s-1.20.2``) on free loopback ports in a temporary
directory, writes an admin kubeconfig there and stops exactly the processes it
started. :meth:`KubeApiServer.kubectl` runs the machine's ``kubectl`` against
it the way a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

CACHE = Path(os.environ.get("CACHE", str(Path.home() / ".cache" / "k8s-1.20.2")))
APISERVER = CACHE / "kube-apiserver"
SCRIPT = Path(__file__).with_name("kube-apiserver.sh")
ADMIN_TOKEN = "nwi-test-admin-token"

T = TypeVar("T")


def unavailable() -> str | None:
    """Why the harness cannot start here (None when it can)."""
    if not os.access(APISERVER, os.X_OK):
        return f"kube harness: {APISERVER} missing; build it with `{SCRIPT} build` (tests/run.sh does)"
    for tool in ("etcd", "kubectl"):
        if shutil.which(tool) is None:
            return f"kube harness: {tool} not found (tests/run.sh installs etcd-server; kubectl is the machine's)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: T = condition()
    while not last:
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)
        last = condition()
    return last


@dataclass
class KubeApiServer:
    """One etcd + kube-apiserver pair on 127.0.0.1."""

    rundir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nwi-kube-")))
    api_port: int = 0
    etcd_port: int = 0
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list, repr=False)
    _argv: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def kubeconfig(self) -> Path:
        return self.rundir / "kubeconfig"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    def start(self, timeout: float = 90.0) -> KubeApiServer:
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        self.rundir.mkdir(parents=True, exist_ok=True)
        self.api_port = self.api_port or free_port()
        self.etcd_port = self.etcd_port or free_port()
        peer_port = free_port()
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (self.rundir / "sa.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
        )
        (self.rundir / "sa.pub").write_bytes(
            key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        (self.rundir / "tokens.csv").write_text(f"{ADMIN_TOKEN},admin,admin,system:masters\n")
        self._spawn(
            "etcd",
            [
                "etcd",
                "--data-dir",
                str(self.rundir / "etcd"),
                "--listen-client-urls",
                f"http://127.0.0.1:{self.etcd_port}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{self.etcd_port}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer_port}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{peer_port}",
            ],
        )
        self._spawn(
            "apiserver",
            [
                str(APISERVER),
                f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.api_port}",
                f"--cert-dir={self.rundir / 'certs'}",
                f"--token-auth-file={self.rundir / 'tokens.csv'}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={self.rundir / 'sa.pub'}",
                f"--service-account-signing-key-file={self.rundir / 'sa.key'}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--advertise-address=127.0.0.1",
                "--disable-admission-plugins=ServiceAccount",
            ],
        )
        self.write_kubeconfig(self.kubeconfig, ADMIN_TOKEN)
        try:
            wait_for(self._ready, timeout, f"kube-apiserver /readyz (log: {self.rundir / 'apiserver.log'})", 0.3)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str]) -> None:
        self._argv[name] = argv
        log = open(self.rundir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self._procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        log.close()

    def stop_apiserver(self) -> None:
        """Stop only the kube-apiserver (etcd keeps running with its data), as when its pod restarts."""
        proc = next(p for p in self._procs if p.args == self._argv["apiserver"])
        proc.terminate()
        try:  # it stops listening at once, then drains watches for up to a minute: cut that short
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._procs.remove(proc)

    def start_apiserver(self, timeout: float = 90.0) -> None:
        """Start the kube-apiserver again with the same ports, certificates, keys and etcd."""
        self._spawn("apiserver", self._argv["apiserver"])
        wait_for(self._ready, timeout, f"kube-apiserver /readyz (log: {self.rundir / 'apiserver.log'})", 0.3)

    def _ready(self) -> bool:
        for proc in self._procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}; see logs in {self.rundir}")
        return self.raw_get("/readyz") is not None

    def raw_get(self, path: str, token: str = ADMIN_TOKEN) -> bytes | None:
        """GET ``path`` from the apiserver (None on any failure)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
                body: bytes = resp.read()
                return body
        except (urllib.error.URLError, OSError):
            return None

    def write_kubeconfig(self, path: Path, token: str, namespace: str = "default") -> Path:
        """A kubeconfig for this apiserver authenticating with ``token``."""
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "nwi-test", "cluster": {"server": self.url, "insecure-skip-tls-verify": True}}],
            "users": [{"name": "user", "user": {"token": token}}],
            "contexts": [
                {"name": "nwi-test", "context": {"cluster": "nwi-test", "user": "user", "namespace": namespace}}
            ],
            "current-context": "nwi-test",
        }
        path.write_text(json.dumps(doc))
        path.chmod(0o600)
        return path

    def kubectl(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 60.0,
        input: str | None = None,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run the machine's kubectl against this apiserver, as a user would."""
        env = {**os.environ, "KUBECONFIG": str(kubeconfig or self.kubeconfig)}
        result = subprocess.run(
            ["kubectl", *args], env=env, capture_output=True, text=True, timeout=timeout, input=input
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def get_json(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def service_account_token(self, namespace: str, name: str) -> str:
        """A bound token for a ServiceAccount (TokenRequest), to act exactly as that account would."""
        return self.kubectl("create", "token", name, "-n", namespace, "--duration=1h").stdout.strip()

    def stop(self) -> None:
        for proc in reversed(self._procs):  # apiserver first, then etcd
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
