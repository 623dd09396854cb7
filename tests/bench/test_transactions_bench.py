"""The transactions benchmark's smoke run (200 objects over 4 mock gNMI devices), so that
``python -m bench.transactions`` cannot rot. Checks what it prints and that both modes brought every object
to Ready; never how long anything took."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.protocol


def test_the_grouped_and_per_device_applies_both_finish_and_the_ratio_is_printed() -> None:
    result = subprocess.run([sys.executable, "-m", "bench.transactions", "--objects", "200", "--devices", "4",
                             "--repeat", "1"], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ratio grouped/per-device:" in result.stdout
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert doc["per_device"]["ok"] and doc["grouped"]["ok"]
    assert doc["per_device"]["ready"] == doc["grouped"]["ready"] == 200
    assert doc["grouped"]["device_sets"] <= doc["per_device"]["device_sets"]  # chains on one device: one prepare
