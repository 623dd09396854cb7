"""One measurement in a fresh process, so each gets its own clock, imports and peak RSS.

* ``python -m bench.worker apply DIR STATE_DIR`` — what ``nwi apply -f DIR``
  does (load and validate, then the session's apply with the SQLite state),
  phases timed separately; the table rendering of the CLI is left out.
* ``python -m bench.worker plan DIR`` — what ``nwi plan -f DIR`` does up to
  its device reads (load and validate), then graph build + cycle check +
  plan (waves and per-device transactions simulated against empty devices),
  each timed.
* ``python -m bench.worker schema DIR --yang-path YANG`` — what ``--yang-path``
  adds to that: compiling the models, the per-object checks, the per-device
  checks of the plan, beside the plan itself.

Each prints one JSON line. Clocks start after the libraries are imported
(grpc and pygnmi included), as in ``bench.naive``: neither side is charged
for interpreter start-up or imports.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.intents import NAMESPACE
from bench.memory import peak_rss_mb


def apply(directory: Path, state_dir: Path, workers: int, atomic: bool = False) -> dict[str, Any]:
    import nwi.drivers.gnmi  # noqa: F401  (imported before the clock starts, as bench.naive imports pygnmi)
    from nwi.session import Options, Session, validate_inputs
    from nwi.status import Phase

    start = time.perf_counter()
    opts = Options(state_dir=state_dir, namespace=NAMESPACE, workers=workers, atomic=atomic)
    inputs = validate_inputs([directory], opts, cache=True)  # as `nwi apply` loads
    loaded = time.perf_counter()
    session = Session(opts, inputs)
    try:
        report = session.apply()
    finally:
        session.close()
    done = time.perf_counter()
    return {
        "event": "done",
        "objects": len(report.outcomes),
        "ready": report.count(Phase.READY),
        "ok": report.ok,
        "transactions": report.transactions,
        "load_s": loaded - start,
        "apply_s": done - loaded,
        "total_s": done - start,
        "peak_rss_mb": peak_rss_mb(),
    }


def plan(directory: Path) -> dict[str, Any]:
    from nwi.graph import DependencyGraph
    from nwi.planner import simulate_waves
    from nwi.session import Options, gc_paused, settle_heap, validate_inputs

    start = time.perf_counter()
    configs = validate_inputs([directory], Options(namespace=NAMESPACE)).configs  # as `nwi plan -f DIR` loads
    validated = time.perf_counter()
    with gc_paused():  # as Session.plan does
        graph = DependencyGraph.build(configs)  # includes the cycle check (strongly connected components)
        built = time.perf_counter()
        waves = graph.wave_numbers()
        devices = [o.spec.switch_id for o in configs]  # what the session's inventory resolves them to
        batches = simulate_waves(configs, waves, devices, {})
        settle_heap()
    done = time.perf_counter()
    if graph.cycles or graph.missing:
        raise SystemExit(f"generated set is broken: {len(graph.cycles)} on cycles, {len(graph.missing)} missing")
    return {
        "event": "done",
        "objects": len(configs),
        "devices": len(set(devices)),
        "waves": len(batches),
        "transactions": sum(len(w) for w in batches),
        "changes": sum(len(b.transaction.changes) for w in batches for b in w),
        "validate_s": validated - start,  # parse + validate the files, as `nwi plan` does first
        "graph_s": built - validated,
        "plan_s": done - validated,  # graph + cycle check + waves + simulated transactions
        "peak_rss_mb": peak_rss_mb(),
    }


def schema(directory: Path, yang_paths: Sequence[Path]) -> dict[str, Any]:
    """What ``--yang-path`` adds to ``nwi plan -f DIR``: compiling the kind's models (once per process),
    the per-object checks (as ``nwi validate``/``apply`` run them) and the per-device checks of the plan
    (each device's candidate tree validated whole), beside the plan they extend."""
    from nwi.graph import DependencyGraph
    from nwi.planner import simulate_waves
    from nwi.schema.check import check_configs
    from nwi.schema.kinds import KIND_MODELS
    from nwi.schema.plan import check_plan
    from nwi.session import Options, gc_paused, settle_heap, validate_inputs

    clock, cpu = time.perf_counter, time.process_time
    start = clock()
    configs = validate_inputs([directory], Options(namespace=NAMESPACE)).configs
    loaded, loaded_cpu = clock(), cpu()
    KIND_MODELS["SROSConfig"].load(yang_paths)  # compiled here, so the checks below are timed without it
    compiled, compiled_cpu = clock(), cpu()
    with gc_paused():
        report = check_configs(configs, yang_paths)
        checked, checked_cpu = clock(), cpu()
        graph = DependencyGraph.build(configs)
        devices = [o.spec.switch_id for o in configs]
        batches = simulate_waves(configs, graph.wave_numbers(), devices, {})
        planned, planned_cpu = clock(), cpu()
        # as against the virtual device: nwi knows each device's whole (here: empty) configuration
        result = check_plan(report, configs, devices, {}, {d: {} for d in set(devices)}, graph)
        settle_heap()
    done, done_cpu = clock(), cpu()
    if report.errors:
        raise SystemExit(f"generated set is not valid against the models: {report.errors[0]}")
    return {
        "event": "done",
        "objects": len(configs),
        "devices": len(set(devices)),
        "transactions": sum(len(w) for w in batches),
        "validate_s": loaded - start,  # parse + validate the files (no models)
        "models_s": compiled - loaded,  # compile nokia-conf (cold: a fresh process)
        "objects_s": checked - compiled,  # per-object checks
        "plan_s": planned - checked,  # the plan as without models
        "devices_s": done - planned,  # per-device candidate trees validated whole
        # the same phases in this process's CPU time: on a shared machine wall time also counts waiting
        "models_cpu_s": compiled_cpu - loaded_cpu,
        "objects_cpu_s": checked_cpu - compiled_cpu,
        "plan_cpu_s": planned_cpu - checked_cpu,
        "devices_cpu_s": done_cpu - planned_cpu,
        "device_errors": len(result.errors),
        "device_warnings": len(result.warnings),
        "inferred_edges": len(result.edges),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="One benchmark measurement (see bench.worker).")
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("apply")
    a.add_argument("directory", type=Path)
    a.add_argument("state_dir", type=Path)
    a.add_argument("--workers", type=int, default=16)
    a.add_argument("--atomic", action="store_true", help="the whole run as one network-wide transaction")
    p = sub.add_parser("plan")
    p.add_argument("directory", type=Path)
    y = sub.add_parser("schema")
    y.add_argument("directory", type=Path)
    y.add_argument("--yang-path", type=Path, action="append", required=True)
    args = parser.parse_args(argv)
    if args.command == "apply":
        result = apply(args.directory, args.state_dir, args.workers, args.atomic)
    elif args.command == "schema":
        result = schema(args.directory, args.yang_path)
    else:
        result = plan(args.directory)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
