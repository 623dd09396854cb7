"""A real NETCONF server for tests: yuma123 ``netconfd`` behind a private sshd on 127.0.0.1.

Like controller-runtime's envtest: tests get a running server on a free port
in a temporary directory and it is gone afterwards. The processes are started
and stopped by ``netconfd.sh`` next to this file (also usable by hand, see the
README), which records their PIDs; nothing else is ever killed. Nothing is
installed here: ``tests/run.sh`` installs netconfd, yangcli and openssh-server.
When they are missing, :func:`unavailable` says why and the tests skip with
that reason; anything else that stops the server (not root, a port in use)
fails the tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from ncclient import manager

from nwi.drivers.base import ConnectionParams

SCRIPT = Path(__file__).with_name("netconfd.sh")
USERNAME = "ncuser"
PASSWORD = "ncpass"
NC_NS = "urn:ietf:params:xml:ns:netconf:base:1.0"
IF_NS = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
IP_NS = "urn:ietf:params:xml:ns:yang:ietf-ip"
SYS_NS = "urn:ietf:params:xml:ns:yang:ietf-system"
_BINARIES = ("/usr/sbin/netconfd", "/usr/sbin/netconf-subsystem", "/usr/sbin/sshd")


#: Hands out raw sessions to a server (the ``raw`` fixture).
RawConnect = Callable[["NetconfServer"], manager.Manager]


def unavailable() -> str | None:
    """Why a server cannot be started here (None when it can)."""
    missing = [b for b in _BINARIES if not os.access(b, os.X_OK)]
    if missing:
        return f"netconfd harness: {', '.join(missing)} not installed (tests/run.sh installs netconfd, openssh-server)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class NetconfServer:
    """One netconfd + sshd pair. ``target="running"`` gives :writable-running and no :candidate."""

    target: Literal["candidate", "running"] = "candidate"
    port: int = 0
    rundir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="nwi-netconfd-")))
    keep_rundir: bool = False  # keep the logs after stop()
    host: str = "127.0.0.1"
    username: str = USERNAME
    password: str = field(default=PASSWORD, repr=False)

    def start(self) -> NetconfServer:
        reason = unavailable()
        if reason:
            raise RuntimeError(reason)
        if os.geteuid() != 0:  # not a reason to skip: the suite runs as root (tests/run.sh)
            raise RuntimeError("netconfd harness: needs root to create the SSH account netconfd is reached with")
        if not self.port:
            self.port = free_port()
        self._script("start")
        return self

    def stop(self) -> None:
        self._script("stop")
        if not self.keep_rundir:
            shutil.rmtree(self.rundir, ignore_errors=True)

    def _script(self, command: str) -> None:
        env = dict(os.environ, NC_PORT=str(self.port), NC_TARGET=self.target)
        proc = subprocess.run(
            ["bash", str(SCRIPT), command, str(self.rundir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"netconfd.sh {command} failed ({proc.returncode}): {proc.stderr.strip()}")

    @property
    def log(self) -> str:
        """netconfd's own log, for failure messages."""
        try:
            return (self.rundir / "netconfd.log").read_text(errors="replace")
        except OSError:
            return ""

    @property
    def host_key_line(self) -> str:
        """A known_hosts line for this server (``[127.0.0.1]:port`` form, as ssh writes it)."""
        key = (self.rundir / "hostkey.pub").read_text().split()
        return f"[{self.host}]:{self.port} {key[0]} {key[1]}\n"

    def connection_params(self, **overrides: Any) -> ConnectionParams:
        """What an nwi driver needs to reach this server (host key not checked unless overridden)."""
        fields: dict[str, Any] = {
            "address": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "host_key_verify": False,
            "connect_timeout": 10.0,
            "operation_timeout": 20.0,
        }
        fields.update(overrides)
        return ConnectionParams(**fields)

    def raw_session(self) -> manager.Manager:
        """A plain ncclient session (not nwi's), to look at the server independently."""
        return manager.connect(
            host=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            hostkey_verify=False,
            allow_agent=False,
            look_for_keys=False,
            timeout=10,
        )

    def __enter__(self) -> NetconfServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# Everything the NETCONF tests write lives under these two top-level containers.
_WIPE = f"""<config xmlns="{NC_NS}" xmlns:nc="{NC_NS}">
  <interfaces xmlns="{IF_NS}" nc:operation="remove"/>
  <system xmlns="{SYS_NS}" nc:operation="remove"/>
</config>"""


def wipe(server: NetconfServer) -> None:
    """Empty the interfaces and system config of ``server`` through a raw session."""
    with server.raw_session() as m:
        target = "candidate" if ":candidate" in m.server_capabilities else "running"
        with m.locked(target):
            m.edit_config(config=_WIPE, target=target)
            if target == "candidate":
                m.commit()
