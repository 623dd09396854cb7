"""The gNMI driver, on pygnmi's ``gNMIclient``.

One driver object is one device session: :meth:`GnmiDriver.connect` opens one
gRPC channel (and checks Capabilities), and every read and apply of the run
reuses it. A transaction goes out as ONE SetRequest (deletes, replaces,
updates — gNMI makes it atomic on the device).

Choices worth knowing:

* **Requests are built as protobuf messages** by nwi's codec
  (``gnmi_codec``) and sent on the session pygnmi opened (its channel, TLS
  and stub). pygnmi's request helpers take paths as strings and parse them
  with regular expressions that know no escapes, so a key value holding
  ``]`` or ``=`` would silently address another node; a structured path
  turned straight into a ``Path`` message cannot be misread, and no string
  round trip is paid per path.
* **Encoding**: per device (``ConnectionParams.encoding``, JSON_IETF by
  default); connect fails with :class:`UnsupportedEncoding` when the device
  does not announce it. Values are sent as JSON text.
* **Dry run**: gNMI 0.8 has no validate-only Set, so a dry run sends nothing.
  It builds the complete SetRequest (so a path or value the wire cannot carry
  is caught) and applies the transaction to an empty local tree (so structural
  errors — a list entry given a non-object, a key that contradicts its path —
  are caught); what only the device can judge is left to the real apply.
* **Timeouts**: ``connect_timeout`` bounds the channel set-up;
  ``operation_timeout`` is the deadline of every Capabilities, Get and Set
  call (pygnmi takes no per-call timeout, so the driver gives its stub one;
  a channel-wide default through gRPC's service config fires about a second
  early in grpcio 1.85). A Set that hits its deadline is reported as
  :class:`DeviceUnreachable`: the device may or may not have applied it, and
  the next read will tell.
* **TLS** is verified unless the Device says ``insecure`` or ``skipVerify``:
  against its CA Secret, else the system's CAs (never the device's own
  certificate, which pygnmi would otherwise fetch and trust); a failed
  handshake is explained (see ``gnmi_tls``).
* **Errors**: no connection -> DeviceUnreachable; UNAUTHENTICATED ->
  AuthenticationFailed; a refused Set -> TransactionRejected with the
  device's message, blaming the objects whose operation the device named
  (from the per-operation results in the status details, gNMI 3.4.7) or, when
  it named none, every object of the transaction.
* **Network-wide transactions** use the Commit Confirmed extension
  (``gnmi_commit``): ``prepare`` is the Set with ``Commit{id, commit{rollback_duration}}``,
  ``extend`` / ``confirm`` / ``cancel`` are Sets carrying only the action
  (``extend``: ``set_rollback_duration``). Whether a device
  implements the extension is asked with an empty Set carrying
  ``set_rollback_duration`` for an id nobody uses: a device that knows the
  extension refuses it (no such commit on-going), one that ignores extensions
  accepts the empty Set, and is then refused for grouped objects. The
  extension does not let a pending commit be amended, so a later wave of the
  same transaction on the same device cancels it and commits everything the
  transaction has for the device so far in one Set.
* **Subscribe** (:meth:`GnmiDriver.subscribe`): one STREAM subscription,
  ON_CHANGE per path, on the session's channel; its updates come back leaf by
  leaf as :class:`Telemetry`. The request stream stays open while the
  subscription lives (a half-closed stream ends it on many targets, the mock
  among them); :meth:`Subscription.cancel` ends it from another thread. A
  thread waiting on an idle stream wakes once a second, not ten times
  (:data:`STREAM_WAKEUP`).
* **Reads** strip RFC 7951 module prefixes from member names under JSON_IETF
  (``openconfig-interfaces:config`` -> ``config``), so that what is read back
  compares equal to what was written without them.
* **With the device's YANG models** (``models``) values go out as RFC 7951
  wants them (module names where the module changes, 64-bit integers and
  decimal64 as strings, identities qualified; ``nwi.schema.rfc7951``), a value
  the models refuse fails the transaction before anything is sent, and the
  planner compares what is read by type (``Driver.typed``), so ``"1234"`` read
  for a uint32 is the ``1234`` written.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import any_pb2
from grpc import _common as grpc_common  # private: see STREAM_WAKEUP
from grpc_status import rpc_status
from pygnmi.client import gNMIclient, gNMIException
from pygnmi.spec.v080 import gnmi_pb2

from nwi import jsontext
from nwi.drivers import gnmi_commit, gnmi_tls
from nwi.drivers.base import (
    OP_ORDER,
    AuthenticationFailed,
    Change,
    CommitOutcome,
    ConnectionParams,
    DeviceInfo,
    DeviceUnreachable,
    Driver,
    DriverError,
    Op,
    Transaction,
    TransactionRejected,
)
from nwi.drivers.gnmi_codec import ENCODINGS, CodecError, canonical, path_from_proto, path_to_proto, value_from_proto
from nwi.drivers.virtual import apply_changes
from nwi.path import GnmiPath, PathElem
from nwi.tree import Tree, TreeError

if TYPE_CHECKING:
    from nwi.schema.models import ModelSet
    from nwi.schema.rfc7951 import Codec

# pygnmi logs every failure to stdout itself; the driver raises a typed error with the same text,
# and stdout belongs to the CLI's output. Lower this logger's level to see pygnmi's own messages.
logging.getLogger("pygnmi.client").setLevel(logging.CRITICAL + 1)
log = logging.getLogger(__name__)

#: how often a thread blocked on a gRPC stream wakes while nothing arrives (seconds). grpc's blocking
#: iterators wait in slices of ``grpc._common.MAXIMUM_WAIT_TIMEOUT`` (0.1 s) so that a main thread
#: blocked on one still runs its signal handlers (grpc issue 19464); a response still wakes the
#: waiter at once. An idle Subscribe stream waits for good: at 0.1 s, 100 of them kept 4.95 % of a core
#: busy waking up (``python -m bench.idle_streams``), an operator watching 1,000 devices half a core.
#: Once a second still lets Ctrl-C through promptly. grpc offers no public setting for it.
#: (A grpcio without the constant keeps its own pace; tests/gnmi/test_driver_subscribe.py notices.)
STREAM_WAKEUP = 1.0
if hasattr(grpc_common, "MAXIMUM_WAIT_TIMEOUT"):
    grpc_common.MAXIMUM_WAIT_TIMEOUT = STREAM_WAKEUP

_UNREACHABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
#: how a first request on a new channel fails when no connection could be made
_NO_CONNECTION = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}


class UnsupportedEncoding(DriverError):
    reason = "UnsupportedEncoding"


class _AuthPlugin(grpc.AuthMetadataPlugin):
    """Username and password as call credentials: added below gRPC's API layer, which its
    ``GRPC_TRACE=api`` tracer prints (metadata given to the call is printed there, value and all)."""

    def __init__(self, metadata: tuple[tuple[str, str], ...]) -> None:
        self._metadata = metadata

    def __call__(self, context: Any, callback: Any) -> None:
        callback(self._metadata, None)


class _DeadlineStub:
    """A gNMI stub whose unary calls carry a deadline unless the caller gives one, and the
    credentials on every call (pygnmi's own, empty, metadata is replaced)."""

    def __init__(self, stub: Any, timeout: float, auth: dict[str, Any]) -> None:
        self._stub = stub
        self.timeout = timeout
        self._auth = auth

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._stub, name)
        unary = name in ("Capabilities", "Get", "Set")  # Subscribe is long-lived: no deadline

        def call(*args: Any, **kwargs: Any) -> Any:
            if unary:
                kwargs.setdefault("timeout", self.timeout)
            kwargs.pop("metadata", None)
            kwargs.update(self._auth)
            return method(*args, **kwargs)

        return call


