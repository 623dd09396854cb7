"""The operator at repository scale: a restart over N objects that exist already and are Ready.

Creating 100,000 objects through ``kubectl apply`` takes over half an hour on
this machine, and a first operator brings new objects to Ready at its own
pace (``bench.operator_mode`` measures that). What this module measures is
the operator's steady state over a repository in sync, as an operator restart
(a new version rolled out, a node drained) finds it. The objects are put
exactly where a previous operator would have left them, by nwi's own code:

* the devices hold the config: the same intents applied with nwi's CLI
  (``bench.worker apply``, as the fleet benchmark does) to the mock fleet;
* each object is created by a concurrent HTTP client (as kubectl's field
  manager) with nwi's finalizer and kopf's marker annotation, then given
  through the status subresource the status nwi derives for an applied object
  (``build_object`` → ``desired_hash``, ``nwi.status.derive_status``).

Then ``nwi operator`` starts over them and the run records, per size:

* ``seed``: how long creating and the status writes took (not the operator's);
* ``primed_s``: from the operator's start until its priming list is indexed;
* ``compared_s``: until every object was compared with its device's stream
  (``nwi_subscription_checks_total`` ≥ N, every device subscribed);
* ``resumed_s``: until kopf's own pass over the objects it listed (a worker
  each, running nwi's resume handler: ``nwi_handler_calls_total`` ≥ N) is done;
* ``api_writes``: the writes it made meanwhile (the apiserver's counters;
  expected: none but its lease/endpoints), ``reconciled``: engine runs;
* ``rss_mb`` / ``peak_rss_mb`` / ``threads``: the operator's VmRSS, VmHWM and
  threads once its RSS is steady (within 2 % for ``settle_s``: kopf's own
  pass over the listed objects, a worker and a resume handler each, goes on
  after the comparison), sampled each second (``rss_series_mb``), and
  ``kb_per_object``: RSS over the operator's RSS with no object (measured in
  the same run), per object.

Then kopf alone (``bench.kopf_bare``: nwi's settings, handlers that do
nothing) runs over the same objects (``kopf_alone``): its RSS once its own
start-up pass is done is kopf's part; the rest of the operator's is nwi's.

``NWI_TRACEMALLOC`` set in the environment makes the operator trace its
allocations (``nwi.operator.memtrace``); ``--tracemalloc`` writes a
snapshot of the largest run's operator at the end, for ``python -m
nwi.operator.memtrace top``.

    python -m bench.operator_scale 10000 100000    # prints the JSON of the runs
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bench.intents import NAMESPACE, config_docs, write_tree
from bench.operator_mode import (
    PLURAL,
    REPO,
    OperatorProcess,
    _diff,
    _harness,
    _metric,
    _rss_mb,
    api_writes,
    fresh_cluster,
)
from nwi.kinds import GROUP, VERSION

#: devices unless told otherwise: the operator benchmark's 10k run has 100, and the same 100 at 100k keep
#: the ratio a ratio of objects (a device costs the operator a stream, a thread and a channel of its own)
DEVICES = 100


def seeded(docs: Iterable[dict[str, Any]], device_docs: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any],
                                                                                                   dict[str, Any]]]:
    """(the object as a previous operator left it, its status): nwi's finalizer and kopf's marker of nwi's prefix
    on the object (kopf's diff base is in the operator's memory: ``nwi.operator.diffbase``), the status nwi
    writes for an applied object."""
    from nwi.inventory import Inventory
    from nwi.loader import build_object
    from nwi.model import ConfigObject, DeviceObject, Source
    from nwi.operator.handlers import FINALIZER, MARKER
    from nwi.operator.kubeapi import without_empty
    from nwi.status import Outcome, Phase, Reason, derive_status

    devices = [build_object({"kind": "Device", **d}, Source("bench"), NAMESPACE) for d in device_docs]
    inventory = Inventory([d for d in devices if isinstance(d, DeviceObject)], (), NAMESPACE, strict=True, environ={})
    for doc in docs:
        obj = build_object(doc, Source("bench"), NAMESPACE)
        assert isinstance(obj, ConfigObject)
        meta = doc["metadata"]
        body = {**doc, "metadata": {**meta, "finalizers": [FINALIZER],
                                    "annotations": {**meta.get("annotations", {}), MARKER: "yes"}}}
        # generation 1: a new object's, and its spec is never changed here
        status = derive_status(Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash=obj.desired_hash,
                                       wrote=True), None, 1, inventory.resolve(obj).id)
        yield body, without_empty(status.to_dict())


#: the field manager of nwi's status writes (the Kubernetes client's user agent)
STATUS_MANAGER = "OpenAPI-Generator"


async def _seed(url: str, token: str, items: Iterable[tuple[dict[str, Any], dict[str, Any]]],
                concurrency: int) -> None:
    """Create each object, then write its status, ``concurrency`` requests at a time."""
    import aiohttp

    base = f"{url}/apis/{GROUP}/{VERSION}/namespaces/{NAMESPACE}/{PLURAL}"
    todo = iter(items)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency, ssl=False),
                                     headers={"Authorization": f"Bearer {token}"}) as http:
        async def check(resp: aiohttp.ClientResponse, what: str) -> None:
            if resp.status >= 300:
                raise RuntimeError(f"{what}: HTTP {resp.status}: {(await resp.text())[:500]}")

        async def worker() -> None:
            for body, status in todo:  # one shared iterator: each item is taken once
                name = body["metadata"]["name"]
                # as kubectl's field manager: the managedFields entry (most of what a body carries beyond
                # the spec) is the one `kubectl apply --server-side` leaves but for its operation (Update
                # here, Apply there); a server-side apply costs the apiserver twice as much as a create
                async with http.post(base, params={"fieldManager": "kubectl"}, json=body) as resp:
                    await check(resp, f"create {name}")
                async with http.patch(f"{base}/{name}/status", params={"fieldManager": STATUS_MANAGER},
                                      data=json.dumps({"status": status}),
                                      headers={"Content-Type": "application/merge-patch+json"}) as resp:
                    await check(resp, f"status of {name}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def seed_objects(server: Any, docs: list[dict[str, Any]], device_docs: list[dict[str, Any]],
                 concurrency: int = 32) -> float:
    """Create ``docs`` Ready (see :func:`seeded`); the seconds it took."""
    kube = _harness()
    start = time.perf_counter()
    asyncio.run(_seed(server.url, kube.ADMIN_TOKEN, seeded(docs, device_docs), concurrency))
    return time.perf_counter() - start


def _apply_to_devices(src: Path, state: Path, workers: int) -> dict[str, Any]:
    """The same intents applied by nwi's CLI (``bench.worker apply``): the devices hold what the objects say."""
    r = subprocess.run([sys.executable, "-m", "bench.worker", "apply", str(src), str(state), "--workers",
                        str(workers)], capture_output=True, text=True, cwd=REPO, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"bench.worker apply failed: {r.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


def _idle_rss(server: Any, work: Path, workers: int) -> dict[str, float]:
    """The operator's RSS over no object (a namespace with none): its fixed part."""
    op = OperatorProcess(server, work, "operator-empty", workers, None, namespace="bench-empty")
    try:
        op.wait_healthy()
        _harness().wait_for(lambda: "primed:" in op.log.read_text(errors="replace"), 120, "the empty priming list")
        return _rss_mb(op.pid)
    finally:
        op.stop()


def steady_rss(pid: int, window: float, timeout: float, interval: float = 1.0) -> tuple[bool, list[float]]:
    """Sample the process's RSS every ``interval`` until it stayed within 2 % (at least 2 MB) for ``window``
    seconds (True), or ``timeout`` passed (False); the samples."""
    series: list[float] = []
    start = time.monotonic()
    per_window = max(2, int(window / interval) + 1)
    while time.monotonic() - start < timeout:
        series.append(_rss_mb(pid)["rss_mb"])
        last = series[-per_window:]
        if len(last) == per_window and max(last) - min(last) <= max(2.0, 0.02 * max(last)):
            return True, series
        time.sleep(interval)  # the sampling period of the measurement, not a wait for a condition
    return False, series


def _kopf_alone(server: Any, log: Path, namespace: str, objects: int, settle_s: float) -> dict[str, Any]:
    """One run of ``bench.kopf_bare`` in ``namespace``: until its pass is done and its RSS steady."""
    from nwi.operator.kubeapi import LIST_PAGE

    kube = _harness()
    started = time.perf_counter()
    with open(log, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "bench.kopf_bare", str(server.kubeconfig), namespace,
                                 str(objects), "--chunk-size", str(LIST_PAGE)], stdout=sink, stderr=subprocess.STDOUT,
                                cwd=REPO)
    try:
        def resumed() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"bench.kopf_bare exited with {proc.returncode}; log: {log}")
            return f"resumed: {objects}" in log.read_text(errors="replace")

        kube.wait_for(resumed, 120 + objects / 20, f"kopf's resume handler on every object (log: {log})", 0.25)
        out: dict[str, Any] = {"resumed_s": round(time.perf_counter() - started, 2),
                               "rss_at_resumed_mb": _rss_mb(proc.pid)["rss_mb"]}
        out["steady"], out["rss_series_mb"] = steady_rss(proc.pid, settle_s, 120 + objects / 200)
        out.update(_rss_mb(proc.pid))
        return out
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure_kopf_alone(server: Any, work: Path, objects: int, settle_s: float) -> dict[str, Any]:
    """kopf with nwi's settings and handlers that do nothing (``bench.kopf_bare``) over the same objects, and
    over none (its fixed part: ``base_rss_mb``)."""
    base = _kopf_alone(server, work / "kopf-alone-empty.log", "bench-empty", 0, 2.0)["rss_mb"]
    before = api_writes(server)
    out = _kopf_alone(server, work / "kopf-alone.log", NAMESPACE, objects, settle_s)
    out["api_writes"] = _diff(api_writes(server), before)
    out["base_rss_mb"] = base
    out["kb_per_object"] = round((out["rss_mb"] - base) * 1024 / objects, 2)
    return out


