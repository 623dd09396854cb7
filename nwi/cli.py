"""The standalone ``nwi`` command line.

Exit codes: 0 success; 1 some objects are not Ready (failed, waiting, blocked);
2 usage error; 3 invalid input (nothing was applied or changed); 4 the state
cannot be read or written (corrupt, read-only, disk full); 5 another run holds
the state directory; 128+N stopped by signal N (SIGINT 130, SIGTERM 143) after
recording what was in flight.
"""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, NoReturn

import typer
import yaml
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from nwi import clihelp, crdgen, render
from nwi.graph import DependencyGraph
from nwi.inventory import CredentialsError
from nwi.kinds import CONFIG_KINDS, DEVICE_KIND, DEVICE_PLURAL
from nwi.loader import InputError, InputSet, InvalidInput, load_paths
from nwi.model import ConfigObject
from nwi.session import Options, Session, unfit_devices, validate_inputs
from nwi.statelock import StateBusy, StateLock
from nwi.status import Outcome, Phase
from nwi.store import StateError, Store, device_manifest

EXIT_OK, EXIT_NOT_READY, EXIT_USAGE, EXIT_INVALID, EXIT_STATE, EXIT_BUSY = 0, 1, 2, 3, 4, 5

app = typer.Typer(
    name="nwi",
    cls=clihelp.Group,
    help="Declarative network automation: apply config resources to devices as a dependency graph.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain usage errors (`Error: Invalid value for '-o' ...`), as kubectl prints them, not rich panels
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
command = functools.partial(app.command, cls=clihelp.Command)  # every command's --help as kubectl's
err = Console(stderr=True)


def warning(message: str) -> None:
    """One warning line on stderr (not markup, as :func:`error`)."""
    err.print("[yellow]warning:[/] " + escape(message), highlight=False, soft_wrap=True)


def error(message: str) -> None:
    """One error line on stderr; the text is never read as rich markup (paths contain brackets)."""
    err.print("[red]error:[/] " + escape(message), highlight=False, soft_wrap=True)

Files = Annotated[list[Path], typer.Option("--filename", "-f", help="File or directory (repeatable).")]
StateDir = Annotated[Path, typer.Option("--state-dir", envvar="NWI_STATE_DIR", help="Where state is kept.")]
Namespace = Annotated[str, typer.Option("--namespace", "-n", help="Namespace for objects that name none.")]
InventoryNs = Annotated[
    str, typer.Option("--inventory-namespace", help="Shared namespace searched for Devices after the object's own.")
]
Strict = Annotated[bool, typer.Option("--strict", help="Refuse switchIDs without a Device (no virtual fallback).")]
Credentials = Annotated[
    Path | None, typer.Option("--credentials", envvar="NWI_CREDENTIALS", help="YAML: device name -> username/password.")
]
AddInferredDeps = Annotated[bool, typer.Option(
    "--add-inferred-deps", help="With --yang-path: add the depends_on edges the objects' leafrefs imply, for this "
                                "run (the files are not changed).")]
YangPath = Annotated[list[Path] | None, typer.Option(
    "--yang-path", help="YANG search directory (repeatable; else NWI_YANG_PATH, colon-separated): "
                        "check objects against their device's models.")]


class ListFormat(StrEnum):
    """``-o`` of the listing commands: typer makes an enum a choice, anything else a usage error."""

    table = "table"
    wide = "wide"
    json = "json"
    yaml = "yaml"


class PlanFormat(StrEnum):
    text = "text"
    json = "json"


class GraphFormat(StrEnum):
    dot = "dot"
    mermaid = "mermaid"


LockTimeout = Annotated[float, typer.Option(
    "--lock-timeout", envvar="NWI_LOCK_TIMEOUT", min=0,
    help="Seconds to wait while another run holds the state directory (0: refuse at once; then exit 5).")]


@contextlib.contextmanager
def _state_errors() -> Iterator[None]:
    """State that cannot be read or written: one line and exit 4 (never a traceback, never exit 1)."""
    try:
        yield
    except StateError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_STATE) from None


