"""Security: gNMI TLS verified by default, device passwords kept out of everything the operator writes,
and the Linux backend confined to its own network namespace.

The operator tests run ``nwi operator --debug`` (kopf's internals logged too)
against this directory's kube-apiserver; the TLS device is a mock gNMI server
with certificates from a CA the Device is not told about unless its Secret says so.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fault_kit import Lab, operator
from harness.kube import KubeApiServer, wait_for
from kube_kit import PASSWORD, USERNAME, Operator, config_yaml, device_yaml, status_of

from nwi.drivers.linux import netns
from nwi.mockgnmi.harness import memory_target, running
from nwi.mockgnmi.server import MockGnmiServer
from nwi.path import parse_path
from tests.conftest import SAMPLES, NwiRunner

WRONG_PASSWORD = "Wr0ng-but-still-s3cret-9d2e"


@pytest.fixture(scope="module")
def debug_operator(deployed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Operator]:
    op = operator(deployed, tmp_path_factory.mktemp("security-operator"), "--debug")
    op.start()
    yield op
    op.stop()


@pytest.fixture(scope="module")
def tls_device() -> Iterator[MockGnmiServer]:
    """A gNMI device serving TLS with a certificate from its own, freshly made CA."""
    with running([memory_target("tls-sw", username=USERNAME, password=PASSWORD)], tls=True) as server:
        yield server


def _gnmi_device(ns: str, name: str, port: int, spec: str, password: str = PASSWORD) -> str:
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: {name}-creds, namespace: {ns}}}
stringData: {{username: {USERNAME}, password: {password}}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {{name: {name}, namespace: {ns}}}
spec:
  driver: gnmi
  address: 127.0.0.1
  port: {port}
  credentialsSecretRef: {{name: {name}-creds}}
  timeouts: {{connect: 2, operation: 5}}
{spec}
---"""


def _settled(kube: KubeApiServer, ns: str, name: str) -> dict[str, Any]:
    """The status of ``name`` once it is Ready or Failed."""
    def settled() -> dict[str, Any] | None:
        status = status_of(kube, "openconfig", ns, name)
        return status if status.get("phase") in ("Ready", "Failed") else None

    status = wait_for(settled, 30, f"{name} Ready or Failed")
    assert status is not None
    return status


@pytest.mark.kubernetes
def test_gnmi_tls_is_verified_unless_a_device_says_otherwise(
    kube: KubeApiServer, debug_operator: Operator, lab: Lab, tls_device: MockGnmiServer
) -> None:
    ns = "tls-test"
    kube.kubectl("create", "namespace", ns)
    assert tls_device.tls is not None
    ca_pem = tls_device.tls.ca_cert.decode()
    tls_port, plain_port = tls_device.port_of("tls-sw"), lab.port("sw-a")
    ca_secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "device-ca", "namespace": ns},
                 "stringData": {"ca.crt": ca_pem}}
    docs = [
        yaml.safe_dump(ca_secret),
        # TLS by default, checked against the system's CAs, which never signed the device's certificate
        _gnmi_device(ns, "tls-default", tls_port, ""),
        # the device's CA given in a Secret: verified, and it works
        _gnmi_device(ns, "tls-with-ca", tls_port, "  tls: {caSecretRef: {name: device-ca}}"),
        # a plaintext device is reached only when the Device says insecure
        _gnmi_device(ns, "plain-default", plain_port, ""),
        _gnmi_device(ns, "plain-insecure", plain_port, "  insecure: true"),
    ]
    kube.kubectl("apply", "-f", "-", input="\n---\n".join(docs))
    names = ("tls-default", "tls-with-ca", "plain-default", "plain-insecure")
    kube.kubectl("apply", "-f", "-", input="".join(
        config_yaml(n, ns, n, f"/system/config/login-banner[id={n}]", {"id": n, "text": "authorised use only"})
        for n in names))
    settled = {n: _settled(kube, ns, n) for n in names}

    assert settled["tls-with-ca"]["phase"] == "Ready", settled["tls-with-ca"]
    assert settled["plain-insecure"]["phase"] == "Ready", settled["plain-insecure"]
    unknown_ca = settled["tls-default"]
    assert unknown_ca["phase"] == "Failed" and unknown_ca["reason"] == "DeviceUnreachable", unknown_ca
    assert "TLS certificate verification failed" in unknown_ca["message"], unknown_ca["message"]
    assert "caSecretRef" in unknown_ca["message"]
    plaintext = settled["plain-default"]
    assert plaintext["phase"] == "Failed", plaintext
    assert "does not speak TLS" in plaintext["message"] and "insecure: true" in plaintext["message"], plaintext
    # nothing reached the device over a connection that was not verified
    tree = tls_device.target("tls-sw").config()
    assert tree.get(parse_path("/system/config/login-banner[id=tls-default]")) is None
    assert tree.get(parse_path("/system/config/login-banner[id=tls-with-ca]")) is not None