@dataclass(frozen=True)
class Telemetry:
    """One SubscribeResponse: leaf values that changed, leaves that disappeared, or the end of the snapshot."""

    updates: dict[GnmiPath, Any]
    deletes: tuple[GnmiPath, ...] = ()
    sync: bool = False  # sync_response: every leaf's current value has been sent


class Subscription:
    """A running STREAM subscription: iterate for :class:`Telemetry`; ``cancel()`` from any thread ends it.

    Iteration raises :class:`DriverError` (DeviceUnreachable when the stream
    breaks) and simply ends after ``cancel()``.
    """

    def __init__(self, driver: GnmiDriver, client: _Client, request: Any) -> None:
        self._driver = driver
        self._closed = threading.Event()

        def requests() -> Iterator[Any]:
            yield request
            self._closed.wait()  # keep the client side open: a half-close ends the subscription

        self._call = client.stream("Subscribe", requests())

    def cancel(self) -> None:
        self._closed.set()
        self._call.cancel()

    def __iter__(self) -> Iterator[Telemetry]:
        try:
            for response in self._call:
                if response.HasField("sync_response") and response.sync_response:
                    yield Telemetry({}, (), True)
                elif response.HasField("update"):
                    yield _telemetry(response.update)
        except grpc.RpcError as err:
            if self._closed.is_set():
                return
            raise self._driver._rpc_error(err, "Subscribe") from err
        if not self._closed.is_set():
            raise DeviceUnreachable(self._driver.name, "Subscribe: the device ended the stream")


