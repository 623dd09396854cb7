"""The operator's pieces that need no apiserver: index, reverse edges, closure, sink, helpers."""

from __future__ import annotations

import asyncio
from typing import Any

from nwi.model import ObjectKey, SecretObject
from nwi.operator.controller import backoff, entry_of
from nwi.operator.index import Entry, ObjectIndex
from nwi.operator.kubeapi import without_empty
from nwi.operator.sink import KubeStatusSink, transition_event
from nwi.status import ObjectStatus, Outcome, Phase, Reason, derive_status

NS = "ns"


def body(name: str, deps: tuple[str, ...] = (), status: dict[str, Any] | None = None, rv: int = 1,
         deleting: bool = False, path: str = "/system/config") -> dict[str, Any]:
    import json

    meta: dict[str, Any] = {"name": name, "namespace": NS, "resourceVersion": str(rv), "generation": 1,
                            "uid": f"uid-{name}"}
    if deps:
        meta["annotations"] = {"nwi.enc.nokia.com/depends_on": json.dumps([{"kind": "OpenConfig", "name": d}
                                                                           for d in deps])}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    doc = {"apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "OpenConfig", "metadata": meta,
           "spec": {"switchID": "sw", "path": path, "properties": {"hostname": name}}}
    if status is not None:
        doc["status"] = status
    return doc


def key(name: str) -> ObjectKey:
    return ObjectKey("OpenConfig", NS, name)


def ready_status(entry: Entry) -> dict[str, Any]:
    assert entry.obj is not None
    outcome = Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash=entry.obj.desired_hash, wrote=True)
    return derive_status(outcome, None, 1, "d").to_dict()


def test_reverse_edges_follow_the_annotation() -> None:
    index = ObjectIndex()
    index.upsert(entry_of(body("a")))
    index.upsert(entry_of(body("b", ("a",))))
    assert index.dependents(key("a")) == {key("b")}
    index.upsert(entry_of(body("b", ("c",), rv=2)))  # re-wired: b now needs c, not a
    assert index.dependents(key("a")) == set()
    index.upsert(entry_of(body("c")))
    assert index.dependents(key("c")) == {key("b")}
    index.remove(key("b"))
    assert index.dependents(key("c")) == set()


def test_closure_pulls_in_unready_dependencies_only() -> None:
    index = ObjectIndex()
    a = entry_of(body("a"))
    index.upsert(entry_of(body("a", status=ready_status(a))))
    index.upsert(entry_of(body("b", ("a",))))
    index.upsert(entry_of(body("c", ("b",))))
    index.upsert(entry_of(body("d", ("c",), deleting=True)))
    assert {o.key.name for o in index.closure([key("c")])} == {"b", "c"}  # a is Ready: external
    assert index.closure([key("d")]) == []  # never apply an object being deleted
    assert index.ready_keys() == {key("a")}
    assert index.ready_keys(among=[key("a"), key("b"), key("gone")]) == {key("a")}
    assert index.ready_keys(among=[key("b")]) == set()


def test_an_older_watch_event_does_not_undo_a_newer_status() -> None:
    index = ObjectIndex()
    index.upsert(entry_of(body("a", rv=5)))
    newer = ObjectStatus(phase=Phase.FAILED, reason="DeviceUnreachable")
    index.set_status(key("a"), newer, 7)
    index.upsert(entry_of(body("a", rv=6)))  # an event from before our patch
    status = index.status(key("a"))
    assert status is not None and status.phase == Phase.FAILED


def test_invalid_object_is_indexed_with_its_error() -> None:
    entry = entry_of(body("bad", path="no-leading-slash["))
    assert entry.obj is None and "spec.path" in entry.error


def test_wait_until_wakes_on_change() -> None:
    async def scenario() -> bool:
        index = ObjectIndex()
        index.upsert(entry_of(body("a")))
        index.upsert(entry_of(body("b", ("a",))))
        waiter = asyncio.create_task(index.wait_until(lambda: not index.dependents(key("a")), timeout=10))
        await asyncio.sleep(0)  # let it register
        index.remove(key("b"))
        return await asyncio.wait_for(waiter, 5)

    assert asyncio.run(scenario()) is True


class FakeApi:
    def __init__(self) -> None:
        self.patches: list[tuple[ObjectKey, dict[str, Any]]] = []
        self.events: list[tuple[ObjectKey, str, str, str]] = []

    def patch_status(self, key: ObjectKey, status: dict[str, Any]) -> int | None:
        self.patches.append((key, status))
        return 100 + len(self.patches)

    def post_event(self, key: ObjectKey, uid: str, type_: str, reason: str, message: str) -> None:
        self.events.append((key, type_, reason, message))

    def read_secret(self, namespace: str, name: str) -> SecretObject | None:
        return None

    def list_objects(self, plural: str, namespaces: list[str], label_selector: str) -> list[dict[str, Any]]:
        return []


def test_sink_patches_changes_only_and_triggers_on_turning_ready() -> None:
    index = ObjectIndex()
    entry = entry_of(body("a"))
    index.upsert(entry)
    api, woken = FakeApi(), []
    sink = KubeStatusSink(index, api, woken.append)
    sink.writer.start()
    try:
        assert entry.obj is not None
        ready = derive_status(Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash=entry.obj.desired_hash,
                                      wrote=True), None, 1, "d")
        sink.record(entry.obj, ready)
        assert sink.writer.idle(10)
        sink.record(entry.obj, ready)  # unchanged: not patched again, not triggered again
        assert sink.writer.idle(10)
        assert len(api.patches) == 1 and woken == [key("a")]
        assert [e[2] for e in api.events] == ["Applied"]
    finally:
        sink.writer.stop()


