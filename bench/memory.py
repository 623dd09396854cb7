"""Peak memory of a benchmark process."""

from __future__ import annotations

import resource
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak resident set, in MB: the kernel's high-water mark of its memory image.

    Not ``getrusage``'s ``ru_maxrss``: Linux carries that over from the parent through fork and
    exec, so every child of a large benchmark process would report at least the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: KiB on Linux, a bound
