"""The benchmark: measurements 1-6 of issue 7, a table, ``results.json`` and the time-vs-N curve.

Every measurement runs in a fresh child process (``bench.worker``,
``bench.naive``) against mock gNMI devices served by other child processes
(``bench.fleet``), so each number has its own clock and peak RSS and the
devices' CPU is not charged to nwi. Figures are printed as measured; the
targets of the issue are checked and reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.fleet import running_fleet
from bench.intents import (
    PASSWORD,
    USERNAME,
    FleetSpec,
    chain_depth,
    config_docs,
    inventory_docs,
    write_configs,
    write_tree,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# where a run's figures go unless --out/--png/--publish say otherwise: outside the source tree
DEFAULT_DIR = Path(tempfile.gettempdir()) / "nwi-bench"


@dataclass
class Config:
    plan_sizes: list[int]
    plan_devices: int
    apply_sizes: list[int]
    apply_devices: list[int]
    operator_runs: list[tuple[int, int]]  # (objects, devices) per operator run; empty: skip
    servers: int
    workers: int
    repeat: int
    plan_repeat: int
    smoke: bool
    out: Path
    png: Path | None
    keep: bool = False
    operator_only: bool = False  # keep the other figures of the results file, measure the operator only
    restart_sizes: list[tuple[int, int]] = field(default_factory=list)  # operator restarts over N Ready objects
    notes: list[str] = field(default_factory=list)


def _child(args: Sequence[str], timeout: float = 1800.0) -> dict[str, Any]:
    """Run ``python -m ARGS`` from the repo; its last stdout line is its JSON result."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    r = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout, cwd=REPO,
                       env=env)
    if r.returncode != 0:
        raise RuntimeError(f"python -m {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return result


# ---- 1. graph build + cycle check + plan -----------------------------------------------------
def measure_plan(cfg: Config, workdir: Path) -> list[dict[str, Any]]:
    # each size is the GitOps directory the apply runs read too (a file per device), loaded as
    # `nwi plan -f DIR` loads it; the sizes take turns (1k, 10k, 100k, 1k, ...): a slow spell of a
    # shared machine falls on every size alike instead of on one size's runs, which would skew the
    # growth ratio
    dirs = {n: workdir / f"plan-{n}" for n in cfg.plan_sizes}
    for n, d in dirs.items():
        write_configs(d, config_docs(FleetSpec(n, cfg.plan_devices)))
    by_size: dict[int, list[dict[str, Any]]] = {n: [] for n in cfg.plan_sizes}
    for _ in range(cfg.plan_repeat):
        for n in cfg.plan_sizes:
            by_size[n].append(_child(["bench.worker", "plan", str(dirs[n])]))
    if not cfg.keep:
        for d in dirs.values():
            shutil.rmtree(d, ignore_errors=True)
    rows = []
    for n, runs in by_size.items():
        best = min(runs, key=lambda r: r["plan_s"])  # best of N: the machine's other load only ever adds time
        best["runs_plan_s"] = [r["plan_s"] for r in runs]
        best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
        rows.append(best)
        _progress(f"plan N={n}: {best['plan_s']:.2f}s (graph {best['graph_s']:.2f}s), "
                  f"{best['waves']} waves, {best['transactions']} transactions")
    return rows


# ---- 2-5. apply, naive baseline, no-op re-apply, peak RSS -------------------------------------
def measure_apply(cfg: Config, n: int, m: int, workdir: Path) -> dict[str, Any]:
    spec = FleetSpec(n, m)
    configs = config_docs(spec)
    row: dict[str, Any] = {"objects": n, "devices": m, "max_chain": chain_depth(configs)}
    with running_fleet(spec.device_names(), USERNAME, PASSWORD, processes=cfg.servers) as fleet:
        src = workdir / f"intents-{n}-{m}"
        write_tree(src, configs, inventory_docs(spec, fleet.ports))
        state = workdir / f"state-{n}-{m}"
        workers = ["--workers", str(cfg.workers)]

        # nwi and the naive script take turns, each run from empty devices (nwi also from no state),
        # so that a slow spell of the machine falls on both sides; the last nwi run is re-applied
        firsts: list[dict[str, Any]] = []
        naives: list[dict[str, Any]] = []
        for i in range(cfg.repeat):
            fleet.reset()
            shutil.rmtree(state, ignore_errors=True)
            run = _child(["bench.worker", "apply", str(src), str(state), *workers])
            firsts.append({**run, "device_sets": fleet.total("sets"), "device_changes": fleet.total("changes"),
                           "device_reads": fleet.total("reads")})
            _progress(f"apply N={n} M={m}: nwi {run['total_s']:.2f}s (load {run['load_s']:.2f}s + apply "
                      f"{run['apply_s']:.2f}s), {firsts[-1]['device_sets']} Sets")
            if i == cfg.repeat - 1:
                nwi_state = fleet.digests()
                before = fleet.stats()
                again = _child(["bench.worker", "apply", str(src), str(state), *workers])
                after = fleet.stats()
                row["reapply"] = {**again,
                                  "device_writes": sum(after[d]["sets"] - before[d]["sets"] for d in after),
                                  "device_reads": sum(after[d]["reads"] - before[d]["reads"] for d in after),
                                  "unchanged": fleet.digests() == nwi_state}
                _progress(f"re-apply N={n} M={m}: {again['total_s']:.2f}s (apply {again['apply_s']:.2f}s), "
                          f"{row['reapply']['device_writes']} device writes")
            fleet.reset()
            run = _child(["bench.naive", str(src)])
            naives.append({**run, "device_sets": fleet.total("sets")})
            _progress(f"naive N={n} M={m}: {run['total_s']:.2f}s (apply {run['apply_s']:.2f}s)")
        row["nwi"] = first = {**_median(firsts), "runs_total_s": [r["total_s"] for r in firsts],
                              "ok": all(r["ok"] for r in firsts)}
        row["naive"] = naive = {**_median(naives), "runs_total_s": [r["total_s"] for r in naives]}
        row["same_device_state"] = fleet.digests() == nwi_state  # the naive script's last run, nwi's last
    row["ratio_total"] = naive["total_s"] / first["total_s"]
    row["ratio_apply"] = naive["apply_s"] / first["apply_s"]
    if not cfg.keep:
        shutil.rmtree(src, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
    return row


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median end-to-end time (of an even number, the slower middle one)."""
    return sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]


# ---- 6. operator ------------------------------------------------------------------------------
def measure_operator(cfg: Config) -> list[dict[str, Any]]:
    """One run per (objects, devices): a fresh apiserver, fleet and operator each (``bench.operator_mode``)."""
    from bench import operator_mode

    reason = operator_mode.unavailable()
    if reason:
        return [{"skipped": reason}]
    runs: list[dict[str, Any]] = []
    for objects, devices in cfg.operator_runs:
        _progress(f"operator N={objects} over {devices} devices: kube-apiserver, fleet, `nwi operator`, "
                  "`kubectl apply --server-side`")
        try:
            result = operator_mode.measure(objects, devices, workers=cfg.workers)
        except Exception as exc:  # report it in the results: the other measurements still stand
            runs.append({"objects": objects, "devices": devices,
                         "skipped": f"operator measurement failed: {type(exc).__name__}: {exc}"})
            continue
        result["log"] = _shown(Path(result["log"]))
        _progress(f"operator N={objects}: create {result['create_s']:.1f} s, all Ready {result['ready_s']:.1f} s "
                  f"(pace {result['pace_ratio']:.2f}), drift repaired in {result.get('drift_repair_s')} s")
        runs.append(result)
    return runs


def measure_restart(cfg: Config) -> dict[str, Any]:
    """The operator restarted over N objects already Ready, per size (``bench.operator_scale``)."""
    from bench import operator_mode, operator_scale

    reason = operator_mode.unavailable()
    if reason:
        return {"skipped": reason}
    _progress("operator restart over " + ", ".join(f"{n:,} Ready objects ({m} devices)" for n, m in cfg.restart_sizes)
              + ": seeded by nwi's own code, then `nwi operator` started over them")
    result = operator_scale.measure(cfg.restart_sizes, workers=cfg.workers)
    for run in result["runs"]:
        _progress(f"operator restart N={run['objects']}: primed {run['primed_s']:.1f} s, compared "
                  f"{run['compared_s']:.1f} s, RSS {run['rss_mb']:.0f} MB (peak {run['peak_rss_mb']:.0f} MB)")
    return result


def operator_runs(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The operator runs of a results document (older ones hold a single run, not a list)."""
    op = results.get("operator") or []
    return [r for r in (op if isinstance(op, list) else [op]) if isinstance(r, dict)]


# ---- targets, table, figure -------------------------------------------------------------------
def check_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []
    plan = {r["objects"]: r for r in results["plan"]}

    def add(name: str, value: Any, target: str, ok: bool | None) -> None:
        checks.append({"target": name, "measured": value, "limit": target, "ok": ok})

    if 10_000 in plan:
        add("plan 10k objects", f"{plan[10_000]['plan_s']:.2f} s", "< 1 s", plan[10_000]["plan_s"] < 1)
    if 100_000 in plan:
        add("plan 100k objects", f"{plan[100_000]['plan_s']:.2f} s", "< 10 s", plan[100_000]["plan_s"] < 10)
    if 10_000 in plan and 100_000 in plan:
        ratio = plan[100_000]["plan_s"] / plan[10_000]["plan_s"]
        add("plan t(100k)/t(10k)", f"{ratio:.1f}", "<= 12", ratio <= 12)
    for row in results["apply"]:  # speed targets at the sizes the issue names; correctness at every size
        n, m = row["objects"], row["devices"]
        tag = f"N={n} M={m}"
        re = row["reapply"]
        add(f"all Ready, same device state as naive {tag}", row["nwi"]["ok"] and row["same_device_state"], "yes",
            row["nwi"]["ok"] and row["same_device_state"])
        add(f"re-apply {tag}: device writes", re["device_writes"], "0", re["device_writes"] == 0)
        if (n, m) == (10_000, 100):
            add(f"apply {tag}: naive/nwi (end to end)", f"{row['ratio_total']:.1f}x", ">= 5x", row["ratio_total"] >= 5)
        if n == 10_000:
            add(f"re-apply {tag}: time (end to end)", f"{re['total_s']:.2f} s", "< 3 s", re["total_s"] < 3)
            rss = max(row["nwi"]["peak_rss_mb"], re["peak_rss_mb"])
            add(f"peak RSS {tag}", f"{rss:.0f} MB", "< 300 MB", rss < 300)
    for op in operator_runs(results):
        if "pace_ratio" not in op:
            add(f"operator {op.get('objects', '?')} objects", op.get("skipped", "not run"), "pace <= 1.25", None)
            continue
        tag = f"{op['objects']:,} objects / {op['devices']} devices"
        add(f"operator {tag}: all Ready / kubectl apply", f"{op['pace_ratio']:.2f}", "<= 1.25",
            op["all_ready"] and op["pace_ratio"] <= 1.25)
        if op["devices"] >= 100 and "drift_repair_s" in op:
            repair = op["drift_repair_s"]
            add(f"operator {tag}: hand change repaired", "not repaired" if repair is None else f"{repair:.2f} s",
                "< 3 s", repair is not None and repair < 3)
    for run in (results.get("operator_restart") or {}).get("runs", []):
        if run["objects"] == 100_000:
            add(f"operator over {run['objects']:,} Ready objects: RSS", f"{run['rss_mb']:.0f} MB "
                f"(peak {run['peak_rss_mb']:.0f} MB)", "< 1 GB", run["rss_mb"] < 1024)
    return checks


def table(results: dict[str, Any]) -> str:
    lines = ["Plan (graph build + cycle check + waves + per-device transactions, no device reads; best of "
             f"{results['config']['plan_repeat']})",
             "",
             "| objects | devices | load | graph+cycles | plan total | waves | transactions | peak RSS |",
             "|--------:|--------:|-----:|-------------:|-----------:|------:|-------------:|---------:|"]
    for r in results["plan"]:
        lines.append(f"| {r['objects']:,} | {r['devices']} | {r['validate_s']:.2f} s | {r['graph_s']:.2f} s | "
                     f"{r['plan_s']:.2f} s | {r['waves']} | {r['transactions']:,} | {r['peak_rss_mb']:.0f} MB |")
    lines += ["",
              "Apply to all Ready over mock gNMI devices (seconds, each side's median of "
              f"{results['config']['repeat']} runs; load = parse + validate the YAML, same loader for both)",
              "",
              "| objects | devices | nwi load | nwi apply | nwi total | Sets (nwi) | naive total | Sets (naive) "
              "| naive/nwi | re-apply total | re-apply writes | nwi peak RSS |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results["apply"]:
        nw, nv, re = r["nwi"], r["naive"], r["reapply"]
        lines.append(
            f"| {r['objects']:,} | {r['devices']} | {nw['load_s']:.2f} | {nw['apply_s']:.2f} | {nw['total_s']:.2f} | "
            f"{nw['device_sets']:,} | {nv['total_s']:.2f} | {nv['device_sets']:,} | {r['ratio_total']:.1f}x | "
            f"{re['total_s']:.2f} | {re['device_writes']} | {max(nw['peak_rss_mb'], re['peak_rss_mb']):.0f} MB |")
    lines += ["", "Operator (`kubectl apply --server-side` to a real kube-apiserver, time until all Ready; "
              "floor: the same apiserver's N creates / metadata patches / status patches at the operator's "
              "concurrency)", "",
              "| objects | devices | load | kubectl apply | all Ready | pace | API writes/object | RSS | "
              "restart: index / compared | drift repair | floor create / patch / status |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for op in operator_runs(results):
        if "pace_ratio" not in op:
            lines.append(f"| {op.get('objects', '?')} | {op.get('devices', '?')} | not measured: "
                         f"{op.get('skipped', 'disabled')} |||||||||")
            continue
        st, fl = op.get("startup") or {}, op.get("floor") or {}
        repair = op.get("drift_repair_s")
        lines.append(
            f"| {op['objects']:,} | {op['devices']} | {op['load_avg']['start']:.1f}-{op['load_avg']['end']:.1f} | "
            f"{op['create_s']:.1f} s | {op['ready_s']:.1f} s{'' if op['all_ready'] else ' (not all)'} | "
            f"{op['pace_ratio']:.2f} | {op['api_writes_per_object']:.2f} | {op['rss_mb']:.0f} MB | "
            f"{st.get('primed_s', '-')} s / {st.get('compared_s', '-')} s | "
            f"{'-' if repair is None else f'{repair:.2f} s'} | "
            f"{fl.get('create_s', '-')} / {fl.get('metadata_patch_s', '-')} / {fl.get('status_patch_s', '-')} s |")
    restart = results.get("operator_restart") or {}
    if restart.get("runs"):
        from bench.operator_scale import table as restart_table

        lines += ["", "Operator restart over N objects already Ready (seeded by nwi's own code; RSS once steady)", "",
                  restart_table(restart)]
    lines += ["", "Targets", "", "| target | measured | limit | met |", "|---|---:|---:|:---:|"]
    for c in results["targets"]:
        met = "yes" if c["ok"] else ("no" if c["ok"] is False else "n/a")
        lines.append(f"| {c['target']} | {c['measured']} | {c['limit']} | {met} |")
    return "\n".join(lines)


def draw(results: dict[str, Any], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    plan = results["plan"]
    xs = [r["objects"] for r in plan]
    left.plot(xs, [r["plan_s"] for r in plan], "o-", label="plan (graph + cycles + transactions)")
    left.plot(xs, [r["graph_s"] for r in plan], "s--", label="graph + cycle check")
    if xs:
        unit = plan[0]["plan_s"] / xs[0]
        left.plot(xs, [unit * x for x in xs], ":", color="grey", label="linear from the smallest N")
    left.set(xscale="log", yscale="log", xlabel="objects (N)", ylabel="seconds", title="Planning time vs N")
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    for m in sorted({r["devices"] for r in results["apply"]}):
        rows = sorted((r for r in results["apply"] if r["devices"] == m), key=lambda r: r["objects"])
        ns = [r["objects"] for r in rows]
        right.plot(ns, [r["nwi"]["total_s"] for r in rows], "o-", label=f"nwi, M={m}")
        right.plot(ns, [r["naive"]["total_s"] for r in rows], "x--", label=f"naive, M={m}")
        right.plot(ns, [r["reapply"]["total_s"] for r in rows], "^:", label=f"nwi re-apply (no-op), M={m}")
    right.set(xscale="log", yscale="log", xlabel="objects (N)", ylabel="seconds (end to end)",
              title="Apply to all Ready vs N")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8)
    fig.suptitle(f"nwi benchmark on {results['machine']['cpus']} CPU(s), Python {results['machine']['python']}",
                 fontsize=10)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110)
    plt.close(fig)


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def run(cfg: Config) -> dict[str, Any]:
    started = time.perf_counter()
    results: dict[str, Any] = {
        "smoke": cfg.smoke,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "load_average_at_start": list(os.getloadavg())},
        "config": {k: (_shown(v) if isinstance(v, Path) else v) for k, v in vars(cfg).items()},
    }
    if cfg.operator_only:
        kept = json.loads(cfg.out.read_text()) if cfg.out.exists() else {}
        this_run = results["config"]
        results = {**kept, **{k: v for k, v in results.items() if k != "config"}}
        # the kept figures' own settings, where there are any (a first run into a new file has none)
        config = {k: v for k, v in kept.get("config", {}).items() if k not in ("operator_objects", "operator_devices")}
        results["config"] = {**this_run, **config, "operator_runs": cfg.operator_runs, "workers": cfg.workers,
                             "restart_sizes": cfg.restart_sizes}
        results.setdefault("plan", [])
        results.setdefault("apply", [])
    else:
        workdir = Path(tempfile.mkdtemp(prefix="nwi-bench-"))
        try:
            results["plan"] = measure_plan(cfg, workdir)
            results["apply"] = [measure_apply(cfg, n, m, workdir) for n in cfg.apply_sizes
                                for m in cfg.apply_devices]
        finally:
            if not cfg.keep:
                shutil.rmtree(workdir, ignore_errors=True)
    if cfg.operator_runs:
        results["operator"] = measure_operator(cfg)
    elif not (cfg.operator_only and results.get("operator")):  # --operator-only --operator 0: keep them
        results["operator"] = [{"skipped": "disabled (--operator 0)"}]
    if cfg.restart_sizes:
        results["operator_restart"] = measure_restart(cfg)
    elif not cfg.operator_only:
        results["operator_restart"] = {"skipped": "disabled (--restart-sizes 0)"}
    results["targets"] = check_targets(results)
    results["machine"]["load_average_at_end"] = list(os.getloadavg())
    results["seconds"] = time.perf_counter() - started
    return results


def _shown(path: Path) -> str:
    """A path as results.json records it: relative to the tree when in it (published figures name no
    machine's directories)."""
    resolved = path.resolve()
    return str(resolved.relative_to(REPO)) if resolved.is_relative_to(REPO) else str(path)


def _run_spec(text: str) -> tuple[int, int]:
    """``OBJECTS[:DEVICES]`` (devices default to one per 100 objects, at least 1)."""
    objects, _, devices = text.partition(":")
    try:
        n = int(objects)
        return n, int(devices) if devices else max(1, n // 100)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected OBJECTS or OBJECTS:DEVICES") from None


def parse_args(argv: Sequence[str] | None) -> Config:
    p = argparse.ArgumentParser(prog="python -m bench", description="nwi at fleet scale (issue 7).")
    p.add_argument("--smoke", action="store_true", help="N=200 over 4 devices, no operator: a check that it runs.")
    p.add_argument("--plan-sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    p.add_argument("--plan-devices", type=int, default=100)
    p.add_argument("--apply-sizes", type=int, nargs="+", default=[1_000, 10_000])
    p.add_argument("--apply-devices", type=int, nargs="+", default=[10, 100])
    p.add_argument("--operator", type=_run_spec, nargs="+", default=[(5_000, 50), (10_000, 100)],
                   metavar="OBJECTS[:DEVICES]", help="operator runs (default: 5000:50 10000:100; 0: skip)")
    p.add_argument("--restart-sizes", type=_run_spec, nargs="+", default=[(10_000, 100), (100_000, 100)],
                   metavar="OBJECTS[:DEVICES]",
                   help="operator restarts over N objects already Ready (default: 10000:100 100000:100; 0: skip)")
    p.add_argument("--operator-only", action="store_true",
                   help="only the operator runs and restarts; the other figures are kept from the results file being "
                        "written (with --publish: the committed one), the operator runs too with --operator 0")
    p.add_argument("--servers", type=int, default=2, help="mock gNMI server processes")
    p.add_argument("--workers", type=int, default=16, help="nwi's concurrent devices")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs of the first apply and of the naive apply (each side's median is reported)")
    p.add_argument("--plan-repeat", type=int, default=5,
                   help="planning runs per size (the best is reported: a 10k plan takes a tenth of a second, "
                        "and the machine's other load only ever adds time)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"where the JSON results go (default: {DEFAULT_DIR / 'results.json'})")
    p.add_argument("--png", type=Path, default=None,
                   help=f"the time-vs-N figure (default: {DEFAULT_DIR / 'scaling.png'})")
    p.add_argument("--publish", action="store_true",
                   help="write over the committed bench/results.json and bench/scaling.png (the README's figures)")
    p.add_argument("--no-png", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the generated intents and state")
    a = p.parse_args(argv)
    if a.publish and (a.out or a.png or a.smoke or a.no_png):
        p.error("--publish writes the committed figures of a full run: it takes no --out, --png, --no-png or --smoke")
    # a run writes outside the tree unless it means to publish: the committed figures are the README's
    out_dir = HERE if a.publish else DEFAULT_DIR
    a.out = a.out or out_dir / "results.json"
    a.png = a.png or out_dir / "scaling.png"
    if a.smoke:
        a.plan_sizes, a.plan_devices, a.apply_sizes, a.apply_devices = [200], 4, [200], [4]
        a.operator, a.restart_sizes, a.repeat, a.plan_repeat = [(0, 0)], [(0, 0)], 1, 1
    return Config(plan_sizes=a.plan_sizes, plan_devices=a.plan_devices, apply_sizes=a.apply_sizes,
                  apply_devices=a.apply_devices, operator_runs=[r for r in a.operator if r[0] > 0],
                  restart_sizes=[r for r in a.restart_sizes if r[0] > 0],
                  servers=a.servers, workers=a.workers, repeat=a.repeat, plan_repeat=a.plan_repeat, smoke=a.smoke,
                  out=a.out, png=None if a.no_png else a.png, keep=a.keep, operator_only=a.operator_only)


def main(argv: Sequence[str] | None = None) -> None:
    cfg = parse_args(argv)
    results = run(cfg)
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(json.dumps(results, indent=2) + "\n")
    if cfg.png is not None:
        draw(results, cfg.png)
    print(table(results))
    print(f"\nresults: {cfg.out}" + (f", figure: {cfg.png}" if cfg.png else "") + f" ({results['seconds']:.0f} s)")
