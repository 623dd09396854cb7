"""More than one operator: peering (one replica works, the other waits to take over) and label sharding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness.kube import KubeApiServer, wait_for
from kube_kit import SWITCH, Device, Operator, device_yaml, status_of

pytestmark = pytest.mark.kubernetes


def _object(ns: str, name: str, shard: str) -> str:
    return f"""
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: OpenConfig
metadata: {{name: {name}, namespace: {ns}, labels: {{nwi.enc.nokia.com/shard: "{shard}"}}}}
spec:
  switchID: "{SWITCH}"
  path: /interfaces/interface[name={name}]/config
  properties: {json.dumps({"name": name, "mtu": 9000})}
---"""


def test_peering_lets_one_replica_work_and_the_other_take_over(
    kube: KubeApiServer, deployed: Path, device: Device, tmp_path: Path
) -> None:
    ns = "peering-test"
    kube.kubectl("create", "namespace", ns)
    kube.kubectl("apply", "-f", "-", input=device_yaml(ns, SWITCH, device.port(SWITCH)))
    leader = Operator(deployed, tmp_path / "leader", ["--peering", "nwi-operator", "--priority", "200"])
    standby = Operator(deployed, tmp_path / "standby", ["--peering", "nwi-operator", "--priority", "100"])
    for op in (leader, standby):
        op.workdir.mkdir()
    leader.start()
    try:
        standby.start()
        def peers() -> set[int]:
            status = kube.get_json("clusterkopfpeering", "nwi-operator").get("status") or {}
            return {int(p["priority"]) for p in status.values()}

        # both replicas announced themselves; the lower one stays paused (it starts paused and never resumes)
        wait_for(lambda: peers() == {100, 200}, 30, "both replicas in the peering object")
        kube.kubectl("apply", "-f", "-", input=_object(ns, "eth1", "x"))
        wait_for(lambda: status_of(kube, "openconfig", ns, "eth1").get("phase") == "Ready", 30, "eth1 Ready")
        assert "OpenConfig/peering-test/eth1" in leader.logs()
        assert "OpenConfig/peering-test/eth1" not in standby.logs(), "the paused replica reconciled too"

        leader.stop()  # a graceful stop withdraws it from the peering object: the standby takes over
        kube.kubectl("apply", "-f", "-", input=_object(ns, "eth2", "x"))
        wait_for(lambda: status_of(kube, "openconfig", ns, "eth2").get("phase") == "Ready", 60,
                 "eth2 Ready, applied by the former standby")
        assert "OpenConfig/peering-test/eth2" in standby.logs()
    finally:
        leader.stop()
        standby.stop()


def test_a_label_shard_sees_only_its_objects(
    kube: KubeApiServer, deployed: Path, device: Device, tmp_path: Path
) -> None:
    ns = "shard-test"
    kube.kubectl("create", "namespace", ns)
    kube.kubectl("apply", "-f", "-", input=device_yaml(ns, SWITCH, device.port(SWITCH)))
    kube.kubectl("apply", "-f", "-", input=_object(ns, "eth3", "a") + _object(ns, "eth4", "b"))
    shard_a = Operator(deployed, tmp_path, ["--standalone", "--selector", "nwi.enc.nokia.com/shard=a",
                                           "--namespace", ns])
    shard_a.start()
    try:
        wait_for(lambda: status_of(kube, "openconfig", ns, "eth3").get("phase") == "Ready", 30, "eth3 Ready")
        # both were created before the shard started; its start-up list and watch never returned eth4
        assert "primed: 1 config object(s)" in shard_a.logs()
        assert status_of(kube, "openconfig", ns, "eth4") == {}
        doc = kube.get_json("openconfig", "eth4", "-n", ns)
        assert "finalizers" not in doc["metadata"]
    finally:
        shard_a.stop()
