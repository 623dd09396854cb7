"""A mock target with YANG models (``nwi mock-gnmi --yang-path``; ``yangPath`` in a devices file).

With models the target behaves as a real one does: a Set that the models
refuse (an unknown node, a value out of range, an enum or identity the
models do not define, a list addressed with the wrong keys) is refused as a
whole with ``INVALID_ARGUMENT`` naming the node, and nothing is applied
(``nwi.drivers.schema_store``); Capabilities announces the loaded modules
with their revisions; Get answers JSON_IETF as RFC 7951 wants it (module
names at the top level and where the module changes, 64-bit numbers and
decimal64 as strings, identities qualified).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nwi.drivers.schema_store import ModelledDatastore
from nwi.mockgnmi.target import Model, Target
from nwi.schema import KIND_MODELS
from nwi.schema.models import ModelSet, load_model_set
from nwi.schema.rfc7951 import Checks, codec_for


def load(yang_paths: Sequence[str | Path], modules: Sequence[str] | None = None) -> ModelSet:
    """The model set of a target: ``modules`` (names or globs such as ``srl_nokia-*``) when given, else
    what a device of the kind whose models the directories hold runs (SR OS: ``nokia-conf``; SR Linux:
    ``srl_nokia-*``; OpenConfig: ``openconfig-*``; a vendor's own before OpenConfig), else every
    module under them. Raises ``nwi.schema.ModelSetError``."""
    if modules is None:
        kinds = sorted(KIND_MODELS.values(), key=lambda k: k.generic)  # a vendor's native models first
        for kind in kinds:
            if kind.available(yang_paths):
                return kind.load(yang_paths)
    features = {"srl_nokia-features": ("*",)} if _has_module(yang_paths, "srl_nokia-features") else None
    return load_model_set(yang_paths, modules, features)


def with_models(target: Target, models: ModelSet, checks: Checks = "values") -> Target:
    """``target`` serving ``models``: its datastore guarded by them, its Capabilities announcing them."""
    target.datastore = ModelledDatastore(target.datastore, models, checks)
    target.answer = codec_for(models).answer
    announced = {m.name: m for m in target.models}  # models a devices file lists by hand stay
    for info in models.modules():
        announced[info.name] = Model(info.name, info.organization, info.revision)
    target.models = tuple(sorted(announced.values(), key=lambda m: m.name))
    return target


def _has_module(yang_paths: Sequence[str | Path], name: str) -> bool:
    # SR Linux's modules compile only with srl_nokia-features' features on
    from nwi.schema.models import module_files

    return name in module_files(Path(p) for p in yang_paths)
