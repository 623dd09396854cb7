"""Schema awareness: the device's YANG models decide what is valid.

Contract (other parts of nwi code against these names):

* :func:`load_model_set` ``(yang_paths, modules=None, features=None) -> ModelSet``
  compiles the modules (names or globs such as ``srl_nokia-*``; None: every
  module under the directories) found under the search directories (searched
  recursively, as libyang does), with ``features`` (module -> names, ``"*"``
  for all) enabled first. One compiled set per distinct argument list per
  process; raises :class:`ModelSetError` with libyang's reason.
* :class:`ModelSet`: ``search_dirs``; ``modules()`` -> :class:`ModuleInfo`
  (name, revision, organization, namespace, prefix) of every implemented
  module, for gNMI Capabilities; ``node(path)`` -> the :class:`SchemaNode` a
  gNMI path (string or :class:`nwi.path.GnmiPath`, names plain or
  ``module:``-qualified, keys ignored) addresses, or None; ``module_of(path)``
  -> the module defining that node (an augment's own module); ``root(name)``;
  ``context`` is the libyang ``Context`` (read-only: never load modules into it).
* :class:`SchemaNode`: ``name``, ``module``, ``keyword`` (container, list,
  leaf, leaf-list, anydata, anyxml), ``keys``, ``config``, ``child(name)``,
  ``children()``, ``qualified_name()`` (RFC 7951: ``module:name`` where the
  module differs from the parent's), ``schema_path()``, ``basetype`` /
  ``type_name``, ``leafref_path``.
* :func:`check_value` ``(leaf, value) -> Checked(error, json, needs_data)``:
  a YAML scalar checked by libyang against the leaf's type, and its RFC 7951
  JSON form (numbers for up to 32-bit integers, strings for 64-bit and
  decimal64, qualified identityrefs, ``[null]`` for empty).
* :data:`KIND_MODELS` / :func:`models_for_kind`: kind -> :class:`KindModels`
  (module globs, features, root module): SROSConfig -> ``nokia-conf``
  (paths under ``/configure``), SRLinuxConfig -> ``srl_nokia-*`` with every
  feature of ``srl_nokia-features``, OpenConfig -> ``openconfig-*``.
  LinuxConfig has none: nwi's own pydantic schema (``nwi.drivers.linux``)
  checks it, with or without models.
* :func:`yang_paths` ``(given)``: the ``--yang-path`` directories, else
  ``NWI_YANG_PATH`` (colon-separated).

* Checks built on these: :mod:`nwi.schema.objects` (one object's path and
  properties: ``check_object``), :mod:`nwi.schema.check` (a whole input set,
  as ``nwi validate/plan/apply --yang-path`` run it: ``check_configs`` ->
  ``SchemaReport`` of ``InputError`` values), :mod:`nwi.schema.device` (a
  device's candidate tree validated whole, findings pinned to objects, edges
  from leafrefs) and :mod:`nwi.schema.plan` (every device of a plan;
  ``--add-inferred-deps``).

Without models nothing here runs and properties stay free-form.

libyang rather than yangson (pure Python): on this machine yangson loads SR OS
19.7's nokia-conf in 18.8 s and validates 10k VPLS in 27 s; libyang compiles it
in 0.4-0.6 s and checks them in 0.19 s (types) / 3.2 s (whole, with defaults).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nwi.schema.kinds import KIND_MODELS, KindModels, models_for_kind
    from nwi.schema.models import ModelSet, ModelSetError, ModuleInfo, load_model_set
    from nwi.schema.nodes import SchemaNode
    from nwi.schema.values import Checked, check_value

YANG_PATH_ENV = "NWI_YANG_PATH"

# the names below import libyang (its C library and CFFI module): only when used, so that commands
# run without models never load it
_LAZY = {
    "KIND_MODELS": "kinds", "KindModels": "kinds", "models_for_kind": "kinds",
    "ModelSet": "models", "ModelSetError": "models", "ModuleInfo": "models", "load_model_set": "models",
    "SchemaNode": "nodes", "Checked": "values", "check_value": "values",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nwi.schema' has no attribute {name!r}")
    return getattr(importlib.import_module(f"nwi.schema.{module}"), name)


def yang_paths(given: Sequence[Path] | None) -> list[Path]:
    """``--yang-path`` values, else ``$NWI_YANG_PATH`` split on ``:`` (empty parts ignored)."""
    if given:
        return list(given)
    return [Path(p) for p in os.environ.get(YANG_PATH_ENV, "").split(":") if p]


__all__ = [
    "KIND_MODELS",
    "YANG_PATH_ENV",
    "Checked",
    "KindModels",
    "ModelSet",
    "ModelSetError",
    "ModuleInfo",
    "SchemaNode",
    "check_value",
    "load_model_set",
    "models_for_kind",
    "yang_paths",
]
