"""`nwi plan --yang-path`: each device's candidate tree validated whole; leafrefs, inferred edges, and
warnings (not errors) where nwi does not know the device's whole configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nwi.mockgnmi import memory_target, running
from tests.conftest import SAMPLES, NwiRunner

EXIT_INVALID = 3
CUSTOMER = (SAMPLES / "seed" / "customer-1234.yaml").read_text()
VPLS_NO_DEPS = """\
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: SROSConfig
metadata: {name: vpls-01, namespace: enc-nwi-system}
spec:
  switchID: SWITCH
  path: /service/vpls[service-name=vpls-01]
  properties: {admin-state: enable, customer: "1234", service-id: 4321}
"""
DEVICE = """\
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {name: pe1, namespace: enc-nwi-system}
spec: {address: 127.0.0.1, port: PORT, driver: gnmi, insecure: true, timeouts: {connect: 5, operation: 10}}
"""


def write(d: Path, name: str, text: str) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(text)
    return d


def test_a_leafref_no_object_satisfies_is_an_error_on_a_known_device(nwi: NwiRunner, sros_dir: Path) -> None:
    sample = SAMPLES / "bad" / "schema" / "leafref.yaml"
    assert nwi("validate", "--yang-path", sros_dir, sample).exit_code == 0  # each object is valid alone
    result = nwi("plan", "--yang-path", sros_dir, "-f", sample)
    assert result.exit_code == EXIT_INVALID, result.stderr
    assert (f"error: {sample} (document 1): SROSConfig enc-nwi-system/vpls-no-customer: "
            "/configure/service/vpls[service-name=vpls-09]/customer: Invalid leafref value \"999\"") in result.stderr
    assert "No object creates it, and the device does not hold it" in result.stderr
    # without models: free-form, the plan is shown
    assert nwi("plan", "-f", sample).exit_code == 0


def test_the_seed_plans_clean_and_the_device_satisfies_a_leafref(nwi: NwiRunner, sros_dir: Path,
                                                                 tmp_path: Path) -> None:
    result = nwi("plan", "--yang-path", sros_dir, "-f", SAMPLES / "seed")
    assert result.exit_code == 0, result.stderr
    assert "suggested depends_on" not in result.stdout and "warning" not in result.stderr
    # the customer is on the (virtual) device from an earlier apply: a VPLS alone is fine
    assert nwi("apply", "-f", SAMPLES / "seed" / "customer-1234.yaml").exit_code == 0
    vpls = write(tmp_path / "vpls", "vpls.yaml", VPLS_NO_DEPS.replace("SWITCH", "172.20.20.200"))
    result = nwi("plan", "--yang-path", sros_dir, "-f", vpls)
    assert result.exit_code == 0, result.stderr
    assert "suggested depends_on" not in result.stdout


def test_a_leafref_into_an_object_that_is_not_a_dependency_suggests_the_edge(nwi: NwiRunner, sros_dir: Path,
                                                                            tmp_path: Path) -> None:
    d = write(tmp_path / "in", "customer.yaml", CUSTOMER)
    write(d, "vpls.yaml", VPLS_NO_DEPS.replace("SWITCH", "172.20.20.200"))
    result = nwi("plan", "--yang-path", sros_dir, "-f", d)
    assert result.exit_code == 0, result.stderr
    assert ("SROSConfig/enc-nwi-system/vpls-01 -> SROSConfig/enc-nwi-system/customer-1234: "
            "/configure/service/vpls[service-name=vpls-01]/customer refers to "
            "/configure/service/customer[customer-name=1234]/customer-name") in result.stdout
    line = next(x for x in result.stdout.splitlines() if "nwi.enc.nokia.com/depends_on:" in x)
    refs = json.loads(line.split("nwi.enc.nokia.com/depends_on: ", 1)[1].strip("'"))
    assert refs == [{"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "SROSConfig", "name": "customer-1234",
                     "namespace": "enc-nwi-system"}]
    doc = json.loads(nwi("plan", "--yang-path", sros_dir, "-f", d, "-o", "json").stdout)
    assert doc["schema"]["inferredEdges"] == [{
        "object": "SROSConfig/enc-nwi-system/vpls-01",
        "dependsOn": {"kind": "SROSConfig", "name": "customer-1234", "namespace": "enc-nwi-system"},
        "leaf": "/configure/service/vpls[service-name=vpls-01]/customer",
        "target": "/configure/service/customer[customer-name=1234]/customer-name"}]
    # with the edge the suggestion goes away (the seed: the same objects with depends_on)
    assert "suggested" not in nwi("plan", "--yang-path", sros_dir, "-f", SAMPLES / "seed").stdout


@pytest.mark.protocol
def test_on_a_device_nwi_only_partly_reads_such_findings_are_warnings(nwi: NwiRunner, sros_dir: Path,
                                                                      tmp_path: Path) -> None:
    with running([memory_target("pe1")]) as srv:
        d = write(tmp_path / "in", "device.yaml", DEVICE.replace("PORT", str(srv.port_of("pe1"))))
        write(d, "vpls.yaml", VPLS_NO_DEPS.replace("SWITCH", "pe1"))
        result = nwi("plan", "--yang-path", sros_dir, "-f", d)
    assert result.exit_code == 0, result.stderr
    assert ("warning: " in result.stderr and "vpls-01: /configure/service/vpls[service-name=vpls-01]/customer: "
            "Invalid leafref value \"1234\"" in result.stderr)
    assert "nwi has not read the device's whole configuration, so the device may hold it" in result.stderr


def test_srlinux_must_over_defaults_is_only_a_warning_on_a_partial_tree(nwi: NwiRunner, srlinux_dir: Path,
                                                                        tmp_path: Path) -> None:
    with running([memory_target("leaf1")]) as srv:
        d = write(tmp_path / "in", "device.yaml",
                  DEVICE.replace("pe1", "leaf1").replace("PORT", str(srv.port_of("leaf1"))))
        text = (SAMPLES / "yang" / "srlinux" / "interface.yaml").read_text().replace("yang-demo", "enc-nwi-system")
        write(d, "srl.yaml", text)
        result = nwi("plan", "--yang-path", srlinux_dir, "-f", d)
    assert result.exit_code == 0, result.stderr
    assert "error:" not in result.stderr


def test_srlinux_must_over_a_default_is_a_warning_even_on_a_known_device(nwi: NwiRunner, srlinux_dir: Path) -> None:
    result = nwi("plan", "--yang-path", srlinux_dir, "-f", SAMPLES / "yang" / "srlinux")
    assert result.exit_code == 0, result.stderr
    assert ("warning: " in result.stderr and "/interface[name=ethernet-1/1]/swap-src-dst-mac: MAC SWAP is only "
            "supported when interface loopback mode is facility (on swap-src-dst-mac's default value") in result.stderr


def test_a_missing_mandatory_node_is_pinned_to_its_object(nwi: NwiRunner, openconfig_dir: Path,
                                                          tmp_path: Path) -> None:
    d = write(tmp_path / "in", "oc.yaml", """\
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: OpenConfig
metadata: {name: eth9, namespace: oc}
spec:
  switchID: oc-router
  path: /interfaces/interface[name=eth9]
  properties: {name: eth9, config: {name: eth9, mtu: 1500}}
