"""State that survives: a second run, kill -9, SIGTERM/SIGINT and a full disk never leave nwi lying.

Real ``nwi`` processes (``state_kit.nwi_process``) against the mock gNMI
server in this process, whose datastore counts writes per path and can keep a
Set in flight (``fault_kit.RecordingStore``) while the test signals the process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # state_kit, fault_kit
from fault_kit import RecordingStore
from state_kit import (
    lock_held,
    nwi_process,
    nwi_run,
    stored,
    wait_for,
    write_inputs,
)

from nwi.mockgnmi import MockGnmiServer, running
from nwi.mockgnmi.target import Target

N = 20  # interfaces; as many subinterfaces depend on them: two transactions on the device


@pytest.fixture
def device() -> Iterator[tuple[MockGnmiServer, RecordingStore]]:
    store = RecordingStore("r1")
    with running([Target("r1", store, port=0)]) as srv:
        yield srv, store
        store.release()  # never leave a server thread waiting on a held commit


def test_second_run_waits_for_the_lock_or_refuses_with_its_own_exit_code(
        device: tuple[MockGnmiServer, RecordingStore], tmp_path: Path) -> None:
    srv, store = device
    state = tmp_path / "state"
    inputs = write_inputs(tmp_path / "in", srv.port_of("r1"), N)
    store.hold(1)  # the first run's first Set stays in flight: it holds the lock meanwhile
    first = nwi_process(state, "apply", "-f", inputs)
    wait_for(store.holding.is_set, what="the first run's Set on the device")
    assert lock_held(state)

    refused = nwi_run(state, "apply", "-f", inputs, "--lock-timeout", "0")
    assert refused.returncode == 5, refused.stderr
    assert "another nwi run (pid" in refused.stderr and "nothing was changed" in refused.stderr
    assert "Traceback" not in refused.stderr

    second = nwi_process(state, "apply", "-f", inputs, "--lock-timeout", "60")
    assert second.stderr is not None
    line = second.stderr.readline()  # it says it waits, and for whom, before it waits
    assert "waiting for another nwi run" in line and f"pid {first.pid}" in line
    assert store.commits == 0
    store.release()
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, out + err
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, out + err
    assert "0 transaction(s) sent" in out  # it ran after the first: everything was in sync
    assert store.max_writes() == 1  # no path written twice
    assert all(s["phase"] == "Ready" for s in stored(state).values())


def _killed_mid_apply(srv: MockGnmiServer, store: RecordingStore, state: Path, inputs: Path,
                      sig: signal.Signals) -> subprocess.Popen[str]:
    """Start ``nwi apply`` and signal it while its second transaction is in flight on the device."""
    store.hold(2)
    proc = nwi_process(state, "apply", "-f", inputs)
    wait_for(store.holding.is_set, what="the second transaction in flight")
    proc.send_signal(sig)
    return proc


@pytest.mark.parametrize("update", [False, True], ids=["first-apply", "update"])
def test_kill_9_mid_apply_leaves_state_that_names_what_may_be_applied(
        device: tuple[MockGnmiServer, RecordingStore], tmp_path: Path, update: bool) -> None:
    srv, store = device
    state = tmp_path / "state"
    port = srv.port_of("r1")
    generation = 1
    if update:
        assert nwi_run(state, "apply", "-f", write_inputs(tmp_path / "in", port, N, "v1")).returncode == 0
        store.writes.clear()
        generation = 2
    inputs = write_inputs(tmp_path / "in", port, N, "v2")
    proc = _killed_mid_apply(srv, store, state, inputs, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    store.release()  # the device completes the Set its client no longer waits for
    wait_for(lambda: store.commits >= (4 if update else 2), what="the held commit")

    statuses = stored(state)
    assert len(statuses) == 2 * N  # nothing on the device is unknown to the state
    for i in range(N):
        assert statuses[f"if-{i}"]["phase"] == "Ready"
        assert statuses[f"if-{i}"]["observedGeneration"] == generation
        sub = statuses[f"sub-{i}"]
        assert (sub["phase"], sub["reason"], sub["observedGeneration"]) == ("Applying", "Unknown", generation)

    again = nwi_run(state, "apply", "-f", inputs)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 transaction(s) sent" in again.stdout  # the device held it all: found in sync, not rewritten
    assert store.max_writes() == 1
    assert {s["phase"] for s in stored(state).values()} == {"Ready"}


def test_delete_after_kill_9_during_first_apply_removes_everything_that_may_be_on_the_device(
        device: tuple[MockGnmiServer, RecordingStore], tmp_path: Path) -> None:
    srv, store = device
    state = tmp_path / "state"
    inputs = write_inputs(tmp_path / "in", srv.port_of("r1"), N)
    proc = _killed_mid_apply(srv, store, state, inputs, signal.SIGKILL)
    proc.communicate(timeout=60)
    store.release()
    wait_for(lambda: store.commits >= 2, what="the held commit")
    assert store.config().get("interface")

    result = nwi_run(state, "delete", "-f", inputs)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "never applied" not in result.stderr
    assert not store.config().get("interface"), store.config()  # nothing orphaned on the device
    assert stored(state) == {}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_finish_what_is_in_flight_record_it_and_exit(
        device: tuple[MockGnmiServer, RecordingStore], tmp_path: Path, sig: signal.Signals) -> None:
    srv, store = device
    state = tmp_path / "state"
    inputs = write_inputs(tmp_path / "in", srv.port_of("r1"), N)
    proc = _killed_mid_apply(srv, store, state, inputs, sig)
    assert proc.stderr is not None
    assert signal.Signals(sig).name in proc.stderr.readline()  # it heard the signal while the Set is in flight
    store.release()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, out + err
    assert "Traceback" not in err
    statuses = stored(state)
    assert {s["phase"] for s in statuses.values()} == {"Ready"}  # the Set in flight finished and was recorded
    assert len(statuses) == 2 * N


def test_sigterm_stops_before_sending_what_was_not_dispatched(
        device: tuple[MockGnmiServer, RecordingStore], tmp_path: Path) -> None:
    srv, store = device
    state = tmp_path / "state"
    inputs = write_inputs(tmp_path / "in", srv.port_of("r1"), N)
    store.hold(1)  # the first wave is in flight when the signal comes: the second must not follow
    proc = nwi_process(state, "apply", "-f", inputs)
    wait_for(store.holding.is_set, what="the first transaction in flight")
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None and "SIGTERM" in proc.stderr.readline()
    store.release()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, out + err
    assert store.commits == 1
    statuses = stored(state)
    assert {n for n, s in statuses.items() if s["phase"] == "Ready"} == {f"if-{i}" for i in range(N)}, statuses
    assert len(statuses) == N  # the subinterfaces were never sent and are not claimed
    again = nwi_run(state, "apply", "-f", inputs)
    assert again.returncode == 0 and store.max_writes() == 1


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of its own (root only), which the test fills when it wants the disk full."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; the file that does it (remove it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError:
                pass  # full at this grain: try a finer one
    finally:
        os.close(fd)
    return filler


def test_full_disk_says_so_sends_nothing_unrecorded_and_recovers(
        device: tuple[MockGnmiServer, RecordingStore], tmp_path: Path, small_disk: Path) -> None:
    srv, store = device
    state = small_disk / "state"
    inputs = write_inputs(tmp_path / "in", srv.port_of("r1"), N, padding=20_000)
    store.hold(1)  # the disk fills while the first transaction is in flight
    proc = nwi_process(state, "apply", "-f", inputs)
    wait_for(store.holding.is_set, what="the first transaction in flight")
    filler = _fill(small_disk)
    store.release()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 4, out + err
    assert "disk is full" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    assert store.commits == 1  # the subinterfaces, whose intent could not be recorded, were not sent
    statuses = stored(state)  # reading a full disk works
    on_device = {e["name"] for e in store.config().get("interface", [])}
    claimed = {f"e{n.removeprefix('if-')}" for n in statuses if n.startswith("if-")}
    assert on_device and on_device <= claimed  # what reached the device is in the state (Applying/Unknown)
    assert not any(n.startswith("sub-") for n in statuses)

    filler.unlink()
    again = nwi_run(state, "apply", "-f", inputs)
    assert again.returncode == 0, again.stdout + again.stderr
    assert store.max_writes() == 1  # what the device held was found in sync, not written again
    assert {s["phase"] for s in stored(state).values()} == {"Ready"} and len(stored(state)) == 2 * N


def test_corrupt_state_is_one_line_naming_the_file_and_exit_4(tmp_path: Path) -> None:
    state = tmp_path / "state"
    seed = Path(__file__).resolve().parents[2] / "samples" / "seed"
    assert nwi_run(state, "apply", "-f", seed).returncode == 0
    db = state / "state.db"
    good = db.read_bytes()
    for damage in ("truncated", "garbage", "bad row"):
        if damage == "truncated":
            db.write_bytes(good[: len(good) // 3])
        elif damage == "garbage":
            db.write_bytes(b"\x00garbage" * 512)
        else:
            db.write_bytes(good)
            import sqlite3
            with sqlite3.connect(db) as conn:
                conn.execute("UPDATE objects SET status = '{not json' WHERE name = 'vpls-01'")
            conn.close()
        for args in (("get",), ("apply", "-f", seed)):
            result = nwi_run(state, *args)
            assert result.returncode == 4, (damage, args, result.stderr)
            assert str(db) in result.stderr and "--state-dir" in result.stderr, result.stderr
            assert "Traceback" not in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_read_only_state_can_still_be_read(tmp_path: Path) -> None:
    state = tmp_path / "state"
    seed = Path(__file__).resolve().parents[2] / "samples" / "seed"
    assert nwi_run(state, "apply", "-f", seed).returncode == 0
    ro = tmp_path / "ro"
    shutil.copytree(state, ro)
    subprocess.run(["chattr", "-R", "+i", str(ro)], check=False)  # root ignores modes: make it immutable
    try:
        if _writable(ro):
            pytest.skip("cannot make a read-only directory here")
        got = nwi_run(ro, "get", "-o", "json")
        assert got.returncode == 0, got.stderr
        assert {i["metadata"]["name"] for i in json.loads(got.stdout)["items"]} == {"customer-1234", "vpls-01"}
        planned = nwi_run(ro, "plan", "-f", seed)
        assert planned.returncode == 0, planned.stderr
        applied = nwi_run(ro, "apply", "-f", seed)
        assert applied.returncode == 4 and "Traceback" not in applied.stderr, applied.stderr
        assert "read" in applied.stderr
    finally:
        subprocess.run(["chattr", "-R", "-i", str(ro)], check=False)


def _writable(directory: Path) -> bool:
    try:
        (directory / ".probe").touch()
    except OSError:
        return False
    (directory / ".probe").unlink()
    return True
