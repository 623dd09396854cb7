"""The schema benchmark's smoke run (``python -m bench.schema --smoke``), so that it cannot rot: it runs,
the benchmark's intents are valid against SR OS 19.7, and every phase is reported (never how long)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_schema_benchmark_smoke(sros_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "schema.json"
    result = subprocess.run([sys.executable, "-m", "bench.schema", "--smoke", "--yang-path", str(sros_dir),
                             "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    [row] = json.loads(out.read_text())["rows"]
    assert row["objects"] == 200 and row["devices"] == 4
    # the intents are valid object by object (the worker refuses otherwise) and as whole devices
    assert row["device_errors"] == 0 and row["device_warnings"] == 0 and row["inferred_edges"] == 0
    for phase in ("models", "objects", "plan", "devices"):
        assert row[f"{phase}_s"] >= 0 and row[f"{phase}_cpu_s"] >= 0
    assert "| 200 | 4 |" in result.stdout
