"""The stored form of a status: compact, and read back as the very same status."""

from __future__ import annotations

import pytest

from nwi.status import ObjectStatus, Outcome, Phase, Reason, TransactionInfo, derive_status

OUTCOMES = [
    Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash="h1", wrote=True),
    Outcome(Phase.READY, Reason.IN_SYNC, "device holds the desired state", applied_hash="h1"),
    Outcome(Phase.FAILED, Reason.TRANSACTION_REJECTED, "INVALID_ARGUMENT: mtu"),
    Outcome(Phase.WAITING, Reason.DEPENDENCIES_NOT_READY, "waiting for a, b", waiting_on=("a", "b")),
    Outcome(Phase.DRIFTED, Reason.DRIFT_REPORTED, "device differs: ~ /mtu: 1500 -> 9000"),
    Outcome(Phase.BLOCKED, Reason.HAS_DEPENDENTS, "still needed by c", waiting_on=("c",)),
]


@pytest.mark.parametrize("outcome", OUTCOMES, ids=lambda o: f"{o.phase}-{o.reason}")
def test_stored_status_reads_back_as_the_same_status(outcome: Outcome) -> None:
    before = derive_status(Outcome(Phase.WAITING, Reason.DEPENDENCIES_NOT_READY, "w", ("x",)), None, 1, "sw")
    status = derive_status(outcome, before, 2, "sw")
    stored = status.to_stored()
    assert "conditions" not in stored and len(stored["since"]) == 4
    back = ObjectStatus.from_dict(stored)
    assert back == status
    assert back.to_dict() == status.to_dict()


def test_conditions_not_made_by_derive_status_are_stored_whole() -> None:
    # e.g. a status edited by hand in Kubernetes: nothing may be lost by storing it
    odd = ObjectStatus.from_dict({"phase": "Ready", "reason": "Applied", "message": "applied",
                                  "conditions": [{"type": "Ready", "status": "False", "reason": "Manual",
                                                  "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
    stored = odd.to_stored()
    assert "since" not in stored and stored["conditions"][0]["reason"] == "Manual"
    assert ObjectStatus.from_dict(stored) == odd


def test_statuses_read_from_the_api_share_their_conditions_and_strings() -> None:
    import json

    ready = derive_status(Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash="h", wrote=True), None, 1, "d")
    # each read parses its own copy of every string, as the watch and the priming list do
    a, b = (ObjectStatus.from_dict(json.loads(json.dumps(ready.to_dict()))) for _ in range(2))
    assert a == b == ready
    assert a.conditions is b.conditions  # the tuple derive_status shares, not four new conditions each
    assert a.message is b.message and a.device is b.device and a.last_applied_time is b.last_applied_time
    odd = {**ready.to_dict(), "conditions": [{**ready.conditions[0].to_dict(), "message": "by hand"}]}
    c = ObjectStatus.from_dict(json.loads(json.dumps(odd)))  # conditions nwi did not derive are kept as read
    assert c.conditions[0].message == "by hand" and len(c.conditions) == 1


def _group_run(devices: dict[str, str], commit: str, note: str = "", group: str = "vpn") -> Outcome:
    wrote = any(o != "InSync" for o in devices.values())
    return Outcome(Phase.READY, Reason.APPLIED if wrote else Reason.IN_SYNC, "applied", applied_hash="h1",
                   wrote=wrote, transaction=TransactionInfo(group, commit, tuple(devices.items()), note))


def test_a_group_run_that_sends_nothing_keeps_the_record_of_the_transaction_that_applied() -> None:
    confirmed = derive_status(_group_run({"pe1": "Confirmed", "pe2": "Confirmed"}, "vpn-1", "recovered: ..."),
                              None, 1, "pe1")
    recheck = derive_status(_group_run({"pe1": "InSync", "pe2": "InSync"}, "vpn-2"), confirmed, 1, "pe1")
    assert recheck is confirmed  # nothing to write, no Transaction event
    assert confirmed.transaction is not None and confirmed.transaction.id == "vpn-1"


def test_a_group_run_that_sent_or_recovered_something_is_the_new_record() -> None:
    first = derive_status(_group_run({"pe1": "Confirmed"}, "vpn-1"), None, 1, "pe1")
    for outcome in (_group_run({"pe1": "InSync", "pe2": "Confirmed"}, "vpn-2"),  # one device written
                    _group_run({"pe1": "InSync"}, "vpn-2", note="recovered: ..."),  # a recovery to report
                    _group_run({"pe1": "InSync"}, "other-1", group="other")):  # another group now
        after = derive_status(outcome, first, 1, "pe1")
        assert after.transaction == outcome.transaction, outcome
    adopted = derive_status(_group_run({"pe1": "InSync"}, "vpn-1"), None, 1, "pe1")  # in sync from the start
    assert adopted.transaction is not None and adopted.transaction.group == "vpn"
