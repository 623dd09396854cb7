"""A mock STREAM follows commits by re-reading only the leaves under their paths: the same as reading all."""

from __future__ import annotations

import random

from nwi.drivers.base import Change, Op, Transaction
from nwi.drivers.gnmi_codec import matching_leaves
from nwi.drivers.virtual import DeviceStore
from nwi.mockgnmi.subscribe import _followed, _Sub
from nwi.mockgnmi.target import Target
from nwi.path import GnmiPath, parse_path

KEYS = {"interface": ("name",), "subinterface": ("index",), "server": ("address",)}
PATTERNS = ["/", "/interfaces", "/interfaces/interface[name=*]/config", "/interfaces/interface[name=e1]",
            "/interfaces/interface/subinterfaces/subinterface[index=*]/vlan", "/system/ntp/server[address=*]",
            "/system/name", "/*/interface[name=e2]/config/mtu"]


def _random_change(rng: random.Random) -> Change:
    iface = f"e{rng.randint(1, 3)}"
    sub = rng.randint(0, 2)
    path, value = rng.choice([
        (f"/interfaces/interface[name={iface}]/config/mtu", rng.choice([1500, 9000])),
        (f"/interfaces/interface[name={iface}]/config", {"mtu": 1500, "description": rng.choice("ab")}),
        (f"/interfaces/interface[name={iface}]/subinterfaces/subinterface[index={sub}]/vlan", rng.randint(1, 9)),
        (f"/interfaces/interface[name={iface}]", {"name": iface, "config": {"enabled": rng.random() < 0.5}}),
        (f"/system/ntp/server[address=10.0.0.{sub}]", {"address": f"10.0.0.{sub}", "prefer": True}),
        ("/system/name", rng.choice(["pe1", "pe2"])),
        ("/system", {"name": "pe3"}),
    ])
    op = rng.choice([Op.UPDATE, Op.REPLACE, Op.DELETE])
    return Change(op, parse_path(path), None if op == Op.DELETE else value)


def test_subscription_leaves_follow_commits_as_a_full_read_would() -> None:
    rng = random.Random(20)
    target = Target("r1", DeviceStore("r1", None, KEYS))
    subs = [_Sub(parse_path(p), 0, 1.0, False, 0.0) for p in PATTERNS]

    def read_all() -> list[dict[GnmiPath, object]]:
        tree = target.config()
        return [dict(matching_leaves(tree, s.path)) for s in subs]

    last, seen, followed_any = read_all(), target.config(), False
    for _ in range(400):
        changes = [_random_change(rng) for _ in range(rng.randint(1, 3))]
        target.commit(lambda now, changes=changes: Transaction("r1", changes))  # type: ignore[misc]
        now = target.config()
        paths = target.commits_between(seen, now)
        assert paths is not None  # only this target's commits changed the store
        followed = _followed(subs, last, paths, now)
        assert followed is not None
        assert followed == read_all(), [str(c.path) for c in changes]
        followed_any = followed_any or any(f is not b for f, b in zip(followed, last, strict=True))
        last, seen = followed, now
    assert followed_any and any(last)


def test_a_store_changed_behind_the_targets_back_is_not_followed() -> None:
    store = DeviceStore("r1", None, KEYS)
    target = Target("r1", store)
    before = target.config()
    target.commit(lambda now: Transaction("r1", [Change(Op.UPDATE, parse_path("/system/name"), "pe1")]))
    after_commit = target.config()
    assert target.commits_between(before, after_commit) == [parse_path("/system/name")]
    store.commit(Transaction("r1", [Change(Op.UPDATE, parse_path("/system/name"), "pe2")]))  # not through it
    assert target.commits_between(before, target.config()) is None
    assert target.commits_between(after_commit, target.config()) is None
