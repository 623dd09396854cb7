"""Loading resources: forms accepted, and bad input named by file, object and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from nwi.loader import InvalidInput, build_object, load_paths, parse_depends_on
from nwi.model import ConfigObject, ObjectKey, Source
from tests.conftest import SAMPLES

DOC = """
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: OpenConfig
metadata: {name: eth0, namespace: lab}
spec:
  switchID: leaf1
  path: /interfaces/interface[name=eth0]/config
  properties: {mtu: 9000}
"""


def test_seed_sample_loads_with_legacy_top_level_properties() -> None:
    inputs = load_paths([SAMPLES / "seed"])
    assert inputs.errors == []
    by_name = {o.key.name: o for o in inputs.configs}
    vpls = by_name["vpls-01"]
    assert vpls.properties == {"admin-state": "enable", "customer": "1234", "service-id": 4321,
                               "service-name": "vpls-01"}
    assert vpls.depends_on == (ObjectKey("SROSConfig", "enc-nwi-system", "customer-1234"),)
    assert vpls.device_path.render() == "/configure/service/vpls[service-name=vpls-01]"


def test_spec_properties_win_over_top_level() -> None:
    obj = build_object({"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "OpenConfig",
                        "metadata": {"name": "x"}, "properties": {"a": 1},
                        "spec": {"switchID": "s", "path": "/a", "properties": {"b": 2}}}, Source())
    assert isinstance(obj, ConfigObject)
    assert obj.properties == {"b": 2}


def test_multi_document_and_list_files(tmp_path: Path) -> None:
    (tmp_path / "multi.yaml").write_text(DOC + "---\n" + DOC.replace("eth0", "eth1"))
    (tmp_path / "list.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- apiVersion: nwi.enc.nokia.com/v1alpha2\n  kind: LinuxConfig\n  metadata: {name: br0}\n"
        "  spec: {switchID: host1, path: '/interfaces/interface[name=br0]', properties: {type: bridge}}\n"
    )
    (tmp_path / "kustomization.yaml").write_text("resources: [multi.yaml]\n")
    inputs = load_paths([tmp_path])
    assert inputs.errors == []
    assert sorted(o.key.name for o in inputs.configs) == ["br0", "eth0", "eth1"]


def test_device_and_secret_documents(tmp_path: Path) -> None:
    (tmp_path / "dev.yaml").write_text(
        "apiVersion: nwi.enc.nokia.com/v1alpha2\nkind: Device\nmetadata: {name: 172.20.20.200}\n"
        "spec: {address: 127.0.0.1, port: 50051, driver: gnmi, insecure: true, credentialsSecretRef: {name: c}}\n"
        "---\napiVersion: v1\nkind: Secret\nmetadata: {name: c}\n"
        "data: {username: YWRtaW4=}\nstringData: {password: s3cret}\n"
    )
    inputs = load_paths([tmp_path])
    assert inputs.errors == []
    assert inputs.devices[0].address == "127.0.0.1"
    assert inputs.secrets[0].data == {"username": "admin", "password": "s3cret"}
    assert "s3cret" not in repr(inputs.secrets[0])


@pytest.mark.parametrize(
    ("sample", "field", "fragment"),
    [
        ("malformed-yaml.yaml", "", "malformed YAML: line 5"),
        ("unknown-kind.yaml", "kind", "unknown kind 'JunosConfig'"),
        ("unknown-apiversion.yaml", "apiVersion", "nwi.enc.nokia.com/v9"),
        ("missing-switchid.yaml", "spec.switchID", "Field required"),
        ("missing-path.yaml", "spec.path", "Field required"),
        ("unparsable-path.yaml", "spec.path", "not closed"),
        ("depends-on-not-a-list.yaml", "metadata.annotations[nwi.enc.nokia.com/depends_on]", "JSON list"),
        ("self-reference.yaml", "metadata.annotations[nwi.enc.nokia.com/depends_on][0]", "itself"),
        ("unknown-field.yaml", "spec.switchId", "unknown field"),
    ],
)
def test_bad_samples_name_file_object_and_field(sample: str, field: str, fragment: str) -> None:
    inputs = load_paths([SAMPLES / "bad" / sample])
    assert inputs.configs == []
    assert inputs.errors, sample
    err = next(e for e in inputs.errors if e.field == field)
    assert err.file.startswith(str(SAMPLES / "bad" / sample))
    assert fragment in err.message
    if field:
        assert err.object  # names the object


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("not json", "not valid JSON"),
        ('{"kind": "SROSConfig"}', "JSON list"),
        ("[1]", "object with kind and name"),
        ('[{"name": "x"}]', "kind"),
        ('[{"kind": "SROSConfig", "name": "x", "colour": "red"}]', "unknown field"),
        ('[{"kind": "Pod", "name": "x"}]', "not a config kind"),
        ('[{"apiVersion": "v1", "kind": "SROSConfig", "name": "x"}]', "not in group"),
    ],
)
def test_depends_on_errors(value: str, fragment: str) -> None:
    from nwi.loader import DependsOnError

    with pytest.raises(DependsOnError) as info:
        parse_depends_on(value, ObjectKey("SROSConfig", "ns", "me"))
    assert fragment in f"{info.value.where} {info.value.message}"


def test_depends_on_defaults_namespace_and_allows_cross_kind() -> None:
    refs = parse_depends_on('[{"kind": "OpenConfig", "name": "a"}, {"kind": "SROSConfig", "name": "b", '
                            '"namespace": "other"}]', ObjectKey("SROSConfig", "ns", "me"))
    assert refs == (ObjectKey("OpenConfig", "ns", "a"), ObjectKey("SROSConfig", "other", "b"))


def test_invalid_device_spec_names_the_field() -> None:
    with pytest.raises(InvalidInput) as info:
        build_object({"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "Device", "metadata": {"name": "d"},
                      "spec": {"port": 70000, "driver": "telnet"}}, Source("f.yaml", 1))
    fields = {e.field for e in info.value.errors}
    assert fields == {"spec.port", "spec.driver"}
