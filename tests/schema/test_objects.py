"""Per-object checks (nwi.schema.objects): the path and properties of one object against its models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nwi.path import parse_path
from nwi.schema import KIND_MODELS, ModelSet
from nwi.schema.objects import check_object


@pytest.fixture(scope="module")
def sros(sros_dir: Path) -> ModelSet:
    return KIND_MODELS["SROSConfig"].load([sros_dir])


VPLS = "/configure/service/vpls[service-name=vpls-01]"


def issues(ms: ModelSet, path: str, props: dict[str, Any] | None, op: str = "merge") -> list[str]:
    return [str(i) for i in check_object(ms, parse_path(path), props, op).issues]


def test_the_seed_vpls_is_valid_and_comes_out_as_rfc7951_json(sros: ModelSet) -> None:
    result = check_object(sros, parse_path(VPLS), {"admin-state": "enable", "customer": "1234",
                                                   "service-id": "4321", "service-name": "vpls-01"})
    assert result.ok, result.issues
    assert result.value == {"service-name": "vpls-01", "admin-state": "enable", "customer": "1234",
                            "service-id": 4321}
    assert [(str(u.path), u.target, u.value) for u in result.leafrefs] == [
        (f"{VPLS}/customer", "../../customer/customer-name", "1234")]


def test_misspelt_leaf_is_named_with_a_suggestion(sros: ModelSet) -> None:
    assert issues(sros, VPLS, {"admin-stat": "enable"}) == [
        f"{VPLS}/admin-stat: no such leaf in nokia-conf (did you mean admin-state?)"]


def test_out_of_range_and_unknown_enum_name_the_allowed_values(sros: ModelSet) -> None:
    (rng,) = issues(sros, VPLS, {"service-id": 0})
    assert rng.startswith(f"{VPLS}/service-id: Unsatisfied range") and "1..2147483647" in rng
    (enum,) = issues(sros, VPLS, {"admin-state": "enabled"})
    assert enum.startswith(f"{VPLS}/admin-state: Invalid enumeration value \"enabled\"")
    assert "one of enable, disable" in enum


def test_length_and_type_of_a_value(sros: ModelSet) -> None:
    (length,) = issues(sros, VPLS, {"description": "x" * 81})
    assert "length" in length and "1..80" in length
    (typ,) = issues(sros, VPLS, {"service-id": "abc"})
    assert "uint32" in typ


def test_path_errors_stop_at_the_element_at_fault(sros: ModelSet) -> None:
    assert issues(sros, "/configure/servce/vpls[service-name=x]", {}) == [
        "/configure/servce: no such node in nokia-conf (did you mean service?)"]
    assert issues(sros, "/configure/service/vpls[name=x]", {}) == [
        "/configure/service/vpls[name=x]: list vpls is keyed by service-name, not name"]
    assert issues(sros, "/configur/service", {})[0].startswith("/configur: no such top-level node")


def test_list_keys_in_properties_must_match_the_path(sros: ModelSet) -> None:
    assert issues(sros, VPLS, {"service-name": "vpls-01"}) == []
    assert issues(sros, VPLS, {"service-name": "other"}) == [
        f"{VPLS}/service-name: list key service-name is 'vpls-01' in the path but 'other' in the properties"]


def test_nested_lists_and_shapes(sros: ModelSet) -> None:
    assert issues(sros, VPLS, {"sap": [{"sap-id": "1/1/1:10", "description": "d"}]}) == []
    assert issues(sros, VPLS, {"sap": {"sap-id": "1/1/1:10"}})[0].startswith(
        f"{VPLS}/sap: list sap needs a list of entries")
    assert issues(sros, VPLS, {"sap": [{"sap-idd": "1/1/1:10"}]}) == [
        f"{VPLS}/sap: entry 0 of list sap lacks its key sap-id"]
    # errors inside an entry carry the entry's keys
    assert issues(sros, VPLS, {"sap": [{"sap-id": "1/1/1:10", "admin-state": "on"}]})[0].startswith(
        f"{VPLS}/sap[sap-id=1/1/1:10]/admin-state: Invalid enumeration value")
    assert issues(sros, VPLS, {"admin-state": {"x": 1}})[0].startswith(f"{VPLS}/admin-state: expected a single")


def test_state_data_is_refused_and_delete_checks_only_the_path(sros: ModelSet, sros_dir: Path) -> None:
    assert issues(sros, VPLS, {"admin-stat": "x"}, op="delete") == []
    assert issues(sros, "/configure/service/vplz[service-name=x]", None, op="delete")


def test_srlinux_and_openconfig_refuse_by_name(srlinux_dir: Path, openconfig_dir: Path) -> None:
    srl = KIND_MODELS["SRLinuxConfig"].load([srlinux_dir])
    ifp = "/interface[name=ethernet-1/1]"
    assert issues(srl, ifp, {"admin-state": "enable", "mtu": 9214, "description": "x"}) == []
    assert issues(srl, ifp, {"descripton": "x"}) == [
        f"{ifp}/descripton: no such leaf in srl_nokia-interfaces (did you mean description?)"]
    assert "1450..9500" in issues(srl, ifp, {"mtu": 100})[0]
    assert "one of enable, disable" in issues(srl, ifp, {"admin-state": "up"})[0]
    oc = KIND_MODELS["OpenConfig"].load([openconfig_dir])
    cfg = "/interfaces/interface[name=eth0]/config"
    assert issues(oc, cfg, {"name": "eth0", "type": "ethernetCsmacd", "mtu": 1500}) == []
    assert issues(oc, cfg, {"enabeld": True}) == [
        f"{cfg}/enabeld: no such leaf in openconfig-interfaces (did you mean enabled?)"]
    assert "uint16" in issues(oc, cfg, {"mtu": 99999})[0]
    assert "did you mean iana-if-type:ethernetCsmacd?" in issues(oc, cfg, {"type": "ethernetCsmcd"})[0]
    # an augment's node is named with its module (RFC 7951) and found
    sub = "/interfaces/interface[name=eth0]/subinterfaces/subinterface[index=0]"
    assert issues(oc, sub, {"index": 0, "openconfig-if-ip:ipv4": {"config": {"enabled": True}}}) == []