@contextlib.contextmanager
def _writer(state_dir: Path, timeout: float) -> Iterator[None]:
    """Hold the state directory's lock (one writer at a time); exit 5 when another run keeps it."""
    lock = StateLock(state_dir, timeout, on_wait=lambda msg: err.print(msg, highlight=False, soft_wrap=True))
    try:
        lock.acquire()
    except StateBusy as exc:
        error(str(exc))
        raise typer.Exit(EXIT_BUSY) from None
    except OSError as exc:
        error(f"{state_dir}: cannot lock the state directory ({exc.strerror or exc}); apply and delete need a "
              "writable --state-dir (`nwi get` and `nwi plan` can still read it)")
        raise typer.Exit(EXIT_STATE) from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _stoppable(session: Session) -> Iterator[list[int]]:
    """SIGINT/SIGTERM stop the run: nothing more is sent, what is in flight finishes and is recorded.

    Yields the list the signal's number lands in. A second signal acts as usual (it ends the
    process at once), which is safe: every transaction was recorded before it was sent.
    """
    caught: list[int] = []
    previous: dict[signal.Signals, Any] = {}

    def stop(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)
        session.stop.set()
        err.print(f"{signal.Signals(signum).name}: stopping after the transactions in flight "
                  "(again to stop at once)", highlight=False)
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, stop)
    except ValueError:  # not the main thread (embedded use): no handlers, runs as before
        previous.clear()
    try:
        yield caught
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


ListOutput = Annotated[ListFormat, typer.Option("--output", "-o", help="Output format.")]
PlanOutput = Annotated[PlanFormat, typer.Option("--output", "-o", help="Output format.")]


def _version(value: bool) -> None:
    if value:
        print(f"nwi {metadata.version('nwi')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_version, help="Print nwi's version and exit.")
    ] = False,
) -> None:
    pass


def _options(state_dir: Path, namespace: str, inventory_ns: str, strict: bool, credentials: Path | None,
             workers: int = 16, yang: list[Path] | None = None) -> Options:
    from nwi.schema import yang_paths

    return Options(state_dir, namespace, inventory_ns, strict, credentials, workers,
                   yang_paths=tuple(yang_paths(yang)))


def _validated(files: list[Path], opts: Options, cache: bool = False) -> InputSet:
    """The validated inputs, or exit 3 listing every error; nothing is touched on failure."""
    missing = [f for f in files if not f.exists()]
    if missing:
        error(f"no such file or directory: {', '.join(map(str, missing))}")
        raise typer.Exit(EXIT_INVALID)
    try:
        return validate_inputs(files, opts, cache=cache)
    except InvalidInput as exc:
        _invalid(exc.errors)


def _invalid(errors: Sequence[InputError]) -> NoReturn:
    for e in errors:
        error(f"{e}")
    err.print(f"{len(errors)} error(s); nothing was applied.", highlight=False)
    raise typer.Exit(EXIT_INVALID) from None


def _load(files: list[Path], opts: Options, read_only: bool = False) -> Session:
    inputs = _validated(files, opts, cache=not read_only)
    try:
        session = Session(opts, inputs, read_only)
    except CredentialsError as exc:  # a --credentials file that cannot be used: input, not a device fault
        error(str(exc))
        raise typer.Exit(EXIT_INVALID) from None
    # the inputs were checked against their own Devices; Devices from earlier runs are known only now
    errors = unfit_devices(session.inputs.configs, session.inventory)
    if errors:
        session.close()
        _invalid(errors)
    return session


def _inferred_notes(session: Session) -> None:
    """--add-inferred-deps: the edges it added (or left out) for this run, on stderr."""
    if session.opts.add_inferred_deps:
        from nwi.schema.plan import edge_notes

        for line in edge_notes(session.inputs.schema):
            err.print(line, highlight=False, soft_wrap=True, markup=False)


