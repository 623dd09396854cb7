"""The naive baseline: one gNMI Set per object, in dependency order, one reused pygnmi connection per device.

This is what a straightforward script does with the same repository: read
the files (with nwi's own loader, so both sides pay the same parsing cost),
order the objects with :class:`graphlib.TopologicalSorter`, and push each
object as its own SetRequest, waiting for the answer before the next one.
It makes no reads and no diffing, so it does strictly less work per object
than nwi. Run as ``python -m bench.naive DIR``; prints one JSON line.
"""

from __future__ import annotations

import argparse
import graphlib
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from pygnmi.client import gNMIclient

from bench.memory import peak_rss_mb
from nwi.loader import load_paths
from nwi.model import ConfigObject, ObjectKey

_OPS = {"merge": "update", "replace": "replace"}


def naive_apply(directory: str) -> dict[str, Any]:
    start = time.perf_counter()
    inputs = load_paths([directory], "default")
    if inputs.errors:
        raise SystemExit("\n".join(map(str, inputs.errors)))
    secrets = {s.key.name: s.data for s in inputs.secrets}
    devices = {d.key.name: d for d in inputs.devices}
    by_key: dict[ObjectKey, ConfigObject] = {o.key: o for o in inputs.configs}
    loaded = time.perf_counter()
    order = graphlib.TopologicalSorter({k: o.depends_on for k, o in by_key.items()}).static_order()
    clients: dict[str, gNMIclient] = {}
    sets = 0
    try:
        for key in order:
            obj = by_key[key]
            device = devices[obj.spec.switch_id]
            client = clients.get(device.key.name)
            if client is None:
                assert device.spec.credentials_secret_ref is not None
                creds = secrets[device.spec.credentials_secret_ref.name]
                client = gNMIclient(target=(device.address, device.spec.default_port()), username=creds["username"],
                                    password=creds["password"], insecure=True)
                client.connect()
                clients[device.key.name] = client
            path = obj.device_path.render()
            if obj.spec.operation == "delete":
                client.set(delete=[path], encoding="json_ietf")
            else:
                client.set(**{_OPS[obj.spec.operation]: [(path, json.dumps(obj.properties))]},
                           encoding="json_ietf")
            sets += 1
    finally:
        for client in clients.values():
            client.close()
    done = time.perf_counter()
    return {"event": "done", "objects": len(by_key), "sets": sets, "devices": len(clients),
            "load_s": loaded - start, "apply_s": done - loaded, "total_s": done - start,
            "peak_rss_mb": peak_rss_mb()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Apply a directory the naive way (see bench.naive).")
    parser.add_argument("directory")
    args = parser.parse_args(argv)
    logging.getLogger("pygnmi").setLevel(logging.CRITICAL)
    sys.stdout.write(json.dumps(naive_apply(args.directory)) + "\n")


if __name__ == "__main__":
    main()
