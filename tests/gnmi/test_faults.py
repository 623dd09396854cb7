"""Fault injection, seen from pygnmi: latency, failing Sets, dropped connections, targets that do not start."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import pytest
from pygnmi.client import gNMIclient, gNMIException

from nwi.mockgnmi import Faults, MockGnmiServer, memory_target
from tests.gnmi.helpers import get_val, rpc_error

pytestmark = pytest.mark.protocol


def test_latency_delays_every_rpc(server: MockGnmiServer, client: gNMIclient) -> None:
    client.set(update=[("/a", 1)], encoding="json")
    server.target("r1").faults.latency = 0.3
    start = time.monotonic()
    assert get_val(client, "/a", encoding="json") == 1
    client.set(update=[("/a", 2)], encoding="json")
    assert time.monotonic() - start >= 0.6
    server.target("r1").faults.latency = 0
    start = time.monotonic()
    assert get_val(client, "/a", encoding="json") == 2
    assert time.monotonic() - start < 0.3


def test_fail_the_next_n_sets_with_a_code(server: MockGnmiServer, client: gNMIclient) -> None:
    server.target("r1").faults.fail_next_sets(2, "RESOURCE_EXHAUSTED")
    for value in (1, 2):
        with pytest.raises(gNMIException) as exc:
            client.set(update=[("/a", value)], encoding="json")
        assert rpc_error(exc.value).code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "injected" in rpc_error(exc.value).details()
    with pytest.raises(gNMIException) as nothing:
        client.get(path=["/a"], encoding="json")  # the failed Sets applied nothing
    assert rpc_error(nothing.value).code() == grpc.StatusCode.NOT_FOUND
    client.set(update=[("/a", 3)], encoding="json")  # the third goes through
    assert get_val(client, "/a", encoding="json") == 3


# pygnmi's stream reader thread stores the stream's error (asserted below) and then re-raises it,
# which pytest reports as an unhandled thread exception: here that error is the expected outcome
_STREAM_ERROR_EXPECTED = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


@_STREAM_ERROR_EXPECTED
def test_dropped_connection_breaks_streams_and_the_client_reconnects(
    server: MockGnmiServer, client: gNMIclient
) -> None:
    client.set(update=[("/a", 1)], encoding="json")
    peers_before = set(server.target("r1").peers)
    sub = client.subscribe2(subscribe={"subscription": [{"path": "/a", "mode": "on_change"}], "mode": "stream",
                                       "encoding": "json"})
    sub.get_update(timeout=5)
    server.target("r1").faults.drop_rpcs = 1
    with pytest.raises(gNMIException) as exc:
        client.get(path=["/a"], encoding="json")
    assert rpc_error(exc.value).code() == grpc.StatusCode.UNAVAILABLE
    sub._subscribe_thread.join(5)  # the stream ended with the connection
    assert isinstance(sub.error, grpc.RpcError) and sub.error.code() == grpc.StatusCode.UNAVAILABLE
    # the port listens again: the same client reconnects on its next call, over a new connection
    deadline = time.monotonic() + 10
    while True:
        try:
            assert get_val(client, "/a", encoding="json") == 1
            break
        except gNMIException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # gRPC's reconnect backoff: poll the condition until it holds
    assert server.target("r1").peers - peers_before


@_STREAM_ERROR_EXPECTED
def test_drop_connections_api(server: MockGnmiServer, client: gNMIclient) -> None:
    client.set(update=[("/a", 1)], encoding="json")
    sub = client.subscribe2(subscribe={"subscription": [{"path": "/a", "mode": "on_change"}], "mode": "stream",
                                       "encoding": "json"})
    sub.get_update(timeout=5)
    server.drop_connections("r1")
    sub._subscribe_thread.join(5)
    assert isinstance(sub.error, grpc.RpcError)


def test_a_target_that_refuses_to_start_refuses_connections(
    servers: Callable[..., MockGnmiServer], clients: Callable[..., gNMIclient]
) -> None:
    srv = servers([memory_target("down", faults=Faults(refuse_start=True)), memory_target("up")])
    port = srv.port_of("down")
    c = gNMIclient(target=("127.0.0.1", port), insecure=True, gnmi_timeout=1)
    with pytest.raises(grpc.FutureTimeoutError):
        c.connect()
    c.close()
    clients(srv.port_of("up"), username="", password="")  # the other target is fine
    srv.start_target("down")  # it comes up later, on the port it was given
    assert clients(port, username="", password="").capabilities()["gnmi_version"] == "0.10.0"


def test_a_refused_target_on_a_shared_port_is_unavailable(
    servers: Callable[..., MockGnmiServer], clients: Callable[..., gNMIclient]
) -> None:
    srv = servers([memory_target("a", port=None), memory_target("b", port=None, faults=Faults(refuse_start=True))])
    c = clients(srv.port_of("a"), username="", password="")
    with pytest.raises(gNMIException) as exc:
        c.get(target="b", path=["/"], encoding="json")
    assert rpc_error(exc.value).code() == grpc.StatusCode.UNAVAILABLE
    assert c.get(target="a", path=["/"], encoding="json")


def test_stop_target_takes_it_down(servers: Callable[..., MockGnmiServer], clients: Callable[..., gNMIclient]) -> None:
    srv = servers([memory_target("r")])
    c = clients(srv.port_of("r"), username="", password="")
    srv.stop_target("r")
    with pytest.raises(gNMIException) as exc:
        c.get(path=["/"], encoding="json")
    assert rpc_error(exc.value).code() == grpc.StatusCode.UNAVAILABLE