def _progress(total: int, verb: str) -> tuple[Progress | None, object]:
    """A live progress bar on a terminal; nothing when output is piped."""
    if not err.is_terminal or total < 2:
        return None, None
    progress = Progress(TextColumn(f"{verb}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err, transient=True)
    task = progress.add_task(verb, total=total)
    return progress, task


@command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to check.")],
    namespace: Namespace = "default",
    inventory_namespace: InventoryNs = "nwi-system",
    strict: Strict = False,
    yang_path: YangPath = None,
) -> None:
    """Check resources without contacting any device."""
    inputs = _validated(paths, _options(Path(".nwi"), namespace, inventory_namespace, strict, None, yang=yang_path))
    print(f"valid: {len(inputs.configs)} config object(s), {len(inputs.devices)} device(s), "
          f"{len(inputs.secrets)} secret(s)")
    print(inputs.schema.summary() if inputs.schema is not None else
          "schema: not checked (no --yang-path or NWI_YANG_PATH: properties are free-form)")


@command()
def plan(
    files: Files,
    output: PlanOutput = PlanFormat.text,
    state_dir: StateDir = Path(".nwi"),
    namespace: Namespace = "default",
    inventory_namespace: InventoryNs = "nwi-system",
    strict: Strict = False,
    credentials: Credentials = None,
    atomic: Annotated[bool, typer.Option("--atomic", help="Plan the whole run as one network-wide transaction.")]
    = False,
    yang_path: YangPath = None,
    add_inferred_deps: AddInferredDeps = False,
) -> None:
    """Show the order, the per-device transactions and their diffs, and the network-wide transactions
    with the devices each spans; change nothing."""
    opts = _options(state_dir, namespace, inventory_namespace, strict, credentials, yang=yang_path)
    opts.atomic, opts.add_inferred_deps = atomic, add_inferred_deps
    with _state_errors():
        session = _load(files, opts, read_only=True)
        _inferred_notes(session)
        try:
            graph, waves, unreachable = session.plan()
            groups = session.plan_groups()
        finally:
            session.close()
    render_plan = render.plan_json if output == "json" else render.plan_text
    text = render_plan(graph, waves, unreachable, groups)
    schema = session.schema_plan
    if schema is None:
        print(text)
        return
    from nwi.schema.plan import with_plan_json

    print(with_plan_json(text, schema) if output == "json" else "\n".join([text, *schema.suggestions()]))
    for finding in schema.findings:
        (error if finding.severity == "error" else warning)(schema.line(finding))
    if schema.errors:
        err.print(f"{len(schema.errors)} schema error(s) in the devices' candidate configurations.", highlight=False)
        raise typer.Exit(EXIT_INVALID)


@command()
def apply(
    files: Files,
    output: ListOutput = ListFormat.table,
    state_dir: StateDir = Path(".nwi"),
    namespace: Namespace = "default",
    inventory_namespace: InventoryNs = "nwi-system",
    strict: Strict = False,
    credentials: Credentials = None,
    workers: Annotated[int, typer.Option(help="Devices worked on at once.")] = 16,
    atomic: Annotated[bool, typer.Option(
        "--atomic", help="The whole run is one network-wide transaction: it lands on all devices or on none.")] = False,
    confirm_timeout: Annotated[int, typer.Option(
        "--confirm-timeout", min=1,
        help="Network-wide transactions: seconds a prepared device waits for the confirm before it reverts.")] = 60,
    yang_path: YangPath = None,
    add_inferred_deps: AddInferredDeps = False,
    lock_timeout: LockTimeout = 60.0,
) -> None:
    """Apply resources to their devices in dependency order."""
    opts = _options(state_dir, namespace, inventory_namespace, strict, credentials, workers,
                    yang=yang_path)
    opts.atomic, opts.confirm_timeout, opts.add_inferred_deps = atomic, confirm_timeout, add_inferred_deps
    with _writer(state_dir, lock_timeout), _state_errors():
        session = _load(files, opts)
        _inferred_notes(session)
        progress, task = _progress(len(session.inputs.configs), "applying")

        def on_outcome(obj: ConfigObject, outcome: Outcome) -> None:
            if progress is not None:
                progress.advance(task)  # type: ignore[arg-type]

        try:
            with _stoppable(session) as caught:
                if progress is not None:
                    with progress:
                        report = session.apply(on_outcome)
                else:
                    report = session.apply(on_outcome)
            results = [session.store.get(k) for k in report.order]
        finally:
            session.close()
    for rec in report.recovered:
        err.print("recovered: " + rec.describe(), highlight=False, soft_wrap=True)
    shown = [s for s in results if s is not None]
    if output == "json":
        print(render.as_json(render.object_docs(shown)))
    elif output == "yaml":
        print(render.as_yaml(render.object_docs(shown)), end="")
    else:
        print(render.table(render.object_rows(shown, wide=output == "wide", show_kind=True)))
        counts = ", ".join(f"{report.count(p)} {p}" for p in Phase if report.count(p))
        print(f"{len(report.outcomes)} object(s): {counts}; {report.transactions} transaction(s) sent")
    if caught:
        raise typer.Exit(128 + caught[0])
    raise typer.Exit(EXIT_OK if report.ok else EXIT_NOT_READY)


@command()
def delete(
    files: Files,
    state_dir: StateDir = Path(".nwi"),
    namespace: Namespace = "default",
    inventory_namespace: InventoryNs = "nwi-system",
    credentials: Credentials = None,
    lock_timeout: LockTimeout = 60.0,
) -> None:
    """Remove resources' config from their devices, dependents first (reverse graph order)."""
    with _writer(state_dir, lock_timeout), _state_errors():
        session = _load(files, _options(state_dir, namespace, inventory_namespace, False, credentials))
        try:
            with _stoppable(session) as caught:
                report, unknown = session.delete()
        finally:
            session.close()
    for name in unknown:
        err.print(f"not found (never applied): {name}", highlight=False)
    for key in report.order:
        o = report.outcomes[key]
        verb = "deleted" if o.phase == Phase.DELETING else str(o.phase).lower()
        print(f"{key}: {verb}" + ("" if o.phase == Phase.DELETING else f" ({o.reason}: {o.message})"))
    if caught:
        raise typer.Exit(128 + caught[0])
    raise typer.Exit(EXIT_OK if all(o.phase == Phase.DELETING for o in report.outcomes.values()) else EXIT_NOT_READY)


DEVICE_NAMES = (DEVICE_KIND.lower(), DEVICE_PLURAL, "nwidev")


def _kind_filter(kind: str | None) -> set[str] | None:
    """The kinds ``KIND`` names (kind, plural, singular or short name, as kubectl takes them)."""
    if kind is None:
        return None
    wanted = kind.lower().split(".")[0]
    if wanted in DEVICE_NAMES:
        return {DEVICE_KIND}
    for k in CONFIG_KINDS.values():
        if wanted in (k.kind.lower(), k.plural, k.singular, *k.short_names):
            return {k.kind}
    error(f"unknown kind {kind!r} (known: {', '.join([*CONFIG_KINDS, DEVICE_KIND])})")
    raise typer.Exit(EXIT_USAGE)


@command()
def get(
    kind: Annotated[str | None, typer.Argument(help="Kind, plural or short name (default: every config kind).")] = None,
    name: Annotated[str | None, typer.Argument(help="Only the object of this name.")] = None,
    output: ListOutput = ListFormat.table,
    state_dir: StateDir = Path(".nwi"),
    namespace: Annotated[str | None, typer.Option("--namespace", "-n", help="Only this namespace.")] = None,
) -> None:
    """List objects with their status, in the order they were applied; or Devices (`nwi get devices`).

    With a NAME, `-o yaml` shows that object whole: its status message in full (the tables cut it).

    Examples:

      nwi get
      nwi get srosconfigs -o wide
      nwi get srosconfig vpls-01 -o yaml
      nwi get devices
    """
    kinds = _kind_filter(kind)
    with _state_errors():
        store = Store(state_dir, read_only=True)
        try:
            if kinds == {DEVICE_KIND}:
                devices = sorted((d for d in store.devices() if namespace is None or d.key.namespace == namespace),
                                 key=lambda d: d.key)
                objs = []
            else:
                objs = [s for s in store.objects()
                        if (kinds is None or s.key.kind in kinds)
                        and (namespace is None or s.key.namespace == namespace)]
        finally:
            store.close()
    if kinds == {DEVICE_KIND}:
        devices = [d for d in devices if name is None or d.key.name == name]
        _not_found(kind, name, devices)
        _show([device_manifest(d) for d in devices], name, output,
              lambda: render.device_rows(devices, wide=output == "wide"))
        return
    if name is not None and kinds is None:
        error("a NAME needs a KIND: nwi get KIND NAME")
        raise typer.Exit(EXIT_USAGE)
    objs = [s for s in objs if name is None or s.key.name == name]
    _not_found(kind, name, objs)
    objs.sort(key=lambda s: (s.seq is None, s.seq or 0, s.key))
    with _state_errors():  # a stored manifest is decoded only when shown
        _show(render.object_docs(objs), name, output,
              lambda: render.object_rows(objs, wide=output == "wide", show_kind=kinds is None))


def _not_found(kind: str | None, name: str | None, found: list[Any]) -> None:
    if name is not None and not found:
        error(f"{kind} {name!r} not found")
        raise typer.Exit(EXIT_NOT_READY)


def _show(docs: list[dict[str, Any]], name: str | None, output: str, rows: Callable[[], list[list[str]]]) -> None:
    """As kubectl: one named object alone, else a List; a table unless -o json|yaml."""
    doc: Any = docs[0] if name is not None and len(docs) == 1 else {"apiVersion": "v1", "kind": "List", "items": docs}
    if output == "json":
        print(json.dumps(doc, indent=2))
    elif output == "yaml":
        print(yaml.safe_dump(doc, sort_keys=False), end="")
    elif not docs:
        err.print("No resources found.")
    else:
        print(render.table(rows()))


@command()
def graph(
    files: Files,
    format: Annotated[GraphFormat, typer.Option("--format", help="Graph language.")] = GraphFormat.dot,
    state_dir: StateDir = Path(".nwi"),
    namespace: Namespace = "default",
) -> None:
    """Print the dependency graph (DOT or Mermaid), coloured by each object's phase."""
    inputs = load_paths(files, namespace)  # a graph of a broken set is still worth drawing
    for e in inputs.errors:
        error(f"{e}")
    if inputs.errors:
        raise typer.Exit(EXIT_INVALID)
    with _state_errors():
        store = Store(state_dir, read_only=True)
        try:
            phases = {s.key: str(s.status.phase) for s in store.objects()}
        finally:
            store.close()
    g = DependencyGraph.build(inputs.configs)
    for key in g.cycles:
        phases[key] = str(Phase.FAILED)
    edges = {k: list(v) for k, v in g.deps.items()}
    print(render.graph_mermaid(edges, phases) if format == "mermaid" else render.graph_dot(edges, phases))


@command()
def crds(out: Annotated[Path | None, typer.Option("--out", help="Write files here instead of stdout.")] = None) -> None:
    """Print (or write) the CustomResourceDefinitions."""
    if out is not None:
        for p in crdgen.write(out):
            print(p)
        return
    print("---\n".join(crdgen.render(doc) for doc in crdgen.generate().values()), end="")


@command("remove-netns")
def remove_netns(
    devices: Annotated[list[str], typer.Argument(help="Linux-backed virtual devices whose namespace to remove.")],
) -> None:
    """Remove the network namespace of Linux-backed virtual devices (and every link in it)."""
    from nwi.drivers.linux import netns_for_device, remove_device_netns

    for device in devices:
        gone = remove_device_netns(device)
        print(f"{netns_for_device(device)}: {'removed' if gone else 'not present'}")


@command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False)
def bench(ctx: typer.Context) -> None:
    """Fleet-scale benchmark from a source checkout (the options of `python -m bench`)."""
    # bench/ is not installed (a top-level `bench` package in site-packages would shadow others'):
    # it is found next to the nwi package of a checkout, as `pip install -e .` leaves it
    checkout = Path(__file__).resolve().parents[1]
    if not (checkout / "bench" / "run.py").is_file():
        error(f"the benchmark ships with the source tree, not the installed package: no bench/ in {checkout}; "
              "run it from a checkout (pip install -e .)")
        raise typer.Exit(EXIT_USAGE)
    if str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    from bench.run import main as run_bench

    run_bench(ctx.args)


def _register_optional() -> None:
    """Commands provided by other parts of nwi, when present."""
    try:
        from nwi.mockgnmi.cli import mock_gnmi
    except ImportError:
        pass
    else:
        command("mock-gnmi")(mock_gnmi)
    try:
        from nwi.operator.cli import operator
    except ImportError:
        pass
    else:
        command("operator")(operator)


_register_optional()


def main() -> None:
    try:
        app()
    except BrokenPipeError:  # `nwi get | head`
        sys.stderr.close()


if __name__ == "__main__":
    main()

