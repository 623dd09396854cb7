"""Pausing cyclic GC around planning: paused inside, restored as it was whatever happens; what a
command keeps to its end (inputs, plan) is left out of collection passes."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from nwi.session import Options, Session, gc_paused, validate_inputs
from tests.conftest import SAMPLES


def test_paused_inside_and_restored_after_even_on_error() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            pass
        assert not gc.isenabled()  # leaving an inner pause does not end the outer one
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("planning failed")
    assert gc.isenabled()


def test_leaves_collection_off_when_it_was_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_plan_is_exempt_from_collection_passes_like_the_inputs(tmp_path: Path) -> None:
    # the CLI keeps the plan to the end: the first collection after planning walked all of it
    opts = Options(state_dir=tmp_path)
    session = Session(opts, validate_inputs([SAMPLES / "seed"], opts), read_only=True)
    try:
        _, batches, _ = session.plan()
        planned = batches[0][0].objects[0]
        assert gc.is_tracked(planned)
        assert not any(o is planned for o in gc.get_objects())  # the permanent generation is not listed
    finally:
        session.close()
        gc.unfreeze()  # the test process is not short-lived: give its objects back to collection
