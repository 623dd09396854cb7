"""Shared fixtures: run the real `nwi` CLI in-process against a private state directory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nwi.cli import app

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


NwiRunner = Callable[..., CliResult]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / ".nwi"


@pytest.fixture
def nwi(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NwiRunner]:
    """``nwi(*args)`` runs the CLI with ``--state-dir`` pointing at a fresh directory."""
    monkeypatch.setenv("NWI_STATE_DIR", str(state_dir))
    runner = CliRunner()

    def run(*args: str | os.PathLike[str]) -> CliResult:
        result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    yield run
