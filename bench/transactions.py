"""What a network-wide transaction costs: a grouped apply against per-device transactions.

The same 10k objects over 100 mock gNMI devices (``bench.fleet``, which
implement the Commit Confirmed extension) are applied from empty devices and
no state, alternately as per-device transactions (``nwi apply``) and as one
group (``nwi apply --atomic``: every device prepared wave by wave with a
revert timer, then confirmed), each run in a fresh child process
(``bench.worker``). The figures are printed with their ratio; the target
(under 1.5x) is reported, never asserted. ``python -m bench.transactions``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.fleet import running_fleet
from bench.intents import PASSWORD, USERNAME, FleetSpec, chain_depth, config_docs, inventory_docs, write_tree
from bench.run import _child, _progress

TARGET = 1.5


def measure(objects: int, devices: int, repeat: int, workers: int, servers: int) -> dict[str, Any]:
    spec = FleetSpec(objects, devices)
    configs = config_docs(spec)
    work = Path(tempfile.mkdtemp(prefix="nwi-bench-txn-"))
    runs: dict[str, list[dict[str, Any]]] = {"per-device": [], "grouped": []}
    try:
        with running_fleet(spec.device_names(), USERNAME, PASSWORD, processes=servers) as fleet:
            src = work / "intents"
            write_tree(src, configs, inventory_docs(spec, fleet.ports))
            for i in range(repeat):
                for mode, extra in (("per-device", []), ("grouped", ["--atomic"])):  # alternate: same weather
                    fleet.reset()
                    state = work / f"state-{mode}-{i}"
                    run = _child(["bench.worker", "apply", str(src), str(state), "--workers", str(workers), *extra])
                    if not run["ok"]:
                        raise SystemExit(f"{mode} apply did not bring every object to Ready: {run}")
                    runs[mode].append({**run, "device_sets": fleet.total("sets")})
                    _progress(f"{mode}: {run['total_s']:.2f}s (apply {run['apply_s']:.2f}s), "
                              f"{runs[mode][-1]['device_sets']} Sets")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    best = {mode: min(rs, key=lambda r: r["apply_s"]) for mode, rs in runs.items()}
    ratio = best["grouped"]["apply_s"] / best["per-device"]["apply_s"]
    return {"objects": objects, "devices": devices, "max_chain": chain_depth(configs), "repeat": repeat,
            "per_device": best["per-device"], "grouped": best["grouped"], "ratio": ratio,
            "target": TARGET, "met": ratio < TARGET}


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--objects", type=int, default=10_000)
    p.add_argument("--devices", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3, help="runs of each mode (the best apply time counts)")
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--servers", type=int, default=2, help="processes serving the mock devices")
    a = p.parse_args(argv)
    r = measure(a.objects, a.devices, a.repeat, a.workers, a.servers)
    pd, g = r["per_device"], r["grouped"]
    print(f"network-wide transactions: {r['objects']} objects over {r['devices']} devices "
          f"(dependency chains up to {r['max_chain']}), best of {r['repeat']}")
    print(f"  per-device transactions: apply {pd['apply_s']:.2f}s (total {pd['total_s']:.2f}s), "
          f"{pd['device_sets']} Sets")
    print(f"  one group (--atomic):    apply {g['apply_s']:.2f}s (total {g['total_s']:.2f}s), "
          f"{g['device_sets']} Sets")
    print(f"  ratio grouped/per-device: {r['ratio']:.2f}x (target < {TARGET}x: {'met' if r['met'] else 'NOT met'})")
    sys.stdout.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
