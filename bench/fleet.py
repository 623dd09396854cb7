"""A fleet of mock gNMI devices in child processes, with device-side write counters.

Each child (``python -m bench.fleet NAME...``) serves its targets with nwi's
mock gNMI server, one loopback port per target, and answers one-line
commands on stdin so the benchmark can ask the *devices* — not nwi — how many
writes they received:

* ``stats``  -> ``{"event": "stats", "targets": {name: {"sets": n, "changes": n, "reads": n}}}``
* ``digest`` -> ``{"event": "digest", "targets": {name: sha256 of the config tree}}``
* ``reset``  -> empty every datastore and zero the counters (``{"event": "reset"}``)

The servers live in their own processes so their CPU time and memory are not
counted against the nwi process being measured.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nwi.drivers.base import Transaction
from nwi.drivers.virtual import DeviceStore
from nwi.mockgnmi.server import MockGnmiServer
from nwi.mockgnmi.target import Credentials, Target
from nwi.tree import Tree


class CountingStore:
    """A :class:`DeviceStore` that counts what reaches it (a Datastore, as the mock server expects)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inner = DeviceStore(name, None)
        self.sets = 0
        self.changes = 0
        self.reads = 0
        self._lock = threading.Lock()

    def snapshot(self) -> Tree:
        with self._lock:
            self.reads += 1
        return self.inner.snapshot()

    def commit(self, txn: Transaction, dry_run: bool = False) -> None:
        if not dry_run:
            with self._lock:
                self.sets += 1
                self.changes += len(txn.changes)
                self.reads -= 1  # the server snapshots once per Set to expand wildcards: not a read
        self.inner.commit(txn, dry_run)

    def reset(self) -> None:
        with self._lock:
            self.inner = DeviceStore(self.name, None)
            self.sets = self.changes = self.reads = 0

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"sets": self.sets, "changes": self.changes, "reads": self.reads}

    def digest(self) -> str:
        """Of the config as a set: keyed-list entries in any order (nwi and the naive script order them differently)."""
        text = json.dumps(_canonical(self.inner.snapshot().to_json()), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def serve(names: Sequence[str], username: str, password: str) -> None:
    """Serve ``names`` until stdin closes, answering commands (see the module docstring)."""
    stores = {n: CountingStore(n) for n in names}
    targets = [Target(n, s, port=0, credentials=Credentials(username, password)) for n, s in stores.items()]
    # the stores change only through Set (which wakes subscriptions itself) and reset (which wakes them
    # below): no re-reading them every second behind the server's back, a full scan per subscription that
    # would take CPU the benchmark shares with what it measures
    with MockGnmiServer(targets, poll_interval=3600.0) as server:
        _say({"event": "ready", "targets": server.ports(), "pid": os.getpid()})
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                _say({"event": "stats", "targets": {n: s.stats() for n, s in stores.items()}})
            elif command == "digest":
                _say({"event": "digest", "targets": {n: s.digest() for n, s in stores.items()}})
            elif command == "reset":
                for s in stores.values():
                    s.reset()
                for t in targets:
                    t.notify()
                _say({"event": "reset"})
            elif command:
                _say({"event": "error", "message": f"unknown command {command!r}"})


def _say(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


# ---- the benchmark's side ------------------------------------------------------------------
@dataclass
class FleetProcess:
    """One child serving some of the targets."""

    process: subprocess.Popen[str]
    ports: dict[str, int] = field(default_factory=dict)

    def ask(self, command: str, timeout: float = 60.0) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return _read_event(self.process, timeout)


@dataclass
class Fleet:
    """Every device of a benchmark run, over several server processes."""

    processes: list[FleetProcess]

    @property
    def ports(self) -> dict[str, int]:
        return {n: p for proc in self.processes for n, p in proc.ports.items()}

    def _merged(self, command: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for proc in self.processes:
            out.update(proc.ask(command)["targets"])
        return out

    def stats(self) -> dict[str, dict[str, int]]:
        return self._merged("stats")

    def total(self, counter: str) -> int:
        return sum(s[counter] for s in self.stats().values())

    def digests(self) -> dict[str, str]:
        return self._merged("digest")

    def reset(self) -> None:
        for proc in self.processes:
            proc.ask("reset")


def _read_event(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The next JSON line from the child; waits on the pipe (no sleeps), fails if it dies or stalls."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"mock fleet process {proc.pid} did not answer within {timeout:g}s")
            if not sel.select(left):
                continue
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"mock fleet process {proc.pid} exited with {proc.wait(5)}")
            with contextlib.suppress(json.JSONDecodeError):
                doc: dict[str, Any] = json.loads(line)
                if doc.get("event") == "error":
                    raise RuntimeError(f"mock fleet: {doc.get('message')}")
                return doc


@contextlib.contextmanager
def running_fleet(names: Sequence[str], username: str, password: str, processes: int = 2,
                  timeout: float = 60.0) -> Iterator[Fleet]:
    """Start the devices over ``processes`` children (round-robin); stop them on exit."""
    groups = [list(names[i::processes]) for i in range(min(processes, len(names)))]
    # bench is not an installed package: the children find it in the source tree this module is in
    path = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "BENCH_FLEET_USERNAME": username, "BENCH_FLEET_PASSWORD": password}
    procs: list[FleetProcess] = []
    try:
        for group in groups:
            p = subprocess.Popen([sys.executable, "-m", "bench.fleet", *group], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
            procs.append(FleetProcess(p))
        for fp in procs:
            fp.ports = {k: int(v) for k, v in _read_event(fp.process, timeout)["targets"].items()}
        yield Fleet(procs)
    finally:
        for fp in procs:
            if fp.process.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    fp.process.stdin.close()  # EOF: the child stops its servers and exits
        for fp in procs:
            try:
                fp.process.wait(15)
            except subprocess.TimeoutExpired:
                fp.process.kill()
                fp.process.wait()
            if fp.process.stdout is not None:
                fp.process.stdout.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve mock gNMI devices with write counters (see bench.fleet).")
    parser.add_argument("names", nargs="+", help="target names, one loopback port each")
    args = parser.parse_args(argv)
    username = os.environ.get("BENCH_FLEET_USERNAME", "bench")
    password = os.environ.get("BENCH_FLEET_PASSWORD", "bench-password")
    serve(args.names, username, password)


if __name__ == "__main__":
    main()
