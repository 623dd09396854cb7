"""Run pytest inside a guest kernel (QEMU) and hand each test's outcome back to the host.

The host kernel here has no 802.1Q VLANs and no VLAN-aware bridges. Debian's own
amd64 kernel has both; ``vm-kernel.sh`` unpacks it once into ``~/.cache/nwi-vm``
(keyed by its package version) with a small initramfs, and ``vm-run.sh`` boots it
under QEMU with the host filesystem as a read-only 9p root, so the guest runs the
project's own ``.venv`` python on the project's own files and writes a JUnit XML
report to a host directory it sees as ``/run/out``. (User-Mode Linux, used
before, cannot boot on CPUs whose XSAVE area outgrows the legacy one, such as
AVX-512 and AMX hosts: see vm-kernel.sh.)

Booting costs seconds, so a test module boots once and reports every guest test
as its own host test. A guest that does not boot fails every case with the
guest's own last console lines.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VM_RUN = HERE / "vm-run.sh"
VM_KERNEL = HERE / "vm-kernel.sh"
#: set in the guest so that guest-only test files refuse to run anywhere else
GUEST_ENV = "NWI_VM_GUEST"
#: vm-run.sh shows the kernel's boot messages on the console when this is 1
VERBOSE_ENV = "NWI_VM_VERBOSE"
#: vm-run.sh's exit status when the guest reported none (did not boot, or timed out)
NO_STATUS = 125


class GuestBootError(RuntimeError):
    """The guest kernel did not boot, or did not report back: the message carries its console."""


@dataclass(frozen=True)
class CaseResult:
    outcome: str  # passed | failed | error | skipped
    message: str = ""


@dataclass
class GuestRun:
    returncode: int
    console: str
    cases: dict[str, CaseResult] = field(default_factory=dict)


def prepare_kernel() -> Path:
    """The cached guest kernel's directory, unpacked first if this machine has none yet."""
    proc = subprocess.run([str(VM_KERNEL), "build"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise GuestBootError(f"vm-kernel.sh build failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def guest_test_names(path: Path) -> list[str]:
    """The test functions of a guest test file, found without importing it on the host."""
    tree = ast.parse(path.read_text())
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]


def run_in_guest(argv: list[str], out_dir: Path, timeout: float) -> GuestRun:
    """Boot the guest, run ``argv`` in it (cwd: the repository); raise GuestBootError if it never reports."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NWI_VM_OUT": str(out_dir), "NWI_VM_TIMEOUT": str(int(timeout))}
    cmd = [str(VM_RUN), "env", f"{GUEST_ENV}=1", *argv]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout + 60)
    run = GuestRun(proc.returncode, proc.stdout + proc.stderr)
    if proc.returncode == NO_STATUS and not (out_dir / "rc").exists():
        raise GuestBootError(
            f"the guest kernel did not report back (vm-run.sh exit {NO_STATUS}); its console ended with:\n"
            f"{_tail(run.console)}\n(rerun with {VERBOSE_ENV}=1 to see the kernel's boot messages)"
        )
    return run


def run_pytest_in_guest(test_file: Path, out_dir: Path, timeout: float = 600.0) -> GuestRun:
    """Run ``pytest test_file`` in the guest with this interpreter; per-test results in ``cases``."""
    report = out_dir / "junit.xml"
    report.unlink(missing_ok=True)
    argv = [
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
    run = run_in_guest(argv, out_dir, timeout)
    if report.exists():
        run.cases = _parse_junit(report)
    return run


def _tail(console: str, lines: int = 40) -> str:
    return "\n".join(console.rstrip().splitlines()[-lines:])


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
