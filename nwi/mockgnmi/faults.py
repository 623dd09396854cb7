"""Fault injection: the ways a real gNMI target misbehaves, on demand.

Users test how their automation copes with a slow device, a device that
refuses Sets, a flaky connection and a device that never comes up. Each
:class:`Faults` belongs to one target and may be changed while the server runs
(tests do so between calls); counters are consumed under a lock, so "fail the
next N Sets" fails exactly N even with concurrent clients.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import grpc


def status_code(name: str | grpc.StatusCode) -> grpc.StatusCode:
    """``"UNAVAILABLE"`` / ``"unavailable"`` / ``14`` -> ``grpc.StatusCode.UNAVAILABLE``."""
    if isinstance(name, grpc.StatusCode):
        return name
    text = str(name).strip()
    for code in grpc.StatusCode:
        if code.name == text.upper() or str(code.value[0]) == text:
            return code
    raise ValueError(f"unknown gRPC status code {name!r} (use a name such as UNAVAILABLE or ABORTED)")


@dataclass
class Faults:
    """Misbehaviour of one target.

    * ``latency``: seconds added before every RPC answers (and before a
      subscription's first message).
    * ``fail_sets`` / ``fail_code``: the next ``fail_sets`` Set RPCs fail with
      ``fail_code`` and change nothing.
    * ``drop_rpcs``: the next ``drop_rpcs`` RPCs cut every connection of the
      target's port instead of answering (clients see the transport break, as
      when a device reboots); the port listens again right after.
    * ``refuse_start``: the target never starts: its own port is not opened
      (connection refused) and, on a shared port, its requests get UNAVAILABLE.
    """

    latency: float = 0.0
    fail_sets: int = 0
    fail_code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE
    drop_rpcs: int = 0
    refuse_start: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Faults:
        """The devices-file form: ``{latency, failSets, failCode, dropRpcs, refuseStart}``."""
        known = {"latency", "failSets", "failCode", "dropRpcs", "refuseStart"}
        unknown = set(doc) - known
        if unknown:
            raise ValueError(f"unknown fault(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(
            latency=float(doc.get("latency", 0.0)),
            fail_sets=int(doc.get("failSets", 0)),
            fail_code=status_code(doc.get("failCode", "UNAVAILABLE")),
            drop_rpcs=int(doc.get("dropRpcs", 0)),
            refuse_start=bool(doc.get("refuseStart", False)),
        )

    def fail_next_sets(self, count: int, code: str | grpc.StatusCode = grpc.StatusCode.UNAVAILABLE) -> None:
        with self._lock:
            self.fail_sets = count
            self.fail_code = status_code(code)

    def take_set_failure(self) -> grpc.StatusCode | None:
        """The code this Set must fail with, consuming one injected failure; None to proceed."""
        with self._lock:
            if self.fail_sets <= 0:
                return None
            self.fail_sets -= 1
            return self.fail_code

    def take_drop(self) -> bool:
        with self._lock:
            if self.drop_rpcs <= 0:
                return False
            self.drop_rpcs -= 1
            return True

    def clear(self) -> None:
        with self._lock:
            self.latency = 0.0
            self.fail_sets = 0
            self.drop_rpcs = 0
            self.refuse_start = False
