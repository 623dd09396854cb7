"""The operator's memory per object, without an apiserver: its index filled as the watch would fill it.

Creating 100,000 objects through ``kubectl apply`` on this machine takes over
half an hour, so the 100k figure is extrapolated: the operator's RSS is its
fixed part (interpreter, kopf, gRPC, the Kubernetes client: measured with no
object) plus what it keeps per object. What it keeps is its index (the entry
built from each watch event: the validated object, its status, the reverse
dependency edges) and the drift watch's per-object cache; kopf keeps no body
(no informer cache), only a small per-object memory record. This fills an
:class:`~nwi.operator.index.ObjectIndex` exactly as the watch handler does
(``entry_of`` on the documents the apiserver returns, status included), runs
the drift watch's planning over it, and reports the RSS growth per object at
each size, as measured in a fresh child process per size.

    python -m bench.operator_memory 10000 100000
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from typing import Any

from bench.intents import NAMESPACE, FleetSpec, config_docs
from bench.memory import peak_rss_mb


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure_one(objects: int) -> dict[str, Any]:
    """In this process: RSS before and after indexing ``objects`` objects (devices: one per 100)."""
    from nwi.loader import build_object
    from nwi.model import ConfigObject, DeviceObject, Source
    from nwi.operator.controller import entry_of
    from nwi.operator.index import DeviceIndex, ObjectIndex
    from nwi.operator.watch import DriftWatch
    from nwi.status import Outcome, Phase, Reason, derive_status

    spec = FleetSpec(objects, max(1, objects // 100))
    docs = config_docs(spec)
    devices = DeviceIndex()
    for name in spec.device_names():
        dev = build_object({"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "Device",
                            "metadata": {"name": name, "namespace": NAMESPACE},
                            "spec": {"address": "127.0.0.1", "port": 1, "driver": "gnmi", "insecure": True}},
                           Source("bench"), NAMESPACE)
        assert isinstance(dev, DeviceObject)
        devices.upsert(dev)
    gc.collect()
    base = _rss_mb()
    index = ObjectIndex()
    for i, doc in enumerate(docs):
        obj = build_object(doc, Source("bench"), NAMESPACE)
        assert isinstance(obj, ConfigObject)
        status = derive_status(Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash=obj.desired_hash,
                                       wrote=True), None, 1, f"{NAMESPACE}/{obj.spec.switch_id}").to_dict()
        meta = {**doc["metadata"], "uid": f"00000000-0000-0000-0000-{i:012d}", "generation": 1,
                "resourceVersion": str(1000 + i), "finalizers": ["nwi.enc.nokia.com/finalizer"]}
        index.upsert(entry_of({**doc, "metadata": meta, "status": status}))
    del docs
    watch = DriftWatch(index, devices, NAMESPACE, lambda obj: None, lambda keys: None)  # type: ignore[arg-type,return-value]
    plans = watch.plans()
    gc.collect()
    grown = _rss_mb() - base
    return {"objects": objects, "devices": len(plans), "base_rss_mb": round(base, 1),
            "index_mb": round(grown, 1), "kb_per_object": round(grown * 1024 / objects, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def main(argv: list[str] | None = None) -> None:
    sizes = [int(a) for a in (argv if argv is not None else sys.argv[1:])] or [10_000, 100_000]
    out = []
    for n in sizes:  # a fresh process per size: no memory of a previous size left over
        r = subprocess.run([sys.executable, "-c", f"import json; from bench.operator_memory import measure_one; "
                            f"print(json.dumps(measure_one({n})))"], capture_output=True, text=True, check=True)
        out.append(json.loads(r.stdout.strip().splitlines()[-1]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
