"""`nwi validate/plan/apply --yang-path`: schema errors name file, object and leaf; exit 3; nothing applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SAMPLES, NwiRunner

EXIT_INVALID = 3


def test_seed_validates_against_sros_19_7(nwi: NwiRunner, sros_dir: Path) -> None:
    result = nwi("validate", "--yang-path", sros_dir, SAMPLES / "seed")
    assert result.exit_code == 0, result.stderr
    assert "schema: checked 2 SROSConfig object(s) (SROSConfig: nokia-conf)" in result.stdout


def test_without_models_validate_says_schema_checks_were_not_done(nwi: NwiRunner,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NWI_YANG_PATH", raising=False)
    result = nwi("validate", SAMPLES / "bad" / "schema" / "sros.yaml")
    assert result.exit_code == 0
    assert "schema: not checked" in result.stdout


def test_env_gives_the_yang_path(nwi: NwiRunner, sros_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NWI_YANG_PATH", f"{sros_dir}:")
    result = nwi("validate", SAMPLES / "bad" / "schema" / "sros.yaml")
    assert result.exit_code == EXIT_INVALID


@pytest.mark.parametrize(("sample", "models", "expected"), [
    ("sros.yaml", "sros-19.7", [
        "SROSConfig enc-nwi-system/vpls-misspelt: /configure/service/vpls[service-name=vpls-01]/admin-stat: "
        "no such leaf in nokia-conf (did you mean admin-state?)",
        "SROSConfig enc-nwi-system/vpls-range: /configure/service/vpls[service-name=vpls-02]/service-id: "
        "Unsatisfied range",
        "SROSConfig enc-nwi-system/vpls-enum: /configure/service/vpls[service-name=vpls-03]/admin-state: "
        "Invalid enumeration value \"enabled\""]),
    ("srlinux.yaml", "srlinux-25.3.1", [
        "SRLinuxConfig fabric/if-misspelt: /interface[name=ethernet-1/1]/descripton: no such leaf",
        "SRLinuxConfig fabric/if-range: /interface[name=ethernet-1/2]/mtu: Unsatisfied range",
        "SRLinuxConfig fabric/if-enum: /interface[name=ethernet-1/3]/admin-state: Invalid enumeration value"]),
    ("openconfig.yaml", "openconfig-5.9.0", [
        "OpenConfig oc/oc-misspelt: /interfaces/interface[name=eth0]/config/enabeld: no such leaf",
        "OpenConfig oc/oc-range: /interfaces/interface[name=eth1]/config/mtu: Value \"99999\" is out of type uint16",
        "OpenConfig oc/oc-identity: /interfaces/interface[name=eth2]/config/type: Invalid identityref",
        "OpenConfig oc/oc-enum: /interfaces/interface[name=eth3]/config/loopback-mode: Invalid enumeration value "
        "\"LOCAL\""]),
])
def test_bad_schema_samples_are_refused_by_name(nwi: NwiRunner, state_dir: Path, sample: str, models: str,
                                                expected: list[str]) -> None:
    from tests.schema.conftest import SHARED_YANG

    if not (SHARED_YANG / models).is_dir():
        pytest.skip(f"YANG models not found at {SHARED_YANG / models}")
    path = SAMPLES / "bad" / "schema" / sample
    for command in (["validate", "--yang-path", SHARED_YANG / models, path],
                    ["plan", "--yang-path", SHARED_YANG / models, "-f", path],
                    ["apply", "--yang-path", SHARED_YANG / models, "-f", path]):
        result = nwi(*command)
        assert result.exit_code == EXIT_INVALID, (command, result.stdout, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == len(expected)
        for line, want in zip(lines, expected, strict=True):
            assert line.startswith(f"error: {path} (document ") and want in line, line
    assert not (state_dir / "devices").exists()  # nothing was applied
    assert nwi("get").stdout == ""


def test_samples_per_kind_validate(nwi: NwiRunner, sros_dir: Path, srlinux_dir: Path, openconfig_dir: Path) -> None:
    result = nwi("validate", "--yang-path", sros_dir, "--yang-path", srlinux_dir, "--yang-path", openconfig_dir,
                 SAMPLES / "yang", SAMPLES / "seed", SAMPLES / "l3vpn", SAMPLES / "gnmi" / "resources")
    assert result.exit_code == 0, result.stderr
    assert "OpenConfig object(s)" in result.stdout and "SRLinuxConfig object(s)" in result.stdout


YUMA_IETF = Path("/usr/share/yuma/modules/ietf")  # Debian's libyuma-base: the modules netconfd runs


def test_a_module_the_path_names_is_loaded_from_the_yang_path(nwi: NwiRunner, openconfig_dir: Path) -> None:
    # samples/netconf writes ietf-interfaces, ietf-ip and ietf-system (OpenConfig kind, over NETCONF): the
    # module a path names is loaded from the yang path, with the modules its properties name
    if not YUMA_IETF.is_dir():
        pytest.skip(f"{YUMA_IETF} absent (Debian package libyuma-base)")
    result = nwi("validate", "--yang-path", YUMA_IETF, SAMPLES / "netconf")
    assert result.exit_code == 0, result.stderr
    assert "schema: checked 4 OpenConfig object(s)" in result.stdout
    # OpenConfig's release ships ietf-interfaces but not ietf-ip: said so, on the node
    result = nwi("validate", "--yang-path", openconfig_dir, SAMPLES / "netconf")
    assert result.exit_code == EXIT_INVALID
    assert ("/ietf-interfaces:interfaces/interface[name=eth0]/ietf-ip:ipv4: no such node in ietf-interfaces: "
            "module ietf-ip is not in the models") in result.stderr


def test_a_device_naming_its_models_gets_its_objects_checked_without_yang_path(
        nwi: NwiRunner, sros_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NWI_YANG_PATH", raising=False)
    device = ("apiVersion: nwi.enc.nokia.com/v1alpha2\nkind: Device\n"
              "metadata: {name: 172.20.20.200, namespace: enc-nwi-system}\n"
              "spec: {address: 127.0.0.1, driver: virtual, models: {yangPath: [MODELS]}}\n")
    d = tmp_path / "in"
    d.mkdir()
    (d / "device.yaml").write_text(device.replace("MODELS", str(sros_dir)))
    (d / "bad.yaml").write_text((SAMPLES / "bad" / "schema" / "sros.yaml").read_text())
    result = nwi("validate", d)
    assert result.exit_code == EXIT_INVALID
    assert "admin-stat: no such leaf in nokia-conf (did you mean admin-state?)" in result.stderr
    (d / "bad.yaml").unlink()
    (d / "seed.yaml").write_text((SAMPLES / "seed" / "vpls-01.yaml").read_text())
    ok = nwi("validate", d)
    assert ok.exit_code == 0, ok.stderr
    assert "schema: checked 1 SROSConfig object(s)" in ok.stdout
    # models that do not load are an input error naming the object and its Device's spec.models
    (d / "device.yaml").write_text(device.replace("MODELS", str(tmp_path / "absent")))
    broken = nwi("validate", d)
    assert broken.exit_code == EXIT_INVALID
    assert "SROSConfig enc-nwi-system/vpls-01: spec.switchID: its Device's spec.models do not load: no such " \
           "directory" in broken.stderr
