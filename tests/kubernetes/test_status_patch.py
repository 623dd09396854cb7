"""Status patches against the real kube-apiserver: a merge patch keeps what it omits, so the sink sends nulls.

The operator merge-patches each object's status. A field the new status no
longer has — the recovery note of an earlier transaction, a device that left
the group, the whole record of a group the object left — must be gone from
the stored status, not left beside the new values.
"""

from __future__ import annotations

from pathlib import Path

from harness.kube import KubeApiServer
from kube_kit import status_of

from nwi.operator.controller import entry_of
from nwi.operator.index import ObjectIndex
from nwi.operator.kubeapi import KubeApi, load_client
from nwi.operator.sink import KubeStatusSink
from nwi.status import NO_TRANSACTION, ObjectStatus, Outcome, Phase, Reason, TransactionInfo, derive_status

NS = "status-patch"
OBJECT = f"""
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: OpenConfig
metadata: {{name: vpn, namespace: {NS}}}
spec:
  switchID: pe1
  path: /network-instances/network-instance[name=vpn]
  properties: {{name: vpn, type: L3VRF}}
"""


def test_each_status_write_replaces_what_the_last_one_said(kube: KubeApiServer, deployed: Path) -> None:
    kube.kubectl("create", "namespace", NS, check=False)
    kube.kubectl("apply", "-f", "-", input=OBJECT)
    index = ObjectIndex()
    entry = entry_of(kube.get_json("openconfig", "vpn", "-n", NS))
    assert entry.obj is not None
    index.upsert(entry)
    sink = KubeStatusSink(index, KubeApi(load_client(deployed)), lambda key: None)
    sink.writer.start()
    obj, status = entry.obj, ObjectStatus()

    def write(txn: TransactionInfo | None) -> dict[str, object]:
        nonlocal status
        status = derive_status(Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash=obj.desired_hash,
                                       wrote=True, transaction=txn), status, obj.generation, f"{NS}/pe1")
        sink.record(obj, status)
        assert sink.writer.idle(30)
        return status_of(kube, "openconfig", NS, "vpn")

    try:
        recovered = TransactionInfo("vpn", "vpn-1", ((f"{NS}/pe1", "Confirmed"), (f"{NS}/pe2", "Confirmed")),
                                    "recovered: transaction vpn was interrupted before it was decided")
        assert write(recovered)["transaction"] == recovered.to_dict()
        later = TransactionInfo("vpn", "vpn-2", ((f"{NS}/pe1", "Confirmed"),))
        assert write(later)["transaction"] == {"name": "vpn", "id": "vpn-2", "devices": {f"{NS}/pe1": "Confirmed"}}
        left = write(NO_TRANSACTION)  # the object left its group
        assert "transaction" not in left and left["phase"] == "Ready", left
    finally:
        sink.writer.stop()
