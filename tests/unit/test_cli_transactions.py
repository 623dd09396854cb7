"""``nwi apply --atomic``, ``nwi plan`` and ``nwi get -o wide`` with network-wide transactions, on virtual
devices."""

from __future__ import annotations

import json
from pathlib import Path

from nwi.cli import EXIT_NOT_READY
from tests.conftest import SAMPLES, NwiRunner

BAD = """
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: OpenConfig
metadata: {name: broken, namespace: l3vpn}
spec:
  switchID: pe4
  path: /network-instances/network-instance[name=a]
  properties: {name: not-a}
"""


def test_the_sample_group_lands_and_get_wide_shows_the_transaction(nwi: NwiRunner, state_dir: Path) -> None:
    plan = nwi("plan", "-f", SAMPLES / "transactions")
    assert "transaction l3vpn/acme-vpn: 3 object(s) on 3 device(s)" in plan.stdout
    run = nwi("apply", "-f", SAMPLES / "transactions")
    assert run.exit_code == 0, run.stderr
    wide = nwi("get", "-o", "wide").stdout
    assert "TRANSACTION" in wide.splitlines()[0]
    assert wide.count("pe3=Confirmed") == 3


def test_atomic_makes_a_plain_run_one_group_that_lands_nowhere_when_one_object_is_refused(
        nwi: NwiRunner, state_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    plan = nwi("plan", "--atomic", "-f", SAMPLES / "seed", "-f", tmp_path / "bad.yaml", "-o", "json")
    groups = json.loads(plan.stdout)["transactions"]
    assert list(groups) == ["--atomic"] and len(groups["--atomic"]["devices"]) == 2
    run = nwi("apply", "--atomic", "-f", SAMPLES / "seed", "-f", tmp_path / "bad.yaml")
    assert run.exit_code == EXIT_NOT_READY
    assert not (state_dir / "devices" / "172.20.20.200.json").exists() or json.loads(
        (state_dir / "devices" / "172.20.20.200.json").read_text()) == {}
    doc = json.loads(nwi("get", "-o", "json").stdout)
    reasons = {i["metadata"]["name"]: i["status"]["reason"] for i in doc["items"]}
    assert reasons["customer-1234"] == "TransactionAborted" and reasons["broken"] == "TransactionRejected"
    # without --atomic the same files apply the seed and fail only the broken object
    again = nwi("apply", "-f", SAMPLES / "seed", "-f", tmp_path / "bad.yaml")
    assert again.exit_code == EXIT_NOT_READY
    assert "vpls" in json.dumps(json.loads((state_dir / "devices" / "172.20.20.200.json").read_text()))


def test_an_object_that_leaves_its_group_has_no_transaction_in_its_status_any_more(
        nwi: NwiRunner, state_dir: Path, tmp_path: Path) -> None:
    assert nwi("apply", "-f", SAMPLES / "transactions").exit_code == 0
    before = {i["metadata"]["name"]: i["status"] for i in json.loads(nwi("get", "-o", "json").stdout)["items"]}
    assert all("transaction" in s for s in before.values())
    # the same objects without their annotation: in sync, nothing written, and no longer in any group
    src = tmp_path / "plain"
    src.mkdir()
    for f in (SAMPLES / "transactions").glob("*.yaml"):
        text = f.read_text()
        text = text.replace("nwi.enc.nokia.com/transaction-size:", "example.com/size:")
        (src / f.name).write_text(text.replace("nwi.enc.nokia.com/transaction:", "example.com/was:"))
    run = nwi("apply", "-f", src)
    assert run.exit_code == 0, run.stderr
    after = {i["metadata"]["name"]: i["status"] for i in json.loads(nwi("get", "-o", "json").stdout)["items"]}
    assert after.keys() == before.keys()
    assert all("transaction" not in s and s["phase"] == "Ready" for s in after.values()), after
    assert "acme-vpn" not in nwi("get", "-o", "wide").stdout
