"""One gNMI target of the mock server: a Datastore plus what a device adds.

The configuration lives in a :class:`~nwi.drivers.virtual.Datastore` (by
default an in-memory or file-backed :class:`DeviceStore`; the Linux backend is
another), so a device served over gNMI and a virtual device behave the same.
The target adds what the datastore has no notion of: read-only *state* data
(Get with type STATE/OPERATIONAL), credentials, faults, and a change signal that
ON_CHANGE subscriptions wait on.
"""

from __future__ import annotations

import collections
import copy
import hmac
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nwi.drivers.base import Transaction
from nwi.drivers.virtual import Datastore
from nwi.mockgnmi.faults import Faults
from nwi.path import GnmiPath
from nwi.tree import KeyedList, Tree


@dataclass(frozen=True)
class Credentials:
    """Username/password a client must send as gRPC metadata (gNMI 3.1). Never in reprs."""

    username: str
    password: str = field(repr=False)

    def accepts(self, metadata: Iterable[tuple[str, Any]]) -> bool:
        given = dict(metadata)
        user, password = given.get("username"), given.get("password")
        if not isinstance(user, str) or not isinstance(password, str):
            return False
        # compare_digest on both: how long a check takes says nothing about which field was wrong
        ok_user = hmac.compare_digest(user.encode(), self.username.encode())
        ok_password = hmac.compare_digest(password.encode(), self.password.encode())
        return ok_user and ok_password


@dataclass(frozen=True)
class Model:
    """A ModelData entry announced in Capabilities (gNMI 2.6.1): a module the target serves.

    ``version`` is the model's semantic version, or its revision date when
    that is all a module says.
    """

    name: str
    organization: str = ""
    version: str = ""


@dataclass(frozen=True)
class Commit:
    """One Set: the config snapshots before and after, and where its changes changed the data (its paths,
    widened by :func:`_region`)."""

    before: Tree
    after: Tree
    paths: tuple[GnmiPath, ...]


