"""The operator's per-object savings (issue 20) keep their meaning: what they skip is only what is not needed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import kopf

from nwi.engine import DriverPool, Engine
from nwi.kinds import DEPENDS_ON, TRANSACTION
from nwi.model import ObjectKey, SecretObject
from nwi.operator.controller import FINALIZER, entry_of
from nwi.operator.diffbase import HandledInMemory
from nwi.operator.handlers import MARKER, mark_managed
from nwi.operator.reconciler import _SecretCache
from tests.unit.engine_kit import CountingDriver, Lab, obj

DEP_C = '[{"kind": "SROSConfig", "name": "c"}]'


def body(generation: int = 1, spec: dict[str, Any] | None = None, annotations: dict[str, str] | None = None,
         status: dict[str, Any] | None = None, finalizers: list[str] | None = None, uid: str = "u-1") -> dict[str, Any]:
    return {
        "apiVersion": "nwi.enc.nokia.com/v1alpha2", "kind": "SROSConfig",
        "metadata": {"name": "vpls-1", "namespace": "ns", "uid": uid, "generation": generation,
                     "resourceVersion": "10", "annotations": annotations or {},
                     **({"finalizers": finalizers} if finalizers else {})},
        "spec": spec or {"switchID": "pe1", "path": "/configure/service/vpls[service-name=v1]",
                         "properties": {"service-id": 1}},
        **({"status": status} if status else {}),
    }


# ---- kopf's diff base, in memory -------------------------------------------------------------------
def test_the_diff_base_digest_follows_spec_and_nwi_annotations_only() -> None:
    base = HandledInMemory()
    first = base.build(body=kopf.Body(body()))
    assert base.build(body=kopf.Body(body(status={"phase": "Ready"}))) == first  # a status write: no change
    assert base.build(body=kopf.Body(body(annotations={"team": "a", f"{MARKER}": "yes"}))) == first
    changed_spec = body(spec={"switchID": "pe1", "path": "/configure/service/vpls[service-name=v1]",
                              "properties": {"service-id": 2}})
    assert base.build(body=kopf.Body(changed_spec)) != first
    assert base.build(body=kopf.Body(body(annotations={DEPENDS_ON: DEP_C}))) != first
    assert base.build(body=kopf.Body(body(annotations={TRANSACTION: "t1"}))) != first


def test_the_diff_base_is_what_was_handled_or_a_settled_status_at_this_generation() -> None:
    base = HandledInMemory()
    new = kopf.Body(body())
    assert base.fetch(body=new) is None  # never handled: kopf creates
    settled = kopf.Body(body(status={"phase": "Ready", "observedGeneration": 1}))
    assert base.fetch(body=settled) == base.build(body=settled)  # a restart: kopf resumes, no create
    for unsettled in ({"phase": "Ready", "observedGeneration": 0}, {"phase": "Failed", "observedGeneration": 1},
                      {"phase": "Waiting", "observedGeneration": 1}):
        assert base.fetch(body=kopf.Body(body(status=unsettled))) is None, unsettled  # the handler must run
    base.store(body=new, patch=kopf.Patch(), essence=base.build(body=new))
    edited = kopf.Body(body(generation=2, spec={"switchID": "pe1", "path": "/configure/service/vpls[service-name=v1]",
                                                "properties": {"service-id": 2}}))
    assert base.fetch(body=edited) == base.build(body=new) != base.build(body=edited)  # an update
    base.forget("u-1")
    assert base.fetch(body=new) is None


def test_the_diff_base_writes_nothing_into_the_object() -> None:
    base = HandledInMemory()
    patch = kopf.Patch()
    base.store(body=kopf.Body(body()), patch=patch, essence=base.build(body=kopf.Body(body())))
    assert not patch


# ---- kopf's marker rides on the finalizer's patch --------------------------------------------------------
def test_the_marker_goes_with_the_finalizer_as_one_json_patch() -> None:
    raw = body()
    patch = kopf.Patch()
    mark_managed(kopf.Body(raw), patch)
    assert not dict(patch) and len(patch.fns) == 1  # a function: sent with the finalizer, not as a merge
    patch.fns.append(lambda b: b["metadata"].setdefault("finalizers", []).append(FINALIZER))
    ops = patch.as_json_patch(raw)
    assert {op["path"] for op in ops} >= {"/metadata/finalizers"}
    assert any(op["path"].startswith("/metadata/annotations") and "kopf-managed" in str(op) for op in ops), ops
    for done in (body(finalizers=[FINALIZER]), body(annotations={MARKER: "yes"})):
        later = kopf.Patch()
        mark_managed(kopf.Body(done), later)
        assert not later


# ---- an event rebuilds the object only when what it is built from changed ------------------------------
def test_a_status_event_reuses_the_built_object_and_an_edit_rebuilds_it() -> None:
    first = entry_of(body())
    assert first.obj is not None
    status_event = entry_of(body(status={"phase": "Ready"}), first)
    assert status_event.obj is first.obj and status_event.status.phase == "Ready"
    for changed in (body(generation=2), body(annotations={DEPENDS_ON: DEP_C}), body(uid="u-2")):
        rebuilt = entry_of(changed, first)
        assert rebuilt.obj is not None and rebuilt.obj is not first.obj
    assert entry_of(body(annotations={DEPENDS_ON: DEP_C}), first).obj.depends_on == (  # type: ignore[union-attr]
        ObjectKey("SROSConfig", "ns", "c"),)
    invalid = entry_of(body(generation=3, spec={"switchID": "pe1"}), first)
    assert invalid.obj is None and "path" in invalid.error
    assert entry_of(body(generation=3, spec={"switchID": "pe1"}, status={"phase": "Failed"}), invalid).error


# ---- engine runs on threads kept across runs ---------------------------------------------------------------
def test_engine_runs_on_the_given_threads_and_leaves_them_running() -> None:
    lab = Lab()
    names: list[str] = []

    class Named(CountingDriver):
        def apply(self, txn: Any, dry_run: bool = False) -> None:
            names.append(threading.current_thread().name)
            super().apply(txn, dry_run)

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="kept") as executor:
        for run in range(2):
            engine = Engine(DriverPool(lambda d: Named(d, lab.store(d), lab)), lab.sink, max_workers=2,
                            executor=executor)
            objects = [obj(f"o{run}", "r1", f"/system/o{run}", {"v": run})]
            report = engine.apply(objects, {o.key: o.spec.switch_id for o in objects})
            assert report.ok, report.outcomes
        assert executor.submit(lambda: 1).result() == 1  # not shut down by the runs
    assert names and all(n.startswith("kept") for n in names)


# ---- device Secrets are read at most once per TTL --------------------------------------------------------
def test_secrets_are_read_again_after_the_ttl_or_a_clear() -> None:
    now = [0.0]
    reads: list[str] = []

    def read(namespace: str, name: str) -> SecretObject | None:
        reads.append(name)
        return SecretObject(ObjectKey("Secret", namespace, name), {"password": f"p{len(reads)}"})

    cache = _SecretCache(read, ttl=10.0, clock=lambda: now[0])
    first = cache.get("ns", "creds")
    now[0] = 9.0
    assert cache.get("ns", "creds") is first and reads == ["creds"]
    now[0] = 10.5
    assert cache.get("ns", "creds") is not first and reads == ["creds", "creds"]
    cache.clear()
    assert cache.get("ns", "creds") is not None and len(reads) == 3



# ---- the cycle collector -------------------------------------------------------------------------------
def test_the_operator_freezes_start_up_objects_and_collects_the_young_generation_less_often() -> None:
    import gc

    from nwi.operator.runner import GC_THRESHOLDS, tune_gc

    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS and GC_THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
