"""The mock server as a command (`python -m nwi.mockgnmi`, registered as `nwi mock-gnmi`) and its devices file."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from pygnmi.client import gNMIclient, gNMIException

from nwi.mockgnmi import devices as devices_file
from nwi.mockgnmi import spawned
from tests.gnmi.helpers import get_val, rpc_error, write_file

pytestmark = pytest.mark.protocol

DEVICES = """
username: admin
password: pw
listKeys: {interface: [name]}
targets:
  - name: r1
    port: 0
    config:
      interfaces: {interface: [{name: eth0, mtu: 1500}]}
  - name: r2
    port: 0
    username: other
    passwordEnv: R2_PASSWORD
    faults: {failSets: 1, failCode: ABORTED}
"""


def test_devices_file_targets_with_config_credentials_and_faults(
    tmp_path: Path, clients: Callable[..., gNMIclient]
) -> None:
    path = write_file(tmp_path / "devices.yaml", DEVICES)
    with spawned(["--port", "0", "--devices", str(path)], env={"R2_PASSWORD": "from-env"}) as proc:
        r1 = clients(proc.port_of("r1"), username="admin", password="pw")
        assert get_val(r1, "/interfaces/interface[name=eth0]/mtu") == 1500  # seeded config, keyed by name
        r2 = clients(proc.port_of("r2"), username="other", password="from-env")
        with pytest.raises(gNMIException) as exc:
            r2.set(update=[("/a", 1)], encoding="json")
        assert rpc_error(exc.value).code() == grpc.StatusCode.ABORTED  # failSets: 1
        r2.set(update=[("/a", 1)], encoding="json")
        bad = gNMIclient(target=("127.0.0.1", proc.port_of("r2")), username="admin", password="pw", insecure=True)
        with pytest.raises(gNMIException) as exc:
            bad.connect()
        bad.close()
        assert rpc_error(exc.value).code() == grpc.StatusCode.UNAUTHENTICATED


def test_flags_shared_port_targets_credentials_and_faults(clients: Callable[..., gNMIclient]) -> None:
    args = ["--port", "0", "--target", "a", "--target", "b", "--fail-sets", "1", "--fail-code", "UNAVAILABLE"]
    with spawned(args, env={"NWI_MOCK_GNMI_USERNAME": "u", "NWI_MOCK_GNMI_PASSWORD": "p"}) as proc:
        assert proc.ready["port"] == proc.port_of("a") == proc.port_of("b")
        c = clients(proc.ready["port"], username="u", password="p")
        with pytest.raises(gNMIException) as exc:
            c.set(target="b", update=[("/x", 1)], encoding="json")
        assert rpc_error(exc.value).code() == grpc.StatusCode.UNAVAILABLE
        c.set(target="b", update=[("/x", 2)], encoding="json")
        assert c.get(target="b", path=["/x"], encoding="json")["notification"][0]["update"][0]["val"] == 2


def test_tls_flag_writes_certificates_a_client_can_verify(tmp_path: Path,
                                                          clients: Callable[..., gNMIclient]) -> None:
    with spawned(["--port", "0", "--tls", "--cert-dir", str(tmp_path / "certs")]) as proc:
        assert proc.ca_cert == tmp_path / "certs" / "ca.pem"
        c = clients(proc.port_of("mock"), username="", password="", insecure=False, path_cert=str(proc.ca_cert))
        assert c.capabilities()["gnmi_version"] == "0.10.0"
    assert (tmp_path / "certs" / "server-key.pem").stat().st_mode & 0o077 == 0  # private keys stay private


def test_devices_file_modules_and_bare_strings(tmp_path: Path, clients: Callable[..., gNMIclient]) -> None:
    path = write_file(tmp_path / "d.yaml", """
modules: {system: openconfig-system}
targets:
  - {name: strict, port: 0}
  - {name: lenient, port: 0, bareStrings: true, modules: {interfaces: openconfig-interfaces}}
""")
    with spawned(["--devices", str(path)]) as proc:
        strict = clients(proc.port_of("strict"), username="", password="")
        with pytest.raises(gNMIException) as exc:
            strict.set(update=[("/system/config/hostname", "r1")], encoding="json_ietf")  # pygnmi: unquoted
        assert rpc_error(exc.value).code() == grpc.StatusCode.INVALID_ARGUMENT
        strict.set(update=[("/system/config/hostname", '"r1"')], encoding="json_ietf")
        assert get_val(strict, "/") == {"openconfig-system:system": {"config": {"hostname": "r1"}}}
        lenient = clients(proc.port_of("lenient"), username="", password="")
        lenient.set(update=[("/system/config/hostname", "r2"), ("/interfaces/x", "up")], encoding="json_ietf")
        assert get_val(lenient, "/") == {"openconfig-system:system": {"config": {"hostname": "r2"}},
                                         "openconfig-interfaces:interfaces": {"x": "up"}}


def test_bare_strings_flag(clients: Callable[..., gNMIclient]) -> None:
    with spawned(["--port", "0", "--bare-strings"]) as proc:
        c = clients(proc.port_of("mock"), username="", password="")
        c.set(update=[("/system/config/hostname", "r1")], encoding="json_ietf")
        assert get_val(c, "/system/config/hostname") == "r1"
        with pytest.raises(gNMIException) as exc:
            c.set(update=[("/system/config", '{"hostname": ')], encoding="json_ietf")
        assert rpc_error(exc.value).code() == grpc.StatusCode.INVALID_ARGUMENT


def test_refused_target_flag(tmp_path: Path) -> None:
    path = write_file(tmp_path / "d.yaml", "targets: [{name: up, port: 0}, {name: down, port: 0}]\n")
    with spawned(["--devices", str(path), "--refuse", "down"]) as proc:
        c = gNMIclient(target=("127.0.0.1", proc.port_of("down")), insecure=True, gnmi_timeout=1)
        with pytest.raises(grpc.FutureTimeoutError):
            c.connect()
        c.close()


@pytest.mark.parametrize("text,message", [
    ("targets: []", "non-empty list"),
    ("targets: [{port: 1}]", "'name' is required"),
    ("targets: [{name: a}, {name: a}]", "defined twice"),
    ("targets: [{name: a, colour: red}]", "unknown field"),
    ("targets: [{name: a, username: u}]", "both username and password"),
    ("targets: [{name: a, faults: {failCode: NOPE, failSets: 1}}]", "unknown gRPC status code"),
    ("targets: [{name: a, passwordEnv: NWI_TEST_UNSET_VAR, username: u}]", "is not set"),
    ("targets: [{name: a, port: 70000}]", "0..65535"),
    ("targets: [{name: a, modules: [openconfig-interfaces]}]", "'modules' maps a top-level node"),
    ("modules: {interfaces: 'oc:x'}\ntargets: [{name: a}]", "'modules' maps a top-level node"),
    ("targets: [{name: a, bareStrings: 'yes'}]", "'bareStrings' must be true or false"),
])
def test_bad_devices_files_are_rejected_with_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    path = write_file(tmp_path / "d.yaml", text)
    with pytest.raises(devices_file.DevicesFileError) as exc:
        devices_file.load(path)
    assert message in str(exc.value) and str(path) in str(exc.value)
    proc = subprocess.run([sys.executable, "-m", "nwi.mockgnmi", "--devices", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr


def test_a_busy_port_is_an_error(tmp_path: Path) -> None:
    with spawned(["--port", "0"]) as first:
        proc = subprocess.run([sys.executable, "-m", "nwi.mockgnmi", "--port", str(first.ready["port"])],
                              capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "cannot listen" in proc.stderr
