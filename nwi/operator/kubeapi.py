"""The few Kubernetes API calls the operator makes itself (kopf makes the rest).

Status patches, Events and Secret reads happen in engine worker threads, so
they use the synchronous official client. :class:`Api` is the protocol the
sink and reconciler depend on; :class:`KubeApi` implements it.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import socket
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from nwi.kinds import CONFIG_KINDS, DEVICE_KIND, DEVICE_PLURAL, GROUP, VERSION
from nwi.model import ObjectKey, SecretObject

log = logging.getLogger(__name__)

COMPONENT = "nwi-operator"
_EVENT_MESSAGE_LIMIT = 1024  # the apiserver refuses longer Event messages
#: objects per list request (the apiserver's continue tokens page through the rest)
LIST_PAGE = 500


def plural_of(kind: str) -> str:
    if kind == DEVICE_KIND:
        return DEVICE_PLURAL
    return CONFIG_KINDS[kind].plural


class Api(Protocol):
    def patch_status(self, key: ObjectKey, status: dict[str, Any]) -> int | None:
        """Merge-patch the status subresource; the new resourceVersion, or None if the object is gone."""
        ...

    def post_event(self, key: ObjectKey, uid: str, type_: str, reason: str, message: str) -> None: ...

    def read_secret(self, namespace: str, name: str) -> SecretObject | None: ...

    def read_config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        """A ConfigMap's ``data`` (None when it is missing or not readable)."""
        ...

    def list_objects(self, plural: str, namespaces: list[str], label_selector: str) -> Iterable[dict[str, Any]]:
        """Every object of ``plural`` (all namespaces when ``namespaces`` is empty), as plain dicts."""
        ...


def load_client(kubeconfig: Path | None, context: str | None = None) -> client.ApiClient:
    """An API client: the kubeconfig given, else in-cluster, else the default kubeconfig."""
    cfg = client.Configuration()
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=cfg)
    else:
        config.load_kube_config(config_file=str(kubeconfig) if kubeconfig else None, context=context,
                                client_configuration=cfg)
    cfg.connection_pool_maxsize = 32  # engine threads patch statuses concurrently
    if not cfg.verify_ssl:
        # the kubeconfig asked for it; say so once instead of a warning per request
        log.warning("not verifying the API server's certificate (insecure-skip-tls-verify in the kubeconfig)")
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return client.ApiClient(cfg)


class KubeApi:
    def __init__(self, api_client: client.ApiClient) -> None:
        self.custom = client.CustomObjectsApi(api_client)
        self.core = client.CoreV1Api(api_client)
        self.instance = os.environ.get("POD_NAME") or socket.gethostname()

    def patch_status(self, key: ObjectKey, status: dict[str, Any]) -> int | None:
        try:
            body = self.custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, key.namespace, plural_of(key.kind), key.name, {"status": without_empty(status)})
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return _rv(body)

    def post_event(self, key: ObjectKey, uid: str, type_: str, reason: str, message: str) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if len(message) > _EVENT_MESSAGE_LIMIT:
            message = message[: _EVENT_MESSAGE_LIMIT - 3] + "..."
        body: Any = {  # a plain dict: the client serialises it as is
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{key.name}.", "namespace": key.namespace},
            "involvedObject": {"apiVersion": f"{GROUP}/{VERSION}", "kind": key.kind, "name": key.name,
                               "namespace": key.namespace, "uid": uid},
            "type": type_,
            "reason": reason,
            "message": message,
            "source": {"component": COMPONENT},
            "reportingComponent": COMPONENT,
            "reportingInstance": self.instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        try:
            # the answer is not made into a CoreV1Event model (0.24 ms of CPU per Event, one per object)
            response: Any = self.core.create_namespaced_event(key.namespace, body, _preload_content=False)
            response.drain_conn()  # read to its end, so that the connection goes back to the pool
            response.release_conn()
        except ApiException as exc:  # an Event is best effort; the status already says it all
            log.warning("could not post event %s for %s: HTTP %s", reason, key, exc.status)

    def read_secret(self, namespace: str, name: str) -> SecretObject | None:
        try:
            secret = self.core.read_namespaced_secret(name, namespace)
        except ApiException as exc:
            if exc.status in (403, 404):
                log.warning("cannot read Secret %s/%s: HTTP %s", namespace, name, exc.status)
                return None
            raise
        data: dict[str, str] = {}
        for k, v in (secret.data or {}).items():
            try:
                data[k] = base64.b64decode(v).decode()
            except (binascii.Error, UnicodeDecodeError):
                log.warning("Secret %s/%s: key %s is not text; ignored", namespace, name, k)
        return SecretObject(ObjectKey("Secret", namespace, name), data)

    def read_config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        try:
            cm = self.core.read_namespaced_config_map(name, namespace)
        except ApiException as exc:
            if exc.status in (403, 404):
                log.warning("cannot read ConfigMap %s/%s: HTTP %s", namespace, name, exc.status)
                return None
            raise
        return dict(cm.data or {})

    def list_objects(self, plural: str, namespaces: list[str], label_selector: str) -> Iterator[dict[str, Any]]:
        """Page by page (``LIST_PAGE`` objects a request): a single list of 100,000 objects is half a GB of
        response text and parsed dicts at once, where the caller keeps a few KB of each."""
        scopes: list[str | None] = list(namespaces) or [None]
        for ns in scopes:
            token: str | None = None
            while True:
                page: dict[str, Any] = {"label_selector": label_selector, "limit": LIST_PAGE}
                if token:
                    page["_continue"] = token
                doc: Any
                if ns is None:
                    doc = self.custom.list_cluster_custom_object(GROUP, VERSION, plural, **page)
                else:
                    doc = self.custom.list_namespaced_custom_object(GROUP, VERSION, ns, plural, **page)
                token = (doc.get("metadata") or {}).get("continue")
                items = doc.get("items", [])
                del doc  # only the page's items stay alive while the caller works through them
                yield from items
                if not token:
                    break


def without_empty(status: dict[str, Any]) -> dict[str, Any]:
    """Empty strings and lists as absent fields: null at the top (a merge patch deletes the field), omitted below.

    Readers treat absent and empty alike; an absent ``waitingOn`` leaves the
    WAITING-ON column blank instead of ``[]``; and the kube-apiserver 1.20.2 the
    tests build (with Debian's reflect2) decodes "" in a custom resource as
    null and refuses it, so an empty string must never be sent.
    """
    def clean(value: Any) -> Any:
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v != ""}
        return value

    return {k: (None if v in ("", []) else clean(v)) for k, v in status.items()}


def _rv(body: Any) -> int:
    try:
        return int(body["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return 0
