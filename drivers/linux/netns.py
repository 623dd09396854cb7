"""The network namespace each Linux-backed virtual device owns.

A device's links live in a namespace of its own (``/run/netns/<name>``), so
nothing nwi does can reach the host's links: every netlink socket the backend
opens is bound to that namespace. The namespace is created on the first
commit, never by a read, and removed only on request.

Why not pyroute2's own ``IPRoute(netns=...)`` and ``netns.create``: they fork a
child to enter the namespace, and forking a multi-threaded process (the gRPC
server, the engine's workers) can crash the child. Here only the calling
*thread* enters the namespace (``setns`` is per thread) for as long as it takes
to open a socket, which stays bound to that namespace afterwards.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import threading
from collections.abc import Iterator

from pyroute2 import IPRoute, netns

#: Where iproute2 (``ip netns``) and pyroute2 keep named namespaces.
NETNS_DIR = "/run/netns"
#: Prefix of every device namespace; tests set NWI_NETNS_PREFIX to own theirs.
DEFAULT_PREFIX = "nwi-"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def netns_for_device(device: str, prefix: str | None = None) -> str:
    """The namespace name of a device: a safe file name (``172.20.20.200`` -> ``nwi-172.20.20.200``)."""
    if prefix is None:
        prefix = os.environ.get("NWI_NETNS_PREFIX", DEFAULT_PREFIX)
    name = prefix + _UNSAFE.sub("_", device)
    if name in (".", "..") or not name:
        name = prefix + "_"
    return name[:200]


def check_name(name: str) -> str:
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        raise ValueError(f"{name!r} is not a usable network namespace name")
    return name


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, check_name(name)))


CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MS_REC = 16384
MS_SHARED = 1 << 20
_libc = ctypes.CDLL(None, use_errno=True)
_create_lock = threading.Lock()


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _share_netns_dir() -> None:
    """Make /run/netns a shared mount point, as ``ip netns add`` does, so the bind mounts propagate."""
    os.makedirs(NETNS_DIR, exist_ok=True)
    if _libc.mount(b"", NETNS_DIR.encode(), b"none", MS_SHARED | MS_REC, None) == 0:
        return
    _check(_libc.mount(NETNS_DIR.encode(), NETNS_DIR.encode(), b"none", MS_BIND | MS_REC, None), "bind /run/netns")
    _check(_libc.mount(b"", NETNS_DIR.encode(), b"none", MS_SHARED | MS_REC, None), "share /run/netns")


def _create(name: str) -> None:
    """Create a named namespace from a short-lived thread that unshares only itself."""
    path = os.path.join(NETNS_DIR, name)
    failure: list[BaseException] = []

    def in_thread() -> None:
        try:
            _check(_libc.unshare(CLONE_NEWNET), "unshare")
            mine = f"/proc/self/task/{threading.get_native_id()}/ns/net".encode()
            _check(_libc.mount(mine, path.encode(), b"none", MS_BIND, None), f"bind {path}")
        except BaseException as exc:
            failure.append(exc)

    _share_netns_dir()
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
    worker = threading.Thread(target=in_thread, name=f"netns-create-{name}")
    worker.start()
    worker.join()
    if failure:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise failure[0]


def ensure(name: str) -> None:
    """Create the namespace unless it is there (lo is brought up so local traffic works)."""
    check_name(name)
    with _create_lock:
        if exists(name):
            return
        try:
            _create(name)
        except FileExistsError:
            return  # another process made it meanwhile
    with open_netns(name) as ipr:
        lo = ipr.link_lookup(ifname="lo")
        if lo:
            ipr.link("set", index=lo[0], state="up")


@contextlib.contextmanager
def entered(name: str) -> Iterator[None]:
    """Run the body with *this thread* in namespace ``name``; always switches back."""
    own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
    try:
        target = os.open(os.path.join(NETNS_DIR, check_name(name)), os.O_RDONLY)
        try:
            _check(_libc.setns(target, CLONE_NEWNET), f"enter network namespace {name!r}")
        finally:
            os.close(target)
        try:
            yield
        finally:
            _check(_libc.setns(own, CLONE_NEWNET), "return to the original network namespace")
    finally:
        os.close(own)


def remove(name: str) -> bool:
    """Remove the namespace (its virtual links go with it); False when it did not exist."""
    if not exists(name):
        return False
    netns.remove(check_name(name))
    return True


def remove_device_netns(device: str, prefix: str | None = None) -> bool:
    """Remove the namespace of ``device`` (for ``nwi`` cleanup); False when there was none."""
    return remove(netns_for_device(device, prefix))


def open_netns(name: str) -> IPRoute:
    """A netlink socket inside an existing namespace (never creates one)."""
    if not exists(name):
        raise FileNotFoundError(errno.ENOENT, f"network namespace {name!r} does not exist")
    with entered(name):
        return IPRoute()
