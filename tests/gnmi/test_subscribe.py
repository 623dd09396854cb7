"""Subscribe through pygnmi (and its raw stubs for POLL): ONCE, POLL, STREAM ON_CHANGE and SAMPLE (gNMI 3.5)."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from pygnmi.client import gNMIclient
from pygnmi.spec.v080 import gnmi_pb2, gnmi_pb2_grpc

from nwi.drivers.base import Change, Op, Transaction
from nwi.drivers.virtual import DeviceStore
from nwi.mockgnmi import MockGnmiServer
from nwi.mockgnmi.harness import memory_target
from nwi.path import parse_path
from tests.gnmi.helpers import IF_KEYS, PASSWORD, USER

pytestmark = pytest.mark.protocol

WAIT = 5.0  # seconds to wait for an update that must come


@pytest.fixture
def loaded(client: gNMIclient) -> gNMIclient:
    client.set(update=[("/interfaces/interface", [{"name": "eth0", "config": {"mtu": 1500}},
                                                  {"name": "eth1", "config": {"mtu": 9000}}])], encoding="json_ietf")
    return client


def leaf_updates(msg: dict[str, Any]) -> dict[str, Any]:
    return {u["path"]: u["val"] for u in msg.get("update", {}).get("update", [])}


def deleted(msg: dict[str, Any]) -> list[str]:
    return [d["path"] for d in msg.get("update", {}).get("delete", [])]


def test_once_sends_leaves_then_sync_and_closes(loaded: gNMIclient) -> None:
    sub = loaded.subscribe2(subscribe={"subscription": [{"path": "/interfaces/interface[name=*]/config"}],
                                       "mode": "once", "encoding": "json"})
    msgs = list(sub)  # the iterator ends after sync_response
    sub.close()
    assert msgs[-1] == {"sync_response": True}
    got: dict[str, Any] = {}
    for m in msgs[:-1]:
        got.update(leaf_updates(m))
    assert got == {"interfaces/interface[name=eth0]/config/mtu": 1500,
                   "interfaces/interface[name=eth1]/config/mtu": 9000}


def test_poll_answers_each_poll_with_current_values(loaded: gNMIclient, server: MockGnmiServer) -> None:
    requests: queue.Queue[Any] = queue.Queue()

    def stream() -> Iterator[Any]:
        while (item := requests.get()) is not None:
            yield item

    sl = gnmi_pb2.SubscriptionList(
        mode=gnmi_pb2.SubscriptionList.Mode.Value("POLL"), encoding=gnmi_pb2.Encoding.Value("JSON"),
        subscription=[gnmi_pb2.Subscription(path=gnmi_pb2.Path(elem=[gnmi_pb2.PathElem(name="interfaces")]))])
    with grpc.insecure_channel(f"127.0.0.1:{server.port_of('r1')}") as channel:
        responses = gnmi_pb2_grpc.gNMIStub(channel).Subscribe(
            stream(), metadata=[("username", USER), ("password", PASSWORD)], timeout=30)
        requests.put(gnmi_pb2.SubscribeRequest(subscribe=sl))

        def until_sync() -> dict[str, Any]:
            vals: dict[str, Any] = {}
            for r in responses:
                if r.sync_response:
                    return vals
                for u in r.update.update:
                    vals["/".join(e.name + "".join(f"[{k}={v}]" for k, v in e.key.items()) for e in u.path.elem)] = (
                        u.val.json_val.decode())
            raise AssertionError("stream ended before sync_response")

        assert until_sync()["interfaces/interface[name=eth1]/config/mtu"] == "9000"
        loaded.set(update=[("/interfaces/interface[name=eth1]/config/mtu", 1400)], encoding="json_ietf")
        requests.put(gnmi_pb2.SubscribeRequest(poll=gnmi_pb2.Poll()))
        assert until_sync()["interfaces/interface[name=eth1]/config/mtu"] == "1400"
        requests.put(gnmi_pb2.SubscribeRequest(poll=gnmi_pb2.Poll()))
        assert until_sync()["interfaces/interface[name=eth0]/config/mtu"] == "1500"
        requests.put(None)


def test_stream_on_change_sends_changes_and_deletes(loaded: gNMIclient) -> None:
    sub = loaded.subscribe2(subscribe={
        "subscription": [{"path": "/interfaces", "mode": "on_change"}], "mode": "stream", "encoding": "json_ietf"})
    try:
        first = sub.get_update(timeout=WAIT)
        assert first["sync_response"] is True
        assert leaf_updates(first)["interfaces/interface[name=eth0]/config/mtu"] == 1500
        loaded.set(update=[("/interfaces/interface[name=eth0]/config/mtu", 9100)], encoding="json_ietf")
        change = sub.get_update(timeout=WAIT)
        assert leaf_updates(change) == {"interfaces/interface[name=eth0]/config/mtu": 9100}  # only what changed
        loaded.set(delete=["/interfaces/interface[name=eth1]"], encoding="json_ietf")
        gone = sub.get_update(timeout=WAIT)
        assert sorted(deleted(gone)) == ["interfaces/interface[name=eth1]/config/mtu",
                                         "interfaces/interface[name=eth1]/name"]
    finally:
        sub.close()


def test_stream_on_change_sees_state_changes(loaded: gNMIclient, server: MockGnmiServer) -> None:
    sub = loaded.subscribe2(subscribe={
        "subscription": [{"path": "/system/state/uptime", "mode": "on_change"}], "mode": "stream", "encoding": "json"})
    try:
        assert leaf_updates(sub.get_update(timeout=WAIT)) == {"system/state/uptime": 42}
        server.target("r1").set_state(parse_path("/system/state/uptime"), 43)
        assert leaf_updates(sub.get_update(timeout=WAIT)) == {"system/state/uptime": 43}
    finally:
        sub.close()


def test_stream_sample_repeats_at_the_interval(loaded: gNMIclient) -> None:
    interval = 0.2
    # the server schedules sample k at (k + 1) intervals after the subscription started, which is after
    # this stamp: a sample can come late on a loaded machine, never early (a lateness shortens the gap
    # to the next one, so gaps between samples are no measure)
    before = time.time_ns()
    sub = loaded.subscribe2(subscribe={
        "subscription": [{"path": "/interfaces/interface[name=eth0]/config/mtu", "mode": "sample",
                          "sample_interval": int(interval * 1e9)}],
        "mode": "stream", "encoding": "json"})
    try:
        sub.get_update(timeout=WAIT)  # initial snapshot + sync
        stamps = []
        for _ in range(3):
            msg = sub.get_update(timeout=WAIT)
            assert leaf_updates(msg) == {"interfaces/interface[name=eth0]/config/mtu": 1500}  # unchanged, sent again
            stamps.append(msg["update"]["timestamp"])
        offsets = [(stamp - before) / 1e9 for stamp in stamps]
        assert all(offset >= (k + 1) * interval for k, offset in enumerate(offsets)), offsets
    finally:
        sub.close()


def test_stream_sample_suppress_redundant_sends_only_changes(loaded: gNMIclient) -> None:
    sub = loaded.subscribe2(subscribe={
        "subscription": [{"path": "/interfaces", "mode": "sample", "sample_interval": 100_000_000,
                          "suppress_redundant": True}],
        "mode": "stream", "encoding": "json"})
    try:
        sub.get_update(timeout=WAIT)
        with pytest.raises(TimeoutError):  # nothing changed: several sample intervals pass in silence
            sub.get_update(timeout=0.5)
        loaded.set(update=[("/interfaces/interface[name=eth1]/config/mtu", 1280)], encoding="json_ietf")
        assert leaf_updates(sub.get_update(timeout=WAIT)) == {"interfaces/interface[name=eth1]/config/mtu": 1280}
    finally:
        sub.close()


def test_stream_updates_only_skips_the_initial_snapshot(loaded: gNMIclient) -> None:
    sub = loaded.subscribe2(subscribe={
        "subscription": [{"path": "/interfaces", "mode": "on_change"}], "mode": "stream", "encoding": "json",
        "updates_only": True})
    try:
        first = sub.get_update(timeout=WAIT)
        assert first["sync_response"] is True and leaf_updates(first) == {}
        loaded.set(update=[("/interfaces/interface[name=eth2]/config/mtu", 1500)], encoding="json_ietf")
        assert leaf_updates(sub.get_update(timeout=WAIT)) == {"interfaces/interface[name=eth2]/config/mtu": 1500,
                                                              "interfaces/interface[name=eth2]/name": "eth2"}
    finally:
        sub.close()


def test_closing_a_stream_frees_the_server(loaded: gNMIclient, server: MockGnmiServer) -> None:
    start = time.monotonic()
    for _ in range(3):
        sub = loaded.subscribe2(subscribe={
            "subscription": [{"path": "/interfaces", "mode": "on_change"}], "mode": "stream", "encoding": "json"})
        sub.get_update(timeout=WAIT)
        sub.close()
    # the server still answers promptly after streams came and went
    assert loaded.get(path=["/interfaces/interface[name=eth0]/config/mtu"], encoding="json")
    assert time.monotonic() - start < 20


def test_once_updates_only_sends_only_sync(loaded: gNMIclient) -> None:
    sub = loaded.subscribe2(subscribe={"subscription": [{"path": "/interfaces"}], "mode": "once",
                                       "encoding": "json", "updates_only": True})
    msgs = list(sub)
    sub.close()
    assert msgs == [{"sync_response": True}]  # 3.5.2.3: for ONCE "only a sync_response will be sent"


def test_once_with_a_keyless_list_element_matches_every_entry(loaded: gNMIclient) -> None:
    sub = loaded.subscribe2(subscribe={"subscription": [{"path": "/interfaces/interface/config/mtu"}],
                                       "mode": "once", "encoding": "json"})
    got: dict[str, Any] = {}
    for m in list(sub)[:-1]:
        got.update(leaf_updates(m))
    sub.close()
    assert got == {"interfaces/interface[name=eth0]/config/mtu": 1500,
                   "interfaces/interface[name=eth1]/config/mtu": 9000}


class RawSubscription:
    """A Subscribe RPC through pygnmi's raw stubs, for what pygnmi cannot send (POLL, unknown modes)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.requests: queue.Queue[Any] = queue.Queue()
        self.responses = gnmi_pb2_grpc.gNMIStub(channel).Subscribe(
            self._stream(), metadata=[("username", USER), ("password", PASSWORD)], timeout=30)

    def _stream(self) -> Iterator[Any]:
        while (item := self.requests.get()) is not None:
            yield item

    def send(self, request: Any) -> None:
        self.requests.put(request)

    def until_sync(self) -> tuple[dict[str, str], list[str]]:
        """(updates, deletes) up to the next sync_response."""
        vals: dict[str, str] = {}
        gone: list[str] = []
        for r in self.responses:
            if r.sync_response:
                return vals, gone
            vals.update({_path(u.path): u.val.json_val.decode() for u in r.update.update})
            gone += [_path(p) for p in r.update.delete]
        raise AssertionError("stream ended before sync_response")

    def close(self) -> None:
        self.requests.put(None)