def _telemetry(notification: Any) -> Telemetry:
    prefix = path_from_proto(notification.prefix).elems if notification.HasField("prefix") else ()
    updates: dict[GnmiPath, Any] = {}
    for u in notification.update:
        try:
            value = value_from_proto(u.val)
        except CodecError:
            continue  # only a schema could read it: nwi cannot compare it either
        updates[GnmiPath(prefix + path_from_proto(u.path).elems)] = value
    deletes = tuple(GnmiPath(prefix + path_from_proto(d).elems) for d in notification.delete)
    return Telemetry(updates, deletes)


class _Client(gNMIclient):
    """pygnmi's client with a deadline on every unary RPC.

    pygnmi creates its stub inside ``connect()`` and calls ``capabilities()``
    right after; that call is where the stub gets wrapped, so even the first
    RPC has a deadline. ``connect(timeout=0)`` skips pygnmi's wait for the
    channel (``grpc.channel_ready_future``, which starts two polling threads
    per channel: 2 ms of CPU per device, a fifth of a 100-device apply's
    connecting); the Capabilities request then opens the connection itself,
    with the connect timeout as its deadline.
    """

    _STUB = "_gNMIclient__stub"  # pygnmi's private attribute (name-mangled ``self.__stub``)

    def __init__(self, *args: Any, connect_timeout: float, rpc_timeout: float, auth: dict[str, Any],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # without the credentials: pygnmi would make channel options of them
        self._connect_timeout = connect_timeout
        self._rpc_timeout = rpc_timeout
        self._auth = auth
        #: the answer to the Capabilities request pygnmi's ``connect()`` sends (no need to ask twice)
        self.last_capabilities: Any = None

    def call(self, rpc: str, request: Any) -> Any:
        """Send a request message on pygnmi's session (raises grpc.RpcError)."""
        stub = getattr(self, self._STUB, None)
        if not isinstance(stub, _DeadlineStub):
            raise RuntimeError("the gNMI session is not connected")
        return getattr(stub, rpc)(request)

    def stream(self, rpc: str, requests: Iterator[Any]) -> Any:
        """Open a streaming RPC (no deadline: it lives until cancelled) on pygnmi's session."""
        stub = getattr(self, self._STUB, None)
        if not isinstance(stub, _DeadlineStub):
            raise RuntimeError("the gNMI session is not connected")
        return getattr(stub, rpc)(requests)  # (the stub adds the credentials)

    def capabilities(self) -> Any:
        stub = getattr(self, self._STUB, None)
        if stub is None:
            raise RuntimeError("this pygnmi version keeps its gNMI stub elsewhere; nwi cannot set deadlines")
        connecting = None
        if not isinstance(stub, _DeadlineStub):
            connecting = _DeadlineStub(stub, self._connect_timeout, self._auth)  # the first request connects
            setattr(self, self._STUB, connecting)
        try:
            self.last_capabilities = super().capabilities()
        finally:
            if connecting is not None:
                connecting.timeout = self._rpc_timeout
        return self.last_capabilities


class GnmiDriver(Driver):
    """A gNMI device session (see the module docstring for the choices it makes)."""

    def __init__(self, name: str, params: ConnectionParams, models: ModelSet | None = None) -> None:
        self.name = name
        self.params = params
        self.encoding = params.encoding.lower()
        #: the device's YANG models: values are sent as RFC 7951 says and compared by type
        self.codec: Codec | None = None
        if models is not None:  # libyang is loaded only for devices that have models
            from nwi.schema.rfc7951 import codec_for

            self.codec = codec_for(models)
            self.typed = self.codec.typed
        self._client: _Client | None = None
        self._info: DeviceInfo | None = None
        self._pending: dict[str, list[Change]] = {}  # commit id -> every change it holds (for a later wave)
        self._commit_problem: tuple[str | None] | None = None  # asked once per session
        self._tls_fds: list[int] = []

    def __repr__(self) -> str:
        return f"GnmiDriver({self.name!r}, {self.params.address}:{self.params.port})"

    # ---- session ---------------------------------------------------------------------
    def connect(self) -> DeviceInfo:
        if self._client is not None and self._info is not None:
            return self._info
        if self.encoding not in ("json", "json_ietf"):
            raise UnsupportedEncoding(self.name, f"encoding {self.encoding!r}: the gNMI driver sends json or json_ietf")
        p = self.params
        auth = self._auth()
        tls_files = self._tls_files()
        client = _Client(
            target=(p.address, p.port),
            insecure=p.insecure,
            skip_verify=p.skip_verify,
            connect_timeout=p.connect_timeout,
            rpc_timeout=p.operation_timeout,
            auth=auth,
            **tls_files,
        )
        try:
            client.connect(timeout=0)  # no wait for the channel: Capabilities connects (see _Client)
        except gNMIException as exc:
            err = exc.orig_exc
            if isinstance(err, grpc.RpcError) and err.code() in _NO_CONNECTION:
                how = "plaintext" if p.insecure else "TLS"
                # gRPC's words for a failed handshake are vague: one retried with Python's ssl says why
                why = None if p.insecure or p.skip_verify else gnmi_tls.handshake_problem(
                    p.address, p.port, tls_files.get("path_root", tls_files.get("path_cert")),
                    tls_files.get("path_cert") if "path_root" in tls_files else None, tls_files.get("path_key"),
                    p.connect_timeout)
                waited = f" within {p.connect_timeout:g}s" if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED else ""
                self._cleanup()
                raise DeviceUnreachable(self.name, f"no gNMI ({how}) connection to {p.address}:{p.port}{waited}: "
                                        + (why or err.details() or err.code().name)) from exc
            self._cleanup()
            raise self._error(exc, "Capabilities") from exc
        except Exception as exc:  # pygnmi turns some failures into odd exceptions (e.g. TypeError on None)
            self._cleanup()
            raise DeviceUnreachable(self.name, f"gNMI connection to {p.address}:{p.port} failed: {exc}") from exc
        self._client = client
        caps = (client.last_capabilities if client.last_capabilities is not None else client.capabilities()) or {}
        encodings = tuple(caps.get("supported_encodings", ()))
        if encodings and self.encoding not in encodings:
            self.close()
            raise UnsupportedEncoding(
                self.name, f"the device does not support encoding {self.encoding} (it supports {', '.join(encodings)})"
            )
        models = tuple(f"{m['name']}@{m['version']}" if m.get("version") else m["name"]
                       for m in caps.get("supported_models", ()))
        self._info = DeviceInfo(
            reachable=True,
            capabilities=(f"gnmi-{caps.get('gnmi_version', '?')}", *(f"encoding:{e}" for e in encodings), *models),
            detail=f"gNMI {caps.get('gnmi_version', '?')} at {p.address}:{p.port}",
        )
        return self._info

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None
                self._info = None
        self._cleanup()

    def _cleanup(self) -> None:
        for fd in self._tls_fds:
            os.close(fd)
        self._tls_fds = []

    def _auth(self) -> dict[str, Any]:
        """How each call carries the credentials: call credentials on TLS (never printed by gRPC's
        tracing), metadata on a plaintext channel (gRPC sends call credentials over TLS only, and there
        the password crosses the network in clear anyway). Never channel options, as pygnmi does."""
        p = self.params
        if not p.username and not p.password:
            return {}
        for what, value in (("username", p.username or ""), ("password", p.password or "")):
            if not (value.isascii() and value.isprintable()):
                raise AuthenticationFailed(self.name, f"the {what} has characters gNMI cannot carry (non-ASCII or "
                                                      "control characters): gRPC metadata is printable ASCII")
        metadata = (("username", p.username or ""), ("password", p.password or ""))
        if p.insecure:
            return {"metadata": metadata}
        return {"credentials": grpc.metadata_call_credentials(_AuthPlugin(metadata), name="nwi")}

    def _tls_files(self) -> dict[str, str]:
        """pygnmi reads certificates from files: each PEM goes to an anonymous in-memory file (memfd),
        named by ``/proc/self/fd/N``, so a client key never touches a disk and disappears with the
        process however it ends (``kill -9`` included).

        pygnmi's ``path_cert`` alone is the trust root; with a key and root it
        is the client certificate (mutual TLS).
        """
        p = self.params
        if p.insecure or (p.ca_cert is None and p.client_cert is None and p.skip_verify):
            return {}  # skip_verify without a CA: pygnmi fetches the device's certificate and trusts it
        if p.ca_cert is None and p.client_cert is None:
            # never let pygnmi trust whatever certificate the device shows: the system's CAs decide
            system_ca = gnmi_tls.system_ca_file()
            if system_ca is None:
                raise DriverError(self.name, "TLS: no CA to verify the device with (no system CA bundle); "
                                             "give spec.tls.caSecretRef")
            return {"path_cert": system_ca}
        if p.client_cert is not None and (p.client_key is None or p.ca_cert is None):
            raise DriverError(self.name, "a client certificate needs its key and the CA certificate")
        def put(name: str, data: bytes) -> str:
            fd = os.memfd_create(f"nwi-{name}", os.MFD_CLOEXEC)
            self._tls_fds.append(fd)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            return f"/proc/self/fd/{fd}"

        assert p.ca_cert is not None
        if p.client_cert is None:
            return {"path_cert": put("ca.pem", p.ca_cert)}
        assert p.client_key is not None
        return {
            "path_cert": put("client.pem", p.client_cert),
            "path_key": put("client-key.pem", p.client_key),
            "path_root": put("ca.pem", p.ca_cert),
        }

    def _session(self) -> _Client:
        if self._client is None:
            self.connect()
        assert self._client is not None
        return self._client

    # ---- read ------------------------------------------------------------------------
    def read(self, paths: Sequence[GnmiPath]) -> dict[GnmiPath, Any]:
        client = self._session()
        if not paths:
            return {}
        # a path inside another requested one is not asked for again: it is cut out of its ancestor
        wanted = set(paths)
        ancestor = {p: a for p in wanted if (a := _requested_ancestor(p, wanted)) is not None}
        values = self._read(client, [p for p in dict.fromkeys(paths) if p not in ancestor])
        if ancestor:
            cut = Tree()  # the ancestors read, in one tree (it copies them: their values go back as they are)
            for a in set(ancestor.values()):
                if values[a] is not None:
                    cut.replace(a, values[a])
            for p in ancestor:
                try:
                    values[p] = cut.get(p)
                except TreeError:
                    values[p] = None
        return {p: values[p] for p in paths}

    def _read(self, client: _Client, paths: list[GnmiPath]) -> dict[GnmiPath, Any]:
        """One Get for all ``paths``; when one is missing, climb to their parents instead of asking
        path by path.

        gNMI answers NOT_FOUND for a whole Get when one of its paths is missing,
        which is the rule on a first apply. Then all their parents are read in
        one Get (recursively: a missing parent climbs further, and a missing
        ancestor answers for everything under it). Top-level paths have the
        whole device as their parent: list entries among them
        (``/interface[name=e1]``) are read as every entry of their lists, in
        one Get with wildcard keys (``/interface[name=*]``); only top-level
        containers are asked for one by one.
        """
        try:
            response = _Response(self._get(client, paths))
            return {p: response.subtree(p) for p in paths}
        except _NotFound:
            if len(paths) == 1:
                return {paths[0]: None}
        siblings: dict[GnmiPath, list[GnmiPath]] = {}
        for p in paths:
            siblings.setdefault(GnmiPath(p.elems[:-1], p.origin), []).append(p)
        out: dict[GnmiPath, Any] = {}
        parents = [parent for parent in siblings if parent.elems]
        above = self._read(client, parents) if parents else {}
        for parent, value in above.items():
            for kid in siblings[parent]:
                out[kid] = _child(value, kid)
        tops = [p for p in paths if p not in out and p not in above]  # top-level, and not a parent too
        entries = [p for p in tops if p.elems[-1].keys]
        if len(entries) > 1:
            out.update(self._read_entries(client, entries))
        for p in paths:  # top-level paths: answered by the parents' read when one was a parent too
            if p not in out:
                out[p] = above[p] if p in above else self._read(client, [p])[p]
        return out

    def _read_entries(self, client: _Client, paths: list[GnmiPath]) -> dict[GnmiPath, Any]:
        """Top-level list entries, read as all entries of their lists in one Get (keys ``*``): the
        answer names each entry by its keys; one missing list fails the Get, so then each list alone
        (a missing list answers for all its entries)."""
        lists: dict[GnmiPath, list[GnmiPath]] = {}
        for p in paths:
            last = p.elems[-1]
            every = GnmiPath((*p.elems[:-1], PathElem(last.name, tuple((k, "*") for k, _ in last.keys))), p.origin)
            lists.setdefault(every, []).append(p)
        try:
            response = _Response(self._get(client, list(lists)))
        except _NotFound:
            if len(lists) == 1:
                return {p: None for p in paths}
            out: dict[GnmiPath, Any] = {}
            for entries in lists.values():
                out.update(self._read_entries(client, entries))
            return out
        return {p: response.subtree(p) for p in paths}

    def _get(self, client: _Client, paths: list[GnmiPath]) -> Sequence[Any]:
        request = gnmi_pb2.GetRequest(path=[path_to_proto(p) for p in paths], type=gnmi_pb2.GetRequest.CONFIG,
                                      encoding=ENCODINGS[self.encoding])
        try:
            response = client.call("Get", request)
        except grpc.RpcError as err:
            if err.code() == grpc.StatusCode.NOT_FOUND:
                raise _NotFound() from err
            raise self._rpc_error(err, "Get") from err
        notifications: Sequence[Any] = response.notification
        return notifications

    # ---- subscribe ---------------------------------------------------------------------
    def subscribe(self, paths: Sequence[GnmiPath]) -> Subscription:
        """STREAM ON_CHANGE on ``paths`` (gNMI 3.5.1.5.2): the current values, a sync, then every change."""
        client = self._session()
        request = gnmi_pb2.SubscribeRequest(subscribe=gnmi_pb2.SubscriptionList(
            subscription=[gnmi_pb2.Subscription(path=path_to_proto(p), mode=gnmi_pb2.SubscriptionMode.ON_CHANGE)
                          for p in paths],
            mode=gnmi_pb2.SubscriptionList.STREAM,
            encoding=ENCODINGS[self.encoding],
        ))
        return Subscription(self, client, request)

    # ---- apply -----------------------------------------------------------------------
    def apply(self, txn: Transaction, dry_run: bool = False) -> None:
        if not txn:
            return
        ordered = txn.ordered()  # deletes, replaces, updates: the order of the SetRequest's results
        request = self._build(ordered)
        if dry_run:
            try:
                apply_changes(Tree(), txn)
            except TransactionRejected as exc:
                raise TransactionRejected(self.name, f"dry run: {exc.message}", exc.failed_owners) from exc
            return
        client = self._session()
        try:
            client.call("Set", request)
        except grpc.RpcError as err:
            raise self._rpc_error(err, "Set", ordered) from err

    # ---- network-wide transactions: the Commit Confirmed extension --------------------------------------
    def confirmed_commit_problem(self) -> str | None:
        if self._commit_problem is None:
            probe = gnmi_pb2.SetRequest()
            gnmi_commit.to_v080(gnmi_commit.extension("nwi-probe-" + os.urandom(6).hex(), "set_rollback_duration", 1),
                                probe.extension.add())
            try:
                self._session().call("Set", probe)
                problem: str | None = (f"gNMI device {self.name} ignores the Commit Confirmed extension "
                                       "(it accepted a confirmation for a commit that does not exist)")
            except grpc.RpcError as err:
                if err.code() in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.INVALID_ARGUMENT):
                    problem = None  # it knows the extension: no such commit is on-going
                elif err.code() == grpc.StatusCode.UNIMPLEMENTED:
                    problem = f"gNMI device {self.name} does not implement the Commit Confirmed extension"
                else:
                    raise self._rpc_error(err, "Set") from err
            self._commit_problem = (problem,)
        return self._commit_problem[0]

    def prepare(self, txn: Transaction, commit_id: str, timeout: int) -> None:
        earlier = self._pending.get(commit_id)
        if earlier is not None:  # no amending a commit (the extension's rule): cancel it, commit the union
            self._action(commit_id, "cancel")
            self._pending.pop(commit_id, None)
        ordered = sorted([*(earlier or []), *txn.ordered()], key=lambda c: OP_ORDER[c.op])
        request = self._build(ordered)
        gnmi_commit.to_v080(gnmi_commit.extension(commit_id, "commit", timeout), request.extension.add())
        try:
            self._session().call("Set", request)
        except grpc.RpcError as err:
            raise self._rpc_error(err, "Set", ordered) from err
        self._pending[commit_id] = ordered

    def extend(self, commit_id: str, timeout: int) -> None:
        self._action(commit_id, "set_rollback_duration", timeout)

    def confirm(self, commit_id: str) -> None:
        self._action(commit_id, "confirm")
        self._pending.pop(commit_id, None)

    def cancel(self, commit_id: str) -> None:
        self._pending.pop(commit_id, None)
        try:
            self._action(commit_id, "cancel")
        except TransactionRejected as exc:  # not on-going (any more): it reverted already
            log.info("%s: cancel %s: %s", self.name, commit_id, exc.message)

    def resolve_commit(self, commit_id: str, confirm: bool) -> CommitOutcome:
        """The extension has no query: confirming or cancelling as decided, the answer tells whether the
        commit was still on-going (FAILED_PRECONDITION: nothing is; INVALID_ARGUMENT: another one is)."""
        try:
            self._action(commit_id, "confirm" if confirm else "cancel")
        except TransactionRejected:
            return CommitOutcome.UNKNOWN if confirm else CommitOutcome.REVERTED
        return CommitOutcome.CONFIRMED if confirm else CommitOutcome.REVERTED

    def _action(self, commit_id: str, action: str, rollback_seconds: float | None = None) -> None:
        request = gnmi_pb2.SetRequest()
        gnmi_commit.to_v080(gnmi_commit.extension(commit_id, action, rollback_seconds), request.extension.add())
        try:
            self._session().call("Set", request)
        except grpc.RpcError as err:
            error = self._rpc_error(err, "Set")
            if isinstance(error, TransactionRejected):
                raise TransactionRejected(self.name, f"{action} {commit_id}: {error.message}") from err
            raise error from err

    def _build(self, ordered: list[Change]) -> Any:
        """The SetRequest; raise TransactionRejected naming the owner of a value the wire cannot carry."""
        request = gnmi_pb2.SetRequest()
        field = f"{self.encoding}_val"  # json_val or json_ietf_val (checked at connect)
        for change in ordered:
            path = path_to_proto(change.path)
            if change.op == Op.DELETE:
                request.delete.append(path)
                continue
            value = change.value
            if self.codec is not None and self.encoding == "json_ietf":
                try:  # module names, 64-bit numbers and identities as the device's models want them
                    value = self.codec.encode(change.path, value)
                except ValueError as exc:  # the models' SchemaError
                    owners = [change.owner] if change.owner else []
                    raise TransactionRejected(self.name, f"{change.op} {change.path}: not valid in the device's "
                                              f"models: {exc}", owners) from exc
            try:
                text = jsontext.dumps(value)  # (NaN cannot get here: the loader refuses it)
            except (TypeError, ValueError) as exc:
                owners = [change.owner] if change.owner else []
                raise TransactionRejected(self.name, f"{change.op} {change.path}: value is not JSON: {exc}",
                                          owners) from exc
            update = gnmi_pb2.Update(path=path, val=gnmi_pb2.TypedValue(**{field: text.encode()}))
            (request.replace if change.op == Op.REPLACE else request.update).append(update)
        return request

    # ---- errors ----------------------------------------------------------------------
    def _error(self, exc: gNMIException, rpc: str) -> DriverError:
        """A failure pygnmi reported (connect and Capabilities go through pygnmi's own calls)."""
        if not isinstance(exc.orig_exc, grpc.RpcError):
            return DeviceUnreachable(self.name, f"{rpc} failed: {exc}")
        return self._rpc_error(exc.orig_exc, rpc)

    def _rpc_error(self, err: grpc.RpcError, rpc: str, ordered: Sequence[Change] = ()) -> DriverError:
        code = err.code()
        details = err.details() or code.name
        if code == grpc.StatusCode.UNAUTHENTICATED:
            return AuthenticationFailed(self.name, f"{rpc}: {details}")
        if code in _UNREACHABLE:
            return DeviceUnreachable(self.name, f"{rpc}: {code.name}: {details}")
        if rpc != "Set":
            return DriverError(self.name, f"{rpc}: {code.name}: {details}")
        failed = _failed_operations(err)
        owners = [ordered[i].owner for i in failed if i < len(ordered) and ordered[i].owner]
        return TransactionRejected(self.name, f"{code.name}: {details}", owners or _owners(ordered))


