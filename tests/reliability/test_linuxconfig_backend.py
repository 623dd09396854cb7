"""The other side of refusing a LinuxConfig on a tree-backed Device: with ``backend: linux`` the same
object is Ready only because the link exists in the device's network namespace."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import NwiRunner

pytestmark = [pytest.mark.kernel,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the Linux backend creates a netns")]


def test_a_linux_backed_device_is_ready_with_the_link_in_its_kernel(nwi: NwiRunner, tmp_path: Path) -> None:
    device = f"lxcheck-{os.getpid()}"  # a namespace of this test's own: nwi-lxcheck-PID
    f = tmp_path / "lab.yaml"
    f.write_text(f"""\
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {{name: {device}, namespace: default}}
spec: {{driver: virtual, backend: linux}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: LinuxConfig
metadata: {{name: veth-a, namespace: default}}
spec:
  switchID: {device}
  path: /interfaces/interface[name=veth-a]
  properties: {{type: veth, peer: veth-b}}
""")
    try:
        r = nwi("apply", "-f", f)
        assert r.exit_code == 0, r.stdout + r.stderr
        links = subprocess.run(["ip", "-n", f"nwi-{device}", "-o", "link", "show", "veth-a"],
                               capture_output=True, text=True, check=False)
        assert links.returncode == 0 and "veth-a@veth-b" in links.stdout, links.stderr
    finally:
        nwi("remove-netns", device)
    assert not Path(f"/run/netns/nwi-{device}").exists()