def _path(p: Any) -> str:
    return "/".join(e.name + "".join(f"[{k}={v}]" for k, v in sorted(e.key.items())) for e in p.elem)


def _list(mode: str | int, **kw: Any) -> Any:
    return gnmi_pb2.SubscriptionList(
        mode=gnmi_pb2.SubscriptionList.Mode.Value(mode) if isinstance(mode, str) else mode,
        encoding=gnmi_pb2.Encoding.Value("JSON"),
        subscription=[gnmi_pb2.Subscription(path=gnmi_pb2.Path(elem=[gnmi_pb2.PathElem(name="interfaces")]))],
        **kw)


def test_poll_updates_only_answers_first_with_sync_then_with_changes(loaded: gNMIclient,
                                                                     server: MockGnmiServer) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port_of('r1')}") as channel:
        sub = RawSubscription(channel)
        try:
            sub.send(gnmi_pb2.SubscribeRequest(subscribe=_list("POLL", updates_only=True)))
            assert sub.until_sync() == ({}, [])  # the initial answer is sync_response alone
            loaded.set(update=[("/interfaces/interface[name=eth1]/config/mtu", 1400)], encoding="json_ietf")
            loaded.set(delete=["/interfaces/interface[name=eth0]"], encoding="json_ietf")
            sub.send(gnmi_pb2.SubscribeRequest(poll=gnmi_pb2.Poll()))
            updates, deletes = sub.until_sync()
            assert updates == {"interfaces/interface[name=eth1]/config/mtu": "1400"}
            assert sorted(deletes) == ["interfaces/interface[name=eth0]/config/mtu",
                                       "interfaces/interface[name=eth0]/name"]
            sub.send(gnmi_pb2.SubscribeRequest(poll=gnmi_pb2.Poll()))
            assert sub.until_sync() == ({}, [])  # nothing changed since the last answer
        finally:
            sub.close()


