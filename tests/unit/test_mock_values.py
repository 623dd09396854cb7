"""The mock gNMI server's value rules: strict JSON for Set, JSON_IETF qualification for answers."""

from __future__ import annotations

import pytest

from nwi.mockgnmi.values import InvalidValue, find_null, modules_named, origin_module, parse_json, qualify
from nwi.path import parse_path


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "[1, NaN]", "{'a': 1}", "enable", "", "1 2",
                                  '{"a": 1,}'])
def test_only_rfc_7159_json_is_a_value(text: str) -> None:
    with pytest.raises(InvalidValue, match="not valid JSON"):
        parse_json(text.encode())


def test_the_error_names_the_place_not_the_text() -> None:
    # a configuration value may be a secret: the message never quotes it
    with pytest.raises(InvalidValue) as exc:
        parse_json(b'{"password": "hunter2", ')
    assert "hunter2" not in str(exc.value) and "line 1 column" in str(exc.value)


def test_bytes_that_are_not_utf8_are_invalid() -> None:
    with pytest.raises(InvalidValue, match="not UTF-8"):
        parse_json(b'"\xff"', bare_strings=True)


@pytest.mark.parametrize(("text", "value"), [("enable", "enable"), ("hello world", "hello world"), ("", ""),
                                             ("NaN", "NaN"), ("true", True), ('"quoted"', "quoted"), ("12", 12)])
def test_bare_strings_opt_in_takes_words_as_strings(text: str, value: object) -> None:
    assert parse_json(text.encode(), bare_strings=True) == value


@pytest.mark.parametrize("text", ['{"mtu": ', "[1, 2", '"open', "12ab", "-x", "  {x", "0x10"])
def test_text_that_starts_like_json_is_never_a_bare_word(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_json(text.encode(), bare_strings=True)


def test_find_null_points_at_the_null_but_empty_is_not_one() -> None:
    assert find_null(None) == ""
    assert find_null({"a": {"b": [1, None]}}) == "/a/b/1"
    assert find_null({"flag": [None], "x": 1}) is None  # RFC 7951: a leaf of type empty


def test_qualify_top_level_members_only() -> None:
    known = {"interfaces": "openconfig-interfaces", "system": "openconfig-system"}.get
    root = {"interfaces": {"interface": []}, "system": {"config": {}}, "other": 1, "ietf-x:y": 2}
    assert qualify(root, parse_path("/"), known) == {
        "openconfig-interfaces:interfaces": {"interface": []}, "openconfig-system:system": {"config": {}},
        "other": 1, "ietf-x:y": 2}
    entry = {"name": "eth0", "config": {"mtu": 1}}
    assert qualify(entry, parse_path("/interfaces/interface[name=eth0]"), known) == {
        "openconfig-interfaces:name": "eth0", "openconfig-interfaces:config": {"mtu": 1}}
    assert qualify([entry], parse_path("/interfaces/interface"), known) == [
        {"openconfig-interfaces:name": "eth0", "openconfig-interfaces:config": {"mtu": 1}}]
    assert qualify(1500, parse_path("/interfaces/interface[name=eth0]/config/mtu"), known) == 1500
    assert qualify(entry, parse_path("/bgp/neighbor"), known) == entry  # module unknown: left as it is


@pytest.mark.parametrize(("origin", "module"), [
    ("openconfig-interfaces", "openconfig-interfaces"), ("openconfig", None), ("rfc7951", None),
    ("srlinux_cli", None), ("eos_native", None), ("", None), ("announced", "announced")])
def test_an_origin_is_a_module_when_it_names_one(origin: str, module: str | None) -> None:
    assert origin_module(origin, {"announced"}) == module


def test_modules_named_by_a_written_path() -> None:
    assert modules_named(parse_path("/openconfig-interfaces:interfaces/interface")) == {
        "interfaces": "openconfig-interfaces"}
    assert modules_named(parse_path("openconfig-system:/system/config")) == {"system": "openconfig-system"}
    assert modules_named(parse_path("openconfig:/system/config")) == {}
    assert modules_named(parse_path("/")) == {}
