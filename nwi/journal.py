"""The coordinator's journal: what a network-wide transaction had done when nwi stopped.

A record is written (and fsynced) before the first device is prepared, and
rewritten when the decision to confirm is taken; it is removed once every
device has its outcome. A record still there when nwi starts again belongs to
a run that died in between: the engine asks each of its devices what became
of the commit id (``Driver.resolve_commit``) and reports it. Presumed abort:
without a recorded decision, whatever is still pending is cancelled. A
device the run does not reach is asked by a later run that does; the record
stays until then, with the answers so far, and is reported again only when a
device adds one.

One JSON file per transaction under ``<state>/transactions/``: the CLI and the
operator both keep a state directory, and a file per record needs no locking
between the transactions of one run.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

PREPARING = "preparing"
CONFIRMING = "confirming"


@dataclass
class JournalRecord:
    id: str  # the commit id every device of the transaction knows it by
    group: str  # "namespace/name" of the annotation, or "--atomic"
    devices: list[str]  # device ids, in the order they were first prepared
    members: list[str]  # object keys
    state: str = PREPARING
    started: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)
    #: after a restart: what each device asked so far said became of the commit (asked once: asking again
    #: would only hear "nothing pending"), and whether the record was reported yet (once, until more is known)
    answers: dict[str, str] = field(default_factory=dict)
    reported: bool = False


class TransactionJournal(Protocol):
    def write(self, record: JournalRecord) -> None: ...

    def remove(self, txn_id: str) -> None: ...

    def open_records(self) -> list[JournalRecord]: ...


class FileJournal:
    """A journal in a directory, one fsynced file per open transaction."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def write(self, record: JournalRecord) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        file = self.directory / f"{record.id}.json"
        tmp = file.with_suffix(".tmp")
        with open(tmp, "w") as f:
            f.write(json.dumps(asdict(record), sort_keys=True))
            f.flush()
            os.fsync(f.fileno())  # the point of a journal: it is there after a SIGKILL or a power cut
        os.replace(tmp, file)
        with contextlib.suppress(OSError):  # the rename itself, durable
            fd = os.open(self.directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def remove(self, txn_id: str) -> None:
        (self.directory / f"{txn_id}.json").unlink(missing_ok=True)

    def open_records(self) -> list[JournalRecord]:
        if not self.directory.is_dir():
            return []
        out = []
        for file in sorted(self.directory.glob("*.json")):
            try:
                out.append(JournalRecord(**json.loads(file.read_text())))
            except (ValueError, TypeError):
                continue  # a record torn by a crash mid-write: the rename never happened, so this is a stray
        return sorted(out, key=lambda r: r.started)


class MemoryJournal:
    """For tests and embedders without a state directory."""

    def __init__(self) -> None:
        self.records: dict[str, JournalRecord] = {}

    def write(self, record: JournalRecord) -> None:
        self.records[record.id] = JournalRecord(**asdict(record))

    def remove(self, txn_id: str) -> None:
        self.records.pop(txn_id, None)

    def open_records(self) -> list[JournalRecord]:
        return list(self.records.values())
