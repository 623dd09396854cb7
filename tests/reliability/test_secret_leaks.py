"""Credentials never land where nwi keeps things or prints things.

The parse cache keeps only files nwi accepted, never one holding credentials;
a broken ``--credentials`` file is a one-line error without its content; mutual
TLS keys never touch a disk (killed with ``kill -9`` mid-run, nothing is left
in ``$TMPDIR``); gRPC's own tracing never sees a password sent over TLS; a
password gRPC cannot carry is a clear error.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # state_kit
from fault_kit import RecordingStore
from state_kit import NAMESPACE, config, nwi_process, wait_for

from nwi.mockgnmi import MockGnmiServer, memory_target, running
from nwi.mockgnmi.target import Credentials, Target
from tests.conftest import SAMPLES, NwiRunner

PASSWORD = "Pa55-cache-and-trace-9c1e"


def everything_written(state_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in state_dir.rglob("*") if p.is_file())


@pytest.mark.parametrize("refused", [
    f"'*': {{username: admin, password: {PASSWORD}}}\n",  # a credentials file left in the -f directory
    "apiVersion: nwi.enc.nokia.com/v1alpha2\nkind: Device\nmetadata: {name: r1}\n"
    f"spec: {{address: 127.0.0.1, password: {PASSWORD}}}\n",  # a password typed into a Device
    f"apiVersion: v1\nkind: secret\nmetadata: {{name: creds}}\nstringData: {{password: {PASSWORD}}}\n",
], ids=["credentials-file", "password-in-device", "kind-secret-misspelt"])
def test_nothing_from_a_refused_file_is_cached(nwi: NwiRunner, state_dir: Path, tmp_path: Path,
                                               refused: str) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for f in (SAMPLES / "seed").glob("*.yaml"):
        (inputs / f.name).write_text(f.read_text())
    (inputs / "oops.yaml").write_text(refused)
    result = nwi("apply", "-f", inputs)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert PASSWORD.encode() not in everything_written(state_dir)


def test_an_accepted_file_with_credentials_in_its_properties_is_not_cached(
        nwi: NwiRunner, state_dir: Path, tmp_path: Path) -> None:
    f = tmp_path / "user.yaml"
    f.write_text(json.dumps(config("admin-user", "r1", "/system/aaa/user[name=admin]",
                                   {"name": "admin", "password": PASSWORD})))
    assert nwi("apply", "-f", f).exit_code == 0
    cache = state_dir / "parse-cache"
    assert not list(cache.glob("*.json")) if cache.exists() else True
    assert PASSWORD.encode() not in b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file()) \
        if cache.exists() else True


@pytest.mark.parametrize("content,why", [
    (f"'*': {{username: admin, password: {PASSWORD}\n", "malformed YAML at line"),  # unclosed flow mapping
    (f"- admin\n- {PASSWORD}\n", "must be one mapping"),
    (f"r1: {{username: admin, password: [{PASSWORD}]}}\n", "entry 'r1'"),
    (None, "cannot read"),
], ids=["yaml-error", "not-a-mapping", "bad-entry", "missing"])
def test_a_broken_credentials_file_is_one_line_without_the_password(
        nwi: NwiRunner, tmp_path: Path, content: str | None, why: str) -> None:
    creds = tmp_path / "creds.yaml"
    if content is not None:
        creds.write_text(content)
    result = nwi("apply", "-f", SAMPLES / "seed", "--credentials", creds)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert why in result.stderr and str(creds) in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _tls_inputs(directory: Path, srv: MockGnmiServer, mtls: bool) -> Path:
    assert srv.tls is not None
    directory.mkdir(parents=True, exist_ok=True)
    tls: dict[str, object] = {"caSecretRef": {"name": "ca"}}
    secrets = [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ca", "namespace": NAMESPACE},
                "stringData": {"ca.crt": srv.tls.ca_cert.decode()}},
               {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": NAMESPACE},
                "stringData": {"username": "admin", "password": PASSWORD}}]
    if mtls:
        tls["clientCertSecretRef"] = {"name": "client"}
        secrets.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "client", "namespace": NAMESPACE},
                        "stringData": {"tls.crt": srv.tls.client_cert.decode(),
                                       "tls.key": srv.tls.client_key.decode()}})
    docs = [{"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "Device",
             "metadata": {"name": "localhost", "namespace": NAMESPACE},
             "spec": {"address": "localhost", "port": srv.port_of("r1"), "driver": "gnmi", "tls": tls,
                      "credentialsSecretRef": {"name": "creds"}, "timeouts": {"connect": 5, "operation": 30}}},
            *secrets,
            config("if-0", "localhost", "/interface[name=e0]", {"description": "tls"})]
    (directory / "objects.yaml").write_text("\n---\n".join(json.dumps(d) for d in docs))
    return directory


@pytest.fixture
def tls_device() -> Iterator[tuple[MockGnmiServer, RecordingStore]]:
    store = RecordingStore("r1")
    with running([Target("r1", store, port=0, credentials=Credentials("admin", PASSWORD))], tls=True,
                 mtls=True) as srv:
        yield srv, store
        store.release()


def test_client_key_never_touches_the_disk_even_after_kill_9(
        tls_device: tuple[MockGnmiServer, RecordingStore], tmp_path: Path) -> None:
    srv, store = tls_device
    assert srv.tls is not None
    key = srv.tls.client_key
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    inputs = _tls_inputs(tmp_path / "in", srv, mtls=True)
    store.hold(1)
    proc = nwi_process(tmp_path / "state", "apply", "-f", inputs, env={"TMPDIR": str(tmpdir)})
    wait_for(store.holding.is_set, what="the Set over mutual TLS in flight")
    assert not list(tmpdir.rglob("*"))  # nothing was written to $TMPDIR, key or not
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    store.release()
    assert not list(tmpdir.rglob("*"))
    written = everything_written(tmp_path / "state")
    assert key not in written and PASSWORD.encode() not in written


def test_grpc_tracing_never_prints_a_password_sent_over_tls(
        tls_device: tuple[MockGnmiServer, RecordingStore], tmp_path: Path) -> None:
    srv, _ = tls_device
    inputs = _tls_inputs(tmp_path / "in", srv, mtls=True)
    proc = nwi_process(tmp_path / "state", "apply", "-f", inputs,
                       env={"GRPC_TRACE": "api", "GRPC_VERBOSITY": "debug"})
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err[-3000:]
    assert "grpc_call_start_batch" in err  # the tracer was on and printed the calls
    assert PASSWORD not in out + err


@pytest.mark.parametrize("password", ["pässwörd", "tab\there"])
def test_a_password_grpc_cannot_carry_is_a_clear_error(nwi: NwiRunner, tmp_path: Path, password: str) -> None:
    with running([memory_target("r1", username="admin", password="x")]) as srv:
        f = tmp_path / "in.yaml"
        f.write_text("\n---\n".join(json.dumps(d) for d in [
            {"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "Device", "metadata": {"name": "r1"},
             "spec": {"address": "127.0.0.1", "port": srv.port_of("r1"), "driver": "gnmi", "insecure": True,
                      "credentialsSecretRef": {"name": "creds"}, "timeouts": {"connect": 5, "operation": 5}}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
             "stringData": {"username": "admin", "password": password}},
            config("if-0", "r1", "/interface[name=e0]", {"description": "x"}) | {"metadata": {"name": "if-0"}}]))
        result = nwi("apply", "-f", f, "-o", "wide")
    assert result.exit_code == 1
    assert "AuthenticationFailed" in result.stdout and "non-ASCII or control characters" in result.stdout
    assert "Invalid metadata" not in result.stdout and password not in result.stdout
