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

from nwi.schema.models import ModelSet, dir_modules, load_model_set


@dataclass(frozen=True)
class KindModels:
    """The default model set of one kind: module globs, the first one naming the kind's own modules."""

    modules: tuple[str, ...]
    features: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: the module whose top-level node the kind's path root is (SR OS: /configure of nokia-conf)
    root_module: str = ""
    #: models any vendor ships (OpenConfig): a directory that holds a vendor's native models too is
    #: that vendor's copy, used only when no directory holds these models alone
    generic: bool = False

    def load(self, yang_paths: Sequence[str | Path]) -> ModelSet:
        """The kind's model set from the directories :meth:`search_dirs` picks."""
        return load_model_set(self.search_dirs(yang_paths), self.modules, self.features)

    def holds(self, directory: Path) -> bool:
        return any(fnmatch.fnmatchcase(name, self.modules[0]) for name in dir_modules(directory))

    def search_dirs(self, yang_paths: Sequence[str | Path]) -> list[Path]:
        """The directories (in the given order) to search for this kind: those holding its modules, and
        those holding no kind's modules (shared ones such as ietf). One ``--yang-path`` list can then
        name SR OS, SR Linux and OpenConfig models at once, each kind compiling only its own."""
        dirs = [Path(p) for p in yang_paths]
        mine = [d for d in dirs if self.holds(d)]
        if self.generic:
            native = [k for k in KIND_MODELS.values() if not k.generic]
            alone = [d for d in mine if not any(k.holds(d) for k in native)]
            mine = alone or mine
        shared = [d for d in dirs if not any(k.holds(d) for k in KIND_MODELS.values())]
        return [d for d in dirs if d in mine or d in shared]

    def available(self, yang_paths: Sequence[str | Path]) -> bool:
        """Whether the kind's own modules are under any of the directories (nothing is compiled)."""
        return any(self.holds(Path(p)) for p in yang_paths)


KIND_MODELS: Mapping[str, KindModels] = MappingProxyType({
    "SROSConfig": KindModels(("nokia-conf",), root_module="nokia-conf"),
    # SR Linux's modules compile only with srl_nokia-features' features on (without them, port-speed
    # has no enum values); the features module is loaded first with all of them
    "SRLinuxConfig": KindModels(("srl_nokia-*",), MappingProxyType({"srl_nokia-features": ("*",)})),
    # interface types are iana-if-type's identities, which no openconfig module imports
    "OpenConfig": KindModels(("openconfig-*", "iana-if-type"), generic=True),
})


def models_for_kind(kind: str) -> KindModels | None:
    """The kind's default models; None for kinds with their own schema (LinuxConfig)."""
    return KIND_MODELS.get(kind)
