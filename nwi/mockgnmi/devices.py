"""The devices file of ``nwi mock-gnmi --devices FILE``: which targets to serve.

YAML (or JSON). Either a list of targets or a mapping with server-wide
defaults and a ``targets`` list::

    username: admin            # default credentials of every target (optional;
    password: admin            #   omit both for a target that needs none)
    listKeys:                  # YANG-free list-key hints for JSON arrays of objects
      interface: [name]
      subinterface: [index]
    stateDir: .mock-gnmi       # persist each target's config here (default: in memory)
    targets:
      - name: leaf1            # the gNMI target name (prefix.target)
        port: 57401            # a port of its own (0: any free port; omitted: the shared --port)
        username: netops       # overrides the defaults above
        password: secret
        listKeys: {neighbor: [peer-address]}   # added to the server-wide hints
        config:                # initial configuration (JSON tree)
          interfaces: {interface: [{name: eth0, config: {mtu: 1500}}]}
        state:                 # read-only state for Get type STATE/OPERATIONAL and subscriptions
          interfaces: {interface: [{name: eth0, state: {oper-status: UP}}]}
        models:                # announced in Capabilities (gNMI 2.6.1 ModelData)
          - {name: openconfig-interfaces, organization: OpenConfig, version: 3.0.0}
        yangPath: [yang/oc]    # YANG modules the target runs (relative to this file; also a top-level
                               #   default, and --yang-path): Sets they refuse fail with INVALID_ARGUMENT
                               #   naming the node, Capabilities announces them (nwi.mockgnmi.schema)
        yangModules: [openconfig-interfaces]   # these modules (default: the kind's, as --yang-module)
        yangChecks: values     # or full: also mandatory nodes, must/when, leafrefs of the whole config
        modules:               # the module of each top-level node: JSON_IETF answers qualify
          interfaces: openconfig-interfaces   #   its members with it (RFC 7951 section 4)
        bareStrings: false     # true: take unquoted text (pygnmi's str values) as a JSON string
        faults:                # see nwi.mockgnmi.faults.Faults
          latency: 0.2         # seconds added to every RPC
          failSets: 1          # the next N Sets fail ...
          failCode: UNAVAILABLE  # ... with this gRPC code
          dropRpcs: 0          # the next N RPCs cut the connection
          refuseStart: false   # never come up

Passwords may instead be given as ``passwordEnv: VAR`` (read from the
environment) so that the file can be committed. ``modules`` and
``bareStrings`` may also be given server-wide (a target's own ``modules`` are
added to those).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nwi.drivers.base import Change, Op, Transaction
from nwi.drivers.virtual import DeviceStore
from nwi.mockgnmi.faults import Faults
from nwi.mockgnmi.target import Credentials, Model, Target
from nwi.path import GnmiPath
from nwi.tree import Tree, TreeError

_YANG_FIELDS = {"yangPath", "yangModules", "yangChecks"}
_TARGET_FIELDS = {"name", "port", "username", "password", "passwordEnv", "listKeys", "config", "state", "models",
                  "modules", "bareStrings", "faults", "stateDir", *_YANG_FIELDS}
_TOP_FIELDS = {"username", "password", "passwordEnv", "listKeys", "stateDir", "modules", "bareStrings", "targets",
               *_YANG_FIELDS}


class DevicesFileError(ValueError):
    """A devices file that cannot be served; the message names the file and the entry."""


@dataclass(frozen=True)
class Defaults:
    """Server-wide settings a target inherits unless it sets its own."""

    username: str | None = None
    password: str | None = None
    list_keys: Mapping[str, tuple[str, ...]] | None = None
    state_dir: Path | None = None
    yang_path: tuple[Path, ...] = ()
    yang_modules: tuple[str, ...] | None = None
    yang_checks: str = "values"
    modules: Mapping[str, str] | None = None
    bare_strings: bool = False


def load(path: Path, defaults: Defaults = Defaults()) -> list[Target]:
    """Targets described by the devices file at ``path`` (command-line defaults under the file's own)."""
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise DevicesFileError(f"{path}: cannot read devices file: {exc}") from exc
    return parse(doc, defaults, where=str(path), base=path.parent)


def parse(doc: Any, defaults: Defaults = Defaults(), where: str = "devices", base: Path | None = None) -> list[Target]:
    if isinstance(doc, list):
        doc = {"targets": doc}
    if not isinstance(doc, dict):
        raise DevicesFileError(f"{where}: expected a list of targets or a mapping with 'targets'")
    _check_fields(doc, _TOP_FIELDS, where)
    top = Defaults(
        username=doc.get("username", defaults.username),
        password=_password(doc, where) or defaults.password,
        list_keys={**(defaults.list_keys or {}), **_list_keys(doc.get("listKeys"), where)},
        state_dir=_dir(doc.get("stateDir"), base) or defaults.state_dir,
        yang_path=_dirs(doc.get("yangPath"), base, where) or defaults.yang_path,
        yang_modules=_names(doc.get("yangModules"), where) or defaults.yang_modules,
        yang_checks=_checks(doc.get("yangChecks", defaults.yang_checks), where),
        modules={**(defaults.modules or {}), **_modules(doc.get("modules"), where)},
        bare_strings=_flag(doc, "bareStrings", defaults.bare_strings, where),
    )
    entries = doc.get("targets")
    if not isinstance(entries, list) or not entries:
        raise DevicesFileError(f"{where}: 'targets' must be a non-empty list")
    targets: list[Target] = []
    names: set[str] = set()
    for i, entry in enumerate(entries):
        at = f"{where}: targets[{i}]"
        if not isinstance(entry, dict):
            raise DevicesFileError(f"{at}: expected a mapping")
        target = _target(entry, top, at, base)
        if target.name in names:
            raise DevicesFileError(f"{at}: target {target.name!r} is defined twice")
        names.add(target.name)
        targets.append(target)
    return targets


def _target(entry: dict[str, Any], top: Defaults, at: str, base: Path | None) -> Target:
    _check_fields(entry, _TARGET_FIELDS, at)
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise DevicesFileError(f"{at}: 'name' is required")
    at = f"{at} ({name})"
    port = entry.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535):
        raise DevicesFileError(f"{at}: 'port' must be an integer 0..65535")
    list_keys = {**(top.list_keys or {}), **_list_keys(entry.get("listKeys"), at)}
    username = entry.get("username", top.username)
    password = _password(entry, at) or (top.password if "username" not in entry else None)
    if (username is None) != (password is None):
        raise DevicesFileError(f"{at}: give both username and password, or neither")
    state_dir = _dir(entry.get("stateDir"), base) or top.state_dir
    store = DeviceStore(name, state_dir, list_keys)
    config = entry.get("config")
    if config is not None:
        if not isinstance(config, dict):
            raise DevicesFileError(f"{at}: 'config' must be a mapping")
        store.commit(Transaction(name, [Change(Op.REPLACE, GnmiPath(), config)]))
    state = entry.get("state") or {}
    if not isinstance(state, dict):
        raise DevicesFileError(f"{at}: 'state' must be a mapping")
    try:
        state_tree = Tree(list_keys=list_keys)
        state_tree.replace(GnmiPath(), state)
    except TreeError as exc:
        raise DevicesFileError(f"{at}: state: {exc}") from exc
    try:
        faults = Faults.from_dict(entry.get("faults") or {})
    except (TypeError, ValueError) as exc:
        raise DevicesFileError(f"{at}: faults: {exc}") from exc
    models = []
    for m in entry.get("models") or []:
        if not isinstance(m, dict) or "name" not in m:
            raise DevicesFileError(f"{at}: each model needs a 'name'")
        models.append(Model(str(m["name"]), str(m.get("organization", "")), str(m.get("version", ""))))
    target = Target(
        name,
        store,
        port=port,
        credentials=Credentials(str(username), str(password)) if username is not None else None,
        state=state_tree,
        faults=faults,
        models=models,
        modules={**(top.modules or {}), **_modules(entry.get("modules"), at)},
        bare_strings=_flag(entry, "bareStrings", top.bare_strings, at),
    )
    yang_path = _dirs(entry.get("yangPath"), base, at) or top.yang_path
    if not yang_path:
        if "yangModules" in entry or "yangChecks" in entry:
            raise DevicesFileError(f"{at}: yangModules and yangChecks need yangPath")
        return target
    from nwi.mockgnmi import schema
    from nwi.schema.models import ModelSetError

    try:
        model_set = schema.load(yang_path, _names(entry.get("yangModules"), at) or top.yang_modules)
    except ModelSetError as exc:
        raise DevicesFileError(f"{at}: yangPath: {exc}") from exc
    schema.with_models(target, model_set, _checks(entry.get("yangChecks", top.yang_checks), at))  # type: ignore[arg-type]
    if config is not None:  # the initial configuration is held to the models too
        problems = schema.codec_for(model_set).check(store.snapshot().to_json(), target.datastore.checks)  # type: ignore[attr-defined]
        if problems:
            raise DevicesFileError(f"{at}: config: {problems[0]}")
    return target