@pytest.mark.kubernetes
def test_device_password_never_reaches_logs_events_or_status(
    kube: KubeApiServer, deployed: Path, debug_operator: Operator, lab: Lab
) -> None:
    ns = "secret-test"
    kube.kubectl("create", "namespace", ns)
    port = lab.port("sw-b")  # accepts USERNAME / PASSWORD only
    kube.kubectl("apply", "-f", "-", input=device_yaml(ns, "good", port) + "---"
                 + _gnmi_device(ns, "bad", port, "  insecure: true", password=WRONG_PASSWORD))
    kube.kubectl("apply", "-f", "-", input="".join(
        config_yaml(n, ns, n, f"/system/ntp/server[address=10.0.0.{i}]", {"address": f"10.0.0.{i}"})
        for i, n in enumerate(("good", "bad"), start=1)))
    good, bad = _settled(kube, ns, "good"), _settled(kube, ns, "bad")
    assert good["phase"] == "Ready", good
    assert bad["phase"] == "Failed" and bad["reason"] == "AuthenticationFailed", bad

    written = [
        debug_operator.logs(),
        kube.kubectl("get", "events", "-A", "-o", "json").stdout,
        kube.kubectl("get", "openconfigs,devices", "-A", "-o", "json").stdout,  # statuses and annotations
        kube.kubectl("describe", "openconfigs,devices", "-n", ns).stdout,
        "".join(p.read_text(errors="replace") for p in (debug_operator.workdir / "state").rglob("*") if p.is_file()),
    ]
    assert "AuthenticationFailed" in written[1]  # the failure itself is reported, only the password is not
    for password in (PASSWORD, WRONG_PASSWORD):
        for form in (password, base64.b64encode(password.encode()).decode()):
            for text in written:
                assert form not in text


# ---- the Linux backend -----------------------------------------------------------------------------


def _why_no_netns() -> str:
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"nwirel-probe-{secrets.token_hex(3)}"
    try:
        netns.ensure(probe)
    except Exception as exc:
        return f"cannot create a network namespace here: {exc}"
    finally:
        with contextlib.suppress(Exception):
            netns.remove(probe)
    return ""


def _ip(*args: str) -> Any:
    out = subprocess.run(["ip", "-j", *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out) if out.strip() else []


def _links(ns: str | None) -> list[tuple[Any, ...]]:
    """What identifies a link and its configuration (not counters or timers), in namespace ``ns`` (None: ours)."""
    where = ["-n", ns] if ns else []
    addrs = {a["ifname"]: sorted(f"{i['local']}/{i['prefixlen']}" for i in a.get("addr_info", []))
             for a in _ip(*where, "addr", "show")}
    return sorted((x["ifindex"], x["ifname"], x.get("mtu"), x.get("address"), x.get("master"), x.get("link"),
                   (x.get("linkinfo") or {}).get("info_kind"), tuple(x.get("flags", ())), tuple(addrs[x["ifname"]]))
                  for x in _ip(*where, "-d", "link", "show"))


def _namespaces() -> set[str]:
    return {n["name"] for n in _ip("netns", "list")}


def _assert_unchanged(before: dict[str, list[tuple[Any, ...]]]) -> None:
    """The host namespace and every namespace that existed before (and still does) look exactly as before."""
    for ns in [*sorted((before.keys() - {""}) & _namespaces()), ""]:
        assert _links(ns or None) == before[ns], f"links of {ns or 'the host namespace'} changed"


@pytest.mark.kernel
def test_linux_backend_touches_only_its_own_namespace(
    nwi: NwiRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    why = _why_no_netns()
    if why:
        pytest.skip(why)
    prefix = f"nwirel{secrets.token_hex(2)}-"
    monkeypatch.setenv("NWI_NETNS_PREFIX", prefix)
    device_ns = netns.netns_for_device("linux-lab")
    # a bystander namespace holding links with the very names the sample uses
    bystander = f"{prefix}bystander"
    netns.ensure(bystander)
    try:
        subprocess.run(["ip", "-n", bystander, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1-br"],
                       check=True)
        before_ns = _namespaces()
        before = {ns: _links(ns) for ns in before_ns} | {"": _links(None)}

        applied = nwi("apply", "-f", SAMPLES / "linux" / "device.yaml", "-f", SAMPLES / "linux" / "macvlan-bridge")
        assert applied.exit_code == 0, applied.stdout + applied.stderr
        assert {"eth1", "eth1-br", "net1", "br-lab"} <= {link[1] for link in _links(device_ns)}
        # the only namespace this run made is the device's (others may come and go on a shared machine)
        assert {n for n in _namespaces() - before_ns if n.startswith(prefix)} == {device_ns}
        _assert_unchanged(before)
        removed = nwi("delete", "-f", SAMPLES / "linux" / "device.yaml", "-f", SAMPLES / "linux" / "macvlan-bridge")
        assert removed.exit_code == 0, removed.stdout + removed.stderr
        assert {link[1] for link in _links(device_ns)} == {"lo"}
        assert nwi("remove-netns", "linux-lab").exit_code == 0
        _assert_unchanged(before)
        assert device_ns not in _namespaces()
    finally:
        netns.remove(bystander)
        netns.remove(device_ns)
