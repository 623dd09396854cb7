"""Helpers shared by the gNMI tests (fixtures are in conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from grpc_status import rpc_status
from pygnmi.client import gNMIclient, gNMIException
from pygnmi.spec.v080 import gnmi_pb2

from nwi.drivers.base import ConnectionParams
from nwi.drivers.gnmi import GnmiDriver
from nwi.drivers.virtual import DeviceStore
from nwi.mockgnmi import running
from nwi.mockgnmi.target import Target

USER, PASSWORD = "admin", "s3cret-pw"
IF_KEYS = {"interface": ("name",), "subinterface": ("index",)}


def rpc_error(exc: gNMIException) -> grpc.RpcError:
    """The gRPC error behind a pygnmi exception."""
    err = exc.orig_exc
    assert isinstance(err, grpc.RpcError), f"not a gRPC error: {exc!r}"
    return err


def set_results(exc: gNMIException) -> list[tuple[str, int, str]]:
    """(op, code, message) per operation, from the SetResponse in an aborted Set's status details."""
    status = rpc_status.from_call(rpc_error(exc))
    assert status is not None, "an aborted Set must carry per-operation results"
    response = gnmi_pb2.SetResponse()
    assert status.details[0].Unpack(response)
    return [(gnmi_pb2.UpdateResult.Operation.Name(r.op), r.message.code, r.message.message)
            for r in response.response]


def get_val(c: gNMIclient, path: str, **kwargs: Any) -> Any:
    """The single value a Get of ``path`` returns."""
    kwargs.setdefault("encoding", "json_ietf")
    resp = c.get(path=[path], **kwargs)
    updates = resp["notification"][0].get("update", [])
    assert len(updates) == 1, updates
    return updates[0]["val"]


def write_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@contextlib.contextmanager
def connected(store: DeviceStore) -> Iterator[GnmiDriver]:
    """A connected gNMI driver for a mock server serving ``store`` as target r1."""
    with running([Target("r1", store, port=0)]) as srv:
        driver = GnmiDriver("r1", ConnectionParams("127.0.0.1", srv.port_of("r1"), insecure=True))
        driver.connect()
        try:
            yield driver
        finally:
            driver.close()
