"""The standalone CLI's state: objects, devices and statuses in an embedded SQLite file.

Only desired state and status are kept; secrets never are (``Device``
documents hold references to Secrets, and Secrets are not stored).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nwi import jsontext
from nwi.loader import build_object
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
            doc = jsontext.loads(self._manifest)
            doc.setdefault("metadata", {})["generation"] = self.generation
            obj = build_object(doc, Source("<state>"))
            assert isinstance(obj, ConfigObject)
            self._obj = obj
        return self._obj


class Store:
    """SQLite-backed state. One instance per CLI run; thread-safe for the engine's workers."""

    def __init__(self, state_dir: Path, read_only: bool = False) -> None:
        """``read_only``: for commands that only look (get, plan, graph): where no state exists yet,
        an empty one in memory, so that looking creates nothing on disk."""
        self.state_dir = state_dir
        db_file = state_dir / "state.db"
        if read_only and not db_file.exists():
            target = ":memory:"
        else:
            state_dir.mkdir(parents=True, exist_ok=True)
            target = str(db_file)
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._cache: dict[ObjectKey, StoredObject] = {}
        self._dirty: set[ObjectKey] = set()
        self._load()
        self._seq = max((s.seq or 0 for s in self._cache.values()), default=0)

    def _load(self) -> None:
        rows = self._db.execute(
            "SELECT kind, namespace, name, manifest, desired_hash, generation, status, created, seq FROM objects")
        for kind, namespace, name, manifest, desired_hash, generation, status, created, seq in rows:
            key = ObjectKey(kind, namespace, name)
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

    def forget(self, key: ObjectKey) -> None:
        with self._lock:
            self._cache.pop(key, None)
            self._dirty.add(key)

    def flush(self) -> None:
        """Write every change since the last flush in one SQLite transaction."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            rows = [(k, self._cache.get(k)) for k in dirty]
        gone = [(str(key),) for key, stored in rows if stored is None]
        written = [
            (str(key), key.kind, key.namespace, key.name, stored.obj.manifest_json(), stored.desired_hash,
             stored.generation, jsontext.dumps(stored.status.to_stored()), stored.created, stored.seq)
            for key, stored in rows if stored is not None
        ]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM objects WHERE key = ?", gone)
            self._db.executemany("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?,?,?,?,?,?)", written)

    # ---- devices -------------------------------------------------------------------
    def devices(self) -> list[DeviceObject]:
        out = []
        for (manifest,) in self._db.execute("SELECT manifest FROM devices"):
            dev = build_object(jsontext.loads(manifest), Source("<state>"))
            assert isinstance(dev, DeviceObject)
            out.append(dev)
        return out

    def put_devices(self, devices: list[DeviceObject]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            for d in devices:
                self._db.execute("INSERT OR REPLACE INTO devices VALUES (?, ?)",
                                 (str(d.key), jsontext.dumps(device_manifest(d))))

    def close(self) -> None:
        self.flush()
        self._db.close()

    def __iter__(self) -> Iterator[StoredObject]:
        return iter(self.objects())
