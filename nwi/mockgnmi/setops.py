"""Set (gNMI 3.4): a SetRequest read into operations, checked, and turned into one transaction.

The service (:meth:`nwi.mockgnmi.service.GnmiService.Set`) runs the steps in
order, so an extension (e.g. commit confirmed) can hook in between them:

1. :func:`unsupported`: parts of a 0.10 SetRequest the mock does not implement
   (``union_replace``) are refused with UNIMPLEMENTED instead of ignored;
2. :func:`parse`: every operation with its full path and strictly decoded value
   (:mod:`nwi.mockgnmi.values`), or the error that makes it invalid;
3. :func:`transaction`: the operations as one :class:`~nwi.drivers.base.Transaction`
   on the current tree (deletes, then replaces, then updates, in request order;
   wildcard and keyless-list deletes expanded);
4. :func:`response` on success, :func:`failure` when an operation failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2, unknown_fields
from google.rpc import status_pb2
from pygnmi.spec.v080 import gnmi_pb2

from nwi.drivers.base import Change, Op, Transaction
from nwi.drivers.gnmi_codec import CodecError, has_wildcard, join, path_from_proto
from nwi.mockgnmi.target import Target
from nwi.mockgnmi.values import InvalidValue, decode_set_value, modules_named, parse_json
from nwi.path import GnmiPath
from nwi.tree import Tree

OP_ENUM = {Op.DELETE: gnmi_pb2.UpdateResult.DELETE, Op.REPLACE: gnmi_pb2.UpdateResult.REPLACE,
           Op.UPDATE: gnmi_pb2.UpdateResult.UPDATE}
#: SetRequest fields of gNMI 0.10 that pygnmi's 0.8 messages do not know (they arrive as unknown fields)
_NEWER_FIELDS = {6: "union_replace"}


@dataclass
class SetOp:
    """One operation of a SetRequest, in the order it takes effect."""

    op: Op
    proto_path: Any
    path: GnmiPath | None = None
    value: Any = None
    error: tuple[grpc.StatusCode, str] | None = None
    #: top-level node -> module, for the names this operation wrote qualified
    modules: dict[str, str] = field(default_factory=dict)


def unsupported(request: Any) -> str | None:
    """Why the request cannot be served at all (a 0.10 field the mock does not implement), or None."""
    for f in unknown_fields.UnknownFieldSet(request):
        name = _NEWER_FIELDS.get(f.field_number)
        if name is not None:
            return f"SetRequest.{name} is not supported by this target; use replace and update"
    return None


def parse(request: Any, prefix: GnmiPath, target: Target) -> list[SetOp]:
    """The operations of ``request`` (``prefix``: its parsed prefix), each valid or carrying its error."""
    raw_prefix = path_from_proto(request.prefix, strip_modules=False)
    ops = [SetOp(Op.DELETE, p) for p in request.delete]
    ops += [SetOp(Op.REPLACE, u.path, value=u.val) for u in request.replace]
    ops += [SetOp(Op.UPDATE, u.path, value=u.val) for u in request.update]
    for o in ops:
        o.error = _parse_one(o, prefix, raw_prefix, target)
    return ops


def _parse_one(o: SetOp, prefix: GnmiPath, raw_prefix: GnmiPath, target: Target) -> tuple[grpc.StatusCode, str] | None:
    invalid = grpc.StatusCode.INVALID_ARGUMENT
    path = path_from_proto(o.proto_path)
    if any(e.name == "..." for e in path.elems) or any(not e.name for e in path.elems):
        return invalid, f"{o.op} {path}: path cannot be parsed"
    o.path = join(prefix, path)
    raw = join(raw_prefix, path_from_proto(o.proto_path, strip_modules=False))
    o.modules = modules_named(raw, {m.name for m in target.models})
    if o.op == Op.DELETE:
        return None
    if has_wildcard(o.path):
        return invalid, f"{o.op} {o.path}: wildcards are only allowed in deletes"
    tv = o.value
    try:
        o.value = decode_set_value(tv, bare_strings=target.bare_strings)
    except CodecError as exc:
        return grpc.StatusCode.UNIMPLEMENTED, f"{o.op} {o.path}: {exc}"
    except InvalidValue as exc:
        return invalid, f"{o.op} {o.path}: invalid value: {exc}"
    if o.op == Op.REPLACE and o.path.elems and o.path.elems[-1].keys and o.value == {}:
        # 3.4.4: {} would leave the entry without its keys; replace is no way to delete
        return invalid, f"{o.op} {o.path}: a list entry cannot be replaced with {{}} (delete it instead)"
    if not o.path.elems and tv.WhichOneof("value") == "json_ietf_val" and isinstance(o.value, dict):
        o.modules.update(_modules_named_in(parse_json(tv.json_ietf_val)))
    return None


def _modules_named_in(root_value: Any) -> dict[str, str]:
    """Modules named by the qualified top-level members of a value written at the root."""
    out = {}
    if isinstance(root_value, dict):
        for member in root_value:
            if ":" in member:
                module, name = member.split(":", 1)
                out[name] = module
    return out


def first_error(ops: list[SetOp]) -> int | None:
    return next((i for i, o in enumerate(ops) if o.error is not None), None)


def transaction(ops: list[SetOp], device: str) -> Callable[[Tree], Transaction]:
    """Build the transaction on the tree it is committed to (the expansion must see that very tree)."""

    def build(tree: Tree) -> Transaction:
        changes: list[Change] = []
        for i, o in enumerate(ops):
            assert o.path is not None
            if o.op == Op.DELETE and (has_wildcard(o.path) or tree.selects_many(o.path)):
                # 3.4.6: the target expands wildcards in deletes (a keyless list element is one)
                changes.extend(Change(Op.DELETE, p, owner=str(i)) for p, _ in tree.find(o.path))
            else:
                changes.append(Change(o.op, o.path, o.value, owner=str(i)))
        return Transaction(device=device, changes=changes)

    return build


def modules(ops: list[SetOp]) -> dict[str, str]:
    """The modules a committed request named, to be remembered by its target."""
    out: dict[str, str] = {}
    for o in ops:
        out.update(o.modules)
    return out


def response(ops: list[SetOp], prefix: Any, stamp: int) -> Any:
    return gnmi_pb2.SetResponse(
        prefix=prefix,
        timestamp=stamp,
        response=[gnmi_pb2.UpdateResult(timestamp=stamp, path=o.proto_path, op=OP_ENUM[o.op]) for o in ops],
    )


def failure(
    ops: list[SetOp], failed: int | None, code: grpc.StatusCode, message: str, prefix: Any, stamp: int
) -> status_pb2.Status:
    """The RPC status of a failed Set (3.4.7).

    The status code is the failed operation's own (INVALID_ARGUMENT for an
    invalid value, ...), as gNMI 0.10 wants the RPC status to say why; its
    details carry a SetResponse with one UpdateResult per operation: the failed
    one with that code, every other one ABORTED, and the SetResponse's own
    (deprecated) ``message`` ABORTED, for clients of older revisions that read
    the per-operation results.
    """
    results = []
    for i, o in enumerate(ops):
        if i == failed:
            err = gnmi_pb2.Error(code=code.value[0], message=message)
        else:
            err = gnmi_pb2.Error(code=grpc.StatusCode.ABORTED.value[0],
                                 message="not applied: another operation of this SetRequest failed")
        results.append(gnmi_pb2.UpdateResult(timestamp=stamp, path=o.proto_path, op=OP_ENUM[o.op], message=err))
    where = f"operation {failed} failed" if failed is not None else "an operation failed"
    summary = f"Set aborted, nothing applied: {where}: {message}"
    detail = any_pb2.Any()
    detail.Pack(gnmi_pb2.SetResponse(
        prefix=prefix, timestamp=stamp, response=results,
        message=gnmi_pb2.Error(code=grpc.StatusCode.ABORTED.value[0], message=summary),
    ))
    return status_pb2.Status(code=code.value[0], message=summary, details=[detail])
