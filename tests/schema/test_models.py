"""The model-set API (nwi.schema) against real models: loading, lookups, value checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from nwi.schema import KIND_MODELS, ModelSetError, check_value, load_model_set, models_for_kind, yang_paths


def test_sros_model_set_loads_once_and_answers_lookups(sros_dir: Path) -> None:
    ms = KIND_MODELS["SROSConfig"].load([sros_dir])
    assert KIND_MODELS["SROSConfig"].load([sros_dir]) is ms  # compiled once per process
    mods = {m.name: m for m in ms.modules()}
    assert mods["nokia-conf"].revision and mods["nokia-conf"].namespace == "urn:nokia.com:sros:ns:yang:sr:conf"
    assert mods["nokia-conf"].organization.startswith("Nokia")
    vpls = ms.node("/configure/service/vpls[service-name=vpls-01]")
    assert vpls is not None and vpls.keyword == "list" and vpls.keys == ("service-name",)
    assert ms.node("/nokia-conf:configure/service/vpls") is vpls
    assert ms.module_of("/configure/service/vpls") == "nokia-conf"
    assert ms.node("/configure/service/vpls/admin-stat") is None
    customer = vpls.child("customer")
    assert customer is not None and customer.type_name == "leafref"
    assert customer.leafref_path == "../../customer/customer-name"
    assert vpls.schema_path() == "/nokia-conf:configure/service/vpls"


def test_values_are_checked_by_libyang(sros_dir: Path) -> None:
    ms = KIND_MODELS["SROSConfig"].load([sros_dir])
    admin = ms.node("/configure/service/vpls/admin-state")
    sid = ms.node("/configure/service/vpls/service-id")
    assert admin is not None and sid is not None
    assert check_value(admin, "enable").error == ""
    assert "enumeration" in check_value(admin, "enabled").error
    assert "range" in check_value(sid, 0).error
    # YAML may give a number as text: checked by value, carried as a JSON number (RFC 7951, uint32)
    assert check_value(sid, "4321") == check_value(sid, 4321)
    assert check_value(sid, "4321").json == 4321


def test_srlinux_needs_its_features_and_gets_them(srlinux_dir: Path) -> None:
    ms = KIND_MODELS["SRLinuxConfig"].load([srlinux_dir])
    speed = ms.node("/interface[name=ethernet-1/1]/ethernet/port-speed")
    assert speed is not None and speed.type_name == "enumeration"
    assert check_value(speed, "100G").error == ""
    mtu = ms.node("/interface/mtu")
    assert mtu is not None and "range" in check_value(mtu, 100).error


def test_openconfig_identityref_accepts_a_bare_unique_identity(openconfig_dir: Path) -> None:
    ms = KIND_MODELS["OpenConfig"].load([openconfig_dir])
    typ = ms.node("/interfaces/interface/config/type")
    assert typ is not None and typ.type_name == "identityref"
    assert check_value(typ, "iana-if-type:ethernetCsmacd").json == "iana-if-type:ethernetCsmacd"
    assert check_value(typ, "ethernetCsmacd").json == "iana-if-type:ethernetCsmacd"
    assert check_value(typ, "notAType").error


def test_missing_directory_and_module_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelSetError, match="no such directory"):
        load_model_set([tmp_path / "absent"], ["x"])
    with pytest.raises(ModelSetError, match="cannot load module 'nokia-conf'"):
        load_model_set([tmp_path], ["nokia-conf"])


def test_linux_keeps_its_own_schema_and_env_gives_yang_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    assert models_for_kind("LinuxConfig") is None
    monkeypatch.setenv("NWI_YANG_PATH", "/a::/b")
    assert yang_paths(None) == [Path("/a"), Path("/b")]
    assert yang_paths([Path("/c")]) == [Path("/c")]
