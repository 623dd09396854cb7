"""kopf's diff base for config objects: kept in memory, as a digest of what nwi acts on.

kopf decides between create, update, resume and "nothing changed" by
comparing an object's essence with the essence it handled last, which its own
storages write into the object (an annotation, or a status field) after every
handled change. At thousands of objects that record cost one more API write
and one more watch event per object per change, and building kopf's essence
deep-copied the whole body, managed fields included, on every event.

nwi does not need that record to be durable: every handler call checks the
object against its status (``appliedHash``, ``observedGeneration``), so a
handler called once more than needed finds the object Ready and returns. So
the essence is a digest of what decides nwi's work (the spec and nwi's own
annotations: dependencies, network-wide transaction), kept per object in
memory. An object this process has not handled yet (a restart, or a new
object whose early start settled before kopf's first handler call) counts as
handled at its current essence when its status is settled (Ready or Drifted)
at its current generation: kopf resumes it rather than creating it again. A
Failed or Waiting one counts as not handled, so kopf calls the handler (and
owns its retries).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from typing import Any

import kopf

from nwi import jsontext
from nwi.kinds import DEPENDS_ON, TRANSACTION, TRANSACTION_SIZE
from nwi.status import Phase

#: phases in which an object needs nothing from a handler
SETTLED = (Phase.READY.value, Phase.DRIFTED.value)
#: the annotations nwi reads from a config object (kopf's own, under the same prefix, are not among them)
ACTED_ON = (DEPENDS_ON, TRANSACTION, TRANSACTION_SIZE)


def digest(body: Any) -> str:
    """What decides nwi's work on the object, as a short hash."""
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    doc = {"spec": body.get("spec"), "annotations": {k: annotations[k] for k in ACTED_ON if k in annotations}}
    return hashlib.sha256(jsontext.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


class HandledInMemory(kopf.DiffBaseStorage):
    """kopf's last handled essence per object uid, in this process only (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()  # (kopf calls from its loop; forget() may come from elsewhere)
        self._handled: dict[str, str] = {}

    def build(self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None) -> kopf.BodyEssence:
        # (no handler of nwi's filters on fields, so kopf's extra fields are never asked for)
        return {"spec": {"nwi-digest": digest(body)}}

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        uid = body.metadata.uid or ""
        with self._lock:
            handled = self._handled.get(uid)
        if handled is not None:
            return {"spec": {"nwi-digest": handled}}
        status = body.get("status") or {}
        generation = body.metadata.get("generation")
        if generation is not None and status.get("observedGeneration") == generation \
                and status.get("phase") in SETTLED:
            return self.build(body=body)  # settled at this spec already: a resume, not a create
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        value = (essence.get("spec") or {}).get("nwi-digest")
        uid = body.metadata.uid
        if isinstance(value, str) and uid:
            with self._lock:
                self._handled[uid] = value

    def forget(self, uid: str) -> None:
        """The object is gone from the API."""
        with self._lock:
            self._handled.pop(uid, None)
