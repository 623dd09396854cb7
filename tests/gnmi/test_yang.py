"""``nwi mock-gnmi --yang-path``: a mock target with the device's models refuses what the device would.

Through pygnmi (a client nobody here wrote) and through nwi's own driver, against
unmodified SR OS, SR Linux and OpenConfig models from <repo>/../shared/yang (skipped
where absent): a misspelt leaf, an out-of-range value and an unknown enum value are
refused with INVALID_ARGUMENT naming the node, and nothing is applied; Capabilities
announces the loaded modules with their revisions; Get answers RFC 7951.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from pygnmi.client import gNMIclient, gNMIException

from nwi.drivers.base import Change, ConnectionParams, Op, Transaction, TransactionRejected
from nwi.drivers.gnmi import GnmiDriver
from nwi.mockgnmi import spawned
from nwi.mockgnmi.harness import SpawnedServer
from nwi.path import parse_path
from tests.gnmi.helpers import rpc_error, set_results
from tests.yang_models import CASES, VENDORS, need

pytestmark = pytest.mark.protocol

BAD = [(vendor, i) for vendor, (_, _, bad) in CASES.items() for i in range(len(bad))]


Mocks = Callable[[str], SpawnedServer]


@pytest.fixture(scope="module")
def mocks() -> Iterator[Mocks]:
    """``mocks(vendor)``: an ``nwi mock-gnmi --yang-path`` child process for the vendor's models, started
    once per module as a user would start it."""
    servers: dict[str, SpawnedServer] = {}
    with contextlib.ExitStack() as stack:
        def start(vendor: str) -> SpawnedServer:
            if vendor not in servers:
                dirs, _ = VENDORS[vendor]
                need(*dirs)
                # no --yang-module: the mock loads what a device of the kind runs (nokia-conf, srl_nokia-*, ...)
                args = ["--port", "0", "--target", vendor]
                args += list(itertools.chain.from_iterable(("--yang-path", str(d)) for d in dirs))
                servers[vendor] = stack.enter_context(spawned(args, timeout=120))
            return servers[vendor]

        yield start


def _client(server: SpawnedServer, vendor: str) -> gNMIclient:
    c = gNMIclient(target=("127.0.0.1", server.port_of(vendor)), insecure=True, username="u", password="p",
                   gnmi_timeout=10)
    c.connect()
    return c


@pytest.mark.parametrize(("vendor", "case"), BAD)
def test_pygnmi_set_that_violates_the_models_is_refused_naming_the_node(
        mocks: Mocks, vendor: str, case: int) -> None:
    path, good, bad = CASES[vendor]
    value, node, words = bad[case]
    with _client(mocks(vendor), vendor) as c:
        # the refused Set also carries a valid operation: the whole Set is refused, nothing applied
        other = path.replace("vpls-01", "vpls-02").replace("ethernet-1/1", "ethernet-1/2").replace("eth0", "eth1")
        good_other = {**good, "name": "eth1"} if vendor == "openconfig" else good
        with pytest.raises(gNMIException) as err:
            c.set(update=[(other, good_other), (path, value)], encoding="json_ietf")
        assert rpc_error(err.value).code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"/{node}:" in rpc_error(err.value).details() and words in rpc_error(err.value).details()
        results = set_results(err.value)
        assert results[1][1] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert results[0][1] == grpc.StatusCode.ABORTED.value[0]
        with pytest.raises(gNMIException) as missing:
            c.get(path=[other], encoding="json_ietf")
        assert rpc_error(missing.value).code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("vendor", list(CASES))
def test_nwi_driver_through_the_mock_refuses_by_name_and_accepts_the_valid(
        mocks: Mocks, vendor: str) -> None:
    path, good, bad = CASES[vendor]
    server = mocks(vendor)
    params = ConnectionParams("127.0.0.1", server.port_of(vendor), "u", "p", insecure=True)
    with GnmiDriver(vendor, params) as driver:  # no models on nwi's side: the device is the judge
        for value, node, _ in bad:
            txn = Transaction(vendor, [Change(Op.UPDATE, parse_path(path), value, owner="obj-bad")])
            with pytest.raises(TransactionRejected) as err:
                driver.apply(txn)
            assert err.value.failed_owners == ("obj-bad",)
            assert f"/{node}:" in err.value.message
        driver.apply(Transaction(vendor, [Change(Op.UPDATE, parse_path(path), good, owner="ok")]))
        read = driver.read([parse_path(path)])[parse_path(path)]
        assert read is not None and read["mtu" if "mtu" in good else "service-id"] in (9000, 1500, 4321)


def test_capabilities_announce_the_loaded_modules_with_revisions(mocks: Mocks) -> None:
    with _client(mocks("sros"), "sros") as c:
        models = {m["name"]: m for m in c.capabilities()["supported_models"]}
    revision = next(line.split()[1] for line in (Path(VENDORS["sros"][0][0]) / "revisions.txt").read_text()
                    .splitlines() if line.startswith("nokia-conf.yang"))
    assert models["nokia-conf"] == {"name": "nokia-conf", "organization": "Nokia", "version": revision}


def test_get_answers_rfc7951(mocks: Mocks) -> None:
    path, good, _ = CASES["openconfig"]
    with _client(mocks("openconfig"), "openconfig") as c:
        c.set(update=[(path, good)], encoding="json_ietf")
        whole = c.get(path=["/"], encoding="json_ietf")["notification"][0]["update"][0]["val"]
        at = c.get(path=[path], encoding="json_ietf")["notification"][0]["update"][0]["val"]
    assert list(whole) == ["openconfig-interfaces:interfaces"]  # top level: qualified
    assert at["type"] == "iana-if-type:ethernetCsmacd"  # identity: qualified by its own module
    assert at["mtu"] == 1500


def test_devices_file_gives_a_target_its_models(tmp_path: Path) -> None:
    dirs, modules = VENDORS["sros"]
    need(*dirs)
    from nwi.mockgnmi import devices

    doc = {"targets": [{"name": "pe1", "yangPath": [str(d) for d in dirs], "yangModules": list(modules),
                        "config": {"configure": {"service": {"vpls": [{"service-name": "v", "service-id": 0}]}}}}]}
    with pytest.raises(devices.DevicesFileError, match=r"targets\[0\] \(pe1\): config: .*service-id"):
        devices.parse(doc)
    del doc["targets"][0]["config"]  # type: ignore[attr-defined]
    (target,) = devices.parse(doc)
    assert any(m.name == "nokia-conf" for m in target.models)
    with pytest.raises(TransactionRejected, match="admin-stat"):
        target.datastore.commit(Transaction("pe1", [Change(Op.UPDATE, parse_path(CASES["sros"][0]),
                                                           {"admin-stat": "enable"})]))


def test_no_false_drift_when_the_target_answers_in_its_own_spelling(mocks: Mocks) -> None:
    """The target keeps the identity qualified and the MTU typed; nwi wrote them bare: in sync."""
    from nwi.planner import plan_object
    from nwi.schema import load_model_set
    from tests.unit.engine_kit import obj

    dirs, modules = VENDORS["openconfig"]
    server = mocks("openconfig")
    path = "/interfaces/interface[name=eth7]/config"
    desired = {"name": "eth7", "type": "ethernetCsmacd", "mtu": "9000"}
    params = ConnectionParams("127.0.0.1", server.port_of("openconfig"), "u", "p", insecure=True)
    with GnmiDriver("openconfig", params, load_model_set(dirs, modules)) as driver:
        driver.apply(Transaction("openconfig", [Change(Op.UPDATE, parse_path(path), desired, owner="eth7")]))
        read = driver.read([parse_path(path)])[parse_path(path)]
        assert read["type"] == "iana-if-type:ethernetCsmacd" and read["mtu"] == 9000
        o = obj("eth7", "openconfig", path, desired)
        assert plan_object(o, "openconfig", read, driver.typed).in_sync
        assert not plan_object(o, "openconfig", read).in_sync  # by text alone it would look drifted
