"""The configuration tree: gNMI Set semantics without YANG."""

from __future__ import annotations

import pytest

from nwi.path import parse_path as P
from nwi.tree import Tree, TreeError


def test_update_creates_list_entry_with_key_leaves() -> None:
    t = Tree()
    t.update(P("/interfaces/interface[name=eth0]/config"), {"mtu": 1500})
    assert t.to_json() == {"interfaces": {"interface": [{"name": "eth0", "config": {"mtu": 1500}}]}}


def test_update_merges_and_replace_overwrites() -> None:
    t = Tree()
    path = P("/system/config")
    t.update(path, {"hostname": "r1", "domain": "lab"})
    t.update(path, {"hostname": "r2"})
    assert t.get(path) == {"hostname": "r2", "domain": "lab"}
    t.replace(path, {"hostname": "r3"})
    assert t.get(path) == {"hostname": "r3"}


def test_replace_of_list_entry_keeps_its_keys() -> None:
    t = Tree()
    p = P("/service/vpls[service-name=v1]")
    t.update(p, {"admin-state": "enable", "service-id": 1})
    t.replace(p, {"service-id": 2})
    assert t.get(p) == {"service-name": "v1", "service-id": 2}


def test_replacing_a_list_removes_entries_not_supplied() -> None:
    t = Tree(list_keys={"interface": ("name",)})
    t.update(P("/interfaces/interface[name=a]"), {"mtu": 1})
    t.update(P("/interfaces/interface[name=b]"), {"mtu": 2})
    t.replace(P("/interfaces"), {"interface": [{"name": "b", "mtu": 3}]})
    assert t.get(P("/interfaces/interface[name=a]")) is None
    assert t.get(P("/interfaces/interface[name=b]")) == {"name": "b", "mtu": 3}


def test_update_of_a_list_merges_entries_by_key() -> None:
    t = Tree()
    t.update(P("/interfaces/interface[name=a]"), {"mtu": 1, "description": "keep"})
    t.update(P("/interfaces"), {"interface": [{"name": "a", "mtu": 9}, {"name": "c", "mtu": 3}]})
    assert t.get(P("/interfaces/interface[name=a]")) == {"name": "a", "mtu": 9, "description": "keep"}
    assert t.get(P("/interfaces/interface[name=c]")) == {"name": "c", "mtu": 3}


def test_delete_list_entry_by_key_and_missing_paths_succeed() -> None:
    t = Tree()
    t.update(P("/interfaces/interface[name=a]"), {"mtu": 1})
    t.update(P("/interfaces/interface[name=b]"), {"mtu": 2})
    t.delete(P("/interfaces/interface[name=a]"))
    t.delete(P("/interfaces/interface[name=zzz]"))
    t.delete(P("/not/there/at/all"))
    assert [e["name"] for e in t.get(P("/interfaces/interface"))] == ["b"]


def test_plain_json_list_becomes_addressable_by_key() -> None:
    t = Tree()
    t.update(P("/interfaces"), {"interface": [{"name": "a", "mtu": 1}]})
    assert t.get(P("/interfaces/interface[name=a]")) == {"name": "a", "mtu": 1}


def test_numeric_key_values_match_path_text() -> None:
    t = Tree(list_keys={"vlan": ("vlan-id",)})
    t.update(P("/vlans"), {"vlan": [{"vlan-id": 100, "name": "blue"}]})
    assert t.get(P("/vlans/vlan[vlan-id=100]")) == {"vlan-id": 100, "name": "blue"}


def test_path_through_a_leaf_is_an_error() -> None:
    t = Tree()
    t.update(P("/system"), {"hostname": "r1"})
    with pytest.raises(TreeError, match="leaf"):
        t.update(P("/system/hostname/x"), {"y": 1})


def test_key_mismatch_between_path_and_body_is_an_error() -> None:
    with pytest.raises(TreeError, match="key"):
        Tree().replace(P("/interfaces/interface[name=a]"), {"name": "b"})


def test_wildcards_in_names_and_keys() -> None:
    t = Tree()
    for n in ("a", "b"):
        t.update(P(f"/interfaces/interface[name={n}]/config"), {"mtu": len(n)})
    found = dict((p.render(), v) for p, v in t.find(P("/interfaces/interface[name=*]/config")))
    assert found == {"/interfaces/interface[name=a]/config": {"mtu": 1},
                     "/interfaces/interface[name=b]/config": {"mtu": 1}}
    assert [p.render() for p, _ in t.find(P("/*"))] == ["/interfaces"]


def test_dump_and_load_keep_list_keys() -> None:
    t = Tree()
    t.update(P("/interfaces/interface[name=a]"), {"mtu": 1})
    loaded = Tree.load(t.dump())
    loaded.update(P("/interfaces"), {"interface": [{"name": "a", "description": "x"}]})
    assert loaded.get(P("/interfaces/interface[name=a]")) == {"name": "a", "mtu": 1, "description": "x"}


def test_copy_is_independent() -> None:
    t = Tree()
    t.update(P("/a[k=1]"), {"v": 1})
    c = t.copy()
    c.update(P("/a[k=1]"), {"v": 2})
    assert t.get(P("/a[k=1]")) == {"k": "1", "v": 1}


def test_a_keyless_list_element_walks_every_entry() -> None:
    t = Tree(list_keys={"interface": ("name",)})
    t.replace(P("/interfaces/interface[name=eth0]/config"), {"mtu": 1})
    t.replace(P("/interfaces/interface[name=eth1]/config"), {"mtu": 2})
    found = {p.render(): v for p, v in t.find(P("/interfaces/interface/config/mtu"))}
    assert found == {"/interfaces/interface[name=eth0]/config/mtu": 1, "/interfaces/interface[name=eth1]/config/mtu": 2}
    # a path ending at the list still selects the list itself
    assert [p.render() for p, _ in t.find(P("/interfaces/interface"))] == ["/interfaces/interface"]
    assert t.selects_many(P("/interfaces/interface/state"))
    assert not t.selects_many(P("/interfaces/interface[name=eth0]/state"))
    assert not t.selects_many(P("/interfaces/interface"))
    assert Tree(list_keys={"interface": ("name",)}).selects_many(P("/interfaces/interface/state"))  # by hint


def test_a_list_entry_needs_its_keys() -> None:
    t = Tree(list_keys={"interface": ("name",)})
    with pytest.raises(TreeError, match="no key 'name'"):
        t.update(P("/interfaces/interface"), [{"config": {"mtu": 1}}])
    t.update(P("/interfaces/interface"), [{"name": "eth0"}])
    with pytest.raises(TreeError, match="no key 'name'"):
        t.update(P("/interfaces/interface"), [{"config": {"mtu": 1}}])
    with pytest.raises(TreeError, match="name the entry"):
        t.update(P("/interfaces/interface/config"), {"mtu": 1})