def _check_fields(doc: dict[str, Any], known: set[str], where: str) -> None:
    unknown = set(doc) - known
    if unknown:
        raise DevicesFileError(f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(known)}")


def _password(doc: dict[str, Any], where: str) -> str | None:
    if "passwordEnv" in doc:
        var = doc["passwordEnv"]
        value = os.environ.get(str(var))
        if value is None:
            raise DevicesFileError(f"{where}: environment variable {var!r} (passwordEnv) is not set")
        return value
    value = doc.get("password")
    return None if value is None else str(value)


def _list_keys(doc: Any, where: str) -> dict[str, tuple[str, ...]]:
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not all(
        isinstance(v, (list, str)) and (isinstance(v, str) or all(isinstance(k, str) for k in v)) for v in doc.values()
    ):
        raise DevicesFileError(f"{where}: 'listKeys' maps a list name to its key names, e.g. {{interface: [name]}}")
    return {str(k): (v,) if isinstance(v, str) else tuple(v) for k, v in doc.items()}


def _dirs(value: Any, base: Path | None, where: str) -> tuple[Path, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
        raise DevicesFileError(f"{where}: 'yangPath' is a directory or a list of directories")
    dirs = tuple(d for v in items if (d := _dir(v, base)) is not None)
    missing = [str(d) for d in dirs if not d.is_dir()]
    if missing:
        raise DevicesFileError(f"{where}: yangPath: no such directory: {', '.join(missing)}")
    return dirs


def _names(value: Any, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DevicesFileError(f"{where}: 'yangModules' is a list of module names (globs allowed)")
    return tuple(value)


def _checks(value: Any, where: str) -> str:
    if value not in ("values", "full"):
        raise DevicesFileError(f"{where}: 'yangChecks' is values or full, not {value!r}")
    return str(value)


def _modules(doc: Any, where: str) -> dict[str, str]:
    if doc is None:
        return {}
    if not isinstance(doc, dict) or not all(isinstance(k, str) and isinstance(v, str) and v and ":" not in v
                                            for k, v in doc.items()):
        raise DevicesFileError(f"{where}: 'modules' maps a top-level node to its module's name, "
                               "e.g. {interfaces: openconfig-interfaces}")
    return dict(doc)


def _flag(doc: dict[str, Any], name: str, default: bool, where: str) -> bool:
    value = doc.get(name, default)
    if not isinstance(value, bool):
        raise DevicesFileError(f"{where}: {name!r} must be true or false")
    return value


def _dir(value: Any, base: Path | None) -> Path | None:
    if value is None:
        return None
    path = Path(str(value))
    return path if path.is_absolute() or base is None else base / path
