"""Start the operator: API client, metrics endpoint, kopf with nwi's handlers, peering and probes."""

from __future__ import annotations

import logging
import random

import kopf

from nwi.operator.controller import Controller, OperatorConfig
from nwi.operator.handlers import build_registry
from nwi.operator.kubeapi import KubeApi, load_client
from nwi.operator.metrics import Metrics

log = logging.getLogger(__name__)


def run(cfg: OperatorConfig, verbose: bool = False, debug: bool = False) -> None:
    """Run until SIGTERM/SIGINT (kopf handles both and stops gracefully)."""
    kopf.configure(verbose=verbose, debug=debug)
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    api_client = load_client(cfg.kubeconfig, cfg.context)
    metrics = Metrics()
    if cfg.metrics_port:
        metrics.serve(cfg.metrics_port)
    ctl = Controller(cfg, KubeApi(api_client), metrics)
    registry = build_registry(ctl, api_client)
    namespaces = ctl.watched_namespaces()
    # peering: replicas with distinct priorities; the highest runs, the others pause until it is gone
    priority = cfg.priority if cfg.priority is not None else random.randint(1, 2**30)
    log.info("nwi operator: %s, selector %r, drift every %gs, peering %s (priority %d)",
             f"namespaces {namespaces}" if namespaces else "cluster-wide", cfg.selector, cfg.drift_interval,
             "off" if cfg.standalone else repr(cfg.peering or "default"), priority)
    kopf.run(
        registry=registry,
        clusterwide=not namespaces,
        namespaces=namespaces,
        standalone=cfg.standalone or None,
        peering_name=cfg.peering,
        priority=priority,
        liveness_endpoint=f"http://0.0.0.0:{cfg.health_port}/healthz" if cfg.health_port else None,
    )
