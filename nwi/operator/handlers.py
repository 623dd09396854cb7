"""kopf handlers for every config kind and Device, registered on a private registry.

Each handler is one line into :class:`~nwi.operator.controller.Controller`.
Registering at run time (not at import) lets the command line choose the
shard and the namespaces. Every handler is a coroutine: kopf runs a plain
function in a thread pool, a thread hop per watch event for work that takes
microseconds. There is no kopf timer: drift is the controller's (one timer
for all objects, and subscriptions).
"""

from __future__ import annotations

from typing import Any

import kopf
from kubernetes import client

from nwi.kinds import CONFIG_KINDS, DEVICE_PLURAL, GROUP, VERSION
from nwi.operator.controller import FINALIZER, Controller
from nwi.operator.kubeapi import LIST_PAGE

PREFIX = GROUP  # kopf's annotations and finalizer live under nwi's group, not kopf.zalando.org
MARKER = f"{PREFIX}/kopf-managed"  # kopf's mark of a prefix its storages use (see mark_managed)
__all__ = ["FINALIZER", "MARKER", "PREFIX", "build_registry", "configure", "mark_managed"]
#: seconds before kopf runs a failed start-up again (kopf's default is 60): listing the objects fails
#: while a restarting apiserver has not registered the CRDs yet, which lasts seconds, not a minute
STARTUP_RETRY = 2.0


def connection_info(api_client: client.ApiClient) -> kopf.ConnectionInfo:
    """kopf's credentials from the same client configuration nwi uses (kubeconfig or in-cluster)."""
    c = api_client.configuration
    header = c.get_api_key_with_prefix("BearerToken") or c.get_api_key_with_prefix("authorization")
    parts = header.split(" ", 1) if header else []
    scheme, token = (None, None) if not parts else (None, parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    return kopf.ConnectionInfo(
        server=c.host,
        ca_path=c.ssl_ca_cert,
        insecure=not c.verify_ssl,
        username=c.username or None,
        password=c.password or None,
        scheme=scheme,
        token=token,
        certificate_path=c.cert_file,
        private_key_path=c.key_file,
    )


def mark_managed(body: kopf.Body, patch: kopf.Patch) -> None:
    """Put kopf's marker on a new object in the cycle where kopf adds the finalizer.

    kopf marks a prefix other than its own as "kopf-managed" (so that other
    kopf operators leave its annotations out of their diffs) the first time it
    records a handler's progress, which is in the next cycle: one more write
    and watch event per object, for one constant annotation. Riding on the
    finalizer's patch, it costs nothing. (kopf sends a patch's transformation
    functions as one JSON patch, the finalizer's among them, and its merge part
    as another request: so the marker goes in as a function too.)
    """
    finalizers = body.metadata.get("finalizers") or ()
    if FINALIZER not in finalizers and not body.metadata.get("deletionTimestamp") \
            and MARKER not in body.metadata.annotations:
        patch.fns.append(_add_marker)


def _add_marker(raw: kopf.RawBody) -> None:
    meta: Any = raw.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), MARKER: "yes"}


def configure(settings: kopf.OperatorSettings, diffbase: kopf.DiffBaseStorage,
              chunk_size: int | None = LIST_PAGE) -> None:
    """kopf's settings as nwi runs it (also what ``bench.kopf_bare`` measures kopf alone with)."""
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=PREFIX)
    settings.persistence.diffbase_storage = diffbase  # in memory: see nwi.operator.diffbase
    settings.posting.enabled = False  # nwi posts its own Events (applied, failed, drifted, blocked)
    # kopf's own list, page by page as nwi's priming list: unpaged, 100k objects arrive as one response
    # (about 250 MB of text), and the next page is asked for only once the last one is dispatched
    settings.watching.chunk_size = chunk_size


def build_registry(ctl: Controller, api_client: client.ApiClient) -> kopf.OperatorRegistry:
    cfg = ctl.cfg
    registry = kopf.OperatorRegistry()

    @kopf.on.startup(registry=registry, backoff=STARTUP_RETRY)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure(settings, ctl.diffbase)
        if cfg.selector:
            for kind in CONFIG_KINDS.values():  # server-side: a shard never even receives other objects
                settings.watching.label_selectors[(GROUP, kind.plural)] = cfg.selector
        await ctl.start()

    @kopf.on.cleanup(registry=registry)
    async def cleanup(**_: Any) -> None:
        await ctl.stop()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return connection_info(api_client)

    def when(namespace: str | None, **_: Any) -> bool:
        return ctl.in_scope(namespace)

    for kind in CONFIG_KINDS.values():
        res: dict[str, Any] = {"group": GROUP, "version": VERSION, "plural": kind.plural, "registry": registry,
                               "when": when}

        @kopf.on.event(**res, id="index")
        async def index(body: kopf.Body, type: str | None, patch: kopf.Patch, **_: Any) -> None:
            ctl.observe(body, type)
            mark_managed(body, patch)

        @kopf.on.resume(**res, id="apply")
        @kopf.on.create(**res, id="apply")
        @kopf.on.update(**res, id="apply")
        async def apply(body: kopf.Body, retry: int, reason: str, **_: Any) -> None:
            await ctl.apply(body, retry, str(getattr(reason, "value", reason)))  # kopf.Reason

        @kopf.on.delete(**res, id="remove")
        async def remove(body: kopf.Body, retry: int, **_: Any) -> None:
            await ctl.delete(body, retry)

    @kopf.on.event(GROUP, VERSION, DEVICE_PLURAL, registry=registry, id="device")
    async def device(body: kopf.Body, type: str | None, **_: Any) -> None:
        ctl.observe_device(body, type)

    return registry
