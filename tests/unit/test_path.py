"""gNMI path strings: parse, render back identically, and clear errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nwi.path import GnmiPath, PathElem, PathError, _parse_escaped, _parse_plain, parse_path


@pytest.mark.parametrize(
    "text",
    [
        "/",
        "/interfaces",
        "/interfaces/interface[name=eth0]/config",
        "/service/vpls[service-name=vpls-01]",
        "/port[port-id=1/1/1]/ethernet",
        "/a[k1=v1][k2=v2]/b",
        "openconfig:/interfaces/interface[name=Ethernet1]",
        "ietf-interfaces:/interfaces",
        "/ietf-interfaces:interfaces/interface[name=eth0]",
        r"/x[name=a\]b]",
        r"/x[name=back\\slash]",
        "/x[name=a=b]",
        "/x[name=]",
        "/x[name=with space]",
    ],
)
def test_canonical_strings_render_back_identically(text: str) -> None:
    assert parse_path(text).render() == text


def test_structure() -> None:
    p = parse_path("openconfig:/interfaces/interface[name=eth0]/config")
    assert p.origin == "openconfig"
    assert p.elems == (PathElem("interfaces"), PathElem("interface", (("name", "eth0"),)), PathElem("config"))


def test_escaped_bracket_and_equals_in_values() -> None:
    p = parse_path(r"/x[name=a\]b\=c]")
    assert p.elems[0].key_dict == {"name": "a]b=c"}
    # `=` needs no escape in a value; the canonical form drops it
    assert p.render() == r"/x[name=a\]b=c]"


def test_slash_inside_key_value_is_not_a_separator() -> None:
    p = parse_path("/port[port-id=1/1/1]/ethernet")
    assert [e.name for e in p.elems] == ["port", "ethernet"]
    assert p.elems[0].key_dict == {"port-id": "1/1/1"}


def test_module_prefix_is_not_an_origin() -> None:
    p = parse_path("/ietf-interfaces:interfaces")
    assert p.origin == ""
    assert p.elems[0].name == "ietf-interfaces:interfaces"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "must start with '/'"),
        ("interfaces", "must start with '/'"),
        ("/interfaces/", "trailing '/'"),
        ("//x", "empty element name"),
        ("/x[name=eth0", "not closed"),
        ("/x[=eth0]", "empty key name"),
        ("/x[name]", "has no '=value'"),
        ("/x[a=1][a=2]", "given twice"),
        ("/x]", "unexpected ']'"),
        ("/x[a=1]y", "unexpected 'y'"),
        ("/x\\", "dangling escape"),
    ],
)
def test_errors_name_the_problem(text: str, reason: str) -> None:
    with pytest.raises(PathError) as info:
        parse_path(text)
    assert reason in str(info.value)


_chars = st.characters(blacklist_categories=("Cs",))
names = st.text(_chars, min_size=1, max_size=8)
values = st.text(_chars, max_size=8)
elems = st.builds(
    lambda n, ks: PathElem(n, tuple(dict(ks).items())),
    names,
    st.lists(st.tuples(names, values), max_size=3),
)
paths = st.builds(
    lambda es, origin: GnmiPath(tuple(es), origin),
    st.lists(elems, max_size=5),
    st.sampled_from(["", "openconfig", "ietf-interfaces", "rfc7951"]),
)


@given(paths)
def test_round_trip_structured(p: GnmiPath) -> None:
    text = p.render()
    assert parse_path(text) == p
    assert parse_path(text).render() == text


@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_fails_cleanly(text: str) -> None:
    try:
        p = parse_path(text)
    except PathError:
        return
    assert parse_path(p.render()) == p


def _outcome(parse: Callable[[str], GnmiPath], text: str) -> GnmiPath | str:
    try:
        return parse(text)
    except PathError as exc:
        return str(exc)


@settings(max_examples=1000)
@given(st.text(alphabet="/[]=\\:ab-1 ", max_size=30) | paths.map(GnmiPath.render))
def test_fast_path_parser_agrees_with_the_full_parser(text: str) -> None:
    # parse_path takes a regex shortcut for escape-free paths; it must accept, build and refuse exactly
    # what the character-by-character parser does
    assert _outcome(parse_path, text) == _outcome(_parse_escaped, text)


def test_fast_path_parser_is_taken_for_plain_paths() -> None:
    # the differential test above would pass vacuously if the shortcut never matched
    p = _parse_plain("openconfig:/interfaces/interface[name=eth0][unit=0]/port[port-id=1/1/1]/config")
    assert p is not None
    assert p.origin == "openconfig"
    assert p.elems[1] == PathElem("interface", (("name", "eth0"), ("unit", "0")))
    assert p.elems[2].key_dict == {"port-id": "1/1/1"}
    assert _parse_plain(r"/x[name=a\]b]") is None
    assert _parse_plain("/x[a=1][a=2]") is None


def test_parsed_paths_share_their_elements() -> None:
    """A large set repeats parent entries in many paths; each object keeps one path, so they share."""
    a = parse_path("/service/vprn[service-name=v1]/interface[interface-name=i1]")
    b = parse_path("/service/vprn[service-name=v1]/bgp")
    assert a.elems[0] is b.elems[0] and a.elems[1] is b.elems[1]
    assert a.elems[1] == PathElem("vprn", (("service-name", "v1"),))
    with pytest.raises(PathError, match="given twice"):  # a shared element never hides an error
        parse_path("/x[a=1][a=2]")
