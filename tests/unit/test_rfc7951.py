"""Encoding from the schema (RFC 7951) and typed comparison, on nwi's own small test modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from nwi.drivers.base import TransactionRejected
from nwi.path import parse_path
from nwi.planner import plan_object
from nwi.schema.models import ModelSet, load_model_set
from nwi.schema.rfc7951 import Codec, SchemaError
from tests.unit.engine_kit import obj
from tests.yang_models import write_test_modules


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> ModelSet:
    return load_model_set([write_test_modules(tmp_path_factory.mktemp("yang"))], ["nwi-test-base", "nwi-test-ext"])


@pytest.fixture(scope="module")
def codec(models: ModelSet) -> Codec:
    return Codec(models)


BOX = parse_path("/box")


def test_top_level_and_augmented_members_are_qualified(codec: Codec) -> None:
    doc = codec.encode(parse_path("/"), {"box": {"slot": [{"id": 1, "optics": {"power": 1.5}}]}})
    assert doc == {"nwi-test-base:box": {"slot": [{"id": 1, "nwi-test-ext:optics": {"power": "1.5"}}]}}
    # below the path's node, only a change of module qualifies a name
    assert codec.encode(parse_path("/box/slot[id=1]"), {"optics": {"power": 2}}) == \
        {"nwi-test-ext:optics": {"power": "2.0"}}


def test_64_bit_integers_and_decimal64_are_strings_smaller_integers_numbers(codec: Codec) -> None:
    value = codec.encode(BOX, {"big": 9007199254740993, "ubig": "18446744073709551615", "ratio": 0.5,
                               "small": "4321", "on": "true", "marker": [None]})
    assert value == {"big": "9007199254740993", "ubig": "18446744073709551615", "ratio": "0.5",
                     "small": 4321, "on": True, "marker": [None]}


def test_identityref_is_qualified_with_the_module_defining_the_identity(codec: Codec) -> None:
    assert codec.encode(BOX, {"medium": "fibre"}) == {"medium": "nwi-test-ext:fibre"}
    assert codec.encode(BOX, {"medium": "nwi-test-ext:fibre"}) == {"medium": "nwi-test-ext:fibre"}


@pytest.mark.parametrize(("value", "where", "words"), [
    ({"lable": "x"}, "/box/lable", "no such node in nwi-test-base (did you mean label?)"),
    ({"small": -1}, "/box/small", "uint32"),
    ({"level": "medium"}, "/box/level", "enumeration"),
    ({"medium": "copper"}, "/box/medium", "identityref"),
    ({"counters": {"hits": 1}}, "/box/counters", "state data"),
    ({"slot": [{"id": 1, "optics": {"powr": 1}}]}, "/box/slot[id=1]/optics/powr", "did you mean power?"),
])
def test_what_the_schema_refuses_is_named(codec: Codec, value: dict[str, object], where: str, words: str) -> None:
    with pytest.raises(SchemaError) as err:
        codec.encode(BOX, value)
    assert err.value.where == where
    assert words in err.value.message


def test_list_keys_in_a_path_must_be_the_schemas(codec: Codec) -> None:
    with pytest.raises(SchemaError, match="keyed by id"):
        codec.encode(parse_path("/box/slot[name=1]"), {})


def test_qualified_path_names_the_module_where_it_changes(codec: Codec) -> None:
    assert str(codec.qualified_path(parse_path("/box/slot[id=1]/optics/power"))) == \
        "/nwi-test-base:box/slot[id=1]/nwi-test-ext:optics/power"


def test_typed_values_compare_as_the_device_reads_them(codec: Codec) -> None:
    written = {"small": 1234, "label": 1234, "ratio": 1.5, "medium": "fibre", "big": 10, "tags": "a"}
    read = {"small": "1234", "label": "1234", "ratio": "1.50", "medium": "nwi-test-ext:fibre", "big": "10",
            "tags": ["a"]}
    assert codec.typed(BOX, written) == codec.typed(BOX, read)
    assert codec.typed(BOX, {"ratio": 1.5}) != codec.typed(BOX, {"ratio": 1.25})
    # XML reads a one-entry list like a container: the schema knows better
    assert codec.typed(BOX, {"slot": {"id": "1"}}) == {"slot": [{"id": 1}]}


def test_the_planner_finds_no_drift_where_only_the_spelling_differs(codec: Codec) -> None:
    o = obj("b", "d", "/box", {"ratio": 1.5, "medium": "fibre", "small": 1234})
    read = {"ratio": "1.50", "medium": "nwi-test-ext:fibre", "small": "1234"}
    assert plan_object(o, "d", read).change is not None  # text comparison alone sees a difference
    assert plan_object(o, "d", read, codec.typed).in_sync
    assert not plan_object(o, "d", {**read, "ratio": "1.25"}, codec.typed).in_sync


def test_whole_configuration_checks(codec: Codec, tmp_path: Path) -> None:
    assert codec.check({"box": {"small": 1}}) == []
    problems = codec.check({"box": {"small": "x"}})
    assert problems and problems[0].where == "/box/small"


def test_gnmi_driver_sends_json_ietf_as_the_models_say(models: ModelSet) -> None:
    import json

    from nwi.drivers.base import Change, ConnectionParams, Op
    from nwi.drivers.gnmi import GnmiDriver

    params = ConnectionParams("127.0.0.1", 1, insecure=True)
    change = Change(Op.UPDATE, BOX, {"big": 10, "medium": "fibre", "slot": [{"id": 1, "optics": {"power": 1}}]})
    request = GnmiDriver("d", params, models)._build([change])  # the SetRequest, as it goes on the wire
    sent = json.loads(request.update[0].val.json_ietf_val)
    assert sent == {"big": "10", "medium": "nwi-test-ext:fibre",
                    "slot": [{"id": 1, "nwi-test-ext:optics": {"power": "1.0"}}]}
    plain = GnmiDriver("d", params)._build([change])  # without models: as written
    assert json.loads(plain.update[0].val.json_ietf_val) == change.value
    with pytest.raises(TransactionRejected, match="lable"):  # refused before anything is sent
        GnmiDriver("d", params, models)._build([change._replace(value={"lable": 1}, owner="o")])