def measure_one(objects: int, devices: int, workers: int = 16, settle_s: float = 10.0,
                tracemalloc: Path | None = None, kopf_alone: bool = True) -> dict[str, Any]:
    """One size: fresh apiserver and fleet, the objects seeded Ready, then an operator started over them."""
    with fresh_cluster(objects, devices, workers, "nwi-bench-scale-") as cluster:
        kube, server, fleet, spec, work, result, device_docs = (
            cluster.kube, cluster.server, cluster.fleet, cluster.spec, cluster.work, cluster.result,
            cluster.device_docs)
        server.kubectl("create", "namespace", "bench-empty")
        docs = config_docs(spec)
        src = work / "intents"
        write_tree(src, docs, device_docs)
        cli = _apply_to_devices(src, work / "cli-state", workers)
        shutil.rmtree(src, ignore_errors=True)
        if not cli.get("ok") or cli.get("ready") != objects:
            raise RuntimeError(f"the CLI did not bring all {objects} objects onto the devices: {cli}")
        sets_before = fleet.total("sets")
        result["seed"] = {"cli_apply_s": round(cli["total_s"], 2),
                          "create_and_status_s": round(seed_objects(server, docs, device_docs), 2)}
        del docs
        result["base_rss_mb"] = base_rss_mb = _idle_rss(server, work, workers)["rss_mb"]
        before = api_writes(server)
        env = {"NWI_TRACEMALLOC": str(tracemalloc)} if tracemalloc is not None else {}
        op = OperatorProcess(server, work, "operator-scale", workers, None, env=env)
        try:
            op.wait_healthy()
            kube.wait_for(lambda: "primed:" in op.log.read_text(errors="replace"), 60 + objects / 200,
                          f"the operator's priming list (log: {op.log})", 0.1)
            result["primed_s"] = round(time.perf_counter() - op.started, 2)
            result.update(_rss_mb(op.pid))  # overwritten below: kept only if the comparison never ends
            kube.wait_for(lambda: _metric(op.metrics(), "nwi_subscription_checks_total") >= objects
                          and _metric(op.metrics(), "nwi_subscribed_devices") >= devices, 120 + objects / 50,
                          f"every object compared with its device's stream (log: {op.log})", 0.25)
            result["compared_s"] = round(time.perf_counter() - op.started, 2)
            result["rss_at_compared_mb"] = _rss_mb(op.pid)["rss_mb"]
            # kopf's own pass over what it listed: a worker per object, which calls the resume handler
            kube.wait_for(lambda: _metric(op.metrics(), "nwi_handler_calls_total") >= objects, 120 + objects / 20,
                          f"kopf's resume handler on every object (log: {op.log})", 0.25)
            result["resumed_s"] = round(time.perf_counter() - op.started, 2)
            result["rss_at_resumed_mb"] = _rss_mb(op.pid)["rss_mb"]
            # its workers end 5 s after their last event: the steady state is when RSS stops moving
            steady, series = steady_rss(op.pid, settle_s, 120 + objects / 200)
            result["steady_after_s"] = round(time.perf_counter() - op.started, 2) if steady else None
            result["rss_series_mb"] = series
            result.update(_rss_mb(op.pid))
            result["kb_per_object"] = round((result["rss_mb"] - base_rss_mb) * 1024 / objects, 2)
            result["api_writes"] = _diff(api_writes(server), before)
            result["device_writes"] = fleet.total("sets") - sets_before
            result["reconciled"] = _metric(op.metrics(), "nwi_reconciles_total")
            if tracemalloc is not None:
                tracemalloc.unlink(missing_ok=True)
                os.kill(op.pid, signal.SIGUSR2)
                kube.wait_for(tracemalloc.exists, 600, "the operator's tracemalloc snapshot", 0.5)
                result["tracemalloc"] = str(tracemalloc)
        finally:
            op.stop()
        if kopf_alone:
            result["kopf_alone"] = measure_kopf_alone(server, work, objects, settle_s)
    result["log"] = str(op.log)
    return result


