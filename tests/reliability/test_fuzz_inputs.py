"""Hostile input: the loader, the path parser and the depends_on parser never crash or hang.

Every input either loads or yields errors naming where; nothing raises past the loader.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nwi.loader import DependsOnError, InputSet, load_document, load_file, parse_depends_on
from nwi.model import ObjectKey, Source
from nwi.path import PathError, parse_path

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)

resource_like = st.fixed_dictionaries(
    {},
    optional={
        "apiVersion": st.sampled_from(["nwi.enc.nokia.com/v1alpha2", "v1", "x/y"]) | json_values,
        "kind": st.sampled_from(["SROSConfig", "OpenConfig", "Device", "Secret", "List", "LinuxConfig"]) | json_values,
        "metadata": st.fixed_dictionaries({}, optional={
            "name": st.text(max_size=10) | json_values,
            "namespace": st.text(max_size=10) | json_values,
            "annotations": st.dictionaries(st.just("nwi.enc.nokia.com/depends_on"), st.text(max_size=30) | json_values),
        }) | json_values,
        "spec": st.fixed_dictionaries({}, optional={
            "switchID": st.text(max_size=10) | json_values,
            "path": st.text(max_size=30) | json_values,
            "operation": st.sampled_from(["merge", "replace", "delete", "oops"]),
            "properties": json_values,
            "address": json_values,
            "port": json_values,
        }) | json_values,
        "properties": json_values,
        "items": st.lists(json_values, max_size=3),
        "data": json_values,
        "stringData": json_values,
    },
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(resource_like)
def test_any_document_loads_or_reports(doc: dict[str, Any]) -> None:
    result = load_document(doc, Source("fuzz.yaml", 1))
    assert isinstance(result, InputSet)
    for err in result.errors:
        assert err.file == "fuzz.yaml (document 1)"
        assert err.message


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_text_file_loads_or_reports(tmp_path: Path, text: str) -> None:
    f = tmp_path / "fuzz.yaml"
    f.write_text(text)
    result = load_file(f)
    for err in result.errors:
        assert err.file.startswith(str(f))


@settings(max_examples=300)
@given(st.text(max_size=60) | json_values.map(json.dumps))
def test_depends_on_parses_or_names_the_problem(value: str) -> None:
    try:
        refs = parse_depends_on(value, ObjectKey("SROSConfig", "ns", "me"))
    except DependsOnError as exc:
        assert exc.message
        return
    assert all(isinstance(r, ObjectKey) for r in refs)


@settings(max_examples=500)
@given(st.text(alphabet="/[]=\\:*ab-1 ", max_size=40))
def test_path_parser_on_path_like_noise(text: str) -> None:
    try:
        p = parse_path(text)
    except PathError as exc:
        assert 0 <= exc.position <= len(text)
        return
    assert parse_path(p.render()) == p


def test_alias_bomb_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.yaml"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    prev = "a"
    for n in "bcdefghi":
        lines.append(f"{n}: &{n} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = n
    bomb.write_text("\n".join(lines))
    assert "expands to more than" in load_file(bomb).errors[0].message
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 50_000 + "]" * 50_000)
    assert "nest" in load_file(deep).errors[0].message  # ours, or libyaml's own depth limit


def test_oversized_properties_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "big.yaml"
    f.write_text(json.dumps({"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "OpenConfig",
                             "metadata": {"name": "big"},
                             "spec": {"switchID": "s", "path": "/a", "properties": {"blob": "x" * 2_000_000}}}))
    errors = load_file(f).errors
    assert [(e.field, "at most" in e.message) for e in errors] == [("spec.properties", True)]
