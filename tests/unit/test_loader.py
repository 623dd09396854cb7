"""Loading resources: forms accepted, and bad input named by file, object and field."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nwi import jsontext
from nwi.loader import InvalidInput, build_object, load_paths, parse_depends_on
from nwi.model import ConfigObject, ObjectKey, Source
from tests.conftest import SAMPLES

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)

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


def test_a_dependency_is_the_very_key_of_the_object_it_names() -> None:
    """Graph lookups then match by identity, and a reference costs no tuple of its own."""
    def doc(name: str, deps: list[str]) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "namespace": "ns"}
        if deps:
            meta["annotations"] = {"nwi.enc.nokia.com/depends_on": json.dumps([{"kind": "SROSConfig", "name": d}
                                                                              for d in deps])}
        return {"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "SROSConfig", "metadata": meta,
                "spec": {"switchID": "r1", "path": f"/{name}"}}

    before = build_object(doc("later", ["first"]), Source("t"))  # named before it exists
    first = build_object(doc("first", []), Source("t"))
    after = build_object(doc("after", ["first"]), Source("t"))
    assert isinstance(first, ConfigObject) and isinstance(before, ConfigObject) and isinstance(after, ConfigObject)
    assert before.depends_on[0] is first.key and after.depends_on[0] is first.key


def test_invalid_device_spec_names_the_field() -> None:
    with pytest.raises(InvalidInput) as info:
        build_object({"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "Device", "metadata": {"name": "d"},
                      "spec": {"port": 70000, "driver": "telnet"}}, Source("f.yaml", 1))
    fields = {e.field for e in info.value.errors}
    assert fields == {"spec.port", "spec.driver"}


# PyYAML's safe loading is the reference for parse_yaml's shortcuts: every document, value type and error
# must come out the same. Scalars are chosen for YAML 1.1's odd corners, which PyYAML (not YAML 1.2) follows.
_TRICKY_YAML = [
    "a: yes\nb: No\nc: ON\nd: off\ne: y\nf: n\ng: True\nh: FALSE\n",
    "a: 010\nb: 0o17\nc: 0x1F\nd: 0b101\ne: 1_000\nf: 1:30\ng: -0\nh: +5\ni: 08\n",
    "a: 1.5\nd: 1e3\ne: 6.8523015e+5\nf: 190:20:30.15\ng: 1_0.5\nh: .5\n",
    "a: ~\nb: null\nc: Null\nd:\ne: ''\nf: 'null'\n",
    "a: '123'\nb: \"yes\"\nc: !!str 123\nd: !!int '5'\ne: !!float '1'\n",
    "when: 2001-12-14\nts: 2001-12-14t21:59:43.10-05:00\n",
    "data: !!binary aGVsbG8=\n",
    "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\np: !!pairs [{a: 1}]\n",
    "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n",
    "a: {<<: {x: 1}, y: 2}\n",
    "=: value-key\n",
    "a: {=: 1}\n",
    "1: int-key\nyes: bool-key\n~: null-key\n1.5: float-key\n",
    "? [a, b]\n: unhashable\n",
    "? {a: 1}\n: unhashable\n",
    "a: !foo bar\n",
    "!!map {a: 1}\n",
    "!!str {a: 1}\n",
    "!!seq {a: 1}\n",
    "a: !!str [1]\n",
    "--- 1\n--- two\n---\n--- [3]\n...\n",
    "",
    "# only a comment\n",
    "a: [1, {b: [2, {c: 3}]}]\n",
    "[" * 100 + "]" * 100,
    "[" * 900 + "]" * 900,  # deeper than the direct construction goes (and than Python recursion would)
    "a: " + "{b: " * 70 + "1" + "}" * 70 + "\n",
    "a: *undefined\n",
    "a: b: c\n",
    "key: 'unterminated\n",
    "- a\nb: c\n",
    "a: |\n  block\n  text\nb: >\n  folded\n  text\n",
    "a: \"esc\\tapes \\u00e9\"\n",
]


def _reference(text: str) -> str:
    import yaml

    try:
        return repr([(type(d).__name__, d) for d in yaml.load_all(text, Loader=yaml.CSafeLoader)])
    except yaml.YAMLError as exc:
        return f"error: {exc}"


def _ours(text: str) -> str:
    import yaml

    from nwi.loader import parse_yaml

    try:
        return repr([(type(d).__name__, d) for d in parse_yaml(text)])
    except yaml.YAMLError as exc:
        return f"error: {exc}"


def test_the_loader_has_no_path_resolvers() -> None:
    # the loader replaces PyYAML's per-node resolver hooks with no-ops, right only without them
    from nwi.loader import _Loader

    assert not _Loader.yaml_path_resolvers


@pytest.mark.parametrize("text", _TRICKY_YAML)
def test_yaml_is_read_as_pyyaml_safe_load_reads_it(text: str) -> None:
    assert _ours(text) == _reference(text)


@pytest.mark.parametrize("text", [
    "a: 1\nb: 2\na: 3\n",                          # built directly
    "x: &x {k: 1}\na: 1\nb: *x\na: 3\n",             # anchors: built by PyYAML's constructor
    "spec:\n  path: /a\n  path: /b\n",              # nested
    '{"a": 1, "a": 2}',                                # JSON input files too
])
def test_duplicate_keys_are_refused_naming_both_places(text: str) -> None:
    """PyYAML keeps the last of two equal keys (``path:`` twice applied the second); the Kubernetes
    API refuses the document, and so does nwi, saying where each one is."""
    import yaml

    from nwi.loader import parse_yaml

    with pytest.raises(yaml.YAMLError) as caught:
        parse_yaml(text)
    first = next(i for i, line in enumerate(text.splitlines()) if "a" in line or "path" in line)
    assert "duplicate key" in str(caught.value)
    assert f"first at line {first + 1}" in str(caught.value) or "first at line 1" in str(caught.value)
    assert caught.value.problem_mark is not None  # type: ignore[attr-defined]


def test_merge_keys_may_repeat_what_they_merge() -> None:
    from nwi.loader import parse_yaml

    assert parse_yaml("base: &b {a: 1}\nx:\n  <<: *b\n  a: 2\n")[0]["x"] == {"a": 2}


@settings(max_examples=300)
@given(json_like, st.booleans())
def test_generated_yaml_is_read_as_pyyaml_safe_load_reads_it(value: Any, flow: bool) -> None:
    import yaml

    text = yaml.safe_dump_all([value, {"doc": value}], default_flow_style=flow, allow_unicode=True)
    assert _ours(text) == _reference(text)


@settings(max_examples=300)
@given(st.text(alphabet="ab1:- \n[]{}&*!?#'\"<=~.yn", max_size=40))
def test_yaml_noise_is_read_as_pyyaml_safe_load_reads_it(text: str) -> None:
    assert _ours(text) == _reference(text)


def test_plain_documents_take_the_direct_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    # the comparisons above would pass vacuously if every document went through PyYAML's constructor
    from nwi import loader

    def refuse(*_: Any) -> None:
        raise AssertionError("PyYAML constructor used")

    monkeypatch.setattr(loader._Loader, "construct_document", refuse)
    assert loader.parse_yaml(DOC) == [{"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "OpenConfig",
                                       "metadata": {"name": "eth0", "namespace": "lab"},
                                       "spec": {"switchID": "leaf1", "path": "/interfaces/interface[name=eth0]/config",
                                                "properties": {"mtu": 9000}}}]
    with pytest.raises(AssertionError):
        loader.parse_yaml("when: 2001-12-14\n")


def test_mapping_keys_are_shared_between_documents() -> None:
    # a repository repeats a few hundred key names in every document: one string each, not one per use
    from nwi.loader import parse_yaml

    first, second = parse_yaml("a:\n  admin-state: enable\n---\nb:\n  admin-state: disable\n")
    [(key_1, value_1)] = first["a"].items()
    [(key_2, value_2)] = second["b"].items()
    assert key_1 == key_2 == "admin-state" and key_1 is key_2
    assert (value_1, value_2) == ("enable", "disable")


@pytest.mark.parametrize("value", ["!!int s3cret", "!!float s3cret", "!!bool s3cret", "!!timestamp s3cret",
                                   "[1, !!int s3cret]"])
def test_unreadable_tagged_values_are_errors_not_crashes(tmp_path: Path, value: str) -> None:
    # PyYAML raises plain ValueError/KeyError/AttributeError for these; the loader must report them
    f = tmp_path / "tagged.yaml"
    f.write_text(f"apiVersion: v1\nkind: Secret\nstringData:\n  password: {value}\n")
    errors = load_paths([f]).errors
    assert len(errors) == 1
    assert errors[0].file == str(f)
    assert "malformed YAML: line 4, column" in errors[0].message
    assert "value is not a valid !!" in errors[0].message
    assert "s3cret" not in errors[0].message


@pytest.mark.parametrize("value", [".nan", ".NaN", ".inf", "-.Inf", "!!float .nan", "[1, {a: .inf}]"])
@pytest.mark.parametrize("anchored", [False, True])  # PyYAML's own construction path as well as the direct one
def test_nan_and_infinity_are_refused_with_their_place(tmp_path: Path, value: str, anchored: bool) -> None:
    # JSON has no NaN or Infinity: stored, hashed or sent to a device they would turn into something else
    f = tmp_path / "mtu.yaml"
    props = f"&p {{mtu: {value}}}" if anchored else f"{{mtu: {value}}}"
    f.write_text("apiVersion: nwi.enc.nokia.com/v1alpha2\nkind: SROSConfig\nmetadata: {name: eth0}\n"
                 f"spec:\n  switchID: leaf1\n  path: /port[port-id=1/1/1]\n  properties: {props}\n")
    result = load_paths([f])
    assert not result.configs
    assert len(result.errors) == 1 and result.errors[0].file == str(f)
    assert "malformed YAML: line 7, column" in result.errors[0].message
    assert "not a number JSON can carry" in result.errors[0].message


@pytest.mark.parametrize("value", ["2001-12-14", "2001-12-14T21:59:43Z", "!!binary aGk=", "!!set {a, b}"])
def test_properties_that_are_not_json_are_refused_not_a_crash(tmp_path: Path, value: str) -> None:
    f = tmp_path / "when.yaml"
    f.write_text("apiVersion: nwi.enc.nokia.com/v1alpha2\nkind: SROSConfig\nmetadata: {name: clock}\n"
                 f"spec:\n  switchID: leaf1\n  path: /system\n  properties: {{when: {value}}}\n")
    result = load_paths([f])
    assert not result.configs
    assert [(e.file, e.field) for e in result.errors] == [(f"{f} (document 1)", "spec.properties")]
    assert "not JSON" in result.errors[0].message and result.errors[0].object == "SROSConfig default/clock"


def test_manifest_json_is_the_manifest() -> None:
    """The store writes manifest_json(); re-loading it must give back exactly manifest()."""
    docs = [
        {"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "SROSConfig",
         "metadata": {"name": "plain", "namespace": "ns"},
         "spec": {"switchID": "pe1", "path": "/service/customer[customer-name=c]", "properties": {"id": 1}}},
        {"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "SROSConfig",
         "metadata": {"name": "rich", "namespace": "ns", "annotations": {
             "nwi.enc.nokia.com/depends_on": '[{"kind": "SROSConfig", "name": "plain"}]'}},
         "spec": {"switchID": "pe1", "path": "/service/vpls[service-name=v]", "operation": "replace",
                  "driftPolicy": "report",
                  "properties": {"description": "naïve \"quoted\" ✓", "mtu": 9.5e3, "big": 2**70 + 1, "none": None,
                                 "flag": False, "list": [{"sap-id": "1/1/1:10", "x": None}], "empty": {}}}},
        {"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "SROSConfig",
         "metadata": {"name": "gone", "namespace": "ns"},
         "spec": {"switchID": "pe1", "path": "/service/vprn[service-name=x]", "operation": "delete"}},
    ]
    for doc in docs:
        obj = build_object(doc, Source("test"))
        assert isinstance(obj, ConfigObject)
        assert json.loads(obj.manifest_json()) == obj.manifest()
        again = build_object(json.loads(obj.manifest_json()), Source("test"))
        assert again == obj
        # as the store reads it back: 2**70 + 1 must stay an integer, to the last digit
        assert build_object(jsontext.loads(obj.manifest_json()), Source("test")) == obj
        # the store's copy at a generation is the object dataclasses.replace would make
        assert obj.at_generation(7) == dataclasses.replace(obj, generation=7) != obj
        assert obj.at_generation(7).device_path == obj.device_path and obj.generation is None
