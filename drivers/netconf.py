"""The NETCONF driver (ncclient), as careful as an operator typing ``commit confirmed``.

One transaction on a device with ``:candidate`` (RFC 6241 8.3):

1. lock candidate (and running, when the device also lets others write running directly),
2. ``discard-changes`` (someone's abandoned edits must not ride along),
3. one ``edit-config`` per change, in gNMI order (deletes, replaces, updates),
4. ``commit`` confirmed with a timeout (RFC 6241 8.4),
5. read running back (``get-config`` with a subtree filter) and check every change,
6. the confirming ``commit``.

Any failure before 6 undoes everything: ``cancel-commit`` (or, without
``:confirmed-commit:1.1``, ending the session, which makes the server revert a
commit that was never confirmed), ``discard-changes``, unlock, and a
:class:`TransactionRejected` quoting the server's ``rpc-error``. If our
process dies between 4 and 6 the server reverts on its own when the session
drops. Locks are always released: when an unlock fails, the session is closed,
and a server releases the locks of a closed session.

Devices with only ``:writable-running`` get: lock running, snapshot the
touched subtrees, edit running (``rollback-on-error``), verify, unlock; on a
failure after the first edit the snapshot is written back.

Network-wide transactions (``prepare`` / ``confirm`` / ``cancel``) use
``:confirmed-commit:1.1`` with a ``persist`` id (RFC 6241 8.4): lock, edit the
candidate, ``<commit><confirmed/><confirm-timeout/><persist>ID</persist>``,
unlock, and the session may end: the pending commit outlives it, and any
session confirms it (``<commit><persist-id>``) or cancels it
(``<cancel-commit><persist-id>``); unconfirmed, the server reverts it when the
timeout runs out. A later wave of the same transaction edits the candidate
again and sends a follow-up confirmed commit with the same ``persist-id``
(which restarts the timer; a revert still restores the state before the
first). netconfd refuses a candidate lock while a confirmed commit is
pending, so that follow-up goes unlocked.

Where the XML comes from and how values are typed: :mod:`nwi.drivers.netconf_xml`; with the
device's YANG models (``models``), namespaces come from the module defining each element (augments
included) and values are typed by the schema (:mod:`nwi.schema.rfc7951`).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qs

import paramiko
from lxml import etree
from ncclient import manager
from ncclient.operations.errors import TimeoutExpiredError
from ncclient.operations.rpc import RPCError
from ncclient.transport.errors import AuthenticationError, SSHUnknownHostError, TransportError
from ncclient.xml_ import NCElement

from nwi.drivers.base import (
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
from nwi.drivers.netconf_errors import blamed_owners, describe
from nwi.drivers.netconf_verify import missing
from nwi.drivers.netconf_xml import (
    EditOperation,
    Namespaces,
    XmlBuildError,
    edit_config,
    extract,
    namespaces_any_kind,
    namespaces_for,
    subtree_filter,
)
from nwi.path import GnmiPath

if TYPE_CHECKING:
    from nwi.schema.models import ModelSet
    from nwi.schema.rfc7951 import Codec

log = logging.getLogger(__name__)
# ncclient logs every RPC, payload included, at INFO; keep that for whoever asks for it explicitly.
if logging.getLogger("ncclient").level == logging.NOTSET:
    logging.getLogger("ncclient").setLevel(logging.WARNING)

T = TypeVar("T")
_NC = "urn:ietf:params:xml:ns:netconf:base:1.0"

_EDIT_OPERATION: dict[Op, EditOperation] = {Op.DELETE: "remove", Op.REPLACE: "replace", Op.UPDATE: "merge"}
#: Failures of the SSH session itself (as opposed to an rpc-error reply).
_SESSION_ERRORS = (TransportError, TimeoutExpiredError, paramiko.SSHException, OSError, EOFError)


class NetconfDriver(Driver):
    """A NETCONF-over-SSH session to one device.

    ``confirm_timeout`` (seconds) is how long the server waits for the
    confirming commit before it reverts on its own; the driver confirms right
    after verification, so this only matters when the session hangs.
    """

    def __init__(self, name: str, params: ConnectionParams, confirm_timeout: int = 60,
                 models: ModelSet | None = None) -> None:
        self.name = name
        self.params = params
        self.confirm_timeout = confirm_timeout
        #: the device's YANG models: each element's namespace comes from the module that defines it
        #: (augments included), values are typed on the way in and out
        self.codec: Codec | None = None
        if models is not None:  # libyang is loaded only for devices that have models
            from nwi.schema.rfc7951 import codec_for

            self.codec = codec_for(models)
            self.typed = self.codec.typed
        self._mgr: manager.Manager | None = None
        self._modules: dict[str, str] = {}
        # Set while a transaction runs: a lost session must fail it, never be silently replaced
        # (a new session would not own the locks or the pending confirmed commit).
        self._in_transaction = False
        self._prepared: set[str] = set()  # persist ids this session committed and did not confirm yet

    def __repr__(self) -> str:
        return f"NetconfDriver({self.name!r}, {self.params.address}:{self.params.port})"

    # ---- session -----------------------------------------------------------------------
    def connect(self) -> DeviceInfo:
        if self._mgr is not None and self._mgr.connected:
            return self._info()
        p = self.params
        kwargs: dict[str, Any] = {
            "host": p.address,
            "port": p.port,
            "username": p.username,
            "password": p.password,
            "hostkey_verify": p.host_key_verify,
            "allow_agent": False,
            "look_for_keys": False,
            "timeout": p.connect_timeout,
            "manager_params": {"timeout": p.operation_timeout},
        }
        where = f"{p.address}:{p.port}"
        try:
            with _known_hosts_config(p.known_hosts if p.host_key_verify else None) as ssh_config:
                self._mgr = manager.connect(ssh_config=ssh_config, **kwargs)
        except AuthenticationError:
            raise AuthenticationFailed(self.name, f"NETCONF login to {where} as {p.username!r} refused") from None
        except SSHUnknownHostError as exc:
            raise AuthenticationFailed(
                self.name, f"SSH host key of {where} is not trusted (fingerprint {exc.fingerprint})"
            ) from None
        except _SESSION_ERRORS as exc:
            # ncclient's own messages name host and port, never the password
            raise DeviceUnreachable(self.name, f"NETCONF session to {where} failed: {exc}") from None
        self._modules = _server_modules(self._mgr.server_capabilities)
        log.info("%s: NETCONF session %s to %s", self.name, self._mgr.session_id, where)
        return self._info()

    def _info(self) -> DeviceInfo:
        assert self._mgr is not None
        caps = tuple(sorted(c for c in self._mgr.server_capabilities if "module=" not in c))
        return DeviceInfo(True, caps, f"session {self._mgr.session_id}")

    def close(self) -> None:
        mgr, self._mgr = self._mgr, None
        if mgr is None:
            return
        with contextlib.suppress(Exception):
            if mgr.connected:
                mgr.close_session()
        with contextlib.suppress(Exception):
            mgr._session.close()  # the transport, in case close-session did not get through

    def _session(self) -> manager.Manager:
        if self._mgr is None or not self._mgr.connected:
            if self._in_transaction:
                self._mgr = None
                raise DeviceUnreachable(
                    self.name, "NETCONF session lost during the transaction; the server reverts what was not confirmed"
                )
            self.connect()
        assert self._mgr is not None
        return self._mgr

    def _has(self, capability: str) -> bool:
        return capability in self._session().server_capabilities

    # ---- read --------------------------------------------------------------------------
    def read(self, paths: Sequence[GnmiPath]) -> dict[GnmiPath, Any]:
        """Running config at each path (``get-config`` with a subtree filter), as JSON with text leaves."""
        self._session()  # the server's modules resolve namespaces
        ns = namespaces_any_kind(self._modules)
        out: dict[GnmiPath, Any] = {}
        for path in paths:
            try:
                out[path] = self._read_path(path, ns)
            except XmlBuildError as exc:
                raise DriverError(self.name, f"cannot read {path} over NETCONF: {exc}") from None
        return out

    def _read_path(self, path: GnmiPath, ns: Namespaces) -> Any:
        if self.codec is not None:
            return self._read_typed(path)
        flt = subtree_filter(path, ns)
        reply = self._rpc(lambda m: m.get_config(source="running", filter=flt))
        return extract(reply.data_ele, path, ns)

    def _read_typed(self, path: GnmiPath) -> Any:
        """A read with the models: namespaces from the schema, lists and leaf types as it says."""
        assert self.codec is not None
        try:
            qualified = self.codec.qualified_path(path)
        except ValueError as exc:  # the models' SchemaError
            raise XmlBuildError(str(exc)) from None
        ns = self._schema_ns()
        flt = subtree_filter(qualified, ns)
        reply = self._rpc(lambda m: m.get_config(source="running", filter=flt))
        return self.codec.typed(path, extract(reply.data_ele, qualified, ns))

    def _schema_ns(self) -> Namespaces:
        assert self.codec is not None
        return Namespaces({}, {**self._modules, **self.codec.namespaces()})

    def _rpc(self, call: Callable[[manager.Manager], T]) -> T:
        """One RPC; a dead or hung session becomes DeviceUnreachable (and is dropped)."""
        try:
            return call(self._session())
        except RPCError:
            raise
        except _SESSION_ERRORS as exc:
            self.close()
            raise DeviceUnreachable(self.name, f"NETCONF session lost: {type(exc).__name__}: {exc}") from None

    # ---- apply -------------------------------------------------------------------------
    def apply(self, txn: Transaction, dry_run: bool = False) -> None:
        changes = txn.ordered()
        if not changes:
            return
        self._session()  # the server's modules resolve namespaces
        edits = [(c, self._document(txn, c)) for c in changes]
        self._in_transaction = True
        try:
            if self._has(":candidate"):
                self._apply_candidate(txn, edits, dry_run)
            elif self._has(":writable-running"):
                self._apply_running(txn, edits, dry_run)
            else:
                raise TransactionRejected(txn.device, "the device offers neither :candidate nor :writable-running")
        finally:
            self._in_transaction = False

    def _document(self, txn: Transaction, change: Change) -> etree._Element:
        """The edit-config payload; built before anything touches the device, so bad input changes nothing."""
        try:
            if self.codec is not None:
                return self._typed_document(change)
            return edit_config(change.path, change.value, _EDIT_OPERATION[change.op], self._ns(change))
        except ValueError as exc:  # XmlBuildError, or the models' SchemaError
            raise TransactionRejected(txn.device, f"{change.op} {change.path}: {exc}", _owners(change)) from None

    def _typed_document(self, change: Change) -> etree._Element:
        """The edit with the models: the path and value qualified by module where the module changes
        (RFC 7951 names), so each element gets its module's namespace, augments included."""
        assert self.codec is not None
        value = None if change.op == Op.DELETE else self.codec.encode(change.path, change.value)
        return edit_config(self.codec.qualified_path(change.path), value, _EDIT_OPERATION[change.op],
                           self._schema_ns())

    def _ns(self, change: Change) -> Namespaces:
        return namespaces_for(change.kind, self._modules)

    def _apply_candidate(self, txn: Transaction, edits: list[tuple[Change, etree._Element]], dry_run: bool) -> None:
        changes = [c for c, _ in edits]
        with contextlib.ExitStack() as held:
            if self._has(":writable-running"):
                # Others could write running directly; lock it too. Not otherwise: netconfd 2.13
                # cannot revert a dead session's confirmed commit while that session's running
                # lock is still held ("restore running config failed (config locked)").
                held.enter_context(self._locked(txn, "running"))
            held.enter_context(self._locked(txn, "candidate"))
            held.enter_context(self._candidate_discarded())
            self._call(txn, changes, "discard-changes", lambda m: m.discard_changes())
            for change, doc in edits:
                self._call(txn, [change], f"edit-config ({change.op} {change.path})", _edit(doc, "candidate"))
            if dry_run:
                if self._has(":validate"):
                    self._call(txn, changes, "validate", lambda m: m.validate(source="candidate"))
                return
            # NB: no <validate> before <commit>: netconfd 2.13 then answers the commit
            # with <ok/> without changing running. Commit validates anyway.
            timeout = str(self.confirm_timeout)
            self._call(txn, changes, "commit confirmed", lambda m: m.commit(confirmed=True, timeout=timeout))
            try:
                self._verify(txn, changes)
                self._call(txn, changes, "confirming commit", lambda m: m.commit())
            except BaseException:
                self._revert_confirmed()
                raise
            log.info("%s: committed %d change(s)", self.name, len(changes))

    # ---- network-wide transactions: confirmed commit with a persist id ----------------------------------
    def confirmed_commit_problem(self) -> str | None:
        self._session()
        missing_caps = [c for c in (":candidate", ":confirmed-commit:1.1") if not self._has(c)]
        if missing_caps:
            return f"NETCONF device {self.name} lacks {' and '.join(missing_caps)}: no commit with a revert timer"
        return None

    def prepare(self, txn: Transaction, commit_id: str, timeout: int) -> None:
        changes = txn.ordered()
        self._session()
        problem = self.confirmed_commit_problem()
        if problem:
            raise TransactionRejected(txn.device, problem)
        edits = [(c, self._document(txn, c)) for c in changes]
        follow_up = commit_id in self._prepared
        self._in_transaction = True
        try:
            with contextlib.ExitStack() as held:
                if not follow_up:  # a pending confirmed commit makes netconfd refuse the locks (see above)
                    if self._has(":writable-running"):
                        held.enter_context(self._locked(txn, "running"))
                    held.enter_context(self._locked(txn, "candidate"))
                # unlocked in a follow-up: another session's uncommitted candidate edits must not ride along
                self._call(txn, changes, "discard-changes", lambda m: m.discard_changes())
                held.enter_context(self._candidate_discarded())
                for change, doc in edits:
                    self._call(txn, [change], f"edit-config ({change.op} {change.path})", _edit(doc, "candidate"))
                self._call(txn, changes, "commit confirmed",
                           lambda m: m.dispatch(_confirmed_commit(commit_id, timeout, follow_up)))
                self._prepared.add(commit_id)
                try:
                    self._verify(txn, changes)
                except BaseException:
                    self.cancel(commit_id)
                    raise
        finally:
            self._in_transaction = False
        log.info("%s: prepared %d change(s) as %s (reverted in %ss unless confirmed)", self.name, len(changes),
                 commit_id, timeout)

    def extend(self, commit_id: str, timeout: int) -> None:
        """A follow-up confirmed commit under the same persist id restarts the timer (RFC 6241 8.4.5.1). It
        commits the candidate, which nwi left equal to running: discarding first keeps another session's
        unlocked candidate edits from riding along (the candidate cannot be locked while a commit is pending)."""
        try:
            self._rpc(lambda m: m.discard_changes())
            self._rpc(lambda m: m.dispatch(_confirmed_commit(commit_id, timeout, follow_up=True)))
        except RPCError as exc:  # no such persist id pending (any more): its timer ran out
            raise TransactionRejected(self.name, f"extending {commit_id} failed: {describe(exc)}") from None

    def confirm(self, commit_id: str) -> None:
        try:
            self._rpc(lambda m: m.commit(persist_id=commit_id))
        except RPCError as exc:
            raise DriverError(self.name, f"confirming {commit_id} failed: {describe(exc)}") from None
        self._prepared.discard(commit_id)

    def cancel(self, commit_id: str) -> None:
        self._prepared.discard(commit_id)
        try:
            self._rpc(lambda m: m.cancel_commit(persist_id=commit_id))
        except RPCError as exc:  # nothing pending under that id: reverted already
            log.info("%s: cancel-commit %s: %s (not pending)", self.name, commit_id, describe(exc))

    def resolve_commit(self, commit_id: str, confirm: bool) -> CommitOutcome:
        """NETCONF offers no query for a persist id: the commit is confirmed or cancelled as decided,
        and the server's answer says whether it was still pending."""
        try:
            if confirm:
                self._rpc(lambda m: m.commit(persist_id=commit_id))
                return CommitOutcome.CONFIRMED
            self._rpc(lambda m: m.cancel_commit(persist_id=commit_id))
            return CommitOutcome.REVERTED
        except RPCError:
            # not pending: never confirmed when the decision was to cancel, so its timer reverted it (or it was
            # never prepared); when the decision was to confirm, it was confirmed before, or it reverted
            return CommitOutcome.UNKNOWN if confirm else CommitOutcome.REVERTED

    def _apply_running(self, txn: Transaction, edits: list[tuple[Change, etree._Element]], dry_run: bool) -> None:
        changes = [c for c, _ in edits]
        with self._locked(txn, "running"):
            if dry_run:
                if self._has(":validate:1.1"):
                    for change, doc in edits:
                        self._call(txn, [change], f"test edit ({change.path})", _edit(doc, "running", "test-only"))
                return
            before = {c.path: self._read_path(c.path, self._ns(c)) for c in changes}
            error_option = "rollback-on-error" if self._has(":rollback-on-error") else None
            try:
                for change, doc in edits:
                    self._call(
                        txn,
                        [change],
                        f"edit-config ({change.op} {change.path})",
                        _edit(doc, "running", None, error_option),
                    )
                self._verify(txn, changes)
            except BaseException:
                self._restore(changes, before)
                raise

    @contextlib.contextmanager
    def _locked(self, txn: Transaction, target: str) -> Iterator[None]:
        self._call(txn, [], f"lock {target}", lambda m: m.lock(target=target))
        try:
            yield
        finally:
            self._release(lambda m: m.unlock(target=target), f"unlock {target}")

    @contextlib.contextmanager
    def _candidate_discarded(self) -> Iterator[None]:
        """Leave the candidate without our edits, whatever happened (failure, dry run)."""
        try:
            yield
        finally:  # after a confirmed commit the candidate equals running: discarding is a no-op
            self._release(lambda m: m.discard_changes(), "discard-changes")

    def _release(self, call: Callable[[manager.Manager], Any], what: str) -> None:
        """A cleanup RPC; if it fails the session is closed, which releases locks and pending commits."""
        if self._mgr is None or not self._mgr.connected:
            self._mgr = None
            return
        try:
            call(self._mgr)
        except (RPCError, *_SESSION_ERRORS) as exc:
            log.warning("%s: %s failed (%s); closing the session to release everything", self.name, what, exc)
            self.close()

    def _revert_confirmed(self) -> None:
        """Undo a confirmed commit that will not be confirmed."""
        if self._mgr is None or not self._mgr.connected:
            return  # the session is gone: the server has reverted already (RFC 6241 8.4.1)
        if self._has(":confirmed-commit:1.1"):
            self._release(lambda m: m.cancel_commit(), "cancel-commit")
        else:
            self.close()

    def _call(self, txn: Transaction, changes: Sequence[Change], what: str, call: Callable[[manager.Manager], T]) -> T:
        """An RPC of the transaction; an rpc-error becomes TransactionRejected naming the blamed objects."""
        try:
            return self._rpc(call)
        except RPCError as exc:
            owners = blamed_owners(exc, changes) or [o for c in changes for o in _owners(c)]
            raise TransactionRejected(txn.device, f"{what} rejected: {describe(exc)}", _unique(owners)) from None

    def _verify(self, txn: Transaction, changes: Sequence[Change]) -> None:
        """Read running back: each change must be there (or gone), unless a later change overlaps it."""
        problems: list[str] = []
        owners: list[str] = []
        for i, change in enumerate(changes):
            if any(_overlap(change.path, later.path) for later in changes[i + 1 :]):
                continue
            actual = self._read_path(change.path, self._ns(change))
            if change.op == Op.DELETE:
                found = [] if actual is None else [f"{change.path}: still present after delete"]
            elif actual is None:
                found = [f"{change.path}: missing after {change.op}"]
            else:
                desired = self.typed(change.path, change.value) if self.typed is not None else change.value
                found = missing(actual, desired, str(change.path))
            if found:
                problems.extend(found)
                owners.extend(_owners(change))
        if problems:
            raise TransactionRejected(
                txn.device, "running differs from what was committed: " + "; ".join(problems[:5]), _unique(owners)
            )

    def _restore(self, changes: Sequence[Change], before: dict[GnmiPath, Any]) -> None:
        """Writable-running only: write back the subtrees as they were before the transaction."""
        for change in reversed(changes):
            old = before[change.path]
            op: EditOperation = "remove" if old is None else "replace"
            try:
                if self.codec is not None:
                    restore = Change(Op.DELETE if old is None else Op.REPLACE, change.path, old, change.owner,
                                     change.kind)
                    doc = self._typed_document(restore)
                else:
                    doc = edit_config(change.path, old, op, self._ns(change))
                self._rpc(_edit(doc, "running"))
            except (RPCError, ValueError, DriverError) as exc:  # ValueError: XmlBuildError, SchemaError
                log.error("%s: could not restore %s after a failed transaction: %s", self.name, change.path, exc)


