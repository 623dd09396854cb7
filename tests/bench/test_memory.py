"""The benchmark's peak-RSS figure is the measuring process's own, whatever its parent holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_child_of_a_large_process_reports_its_own_peak() -> None:
    ballast = bytearray(256 * 1024 * 1024)  # resident: bytearray zero-fills what it allocates
    out = subprocess.run(
        [sys.executable, "-c", "from bench.memory import peak_rss_mb; print(peak_rss_mb())"],
        cwd=REPO, capture_output=True, text=True, check=True, timeout=60,
    ).stdout
    del ballast
    # a bare interpreter is 10-20 MB; getrusage's ru_maxrss would say at least the parent's 256 MB
    assert 1 < float(out) < 100
