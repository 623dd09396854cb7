"""nwi.lazy.cached: computed once per instance, invisible to pydantic's fields, equality and dumps."""

from __future__ import annotations

import threading

from nwi.lazy import cached
from nwi.model import ConfigSpec


class Counted:
    def __init__(self) -> None:
        self.calls = 0

    @cached
    def value(self) -> int:
        self.calls += 1
        return 42


def test_computed_once_then_read_from_the_instance() -> None:
    c = Counted()
    assert (c.value, c.value, c.calls) == (42, 42, 1)
    assert Counted().calls == 0  # per instance


def test_threads_computing_different_instances_do_not_wait_on_each_other() -> None:
    # functools.cached_property (3.11) would hold one class-wide lock while the first blocks
    release = threading.Event()
    entered = threading.Barrier(2, timeout=5)

    class Slow:
        @cached
        def value(self) -> int:
            entered.wait()  # both threads are inside the computation at once
            release.wait(5)
            return 1

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(Slow().value)) for _ in range(2)]
    for t in threads:
        t.start()
    release.set()
    for t in threads:
        t.join(10)
    assert results == [1, 1]


def test_a_spec_with_its_hash_cached_equals_and_dumps_as_before() -> None:
    doc = {"switchID": "r1", "path": "/system", "properties": {"hostname": "r1"}}
    cached_spec, fresh = ConfigSpec.model_validate(doc), ConfigSpec.model_validate(doc)
    assert cached_spec.desired_hash == fresh.model_copy().desired_hash
    assert cached_spec == fresh
    assert cached_spec.model_dump() == fresh.model_dump() and "desired_hash" not in cached_spec.model_dump()
