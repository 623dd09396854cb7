"""A LinuxConfig is Linux state: on a virtual Device that is not Linux-backed it is refused with the file,
object and field, never recorded Ready while no kernel has the link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from nwi.drivers.base import DriverError
from nwi.engine import _device_failure
from nwi.inventory import DeviceUnfit
from nwi.loader import build_object
from nwi.model import DeviceObject, DeviceSpec, ObjectKey, Source
from nwi.operator.index import DeviceIndex, ObjectIndex
from nwi.operator.metrics import Metrics
from nwi.operator.reconciler import Reconciler, Settings
from nwi.status import Reason
from tests.conftest import NwiRunner

TREE_DEVICE = """\
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {name: lab, namespace: default}
spec: {driver: virtual}
"""
LINK = """\
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: LinuxConfig
metadata: {name: veth-a, namespace: default}
spec:
  switchID: lab
  path: /interfaces/interface[name=veth-a]
  properties: {type: veth, peer: veth-b}
"""
SROS = """\
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: SROSConfig
metadata: {name: c1, namespace: default}
spec: {switchID: lab, path: "/service/customer[customer-name=c1]", properties: {customer-id: 1}}
"""


def _refused(r: Any, file: Path) -> None:
    assert r.exit_code == 3, r.stdout + r.stderr
    assert str(file) in r.stderr and "LinuxConfig default/veth-a" in r.stderr and "spec.switchID" in r.stderr
    assert "spec.backend: linux" in r.stderr and "Device default/lab" in r.stderr


@pytest.mark.parametrize("command", ["apply", "plan", "validate"])
def test_a_linuxconfig_on_a_tree_backed_device_is_refused(
    nwi: NwiRunner, tmp_path: Path, state_dir: Path, command: str,
) -> None:
    f = tmp_path / "lab.yaml"
    f.write_text(TREE_DEVICE + "---\n" + LINK)
    _refused(nwi(command, *([] if command == "validate" else ["-f"]), f), f)
    assert nwi("get").stderr.strip() == "No resources found."  # nothing recorded, Ready or otherwise
    assert not (state_dir / "devices").exists()  # and nothing kept in the tree backend
    assert not Path("/run/netns/nwi-lab").exists()


def test_a_device_from_an_earlier_run_is_checked_too(nwi: NwiRunner, tmp_path: Path) -> None:
    (tmp_path / "first.yaml").write_text(TREE_DEVICE + "---\n" + SROS)
    assert nwi("apply", "-f", tmp_path / "first.yaml").exit_code == 0
    link = tmp_path / "link.yaml"
    link.write_text(LINK)
    _refused(nwi("apply", "-f", link), link)
    assert [s.split()[1] for s in nwi("get").stdout.splitlines()[1:]] == ["c1"]


def test_the_operator_fails_only_the_linuxconfig_with_the_reason() -> None:
    devices = DeviceIndex()
    spec = DeviceSpec.model_validate({"driver": "virtual"})
    devices.upsert(DeviceObject(ObjectKey("Device", "default", "lab"), spec))
    # no API: a virtual Device names no Secret for the reconciler to read
    reconciler = Reconciler(ObjectIndex(), devices, None, Metrics(), Settings())  # type: ignore[arg-type]
    link, sros = (build_object(yaml.safe_load(t), Source("cluster"), "default") for t in (LINK, SROS))
    device_of, factory = reconciler._inventory([link, sros])  # type: ignore[list-item]
    assert device_of[sros.key] == "default/lab"  # type: ignore[union-attr]
    with pytest.raises(DeviceUnfit) as exc:
        factory(device_of[link.key])  # type: ignore[union-attr]
    assert "spec.backend: linux" in str(exc.value)
    outcome = _device_failure(exc.value)
    assert (outcome.reason, outcome.phase.value) == (Reason.INVALID, "Failed")
    assert isinstance(exc.value, DriverError)
