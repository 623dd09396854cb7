"""The gNMI service: Capabilities, Get and Set (Subscribe lives in subscribe.py).

Held to the gNMI 0.10.0 specification where a YANG-free target can be (what
differs between vendors, and which way the mock goes: the "Mock gNMI server"
section of README.md):

* Capabilities (3.2): gNMI version 0.10.0, the encodings below, and the
  models the targets on the port announce (:meth:`Target.announced_models`:
  a devices file's ``models``, a schema's modules, the modules named for
  top-level nodes).
* Set (3.4, steps in :mod:`~nwi.mockgnmi.setops`): one SetRequest is one
  transaction committed to the target's Datastore — deletes, then replaces,
  then updates, in request order. Deleting what is not there succeeds;
  wildcard deletes (and deletes through a list element without keys) are
  expanded first. Values must be valid JSON (:mod:`~nwi.mockgnmi.values`:
  no bare words unless the target opts in, no ``null``); replacing a list
  entry with ``{}`` is refused. If any operation fails nothing is applied and
  the RPC ends with that operation's code (INVALID_ARGUMENT for a bad value or
  path); its ``google.rpc.Status`` details carry a SetResponse whose
  UpdateResults say which operation failed and that the others were ABORTED
  (3.4.7). ``union_replace`` (0.10) is UNIMPLEMENTED, never ignored.
* Get (3.3): one Notification per requested path; ``*`` wildcards in names
  and key values, and a list element without keys matches every entry (path
  conventions); prefix and origin; data types CONFIG (the datastore), STATE
  and OPERATIONAL (the target's read-only state tree) and ALL (both merged);
  encodings JSON, JSON_IETF (top-level members qualified with module names,
  RFC 7951 section 4, when the module is known: :func:`~nwi.mockgnmi.values.qualify`),
  and PROTO (leaf by leaf, native scalar values). A concrete path with
  nothing at it is ``NOT_FOUND``; a wildcard matching nothing is an empty
  notification; an unsupported encoding is ``UNIMPLEMENTED``.
* Authentication per RPC from ``username``/``password`` metadata (3.1):
  ``UNAUTHENTICATED`` when they do not match.

Origins are accepted and echoed but do not select a different tree, and
RFC 7951 module prefixes on names written to the mock are dropped (then
remembered for the answers, see :meth:`Target.learn_modules`): without YANG
they carry no meaning, and dropping them makes ``openconfig-interfaces:interfaces``
and ``interfaces`` the same node, as on a real device.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn, Protocol

import grpc
from grpc_status import rpc_status
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from nwi.drivers.base import TransactionRejected
from nwi.drivers.gnmi_codec import (
    ENCODING_NAMES,
    has_wildcard,
    join,
    matching_leaves,
    path_from_proto,
    path_to_proto,
    relative,
    scalar_to_proto,
    value_to_proto,
)
from nwi.mockgnmi import setops
from nwi.mockgnmi.confirmed import COMMITS
from nwi.mockgnmi.target import Model, Target
from nwi.mockgnmi.values import ModuleOf, modules_named, qualify
from nwi.path import GnmiPath
from nwi.tree import Tree

#: the specification revision whose behaviour the mock implements (the wire messages are pygnmi's 0.8
#: ones, which 0.10 only extends; the 0.10 field they lack, union_replace, is refused)
GNMI_VERSION = "0.10.0"
SUPPORTED_ENCODINGS = ("json", "json_ietf", "proto")
_DATA_TYPE = gnmi_pb2.GetRequest.DataType


class Port(Protocol):
    """What the service needs from the listener it runs in."""

    @property
    def targets(self) -> Mapping[str, Target]: ...

    def default_target(self) -> Target: ...

    def drop(self) -> threading.Event: ...


def now_ns() -> int:
    return time.time_ns()


class Rpc:
    """Per-call helpers: resolve the target, apply faults and authentication, or abort."""

    def __init__(self, port: Port, context: grpc.ServicerContext) -> None:
        self.port = port
        self.context = context

    def abort(self, code: grpc.StatusCode, message: str) -> NoReturn:
        self.context.abort(code, message)
        raise AssertionError("unreachable: context.abort raises")  # pragma: no cover

    def target(self, name: str) -> Target:
        if name:
            found = self.port.targets.get(name)
            if found is None:
                self.abort(grpc.StatusCode.NOT_FOUND, f"unknown target {name!r}")
        else:
            found = self.port.default_target()
        if found.faults.refuse_start or not found.running:
            self.abort(grpc.StatusCode.UNAVAILABLE, f"target {found.name!r} is not running")
        return found

    def enter(self, target: Target) -> None:
        """What happens before a target answers: latency, dropped connections, authentication."""
        target.peers.add(self.context.peer())
        if target.faults.latency > 0:
            time.sleep(target.faults.latency)  # the injected fault itself: a slow device
        if target.faults.take_drop():
            stopped = self.port.drop()
            # wait until the transport is really gone, so the client sees a broken connection,
            # not an orderly error status sent just before it
            stopped.wait(10)
            self.abort(grpc.StatusCode.UNAVAILABLE, "connection dropped (injected fault)")
        if not target.authenticates(self.context.invocation_metadata()):
            self.abort(grpc.StatusCode.UNAUTHENTICATED, "authentication failed: wrong or missing username/password")

    def encoding(self, value: int) -> str:
        name = ENCODING_NAMES.get(value, str(value))
        if name not in SUPPORTED_ENCODINGS:
            self.abort(grpc.StatusCode.UNIMPLEMENTED,
                       f"encoding {name.upper()} is not supported (supported: JSON, JSON_IETF, PROTO)")
        return name

    def path(self, proto: Any, what: str) -> GnmiPath:
        path = path_from_proto(proto)
        if any(e.name == "..." for e in path.elems):
            self.abort(grpc.StatusCode.UNIMPLEMENTED, f"{what}: multi-level wildcards ('...') are not supported")
        if any(not e.name for e in path.elems):
            self.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{what}: empty element name")
        return path


def tree_for(target: Target, data_type: int) -> Tree:
    if data_type == _DATA_TYPE.Value("CONFIG"):
        return target.config()
    if data_type in (_DATA_TYPE.Value("STATE"), _DATA_TYPE.Value("OPERATIONAL")):
        return target.state()
    return target.everything()


def updates_for(tree: Tree, full: GnmiPath, prefix: GnmiPath, encoding: str,
                answer: Callable[[GnmiPath, Any], Any] | None = None) -> tuple[list[Any], bool]:
    """Updates for everything ``full`` selects (paths relative to ``prefix``) and whether anything matched.

    JSON encodings send each matched node as one subtree; PROTO has no
    structured form, so it sends the matched leaves one by one. ``answer``
    gives a JSON_IETF value its RFC 7951 form (:func:`json_ietf_answer`).
    """
    base = prefix if not has_wildcard(prefix) else GnmiPath((), prefix.origin)
    if encoding == "proto":
        found = list(matching_leaves(tree, full))
        if not found and tree.get(full) is not None:  # an empty container: matched, nothing to send
            return [], True
        ups = [gnmi_pb2.Update(path=path_to_proto(relative(p, base)), val=scalar_to_proto(v)) for p, v in found]
        return ups, bool(found)
    matched = list(tree.find(full))
    if answer is not None and encoding == "json_ietf":
        matched = [(p, answer(p, v)) for p, v in matched]
    ups = [gnmi_pb2.Update(path=path_to_proto(relative(p, base)), val=value_to_proto(v, encoding)) for p, v in matched]
    return ups, bool(matched)


def json_ietf_answer(target: Target, written: GnmiPath) -> Callable[[GnmiPath, Any], Any]:
    """How a JSON_IETF value at a path is answered: from the target's YANG models when it has them
    (``nwi.mockgnmi.schema``: every rule of RFC 7951), else with its top-level members qualified as far as
    the modules are known (:func:`~nwi.mockgnmi.values.qualify`)."""
    if target.answer is not None:
        return target.answer
    module_of = answer_modules(target, written)
    return lambda path, value: qualify(value, path, module_of)


def answer_modules(target: Target, written: GnmiPath) -> ModuleOf:
    """How an answer to a request for ``written`` (its path as the client wrote it, module prefixes
    kept) qualifies top-level names: with the module the client wrote (a qualified first element, or
    an origin naming a module), else with what the target knows (:meth:`Target.module_of`)."""
    named = modules_named(written, {m.name for m in target.models})

    def module_of(name: str) -> str | None:
        return named.get(name) or target.module_of(name)

    return module_of


def response_prefix(request_prefix: Any) -> Any | None:
    """The request prefix echoed back (gNMI 2.2.2.1 wants its target reflected), or None when empty."""
    if request_prefix.ByteSize() == 0:
        return None
    prefix = gnmi_pb2.Path()
    prefix.CopyFrom(request_prefix)
    if has_wildcard(path_from_proto(request_prefix)):
        del prefix.elem[:]  # update paths are then full paths
    return prefix


class GnmiService(gnmi_pb2_grpc.gNMIServicer):
    """gNMI for the targets of one listening port."""

    def __init__(self, port: Port, subscribe: Callable[[Rpc, Iterator[Any]], Iterator[Any]]) -> None:
        self.port = port
        self._subscribe = subscribe
        self.commits = COMMITS

    # ---- Capabilities ----------------------------------------------------------------
    def Capabilities(self, request: Any, context: grpc.ServicerContext) -> Any:
        rpc = Rpc(self.port, context)
        # a CapabilityRequest names no target: the port's default answers, and any target's
        # credentials on this port are good enough to learn what the port supports
        target = self.port.default_target()
        target.peers.add(context.peer())
        if target.faults.refuse_start or not target.running:
            rpc.abort(grpc.StatusCode.UNAVAILABLE, f"target {target.name!r} is not running")
        if target.faults.latency > 0:
            time.sleep(target.faults.latency)
        if target.faults.take_drop():
            self.port.drop().wait(10)
            rpc.abort(grpc.StatusCode.UNAVAILABLE, "connection dropped (injected fault)")
        metadata = list(context.invocation_metadata())
        if not any(t.authenticates(metadata) for t in self.port.targets.values()):
            rpc.abort(grpc.StatusCode.UNAUTHENTICATED, "authentication failed: wrong or missing username/password")
        models: dict[tuple[str, str, str], Model] = {}
        for t in self.port.targets.values():
            for m in t.announced_models():
                models.setdefault((m.name, m.organization, m.version), m)
        return gnmi_pb2.CapabilityResponse(
            supported_models=[gnmi_pb2.ModelData(name=m.name, organization=m.organization, version=m.version)
                              for _, m in sorted(models.items())],
            supported_encodings=[gnmi_pb2.Encoding.Value(e.upper()) for e in SUPPORTED_ENCODINGS],
            gNMI_version=GNMI_VERSION,
        )

    # ---- Get -------------------------------------------------------------------------
    def Get(self, request: Any, context: grpc.ServicerContext) -> Any:
        rpc = Rpc(self.port, context)
        target = rpc.target(request.prefix.target)
        target.count("Get")
        rpc.enter(target)
        encoding = rpc.encoding(request.encoding)
        prefix = rpc.path(request.prefix, "prefix")
        raw_prefix = path_from_proto(request.prefix, strip_modules=False)
        tree = tree_for(target, request.type)
        notifications = []
        for proto_path in request.path or [gnmi_pb2.Path()]:
            full = join(prefix, rpc.path(proto_path, "path"))
            written = join(raw_prefix, path_from_proto(proto_path, strip_modules=False))
            try:
                ups, found = updates_for(tree, full, prefix, encoding, json_ietf_answer(target, written))
            except Exception as exc:  # e.g. a key set that does not fit the list: the path is invalid here
                rpc.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{full}: {exc}")
            if not found and full.elems and not has_wildcard(full) and not tree.selects_many(full):
                rpc.abort(grpc.StatusCode.NOT_FOUND, f"{full} not found on target {target.name!r}")
            notifications.append(
                gnmi_pb2.Notification(timestamp=now_ns(), prefix=response_prefix(request.prefix), update=ups)
            )
        return gnmi_pb2.GetResponse(notification=notifications)

    # ---- Set -------------------------------------------------------------------------
    def Set(self, request: Any, context: grpc.ServicerContext) -> Any:
        rpc = Rpc(self.port, context)
        target = rpc.target(request.prefix.target)
        target.count("Set")
        rpc.enter(target)
        # the Commit Confirmed extension (nwi.mockgnmi.confirmed) decides whether the Set itself runs
        return self.commits.set(rpc, target, request, lambda: self._set(rpc, target, request))

    def _set(self, rpc: Rpc, target: Target, request: Any) -> Any:
        injected = target.faults.take_set_failure()
        if injected is not None:
            rpc.abort(injected, f"Set refused by an injected fault ({injected.name}); nothing was applied")
        refused = setops.unsupported(request)
        if refused is not None:
            rpc.abort(grpc.StatusCode.UNIMPLEMENTED, refused)
        ops = setops.parse(request, rpc.path(request.prefix, "prefix"), target)
        failed = setops.first_error(ops)
        if failed is not None:
            code, message = ops[failed].error  # type: ignore[misc]
            self.abort_set(rpc, request, ops, failed, code, message)
        self.commit_set(rpc, target, request, ops)
        return setops.response(ops, response_prefix(request.prefix), now_ns())

    def commit_set(self, rpc: Rpc, target: Target, request: Any, ops: list[setops.SetOp]) -> None:
        """Commit the checked operations as one transaction, or end the RPC with nothing applied."""
        try:
            target.commit(setops.transaction(ops, target.name))
        except TransactionRejected as exc:
            index = _owner_index(exc.failed_owners, len(ops))
            self.abort_set(rpc, request, ops, index, grpc.StatusCode.INVALID_ARGUMENT, exc.message)
        except grpc.RpcError:
            raise
        except Exception as exc:  # the datastore itself failed (disk, kernel): still nothing applied
            rpc.abort(grpc.StatusCode.INTERNAL, f"datastore of target {target.name!r} failed: {exc}")
        target.learn_modules(setops.modules(ops))

    def abort_set(
        self, rpc: Rpc, request: Any, ops: list[setops.SetOp], failed: int | None, code: grpc.StatusCode,
        message: str,
    ) -> NoReturn:
        """End the Set with the failed operation's code; per-operation results travel in the details (3.4.7)."""
        status = setops.failure(ops, failed, code, message, response_prefix(request.prefix), now_ns())
        rpc.context.abort_with_status(rpc_status.to_status(status))
        raise AssertionError("unreachable: abort_with_status raises")  # pragma: no cover

    # ---- Subscribe -------------------------------------------------------------------
    def Subscribe(self, request_iterator: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:
        yield from self._subscribe(Rpc(self.port, context), request_iterator)


def _owner_index(owners: tuple[str, ...], count: int) -> int | None:
    for owner in owners:
        if owner.isdigit() and int(owner) < count:
            return int(owner)
    return None
