"""The gNMI service: Capabilities, Get and Set (Subscribe lives in subscribe.py).

Held to the gNMI 0.8 specification where a YANG-free target can be:

* Set (3.4): one SetRequest is one transaction, built into a
  :class:`~nwi.drivers.base.Transaction` and committed to the target's
  Datastore — deletes, then replaces, then updates, in request order. Deleting
  what is not there succeeds; wildcard deletes are expanded first. If any
  operation fails nothing is applied and the RPC ends with ``ABORTED``; its
  ``google.rpc.Status`` details carry a SetResponse whose UpdateResults say,
  per operation, which one failed (with its own code) and that the others
  were aborted (3.4.7).
* Get (3.3): one Notification per requested path; ``*`` wildcards in names
  and key values; prefix and origin; data types CONFIG (the datastore), STATE
  and OPERATIONAL (the target's read-only state tree) and ALL (both merged);
  encodings JSON, JSON_IETF, and PROTO (leaf by leaf, native scalar values).
  A concrete path with nothing at it is ``NOT_FOUND``; an unsupported encoding
  is ``UNIMPLEMENTED``.
* Authentication per RPC from ``username``/``password`` metadata (3.1):
  ``UNAUTHENTICATED`` when they do not match.

Origins are accepted and echoed but do not select a different tree, and
RFC 7951 module prefixes on names are dropped: without YANG they carry no
meaning, and dropping them makes ``openconfig-interfaces:interfaces`` and
``interfaces`` the same node, as on a real device.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

import grpc
from google.protobuf import any_pb2
from google.rpc import status_pb2
from grpc_status import rpc_status
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from nwi.drivers.base import Change, Op, SchemaRejected, Transaction, TransactionRejected
from nwi.drivers.gnmi_codec import (
    ENCODING_NAMES,
    CodecError,
    has_wildcard,
    join,
    leaves,
    matches,
    path_from_proto,
    path_to_proto,
    relative,
    scalar_to_proto,
    value_from_proto,
    value_to_proto,
)
from nwi.mockgnmi.target import Target
from nwi.path import GnmiPath
from nwi.tree import Tree

GNMI_VERSION = "0.8.0"
SUPPORTED_ENCODINGS = ("json", "json_ietf", "proto")
_OP_ENUM = {Op.DELETE: gnmi_pb2.UpdateResult.DELETE, Op.REPLACE: gnmi_pb2.UpdateResult.REPLACE,
            Op.UPDATE: gnmi_pb2.UpdateResult.UPDATE}
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
    (a target with models) gives a JSON_IETF value its RFC 7951 form.
    """
    base = prefix if not has_wildcard(prefix) else GnmiPath((), prefix.origin)
    if encoding == "proto":
        found = [(p, v) for p, v in leaves(tree, full.origin) if matches(full, p)]
        if not found and tree.get(full) is not None:  # an empty container: matched, nothing to send
            return [], True
        ups = [gnmi_pb2.Update(path=path_to_proto(relative(p, base)), val=scalar_to_proto(v)) for p, v in found]
        return ups, bool(found)
    matched = list(tree.find(full))
    if answer is not None and encoding == "json_ietf":
        matched = [(p, answer(p, v)) for p, v in matched]
    ups = [gnmi_pb2.Update(path=path_to_proto(relative(p, base)), val=value_to_proto(v, encoding)) for p, v in matched]
    return ups, bool(matched)


def response_prefix(request_prefix: Any) -> Any | None:
    """The request prefix echoed back (gNMI 2.2.2.1 wants its target reflected), or None when empty."""
    if request_prefix.ByteSize() == 0:
        return None
    prefix = gnmi_pb2.Path()
    prefix.CopyFrom(request_prefix)
    if has_wildcard(path_from_proto(request_prefix)):
        del prefix.elem[:]  # update paths are then full paths
    return prefix


@dataclass
class _Op:
    """One operation of a SetRequest, in the order it takes effect."""

    op: Op
    proto_path: Any
    path: GnmiPath | None = None
    value: Any = None
    error: tuple[grpc.StatusCode, str] | None = None


