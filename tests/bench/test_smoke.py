"""The benchmark's smoke run (N=200 over 4 mock gNMI devices) so that ``python -m bench`` cannot rot.

Checks the structure of what it writes and the properties that hold at any
size — everything Ready, the same device state as the naive baseline, zero
device writes on a no-op re-apply (counted by the devices themselves) — and
never how long anything took.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.protocol


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Path]:
    out = tmp_path_factory.mktemp("bench")
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out / "results.json"), "--png", str(out / "curve.png")],
        cwd=REPO, capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "results.json").read_text()), result.stdout, out


def test_smoke_results_have_every_measurement(smoke: tuple[dict[str, Any], str, Path]) -> None:
    results, _, _ = smoke
    assert results["smoke"] is True
    assert {"machine", "config", "plan", "apply", "operator", "targets", "seconds"} <= set(results)
    [plan] = results["plan"]
    assert plan["objects"] == 200 and plan["devices"] == 4
    assert 4 <= plan["waves"] <= 6  # the generator's chains are 4-6 objects deep
    assert plan["changes"] == 200  # every object becomes exactly one change against empty devices
    for key in ("validate_s", "graph_s", "plan_s", "peak_rss_mb"):
        assert plan[key] > 0
    assert [set(run) for run in results["operator"]] == [{"skipped"}]  # the smoke run leaves operator mode out


def test_smoke_apply_reaches_ready_batched_and_matches_the_naive_baseline(
    smoke: tuple[dict[str, Any], str, Path],
) -> None:
    results, _, _ = smoke
    [row] = results["apply"]
    assert (row["objects"], row["devices"]) == (200, 4)
    assert 4 <= row["max_chain"] <= 6
    nwi, naive = row["nwi"], row["naive"]
    assert nwi["ok"] and nwi["ready"] == 200
    # the devices counted nwi's writes: one Set per transaction, far fewer than objects (batched per device)
    assert nwi["device_sets"] == nwi["transactions"]
    assert nwi["device_sets"] <= 4 * plan_waves(results)
    assert nwi["device_changes"] == 200
    # the naive baseline sends one Set per object and ends with the very same configuration on every device
    assert naive["sets"] == naive["device_sets"] == 200
    assert row["same_device_state"] is True
    assert row["ratio_total"] == pytest.approx(naive["total_s"] / nwi["total_s"])


def plan_waves(results: dict[str, Any]) -> int:
    waves: int = results["plan"][0]["waves"]
    return waves


def test_smoke_no_op_reapply_writes_nothing(smoke: tuple[dict[str, Any], str, Path]) -> None:
    results, _, _ = smoke
    re = results["apply"][0]["reapply"]
    assert re["ok"] and re["ready"] == 200
    assert re["transactions"] == 0
    assert re["device_writes"] == 0  # counted by the mock devices, not by nwi
    assert re["device_reads"] > 0  # it did look: in sync is checked against the devices
    assert re["unchanged"] is True
    [writes] = [t for t in results["targets"] if t["target"].startswith("re-apply") and "writes" in t["target"]]
    assert writes["ok"] is True


def test_smoke_prints_the_table_and_draws_the_curve(smoke: tuple[dict[str, Any], str, Path]) -> None:
    _, stdout, out = smoke
    assert "| objects | devices |" in stdout and "naive/nwi" in stdout and "Targets" in stdout
    png = (out / "curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
