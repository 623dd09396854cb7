"""Parsed YAML files by content, so re-applying an unchanged input set does not parse it again.

Parsing is most of what loading 10k objects costs (PyYAML builds Python
objects node by node); reading the same documents back as JSON costs a
twentieth of that. Only parsing is skipped: every document is still
validated as it is loaded, so errors are the same with or without the cache.

Safety: an entry is found by the SHA-256 of the file's text together with a
salt made of this package's parsing code and PyYAML's (and libyaml's)
version, so an entry can be neither stale nor read by another version of
the parser. Only documents that JSON gives back exactly (checked when
storing) are stored, a file that fails to parse or to load never is (the
loader puts only files it accepted), nor one holding a Secret or any key
that names a credential, and any unreadable entry is a miss. Entries not used by a load are removed after it, so the
cache holds one input set.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson
import yaml

#: an entry above this is not worth keeping (the loader refuses input files above 16 MiB anyway)
MAX_ENTRY_BYTES = 16 * 1024 * 1024


def _salt() -> bytes:
    libyaml = getattr(getattr(yaml, "_yaml", None), "get_version_string", lambda: "none")()
    code = Path(__file__).with_name("loader.py").read_bytes()  # parse_yaml and everything it relies on
    return hashlib.sha256(b"\0".join([code, yaml.__version__.encode(), str(libyaml).encode()])).digest()


class ParseCache:
    """Entries under ``directory`` (created when first written)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._salt = _salt()
        self._used: set[str] = set()

    def _key(self, text: str) -> str:
        return hashlib.sha256(self._salt + text.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, text: str) -> list[Any] | None:
        key = self._key(text)
        try:
            docs = orjson.loads((self.directory / f"{key}.json").read_bytes())
        except (OSError, ValueError):
            return None
        if not isinstance(docs, list):
            return None
        self._used.add(key)
        return docs

    def put(self, text: str, docs: list[Any]) -> None:
        if any(_holds_secret(d) for d in docs):
            return  # credentials never go to the state dir (its files are not secrets)
        try:
            blob = orjson.dumps(docs)  # strictly: no key that is not a string, no integer beyond 64 bits
        except (TypeError, ValueError):  # dates, binary, sets: not JSON
            return
        # JSON turns non-string keys into strings and NaN into something unequal: store only what comes back equal
        if len(blob) > MAX_ENTRY_BYTES or orjson.loads(blob) != docs:
            return
        key = self._key(text)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        except OSError:
            return  # a cache that cannot be written is only slower
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
            os.replace(tmp, self.directory / f"{key}.json")  # readers see the whole entry or none
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            return
        self._used.add(key)

    def prune(self) -> None:
        """Remove the entries this load did not use (other versions of the files, files since removed)."""
        try:
            entries = list(self.directory.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.suffix == ".json" and entry.stem not in self._used:
                entry.unlink(missing_ok=True)


#: keys that hold a credential wherever they appear (matched without case, '-' or '_')
_CREDENTIAL_KEYS = ("password", "passwd", "secret", "token", "privatekey", "stringdata")


def _holds_secret(doc: Any) -> bool:
    """A Secret in any spelling, or anything anywhere under a key that names a credential.

    The loader caches only files it accepted, which already leaves out a
    credentials file, a Device with a password typed into it and ``kind:
    secret``; this is the second lock on the same door (properties may carry a
    user's password for the device, and those stay out of the state too).
    """
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if str(value.get("kind", "")).lower() == "secret":
                return True
            for key, child in value.items():
                flat = str(key).lower().replace("-", "").replace("_", "")
                if any(word in flat for word in _CREDENTIAL_KEYS) or flat.endswith(".key"):
                    return True
                if isinstance(child, (dict, list)):
                    stack.append(child)
        elif isinstance(value, list):
            stack.extend(v for v in value if isinstance(v, (dict, list)))
    return False