""")
    result = nwi("plan", "--yang-path", openconfig_dir, "-f", d)
    assert result.exit_code == EXIT_INVALID
    assert ("OpenConfig oc/eth9: /interfaces/interface[name=eth9]/config/type: Mandatory node \"type\" instance does "
            "not exist.") in result.stderr


def test_add_inferred_deps_orders_this_run_by_the_leafrefs(nwi: NwiRunner, sros_dir: Path, tmp_path: Path) -> None:
    d = write(tmp_path / "in", "customer.yaml", CUSTOMER)
    write(d, "vpls.yaml", VPLS_NO_DEPS.replace("SWITCH", "172.20.20.200"))
    before = json.loads(nwi("plan", "--yang-path", sros_dir, "-f", d, "-o", "json").stdout)
    assert len(before["waves"]) == 1  # without the edge both go out together
    result = nwi("plan", "--yang-path", sros_dir, "--add-inferred-deps", "-f", d, "-o", "json")
    assert result.exit_code == 0, result.stderr
    waves = [[o["object"] for b in w for o in b["objects"]] for w in json.loads(result.stdout)["waves"]]
    assert waves == [["SROSConfig/enc-nwi-system/customer-1234"], ["SROSConfig/enc-nwi-system/vpls-01"]]
    assert ("added depends_on SROSConfig/enc-nwi-system/vpls-01 -> SROSConfig/enc-nwi-system/customer-1234 for "
            "this run") in result.stderr
    assert (d / "vpls.yaml").read_text() == VPLS_NO_DEPS.replace("SWITCH", "172.20.20.200")  # files unchanged
    applied = nwi("apply", "--yang-path", sros_dir, "--add-inferred-deps", "-f", d)
    assert applied.exit_code == 0, applied.stderr
    assert applied.stdout.index("customer-1234") < applied.stdout.index("vpls-01")


def test_an_edge_that_would_close_a_cycle_is_left_out_and_the_order_questioned(nwi: NwiRunner, sros_dir: Path,
                                                               tmp_path: Path) -> None:
    # the customer (oddly) depends on the VPLS; the VPLS's leafref into the customer cannot become an edge
    customer = CUSTOMER.replace("metadata:\n  name: customer-1234\n", "metadata:\n  name: customer-1234\n"
                                "  annotations:\n    nwi.enc.nokia.com/depends_on: '[{\"kind\": \"SROSConfig\", "
                                "\"name\": \"vpls-01\"}]'\n")
    d = write(tmp_path / "in", "customer.yaml", customer)
    write(d, "vpls.yaml", VPLS_NO_DEPS.replace("SWITCH", "172.20.20.200"))
    result = nwi("plan", "--yang-path", sros_dir, "--add-inferred-deps", "-f", d)
    assert result.exit_code == 0, result.stderr
    assert "added depends_on" not in result.stderr and "suggested" not in result.stdout
    assert ("vpls-01: /configure/service/vpls[service-name=vpls-01]/customer: refers to "
            "/configure/service/customer[customer-name=1234]/customer-name, which SROSConfig/enc-nwi-system/"
            "customer-1234 creates, but SROSConfig/enc-nwi-system/customer-1234 depends on "
            "SROSConfig/enc-nwi-system/vpls-01") in result.stderr
