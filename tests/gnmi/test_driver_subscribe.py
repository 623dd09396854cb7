"""The driver's STREAM subscription: a thread waiting on an idle stream stays asleep, and still
gets the next change."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from grpc import _common as grpc_common

from nwi.drivers.base import Change, Op, Transaction
from nwi.drivers.gnmi import STREAM_WAKEUP, GnmiDriver, Telemetry
from nwi.drivers.virtual import DeviceStore
from nwi.path import parse_path as P
from tests.gnmi.helpers import connected

CUSTOMER = P("/service/customer[customer-name=c1]")


@pytest.fixture
def driver() -> Iterator[GnmiDriver]:
    with connected(DeviceStore("r1", None)) as d:
        yield d


def test_grpc_still_has_the_wait_slice_nwi_widens() -> None:
    # a grpcio that renamed it would silently bring back ten wake-ups a second per idle stream
    assert grpc_common.MAXIMUM_WAIT_TIMEOUT == STREAM_WAKEUP


def test_an_idle_stream_wakes_its_thread_about_once_a_second_and_a_change_at_once(
        driver: GnmiDriver, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = threading.current_thread()  # replaced below by the reading thread
    wakeups = 0
    real_wait_once = grpc_common._wait_once

    def counting_wait_once(*args: Any) -> None:
        nonlocal wakeups
        if threading.current_thread() is reader:
            wakeups += 1
        real_wait_once(*args)

    monkeypatch.setattr(grpc_common, "_wait_once", counting_wait_once)
    received: queue.Queue[Telemetry] = queue.Queue()
    sub = driver.subscribe([P("/service")])

    def read() -> None:
        for telemetry in sub:
            received.put(telemetry)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert received.get(timeout=10).sync  # an empty device: the snapshot is just the sync
        before, start = wakeups, time.monotonic()
        time.sleep(3.0)  # the window the wake-ups are counted over (no condition to wait for: nothing happens)
        per_second = (wakeups - before) / (time.monotonic() - start)
        assert per_second <= 2.0, f"{per_second:.1f} wake-ups/s on an idle stream (grpc's default slice is 10/s)"

        driver.apply(Transaction("r1", [Change(Op.UPDATE, CUSTOMER, {"customer-name": "c1", "customer-id": 1})]))
        update = received.get(timeout=10)
        assert update.updates[P("/service/customer[customer-name=c1]/customer-id")] == 1
    finally:
        sub.cancel()
        reader.join(10)
