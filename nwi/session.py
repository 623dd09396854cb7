"""One CLI run's working set: validated inputs, state, inventory, drivers and the engine.

Everything the standalone commands share lives here so that ``nwi/cli.py``
only parses arguments and prints.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nwi.drivers.base import DriverError
from nwi.engine import DriverPool, Engine, RunReport
from nwi.graph import DependencyGraph, describe_cycle
from nwi.inventory import DEFAULT_INVENTORY_NAMESPACE, CredentialsError, DeviceNotFound, Inventory, unfit_reason
from nwi.journal import FileJournal
from nwi.loader import InputError, InputSet, InvalidInput, load_paths
from nwi.model import ConfigObject, DeviceObject, ObjectKey, SecretObject, Source
from nwi.parsecache import ParseCache
from nwi.path import GnmiPath
from nwi.planner import DeviceBatch, simulate_waves
from nwi.status import Outcome, Phase
from nwi.store import StateError, Store
from nwi.transaction import groups

if TYPE_CHECKING:
    from nwi.schema.plan import PlanSchema


@dataclass
class Options:
    state_dir: Path = Path(".nwi")
    namespace: str = "default"
    inventory_namespace: str = DEFAULT_INVENTORY_NAMESPACE
    strict: bool = False
    credentials_file: Path | None = None
    workers: int = 16
    atomic: bool = False  # apply: the whole run is one network-wide transaction
    confirm_timeout: int = 60  # seconds a prepared device waits for the confirm before it reverts
    #: YANG search directories (--yang-path / NWI_YANG_PATH): objects are checked against their kind's models
    yang_paths: tuple[Path, ...] = ()
    #: add the depends_on edges the objects' leafrefs imply (with yang_paths), for this run only
    add_inferred_deps: bool = False


def validate_inputs(paths: Sequence[str | Path], opts: Options, cache: bool = False) -> InputSet:
    """Load and check a whole input set; raise :class:`InvalidInput` listing every problem.

    ``cache``: keep the parsed files under the state dir, so that re-applying
    an unchanged set does not parse it again (for commands that write state).
    """
    # loading builds the run's long-lived objects, none of them garbage: no cyclic GC passes until
    # they are frozen (collecting right after the pause would walk them all once more)
    with gc_paused():
        inputs = load_paths(paths, opts.namespace, ParseCache(opts.state_dir / "parse-cache") if cache else None)
        _check_inputs(inputs, opts)
        settle_heap()
    return inputs


def _check_inputs(inputs: InputSet, opts: Options) -> None:
    """Raise :class:`InvalidInput` for what only the whole set shows: duplicates, cycles, devices."""
    errors = list(inputs.errors)
    seen: dict[ObjectKey, Source] = {}
    everything: list[ConfigObject | DeviceObject | SecretObject] = [*inputs.configs, *inputs.devices, *inputs.secrets]
    for obj in everything:
        if obj.key in seen:
            errors.append(InputError(str(obj.source), f"{obj.key.kind} {obj.key.namespace}/{obj.key.name}",
                                     "metadata.name", f"duplicate object: also defined in {seen[obj.key]}"))
        else:
            seen[obj.key] = obj.source
    graph = DependencyGraph.build(inputs.configs, external=())
    by_key = {o.key: o for o in inputs.configs}
    for key, cycle in sorted(graph.cycles.items()):
        errors.append(InputError(str(by_key[key].source), f"{key.kind} {key.namespace}/{key.name}",
                                 "metadata.annotations[nwi.enc.nokia.com/depends_on]",
                                 f"dependency cycle: {describe_cycle(cycle, key)}"))
    errors += _check_properties(inputs.configs)
    errors += _check_schema(inputs, opts)
    errors += unfit_devices(inputs.configs, Inventory(inputs.devices, (), opts.inventory_namespace))
    if opts.strict:
        inventory = Inventory(inputs.devices, inputs.secrets, opts.inventory_namespace, strict=True)
        for obj in inputs.configs:
            try:
                inventory.resolve(obj)
            except DeviceNotFound as exc:
                errors.append(InputError(str(obj.source), f"{obj.key.kind} {obj.key.namespace}/{obj.key.name}",
                                         "spec.switchID", str(exc)))
    if errors:
        raise InvalidInput(errors)


def unfit_devices(configs: Sequence[ConfigObject], inventory: Inventory) -> list[InputError]:
    """Objects whose Device cannot hold them (see :func:`nwi.inventory.unfit_reason`)."""
    errors: list[InputError] = []
    for obj in configs:
        if obj.key.kind != "LinuxConfig":  # the only kind a Device can be unfit for
            continue
        try:
            reason = unfit_reason(obj, inventory.resolve(obj))
        except DeviceNotFound:
            continue  # strict mode reports these
        if reason is not None:
            errors.append(InputError(str(obj.source), f"{obj.key.kind} {obj.key.namespace}/{obj.key.name}",
                                     "spec.switchID", reason))
    return errors


def settle_heap() -> None:
    """Exempt what is alive now (a command's inputs, then its plan) from cyclic GC passes.

    Collections traverse every live object they cover: with 100k loaded
    objects, full collections made planning grow faster than linearly, and
    the first collection after planning walked the half million objects of
    the plan (10% of a 100k plan). Neither is garbage before the process
    ends. For the short-lived CLI only, as :func:`gc_paused`.
    """
    gc.freeze()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC passes inside the block (collection resumes as it was on leaving).

    Loading, planning and applying allocate hundreds of thousands of objects
    (documents, trees, plans, statuses), and each burst of allocations set off
    collections that walked everything not frozen, so their time grew faster
    than the number of objects. None of it is cyclic garbage: reference
    counting frees what they throw away, paused or not. For the short-lived
    CLI only; the operator never pauses collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _check_schema(inputs: InputSet, opts: Options) -> list[InputError]:
    """The YANG checks of every object (nwi.schema), when models were given; their report stays with the set."""
    named = any(d.spec.models is not None and d.spec.models.yang_path for d in inputs.devices)
    if not opts.yang_paths and not named:
        return []  # free-form properties, as without models ever; libyang is not even imported
    from nwi.schema.check import check_configs, device_models

    inventory = Inventory(inputs.devices, (), opts.inventory_namespace)
    inputs.schema = check_configs(inputs.configs, opts.yang_paths, device_models(inventory) if named else None)
    if opts.add_inferred_deps and not inputs.schema.errors:
        from nwi.schema.plan import add_inferred_deps

        inventory = Inventory(inputs.devices, inputs.secrets, opts.inventory_namespace, strict=False)
        devices = [inventory.resolve(o).id for o in inputs.configs]
        inputs.configs, inputs.schema.added_edges, inputs.schema.refused_edges = add_inferred_deps(
            inputs.schema, inputs.configs, devices)
    return inputs.schema.errors


def _checked(report: RunReport) -> RunReport:
    """``report``, unless the run stopped because its state could not be recorded (raised as such)."""
    if report.stopped and report.stopped.startswith("state not recorded: "):
        raise StateError(report.stopped.removeprefix("state not recorded: "))
    return report


def _check_properties(configs: Sequence[ConfigObject]) -> list[InputError]:
    """Kind-specific property checks that must pass before anything is applied."""
    errors: list[InputError] = []
    linux = [o for o in configs if o.key.kind == "LinuxConfig"]
    if not linux:
        return errors
    try:
        from nwi.drivers.linux import validate_linux_properties
    except ImportError:
        return errors
    for obj in linux:
        for message in validate_linux_properties(obj.path, obj.properties):
            errors.append(InputError(str(obj.source), f"{obj.key.kind} {obj.key.namespace}/{obj.key.name}",
                                     "spec.properties", message))
    return errors


@dataclass
class Session:
    """State and machinery for one command."""

    opts: Options
    inputs: InputSet = field(default_factory=InputSet)
    store: Store = field(init=False)
    inventory: Inventory = field(init=False)

    read_only: bool = False  # plan: look, never create state
    #: set (by a signal handler) to stop sending: what is in flight finishes and is recorded
    stop: threading.Event = field(default_factory=threading.Event)
    #: the plan's per-device YANG checks (nwi.schema.plan), when the inputs were checked with models
    schema_plan: PlanSchema | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.store = Store(self.opts.state_dir, self.read_only)
        devices = {d.key: d for d in self.store.devices()}
        devices.update({d.key: d for d in self.inputs.devices})
        self.inventory = Inventory(
            devices.values(), self.inputs.secrets, self.opts.inventory_namespace, self.opts.strict,
            self.opts.credentials_file, yang_paths=self.opts.yang_paths)

    def close(self) -> None:
        self.store.close()

    def device_map(self, objects: Sequence[ConfigObject]) -> dict[ObjectKey, str]:
        return {o.key: self.inventory.resolve(o).id for o in objects}

    def _ready_elsewhere(self, objects: Sequence[ConfigObject]) -> list[ObjectKey]:
        """Objects Ready from an earlier run and not in this input: they satisfy dependencies."""
        here = {o.key for o in objects}
        return [s.key for s in self.store.objects() if s.key not in here and s.status.phase == Phase.READY]

    def journal(self) -> FileJournal:
        """Network-wide transactions in flight, kept beside the state (read back after a crash)."""
        return FileJournal(self.opts.state_dir / "transactions")

    def pool(self) -> DriverPool:
        return DriverPool(lambda device_id: self.inventory.driver(device_id, self.opts.state_dir))

    # ---- commands ----------------------------------------------------------------------
    def apply(self, on_outcome: Callable[[ConfigObject, Outcome], None] | None = None) -> RunReport:
        self.store.put_devices(self.inputs.devices)
        objects = [self.store.with_generation(o) for o in self.inputs.configs]
        external = self._ready_elsewhere(objects)
        pool = self.pool()
        with gc_paused():  # a run's statuses, trees and requests are freed by reference counting
            try:
                engine = Engine(pool, self.store, self.opts.workers, on_outcome, progress=False,
                                journal=self.journal(), confirm_timeout=self.opts.confirm_timeout,
                                intents=self.store, stop=self.stop)
                report = engine.apply(objects, self.device_map(objects), external, atomic=self.opts.atomic)
            finally:
                pool.close()
                self.store.flush()
        return _checked(report)

    def delete(self, on_outcome: Callable[[ConfigObject, Outcome], None] | None = None) -> tuple[RunReport, list[str]]:
        """Remove the input objects (as last applied) from their devices, dependents first."""
        targets = []
        unknown = []
        for obj in self.inputs.configs:
            stored = self.store.get(obj.key)
            if stored is None:
                unknown.append(str(obj.key))
            else:
                targets.append(stored.obj)
        dependents: dict[ObjectKey, list[ObjectKey]] = defaultdict(list)
        for stored in self.store.objects():
            for dep in stored.obj.depends_on:
                dependents[dep].append(stored.obj.key)
        def settled(obj: ConfigObject, outcome: Outcome) -> None:
            if outcome.phase == Phase.DELETING:
                self.store.forget(obj.key)  # config is off the device: release the object (at once)
            if on_outcome is not None:
                on_outcome(obj, outcome)

        pool = self.pool()
        try:
            engine = Engine(pool, self.store, self.opts.workers, settled, progress=False,
                            intents=self.store, stop=self.stop)
            report = engine.remove(targets, self.device_map(targets), dependents)
        finally:
            pool.close()
            self.store.flush()
        return _checked(report), unknown

    def plan(self) -> tuple[DependencyGraph, list[list[DeviceBatch]], dict[str, str]]:
        """A dry run: order, per-device transactions and diffs; reads devices, writes nothing."""
        objects = self.inputs.configs
        device_of = self.device_map(objects)
        devices = [device_of[o.key] for o in objects]  # each object's device, in the objects' order
        paths: dict[str, list[Any]] = defaultdict(list)
        for o, device in zip(objects, devices, strict=True):
            paths[device].append(o.device_path)
        reads: dict[str, dict[Any, Any]] = {}
        typed: dict[str, Any] = {}  # devices with models: how their values compare
        unreachable: dict[str, str] = {}
        pool = self.pool()
        try:
            for device, ps in paths.items():
                try:
                    driver = pool.get(device)
                    if driver.typed is not None:
                        typed[device] = driver.typed
                    reads[device] = driver.read(ps)
                except (DriverError, CredentialsError) as exc:
                    unreachable[device] = str(exc)
                    reads[device] = {}
            whole = self._whole_configs(pool, objects, unreachable) if self.inputs.schema is not None else {}
        finally:
            pool.close()
        external = self._ready_elsewhere(objects)
        with gc_paused():  # only the computation: drivers, connections and the store keep their usual GC
            graph = DependencyGraph.build(objects, external)
            batches = simulate_waves(objects, graph.wave_numbers(), devices, reads, typed=typed)
            if self.inputs.schema is not None:
                from nwi.schema.plan import check_plan

                self.schema_plan = check_plan(self.inputs.schema, objects, devices, reads, whole, graph)
            settle_heap()  # the plan is what the command shows, kept to the end like the inputs
        return graph, batches, unreachable

    def _whole_configs(self, pool: DriverPool, objects: Sequence[ConfigObject],
                       unreachable: Mapping[str, str]) -> dict[str, Any]:
        """The whole configuration of each tree-backed virtual device (nwi holds all of it), for the
        schema's per-device checks: there a leafref nothing satisfies is an error, not a warning."""
        whole: dict[str, Any] = {}
        for o in objects:
            rd = self.inventory.resolve(o)
            if rd.id in whole or rd.id in unreachable or rd.spec.driver != "virtual" or rd.spec.backend != "tree":
                continue
            whole[rd.id] = pool.get(rd.id).read([GnmiPath(())]).get(GnmiPath(())) or {}
        return whole

    def plan_groups(self) -> dict[str, dict[str, list[str]]]:
        """The plan's network-wide transactions: each group's devices and members."""
        objects = self.inputs.configs
        device_of = self.device_map(objects)
        return {g: {"devices": list(dict.fromkeys(device_of[m.key] for m in ms)), "members": [str(m.key) for m in ms]}
                for g, ms in groups(objects, self.opts.atomic).items()}
