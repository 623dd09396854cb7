"""Model sets: a compiled libyang context for a list of search directories and modules.

Compiling is the expensive step (SR OS's ``nokia-conf`` with its hundred
submodules: 0.3-0.6 s here), so each distinct model set is compiled once per
process and shared (:func:`load_model_set`). Modules are all parsed first and
compiled in one step (``LY_CTX_EXPLICIT_COMPILE``): compiling after each module,
as ``Context.load_module`` alone does, took 31 s for SR Linux's 300 modules
instead of 0.6 s.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libyang
from _libyang import ffi, lib

from nwi.path import GnmiPath, parse_path
from nwi.schema.nodes import SchemaNode, top_level_nodes

#: a file that is a submodule: it cannot be loaded by itself (its module includes it)
_SUBMODULE = re.compile(rb"\A(?:\s|//[^\n]*\n|/\*.*?\*/)*submodule\s", re.S)


class ModelSetError(ValueError):
    """The models cannot be loaded: a module is missing or does not compile (libyang's reason)."""


@dataclass(frozen=True)
class ModuleInfo:
    """One implemented module, as gNMI Capabilities announces it (``ModelData``)."""

    name: str
    revision: str
    organization: str
    namespace: str
    prefix: str


def _last_errors(ctx: Any) -> str:
    """libyang's stored messages (with their data or schema path), then cleared."""
    out = []
    err = lib.ly_err_first(ctx)
    while err:
        msg = ffi.string(err.msg).decode() if err.msg else ""
        if err.path:
            msg += f" ({ffi.string(err.path).decode()})"
        out.append(msg)
        err = err.next
    lib.ly_err_clean(ctx, ffi.NULL)
    return "; ".join(m for m in out if m)


class ModelSet:
    """A compiled set of YANG modules: what one kind of device runs.

    Read-only once built; safe to share between threads for lookups and value
    checks (libyang's compiled schema is immutable; each data tree built on it
    belongs to its builder).
    """

    def __init__(self, search_dirs: Sequence[Path], modules: Sequence[str],
                 features: Mapping[str, Sequence[str]] | None = None) -> None:
        self.search_dirs = tuple(search_dirs)
        ptr = ffi.new("struct ly_ctx **")
        # REF_IMPLEMENTED: a module some loaded module only imports is still implemented when its
        # identities or nodes are referenced (SR Linux's bridge table uses OpenConfig's STP identities)
        options = (lib.LY_CTX_DISABLE_SEARCHDIR_CWD | lib.LY_CTX_EXPLICIT_COMPILE | lib.LY_CTX_REF_IMPLEMENTED
                   | lib.LY_CTX_SET_PRIV_PARSED)
        search = ":".join(str(d) for d in self.search_dirs)
        if lib.ly_ctx_new(search.encode() if search else ffi.NULL, options, ptr) != lib.LY_SUCCESS:
            raise ModelSetError("cannot create a libyang context")
        # the gc'd pointer owns the context: libyang.Context only casts what it is given
        self._owner = ffi.gc(ptr[0], lib.ly_ctx_destroy)
        self.context = libyang.Context(cdata=self._owner)
        self.cdata = ptr[0]
        self.features = {m: tuple(f) for m, f in (features or {}).items()}
        loaded: list[str] = []
        # modules with features named first, so that their features are on when others import them
        for name in [*self.features, *(m for m in modules if m not in self.features)]:
            self._load(name)
            loaded.append(name)
        if lib.ly_ctx_compile(self.cdata) != lib.LY_SUCCESS:
            raise ModelSetError(f"models do not compile: {_last_errors(self.cdata)}")
        self.requested = tuple(loaded)
        #: how the set was asked for (module names or globs), for messages
        self.patterns: tuple[str, ...] = tuple(modules)
        self._roots: dict[str, SchemaNode] | None = None
        #: path prefixes (their elements) already found valid, and their node (nwi.schema.objects)
        self.valid_paths: dict[tuple[Any, ...], SchemaNode] = {}
        self._lock = threading.Lock()

    def _load(self, name: str) -> None:
        feats = self.features.get(name)
        if feats:
            keep = [ffi.new("char[]", f.encode()) for f in feats]
            arr = ffi.new("char *[]", [*keep, ffi.NULL])
        else:
            arr = ffi.NULL
        if lib.ly_ctx_load_module(self.cdata, name.encode(), ffi.NULL, arr) == ffi.NULL:
            raise ModelSetError(f"cannot load module {name!r} from {':'.join(map(str, self.search_dirs)) or '-'}: "
                                f"{_last_errors(self.cdata) or 'not found'}")

    # ---- what the set holds -------------------------------------------------------------
    def modules(self) -> list[ModuleInfo]:
        """The implemented modules (name, revision, organization, namespace), sorted by name."""
        out = []
        for m in self.context:
            c = m.cdata
            revs = [r.date() for r in m.revisions()]
            out.append(ModuleInfo(m.name(), revs[0] if revs else "",
                                  ffi.string(c.org).decode() if c.org else "",
                                  ffi.string(c.ns).decode() if c.ns else "", m.prefix()))
        return sorted(out, key=lambda i: i.name)

    def module_names(self) -> list[str]:
        return [m.name for m in self.modules()]

    def implements(self, module: str) -> bool:
        """Whether ``module`` is implemented in this set (its nodes can be in data)."""
        return module in self._implemented

    @functools.cached_property
    def _implemented(self) -> frozenset[str]:
        return frozenset(m.name() for m in self.context if m.implemented())

    def roots(self) -> dict[str, SchemaNode]:
        """Top-level data nodes by name, and by ``module:name`` too."""
        if self._roots is None:
            with self._lock:
                if self._roots is None:
                    roots: dict[str, SchemaNode] = {}
                    for node in top_level_nodes(self):
                        roots.setdefault(node.name, node)
                        roots[f"{node.module}:{node.name}"] = node
                    self._roots = roots
        return self._roots

    def root(self, name: str) -> SchemaNode | None:
        """The top-level node called ``name`` (``module:name`` or plain)."""
        return self.roots().get(name)

    def node(self, path: GnmiPath | str) -> SchemaNode | None:
        """The schema node a gNMI path addresses (keys ignored, choice/case transparent), or None."""
        gp = parse_path(path) if isinstance(path, str) else path
        if not gp.elems:
            return None
        node = self.root(gp.elems[0].name)
        for elem in gp.elems[1:]:
            if node is None:
                return None
            node = node.child(elem.name)
        return node

    def module_of(self, path: GnmiPath | str) -> str | None:
        """The module that defines the node at ``path`` (an augment's module for augmented nodes)."""
        node = self.node(path)
        return node.module if node is not None else None

    def __repr__(self) -> str:
        return f"ModelSet({':'.join(map(str, self.search_dirs))}, {list(self.requested)})"


def module_files(search_dirs: Iterable[Path]) -> dict[str, Path]:
    """Module (not submodule) name -> file, for every ``.yang`` file under the directories (recursively,
    as libyang searches them); ``name@revision.yang`` counts as ``name``."""
    found: dict[str, Path] = {}
    for d in search_dirs:
        for root, dirs, files in os.walk(d):
            dirs.sort()
            for f in sorted(files):
                if not f.endswith(".yang"):
                    continue
                name = f[:-5].split("@")[0]
                if name in found:
                    continue
                p = Path(root, f)
                try:
                    with p.open("rb") as fh:
                        head = fh.read(4096)
                except OSError:
                    continue
                if not _SUBMODULE.match(head):
                    found[name] = p
    return found


@functools.lru_cache(maxsize=64)
def _dir_modules(directory: Path) -> frozenset[str]:
    return frozenset(module_files([directory]))


def dir_modules(directory: Path) -> frozenset[str]:
    """The module names under one directory (recursively), read once per process."""
    return _dir_modules(directory.resolve())


def expand_modules(search_dirs: Sequence[Path], patterns: Sequence[str]) -> list[str]:
    """Module names matching the patterns (``fnmatch`` globs, e.g. ``srl_nokia-*``), sorted; a pattern
    without wildcards is kept as it is (libyang then says whether it exists)."""
    files: dict[str, Path] | None = None
    names: list[str] = []
    for pat in patterns:
        if not any(c in pat for c in "*?["):
            names.append(pat)
            continue
        if files is None:
            files = module_files(search_dirs)
        names += sorted(n for n in files if fnmatch.fnmatchcase(n, pat))
    return list(dict.fromkeys(names))


_CACHE: dict[tuple[Any, ...], ModelSet] = {}
_CACHE_LOCK = threading.Lock()


def load_model_set(yang_paths: Sequence[str | Path], modules: Sequence[str] | None = None,
                   features: Mapping[str, Sequence[str]] | None = None) -> ModelSet:
    """The compiled model set for these search directories and modules, once per process.

    ``modules``: names or globs (``srl_nokia-*``); None loads every module found
    under the directories. ``features``: module -> feature names (``"*"`` for
    all) to enable; those modules are loaded first. Raises :class:`ModelSetError`.
    """
    dirs = tuple(Path(p).resolve() for p in yang_paths)
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        raise ModelSetError(f"no such directory: {', '.join(missing)}")
    feats = {m: tuple(f) for m, f in (features or {}).items()}
    wanted = tuple(modules) if modules is not None else ("*",)
    key = (dirs, wanted, tuple(sorted(feats.items())))
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached is None:
            names = expand_modules(dirs, wanted)
            names = [n for n in names if n not in feats]
            if not names and not feats:
                raise ModelSetError(f"no module matching {', '.join(wanted)} under {', '.join(map(str, dirs))}")
            cached = _CACHE[key] = ModelSet(dirs, names, feats)
            cached.patterns = wanted
    return cached


@functools.cache
def libyang_version() -> str:
    """The bindings' version (the C library is Debian's libyang2)."""
    from importlib.metadata import version

    return version("libyang")
