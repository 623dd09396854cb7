"""Path + JSON -> NETCONF XML, and XML replies -> JSON, checked against expected documents (no server)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree

from nwi.drivers.netconf_xml import (
    NC_NS,
    XmlBuildError,
    edit_config,
    extract,
    namespaces_any_kind,
    namespaces_for,
    subtree_filter,
)
from nwi.loader import load_paths
from nwi.path import GnmiPath, PathElem, parse_path

SEED = Path(__file__).resolve().parents[2] / "samples" / "seed"
SROS = "urn:nokia.com:sros:ns:yang:sr:conf"
IF = "urn:ietf:params:xml:ns:yang:ietf-interfaces"


def canon(xml: str | etree._Element) -> str:
    """Canonical XML (C14N 2.0) without insignificant whitespace, for exact document comparison."""
    text = xml if isinstance(xml, str) else etree.tostring(xml).decode()
    return etree.canonicalize(text, strip_text=True)


def sros(path: str) -> GnmiPath:
    return parse_path("/configure" + path)


# ---- SR OS: the seed's objects, through the real loader -----------------------------------


def test_seed_objects_render_to_the_expected_sros_documents() -> None:
    loaded = load_paths([SEED])
    assert not loaded.errors
    by_name = {o.key.name: o for o in loaded.configs}
    vpls, customer = by_name["vpls-01"], by_name["customer-1234"]
    ns = namespaces_for("SROSConfig")

    assert vpls.device_path == sros("/service/vpls[service-name=vpls-01]")
    assert canon(edit_config(vpls.device_path, vpls.properties, "merge", ns)) == canon(
        f"""<nc:config xmlns:nc="{NC_NS}">
          <configure xmlns="{SROS}"><service><vpls>
            <service-name>vpls-01</service-name>
            <admin-state>enable</admin-state>
            <customer>1234</customer>
            <service-id>4321</service-id>
          </vpls></service></configure>
        </nc:config>"""
    )
    assert canon(edit_config(customer.device_path, customer.properties, "merge", ns)) == canon(
        f"""<nc:config xmlns:nc="{NC_NS}">
          <configure xmlns="{SROS}"><service><customer>
            <customer-name>1234</customer-name>
            <customer-id>1234</customer-id>
            <description>Customer 1234</description>
          </customer></service></configure>
        </nc:config>"""
    )


def test_sros_replace_and_delete_mark_the_target_node() -> None:
    ns = namespaces_for("SROSConfig")
    path = sros("/service/vpls[service-name=vpls-01]")
    value = {
        "service-name": "vpls-01",
        "admin-state": "disable",
        "sap": [{"admin-state": "enable", "sap-id": "1/1/1:100"}],  # key last here, first in the XML
    }
    assert canon(edit_config(path, value, "replace", ns)) == canon(
        f"""<nc:config xmlns:nc="{NC_NS}">
          <configure xmlns="{SROS}"><service><vpls nc:operation="replace">
            <service-name>vpls-01</service-name>
            <admin-state>disable</admin-state>
            <sap><sap-id>1/1/1:100</sap-id><admin-state>enable</admin-state></sap>
          </vpls></service></configure>
        </nc:config>"""
    )
    assert canon(edit_config(path, None, "remove", ns)) == canon(
        f"""<nc:config xmlns:nc="{NC_NS}">
          <configure xmlns="{SROS}"><service><vpls nc:operation="remove">
            <service-name>vpls-01</service-name>
          </vpls></service></configure>
        </nc:config>"""
    )


def test_sros_keys_on_the_way_to_a_leaf() -> None:
    ns = namespaces_for("SROSConfig")
    path = sros("/service/vpls[service-name=vpls-01]/sap[sap-id=1/1/1:100]/description")
    assert canon(edit_config(path, "uplink", "merge", ns)) == canon(
        f"""<nc:config xmlns:nc="{NC_NS}">
          <configure xmlns="{SROS}"><service><vpls><service-name>vpls-01</service-name>
            <sap><sap-id>1/1/1:100</sap-id><description>uplink</description></sap>
          </vpls></service></configure>
        </nc:config>"""
    )
    assert canon(subtree_filter(sros("/service/vpls[service-name=vpls-01]"), ns)) == canon(
        f"""<nc:filter xmlns:nc="{NC_NS}" type="subtree">
          <configure xmlns="{SROS}"><service><vpls><service-name>vpls-01</service-name></vpls></service></configure>
        </nc:filter>"""
    )


# ---- namespaces ------------------------------------------------------------------------


def test_module_prefix_origin_and_json_member_prefixes_give_namespaces() -> None:
    ns = namespaces_for("OpenConfig")
    value = {
        "type": "iana-if-type:ethernetCsmacd",
        "enabled": True,
        "ietf-ip:ipv4": {"mtu": 1500, "address": [{"prefix-length": 24, "ip": "192.0.2.1"}]},
    }
    expected = canon(
        f"""<nc:config xmlns:nc="{NC_NS}">
          <interfaces xmlns="{IF}"><interface>
            <name>eth0</name>
            <type xmlns:iana-if-type="urn:ietf:params:xml:ns:yang:iana-if-type">iana-if-type:ethernetCsmacd</type>
            <enabled>true</enabled>
            <ipv4 xmlns="urn:ietf:params:xml:ns:yang:ietf-ip"><mtu>1500</mtu>
              <address><ip>192.0.2.1</ip><prefix-length>24</prefix-length></address>
            </ipv4>
          </interface></interfaces>
        </nc:config>"""
    )
    by_prefix = parse_path("/ietf-interfaces:interfaces/interface[name=eth0]")
    by_origin = parse_path("ietf-interfaces:/interfaces/interface[name=eth0]")
    assert canon(edit_config(by_prefix, value, "merge", ns)) == expected
    assert canon(edit_config(by_origin, value, "merge", ns)) == expected
    # the OpenConfig kind's own map applies to an unprefixed top element
    oc = canon(edit_config(parse_path("/interfaces/interface[name=eth0]/config"), {"mtu": 9000}, "merge", ns))
    assert 'xmlns="http://openconfig.net/yang/interfaces"' in oc


def test_unknown_namespace_is_a_clear_error() -> None:
    with pytest.raises(XmlBuildError, match="no XML namespace for top-level element 'interfaces'"):
        edit_config(parse_path("/interfaces/interface[name=eth0]"), {}, "merge", namespaces_for("LinuxConfig"))
    with pytest.raises(XmlBuildError, match="unknown YANG module 'acme-widgets'"):
        edit_config(parse_path("/acme-widgets:widgets"), {}, "merge", namespaces_for("OpenConfig"))


def test_drift_reads_resolve_shared_top_names_by_the_servers_modules() -> None:
    # `system` is claimed by SR Linux and OpenConfig: the advertised one wins
    ns = namespaces_any_kind({"openconfig-system": "http://openconfig.net/yang/system"})
    assert ns.top["system"] == "http://openconfig.net/yang/system"
    assert ns.top["configure"] == SROS
    assert "system" not in namespaces_any_kind({}).top


# ---- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("/configure/service/vpls[service-name=a]", "x", "must be given an object"),
        ("/configure/service/vpls[service-name=a]", {"service-name": "b"}, "'a' in the path but 'b'"),
        ("/configure/service/vpls[service-name=*]", {}, "wildcard"),
        ("/configure/service", {"bad name": 1}, "not an XML/YANG identifier"),
        ("/configure/service", {"a": [[1]]}, "list inside a list"),
        ("/configure/service", {"a": {"b": object()}}, "unsupported value"),
        ("/configure/service", {"d": "bell\x07"}, "cannot be carried in XML"),
        ("/", {}, "root path"),
    ],
)
def test_bad_input_is_refused_before_any_xml_is_sent(path: str, value: Any, message: str) -> None:
    with pytest.raises(XmlBuildError, match=message):
        edit_config(parse_path(path), value, "merge", namespaces_for("SROSConfig"))


# ---- XML -> JSON ---------------------------------------------------------------------------

REPLY = f"""<data xmlns="{NC_NS}">
  <interfaces xmlns="{IF}">
    <interface>
      <name>eth0</name>
      <type xmlns:ianaift="urn:ietf:params:xml:ns:yang:iana-if-type">ianaift:ethernetCsmacd</type>
      <enabled>true</enabled>
      <ipv4 xmlns="urn:ietf:params:xml:ns:yang:ietf-ip">
        <mtu>1500</mtu>
        <address><ip>192.0.2.1</ip><prefix-length>24</prefix-length></address>
      </ipv4>
    </interface>
    <interface><name>eth1</name><description>a &lt;b&gt; &amp; c</description></interface>
  </interfaces>
