"""What checking against the device's YANG models costs, beside planning (``--yang-path``).

``python -m bench.schema --yang-path DIR`` (DIR: SR OS 19.7's models, the folder holding nokia-conf)
generates the benchmark's SR OS intent sets (``bench.intents``: L3VPN, Epipe, VPLS with their ports,
QoS policies, SDPs and customers, all valid against nokia-conf) and measures, each run in a fresh
process (``bench.worker schema``):

* compiling nokia-conf (once per run: a fresh process pays it in full),
* the per-object checks (path and properties of every object; what ``nwi validate``, ``plan`` and
  ``apply`` add),
* the per-device checks of ``nwi plan`` (each device's candidate tree validated whole by libyang),
* and, beside them, the plan itself as without models.

Best of ``--repeat`` runs per size, wall and CPU time; ratios to the plan and between sizes. Figures
are printed, never asserted. ``--smoke`` runs N=200 over 4 devices once (the test suite's check that
this runs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.intents import FleetSpec, config_docs, write_configs
from bench.run import DEFAULT_DIR, _child

PHASES = ("models", "objects", "plan", "devices")


def measure(yang_paths: Sequence[Path], sizes: Sequence[int], devices: int, repeat: int) -> list[dict[str, Any]]:
    workdir = Path(tempfile.mkdtemp(prefix="nwi-bench-schema-"))
    try:
        dirs = {n: workdir / f"schema-{n}" for n in sizes}
        for n, d in dirs.items():
            write_configs(d, config_docs(FleetSpec(n, devices)))
        runs: dict[int, list[dict[str, Any]]] = {n: [] for n in sizes}
        yang = [a for p in yang_paths for a in ("--yang-path", str(p))]
        for _ in range(repeat):  # the sizes take turns, so a slow spell falls on each alike
            for n in sizes:
                runs[n].append(_child(["bench.worker", "schema", str(dirs[n]), *yang]))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = []
    for n in sizes:
        best = dict(runs[n][0])
        for phase in PHASES:  # each phase's best: other load on the machine only ever adds time
            for unit in ("s", "cpu_s"):
                best[f"{phase}_{unit}"] = min(r[f"{phase}_{unit}"] for r in runs[n])
        best["runs"] = runs[n]
        rows.append(best)
    return rows


def table(rows: Sequence[dict[str, Any]]) -> str:
    lines = ["| objects | devices | compile nokia-conf | per-object checks | plan (no models) | objects/plan "
             "| per-device checks | devices/plan | device findings |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['objects']:,} | {r['devices']} | {r['models_s']:.2f} s | {r['objects_s']:.2f} s "
            f"({r['objects_cpu_s']:.2f} s CPU) | {r['plan_s']:.2f} s | {r['objects_s'] / r['plan_s']:.1f}x "
            f"| {r['devices_s']:.2f} s ({r['devices_cpu_s']:.2f} s CPU) | {r['devices_s'] / r['plan_s']:.1f}x "
            f"| {r['device_errors']} errors, {r['device_warnings']} warnings |")
    by_n = {r["objects"]: r for r in rows}
    if 10_000 in by_n and 100_000 in by_n:
        a, b = by_n[10_000], by_n[100_000]
        lines += ["", "t(100k)/t(10k): per-object checks "
                  f"{b['objects_s'] / a['objects_s']:.1f}, per-device checks {b['devices_s'] / a['devices_s']:.1f}, "
                  f"plan {b['plan_s'] / a['plan_s']:.1f}"]
    if 10_000 in by_n:
        r = by_n[10_000]
        met = "met" if r["objects_s"] < 0.5 else "not met"
        lines += ["", f"target: validating 10k objects adds < 0.5 s: per-object checks {r['objects_s']:.2f} s "
                  f"({met}); with the plan's per-device checks {r['objects_s'] + r['devices_s']:.2f} s"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.schema", description=__doc__.split("\n\n")[0])
    p.add_argument("--yang-path", type=Path, action="append",
                   default=[Path(x) for x in os.environ.get("NWI_YANG_PATH", "").split(":") if x],
                   help="SR OS 19.7's models (repeatable; default: NWI_YANG_PATH)")
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--devices", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--smoke", action="store_true", help="N=200 over 4 devices, once")
    p.add_argument("--out", type=Path, default=DEFAULT_DIR / "schema.json")
    a = p.parse_args(argv)
    if not a.yang_path:
        p.error("give --yang-path (or NWI_YANG_PATH): the directory of SR OS 19.7's models")
    if a.smoke:
        a.sizes, a.devices, a.repeat = [200], 4, 1
    rows = measure(a.yang_path, a.sizes, a.devices, a.repeat)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps({"load_average": list(os.getloadavg()), "rows": rows}, indent=2) + "\n")
    sys.stdout.write(table(rows) + "\n")


if __name__ == "__main__":
    main()
