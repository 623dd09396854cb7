"""Keeping a network-wide transaction's revert timers running until its decision.

A device prepared in a group's first wave starts its revert timer then; the
confirm comes only after the group's last wave. Sizing the timeout to cover
the whole group cannot work (how long a wave takes depends on the slowest
device in it, which nobody knows beforehand), so the timers are *extended*
instead: while the group is being prepared, every device prepared earlier has
its timer restarted (:meth:`Driver.extend`) every third of the timeout, and
once the last wave is prepared, every device whose timer is older than that
is extended once more before the decision. That last round doubles as the check that every
device still holds its part: a device whose commit is gone (its timer ran out
after all, someone cancelled it) makes the group abort instead of confirming
on the others. The guarantee after a crash stays the same: nobody extends,
so every device reverts within one timeout of nwi's last sign of life.

One lock per device keeps an extension from overlapping the device's own
prepare, confirm or cancel in the coordinator's threads (a driver is one
session); a device busy with its prepare is skipped, since a prepare restarts
the timer itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from nwi.drivers.base import Driver, DriverError, TransactionRejected

log = logging.getLogger(__name__)


class RevertTimers:
    """The revert timers of one group's prepared devices, extended in the background while it is prepared."""

    def __init__(self, get_driver: Callable[[str], Driver], commit_id: str, timeout: int,
                 locks: dict[str, threading.Lock], workers: int) -> None:
        self.get_driver = get_driver
        self.commit_id = commit_id
        self.timeout = timeout
        self.interval = max(timeout / 3, 0.1)
        self.locks = locks
        self.workers = max(1, workers)
        self._restarted: dict[str, float] = {}  # device -> when its timer last (re)started, at the latest
        self._lost: dict[str, DriverError] = {}  # devices whose commit is gone, or that could not be extended
        self._state = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="nwi-txn-timer")
        self._in_flight: set[str] = set()
        self._ticker = threading.Thread(target=self._tick, name="nwi-txn-timers", daemon=True)

    def restarted(self, device: str, at: float) -> None:
        """``device``'s timer (re)started no earlier than ``at`` (time.monotonic, taken before the call)."""
        with self._state:
            self._restarted[device] = at
            self._lost.pop(device, None)
            if self._ticker.ident is None and not self._stop.is_set():  # started with the first prepare
                self._ticker.start()

    def lost(self) -> dict[str, DriverError]:
        """Devices that could not be extended: the group must not be confirmed."""
        with self._state:
            return dict(self._lost)

    def close(self) -> None:
        """Stop extending (at the decision, or to cancel). An extension in flight is not waited for: it
        holds its device's lock, so only that device's confirm or cancel waits for it, never the others'."""
        with self._state:
            self._stop.set()
        if self._ticker.ident is not None:
            self._ticker.join()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def refresh(self, devices: Iterable[str]) -> dict[str, DriverError]:
        """Extend each of ``devices`` whose timer started more than a third of the timeout ago, waiting
        for the answers; the devices that failed (their commit is gone, or they did not answer), with those
        lost before. Called just before the decision, with the background extensions still going (a slow
        device's answer must not let a fast one's timer run out meanwhile): afterwards every device has its
        part and at least two thirds of the timeout left for the confirm. A group prepared well within
        that costs no extension at all."""
        since = time.monotonic() - self.interval
        with self._state:
            due = [d for d in devices if self._restarted.get(d, 0.0) < since and d not in self._lost]
        with ThreadPoolExecutor(max_workers=max(1, min(len(due), self.workers)),
                                thread_name_prefix="nwi-txn-timer") as pool:
            for device, error in zip(due, pool.map(self._extend, due), strict=True):
                if error is not None:
                    with self._state:
                        self._lost[device] = error
        return self.lost()

    # ---- in the background ---------------------------------------------------------------------
    def _tick(self) -> None:
        while not self._stop.wait(self.interval / 4):
            now = time.monotonic()
            with self._state:
                due = [d for d, at in self._restarted.items()
                       if now - at >= self.interval and d not in self._in_flight and d not in self._lost]
                self._in_flight.update(due)
            for device in due:
                self._pool.submit(self._extend_in_background, device)

    def _extend_in_background(self, device: str) -> None:
        try:
            lock = self.locks[device]
            if not lock.acquire(blocking=False):  # busy: its own prepare (which restarts the timer), or its end
                return
            try:
                error = None if self._stop.is_set() else self._extend(device, locked=True)
            finally:
                lock.release()
            if isinstance(error, TransactionRejected):  # gone for good; another error: tried again next tick
                with self._state:
                    self._lost[device] = error
        finally:
            with self._state:
                self._in_flight.discard(device)

    def _extend(self, device: str, locked: bool = False) -> DriverError | None:
        at = time.monotonic()
        try:
            if locked:
                self.get_driver(device).extend(self.commit_id, self.timeout)
            else:
                with self.locks[device]:
                    self.get_driver(device).extend(self.commit_id, self.timeout)
        except TransactionRejected as exc:
            log.error("%s: %s is no longer pending: %s", device, self.commit_id, exc.message)
            return exc
        except DriverError as exc:
            log.warning("%s: extending the revert timer of %s failed: %s", device, self.commit_id, exc.message)
            return exc
        log.debug("%s: revert timer of %s restarted (%ss)", device, self.commit_id, self.timeout)
        with self._state:
            self._restarted[device] = at
        return None
