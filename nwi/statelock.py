"""One writer per state directory: an OS file lock held by every command that changes state.

Two ``nwi apply`` on one ``--state-dir`` used to both write every path and
then disagree with the devices about which run won. ``apply`` and ``delete``
now hold an exclusive ``flock`` on ``<state>/lock`` for their whole run
(loading included: the parse cache lives there too). The kernel releases it
when the process ends in any way, ``kill -9`` included, so a stale lock
cannot exist and nothing has to be cleaned up by hand.

A second writer waits for the lock, saying once on stderr whose it is (the
holder's pid is written into the file), for up to ``timeout`` seconds, then
gives up with :class:`StateBusy` (the CLI's exit code 5). ``timeout=0``
refuses at once. Readers (``get``, ``plan``, ``graph``) take no lock: SQLite
in WAL mode lets them read the last committed state while a run writes.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

LOCK_FILE = "lock"
#: how often a waiting writer tries again (flock has no timeout of its own)
_POLL_S = 0.05


class StateBusy(Exception):
    """Another process holds the state directory's lock."""


class StateLock:
    """The exclusive lock of one state directory, as a context manager."""

    def __init__(self, state_dir: Path, timeout: float, on_wait: Callable[[str], None] | None = None) -> None:
        self.path = state_dir / LOCK_FILE
        self.timeout = timeout
        self.on_wait = on_wait
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.timeout
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = _holder(fd)
                    if time.monotonic() >= deadline:
                        raise StateBusy(
                            f"{self.path.parent}: another nwi run{holder} is using this state directory; "
                            f"gave up after {self.timeout:g}s (--lock-timeout), nothing was changed") from None
                    if not told and self.on_wait is not None:
                        self.on_wait(f"waiting for another nwi run{holder} on {self.path.parent} "
                                     f"(up to {self.timeout:g}s, --lock-timeout)")
                        told = True
                    time.sleep(_POLL_S)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> StateLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
