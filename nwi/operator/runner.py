"""Start the operator: API client, metrics endpoint, kopf with nwi's handlers, peering and probes.

kopf ends the whole operator when one of its watch streams fails with an error
it does not retry. A restarting kube-apiserver causes exactly that: it answers
requests before it has registered the CustomResourceDefinitions again, so a
watch that reconnects at that moment gets "404 page not found" (seen on a
loaded 2-core machine). And kopf's shutdown after such a failure can hang for
good: watch requests that were retrying wait for credentials from a task that
is already gone. So kopf runs in a thread of its own, supervised from the main
thread (:func:`supervise`): SIGTERM and SIGINT stop it through kopf's stop
flag and end the process; when it stops by itself it is started again, with a
fresh controller that lists everything anew, and a run that does not finish
stopping within :data:`STOP_GRACE` is left behind (it no longer talks to the
API: its requests wait for credentials that never come).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kopf
import uvloop
from kopf._core.engines.peering import detect_own_id  # kopf.run's identity; kopf exports no public helper

from nwi.operator import memtrace
from nwi.operator.controller import Controller, OperatorConfig, backoff
from nwi.operator.handlers import build_registry
from nwi.operator.kubeapi import KubeApi, load_client
from nwi.operator.metrics import Metrics

log = logging.getLogger(__name__)

#: restarts of kopf back off from 1 s to 30 s while it keeps failing within a minute of starting: a
#: misconfiguration is not hammered, and /healthz (down in between) stays within the liveness probe's 60 s
RESTART_BASE, RESTART_MAX, HEALTHY_RUN = 1.0, 30.0, 60.0
#: the cycle collector's thresholds in the operator (see tune_gc)
GC_THRESHOLDS = (50_000, 20, 10)
#: seconds a stopping kopf gets to finish (its own shutdown waits 5 s for handlers, then cancels them)
STOP_GRACE = 10.0


@dataclass
class KopfRun:
    """One run of kopf. ``stop`` is kopf's stop flag; ``ended`` is set once kopf is on its way out."""

    stop: threading.Event = field(default_factory=threading.Event)
    ended: threading.Event = field(default_factory=threading.Event)

    def cleanup(self) -> None:
        """kopf's cleanup ran: it is stopping, whatever the reason. Setting ``stop`` too releases the
        executor thread in which kopf waits for that flag (kopf would otherwise wait for it to finish)."""
        self.ended.set()
        self.stop.set()


def tune_gc() -> None:
    """Make Python's cycle collector fit a process that holds many long-lived objects and parses a stream.

    With the default thresholds (700, 10, 10) a full collection ran every
    ~70k allocations, and each one walked every object the operator holds:
    the modules (kopf, the Kubernetes client, gRPC, pydantic) and the index.
    Measured in a 4k-object run: 7.6 s of the operator's 38.6 s of CPU in the
    collector. So what exists at start-up is frozen (never walked again) and
    the young generation is collected every ``GC_THRESHOLDS[0]`` allocations
    (a full collection thus about every 10M); nwi's own data holds few
    reference cycles, so little waits longer to be freed.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def run(cfg: OperatorConfig, verbose: bool = False, debug: bool = False) -> None:
    """Run until SIGTERM/SIGINT."""
    memtrace.install()  # first: what follows is traced too (a no-op unless NWI_TRACEMALLOC is set)
    kopf.configure(verbose=verbose, debug=debug)
    if not (verbose or debug):
        # kopf logs two lines per handler call per object ("Handler 'index' succeeded."): at thousands of
        # objects that was 4 % of the operator's CPU; nwi logs each status change itself
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    api_client = load_client(cfg.kubeconfig, cfg.context)
    tune_gc()
    metrics = Metrics()
    if cfg.metrics_port:
        metrics.serve(cfg.metrics_port, cfg.listen_address)
    # peering: replicas with distinct priorities; the highest runs, the others pause until it is gone.
    # Priority and identity are this process's, across kopf restarts: a peering record left by the
    # previous run is then our own, never a conflict to pause for
    priority = cfg.priority if cfg.priority is not None else random.randint(1, 2**30)
    identity = detect_own_id(manual=False)

    def once(kopf_run: KopfRun) -> None:
        ctl = Controller(cfg, KubeApi(api_client), metrics)  # fresh per run: no state of a failed run survives
        registry = build_registry(ctl, api_client)

        @kopf.on.cleanup(registry=registry, id="supervisor")
        def stopping(**_: Any) -> None:
            kopf_run.cleanup()

        namespaces = ctl.watched_namespaces()
        log.info("nwi operator: %s, selector %r, drift every %gs, peering %s (priority %d)",
                 f"namespaces {namespaces}" if namespaces else "cluster-wide", cfg.selector, cfg.drift_interval,
                 "off" if cfg.standalone else repr(cfg.peering or "default"), priority)
        # uvloop, as kopf's own command line runs it: kopf's watch streams, patches and their TLS are
        # the event loop's work, and uvloop does that I/O in C instead of asyncio's Python
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as loop_runner:
            kopf.run(
                loop=loop_runner.get_loop(),
                registry=registry,
                clusterwide=not namespaces,
                namespaces=namespaces,
                standalone=cfg.standalone or None,
                peering_name=cfg.peering,
                priority=priority,
                identity=identity,
                stop_flag=kopf_run.stop,
                liveness_endpoint=cfg.liveness_endpoint(),
            )

    signalled = threading.Event()
    current: list[KopfRun] = []

    def on_signal(signum: int, _: Any) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        signalled.set()
        for kopf_run in current:
            kopf_run.stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    supervise(once, signalled, current)


def supervise(once: Callable[[KopfRun], None], signalled: threading.Event, current: list[KopfRun],
              clock: Callable[[], float] = time.monotonic, pause: Callable[[float], object] | None = None) -> None:
    """Run ``once`` in a thread until ``signalled``; start it again (backing off) whenever it stops by itself."""
    pause = pause or signalled.wait  # a signal cuts the pause short
    quick_failures = 0
    while not signalled.is_set():
        kopf_run = KopfRun()
        current[:] = [kopf_run]
        started = clock()

        def target(kopf_run: KopfRun = kopf_run) -> None:
            try:
                once(kopf_run)
            except Exception:
                log.exception("kopf stopped on an error")
            finally:
                kopf_run.ended.set()

        thread = threading.Thread(target=target, name="kopf", daemon=True)
        thread.start()
        kopf_run.ended.wait()
        thread.join(STOP_GRACE)
        if thread.is_alive():
            log.error("kopf did not finish stopping within %gs; leaving that run behind", STOP_GRACE)
        if signalled.is_set():
            return
        quick_failures = quick_failures + 1 if clock() - started < HEALTHY_RUN else 0
        delay = backoff(max(quick_failures - 1, 0), RESTART_BASE, RESTART_MAX)
        log.error("kopf stopped by itself; starting it again in %gs", delay)
        pause(delay)
