"""The spec a config object keeps (nwi.model.Spec) is the validated ConfigSpec, field for field."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from nwi.model import ConfigSpec, Spec

DOCS: list[dict[str, Any]] = [
    {"switchID": "r1", "path": "/system", "properties": {"hostname": "r1"}},
    {"switchID": "r1", "path": "/system", "operation": "delete"},
    {"switchID": "r2", "path": "/a[k=1]", "operation": "replace", "driftPolicy": "report", "properties": {}},
]


def test_spec_has_the_models_fields_in_its_order() -> None:
    # a field added to ConfigSpec and forgotten here would be validated, then silently dropped
    assert [f.name for f in dataclasses.fields(Spec) if f.init] == list(ConfigSpec.model_fields)


@pytest.mark.parametrize("doc", DOCS)
def test_document_is_the_models_dump_and_validates_back(doc: dict[str, Any]) -> None:
    model = ConfigSpec.model_validate(doc)
    spec = Spec.of(model)
    assert spec.document() == model.model_dump(by_alias=True, exclude_none=True)
    assert list(spec.document()) == list(model.model_dump(by_alias=True, exclude_none=True))
    assert Spec.of(ConfigSpec.model_validate(spec.document())) == spec


def test_desired_hash_is_cached_and_not_part_of_the_value() -> None:
    hashed, fresh = Spec.of(ConfigSpec.model_validate(DOCS[0])), Spec.of(ConfigSpec.model_validate(DOCS[0]))
    first = hashed.desired_hash
    assert hashed._hash == first and fresh._hash == ""
    assert hashed == fresh and repr(hashed) == repr(fresh)
    assert fresh.desired_hash == first
    assert Spec.of(ConfigSpec.model_validate(DOCS[1])).desired_hash != first


def test_desired_hash_covers_what_goes_onto_the_device_only() -> None:
    base = Spec.of(ConfigSpec.model_validate(DOCS[0]))
    assert dataclasses.replace(base, drift_policy="report").desired_hash == base.desired_hash
    changes: list[dict[str, Any]] = [{"switch_id": "r9"}, {"path": "/other"}, {"operation": "replace"},
                                     {"properties": {"hostname": "x"}}]
    for change in changes:
        assert dataclasses.replace(base, **change).desired_hash != base.desired_hash


def test_threads_hashing_one_spec_agree() -> None:
    spec = Spec.of(ConfigSpec.model_validate(DOCS[2]))
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(spec.desired_hash)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(results) == 8 and len(set(results)) == 1