</data>"""


def test_reply_to_json_shapes() -> None:
    data = etree.fromstring(REPLY)
    ns = namespaces_for("OpenConfig")
    eth0 = extract(data, parse_path("/ietf-interfaces:interfaces/interface[name=eth0]"), ns)
    assert eth0 == {
        "name": "eth0",
        "type": "iana-if-type:ethernetCsmacd",  # identityref back in RFC 7951 form, whatever the XML prefix
        "enabled": "true",  # leaves are text; the planner compares scalars by text
        "ietf-ip:ipv4": {"mtu": "1500", "address": [{"ip": "192.0.2.1", "prefix-length": "24"}]},
    }
    listed = extract(data, parse_path("/ietf-interfaces:interfaces/interface"), ns)
    assert [e["name"] for e in listed] == ["eth0", "eth1"]
    leaf = extract(data, parse_path("/ietf-interfaces:interfaces/interface[name=eth1]/description"), ns)
    assert leaf == "a <b> & c"
    assert extract(data, parse_path("/ietf-interfaces:interfaces/interface[name=eth9]"), ns) is None


def test_empty_containers_read_as_absent() -> None:
    """netconfd leaves ``<system><ntp/></system>`` behind after removing ntp from a missing system."""
    sys_ns = "urn:ietf:params:xml:ns:yang:ietf-system"
    data = etree.fromstring(
        f"""<data xmlns="{NC_NS}"><system xmlns="{sys_ns}">
          <ntp>
          </ntp><hostname> spaced </hostname><location/></system></data>"""
    )
    ns = namespaces_for("OpenConfig")
    assert extract(data, parse_path("/ietf-system:system/ntp"), ns) is None
    assert extract(data, parse_path("/ietf-system:system"), ns) == {"hostname": " spaced "}  # leaf text kept as is
    data.find(f"{{{sys_ns}}}system").remove(data.find(f"{{{sys_ns}}}system/{{{sys_ns}}}hostname"))
    assert extract(data, parse_path("/ietf-system:system"), ns) is None


def test_round_trip_through_xml_preserves_the_json() -> None:
    ns = namespaces_for("SROSConfig")
    path = sros("/service/vpls[service-name=vpls-01]")
    value = {
        "service-name": "vpls-01",
        "admin-state": "enable",
        "sap": [{"sap-id": "1/1/1:1", "description": "x"}, {"sap-id": "1/1/1:2"}],
        "stp": {"admin-state": "disable"},
    }
    doc = edit_config(path, value, "merge", ns)
    data = etree.Element(f"{{{NC_NS}}}data")
    data.extend(list(doc))
    assert extract(data, path, ns) == value


# ---- injection fuzz -------------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)


@settings(max_examples=300, deadline=None)
@given(key=texts, value=texts, member=texts)
def test_keys_and_values_cannot_inject_xml(key: str, value: str, member: str) -> None:
    """Whatever the text, the document has exactly the intended elements and carries the text verbatim."""
    assume(member not in ("service-name", "description"))
    ns = namespaces_for("SROSConfig")
    path = GnmiPath((PathElem("configure"), PathElem("service"), PathElem("vpls", (("service-name", key),))))
    try:
        doc = edit_config(path, {"description": value, member: "x"}, "merge", ns)
    except XmlBuildError:
        return  # refused (control characters, a member name that is no XML name): nothing to send
    reparsed = etree.fromstring(etree.tostring(doc))
    vpls = reparsed.find(f"{{{SROS}}}configure/{{{SROS}}}service/{{{SROS}}}vpls")
    assert vpls is not None
    assert [etree.QName(c).localname for c in vpls] == ["service-name", "description", member.rpartition(":")[2]]
    assert vpls.findtext(f"{{{SROS}}}service-name") == key
    assert vpls.findtext(f"{{{SROS}}}description") == value
    assert vpls[2].text == "x"
    assert all(len(c) == 0 for c in vpls)  # no element smuggled inside a leaf
    assert len(list(reparsed.iter())) == 7  # config, configure, service, vpls and its three leaves
