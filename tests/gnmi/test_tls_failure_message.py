"""A TLS failure's whole reason is reachable from the CLI: `-o wide` cuts it to fit a table,
`nwi get KIND NAME -o yaml` shows it in full."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from nwi.mockgnmi import MockGnmiServer, memory_target
from tests.conftest import NwiRunner
from tests.gnmi.helpers import PASSWORD, USER

pytestmark = pytest.mark.protocol


def test_the_full_tls_failure_is_in_get_kind_name_yaml(
    servers: Callable[..., MockGnmiServer], nwi: NwiRunner, tmp_path: Path,
) -> None:
    srv = servers([memory_target("r1", username=USER, password=PASSWORD)], tls=True)
    (tmp_path / "in.yaml").write_text(f"""\
apiVersion: v1
kind: Secret
metadata: {{name: creds, namespace: default}}
stringData: {{username: {USER}, password: {PASSWORD}}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {{name: r1, namespace: default}}
spec:
  address: 127.0.0.1
  port: {srv.port_of("r1")}
  credentialsSecretRef: {{name: creds}}
  timeouts: {{connect: 5}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: SRLinuxConfig
metadata: {{name: hostname, namespace: default}}
spec: {{switchID: r1, path: /system/config, properties: {{hostname: r1}}}}
""")
    # the device's certificate is signed by the mock server's own CA, which the Device does not name
    assert nwi("apply", "-f", tmp_path / "in.yaml").exit_code == 1
    doc = yaml.safe_load(nwi("get", "srlinuxconfig", "hostname", "-o", "yaml").stdout)
    message = doc["status"]["message"]
    assert doc["status"]["phase"] == "Failed"
    assert "TLS certificate verification failed" in message and "caSecretRef" in message
    wide = nwi("get", "srlinuxconfig", "-o", "wide").stdout
    assert len(message) > 100  # long enough that the table cuts it ...
    assert message not in wide and message[:60] in wide and "..." in wide  # ... and yaml does not
