"""The standalone CLI's state: objects, devices and statuses in an embedded SQLite file.

Only desired state and status are kept; secrets never are (``Device``
documents hold references to Secrets, and Secrets are not stored).

The store is also the engine's write-ahead journal (:class:`nwi.engine.Journal`):
:meth:`Store.durable` commits every status recorded so far before a
transaction is sent, so after a crash the state names everything that may be
on a device. SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit
has reached the operating system when it returns, so it survives any end of
the nwi process (``kill -9``, an OOM kill, a crash); only a power loss or a
kernel crash may lose the last commits (``FULL``, an fsync per commit, cost
the 10k-object benchmark apply about a fifth more). Concurrent callers share
one commit (group commit: whoever takes the commit lock writes every pending
row); an outcome recorded after its intent rewrites the status alone; and
outcomes between intents are committed at most every :data:`FLUSH_INTERVAL_S`.
Every SQLite or decoding failure becomes a :class:`StateError` naming the
file and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nwi import jsontext
from nwi.loader import InvalidInput, build_object, printable
from nwi.model import ConfigObject, DeviceObject, ObjectKey, Source
from nwi.status import ObjectStatus, now

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    manifest TEXT NOT NULL,
    desired_hash TEXT NOT NULL,
    generation INTEGER NOT NULL,
    status TEXT,
    created TEXT NOT NULL,
    seq INTEGER
);
CREATE TABLE IF NOT EXISTS devices (
    key TEXT PRIMARY KEY,
    manifest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT);
"""

#: outcomes recorded since the last commit are committed once this much time has passed
FLUSH_INTERVAL_S = 0.5


class StateError(Exception):
    """The state cannot be read or written (corrupt, read-only, full); the message says what to do."""


_RECOVER = ("restore a backup of it, or use another --state-dir (devices keep their config: "
            "the next apply there finds it in sync)")


def state_error(db_file: Path, exc: BaseException, writing: bool = True) -> StateError:
    """A one-line :class:`StateError` for a failure of SQLite (or of the file system under it)."""
    text = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or getattr(exc, "errno", None) == errno.ENOSPC or "disk is full" in text:
        return StateError(f"{db_file}: the disk is full: statuses from here on could not be recorded "
                          "(every earlier one was); free space, then apply again to settle the rest")
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN) or "readonly" in text \
            or isinstance(exc, PermissionError):
        return StateError(f"{db_file}: cannot write the state ({text}); `nwi get` and `nwi plan` can still "
                          "read it; apply and delete need a writable --state-dir")
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB) or isinstance(exc, (ValueError, KeyError,
                                                                                    TypeError)):
        return StateError(f"{db_file}: the state is corrupt ({text}); {_RECOVER}")
    verb = "write" if writing else "read"
    return StateError(f"{db_file}: cannot {verb} the state ({text}); {_RECOVER}")


def device_manifest(d: DeviceObject) -> dict[str, Any]:
    """A Device as stored and shown (``nwi get devices -o yaml``): its spec, never a Secret's content."""
    return {
        "apiVersion": "nwi.enc.nokia.com/v1alpha2",
        "kind": "Device",
        "metadata": {"name": d.key.name, "namespace": d.key.namespace},
        "spec": d.spec.model_dump(by_alias=True, exclude_none=True),
    }


class StoredObject:
    """A stored object and its status. The object is re-validated from its manifest only when
    something needs it: a re-apply of 10k objects needs just their statuses and hashes."""

    def __init__(self, key: ObjectKey, status: ObjectStatus, created: str, seq: int | None, generation: int,
                 desired_hash: str, manifest: str = "", obj: ConfigObject | None = None) -> None:
        self.key = key
        self.status = status
        self.created = created
        self.seq = seq
        self.generation = generation
        self.desired_hash = desired_hash
        self._manifest = manifest
        self._obj = obj

    @property
    def obj(self) -> ConfigObject:
        if self._obj is None:
            try:
                doc = jsontext.loads(self._manifest)
                doc.setdefault("metadata", {})["generation"] = self.generation
                obj = build_object(doc, Source("<state>"), check_names=False)
            except (ValueError, TypeError, AttributeError, InvalidInput) as exc:
                raise StateError(f"state.db: object {printable(str(self.key))}: stored manifest is corrupt "
                                 f"({printable(str(exc).splitlines()[0])}); {_RECOVER}") from None
            if not isinstance(obj, ConfigObject):
                raise StateError(f"state.db: object {self.key}: stored manifest is not a config object; {_RECOVER}")
            self._obj = obj
        return self._obj