class _NotFound(Exception):
    pass


def _owners(changes: Sequence[Change]) -> list[str]:
    return list(dict.fromkeys(c.owner for c in changes if c.owner))


class _Response:
    """A Get response with every update's path converted once (a batch asks for many subtrees)."""

    def __init__(self, notifications: Sequence[Any]) -> None:
        self.updates: list[tuple[GnmiPath, Any]] = []
        for n in notifications:
            # origins are not compared: a device may or may not echo the one it was asked for
            prefix = path_from_proto(n.prefix, strip_modules=False).elems if n.HasField("prefix") else ()
            for u in n.update:
                try:
                    val = value_from_proto(u.val)  # JSON_IETF module prefixes are stripped from member names
                except CodecError:
                    continue  # a value only a schema could read cannot be compared: as if absent
                self.updates.append((GnmiPath(prefix + path_from_proto(u.path, strip_modules=False).elems), val))
        self.exact: dict[GnmiPath, Any] = {}
        self.enclosing: set[GnmiPath] = set()  # paths with some update strictly below them
        for full, val in self.updates:
            self.exact.setdefault(full, val)
            self.enclosing.update(GnmiPath(full.elems[:i]) for i in range(len(full.elems)))

    def subtree(self, path: GnmiPath) -> Any:
        """The JSON at ``path``, however the device split it into updates."""
        want = canonical(path).without_origin()
        if want in self.exact and want not in self.enclosing:
            return self.exact[want]  # the usual answer: one update exactly at the path asked for
        exact: Any = None
        found = False
        pieces = Tree()
        for full, val in self.updates:
            if full == want:
                exact, found = val, True
            elif want.is_prefix_of(full):
                try:
                    pieces.update(GnmiPath(full.elems[len(want.elems):]), val)
                except TreeError:
                    continue
                found = True
            elif full.is_prefix_of(want) and isinstance(val, dict):  # the device sent an enclosing subtree
                try:
                    got = Tree(val).get(GnmiPath(want.elems[len(full.elems):]))
                except TreeError:
                    continue
                if got is not None:
                    exact, found = got, True
        if not found:
            return None
        if exact is not None and not pieces.root:
            return exact
        if isinstance(exact, dict):
            base = Tree()
            base.replace(GnmiPath(), exact)
            base.update(GnmiPath(), pieces.to_json())
            return base.to_json()
        return pieces.to_json() if pieces.root else exact


