"""The mock gNMI server: gRPC listeners serving one or more targets.

Targets without a port of their own share the server's main port and are told
apart by the ``target`` field of the request prefix (a request without one goes
to the first target on that port); a target with its own port is alone there.
Each port is one :class:`Listener` (a grpcio server), so dropping connections
or taking a target down affects exactly the clients of that port.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Iterator
from concurrent import futures
from types import TracebackType
from typing import Any

import grpc
from pygnmi.spec.v080 import gnmi_pb2_grpc

from nwi.mockgnmi import subscribe
from nwi.mockgnmi.service import GnmiService, Rpc
from nwi.mockgnmi.target import Target
from nwi.mockgnmi.tlsgen import TlsMaterial

#: worker threads per port; every open Subscribe stream holds one
MAX_WORKERS = 64


class Listener:
    """One listening port and the targets behind it."""

    def __init__(
        self,
        address: str,
        port: int,
        targets: Iterable[Target],
        tls: TlsMaterial | None,
        require_client_cert: bool,
        poll_interval: float,
    ) -> None:
        self.address = address
        self.port = port
        self.targets: dict[str, Target] = {t.name: t for t in targets}
        self.tls = tls
        self.require_client_cert = require_client_cert
        self.poll_interval = poll_interval
        self._server: Any = None
        self._lock = threading.Lock()
        self._reopened = threading.Event()  # clear while a drop is cutting connections and re-opening the port
        self._reopened.set()

    def default_target(self) -> Target:
        return next(iter(self.targets.values()))

    def _credentials(self) -> Any:
        assert self.tls is not None
        return grpc.ssl_server_credentials(
            [(self.tls.server_key, self.tls.server_cert)],
            root_certificates=self.tls.ca_cert if self.require_client_cert else None,
            require_client_auth=self.require_client_cert,
        )

    def start(self) -> int:
        """Listen (on the same port as before after a drop); return the port."""
        with self._lock:
            if self._server is not None:
                return self.port
            # no SO_REUSEPORT: a second server on the same port must fail, not share the traffic
            server = grpc.server(
                futures.ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix=f"gnmi-{self.port}"),
                options=[("grpc.so_reuseport", 0)],
            )

            def serve_subscription(rpc: Rpc, requests: Iterator[Any]) -> Iterator[Any]:
                return subscribe.serve(rpc, requests, self.poll_interval)

            gnmi_pb2_grpc.add_gNMIServicer_to_server(GnmiService(self, serve_subscription), server)
            where = f"{self.address}:{self.port}" if ":" not in self.address else f"[{self.address}]:{self.port}"
            try:
                if self.tls is None:
                    bound = server.add_insecure_port(where)
                else:
                    bound = server.add_secure_port(where, self._credentials())
            except RuntimeError:  # grpcio raises where older versions returned 0
                bound = 0
            if not bound:
                raise OSError(f"cannot listen on {where} (port in use?)")
            server.start()
            self.port = bound
            self._server = server
            return bound

    def stop(self) -> threading.Event:
        """Stop listening and cut every connection and stream at once."""
        with self._lock:
            server, self._server = self._server, None
        if server is None:
            done = threading.Event()
            done.set()
            return done
        for t in self.targets.values():
            t.notify()  # subscriptions waiting for changes notice their end
        event: threading.Event = server.stop(grace=None)
        return event

    def drop(self) -> threading.Event:
        """Cut every connection (as a rebooting device does) and listen again right after.

        Returns an event set once the old connections are gone. Runs in its own
        thread because it is triggered from inside an RPC of this very server.
        """
        stopped = threading.Event()
        self._reopened.clear()

        def run() -> None:
            try:
                self.stop().wait(10)
                stopped.set()
                self.start()
            finally:
                self._reopened.set()

        threading.Thread(target=run, daemon=True, name=f"gnmi-drop-{self.port}").start()
        return stopped

    @property
    def listening(self) -> bool:
        """Accepting connections: started, and not in the middle of a drop."""
        return self._server is not None and self._reopened.is_set()


class MockGnmiServer:
    """A gNMI server for tests and CI. Use as a context manager or call start/stop.

    >>> with MockGnmiServer([Target("r1", DeviceStore("r1", None), port=0)]) as srv:
    ...     port = srv.port_of("r1")
    """

    def __init__(
        self,
        targets: Iterable[Target],
        *,
        address: str = "127.0.0.1",
        port: int = 0,
        tls: TlsMaterial | None = None,
        require_client_cert: bool = False,
        poll_interval: float = 1.0,
    ) -> None:
        self.targets: dict[str, Target] = {}
        for t in targets:
            if t.name in self.targets:
                raise ValueError(f"target {t.name!r} is defined twice")
            self.targets[t.name] = t
        if not self.targets:
            raise ValueError("a mock gNMI server needs at least one target")
        if require_client_cert and tls is None:
            raise ValueError("client certificates need TLS")
        self.address = address
        self.port = port
        self.tls = tls
        self.require_client_cert = require_client_cert
        self.poll_interval = poll_interval
        self.listeners: list[Listener] = []
        self._listener_of: dict[str, Listener] = {}

    def _listener(self, port: int, targets: list[Target]) -> Listener:
        listener = Listener(self.address, port, targets, self.tls, self.require_client_cert, self.poll_interval)
        self.listeners.append(listener)
        for t in targets:
            self._listener_of[t.name] = listener
        return listener

    def start(self) -> MockGnmiServer:
        shared = [t for t in self.targets.values() if t.port is None]
        if shared:
            self._listener(self.port, shared)
        for t in self.targets.values():
            if t.port is not None:
                self._listener(t.port, [t])
        try:
            for listener in self.listeners:
                # a target that refuses to start never opens its own port: clients get "connection refused"
                if len(listener.targets) == 1 and listener.default_target().faults.refuse_start:
                    if listener.port == 0:
                        listener.port = _free_port(self.address)
                    continue
                listener.start()
        except BaseException:
            self.stop()
            raise
        if shared:
            self.port = self._listener_of[shared[0].name].port
        return self

    def stop(self) -> None:
        events = [listener.stop() for listener in self.listeners]
        for e in events:
            e.wait(10)

    def __enter__(self) -> MockGnmiServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- what tests and the CLI ask -------------------------------------------------
    def port_of(self, name: str) -> int:
        return self._listener_of[name].port

    def listening(self, name: str) -> bool:
        """The port serving ``name`` accepts connections (false while a drop is re-opening it)."""
        return self._listener_of[name].listening

    def target(self, name: str) -> Target:
        return self.targets[name]

    def ports(self) -> dict[str, int]:
        return {name: listener.port for name, listener in self._listener_of.items()}

    # ---- faults at run time ----------------------------------------------------------
    def drop_connections(self, name: str) -> None:
        """Cut every connection of the port serving ``name``; it listens again at once."""
        self._listener_of[name].drop().wait(10)

    def stop_target(self, name: str) -> None:
        """Take a target down: its own port stops listening (shared port: it answers UNAVAILABLE)."""
        target = self.targets[name]
        target.running = False
        listener = self._listener_of[name]
        if len(listener.targets) == 1:
            listener.stop().wait(10)
        target.notify()

    def start_target(self, name: str) -> None:
        """Bring a stopped (or refused) target up, on the port it had."""
        target = self.targets[name]
        target.running = True
        target.faults.refuse_start = False
        self._listener_of[name].start()


def _free_port(address: str) -> int:
    """A port nothing listens on, for a refused target (so clients have somewhere to fail to connect)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        port: int = s.getsockname()[1]
        return port
