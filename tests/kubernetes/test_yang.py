"""``nwi operator --yang-path``: the operator checks objects against their kind's models before sending,
like the CLI; an invalid object turns Failed with a reason naming the leaf, and nothing reaches the device."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness.kube import KubeApiServer, wait_for
from kube_kit import PASSWORD, USERNAME, CountingStore, Operator, config_yaml, device_yaml, status_of

from nwi.mockgnmi.harness import running
from nwi.mockgnmi.server import MockGnmiServer
from nwi.mockgnmi.target import Credentials, Target
from nwi.path import parse_path
from tests.yang_models import SROS, need

pytestmark = pytest.mark.kubernetes

NS = "yang-test"
SW = "yang-sw"


@pytest.fixture(scope="module")
def store() -> CountingStore:
    return CountingStore(SW)


@pytest.fixture(scope="module")
def sros_device(store: CountingStore) -> Iterator[MockGnmiServer]:
    with running([Target(SW, store, port=0, credentials=Credentials(USERNAME, PASSWORD))]) as server:
        yield server


@pytest.fixture(scope="module")
def yang_operator(kube: KubeApiServer, deployed: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Operator]:
    need(SROS)
    kube.kubectl("create", "namespace", NS, check=False)  # before the operator starts watching it
    op = Operator(deployed, tmp_path_factory.mktemp("operator-yang"),
                  ["--standalone", "--yang-path", str(SROS), "--namespace", NS])
    op.start()
    yield op
    op.stop()


def test_an_object_its_models_refuse_fails_naming_the_leaf_and_is_never_sent(
        kube: KubeApiServer, sros_device: MockGnmiServer, store: CountingStore, yang_operator: Operator) -> None:
    kube.kubectl("apply", "-f", "-", input=device_yaml(NS, SW, sros_device.port_of(SW)))
    docs = config_yaml("cust", NS, SW, "/service/customer[customer-name=77]", {"customer-id": 77},
                       kind="SROSConfig")
    docs += config_yaml("typo", NS, SW, "/service/customer[customer-name=78]", {"customer-idd": 78},
                        kind="SROSConfig")
    kube.kubectl("apply", "-f", "-", input=docs)

    def failed() -> dict[str, object] | None:
        status = status_of(kube, "srosconfig", NS, "typo")
        return status if status.get("phase") == "Failed" else None

    try:
        status = wait_for(failed, 60, "typo Failed (its models refuse it)")
    except TimeoutError as exc:
        raise AssertionError(f"{status_of(kube, 'srosconfig', NS, 'typo')}\n{yang_operator.logs()[-3000:]}") from exc
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")  # type: ignore[attr-defined]
    assert ready["reason"] == "InvalidSpec"
    assert "customer-idd" in ready["message"] and "customer-id" in ready["message"]  # named, with a hint
    wait_for(lambda: status_of(kube, "srosconfig", NS, "cust").get("phase") == "Ready", 60, "cust Ready")
    config = store.inner.snapshot()
    assert config.get(parse_path("/configure/service/customer[customer-name=77]")) is not None
    assert config.get(parse_path("/configure/service/customer[customer-name=78]")) is None  # never sent


def test_a_devices_models_from_a_configmap_encode_and_refuse_on_the_device_side(
        kube: KubeApiServer, sros_device: MockGnmiServer, store: CountingStore, yang_operator: Operator) -> None:
    """``spec.models.configMapRef``: the operator compiles the ConfigMap's modules for that Device; a value
    they refuse fails its object before it is sent, a valid one goes out as they encode it."""
    import json

    from tests.yang_models import TEST_MODULES

    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "box-models", "namespace": NS},
                 "data": TEST_MODULES}
    kube.kubectl("apply", "-f", "-", input=json.dumps(configmap))
    device = device_yaml(NS, "cm-sw", sros_device.port_of(SW)) + "  models: {configMapRef: {name: box-models}}\n"
    kube.kubectl("apply", "-f", "-", input=device)
    # (SRLinuxConfig: the operator's --yang-path holds no SR Linux models, so only the Device's models judge)
    docs = config_yaml("box-bad", NS, "cm-sw", "/box", {"small": -1}, kind="SRLinuxConfig")
    docs += config_yaml("box-ok", NS, "cm-sw", "/box/slot[id=3]", {"size": 5}, kind="SRLinuxConfig")
    kube.kubectl("apply", "-f", "-", input=docs)

    def failed() -> dict[str, object] | None:
        status = status_of(kube, "srlinuxconfig", NS, "box-bad")
        return status if status.get("phase") == "Failed" else None

    status = wait_for(failed, 60, "box-bad Failed (the Device's models refuse it)")
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")  # type: ignore[attr-defined]
    assert "/box/small" in ready["message"] and "uint32" in ready["message"], ready
    wait_for(lambda: status_of(kube, "srlinuxconfig", NS, "box-ok").get("phase") == "Ready", 60, "box-ok Ready")
    config = store.inner.snapshot()
    assert config.get(parse_path("/box/slot[id=3]/size")) == "5"  # int64: sent as RFC 7951's string
    assert config.get(parse_path("/box/small")) is None  # never sent
