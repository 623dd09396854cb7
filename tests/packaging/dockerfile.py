"""The Dockerfile's build stage as data: which files of the tree it copies, and where to."""

from __future__ import annotations

import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]
    dest: str


def build_stage_copies(dockerfile: Path) -> list[Copy]:
    """The ``COPY`` instructions of the first stage that take files from the build context."""
    copies: list[Copy] = []
    stages = 0
    for raw in _instructions(dockerfile.read_text()):
        word, _, rest = raw.partition(" ")
        if word.upper() == "FROM":
            stages += 1
            if stages > 1:
                break
        elif word.upper() == "COPY":
            args = shlex.split(rest)
            if any(a.startswith("--from") for a in args):
                continue
            args = [a for a in args if not a.startswith("--")]
            copies.append(Copy(tuple(args[:-1]), args[-1]))
    return copies


def _instructions(text: str) -> list[str]:
    """Instructions with their line continuations joined, comments dropped."""
    out: list[str] = []
    current = ""
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current.strip():
            out.append(current.strip())
        current = ""
    return out


def reproduce_context(repo: Path, copies: list[Copy], into: Path) -> None:
    """Lay out ``into`` as the build stage's WORKDIR is after its COPY lines."""
    for c in copies:
        dest = into / c.dest
        for src in c.sources:
            path = repo / src
            if not path.exists():
                raise FileNotFoundError(f"Dockerfile COPYs {src!r}, which is not in the repository")
            if path.is_dir():  # as docker does: a directory's contents, not the directory itself
                shutil.copytree(path, dest, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
            else:
                target = dest / path.name if c.dest.endswith("/") or len(c.sources) > 1 else dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
