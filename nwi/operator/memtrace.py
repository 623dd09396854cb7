"""Where the operator's memory goes: allocation tracing, off unless ``NWI_TRACEMALLOC`` is set.

With ``NWI_TRACEMALLOC=FILE`` the operator traces its allocations from the
start, ``NWI_TRACEMALLOC_FRAMES`` frames each (1 by default: at 16, the
imports that follow take 50 times as long), and SIGUSR2 writes a snapshot
of what is allocated then to FILE. Tracing costs time and memory of its
own. ``python -m nwi.operator.memtrace FILE`` prints the largest holders,
by line or by traceback. For diagnosis
(``bench.operator_scale --tracemalloc``), not for production.
"""

from __future__ import annotations

import argparse
import os
import signal
import tracemalloc
from collections.abc import Mapping, Sequence
from types import FrameType

ENV, FRAMES_ENV = "NWI_TRACEMALLOC", "NWI_TRACEMALLOC_FRAMES"


def install(environ: Mapping[str, str] = os.environ) -> bool:
    """Start tracing and take snapshots on SIGUSR2 if ``NWI_TRACEMALLOC`` says where (call from the main thread)."""
    path = environ.get(ENV)
    if not path:
        return False
    tracemalloc.start(int(environ.get(FRAMES_ENV, "1")))

    def dump(signum: int, frame: FrameType | None) -> None:
        snapshot = tracemalloc.take_snapshot()
        part = f"{path}.part"
        snapshot.dump(part)
        os.replace(part, path)  # the file appears complete or not at all

    signal.signal(signal.SIGUSR2, dump)
    return True


def top(path: str, by: str = "lineno", limit: int = 30, frames: int = 6) -> str:
    """The ``limit`` largest allocation sites of a snapshot (by line, file or traceback)."""
    snapshot = tracemalloc.Snapshot.load(path).filter_traces([
        tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")])
    stats = snapshot.statistics(by)
    total = sum(s.size for s in stats)
    lines = [f"total {total / 2**20:.1f} MiB in {sum(s.count for s in stats):,} blocks"]
    for s in stats[:limit]:
        lines.append(f"{s.size / 2**20:8.1f} MiB {s.count:10,} blocks")
        shown = s.traceback.format(limit=frames, most_recent_first=True) if by == "traceback" else \
            [str(s.traceback[0])]
        lines += [f"    {line.strip()}" for line in shown if line.strip()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m nwi.operator.memtrace", description=top.__doc__)
    p.add_argument("snapshot")
    p.add_argument("--by", choices=("lineno", "filename", "traceback"), default="lineno")
    p.add_argument("-n", "--limit", type=int, default=30)
    p.add_argument("--frames", type=int, default=6, help="frames shown per traceback")
    a = p.parse_args(argv)
    print(top(a.snapshot, a.by, a.limit, a.frames))


if __name__ == "__main__":
    main()
