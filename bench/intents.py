"""A realistic intent set of N config objects over M devices, for the benchmark.

What a service provider's repository holds: per PE router, ports, QoS
policies, SDPs, customers and three kinds of service built on them, each a
dependency chain of its own depth:

* L3VPN (6 deep): customer -> VPRN -> interface (+ port) -> SAP -> BGP group -> BGP neighbor
* Epipe (5 deep): customer -> Epipe -> SAP (+ port) -> spoke-SDP (+ SDP) -> SAP egress
* VPLS  (4 deep): customer -> VPLS -> SAP (+ port) -> SAP ingress QoS (+ QoS policy)

Objects are emitted in dependency order per device and devices are filled
round-robin, so cutting the stream at N objects never leaves a dangling
dependency. The set is deterministic for a given (N, M, seed): the naive
baseline and nwi apply exactly the same objects.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nwi.kinds import API_VERSION, DEPENDS_ON

KIND = "SROSConfig"
NAMESPACE = "bench"
SECRET = "bench-gnmi"
#: what the mock servers require (loopback-only lab credentials, not a secret)
USERNAME = "bench"
PASSWORD = "bench-password"

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass(frozen=True)
class FleetSpec:
    """N objects over M devices."""

    objects: int
    devices: int
    seed: int = 7
    namespace: str = NAMESPACE

    def device_names(self) -> list[str]:
        return [f"pe{i:03d}" for i in range(1, self.devices + 1)]


def _doc(name: str, device: str, path: str, props: dict[str, Any], deps: tuple[str, ...], ns: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if deps:
        meta["annotations"] = {DEPENDS_ON: json.dumps([{"kind": KIND, "name": d} for d in deps])}
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": meta,
            "spec": {"switchID": device, "path": path, "properties": props}}


class _Device:
    """Emits one device's objects, in dependency order, a service at a time."""

    def __init__(self, index: int, name: str, rng: random.Random, ns: str) -> None:
        self.index = index
        self.name = name
        self.rng = rng
        self.ns = ns
        self.service_id = 1000
        self.customer = 0
        self.port = 0
        self.saps_on_port = 0
        self.qos = 0
        self.sdp = 0

    def _obj(self, suffix: str, path: str, props: dict[str, Any], *deps: str) -> tuple[str, dict[str, Any]]:
        name = f"{self.name}-{suffix}"
        return name, _doc(name, self.name, path, props, deps, self.ns)

    def _port(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """A fresh port every 8 SAPs (dot1q access ports)."""
        if self.port == 0 or self.saps_on_port >= 8:
            self.port += 1
            self.saps_on_port = 0
            yield self._obj(f"port-{self.port}", f"/port[port-id=1/{1 + self.port // 36}/{1 + self.port % 36}]", {
                "admin-state": "enable", "description": f"access port {self.port}",
                "ethernet": {"mode": "access", "encap-type": "dot1q", "mtu": 9212}})
        self.saps_on_port += 1

    def _port_name(self) -> tuple[str, str]:
        return f"{self.name}-port-{self.port}", f"1/{1 + self.port // 36}/{1 + self.port % 36}"

    def units(self) -> Iterator[tuple[str, dict[str, Any]]]:
        while True:
            self.customer += 1
            cust = f"cust-{self.customer}"
            cust_name, doc = self._obj(cust, f"/service/customer[customer-name={cust}]", {
                "customer-id": self.customer, "description": f"Customer {self.customer}",
                "contact": f"noc@customer{self.customer}.example"})
            yield cust_name, doc
            for _ in range(self.rng.randint(1, 3)):
                kind = self.rng.choices(("l3vpn", "epipe", "vpls"), weights=(5, 3, 2))[0]
                yield from getattr(self, f"_{kind}")(cust, cust_name)

    def _l3vpn(self, cust: str, cust_name: str) -> Iterator[tuple[str, dict[str, Any]]]:
        self.service_id += 1
        sid = self.service_id
        svc = f"vprn-{sid}"
        base = f"/service/vprn[service-name={svc}]"
        vprn, doc = self._obj(svc, base, {
            "service-id": sid, "customer": cust, "admin-state": "enable", "autonomous-system": 64500,
            "route-distinguisher": f"10.{self.index // 250}.{self.index % 250}.1:{sid}",
            "vrf-target": {"community": f"target:64500:{sid}"}}, cust_name)
        yield vprn, doc
        group_name, group = self._obj(f"{svc}-bgp-ce", f"{base}/bgp/group[group-name=ce]", {
            "peer-as": 65000 + sid % 1000, "admin-state": "enable", "description": "CE sessions"}, vprn)
        saps = []
        for n in range(1, self.rng.randint(1, 2) + 1):
            yield from self._port()
            port_name, port_id = self._port_name()
            vlan = 100 + sid % 3000 + n
            ifname = f"to-ce{n}"
            iface, doc = self._obj(f"{svc}-if-ce{n}", f"{base}/interface[interface-name={ifname}]", {
                "admin-state": "enable", "description": f"to CE {n} of {cust}",
                "ipv4": {"primary": {"address": f"192.168.{sid % 250}.{4 * n + 1}", "prefix-length": 30}}},
                vprn, port_name)
            yield iface, doc
            sap, doc = self._obj(f"{svc}-if-ce{n}-sap", f"{base}/interface[interface-name={ifname}]"
                                 f"/sap[sap-id={port_id}:{vlan}]", {
                "admin-state": "enable", "description": f"dot1q {vlan}"}, iface)
            yield sap, doc
            saps.append((n, sap))
        # the BGP group needs the attachment circuits up; each neighbour sits behind one
        group["metadata"]["annotations"] = {DEPENDS_ON: json.dumps(
            [{"kind": KIND, "name": d} for d in (vprn, *[s for _, s in saps])])}
        yield group_name, group
        for n, _ in saps:
            yield self._obj(f"{svc}-bgp-ce{n}", f"{base}/bgp/neighbor[ip-address=192.168.{sid % 250}.{4 * n + 2}]", {
                "group": "ce", "peer-as": 65000 + sid % 1000, "description": f"CE {n}",
                "authentication-key": f"ce-{sid}-{n}"}, group_name)

    def _epipe(self, cust: str, cust_name: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if self.sdp == 0 or self.rng.random() < 0.2:
            self.sdp += 1
            yield self._obj(f"sdp-{self.sdp}", f"/service/sdp[sdp-id={self.sdp}]", {
                "admin-state": "enable", "delivery-type": "mpls", "signaling": "tldp",
                "far-end": {"ip-address": f"10.255.{self.sdp // 250}.{1 + self.sdp % 250}"}})
        sdp_name, sdp_id = f"{self.name}-sdp-{self.sdp}", self.sdp
        self.service_id += 1
        sid = self.service_id
        svc = f"epipe-{sid}"
        base = f"/service/epipe[service-name={svc}]"
        epipe, doc = self._obj(svc, base, {"service-id": sid, "customer": cust, "admin-state": "enable",
                                           "description": f"E-Line for {cust}"}, cust_name)
        yield epipe, doc
        yield from self._port()
        port_name, port_id = self._port_name()
        sap_id = f"{port_id}:{100 + sid % 3000}"
        sap, doc = self._obj(f"{svc}-sap", f"{base}/sap[sap-id={sap_id}]", {"admin-state": "enable"}, epipe, port_name)
        yield sap, doc
        spoke, doc = self._obj(f"{svc}-spoke", f"{base}/spoke-sdp[sdp-bind-id={sdp_id}:{sid}]", {
            "admin-state": "enable", "control-word": True}, sap, sdp_name)
        yield spoke, doc
        yield self._obj(f"{svc}-sap-egress", f"{base}/sap[sap-id={sap_id}]/egress", {
            "agg-rate": {"rate": 100000 + 1000 * (sid % 16)}}, spoke)

    def _vpls(self, cust: str, cust_name: str) -> Iterator[tuple[str, dict[str, Any]]]:
        if self.qos == 0 or self.rng.random() < 0.1:
            self.qos += 1
            yield self._obj(f"qos-{self.qos}", f"/qos/sap-ingress[sap-ingress-policy-name=in-{self.qos}]", {
                "description": f"ingress policy {self.qos}", "default-fc": "be",
                "queue": [{"queue-id": 1, "rate": {"pir": 100000 * self.qos}}]})
        qos_name, qos = f"{self.name}-qos-{self.qos}", f"in-{self.qos}"
        self.service_id += 1
        sid = self.service_id
        svc = f"vpls-{sid}"
        base = f"/service/vpls[service-name={svc}]"
        vpls, doc = self._obj(svc, base, {"service-id": sid, "customer": cust, "admin-state": "enable",
                                          "fdb": {"table": {"size": 2000}}}, cust_name)
        yield vpls, doc
        yield from self._port()
        port_name, port_id = self._port_name()
        sap_id = f"{port_id}:{100 + sid % 3000}"
        sap, doc = self._obj(f"{svc}-sap", f"{base}/sap[sap-id={sap_id}]", {"admin-state": "enable"}, vpls, port_name)
        yield sap, doc
        yield self._obj(f"{svc}-sap-ingress", f"{base}/sap[sap-id={sap_id}]/ingress", {
            "qos": {"sap-ingress": {"policy-name": qos}}}, sap, qos_name)


def config_docs(spec: FleetSpec) -> list[dict[str, Any]]:
    """Exactly ``spec.objects`` config documents, spread round-robin over the devices."""
    rng = random.Random(spec.seed)
    streams = [_Device(i, name, random.Random(rng.random()), spec.namespace).units()
               for i, name in enumerate(spec.device_names())]
    out: list[dict[str, Any]] = []
    while len(out) < spec.objects:
        for stream in streams:
            if len(out) == spec.objects:
                break
            out.append(next(stream)[1])
    return out


def inventory_docs(spec: FleetSpec, ports: Mapping[str, int]) -> list[dict[str, Any]]:
    """A Device per switch (plaintext gNMI to a mock server on 127.0.0.1) and the Secret they use."""
    docs: list[dict[str, Any]] = [{
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET, "namespace": spec.namespace},
        "stringData": {"username": USERNAME, "password": PASSWORD}}]
    for name in spec.device_names():
        docs.append({
            "apiVersion": API_VERSION, "kind": "Device", "metadata": {"name": name, "namespace": spec.namespace},
            "spec": {"address": "127.0.0.1", "port": ports[name], "driver": "gnmi", "insecure": True,
                     "encoding": "json_ietf", "credentialsSecretRef": {"name": SECRET}}})
    return docs


def write_tree(directory: Path, configs: list[dict[str, Any]], inventory: list[dict[str, Any]]) -> list[Path]:
    """A GitOps-style directory: ``inventory.yaml`` and one file of objects per device."""
    directory.mkdir(parents=True, exist_ok=True)
    files = [directory / "inventory.yaml"]
    files[0].write_text(yaml.dump_all(inventory, Dumper=_Dumper, sort_keys=False))
    return files + write_configs(directory, configs)


def write_configs(directory: Path, configs: list[dict[str, Any]]) -> list[Path]:
    """One file of objects per device (``pe001.yaml``, ...), each in generation (dependency) order."""
    directory.mkdir(parents=True, exist_ok=True)
    per_device: dict[str, list[dict[str, Any]]] = {}
    for doc in configs:
        per_device.setdefault(doc["spec"]["switchID"], []).append(doc)
    files = []
    for device, docs in per_device.items():
        f = directory / f"{device}.yaml"
        f.write_text(yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False))
        files.append(f)
    return files


def chain_depth(configs: list[dict[str, Any]]) -> int:
    """The longest dependency chain (in objects) of a generated set."""
    depth: dict[str, int] = {}
    for doc in configs:  # dependency order: every dependency is seen first
        deps = json.loads(doc["metadata"].get("annotations", {}).get(DEPENDS_ON, "[]"))
        depth[doc["metadata"]["name"]] = 1 + max((depth[d["name"]] for d in deps), default=0)
    return max(depth.values(), default=0)
