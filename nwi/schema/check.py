"""Schema checks over a whole input set, as ``nwi validate``, ``plan`` and ``apply`` run them.

Each config object is checked against its Device's models (``spec.models``)
when it names them, else its kind's default models (loaded once per run from
the ``--yang-path`` directories). Errors are
:class:`nwi.loader.InputError` values naming the file, the object and the
leaf path, so the CLI reports them as every other invalid input (exit 3,
nothing applied). Kinds whose models are not under the directories are
listed as not checked, never silently passed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nwi.loader import InputError
from nwi.model import ConfigObject, ObjectKey
from nwi.schema.kinds import models_for_kind
from nwi.schema.models import ModelSet, ModelSetError, dir_modules, load_model_set
from nwi.schema.objects import ObjectCheck, check_object

if TYPE_CHECKING:
    from nwi.schema.device import InferredEdge


def label(obj: ConfigObject) -> str:
    return f"{obj.key.kind} {obj.key.namespace}/{obj.key.name}"


@dataclass
class SchemaReport:
    """What the schema checks of one run did."""

    yang_paths: list[Path] = field(default_factory=list)
    #: some Device names its models (spec.models): its objects are checked against those
    device_models: bool = False
    errors: list[InputError] = field(default_factory=list)
    #: kind -> its model set, for kinds that were checked
    model_sets: dict[str, ModelSet] = field(default_factory=dict)
    #: kind -> why its objects were not checked
    unchecked: dict[str, str] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)
    results: dict[ObjectKey, ObjectCheck] = field(default_factory=dict)
    #: objects left unchecked, with the reason (their kind is checked, but not the module they name)
    skipped: dict[ObjectKey, str] = field(default_factory=dict)
    #: --add-inferred-deps: the edges added to this run's objects, and those left out (a cycle)
    added_edges: list[InferredEdge] = field(default_factory=list)
    refused_edges: list[InferredEdge] = field(default_factory=list)
    load_seconds: float = 0.0
    check_seconds: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.yang_paths) or self.device_models

    def summary(self) -> str:
        """One line for ``nwi validate``: what was checked against which models, what was not."""
        if not self.active:
            return "schema: not checked (no --yang-path or NWI_YANG_PATH: properties are free-form)"
        parts = [f"{n} {kind} object(s)" for kind, n in sorted(self.checked.items())]
        out = "schema: " + ("checked " + ", ".join(parts) if parts else "nothing checked")
        used = [f"{kind}: {', '.join(ms.patterns)}" for kind, ms in sorted(self.model_sets.items())]
        if self.device_models:
            used.append("objects on a Device with spec.models: those")
        if used:
            out += f" ({'; '.join(used)})"
        for kind, why in sorted(self.unchecked.items()):
            out += f"; {kind} not checked: {why}"
        reasons: dict[str, int] = {}
        for why in self.skipped.values():
            reasons[why] = reasons.get(why, 0) + 1
        for why, n in sorted(reasons.items()):
            out += f"; {n} object(s) not checked: {why}"
        return out


_PREFIXED = re.compile(r"^([A-Za-z_][\w.-]*):[A-Za-z_]")


def named_modules(obj: ConfigObject, known: frozenset[str]) -> list[str]:
    """Modules the object names itself, when its path's first element is ``module:``-qualified: that
    module, then the known modules (``known``: those under the yang path) that prefix its property
    names (an augment's nodes, ``ietf-ip:ipv4``) or values (identities, ``iana-if-type:ethernetCsmacd``).
    Unknown prefixes stay out: a misspelt one is the walk's to report, on its node."""
    first = obj.device_path.elems[0].name if obj.device_path.elems else ""
    if ":" not in first:
        return []
    found = [first.split(":")[0]]
    stack: list[Any] = [obj.spec.properties or {}]
    while stack:
        v = stack.pop()
        if isinstance(v, Mapping):
            for k, child in v.items():
                if isinstance(k, str) and ":" in k:
                    found.append(k.split(":")[0])
                stack.append(child)
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            m = _PREFIXED.match(v)
            if m:
                found.append(m.group(1))
    return [found[0], *(m for m in dict.fromkeys(found[1:]) if m in known and m != found[0])]


class _ModelSets:
    """The run's model sets: each kind's default, and sets for modules that objects name themselves."""

    def __init__(self, report: SchemaReport, device_models: DeviceModels | None = None) -> None:
        self.report = report
        self.device_models = device_models
        self.named: dict[tuple[str, ...], ModelSet | str] = {}
        self.known = frozenset().union(*(dir_modules(Path(d)) for d in report.yang_paths))

    def kind(self, kind: str) -> None:
        report = self.report
        models = models_for_kind(kind)
        if models is None:
            report.unchecked[kind] = "nwi's own schema (checked without models)"
            return
        if not models.available(report.yang_paths):
            report.unchecked[kind] = f"no {models.modules[0]} module under the yang path"
            return
        try:
            report.model_sets[kind] = models.load(report.yang_paths)
        except ModelSetError as exc:
            where = ":".join(map(str, report.yang_paths))
            report.errors.append(InputError("", f"{kind} objects", f"--yang-path {where}",
                                            f"{', '.join(models.modules)}: {exc}"))

    def for_object(self, obj: ConfigObject) -> ModelSet | ModelSetError | str | None:
        """The set to check ``obj`` against, a reason it is not checked, or None (its kind is not)."""
        if self.device_models is not None:
            own = self.device_models(obj)
            if own is not None:
                return own
        ms = self.report.model_sets.get(obj.key.kind)
        named = named_modules(obj, self.known)
        if not named or (ms is not None and all(ms.implements(m) for m in named)):
            return ms  # None: the kind is not checked (said once, per kind)
        # the path names a module the kind's models do not have (/ietf-interfaces:interfaces on an
        # OpenConfig object sent over NETCONF): that module and the others it names, from the yang path
        if named[0] not in self.known:
            return f"module {named[0]} is not under the yang path"
        key = tuple(sorted(named))
        if key not in self.named:
            try:
                # every feature on: which ones the device supports is its to say (Capabilities), and a
                # check must not refuse what a device with the feature accepts (ietf-system's ntp)
                self.named[key] = load_model_set(self.report.yang_paths, (), {m: ("*",) for m in key})
            except ModelSetError as exc:
                self.named[key] = str(exc)
        return self.named[key]


#: an object's models from its Device (``spec.models``): the set, why it cannot be had, or None (no models)
DeviceModels = Callable[[ConfigObject], "ModelSet | ModelSetError | None"]


def check_configs(configs: Sequence[ConfigObject], yang_paths: Sequence[Path],
                  device_models: DeviceModels | None = None) -> SchemaReport:
    """Check every object against its models: its Device's (``device_models``), else its kind's from
    ``yang_paths``; errors go into the report, nothing is raised."""
    report = SchemaReport(list(yang_paths), device_models=device_models is not None)
    if not yang_paths and device_models is None:
        return report
    t0 = time.perf_counter()
    sets = _ModelSets(report, device_models)
    for kind in sorted({o.key.kind for o in configs}) if yang_paths else ():
        sets.kind(kind)
    t1 = time.perf_counter()
    told: set[str] = set()
    for obj in configs:
        ms = sets.for_object(obj)
        if ms is None:
            continue
        if isinstance(ms, str):
            report.skipped[obj.key] = ms
            continue
        if isinstance(ms, ModelSetError):  # its Device's spec.models do not load: said once per reason
            if str(ms) not in told:
                told.add(str(ms))
                report.errors.append(InputError(str(obj.source), label(obj), "spec.switchID",
                                                f"its Device's spec.models do not load: {ms}"))
            continue
        result = check_object(ms, obj.device_path, obj.spec.properties, obj.spec.operation)
        report.results[obj.key] = result
        report.checked[obj.key.kind] = report.checked.get(obj.key.kind, 0) + 1
        for issue in result.issues:
            report.errors.append(InputError(str(obj.source), label(obj), issue.path, issue.message))
    report.load_seconds = t1 - t0
    report.check_seconds = time.perf_counter() - t1
    return report


def device_models(inventory: Any) -> DeviceModels:
    """Objects' models from their Device's ``spec.models`` (``yangPath``, ``modules``: else the kind's modules
    where those directories hold them), through ``inventory`` (an :class:`nwi.inventory.Inventory`)."""
    cache: dict[str, ModelSet | ModelSetError] = {}

    def of(obj: ConfigObject) -> ModelSet | ModelSetError | None:
        rd = inventory.resolve(obj)
        spec = rd.spec.models
        if spec is None or not spec.yang_path:
            return None  # no models of its own (a ConfigMap's are the operator's to read)
        key = f"{rd.id}\0{obj.key.kind}"
        if key not in cache:
            dirs = [Path(p) for p in spec.yang_path]
            modules = spec.modules
            if modules is None:
                km = models_for_kind(obj.key.kind)
                modules = list(km.modules) if km is not None and km.available(dirs) else None
                features = dict(km.features) if km is not None and modules else {}
            else:
                features = {}
            try:
                cache[key] = load_model_set(dirs, modules, features)
            except ModelSetError as exc:
                cache[key] = exc
        return cache[key]

    return of
