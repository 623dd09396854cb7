"""Which models each config kind is checked against, by default.

A kind names module globs (found under the ``--yang-path`` directories), the
features to enable first, and the top-level node its paths are written under.
``LinuxConfig`` has none: its schema is nwi's own (``nwi.drivers.linux.schema``,
pydantic), checked with or without models, because the links it describes
have cross-field rules (a veth needs a peer, a VLAN a parent and an id,
addresses are parsed as IP networks) that would be ``must`` expressions in
YANG, and no device but nwi's virtual one runs that schema.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from nwi.schema.models import ModelSet, load_model_set, module_files


@dataclass(frozen=True)
class KindModels:
    """The default model set of one kind."""

    modules: tuple[str, ...]
    features: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: the module whose top-level node the kind's path root is (SR OS: /configure of nokia-conf)
    root_module: str = ""

    def load(self, yang_paths: Sequence[str | Path]) -> ModelSet:
        return load_model_set(yang_paths, self.modules, self.features)

    def available(self, yang_paths: Sequence[str | Path]) -> bool:
        """Whether any of the kind's modules is under the directories (nothing is compiled)."""
        files = module_files(Path(p) for p in yang_paths)
        return any(fnmatch.fnmatchcase(name, pat) for pat in self.modules for name in files)


KIND_MODELS: Mapping[str, KindModels] = MappingProxyType({
    "SROSConfig": KindModels(("nokia-conf",), root_module="nokia-conf"),
    # SR Linux's modules compile only with srl_nokia-features' features on (without them, port-speed
    # has no enum values); the features module is loaded first with all of them
    "SRLinuxConfig": KindModels(("srl_nokia-*",), MappingProxyType({"srl_nokia-features": ("*",)})),
    # interface types are iana-if-type's identities, which no openconfig module imports
    "OpenConfig": KindModels(("openconfig-*", "iana-if-type")),
})


def models_for_kind(kind: str) -> KindModels | None:
    """The kind's default models; None for kinds with their own schema (LinuxConfig)."""
    return KIND_MODELS.get(kind)
