"""Prometheus metrics of the operator (served by prometheus-client on ``--metrics-port``).

A private registry keeps tests that build several operators in one process
from colliding on metric names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.reconciles = Counter("nwi_reconciles", "Objects reconciled, by kind and resulting phase.",
                                  ["kind", "phase"], registry=r)
        self.failures = Counter("nwi_reconcile_failures", "Objects that ended Failed, by kind and reason.",
                                ["kind", "reason"], registry=r)
        self.queue_depth = Gauge("nwi_reconcile_queue_depth", "Objects queued for the next engine run.",
                                 registry=r)
        self.apply_latency = Histogram(
            "nwi_apply_duration_seconds", "Duration of one engine run (read, plan, transactions), by operation.",
            ["operation"], registry=r, buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
        self.transactions = Counter("nwi_device_transactions", "Transactions sent to devices (writes).",
                                    registry=r)
        self.timer_runs = Counter("nwi_drift_timer_runs", "Ticks of the drift timer (devices no stream watches).",
                                  registry=r)
        self.streams_synced = Gauge("nwi_subscribed_devices",
                                    "gNMI devices watched for drift by a subscription that has its snapshot.",
                                    registry=r)
        self.streams_opened = Counter("nwi_subscriptions_opened", "Drift subscriptions opened (reconnects included).",
                                      registry=r)
        self.handler_calls = Counter("nwi_handler_calls", "kopf's calls of the apply handler, by cause (create, "
                                     "update, resume: one per object kopf lists at its start).", ["reason"], registry=r)
        self.stream_checks = Counter("nwi_subscription_checks",
                                     "Objects compared with the state their device streamed (no request sent).",
                                     registry=r)

    def serve(self, port: int, address: str) -> WSGIServer:
        """Serve /metrics on ``address`` in a daemon thread (no default address: where it listens is the
        caller's choice)."""
        server, _ = start_http_server(port, addr=address, registry=self.registry)
        return server
