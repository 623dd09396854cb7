"""``nwi mock-gnmi``: run the mock gNMI server in the foreground.

When every port listens it prints one JSON line on stdout, e.g.::

    {"event": "ready", "address": "127.0.0.1", "port": 57400, "targets": {"mock": 57400},
     "tls": false, "caCert": null}

so that a CI script or :mod:`nwi.mockgnmi.harness` can wait for that line
instead of sleeping, and learn the ports chosen for ``--port 0``. SIGTERM or
Ctrl-C stops it.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Annotated

import typer

from nwi.drivers.virtual import DeviceStore
from nwi.mockgnmi import devices as devices_file
from nwi.mockgnmi import tlsgen
from nwi.mockgnmi.faults import Faults, status_code
from nwi.mockgnmi.server import MockGnmiServer
from nwi.mockgnmi.target import Credentials, Target


def _list_keys(specs: list[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for spec in specs:
        name, sep, keys = spec.partition("=")
        if not sep or not name or not keys:
            raise typer.BadParameter(
                f"{spec!r}: expected LIST=KEY[,KEY...], e.g. interface=name", param_hint="--list-key"
            )
        out[name] = tuple(k for k in keys.split(",") if k)
    return out


def mock_gnmi(
    port: Annotated[int, typer.Option(help="Shared port for targets without their own (0: any free port).")] = 57400,
    devices: Annotated[
        Path | None, typer.Option(help="YAML file listing targets (see nwi.mockgnmi.devices).", exists=True,
                                  dir_okay=False)
    ] = None,
    tls: Annotated[bool, typer.Option(help="Serve TLS with a freshly generated CA and server certificate.")] = False,
    address: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    target: Annotated[
        list[str] | None, typer.Option(help="Target name on the shared port, repeatable (without --devices).")
    ] = None,
    username: Annotated[str | None, typer.Option(envvar="NWI_MOCK_GNMI_USERNAME", help="Required username.")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="NWI_MOCK_GNMI_PASSWORD", help="Required password (prefer the env var).")
    ] = None,
    cert_dir: Annotated[
        Path | None, typer.Option(help="Where --tls writes ca.pem, server*.pem, client*.pem (default: a temp dir).")
    ] = None,
    mtls: Annotated[bool, typer.Option(help="With --tls: require a client certificate signed by the CA.")] = False,
    state_dir: Annotated[Path | None, typer.Option(help="Persist each target's config here (default: memory).")] = None,
    list_key: Annotated[
        list[str] | None, typer.Option(help="List-key hint LIST=KEY[,KEY], repeatable (e.g. interface=name).")
    ] = None,
    latency: Annotated[float, typer.Option(help="Fault: seconds added to every RPC.")] = 0.0,
    fail_sets: Annotated[int, typer.Option(help="Fault: the next N Sets fail (with --fail-code).")] = 0,
    fail_code: Annotated[str, typer.Option(help="Fault: gRPC code of the failed Sets.")] = "UNAVAILABLE",
    drop_rpcs: Annotated[int, typer.Option(help="Fault: the next N RPCs cut the connection.")] = 0,
    refuse: Annotated[list[str] | None, typer.Option(help="Fault: this target never starts, repeatable.")] = None,
    poll_interval: Annotated[
        float, typer.Option(help="How often ON_CHANGE streams re-read datastores changed by others.")
    ] = 1.0,
    yang_path: Annotated[
        list[Path] | None, typer.Option(
            envvar="NWI_YANG_PATH", file_okay=False, exists=True,
            help="Serve with the YANG modules under DIR (repeatable; env colon-separated): Sets the models "
                 "refuse fail with INVALID_ARGUMENT, Capabilities announces the modules.")
    ] = None,
    yang_module: Annotated[
        list[str] | None, typer.Option(help="With --yang-path: load these modules (names or globs); default: "
                                            "those of the kind whose models the directories hold (nokia-conf, "
                                            "srl_nokia-*, openconfig-*).")
    ] = None,
    yang_checks: Annotated[
        str, typer.Option(help="values: nodes and leaf values of each Set; full: also mandatory nodes, "
                               "must/when and leafrefs of the whole configuration.")
    ] = "values",
    bare_strings: Annotated[
        bool, typer.Option(help="Lenient: take unquoted Set values (pygnmi's str) as strings; never text "
                                "that starts like JSON. Real targets refuse them: off by default.")
    ] = False,
) -> None:
    """Serve gNMI targets backed by nwi's configuration tree, for tests and CI."""
    try:
        code = status_code(fail_code)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fail-code") from exc
    if mtls and not tls:
        raise typer.BadParameter("--mtls needs --tls", param_hint="--mtls")
    if (username is None) != (password is None):
        raise typer.BadParameter("give both --username and --password (or neither)", param_hint="--username")
    keys = _list_keys(list_key or [])
    if yang_checks not in ("values", "full"):
        raise typer.BadParameter("expected values or full", param_hint="--yang-checks")
    if yang_module and not yang_path:
        raise typer.BadParameter("--yang-module needs --yang-path", param_hint="--yang-module")
    if devices is not None:
        if target:
            raise typer.BadParameter("--target and --devices exclude each other", param_hint="--target")
        defaults = devices_file.Defaults(username, password, keys, state_dir, tuple(yang_path or ()),
                                         tuple(yang_module) if yang_module else None, yang_checks,
                                         bare_strings=bare_strings)
        try:
            targets = devices_file.load(devices, defaults)
        except devices_file.DevicesFileError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
    else:
        creds = Credentials(username, password) if username is not None and password is not None else None
        targets = [
            Target(name, DeviceStore(name, state_dir, keys), credentials=creds, bare_strings=bare_strings)
            for name in (target or ["mock"])
        ]
        if yang_path:
            from nwi.mockgnmi import schema
            from nwi.schema.models import ModelSetError

            try:
                models = schema.load(yang_path, yang_module)
            except ModelSetError as exc:
                typer.echo(f"error: --yang-path: {exc}", err=True)
                raise typer.Exit(2) from exc
            targets = [schema.with_models(t, models, yang_checks) for t in targets]  # type: ignore[arg-type]
    unknown = set(refuse or []) - {t.name for t in targets}
    if unknown:
        raise typer.BadParameter(f"no such target(s): {sorted(unknown)}", param_hint="--refuse")
    for t in targets:
        f: Faults = t.faults
        f.latency = latency or f.latency
        if fail_sets:
            f.fail_next_sets(fail_sets, code)
        f.drop_rpcs = drop_rpcs or f.drop_rpcs
        f.refuse_start = f.refuse_start or t.name in (refuse or [])

    temp_certs = None
    material = None
    if tls:
        if cert_dir is None:
            temp_certs = Path(tempfile.mkdtemp(prefix="nwi-mock-gnmi-tls-"))
        material = tlsgen.generate(cert_dir or temp_certs, hosts=_hosts(address))
    server = MockGnmiServer(
        targets, address=address, port=port, tls=material, require_client_cert=mtls, poll_interval=poll_interval
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        try:
            server.start()
        except OSError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        ready = {
            "event": "ready",
            "address": address,
            "port": server.port if any(t.port is None for t in targets) else None,
            "targets": server.ports(),
            "tls": tls,
            "caCert": str(material.file("ca.pem")) if material else None,
            "clientCert": str(material.file("client.pem")) if material else None,
            "clientKey": str(material.file("client-key.pem")) if material else None,
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        stop.wait()
    finally:
        server.stop()
        if temp_certs is not None:
            shutil.rmtree(temp_certs, ignore_errors=True)


def _hosts(address: str) -> tuple[str, ...]:
    hosts = list(tlsgen.DEFAULT_HOSTS)
    if address not in hosts and address not in ("0.0.0.0", "::"):
        hosts.insert(0, address)
    return tuple(hosts)


def main() -> None:
    typer.run(mock_gnmi)
