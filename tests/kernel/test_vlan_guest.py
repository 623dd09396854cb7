"""VLAN and VLAN-aware bridge tests under a real 6.1 kernel (Debian's, booted under QEMU).

The guest runs ``guest_cases.py`` with pytest on the project's own files and
.venv; each of its tests is reported here as one host test. The guest boots once
for the module; a guest that cannot boot fails every case with its console.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.vm import (
    VERBOSE_ENV,
    GuestBootError,
    GuestRun,
    guest_test_names,
    prepare_kernel,
    run_in_guest,
    run_pytest_in_guest,
)

# the guest boots once in the first case's set-up and runs every case under software emulation:
# minutes on a loaded 2-core machine, more than pytest-timeout's default allows one test
pytestmark = [pytest.mark.kernel, pytest.mark.timeout(900)]

CASES_FILE = Path(__file__).with_name("guest_cases.py")


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> GuestRun:
    prepare_kernel()
    return run_pytest_in_guest(CASES_FILE, tmp_path_factory.mktemp("vm-out"))


@pytest.mark.parametrize("case", guest_test_names(CASES_FILE))
def test_in_guest(guest: GuestRun, case: str) -> None:
    results = {name: r for name, r in guest.cases.items() if name == case or name.startswith(case + "[")}
    assert results, f"the guest reported nothing for {case} (exit {guest.returncode}):\n{guest.console[-4000:]}"
    for name, result in results.items():
        assert result.outcome == "passed", f"{name} {result.outcome} in the guest:\n{result.message}"


def test_a_guest_that_does_not_report_back_fails_with_its_console(tmp_path: Path) -> None:
    """The harness's failure names the guest's own last words, not just "reported nothing"."""
    prepare_kernel()
    # powers the guest off before its init can record an exit status, as a boot failure would
    argv = ["sh", "-c", "echo nwi-last-words; echo o > /proc/sysrq-trigger; sleep 30"]
    with pytest.raises(GuestBootError) as failure:
        run_in_guest(argv, tmp_path, timeout=240)
    assert "nwi-last-words" in str(failure.value)
    assert VERBOSE_ENV in str(failure.value)
