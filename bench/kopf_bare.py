"""kopf alone, set up as nwi sets it up, with handlers that do nothing: what kopf itself holds per object.

``python -m bench.kopf_bare KUBECONFIG NAMESPACE N`` runs kopf over the
config kinds in NAMESPACE with nwi's settings (finalizer, progress
annotations, diff base in memory: ``nwi.operator.handlers``), the same handler set as
nwi registers (an event handler, create/update/resume, delete), each
returning at once, and logs ``resumed: N`` once its start-up pass has called
the resume handler N times. ``bench.operator_scale`` runs it over the same
objects as ``nwi operator``: the difference is nwi's own memory.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import kopf

from nwi.kinds import CONFIG_KINDS, GROUP, VERSION
from nwi.operator.diffbase import HandledInMemory
from nwi.operator.handlers import configure
from nwi.operator.kubeapi import load_client


def registry_for(expected: int, chunk_size: int | None) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    resumed = 0

    @kopf.on.startup(registry=registry)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure(settings, HandledInMemory(), chunk_size)  # as nwi's start-up handler sets them

    for kind in CONFIG_KINDS.values():
        res: dict[str, Any] = {"group": GROUP, "version": VERSION, "plural": kind.plural, "registry": registry}

        @kopf.on.event(**res, id="index")
        async def index(**_: Any) -> None:
            return None

        @kopf.on.resume(**res, id="apply")
        @kopf.on.create(**res, id="apply")
        @kopf.on.update(**res, id="apply")
        async def apply(**_: Any) -> None:
            nonlocal resumed
            resumed += 1
            if resumed == expected:
                logging.getLogger("bench.kopf_bare").warning("resumed: %d", resumed)

        @kopf.on.delete(**res, id="remove")
        async def remove(**_: Any) -> None:
            return None

    return registry


def main(argv: list[str] | None = None) -> None:
    import argparse
    from pathlib import Path

    import nwi.operator.runner  # noqa: F401  (nwi's modules loaded, as in `nwi operator`: the same fixed part)
    from nwi.operator.handlers import connection_info

    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("kubeconfig", type=Path)
    p.add_argument("namespace")
    p.add_argument("expected", type=int, help="log 'resumed: N' after this many resume handler calls")
    p.add_argument("--chunk-size", type=int, default=None, help="kopf's settings.watching.chunk_size")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    api_client = load_client(a.kubeconfig)
    registry = registry_for(a.expected, a.chunk_size)
    if a.expected == 0:
        logging.getLogger("bench.kopf_bare").warning("resumed: 0")  # nothing to wait for

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return connection_info(api_client)

    asyncio.run(kopf.operator(registry=registry, namespaces=[a.namespace], standalone=True))


if __name__ == "__main__":
    main()
