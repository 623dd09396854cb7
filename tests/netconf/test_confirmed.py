"""Network-wide transactions' NETCONF half, on the real netconfd: confirmed commit with a persist id.

prepare = lock, edit candidate, ``<commit><confirmed/><confirm-timeout/><persist>``; confirm and
cancel by ``persist-id`` from any session; a pending commit outlives the session that made it and
reverts when its timeout runs out.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from harness.netconfd import IF_NS, NetconfServer, RawConnect
from lxml import etree

from nwi.drivers.base import Change, CommitOutcome, Op, Transaction, TransactionRejected
from nwi.drivers.netconf import NetconfDriver
from nwi.path import parse_path

pytestmark = pytest.mark.protocol


def _iface(name: str, description: str) -> Transaction:
    value = {"name": name, "type": "iana-if-type:ethernetCsmacd", "description": description}
    path = parse_path(f"/ietf-interfaces:interfaces/interface[name={name}]")
    return Transaction("r1", [Change(Op.UPDATE, path, value, f"OpenConfig/ns/{name}", "OpenConfig")])


def _description(m: object, name: str) -> str | None:
    running = etree.fromstring(m.get_config("running").data_xml.encode())  # type: ignore[attr-defined]
    found = running.xpath(f"//if:interface[if:name='{name}']/if:description", namespaces={"if": IF_NS})
    return None if not found else str(found[0].text)


def _wait_for(check: object, timeout: float, every: float = 3.0) -> bool:
    """Poll ``check`` until it holds. Spaced out: netconfd looks at its confirmed-commit timer only when
    no request is in flight (agt_ses_check_timeouts runs on an idle select), so a tight poll would keep
    the very revert it waits for from happening."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(every)
    return bool(check())  # type: ignore[operator]


@pytest.fixture
def second(server: NetconfServer) -> Iterator[NetconfDriver]:
    d = NetconfDriver("r1", server.connection_params())
    yield d
    d.close()


def test_netconfd_offers_what_a_transaction_needs(driver: NetconfDriver) -> None:
    assert driver.confirmed_commit_problem() is None


def test_prepare_is_visible_then_confirm_from_another_session_keeps_it(
        driver: NetconfDriver, second: NetconfDriver, server: NetconfServer, raw: RawConnect) -> None:
    m = raw(server)
    driver.prepare(_iface("eth11", "staged"), "nwi-t-1", 60)
    assert _description(m, "eth11") == "staged"
    # a later wave of the same transaction: a follow-up confirmed commit under the same persist id
    driver.prepare(_iface("eth12", "second wave"), "nwi-t-1", 60)
    assert _description(m, "eth12") == "second wave"
    second.confirm("nwi-t-1")  # a different session: the persist id is all it needs
    assert _description(m, "eth11") == "staged" and _description(m, "eth12") == "second wave"
    assert second.resolve_commit("nwi-t-1", confirm=False) == CommitOutcome.REVERTED  # nothing pending now
    assert _description(m, "eth11") == "staged"  # ...and asking did not undo the confirmed commit


def test_cancel_restores_the_state_before_the_first_wave(
        driver: NetconfDriver, server: NetconfServer, raw: RawConnect) -> None:
    m = raw(server)
    driver.apply(_iface("eth13", "before"))
    driver.prepare(_iface("eth13", "changed"), "nwi-t-2", 60)
    driver.prepare(_iface("eth14", "added"), "nwi-t-2", 60)
    driver.cancel("nwi-t-2")
    assert _description(m, "eth13") == "before" and _description(m, "eth14") is None
    driver.cancel("nwi-t-2")  # nothing pending any more: not an error


def test_a_session_killed_before_the_confirm_leaves_the_commit_pending_then_the_server_reverts_it(
        driver: NetconfDriver, second: NetconfDriver, server: NetconfServer, raw: RawConnect) -> None:
    m = raw(server)
    driver.prepare(_iface("eth15", "doomed"), "nwi-t-3", 3)
    assert driver._mgr is not None
    driver._mgr._session.close()  # the transport dies under the session: no close-session, no cancel
    driver._mgr = None
    assert _description(m, "eth15") == "doomed"  # persist: the commit outlives its session
    assert _wait_for(lambda: _description(m, "eth15") is None, 60), "netconfd did not revert on timeout"
    with pytest.raises(Exception, match="confirming nwi-t-3 failed"):
        second.confirm("nwi-t-3")


def test_extending_a_pending_commit_keeps_it_pending_and_lets_no_stray_candidate_edit_ride_along(
        driver: NetconfDriver, second: NetconfDriver, server: NetconfServer, raw: RawConnect) -> None:
    m = raw(server)
    driver.prepare(_iface("eth21", "pending"), "nwi-t-8", 60)
    # another session edits the candidate without committing (it cannot lock it while a commit is pending)
    m.edit_config(target="candidate", config=f"""<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">
      <interfaces xmlns="{IF_NS}"><interface><name>eth22</name>
        <type xmlns:ia="urn:ietf:params:xml:ns:yang:iana-if-type">ia:ethernetCsmacd</type>
      </interface></interfaces></config>""")
    driver.extend("nwi-t-8", 60)  # a follow-up confirmed commit under the same persist id
    assert _description(m, "eth21") == "pending"
    assert not etree.fromstring(m.get_config("running").data_xml.encode()).xpath(
        "//if:interface[if:name='eth22']", namespaces={"if": IF_NS})
    second.cancel("nwi-t-8")  # still pending after the extension: a cancel restores the state before it
    assert _description(m, "eth21") is None
    with pytest.raises(TransactionRejected, match="extending nwi-t-8 failed"):
        driver.extend("nwi-t-8", 60)  # not pending any more


def test_after_a_restart_a_pending_commit_is_resolved_as_the_journal_decided(
        driver: NetconfDriver, second: NetconfDriver, server: NetconfServer, raw: RawConnect) -> None:
    m = raw(server)
    driver.prepare(_iface("eth16", "decided"), "nwi-t-4", 60)
    driver.close()
    assert second.resolve_commit("nwi-t-4", confirm=True) == CommitOutcome.CONFIRMED
    assert _description(m, "eth16") == "decided"
    driver.prepare(_iface("eth17", "undecided"), "nwi-t-5", 60)
    driver.close()
    assert second.resolve_commit("nwi-t-5", confirm=False) == CommitOutcome.REVERTED
    assert _description(m, "eth17") is None


def test_a_refused_prepare_changes_nothing_and_leaves_no_pending_commit(
        driver: NetconfDriver, server: NetconfServer, raw: RawConnect) -> None:
    m = raw(server)
    bad = Transaction("r1", [Change(Op.UPDATE, parse_path("/ietf-interfaces:interfaces/interface[name=eth18]"),
                                    {"name": "eth18", "type": "no-such-identity"}, "OpenConfig/ns/bad",
                                    "OpenConfig")])
    with pytest.raises(TransactionRejected) as exc:
        driver.prepare(bad, "nwi-t-6", 60)
    assert exc.value.failed_owners
    assert _description(m, "eth18") is None
    driver.apply(_iface("eth19", "plain commit works"))  # no confirmed commit was left pending
    assert _description(m, "eth19") == "plain commit works"


def test_a_server_without_a_candidate_is_refused_with_the_reason(running_driver: NetconfDriver) -> None:
    problem = running_driver.confirmed_commit_problem()
    assert problem is not None and "lacks :candidate" in problem
    with pytest.raises(TransactionRejected, match="no commit with a revert timer"):
        running_driver.prepare(_iface("eth20", "never"), "nwi-t-7", 60)
