"""``nwi operator``: run the Kubernetes operator (registered by ``nwi/cli.py`` when importable)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nwi.inventory import DEFAULT_INVENTORY_NAMESPACE
from nwi.operator.controller import LOOPBACK, OperatorConfig


def operator(
    kubeconfig: Annotated[
        Path | None,
        typer.Option(envvar="KUBECONFIG", help="kubeconfig file (default: in-cluster, else ~/.kube/config)."),
    ] = None,
    context: Annotated[str | None, typer.Option(help="kubeconfig context (default: the current one).")] = None,
    namespace: Annotated[
        list[str] | None,
        typer.Option("--namespace", "-n", envvar="NWI_NAMESPACES",
                     help="Only config objects in this namespace (repeatable; default: the whole cluster)."),
    ] = None,
    selector: Annotated[
        str, typer.Option("--selector", "-l", envvar="NWI_SELECTOR",
                          help="Label selector for config objects, e.g. 'nwi.enc.nokia.com/shard=a' (sharding).")
    ] = "",
    inventory_namespace: Annotated[
        str, typer.Option(envvar="NWI_INVENTORY_NAMESPACE", help="Shared namespace searched for Devices.")
    ] = DEFAULT_INVENTORY_NAMESPACE,
    state_dir: Annotated[
        Path, typer.Option(envvar="NWI_STATE_DIR", help="Scratch space (virtual devices' state).")
    ] = Path("/var/lib/nwi"),
    drift_interval: Annotated[
        float,
        typer.Option(
            min=1, envvar="NWI_DRIFT_INTERVAL",
            help="Seconds between drift checks of objects on devices not watched by subscription "
                 "(NETCONF, virtual), and re-checks of Waiting ones.",
        ),
    ] = 300.0,
    subscribe: Annotated[
        bool, typer.Option(envvar="NWI_SUBSCRIBE",
                           help="Watch gNMI devices for drift with Subscribe STREAM ON_CHANGE (else: the timer).")
    ] = True,
    wait_recheck: Annotated[
        float, typer.Option(min=1, help="Backstop re-check of a deletion Blocked by dependents, seconds "
                                        "(it is woken at once when the last dependent is gone).")
    ] = 60.0,
    retry_max: Annotated[
        float, typer.Option(min=1, help="Cap of the exponential retry backoff for failed objects, seconds.")
    ] = 300.0,
    batch_window: Annotated[
        float, typer.Option(min=0, help="Seconds to gather objects that become ready together into one run.")
    ] = 0.05,
    workers: Annotated[int, typer.Option(min=1, help="Devices worked on at once.")] = 16,
    metrics_port: Annotated[int, typer.Option(help="Prometheus /metrics port (0: off).")] = 8000,
    health_port: Annotated[int, typer.Option(help="Liveness/readiness /healthz port (0: off).")] = 8080,
    listen_address: Annotated[
        str, typer.Option(envvar="NWI_LISTEN_ADDRESS",
                          help="Address /metrics and /healthz listen on. Loopback by default, so that outside a "
                               "cluster they are not open to the network; deploy/ sets 0.0.0.0 for the kubelet's "
                               "probes and Prometheus."),
    ] = LOOPBACK,
    peering: Annotated[
        str | None, typer.Option(help="kopf peering object for several replicas (default: 'default' if present).")
    ] = None,
    standalone: Annotated[bool, typer.Option(help="No peering: assume this is the only replica.")] = False,
    priority: Annotated[
        int | None, typer.Option(help="Peering priority (default: random, so one replica leads, the rest wait).")
    ] = None,
    yang_path: Annotated[
        list[Path] | None, typer.Option(
            file_okay=False, help="YANG search directory (repeatable; else NWI_YANG_PATH, colon-separated): "
                                  "objects are checked against their kind's models before anything is sent, and "
                                  "values are encoded and compared by them.")
    ] = None,
    confirm_timeout: Annotated[
        int, typer.Option(min=1, envvar="NWI_CONFIRM_TIMEOUT",
                          help="Network-wide transactions: seconds a prepared device waits for the confirm "
                               "before it reverts (also how soon devices revert when the operator dies).")
    ] = 60,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False,
    debug: Annotated[bool, typer.Option(help="Log everything, kopf's internals included.")] = False,
) -> None:
    """Run the Kubernetes operator: reconcile config objects and Devices from the cluster."""
    from nwi.operator.runner import run
    from nwi.schema import yang_paths

    cfg = OperatorConfig(
        kubeconfig=kubeconfig,
        context=context,
        namespaces=list(namespace or []),
        selector=selector,
        inventory_namespace=inventory_namespace,
        state_dir=state_dir,
        drift_interval=drift_interval,
        subscribe=subscribe,
        wait_recheck=wait_recheck,
        retry_max=retry_max,
        batch_window=batch_window,
        workers=workers,
        yang_paths=tuple(yang_paths(yang_path)),
        confirm_timeout=confirm_timeout,
        metrics_port=metrics_port,
        health_port=health_port,
        listen_address=listen_address,
        peering=peering,
        standalone=standalone,
        priority=priority,
    )
    run(cfg, verbose=verbose, debug=debug)
