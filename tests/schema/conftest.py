"""Models for schema tests: unmodified vendor and OpenConfig YANG under <repo>/../shared/yang.

The project never carries vendor models (SR OS's licence allows only unmodified
copies for managing Nokia products); tests that need them skip, saying why,
where that folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_YANG = REPO.parent / "shared" / "yang"
SROS = SHARED_YANG / "sros-19.7"
SRLINUX = SHARED_YANG / "srlinux-25.3.1"
OPENCONFIG = SHARED_YANG / "openconfig-5.9.0"


def _need(d: Path) -> Path:
    if not d.is_dir():
        pytest.skip(f"YANG models not found at {d} (tests read them from <repo>/../shared/yang)")
    return d


@pytest.fixture(scope="session")
def sros_dir() -> Path:
    return _need(SROS)


@pytest.fixture(scope="session")
def srlinux_dir() -> Path:
    return _need(SRLINUX)


@pytest.fixture(scope="session")
def openconfig_dir() -> Path:
    return _need(OPENCONFIG)
