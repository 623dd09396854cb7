"""The stored form of a status: compact, and read back as the very same status."""

from __future__ import annotations

import pytest

from nwi.status import ObjectStatus, Outcome, Phase, Reason, derive_status

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
