"""Authentication (gNMI 3.1 metadata), TLS with generated certificates, mutual TLS, insecure mode."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from pygnmi.client import gNMIclient, gNMIException
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from nwi.mockgnmi import MockGnmiServer, memory_target, tlsgen
from tests.gnmi.helpers import PASSWORD, USER, get_val, rpc_error

pytestmark = pytest.mark.protocol


@pytest.mark.parametrize("username,password", [(USER, "wrong"), ("root", PASSWORD), ("", "")])
def test_wrong_credentials_are_unauthenticated(server: MockGnmiServer, username: str, password: str) -> None:
    c = gNMIclient(target=("127.0.0.1", server.port_of("r1")), username=username, password=password, insecure=True)
    with pytest.raises(gNMIException) as exc:
        c.connect()  # Capabilities
    c.close()
    assert rpc_error(exc.value).code() == grpc.StatusCode.UNAUTHENTICATED
    assert PASSWORD not in str(exc.value)


def test_every_rpc_checks_credentials(server: MockGnmiServer, client: gNMIclient) -> None:
    # a second target on another server has other credentials: a client of r1 cannot use them
    bad = [("username", USER), ("password", "nope")]
    with grpc.insecure_channel(f"127.0.0.1:{server.port_of('r1')}") as channel:
        stub = gnmi_pb2_grpc.gNMIStub(channel)
        for call, req in ((stub.Get, gnmi_pb2.GetRequest()), (stub.Set, gnmi_pb2.SetRequest())):
            with pytest.raises(grpc.RpcError) as exc:
                call(req, metadata=bad, timeout=5)
            assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
        sub = stub.Subscribe(iter([gnmi_pb2.SubscribeRequest(subscribe=gnmi_pb2.SubscriptionList(
            subscription=[gnmi_pb2.Subscription()], mode=gnmi_pb2.SubscriptionList.Mode.Value("ONCE")))]),
            metadata=bad, timeout=5)
        with pytest.raises(grpc.RpcError) as exc:
            list(sub)
        assert exc.value.code() == grpc.StatusCode.UNAUTHENTICATED
    client.set(update=[("/system/config/hostname", '"ok"')], encoding="json_ietf")  # right ones still work


def test_target_without_credentials_needs_none(servers: Callable[..., MockGnmiServer],
                                               clients: Callable[..., gNMIclient]) -> None:
    srv = servers([memory_target("open")])
    c = clients(srv.port_of("open"), username="", password="")
    c.set(update=[("/a", 1)], encoding="json")
    assert get_val(c, "/a", encoding="json") == 1


def test_tls_with_the_generated_ca(servers: Callable[..., MockGnmiServer], clients: Callable[..., gNMIclient]) -> None:
    srv = servers([memory_target("r1", username=USER, password=PASSWORD)], tls=True)
    assert srv.tls is not None
    ca = srv.tls.file("ca.pem")
    c = clients(srv.port_of("r1"), insecure=False, path_cert=str(ca))  # pygnmi: path_cert alone = trust root
    c.set(update=[("/system/config/hostname", '"tls"')], encoding="json_ietf")
    assert get_val(c, "/system/config/hostname") == "tls"


def test_tls_skip_verify(servers: Callable[..., MockGnmiServer], clients: Callable[..., gNMIclient]) -> None:
    srv = servers([memory_target("r1", username=USER, password=PASSWORD)], tls=True)
    c = clients(srv.port_of("r1"), insecure=False, skip_verify=True)
    assert c.capabilities()["gnmi_version"] == "0.10.0"


def test_plaintext_client_cannot_talk_to_tls_server(servers: Callable[..., MockGnmiServer]) -> None:
    srv = servers([memory_target("r1", username=USER, password=PASSWORD)], tls=True)
    c = gNMIclient(target=("127.0.0.1", srv.port_of("r1")), username=USER, password=PASSWORD, insecure=True,
                   gnmi_timeout=1)
    with pytest.raises(grpc.FutureTimeoutError):
        c.connect()
    c.close()


def test_tls_rejects_a_ca_that_did_not_sign_the_server(servers: Callable[..., MockGnmiServer], tmp_path: Path) -> None:
    srv = servers([memory_target("r1", username=USER, password=PASSWORD)], tls=True)
    other = tlsgen.generate(tmp_path / "other")
    c = gNMIclient(target=("127.0.0.1", srv.port_of("r1")), username=USER, password=PASSWORD,
                   path_cert=str(other.file("ca.pem")), gnmi_timeout=1)
    with pytest.raises(grpc.FutureTimeoutError):
        c.connect()
    c.close()


def test_mutual_tls(servers: Callable[..., MockGnmiServer], clients: Callable[..., gNMIclient]) -> None:
    srv = servers([memory_target("r1", username=USER, password=PASSWORD)], tls=True, mtls=True)
    assert srv.tls is not None
    c = clients(srv.port_of("r1"), insecure=False, path_cert=str(srv.tls.file("client.pem")),
                path_key=str(srv.tls.file("client-key.pem")), path_root=str(srv.tls.file("ca.pem")))
    assert c.capabilities()["gnmi_version"] == "0.10.0"
    # without a client certificate the handshake fails
    anonymous = gNMIclient(target=("127.0.0.1", srv.port_of("r1")), username=USER, password=PASSWORD,
                           path_cert=str(srv.tls.file("ca.pem")), gnmi_timeout=1)
    with pytest.raises((grpc.FutureTimeoutError, gNMIException)):
        anonymous.connect()
    anonymous.close()
