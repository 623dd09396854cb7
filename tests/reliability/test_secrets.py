"""Device passwords never reach output, logs, status or the state directory."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from nwi.mockgnmi import memory_target, running
from tests.conftest import SAMPLES, NwiRunner

SECRET = "Pa55-n3ver-printed-7f3a"


def write_device(tmp_path: Path, port: int, password: str) -> Path:
    f = tmp_path / "device.yaml"
    f.write_text(f"""
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {{name: 172.20.20.200, namespace: enc-nwi-system}}
spec: {{address: 127.0.0.1, port: {port}, driver: gnmi, insecure: true, credentialsSecretRef: {{name: creds}},
        timeouts: {{connect: 5, operation: 5}}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: enc-nwi-system}}
stringData: {{username: admin, password: "{password}"}}
""")
    return f


def everything_written(state_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in state_dir.rglob("*") if p.is_file())


@pytest.mark.parametrize("server_password", [SECRET, "something-else"])
def test_secret_stays_out_of_output_logs_and_state(
    nwi: NwiRunner, state_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, server_password: str
) -> None:
    caplog.set_level(logging.DEBUG)
    with running([memory_target("r1", username="admin", password=server_password)]) as srv:
        device = write_device(tmp_path, srv.port_of("r1"), SECRET)
        result = nwi("apply", "-f", device, "-f", SAMPLES / "seed", "-o", "wide")
        outputs = [result.stdout, result.stderr, nwi("get", "-o", "yaml").stdout, caplog.text]
    if server_password == SECRET:
        assert result.exit_code == 0, result.stdout
    else:
        assert result.exit_code == 1
        assert "AuthenticationFailed" in result.stdout
    for text in outputs:
        assert SECRET not in text
    assert SECRET.encode() not in everything_written(state_dir)
