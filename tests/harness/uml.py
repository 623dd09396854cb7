"""Run pytest inside a User-Mode Linux guest and hand each test's outcome back to the host.

The host kernel here has no 802.1Q VLANs and no VLAN-aware bridges; Debian's
``user-mode-linux`` kernel (6.1) has both. ``uml-run.sh`` boots it with the
host filesystem as a read-only root, so the guest runs the project's own
``.venv`` python on the project's own files, and writes a JUnit XML report to a
host directory shared as ``/run/out``. Booting takes a few seconds, so a test
module boots once and reports every guest test as its own host test.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
UML_RUN = HERE / "uml-run.sh"
UML_MODULES = Path("/usr/lib/uml/modules")
#: set in the guest so that guest-only test files refuse to run anywhere else
GUEST_ENV = "NWI_UML_GUEST"


def uml_unavailable() -> str:
    """Why this machine cannot boot the UML guest ('' when it can)."""
    if shutil.which("linux.uml") is None:
        return "user-mode-linux is not installed (tests/run.sh installs it: apt-get install user-mode-linux)"
    if not UML_MODULES.is_dir():
        return f"{UML_MODULES} is missing (package user-mode-linux)"
    if shutil.which("modprobe") is None and not Path("/sbin/modprobe").exists():
        return "modprobe is missing (package kmod): the guest could not load its VLAN/bridge modules"
    if not os.access("/dev/shm", os.W_OK):
        return "/dev/shm is not writable: UML needs it for guest memory"
    return ""


@dataclass(frozen=True)
class CaseResult:
    outcome: str  # passed | failed | error | skipped
    message: str = ""


@dataclass
class GuestRun:
    returncode: int
    console: str
    cases: dict[str, CaseResult] = field(default_factory=dict)


def guest_test_names(path: Path) -> list[str]:
    """The test functions of a guest test file, found without importing it on the host."""
    tree = ast.parse(path.read_text())
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


def run_pytest_in_guest(test_file: Path, out_dir: Path, timeout: float = 240.0) -> GuestRun:
    """Boot the guest, run ``pytest test_file`` in it with this interpreter, return per-test results."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = out_dir / "junit.xml"
    report.unlink(missing_ok=True)
    cmd = [
        str(UML_RUN),
        "env",
        f"{GUEST_ENV}=1",
        sys.executable,
        "-m",
        "pytest",
        str(test_file),
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "junit_family=xunit1",
        "--junitxml=/run/out/junit.xml",
    ]
    env = {**os.environ, "UML_OUT": str(out_dir), "UML_TIMEOUT": str(int(timeout))}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout + 30)
    run = GuestRun(proc.returncode, proc.stdout + proc.stderr)
    if report.exists():
        run.cases = _parse_junit(report)
    return run


def _parse_junit(report: Path) -> dict[str, CaseResult]:
    cases = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        outcome, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                outcome = "failed" if tag == "failure" else tag
                message = f"{node.get('message', '')}\n{node.text or ''}".strip()
                break
        cases[name] = CaseResult(outcome, message)
    return cases
