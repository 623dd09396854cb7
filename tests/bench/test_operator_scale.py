"""The operator-at-scale benchmark (``bench.operator_scale``) at a tiny size, so that it cannot rot.

It checks what holds at any size — the seeded objects are what a previous
operator leaves (a restart over them writes nothing and reconciles nothing),
every figure is recorded, the ratios are against the first size — and never
how long anything took or how much memory it used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import operator_mode, operator_scale
from bench.intents import FleetSpec, config_docs, inventory_docs

REPO = Path(__file__).resolve().parents[2]


def test_seeded_objects_carry_what_kopf_and_nwi_would_have_written() -> None:
    spec = FleetSpec(12, 2)
    docs = config_docs(spec)
    [(body, status), *_] = list(operator_scale.seeded(docs, inventory_docs(spec, {"pe001": 1, "pe002": 2})))
    assert body["metadata"]["finalizers"] == ["nwi.enc.nokia.com/finalizer"]
    assert body["metadata"]["annotations"]["nwi.enc.nokia.com/kopf-managed"] == "yes"
    assert body["spec"] == docs[0]["spec"]
    assert status["phase"] == "Ready" and status["reason"] == "Applied" and status["device"] == "bench/pe001"
    assert status["observedGeneration"] == 1 and status["appliedHash"]


@pytest.mark.kubernetes
@pytest.mark.protocol
def test_restart_over_seeded_objects_records_every_figure_and_writes_nothing(tmp_path: Path) -> None:
    reason = operator_mode.unavailable()
    if reason:
        pytest.skip(reason)
    snapshot = tmp_path / "operator.tracemalloc"
    r = subprocess.run([sys.executable, "-m", "bench.operator_scale", "30:3", "60:3", "--settle", "2",
                        "--tracemalloc", str(snapshot)], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    result: dict[str, Any] = json.loads(r.stdout.strip().splitlines()[-1])
    runs = result["runs"]
    assert [(run["objects"], run["devices"]) for run in runs] == [(30, 3), (60, 3)]
    for run in runs:
        for key in ("primed_s", "compared_s", "resumed_s", "rss_mb", "peak_rss_mb", "base_rss_mb", "kb_per_object",
                    "threads"):
            assert run[key] > 0, key
        assert run["steady_after_s"] is not None and run["rss_series_mb"]
        assert run["seed"]["create_and_status_s"] > 0 and run["seed"]["cli_apply_s"] > 0
        # found in sync: no object, status or device written, no engine run (its lease aside)
        assert not set(run["api_writes"]) - {"endpoints", "leases"}, run["api_writes"]
        assert run["device_writes"] == 0 and run["reconciled"] == 0
        alone = run["kopf_alone"]  # kopf by itself over the same objects: its part of the figures
        assert alone["resumed_s"] > 0 and alone["rss_mb"] > 0 and alone["peak_rss_mb"] > 0 and alone["base_rss_mb"] > 0
        assert "kb_per_object" in alone
        assert not set(alone["api_writes"]) - {"endpoints", "leases"}, alone["api_writes"]
    [ratio] = result["ratios"]
    assert ratio["objects"] == "60/30" and ratio["objects_ratio"] == 2.0
    assert {"primed_s", "compared_s", "rss_mb"} <= set(ratio)
    assert runs[-1]["tracemalloc"] == str(snapshot) and "tracemalloc" not in runs[0]
    top = subprocess.run([sys.executable, "-m", "nwi.operator.memtrace", str(snapshot), "-n", "5"], cwd=REPO,
                         capture_output=True, text=True, check=True, timeout=120).stdout
    assert top.startswith("total ") and " MiB " in top
