"""VLAN and VLAN-aware bridge tests under a real 6.1 kernel (User-Mode Linux).

The guest runs ``uml_cases.py`` with pytest on the project's own files and
.venv; each of its tests is reported here as one host test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.harness.uml import GuestRun, guest_test_names, run_pytest_in_guest, uml_unavailable

pytestmark = pytest.mark.kernel

CASES_FILE = Path(__file__).with_name("uml_cases.py")


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> GuestRun:
    why = uml_unavailable()
    if why:
        pytest.skip(why)
    return run_pytest_in_guest(CASES_FILE, tmp_path_factory.mktemp("uml-out"))


@pytest.mark.parametrize("case", guest_test_names(CASES_FILE))
def test_in_uml_guest(guest: GuestRun, case: str) -> None:
    results = {name: r for name, r in guest.cases.items() if name == case or name.startswith(case + "[")}
    assert results, f"the guest reported nothing for {case} (exit {guest.returncode}):\n{guest.console[-4000:]}"
    for name, result in results.items():
        assert result.outcome == "passed", f"{name} {result.outcome} in the UML guest:\n{result.message}"