@pytest.mark.parametrize("request_list", [
    _list(7),  # no such SubscriptionList mode
    gnmi_pb2.SubscriptionList(subscription=[gnmi_pb2.Subscription(path=gnmi_pb2.Path(), mode=9)]),
], ids=["list-mode", "subscription-mode"])
def test_an_unknown_mode_is_invalid_argument(server: MockGnmiServer, request_list: Any) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{server.port_of('r1')}") as channel:
        sub = RawSubscription(channel)
        try:
            sub.send(gnmi_pb2.SubscribeRequest(subscribe=request_list))
            with pytest.raises(grpc.RpcError) as exc:
                next(iter(sub.responses))
        finally:
            sub.close()
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not recognized" in exc.value.details()


def test_stream_sees_a_change_made_behind_the_servers_back(
        servers: Callable[..., MockGnmiServer], clients: Callable[..., gNMIclient], tmp_path: Path) -> None:
    """A file-backed store written by another process (here: another store on the same file) is re-read
    every poll interval; a STREAM learns of the change although no Set reached the server."""
    server = servers([memory_target("r2", username=USER, password=PASSWORD, list_keys=IF_KEYS,
                                    state_dir=tmp_path)], poll_interval=0.1)
    client = clients(server.port_of("r2"))
    client.set(update=[("/interfaces/interface[name=eth0]/config/mtu", 1500)], encoding="json_ietf")
    sub = client.subscribe2(subscribe={"subscription": [{"path": "/interfaces", "mode": "on_change"}],
                                       "mode": "stream", "encoding": "json"})
    try:
        first = sub.get_update(timeout=WAIT)  # (pygnmi hands the snapshot over with its sync_response)
        assert first["sync_response"] is True
        assert leaf_updates(first)["interfaces/interface[name=eth0]/config/mtu"] == 1500, first
        other = DeviceStore("r2", tmp_path, IF_KEYS)  # what another process on the same device file sees
        other.commit(Transaction("r2", [Change(Op.UPDATE, parse_path("/interfaces/interface[name=eth0]/config/mtu"),
                                               9000)]))
        assert leaf_updates(sub.get_update(timeout=WAIT)) == {"interfaces/interface[name=eth0]/config/mtu": 9000}
    finally:
        sub.close()
