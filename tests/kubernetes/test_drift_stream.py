"""A drift stream that breaks is opened again, and what changed meanwhile is found on reconnect (resync).

The operator here keeps its default drift timer (300 s): within the test only
the stream can find the change.
"""

from __future__ import annotations

import pytest
from harness.kube import KubeApiServer, wait_for
from kube_kit import PASSWORD, USERNAME, CountingStore, Operator, config_yaml, device_yaml, status_of

from nwi.drivers.base import Change, Op, Transaction
from nwi.mockgnmi.harness import running
from nwi.mockgnmi.server import MockGnmiServer
from nwi.mockgnmi.target import Credentials, Target
from nwi.path import parse_path

pytestmark = pytest.mark.kubernetes

NS = "drift-resync"
MTU = "/interfaces/interface[name=eth7]/config"



def test_stream_loss_reconnects_and_resyncs(kube: KubeApiServer, operator: Operator) -> None:
    store = CountingStore("resync-sw")
    target = Target("resync-sw", store, port=0, credentials=Credentials(USERNAME, PASSWORD))
    server: MockGnmiServer
    with running([target]) as server:
        streams = operator.metric("nwi_subscribed_devices")  # (devices of other tests are watched too)
        kube.kubectl("create", "namespace", NS)
        kube.kubectl("apply", "-f", "-", input=device_yaml(NS, "resync-sw", server.port_of("resync-sw"))
                     + "---" + config_yaml("mtu", NS, "resync-sw", MTU, {"name": "eth7", "mtu": 9000}))
        wait_for(lambda: status_of(kube, "openconfig", NS, "mtu").get("phase") == "Ready", 30, "mtu Ready")
        wait_for(lambda: operator.metric("nwi_subscribed_devices") >= streams + 1, 30, "the stream synced")
        opened = operator.metric("nwi_subscriptions_opened_total")
        gets = target.rpcs.get("Get", 0)

        # the device goes away (the mock's fault injection): its port is closed and the stream cut, so
        # nothing can reach nwi on it any more; only a new stream can tell what happens next
        server.stop_target("resync-sw")
        # changed while no stream could tell (on the device's own datastore, as after a reboot with other config)
        store.inner.commit(Transaction("resync-sw", [Change(Op.UPDATE, parse_path(MTU), {"mtu": 1400})]))
        server.start_target("resync-sw")

        wait_for(lambda: operator.metric("nwi_subscriptions_opened_total") > opened, 60,
                 "the stream opened again (backoff)")
        wait_for(lambda: store.inner.snapshot().get(parse_path(MTU + "/mtu")) == 9000, 60,
                 "the change found on reconnect and repaired")
        assert target.rpcs.get("Get", 0) > gets  # the repair's own read: the engine checks before it writes
        assert status_of(kube, "openconfig", NS, "mtu")["phase"] == "Ready"