class Store:
    """SQLite-backed state. One instance per CLI run; thread-safe for the engine's workers."""

    def __init__(self, state_dir: Path, read_only: bool = False) -> None:
        """``read_only``: for commands that only look (get, plan, graph): where no state exists yet,
        an empty one in memory, so that looking creates nothing on disk."""
        self.state_dir = state_dir
        self.db_file = state_dir / "state.db"
        self.read_only = read_only
        self._lock = threading.Lock()
        self._commit_lock = threading.Lock()  # one SQLite transaction at a time (group commit)
        self._cache: dict[ObjectKey, StoredObject] = {}
        self._dirty: set[ObjectKey] = set()
        #: the object whose manifest each row holds, when this run wrote it: an outcome recorded after its
        #: intent updates the status alone (the manifest is half of each row's bytes)
        self._written: dict[ObjectKey, ConfigObject] = {}
        self._last_flush = time.monotonic()
        try:
            self._db = self._connect()
            self._load()
        except sqlite3.Error as exc:
            raise state_error(self.db_file, exc, writing=not read_only) from None
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a row sqlite read but nwi cannot
            raise StateError(f"{self.db_file}: the state is corrupt (a bad row: {exc}); {_RECOVER}") from None
        self._seq = max((s.seq or 0 for s in self._cache.values()), default=0)

    def _connect(self) -> sqlite3.Connection:
        db_file = self.db_file
        if self.read_only:
            if not db_file.exists():
                db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
                db.executescript(SCHEMA)
                return db
            return _open_read_only(db_file)
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise state_error(db_file, exc) from None
        db = sqlite3.connect(str(db_file), check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # see the module docstring
            db.executescript(SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _load(self) -> None:
        rows = self._db.execute(
            "SELECT kind, namespace, name, manifest, desired_hash, generation, status, created, seq FROM objects")
        for kind, namespace, name, manifest, desired_hash, generation, status, created, seq in rows:
            key = ObjectKey(kind, namespace, name)
            if not all(isinstance(v, str) for v in (kind, namespace, name, manifest, desired_hash)) \
                    or not isinstance(generation, int):
                raise ValueError(f"object {key}")
            self._cache[key] = StoredObject(key, ObjectStatus.from_dict(jsontext.loads(status or "null")), created, seq,
                                            generation, desired_hash, manifest=manifest)

    # ---- objects -------------------------------------------------------------------
    def objects(self) -> list[StoredObject]:
        return list(self._cache.values())

    def get(self, key: ObjectKey) -> StoredObject | None:
        return self._cache.get(key)

    def with_generation(self, obj: ConfigObject) -> ConfigObject:
        """``obj`` with its generation: +1 whenever its desired state changed (like metadata.generation)."""
        stored = self._cache.get(obj.key)
        if stored is None:
            return obj.at_generation(1)
        gen = stored.generation
        return obj.at_generation(gen if stored.desired_hash == obj.desired_hash else gen + 1)

    # StatusSink
    def previous(self, key: ObjectKey) -> ObjectStatus | None:
        stored = self._cache.get(key)
        return stored.status if stored else None

    def record(self, obj: ConfigObject, status: ObjectStatus) -> None:
        with self._lock:
            stored = self._cache.get(obj.key)
            if stored is not None and stored.status is status and stored.generation == (obj.generation or 1):
                return  # an unchanged re-check: nothing to write
            seq = stored.seq if stored else None
            written = status.last_applied_time != (stored.status.last_applied_time if stored else None)
            if written or (seq is None and status.phase == "Ready"):
                self._seq += 1  # application order, for `nwi get`
                seq = self._seq
            self._cache[obj.key] = StoredObject(obj.key, status, stored.created if stored else now(), seq,
                                                obj.generation or 1, obj.desired_hash, obj=obj)
            self._dirty.add(obj.key)
        self.flush_due()

    def forget(self, key: ObjectKey) -> None:
        with self._lock:
            self._cache.pop(key, None)
            self._dirty.add(key)
        self.flush_due()

    def flush(self) -> None:
        """Write every change since the last flush in one SQLite transaction (on disk when it returns).

        Raise :class:`StateError` if it cannot be written; the changes stay pending then, so a later
        flush (space freed) still writes them.
        """
        with self._commit_lock:
            with self._lock:
                dirty, self._dirty = self._dirty, set()
                rows = [(k, self._cache.get(k)) for k in dirty]
                self._last_flush = time.monotonic()
            if not rows:
                return
            gone = [(str(key),) for key, stored in rows if stored is None]
            whole = [(key, stored) for key, stored in rows
                     if stored is not None and self._written.get(key) is not stored._obj]
            written = [
                (str(key), key.kind, key.namespace, key.name, stored.obj.manifest_json(), stored.desired_hash,
                 stored.generation, jsontext.dumps(stored.status.to_stored()), stored.created, stored.seq)
                for key, stored in whole
            ]
            statuses = [(jsontext.dumps(stored.status.to_stored()), stored.seq, str(key))
                        for key, stored in rows if stored is not None and self._written.get(key) is stored._obj]
            try:
                with self._db:
                    self._db.execute("BEGIN")
                    self._db.executemany("DELETE FROM objects WHERE key = ?", gone)
                    self._db.executemany("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?,?,?,?,?,?)", written)
                    self._db.executemany("UPDATE objects SET status = ?, seq = ? WHERE key = ?", statuses)
            except sqlite3.Error as exc:
                with self._lock:
                    self._dirty.update(dirty)
                raise state_error(self.db_file, exc) from None
            for key, stored in rows:
                if stored is None:
                    self._written.pop(key, None)
            self._written.update((key, stored.obj) for key, stored in whole)

    # Journal
    def durable(self) -> None:
        """Everything recorded so far is on disk when this returns (one commit for concurrent callers)."""
        self.flush()

    def flush_due(self) -> None:
        """Commit what settled since the last commit if that was a while ago (outcomes as they settle).

        A failure is not raised here (the caller is recording an outcome): the rows stay pending,
        and the next :meth:`durable` (before anything more is sent) or :meth:`flush` raises it.
        """
        if self._dirty and time.monotonic() - self._last_flush >= FLUSH_INTERVAL_S:
            with contextlib.suppress(StateError):
                self.flush()

    # ---- devices -------------------------------------------------------------------
    def devices(self) -> list[DeviceObject]:
        out = []
        try:
            for key, manifest in self._db.execute("SELECT key, manifest FROM devices"):
                try:
                    dev = build_object(jsontext.loads(manifest), Source("<state>"), check_names=False)
                except (ValueError, TypeError, AttributeError, InvalidInput) as exc:
                    raise StateError(f"{self.db_file}: device {key}: stored manifest is corrupt "
                                     f"({printable(str(exc).splitlines()[0])}); {_RECOVER}") from None
                if not isinstance(dev, DeviceObject):
                    raise StateError(f"{self.db_file}: device {key}: stored manifest is not a Device; {_RECOVER}")
                out.append(dev)
        except sqlite3.Error as exc:
            raise state_error(self.db_file, exc, writing=False) from None
        return out

    def put_devices(self, devices: list[DeviceObject]) -> None:
        try:
            with self._commit_lock, self._db:
                self._db.execute("BEGIN")
                for d in devices:
                    self._db.execute("INSERT OR REPLACE INTO devices VALUES (?, ?)",
                                     (str(d.key), jsontext.dumps(device_manifest(d))))
        except sqlite3.Error as exc:
            raise state_error(self.db_file, exc) from None

    def close(self) -> None:
        try:
            if not self.read_only:
                self.flush()
        finally:
            self._db.close()

    def __iter__(self) -> Iterator[StoredObject]:
        return iter(self.objects())


def _open_read_only(db_file: Path) -> sqlite3.Connection:
    """The state file opened for reading only, even on a read-only file system.

    A WAL database is read through its ``-shm`` index, which a reader must be
    able to create; where it cannot (a read-only directory or mount), the
    file is opened ``immutable``: read as it is on disk, which is the whole
    state when no writer runs (a writer's close checkpoints its WAL).
    """
    uri = db_file.resolve().as_uri()
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
    try:
        db.execute("SELECT count(*) FROM objects").fetchone()
        return db
    except sqlite3.OperationalError as exc:
        db.close()
        if "no such table" in str(exc):
            raise
        if os.access(db_file.parent, os.W_OK) and "readonly" not in str(exc) and "unable to open" not in str(exc):
            raise
    db = sqlite3.connect(f"{uri}?immutable=1", uri=True, check_same_thread=False, isolation_level=None)
    db.execute("SELECT count(*) FROM objects").fetchone()
    return db
