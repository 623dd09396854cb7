"""The parse cache: a hit gives the same input set without parsing; it is never stale nor trusted blindly."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from nwi import loader, parsecache
from nwi.loader import InputSet, load_paths
from nwi.parsecache import ParseCache
from tests.conftest import SAMPLES

DOC = """apiVersion: nwi.enc.nokia.com/v1alpha2
kind: SROSConfig
metadata:
  name: {name}
  annotations:
    nwi.enc.nokia.com/depends_on: '[{{"kind": "SROSConfig", "name": "base"}}]'
spec:
  switchID: pe1
  path: /service/epipe[service-name={name}]
  properties: {{service-id: 7, admin-state: enable, mtu: 1.5, enabled: yes, none: ~, list: [1, a]}}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: SROSConfig
metadata: {{name: base}}
spec: {{switchID: pe1, path: '/service/customer[customer-name=c1]'}}
"""


def _summary(inputs: InputSet) -> list[Any]:
    return [(o.key, o.spec, o.path, o.depends_on, str(o.source)) for o in inputs.configs] + [
        str(e) for e in inputs.errors]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Texts parse_yaml was asked to parse."""
    calls: list[str] = []
    real = loader.parse_yaml

    def counting(text: str) -> list[Any]:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(loader, "parse_yaml", counting)
    return calls


def test_a_hit_loads_the_same_objects_without_parsing(tmp_path: Path, parses: list[str]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.yaml").write_text(DOC.format(name="e1"))
    (src / "b.yaml").write_text(DOC.format(name="e2").replace("name: base", "name: base2"))
    uncached = load_paths([src])
    first = load_paths([src], cache=ParseCache(tmp_path / "cache"))
    assert len(parses) == 4
    second = load_paths([src], cache=ParseCache(tmp_path / "cache"))
    assert len(parses) == 4  # nothing parsed again
    assert _summary(second) == _summary(first) == _summary(uncached)
    assert second.configs[0].properties == {"service-id": 7, "admin-state": "enable", "mtu": 1.5, "enabled": True,
                                            "none": None, "list": [1, "a"]}


def test_a_changed_file_is_parsed_again_and_its_old_entry_dropped(tmp_path: Path, parses: list[str]) -> None:
    f = tmp_path / "a.yaml"
    f.write_text(DOC.format(name="e1"))
    load_paths([f], cache=ParseCache(tmp_path / "cache"))
    f.write_text(DOC.format(name="e9"))
    inputs = load_paths([f], cache=ParseCache(tmp_path / "cache"))
    assert len(parses) == 2
    assert inputs.configs[0].key.name == "e9"
    assert len(list((tmp_path / "cache").glob("*.json"))) == 1


@pytest.mark.parametrize(
    ("text", "docs"),
    [
        ("a: 2001-12-14\n", [{"a": datetime.date(2001, 12, 14)}]),  # not JSON at all
        ("1: int key\n", [{1: "int key"}]),  # JSON would give the key back as "1"
        ("x: .nan\n", [{"x": float("nan")}]),  # comes back unequal
    ],
)
def test_documents_json_cannot_carry_exactly_are_not_cached(tmp_path: Path, parses: list[str], text: str,
                                                            docs: list[Any]) -> None:
    f = tmp_path / "a.yaml"
    f.write_text(text)
    cache = ParseCache(tmp_path / "cache")
    for _ in range(2):
        load_paths([f], cache=cache)
    assert len(parses) == 2
    cache.put(text, docs)
    assert cache.get(text) is None
    assert not list((tmp_path / "cache").glob("*.json"))


def test_malformed_files_give_the_same_errors_and_are_not_cached(tmp_path: Path) -> None:
    for _ in range(2):
        cached = load_paths([SAMPLES / "bad"], cache=ParseCache(tmp_path / "cache"))
        assert _summary(cached) == _summary(load_paths([SAMPLES / "bad"]))
    assert any("malformed YAML" in str(e) for e in cached.errors)
    malformed = (SAMPLES / "bad" / "malformed-yaml.yaml").read_text()
    assert ParseCache(tmp_path / "cache").get(malformed) is None


def test_an_unreadable_entry_is_a_miss(tmp_path: Path, parses: list[str]) -> None:
    f = tmp_path / "a.yaml"
    f.write_text(DOC.format(name="e1"))
    load_paths([f], cache=ParseCache(tmp_path / "cache"))
    (entry,) = (tmp_path / "cache").glob("*.json")
    entry.write_text('[{"truncated": ')
    inputs = load_paths([f], cache=ParseCache(tmp_path / "cache"))
    assert len(parses) == 2
    assert [o.key.name for o in inputs.configs] == ["e1", "base"]


def test_entries_of_another_parser_version_are_not_read(tmp_path: Path, parses: list[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "a.yaml"
    f.write_text(DOC.format(name="e1"))
    load_paths([f], cache=ParseCache(tmp_path / "cache"))
    monkeypatch.setattr(yaml, "__version__", "0.0.1")
    load_paths([f], cache=ParseCache(tmp_path / "cache"))
    assert len(parses) == 2


def test_a_cache_that_cannot_be_written_only_costs_time(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache directory would be")
    f = tmp_path / "a.yaml"
    f.write_text(DOC.format(name="e1"))
    inputs = load_paths([f], cache=ParseCache(blocker))
    assert inputs.errors == []
    assert [o.key.name for o in inputs.configs] == ["e1", "base"]


def test_the_salt_covers_the_parsing_code() -> None:
    # the parser lives in nwi/loader.py: a change there must invalidate every entry
    assert Path(parsecache.__file__).with_name("loader.py") == Path(loader.__file__)


@pytest.mark.parametrize("secret", [
    "apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\nstringData: {username: u, password: %s}\n",
    "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {name: creds}\n"
    "  stringData: {password: %s}\n",
])
def test_a_file_holding_a_secret_is_never_stored(tmp_path: Path, parses: list[str], secret: str) -> None:
    password = "n0t-in-the-cache-4f1b"
    f = tmp_path / "inventory.yaml"
    f.write_text(DOC.format(name="e1") + "---\n" + secret % password)
    for _ in range(2):
        inputs = load_paths([f], cache=ParseCache(tmp_path / "cache"))
        assert inputs.secrets and inputs.secrets[0].data["password"] == password
    assert len(parses) == 2  # parsed every time: nothing of this file was kept
    kept = b"".join(p.read_bytes() for p in (tmp_path / "cache").glob("*")) if (tmp_path / "cache").exists() else b""
    assert password.encode() not in kept