def _confirmed_commit(commit_id: str, timeout: int, follow_up: bool) -> etree._Element:
    """``<commit><confirmed/><confirm-timeout/><persist/>[<persist-id/>]</commit>``: a follow-up keeps the
    commit persistent under the same id (ncclient's ``commit()`` will not send both elements)."""
    rpc = etree.Element(f"{{{_NC}}}commit")
    etree.SubElement(rpc, f"{{{_NC}}}confirmed")
    etree.SubElement(rpc, f"{{{_NC}}}confirm-timeout").text = str(timeout)
    etree.SubElement(rpc, f"{{{_NC}}}persist").text = commit_id
    if follow_up:
        etree.SubElement(rpc, f"{{{_NC}}}persist-id").text = commit_id
    return rpc


def _edit(
    doc: etree._Element, target: str, test_option: str | None = None, error_option: str | None = None
) -> Callable[[manager.Manager], NCElement]:
    return lambda m: m.edit_config(config=doc, target=target, test_option=test_option, error_option=error_option)


def _owners(change: Change) -> list[str]:
    return [change.owner] if change.owner else []


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _overlap(a: GnmiPath, b: GnmiPath) -> bool:
    n = min(len(a.elems), len(b.elems))
    return a.elems[:n] == b.elems[:n]


def _server_modules(capabilities: Any) -> dict[str, str]:
    """module name -> namespace, from the ``<ns>?module=<name>`` capabilities of the server's hello."""
    modules: dict[str, str] = {}
    for cap in capabilities:
        uri, _, query = str(cap).partition("?")
        names = parse_qs(query).get("module")
        if names:
            modules[names[0]] = uri
    return modules


@contextlib.contextmanager
def _known_hosts_config(path: str | None) -> Iterator[str | None]:
    """An ssh_config naming ``path`` as the known_hosts file, for the length of a connect.

    ncclient reads ``UserKnownHostsFile`` only from an ssh_config file; without a
    path, no config is used and ncclient checks the user's ``~/.ssh/known_hosts``.
    """
    if path is None:
        yield None
        return
    with tempfile.NamedTemporaryFile("w", prefix="nwi-ssh-", suffix=".conf") as f:
        f.write(f'Host *\n    UserKnownHostsFile "{path}"\n')
        f.flush()
        yield f.name