class Target:
    """A named gNMI target.

    ``port``: None serves the target on the server's shared port (clients pick
    it with the ``target`` field of the request prefix); an integer gives it a
    port of its own (0 = any free port).
    """

    def __init__(
        self,
        name: str,
        datastore: Datastore,
        *,
        port: int | None = None,
        credentials: Credentials | None = None,
        state: Tree | None = None,
        faults: Faults | None = None,
        models: Iterable[Model] = (),
        modules: Mapping[str, str] | None = None,
        bare_strings: bool = False,
    ) -> None:
        self.name = name
        self.datastore = datastore
        self.port = port
        self.credentials = credentials
        self.faults = faults or Faults()
        #: the models announced in Capabilities; a schema (``nwi.mockgnmi.schema``) replaces them with
        #: the modules it loaded
        self.models: Sequence[Model] = tuple(models)
        #: with YANG models (``nwi.mockgnmi.schema``): a value at a path as RFC 7951 answers it
        self.answer: Callable[[GnmiPath, Any], Any] | None = None
        #: the module of each top-level data node (``{"interfaces": "openconfig-interfaces"}``), used to
        #: qualify JSON_IETF answers (RFC 7951 section 4). Given by the devices file or a schema, and
        #: learned from what clients write qualified (see :meth:`learn_modules`).
        self.modules: dict[str, str] = dict(modules or {})
        #: opt-in leniency for pygnmi's unquoted strings (see :mod:`nwi.mockgnmi.values`)
        self.bare_strings = bare_strings
        self._state = state or Tree()
        # one commit at a time: snapshot -> expand wildcards -> commit must not interleave
        self._lock = threading.RLock()
        self.changed = threading.Condition()
        self.version = 0
        #: the last commits, for subscriptions that follow them instead of re-reading every leaf (a stream
        #: reads after every change, so it is a commit or two behind; each entry keeps two trees alive)
        self._commits: collections.deque[Commit] = collections.deque(maxlen=8)
        self.running = True
        #: client addresses (``ipv4:127.0.0.1:PORT``) seen so far: one per gRPC connection, so
        #: tests can tell whether a client reused its channel
        self.peers: set[str] = set()
        #: RPCs received, by name ("Get", "Set", "Subscribe"): tests tell polling from streaming with it
        self.rpcs: dict[str, int] = {}
        self._rpc_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Target({self.name!r}, port={self.port!r}, auth={self.credentials is not None})"

    # ---- data ------------------------------------------------------------------------
    def config(self) -> Tree:
        with self._lock:
            return self.datastore.snapshot()

    def state(self) -> Tree:
        with self._lock:
            return self._state

    def everything(self) -> Tree:
        """Config and state merged (Get type ALL); like :meth:`config`, not to be modified."""
        return merged(*self.sources())

    def sources(self) -> tuple[Tree, Tree]:
        """The config snapshot and the state tree, as they are now.

        Both are replaced, never changed in place, when the data changes (a
        datastore's snapshot is a new tree after each commit, and one that can
        change behind the server's back reads a new tree each time): the same
        two objects as before mean the same data.
        """
        with self._lock:
            return self.datastore.snapshot(), self._state

    def commit(self, build: Callable[[Tree], Transaction]) -> Transaction:
        """Build a transaction from the current config (e.g. to expand wildcard deletes) and commit it.

        Both happen under the target's lock, so the expansion sees exactly the
        tree the transaction is applied to.
        """
        with self._lock:
            before = self.datastore.snapshot()
            txn = build(before)
            self.datastore.commit(txn)
            self._commits.append(Commit(before, self.datastore.snapshot(), tuple(_region(c.path) for c in txn.changes)))
            self.notify()
        return txn

    def commits_between(self, old: Tree, new: Tree) -> list[GnmiPath] | None:
        """The paths the commits from config snapshot ``old`` to ``new`` changed; None unless recent
        commits lead from one to the other, each starting from the snapshot the one before left (then
        nothing else changed the data: a file-backed store, which reads a new tree each time, never
        qualifies)."""
        with self._lock:
            commits = list(self._commits)
        paths: list[GnmiPath] = []
        at = old
        for c in commits:
            if c.before is at:
                paths.extend(c.paths)
                at = c.after
                if at is new:
                    return paths
        return None

    def set_state(self, path: GnmiPath, value: Any) -> None:
        """Replace read-only state at ``path`` (tests and devices files use it to simulate counters)."""
        with self._lock:
            new = self._state.copy()
            if value is None:
                new.delete(path)
            else:
                new.replace(path, value)
            self._state = new
        self.notify()

    def notify(self) -> None:
        """Wake subscriptions: the data may have changed."""
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    # ---- models ----------------------------------------------------------------------
    def module_of(self, name: str) -> str | None:
        """The module defining top-level node ``name`` as far as the target knows (devices file, schema,
        learned from clients), or None."""
        return self.modules.get(name)

    def learn_modules(self, modules: Mapping[str, str]) -> None:
        """Remember modules a client named (``openconfig-interfaces:interfaces`` in a committed Set)."""
        with self._lock:
            self.modules.update(modules)

    def announced_models(self) -> list[Model]:
        """The models Capabilities lists: ``models``, plus every known module not among them."""
        named = {m.name for m in self.models}
        extra = sorted({m for m in self.modules.values() if m not in named})
        return [*self.models, *(Model(m) for m in extra)]

    def count(self, rpc: str) -> None:
        with self._rpc_lock:
            self.rpcs[rpc] = self.rpcs.get(rpc, 0) + 1

    # ---- access ----------------------------------------------------------------------
    def authenticates(self, metadata: Iterable[tuple[str, Any]]) -> bool:
        return self.credentials is None or self.credentials.accepts(metadata)


def _region(path: GnmiPath) -> GnmiPath:
    """Where a change at ``path`` can change leaves: a write creates the list entries on its way, with
    their key leaves (and a delete may take an emptied entry along), so the subtree from the first list
    entry on the path."""
    for i, elem in enumerate(path.elems):
        if elem.keys:
            return GnmiPath(path.elems[: i + 1], path.origin)
    return path


def merged(config: Tree, state: Tree) -> Tree:
    """``config`` with ``state`` merged in (``config`` itself when there is no state: it is not modified)."""
    if not state.root:
        return config
    out = config.copy()
    merge_trees(out.root, state.root)
    return out


def merge_trees(dst: dict[str, Any], src: Mapping[str, Any]) -> None:
    """Merge tree node ``src`` into ``dst`` in place, keyed lists entry by entry."""
    for name, value in src.items():
        have = dst.get(name)
        if isinstance(have, dict) and isinstance(value, dict):
            merge_trees(have, value)
        elif isinstance(have, KeyedList) and isinstance(value, KeyedList) and have.key_names == value.key_names:
            for ident, entry in value.entries.items():
                if ident in have.entries:
                    merge_trees(have.entries[ident], entry)
                else:
                    have.entries[ident] = copy.deepcopy(entry)
        else:
            dst[name] = copy.deepcopy(value)
