"""What idle drift subscriptions cost the operator's process: CPU per N streams with nothing to say.

The operator holds one gNMI STREAM subscription per device, each read by a
thread blocked on grpc's iterator. grpc wakes such a thread every 0.1 s
(``grpc._common.MAXIMUM_WAIT_TIMEOUT``) to let a main thread run its signal
handlers; nwi widens that slice to ``nwi.drivers.gnmi.STREAM_WAKEUP``. This
opens N subscriptions (``GnmiDriver.subscribe``, one thread each) on a mock
fleet (``bench.fleet``, its own processes), waits for every snapshot, and
measures this process's CPU while nothing changes: first with grpc's slice
(the baseline), then with nwi's, in the same run. ``python -m bench.idle_streams [N]``
prints the figures and their ratio as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from typing import Any

from grpc import _common as grpc_common

from bench.fleet import running_fleet
from bench.intents import PASSWORD, USERNAME, FleetSpec
from nwi.drivers.base import ConnectionParams
from nwi.drivers.gnmi import STREAM_WAKEUP, GnmiDriver, Subscription
from nwi.path import parse_path

GRPC_SLICE = 0.1  # grpc's own MAXIMUM_WAIT_TIMEOUT


def _cpu_share(seconds: float) -> float:
    """This process's CPU over the next ``seconds``, as a percentage of one core."""
    before, start = os.times(), time.monotonic()
    time.sleep(seconds)
    after = os.times()
    used = (after.user - before.user) + (after.system - before.system)
    return round(100 * used / (time.monotonic() - start), 2)


def measure(devices: int, seconds: float) -> dict[str, Any]:
    spec = FleetSpec(devices, devices)
    subs: list[Subscription] = []
    drivers: list[GnmiDriver] = []
    synced = threading.Semaphore(0)
    with running_fleet(spec.device_names(), USERNAME, PASSWORD) as fleet:
        try:
            for name, port in fleet.ports.items():
                driver = GnmiDriver(name, ConnectionParams("127.0.0.1", port, USERNAME, PASSWORD, insecure=True))
                driver.connect()
                drivers.append(driver)
                sub = driver.subscribe([parse_path("/service")])
                subs.append(sub)

                def read(sub: Subscription = sub) -> None:
                    for telemetry in sub:
                        if telemetry.sync:
                            synced.release()

                threading.Thread(target=read, name=f"read-{name}", daemon=True).start()
            for _ in subs:
                if not synced.acquire(timeout=60):
                    raise RuntimeError("a subscription sent no snapshot within 60 s")
            out: dict[str, Any] = {"streams": len(subs), "seconds": seconds}
            for label, slice_s in (("grpc_default", GRPC_SLICE), ("nwi", STREAM_WAKEUP)):
                grpc_common.MAXIMUM_WAIT_TIMEOUT = slice_s
                _cpu_share(min(2.0, slice_s * 2))  # let every thread start waiting in the new slice
                out[label] = {"wait_slice_s": slice_s, "cpu_percent_of_a_core": _cpu_share(seconds)}
            base, ours = out["grpc_default"]["cpu_percent_of_a_core"], out["nwi"]["cpu_percent_of_a_core"]
            out["ratio"] = round(ours / base, 3) if base else None
            return out
        finally:
            grpc_common.MAXIMUM_WAIT_TIMEOUT = STREAM_WAKEUP
            for sub in subs:
                sub.cancel()
            for driver in drivers:
                driver.close()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.idle_streams", description=__doc__.split("\n")[0])
    p.add_argument("devices", type=int, nargs="?", default=100)
    p.add_argument("--seconds", type=float, default=20.0, help="measuring window of each setting")
    a = p.parse_args(argv)
    print(json.dumps(measure(a.devices, a.seconds), indent=1))


if __name__ == "__main__":
    main()
