"""Status writes off the engine's threads: concurrent, coalesced, retried.

The engine records a status per object as it goes (Waiting, Applying, then
the outcome). Written synchronously by the device worker that produced them,
a device's statuses queued behind each other (100 objects on one device: 100
API round trips in a row, while the device sat idle) and transient phases
were written only to be replaced milliseconds later. Here every status goes
into a map keyed by object:

* **coalesced**: a newer status replaces one not sent yet, so only the latest
  reaches the API;
* **transient phases wait** ``transient_delay`` before they are sent: Applying
  shows in ``kubectl get`` when the work really takes that long (a Set held by
  a slow device), and an object that is Ready a moment later costs one status
  write, its outcome;
* **concurrent**: ``workers`` threads send them (one object is written by one
  thread at a time, so an object's writes stay in order);
* **retried**: a write that fails (API unreachable) is tried again with
  backoff until it succeeds or a newer status supersedes it, so an outcome is
  not lost to an API outage.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from nwi.model import ObjectKey
from nwi.status import ObjectStatus

log = logging.getLogger(__name__)

#: retries of a failed write back off from RETRY_BASE to RETRY_MAX seconds
RETRY_BASE, RETRY_MAX = 0.5, 10.0


@dataclass
class _Item:
    status: ObjectStatus
    due: float
    seq: int
    attempt: int = 0


class StatusWriter:
    """Sends ``write(key, status)`` for the latest status of each key, from a pool of threads."""

    def __init__(self, write: Callable[[ObjectKey, ObjectStatus], None], workers: int = 16,
                 transient_delay: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._write = write
        self.workers = workers
        self.transient_delay = transient_delay
        self._clock = clock
        self._cond = threading.Condition()
        self._items: dict[ObjectKey, _Item] = {}
        self._heap: list[tuple[float, int, ObjectKey]] = []  # (due, seq, key); stale seqs are skipped
        self._busy: set[ObjectKey] = set()
        self._seq = itertools.count()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    # ---- producers ---------------------------------------------------------------------------------
    def put(self, key: ObjectKey, status: ObjectStatus, transient: bool = False) -> None:
        """Write ``status`` for ``key`` soon (after ``transient_delay`` if ``transient``), replacing any unsent one."""
        due = self._clock() + (self.transient_delay if transient else 0.0)
        with self._cond:
            item = _Item(status, due, next(self._seq))
            self._items[key] = item
            heapq.heappush(self._heap, (due, item.seq, key))
            self._cond.notify()

    def pending(self, key: ObjectKey) -> ObjectStatus | None:
        """The status waiting to be written for ``key`` (the newest nwi decided), if any."""
        with self._cond:
            item = self._items.get(key)
            return item.status if item is not None else None

    def drop(self, key: ObjectKey) -> None:
        """Forget an unsent status (the object is gone)."""
        with self._cond:
            self._items.pop(key, None)

    def idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or being written; False on timeout."""
        deadline = self._clock() + timeout
        with self._cond:
            while self._items or self._busy:
                left = deadline - self._clock()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.5))
            return True

    # ---- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        for i in range(self.workers):
            thread = threading.Thread(target=self._loop, name=f"nwi-status-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(5)
        self._threads.clear()

    # ---- workers -------------------------------------------------------------------------------------
    def _take(self) -> tuple[ObjectKey, _Item] | None:
        """The next due item whose key no other thread is writing (waits for one); None when stopping."""
        with self._cond:
            parked: list[tuple[float, int, ObjectKey]] = []
            try:
                while not self._stopping:
                    now = self._clock()
                    while self._heap:
                        due, seq, key = self._heap[0]
                        item = self._items.get(key)
                        if item is None or item.seq != seq:
                            heapq.heappop(self._heap)  # superseded or written already
                            continue
                        if due > now:
                            break
                        heapq.heappop(self._heap)
                        if key in self._busy:
                            parked.append((due, seq, key))  # its previous write is on the wire: after that one
                            continue
                        del self._items[key]
                        self._busy.add(key)
                        return key, item
                    # parked keys are woken by their write's end (notify_all), the rest by their due time
                    wait = (self._heap[0][0] - now) if self._heap else None
                    for entry in parked:
                        heapq.heappush(self._heap, entry)
                    parked.clear()
                    self._cond.wait(wait)
                return None
            finally:
                for entry in parked:
                    heapq.heappush(self._heap, entry)

    def _loop(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            key, item = taken
            try:
                self._write(key, item.status)
            except Exception as exc:  # the API is down or refused: try again unless superseded meanwhile
                delay = min(RETRY_MAX, RETRY_BASE * 2 ** min(item.attempt, 10))
                log.warning("status of %s not written (%s); retrying in %.1fs", key, _short(exc), delay)
                with self._cond:
                    if key not in self._items:
                        retry = _Item(item.status, self._clock() + delay, next(self._seq), item.attempt + 1)
                        self._items[key] = retry
                        heapq.heappush(self._heap, (retry.due, retry.seq, key))
            finally:
                with self._cond:
                    self._busy.discard(key)
                    self._cond.notify_all()


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:200]