def measure(sizes: list[tuple[int, int]], workers: int = 16, settle_s: float = 10.0,
            tracemalloc: Path | None = None, kopf_alone: bool = True) -> dict[str, Any]:
    """Every size in turn (the first is the baseline of the ratios), each on a fresh apiserver and fleet."""
    runs: list[dict[str, Any]] = []
    for i, (objects, devices) in enumerate(sizes):
        last = i == len(sizes) - 1
        runs.append(measure_one(objects, devices, workers, settle_s, tracemalloc if last else None, kopf_alone))
    return {"runs": runs, "ratios": ratios(runs)}


def ratios(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each run against the first: objects, start-up times and RSS growth over the operator's fixed part."""
    if not runs:
        return []
    base = runs[0]
    out = []
    for run in runs[1:]:
        row: dict[str, Any] = {"objects": f"{run['objects']}/{base['objects']}",
                               "objects_ratio": round(run["objects"] / base["objects"], 2)}
        for key in ("primed_s", "compared_s"):
            if run.get(key) and base.get(key):
                row[key] = round(run[key] / base[key], 2)
        grown, grown_base = run["rss_mb"] - run["base_rss_mb"], base["rss_mb"] - base["base_rss_mb"]
        if grown_base > 0:
            row["rss_growth"] = round(grown / grown_base, 2)
        row["rss_mb"] = round(run["rss_mb"] / base["rss_mb"], 2)
        out.append(row)
    return out


def table(result: dict[str, Any]) -> str:
    lines = ["| objects | devices | seeded in | primed | compared | kopf's pass | API writes | reconciled | RSS | "
             "peak RSS | KB/object | kopf alone: RSS / peak / KB/object |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["runs"]:
        writes = sum(v for k, v in r.get("api_writes", {}).items() if k not in ("endpoints", "leases"))
        ka = r.get("kopf_alone") or {}
        alone = (f"{ka['rss_mb']:.0f} MB / {ka['peak_rss_mb']:.0f} MB / {ka['kb_per_object']:.1f}" if ka else "-")
        lines.append(f"| {r['objects']:,} | {r['devices']} | {r['seed']['create_and_status_s']:.0f} s | "
                     f"{r.get('primed_s', 0):.1f} s | {r.get('compared_s', 0):.1f} s | {r.get('resumed_s', 0):.1f} s | "
                     f"{writes} | {r.get('reconciled', 0):.0f} | {r.get('rss_mb', 0):.0f} MB | "
                     f"{r.get('peak_rss_mb', 0):.0f} MB | {r.get('kb_per_object', 0):.1f} | {alone} |")
    for row in result["ratios"]:
        lines.append(f"ratios {row['objects']}: " + ", ".join(f"{k} {v}" for k, v in row.items() if k != "objects"))
    return "\n".join(lines)


def _size(text: str) -> tuple[int, int]:
    objects, _, devices = text.partition(":")
    n = int(objects)
    return n, int(devices) if devices else min(n, DEVICES)


def main(argv: list[str] | None = None) -> None:
    import argparse

    p = argparse.ArgumentParser(description="Operator restart over N Ready objects; prints its JSON.")
    p.add_argument("sizes", type=_size, nargs="+", metavar="OBJECTS[:DEVICES]",
                   help=f"devices: {DEVICES} unless given")
    p.add_argument("--workers", type=int, default=16)
    p.add_argument("--settle", type=float, default=10.0, help="seconds RSS must stay steady before it is read")
    p.add_argument("--tracemalloc", type=Path, help="a tracemalloc snapshot of the last size's operator to this file")
    p.add_argument("--no-kopf-alone", action="store_true", help="skip kopf alone over the same objects")
    a = p.parse_args(argv)
    result = measure(a.sizes, a.workers, a.settle, a.tracemalloc, not a.no_kopf_alone)
    print(table(result), file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
