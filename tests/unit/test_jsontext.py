"""nwi.jsontext: the JSON text behind spec hashes, the state file and the parse cache."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nwi.jsontext import dumps, loads

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(v) for v in value]
    return value


@settings(max_examples=300)
@given(json_like)
def test_round_trip_and_key_order_does_not_change_sorted_text(value: Any) -> None:
    assert loads(dumps(value)) == json.loads(json.dumps(value))
    assert dumps(_reordered(value), sort_keys=True) == dumps(value, sort_keys=True)


def test_integers_beyond_64_bits_and_keys_that_are_not_strings_are_encoded_as_json_would() -> None:
    value = {"big": 10**30, 2: "two", None: "null", True: "yes", "nested": [{3: 10**20}]}
    assert json.loads(dumps(value, sort_keys=True)) == json.loads(json.dumps(value))
    small = {2: "two", None: "null", True: "yes"}  # orjson's route and the fallback agree on key text
    assert dumps(small, sort_keys=True) == '{"2":"two","null":"null","true":"yes"}'
    assert dumps({**small, "big": 10**30}, sort_keys=True) == (
        '{"2":"two","big":1000000000000000000000000000000,"null":"null","true":"yes"}')
