"""A datastore that refuses what the device's YANG models refuse: the virtual device and the
mock gNMI server with ``--yang-path`` behave like a real target.

:class:`ModelledDatastore` wraps any :class:`~nwi.drivers.virtual.Datastore`.
Before a transaction reaches it, every change is checked against the
models (the path exists and is configurable, every member is a node of the
schema, every leaf fits its type: range, length, pattern, enum, identity;
list keys as the schema has them), and then the whole configuration it
would make (``checks="full"``: mandatory nodes, ``must``/``when``, leafrefs
too). The first failure refuses the transaction naming the node; nothing is
applied. Values are stored typed (``nwi.schema.rfc7951.Codec.typed``), so a
read answers ``4321`` for a uint32 written as ``"4321"``.

``full`` is not the default: libyang evaluates ``must`` over defaults the
configuration never set, and so refuses partial trees that a device with a
complete configuration accepts (SR Linux's interfaces: ``MAC SWAP is only
supported when interface loopback mode is facility``).
"""

from __future__ import annotations

from nwi.drivers.base import Change, Op, SchemaRejected, Transaction
from nwi.drivers.virtual import Datastore, apply_changes
from nwi.schema.models import ModelSet
from nwi.schema.rfc7951 import Checks, Codec, SchemaError, codec_for
from nwi.tree import Tree


class ModelledDatastore:
    """``inner`` guarded by ``models`` (see the module docstring)."""

    def __init__(self, inner: Datastore, models: ModelSet, checks: Checks = "values") -> None:
        self.inner = inner
        self.models = models
        self.codec: Codec = codec_for(models)
        self.checks: Checks = checks

    def snapshot(self) -> Tree:
        return self.inner.snapshot()

    def commit(self, txn: Transaction, dry_run: bool = False) -> None:
        typed = Transaction(txn.device, [self._checked(txn.device, c) for c in txn.changes])
        if self.checks == "full":
            after = apply_changes(self.inner.snapshot(), typed)
            problems = self.codec.check(after.to_json(), "full")
            if problems:
                first = problems[0]
                raise SchemaRejected(txn.device, f"{first.where}: {first.message}",
                                          _blamed(txn.changes, first.where))
        self.inner.commit(typed, dry_run)

    def _checked(self, device: str, change: Change) -> Change:
        try:
            if change.op == Op.DELETE:
                self.codec.node(change.path)  # a delete names a node of the schema, too
                return change
            self.codec.encode(change.path, change.value)
        except SchemaError as exc:
            raise SchemaRejected(device, str(exc), [change.owner] if change.owner else []) from exc
        return change._replace(value=self.codec.typed(change.path, change.value))


def _blamed(changes: list[Change], where: str) -> list[str]:
    """The owners of the changes at or above the node a whole-tree error names (libyang's path has
    module prefixes and quoted keys: compared element by element, by name)."""
    names = [part.split("[", 1)[0].split(":", 1)[-1] for part in where.strip("/").split("/") if part]
    out = []
    for c in changes:
        mine = [e.name.split(":", 1)[-1] for e in c.path.elems]
        if mine == names[: len(mine)] and c.owner:
            out.append(c.owner)
    return out
