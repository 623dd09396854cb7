"""Helpers of the mixed-protocol transaction tests: a holdable datastore, the input documents."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from harness.netconfd import NetconfServer

from nwi.drivers.base import Transaction
from nwi.drivers.virtual import DeviceStore
from nwi.tree import Tree

USER, PASSWORD = "admin", "s3cret-pw"


class HeldStore:
    """A DeviceStore whose reads can be held (the device stops answering) and whose commits can fail."""

    def __init__(self, name: str) -> None:
        self.inner = DeviceStore(name, None)
        self.hold_reads = threading.Event()  # set: the next read blocks until released
        self.release = threading.Event()
        self.reading = threading.Event()  # set while a read is held
        self.slow_commit = 0.0

    def snapshot(self) -> Tree:
        if self.hold_reads.is_set():
            self.reading.set()
            self.release.wait(120)
        return self.inner.snapshot()

    def commit(self, txn: Transaction, dry_run: bool = False) -> None:
        if self.slow_commit:
            threading.Event().wait(self.slow_commit)  # the injected fault: a device slower than the client waits
        self.inner.commit(txn, dry_run)


def devices_yaml(nc: NetconfServer, gnmi_port: int, operation_timeout: float = 20) -> str:
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: nc-creds, namespace: lab}}
stringData: {{username: {nc.username}, password: {nc.password}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: gnmi-creds, namespace: lab}}
stringData: {{username: {USER}, password: {PASSWORD}}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {{name: pe-nc, namespace: lab}}
spec: {{address: 127.0.0.1, port: {nc.port}, driver: netconf, hostKeyVerify: false,
        credentialsSecretRef: {{name: nc-creds}}, timeouts: {{connect: 10, operation: {operation_timeout}}}}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {{name: pe-gnmi, namespace: lab}}
spec: {{address: 127.0.0.1, port: {gnmi_port}, driver: gnmi, insecure: true, encoding: json,
        credentialsSecretRef: {{name: gnmi-creds}}, timeouts: {{connect: 5, operation: {operation_timeout}}}}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {{name: pe-virt, namespace: lab}}
spec: {{driver: virtual}}
"""


def service_yaml(txn: str = "l3vpn-1", nc_type: str = "iana-if-type:ethernetCsmacd",
                 gnmi_after_virt: bool = False) -> str:
    """One service over the three devices. ``nc_type``: a bad identity makes netconfd refuse its part;
    ``gnmi_after_virt``: the gNMI part depends on the virtual one (a second wave)."""
    deps = ('\n    nwi.enc.nokia.com/depends_on: \'[{"kind": "OpenConfig", "name": "svc-virt"}]\''
            if gnmi_after_virt else "")
    return f"""
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: OpenConfig
metadata:
  name: svc-nc
  namespace: lab
  annotations:
    nwi.enc.nokia.com/transaction: {txn}
spec:
  switchID: pe-nc
  path: /ietf-interfaces:interfaces/interface[name=vpn1]
  properties: {{name: vpn1, type: "{nc_type}", description: l3vpn-1}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: OpenConfig
metadata:
  name: svc-gnmi
  namespace: lab
  annotations:
    nwi.enc.nokia.com/transaction: {txn}{deps}
spec:
  switchID: pe-gnmi
  path: /network-instances/network-instance[name=l3vpn-1]
  properties: {{name: l3vpn-1, type: L3VRF, route-distinguisher: "65000:2"}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: OpenConfig
metadata:
  name: svc-virt
  namespace: lab
  annotations:
    nwi.enc.nokia.com/transaction: {txn}
spec:
  switchID: pe-virt
  path: /network-instances/network-instance[name=l3vpn-1]
  properties: {{name: l3vpn-1, type: L3VRF, route-distinguisher: "65000:3"}}
"""


def virtual_config(state: Path) -> dict[str, Any]:
    return DeviceStore("pe-virt", state).snapshot().to_json()