def test_sink_writes_only_the_outcome_of_a_quick_apply() -> None:
    """Applying, superseded by Ready before its delay is up, never reaches the API: one write per outcome."""
    index = ObjectIndex()
    entry = entry_of(body("a"))
    index.upsert(entry)
    api = FakeApi()
    sink = KubeStatusSink(index, api, lambda k: None, transient_delay=30)
    sink.writer.start()
    try:
        assert entry.obj is not None
        applying = derive_status(Outcome(Phase.APPLYING, Reason.PROGRESSING, "sending"), None, 1, "d")
        sink.record(entry.obj, applying)
        assert sink.previous(entry.key) == applying  # what the engine sees next: the newest decided
        ready = derive_status(Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash=entry.obj.desired_hash,
                                      wrote=True), applying, 1, "d")
        sink.record(entry.obj, ready)
        assert sink.writer.idle(10)
        assert [p[1]["phase"] for p in api.patches] == ["Ready"]
    finally:
        sink.writer.stop()


def test_sink_retries_a_status_the_api_refused() -> None:
    index = ObjectIndex()
    entry = entry_of(body("a"))
    index.upsert(entry)
    api = FakeApi()
    failures = [ConnectionRefusedError("apiserver down")] * 2
    patch = api.patch_status

    def flaky(k: ObjectKey, status: dict[str, Any]) -> int | None:
        if failures:
            raise failures.pop()
        return patch(k, status)

    api.patch_status = flaky  # type: ignore[method-assign]
    sink = KubeStatusSink(index, api, lambda k: None)
    sink.writer.start()
    try:
        assert entry.obj is not None
        ready = derive_status(Outcome(Phase.READY, Reason.APPLIED, "applied", applied_hash=entry.obj.desired_hash,
                                      wrote=True), None, 1, "d")
        sink.record(entry.obj, ready)
        assert sink.writer.idle(30)
        assert [p[1]["phase"] for p in api.patches] == ["Ready"] and not failures
    finally:
        sink.writer.stop()


def test_transition_events() -> None:
    pending = ObjectStatus()
    failed = ObjectStatus(phase=Phase.FAILED, reason="DeviceUnreachable", message="sw: no connection")
    assert transition_event(pending, failed) == ("Warning", "Failed", "DeviceUnreachable: sw: no connection")
    assert transition_event(failed, failed) is None  # a retry failing the same way is not news
    blocked = ObjectStatus(phase=Phase.BLOCKED, reason="HasDependents", message="still needed by b")
    assert transition_event(pending, blocked) == ("Normal", "Blocked", "still needed by b")


def test_empty_fields_are_never_sent() -> None:
    patch = without_empty({"phase": "Ready", "reason": "", "waitingOn": [],
                           "conditions": [{"type": "Ready", "message": ""}]})
    assert patch == {"phase": "Ready", "reason": None, "waitingOn": None, "conditions": [{"type": "Ready"}]}


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(r, 2, 30) for r in range(6)] == [2, 4, 8, 16, 30, 30]


def test_a_body_the_index_holds_already_is_not_built_again(tmp_path: Any) -> None:
    from nwi.operator.controller import Controller, OperatorConfig
    from nwi.operator.metrics import Metrics

    ctl = Controller(OperatorConfig(state_dir=tmp_path), FakeApi(), Metrics())
    ctl.observe(body("a", rv=5), None)
    first = ctl.index.get(key("a"))
    changes = ctl.index.version
    ctl.observe(body("a", rv=5), None)  # kopf's listing of what the priming list indexed
    assert ctl.index.get(key("a")) is first and ctl.index.version == changes  # nothing built, nobody woken
    edited = body("a", rv=6, path="/system/other")
    edited["metadata"]["generation"] = 2  # a spec edit: the apiserver counts a generation
    ctl.observe(edited, "MODIFIED")  # a new version: built and indexed
    newer = ctl.index.get(key("a"))
    assert newer is not first and newer is not None and newer.obj is not None
    assert str(newer.obj.device_path) == "/system/other"
    recreated = {**body("a", rv=6), "metadata": {**body("a", rv=6)["metadata"], "uid": "uid-other"}}
    ctl.observe(recreated, "MODIFIED")  # same name and version number, another object
    assert ctl.index.get(key("a")) is not newer


def test_lists_are_read_page_by_page() -> None:
    from nwi.operator import kubeapi

    class Custom:
        def __init__(self) -> None:
            self.calls: list[dict[str, Any]] = []

        def list_namespaced_custom_object(self, group: str, version: str, ns: str, plural: str,
                                          **kw: Any) -> dict[str, Any]:
            self.calls.append(kw)
            page = int(kw.get("_continue") or 0)
            more = {"continue": str(page + 1)} if page < 2 else {}
            return {"metadata": more, "items": [{"n": page * 10 + i} for i in range(2)]}

    api = kubeapi.KubeApi.__new__(kubeapi.KubeApi)
    api.custom = Custom()  # type: ignore[assignment]
    assert [o["n"] for o in api.list_objects("srosconfigs", ["ns"], "x=y")] == [0, 1, 10, 11, 20, 21]
    calls = api.custom.calls  # type: ignore[attr-defined]
    assert [c.get("_continue") for c in calls] == [None, "1", "2"]
    assert all(c["limit"] == kubeapi.LIST_PAGE and c["label_selector"] == "x=y" for c in calls)