class GnmiService(gnmi_pb2_grpc.gNMIServicer):
    """gNMI for the targets of one listening port."""

    def __init__(self, port: Port, subscribe: Callable[[Rpc, Iterator[Any]], Iterator[Any]]) -> None:
        self.port = port
        self._subscribe = subscribe

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
        models = {m for t in self.port.targets.values() for m in t.models}
        return gnmi_pb2.CapabilityResponse(
            supported_models=[gnmi_pb2.ModelData(name=m.name, organization=m.organization, version=m.version)
                              for m in sorted(models, key=lambda m: m.name)],
            supported_encodings=[gnmi_pb2.Encoding.Value(e.upper()) for e in SUPPORTED_ENCODINGS],
            gNMI_version=GNMI_VERSION,
        )

    # ---- Get -------------------------------------------------------------------------
    def Get(self, request: Any, context: grpc.ServicerContext) -> Any:
        rpc = Rpc(self.port, context)
        target = rpc.target(request.prefix.target)
        rpc.enter(target)
        encoding = rpc.encoding(request.encoding)
        prefix = rpc.path(request.prefix, "prefix")
        tree = tree_for(target, request.type)
        notifications = []
        for proto_path in request.path or [gnmi_pb2.Path()]:
            full = join(prefix, rpc.path(proto_path, "path"))
            try:
                ups, found = updates_for(tree, full, prefix, encoding, target.answer)
            except Exception as exc:  # e.g. a key set that does not fit the list: the path is invalid here
                rpc.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{full}: {exc}")
            if not found and not has_wildcard(full) and full.elems:
                rpc.abort(grpc.StatusCode.NOT_FOUND, f"{full} not found on target {target.name!r}")
            notifications.append(
                gnmi_pb2.Notification(timestamp=now_ns(), prefix=response_prefix(request.prefix), update=ups)
            )
        return gnmi_pb2.GetResponse(notification=notifications)

    # ---- Set -------------------------------------------------------------------------
    def Set(self, request: Any, context: grpc.ServicerContext) -> Any:
        rpc = Rpc(self.port, context)
        target = rpc.target(request.prefix.target)
        rpc.enter(target)
        injected = target.faults.take_set_failure()
        if injected is not None:
            rpc.abort(injected, f"Set refused by an injected fault ({injected.name}); nothing was applied")
        prefix = rpc.path(request.prefix, "prefix")
        ops = self._parse_ops(request, prefix)
        failed = next((i for i, o in enumerate(ops) if o.error is not None), None)
        if failed is not None:
            code, message = ops[failed].error  # type: ignore[misc]
            self._abort_set(rpc, request, ops, failed, code, message)

        def build(tree: Tree) -> Transaction:
            changes: list[Change] = []
            for i, o in enumerate(ops):
                assert o.path is not None
                if o.op == Op.DELETE and has_wildcard(o.path):
                    # gNMI 3.4.6: the target expands wildcards in deletes
                    changes.extend(Change(Op.DELETE, p, owner=str(i)) for p, _ in tree.find(o.path))
                else:
                    changes.append(Change(o.op, o.path, o.value, owner=str(i)))
            return Transaction(device=target.name, changes=changes)

        try:
            target.commit(build)
        except TransactionRejected as exc:
            index = _owner_index(exc.failed_owners, len(ops))
            # the models refused it: the whole Set fails with the operation's own code, as targets do
            status = grpc.StatusCode.INVALID_ARGUMENT if isinstance(exc, SchemaRejected) else grpc.StatusCode.ABORTED
            self._abort_set(rpc, request, ops, index, grpc.StatusCode.INVALID_ARGUMENT, exc.message, status)
        except grpc.RpcError:
            raise
        except Exception as exc:  # the datastore itself failed (disk, kernel): still nothing applied
            rpc.abort(grpc.StatusCode.INTERNAL, f"datastore of target {target.name!r} failed: {exc}")
        stamp = now_ns()
        return gnmi_pb2.SetResponse(
            prefix=response_prefix(request.prefix),
            timestamp=stamp,
            response=[gnmi_pb2.UpdateResult(timestamp=stamp, path=o.proto_path, op=_OP_ENUM[o.op]) for o in ops],
        )

    def _parse_ops(self, request: Any, prefix: GnmiPath) -> list[_Op]:
        ops = [_Op(Op.DELETE, p) for p in request.delete]
        ops += [_Op(Op.REPLACE, u.path, value=u.val) for u in request.replace]
        ops += [_Op(Op.UPDATE, u.path, value=u.val) for u in request.update]
        for o in ops:
            path = path_from_proto(o.proto_path)
            if any(e.name == "..." for e in path.elems) or any(not e.name for e in path.elems):
                o.error = (grpc.StatusCode.INVALID_ARGUMENT, f"{o.op} {path}: path cannot be parsed")
                continue
            o.path = join(prefix, path)
            if o.op == Op.DELETE:
                continue
            if has_wildcard(o.path):
                o.error = (grpc.StatusCode.INVALID_ARGUMENT, f"{o.op} {o.path}: wildcards are only allowed in deletes")
                continue
            try:
                o.value = value_from_proto(o.value)
            except CodecError as exc:
                o.error = (grpc.StatusCode.UNIMPLEMENTED, f"{o.op} {o.path}: {exc}")
            except (UnicodeDecodeError, ValueError) as exc:
                o.error = (grpc.StatusCode.INVALID_ARGUMENT, f"{o.op} {o.path}: invalid value: {exc}")
        return ops

    def _abort_set(
        self, rpc: Rpc, request: Any, ops: list[_Op], failed: int | None, code: grpc.StatusCode, message: str,
        status_code: grpc.StatusCode = grpc.StatusCode.ABORTED,
    ) -> NoReturn:
        """End the Set with ``status_code`` (ABORTED unless the models refused it); per-operation results
        travel in the status details (3.4.7)."""
        stamp = now_ns()
        results = []
        for i, o in enumerate(ops):
            if i == failed:
                err = gnmi_pb2.Error(code=code.value[0], message=message)
            else:
                err = gnmi_pb2.Error(code=grpc.StatusCode.ABORTED.value[0],
                                     message="not applied: another operation of this SetRequest failed")
            results.append(gnmi_pb2.UpdateResult(timestamp=stamp, path=o.proto_path, op=_OP_ENUM[o.op], message=err))
        detail = any_pb2.Any()
        detail.Pack(gnmi_pb2.SetResponse(prefix=response_prefix(request.prefix), timestamp=stamp, response=results))
        where = f"operation {failed} failed" if failed is not None else "an operation failed"
        status = status_pb2.Status(
            code=status_code.value[0],
            message=f"Set aborted, nothing applied: {where}: {message}",
            details=[detail],
        )
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
