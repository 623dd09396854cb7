"""The Dockerfile's build stage builds: what it copies is all ``pip install .`` needs.

No docker engine runs here, so the build stage is reproduced: exactly the files its
COPY lines take from the tree, laid out as its WORKDIR, and a wheel built from them.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from dockerfile import build_stage_copies, reproduce_context

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def _package_dirs() -> dict[str, str]:
    tool = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    dirs: dict[str, str] = tool.get("package-dir", {})
    out = {}
    for pkg in tool["packages"]:
        # the longest mapped parent decides where a package lives (setuptools' rule)
        parent = max((p for p in dirs if pkg == p or pkg.startswith(p + ".")), key=len, default=None)
        base = dirs[parent] if parent is not None else ""
        rest = pkg[len(parent) + 1:] if parent is not None and pkg != parent else ("" if parent else pkg)
        out[pkg] = "/".join(filter(None, [base, rest.replace(".", "/")]))
    return out


def test_every_packaged_directory_is_copied_by_the_build_stage(tmp_path: Path) -> None:
    reproduce_context(REPO, build_stage_copies(DOCKERFILE), tmp_path)
    missing = {pkg: d for pkg, d in _package_dirs().items() if not (tmp_path / d / "__init__.py").is_file()}
    assert not missing, f"pyproject.toml packages directories the Dockerfile does not COPY: {missing}"
    assert (tmp_path / "pyproject.toml").is_file() and (tmp_path / "README.md").is_file()


def test_no_top_level_bench_package_is_installed() -> None:
    # a top-level `bench` in site-packages would shadow anyone else's; nwi's runs from a checkout
    assert all(pkg == "nwi" or pkg.startswith("nwi.") for pkg in _package_dirs())


@pytest.mark.timeout(600)
def test_a_wheel_builds_from_exactly_the_files_the_build_stage_copies(tmp_path: Path) -> None:
    ctx = tmp_path / "src"
    reproduce_context(REPO, build_stage_copies(DOCKERFILE), ctx)
    out = tmp_path / "wheel"
    # `pip install .` as the Dockerfile runs it builds this wheel first (in an isolated build env)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
                        "-w", str(out), "."], cwd=ctx, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    [wheel] = out.glob("nwi-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {n for n in tops if not n.endswith(".dist-info")} == {"nwi"}
    for module in ("nwi/cli.py", "nwi/drivers/gnmi.py", "nwi/drivers/linux/__init__.py", "nwi/operator/__init__.py",
                   "nwi/mockgnmi/__init__.py"):
        assert module in names