def _requested_ancestor(path: GnmiPath, wanted: set[GnmiPath]) -> GnmiPath | None:
    """The outermost other requested path that contains ``path``, if any."""
    for depth in range(1, len(path.elems)):
        candidate = GnmiPath(path.elems[:depth], path.origin)
        if candidate in wanted:
            return candidate
    return None


def _child(parent_value: Any, path: GnmiPath) -> Any:
    """The subtree at ``path`` inside the JSON of its parent (None when absent)."""
    if not isinstance(parent_value, dict):
        return None
    try:
        return Tree(parent_value).get(GnmiPath(canonical(path).elems[-1:]))
    except TreeError:
        return None


def _failed_operations(err: grpc.RpcError) -> list[int]:
    """Indexes of the operations a device blamed, from a SetResponse in the status details (gNMI 3.4.7)."""
    try:
        status = rpc_status.from_call(err)
    except (ValueError, AttributeError):
        return []
    if status is None:
        return []
    failed: list[int] = []
    for detail in status.details:
        response = gnmi_pb2.SetResponse()
        if not isinstance(detail, any_pb2.Any) or not detail.Unpack(response):
            continue
        for i, result in enumerate(response.response):
            if result.HasField("message") and result.message.code not in (0, grpc.StatusCode.ABORTED.value[0]):
                failed.append(i)
    return failed
