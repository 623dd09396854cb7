"""Start the mock gNMI server from Python: in this process, or as a child process.

For pytest fixtures and CI scripts, like controller-runtime's envtest::

    with running([memory_target("r1", username="admin", password="admin")]) as srv:
        port = srv.port_of("r1")           # a free loopback port
        ...

    with spawned(["--port", "0", "--target", "r1"]) as proc:   # `python -m nwi.mockgnmi`
        port = proc.port_of("r1")

Both wait for the server to listen (no sleeps) and stop it on exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nwi.drivers.virtual import DeviceStore
from nwi.mockgnmi import tlsgen
from nwi.mockgnmi.faults import Faults
from nwi.mockgnmi.server import MockGnmiServer
from nwi.mockgnmi.target import Credentials, Model, Target
from nwi.path import GnmiPath
from nwi.tree import Tree


def memory_target(
    name: str,
    *,
    port: int | None = 0,
    username: str | None = None,
    password: str | None = None,
    list_keys: Mapping[str, tuple[str, ...]] | None = None,
    state: dict[str, Any] | None = None,
    state_dir: Path | None = None,
    faults: Faults | None = None,
    models: Iterable[Model] = (),
    modules: Mapping[str, str] | None = None,
    bare_strings: bool = False,
) -> Target:
    """A target over a fresh DeviceStore (in memory unless ``state_dir``); port 0 = its own free port.

    ``models``/``modules``/``bare_strings``: see :class:`~nwi.mockgnmi.target.Target`.
    """
    state_tree = Tree(list_keys=list_keys)
    if state:
        state_tree.replace(GnmiPath(), state)
    creds = Credentials(username, password) if username is not None and password is not None else None
    return Target(name, DeviceStore(name, state_dir, list_keys), port=port, credentials=creds, state=state_tree,
                  faults=faults, models=models, modules=modules, bare_strings=bare_strings)


@contextlib.contextmanager
def running(
    targets: Iterable[Target],
    *,
    tls: bool = False,
    mtls: bool = False,
    cert_dir: Path | None = None,
    port: int = 0,
    poll_interval: float = 1.0,
) -> Iterator[MockGnmiServer]:
    """An in-process server on 127.0.0.1 (TLS certificates in ``cert_dir`` or a temp dir)."""
    with contextlib.ExitStack() as stack:
        material = None
        if tls:
            directory = cert_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nwi-gnmi-tls-")))
            material = tlsgen.generate(directory)
        server = MockGnmiServer(targets, port=port, tls=material, require_client_cert=mtls,
                                poll_interval=poll_interval)
        with server:
            yield server


@dataclass
class SpawnedServer:
    """A mock server running as ``python -m nwi.mockgnmi``; ``ready`` is its ready line."""

    process: subprocess.Popen[str]
    ready: dict[str, Any]

    def port_of(self, name: str) -> int:
        port: int = self.ready["targets"][name]
        return port

    @property
    def ca_cert(self) -> Path | None:
        ca = self.ready.get("caCert")
        return Path(ca) if ca else None


@contextlib.contextmanager
def spawned(
    args: Sequence[str], timeout: float = 30.0, env: Mapping[str, str] | None = None
) -> Iterator[SpawnedServer]:
    """Run the server as a child process with ``args``; wait for its ready line; terminate it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nwi.mockgnmi", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        ready = _wait_ready(proc, timeout)
        yield SpawnedServer(proc, ready)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


class ServerFailedToStart(RuntimeError):
    pass


def _wait_ready(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ServerFailedToStart(f"mock gNMI server not ready within {timeout}s")
            if sel.select(left):
                line = proc.stdout.readline()
                if not line:  # EOF: it exited
                    proc.wait(5)
                    raise ServerFailedToStart(
                        f"mock gNMI server exited with {proc.returncode}: {proc.stderr.read().strip()}"
                    )
                try:
                    doc = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(doc, dict) and doc.get("event") == "ready":
                    return doc
