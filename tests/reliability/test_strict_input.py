"""Input as strict as the Kubernetes API: what kubectl would refuse, nwi refuses before anything is applied.

Every refusal is exit 3 with the file, the object and the field, and nothing
in the state directory.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # state_kit
from state_kit import REPO, config

from tests.conftest import SAMPLES, NwiRunner


def _write(path: Path, *docs: Any) -> Path:
    path.write_text("\n---\n".join(json.dumps(d) for d in docs))
    return path


def _refused(nwi: NwiRunner, state_dir: Path, f: Path) -> str:
    result = nwi("apply", "-f", f)
    assert result.exit_code == 3, result.stdout + result.stderr
    assert str(f) in result.stderr
    assert not (state_dir / "state.db").exists()
    return result.stderr


def test_duplicate_keys_are_refused_naming_both_places(nwi: NwiRunner, state_dir: Path) -> None:
    err = _refused(nwi, state_dir, SAMPLES / "bad" / "duplicate-key.yaml")
    assert "duplicate key 'path'" in err and "line 9, column 3" in err and "first at line 8, column 3" in err


@pytest.mark.parametrize("meta,field,why", [
    ({"name": "Upper"}, "metadata.name", "is not a valid name"),
    ({"name": "a" * 300}, "metadata.name", "300 characters; at most 253"),
    ({"name": "ok", "namespace": "Bad_NS"}, "metadata.namespace", "is not a valid namespace"),
    ({"name": "ok", "namespace": "n" * 64}, "metadata.namespace", "64 characters; at most 63"),
    ({"name": "a.b-c", "namespace": "x.y"}, "metadata.namespace", "is not a valid namespace"),
], ids=["upper-case", "300-characters", "bad-namespace", "long-namespace", "dot-in-namespace"])
def test_names_and_namespaces_are_checked_as_kubernetes_checks_them(
        nwi: NwiRunner, state_dir: Path, tmp_path: Path, meta: dict[str, str], field: str, why: str) -> None:
    doc = config("x", "r1", "/a", {"b": 1})
    doc["metadata"] = meta
    err = _refused(nwi, state_dir, _write(tmp_path / "in.yaml", doc))
    assert f"SRLinuxConfig {meta.get('namespace', 'default')}/" in err
    assert f": {field}: " in err and why in err


def test_a_dependency_that_no_valid_object_can_have_is_refused(nwi: NwiRunner, state_dir: Path,
                                                               tmp_path: Path) -> None:
    doc = config("x", "r1", "/a", {"b": 1})
    doc["metadata"]["annotations"] = {"nwi.enc.nokia.com/depends_on": json.dumps([{"kind": "SRLinuxConfig",
                                                                                   "name": "Not_Valid"}])}
    err = _refused(nwi, state_dir, _write(tmp_path / "in.yaml", doc))
    assert "depends_on][0].name" in err and "is not a valid name" in err


def test_control_and_escape_characters_are_refused_and_never_printed_raw(
        nwi: NwiRunner, state_dir: Path, tmp_path: Path) -> None:
    doc = config("evil\x1b[2J\x1b[31mred", "r1", "/a", {"b": 1})
    err = _refused(nwi, state_dir, _write(tmp_path / "in.yaml", doc))
    assert "\x1b" not in err and "\\x1b" in err

    # a state written before names were checked: `nwi get` shows such a name escaped
    assert nwi("apply", "-f", SAMPLES / "seed").exit_code == 0
    with sqlite3.connect(state_dir / "state.db") as db:
        db.execute("UPDATE objects SET name = 'vpls\x1b[31m-01' WHERE name = 'vpls-01'")
        db.execute("UPDATE objects SET manifest = replace(manifest, '\"vpls-01\"', '\"vpls\\u001b[31m-01\"')")
    db.close()
    shown = nwi("get")
    assert shown.exit_code == 0, shown.stderr
    assert "\x1b" not in shown.stdout and "vpls\\x1b[31m-01" in shown.stdout


def test_dev_zero_and_a_fifo_are_refused_promptly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for target in ("/dev/zero", str(fifo)):
        result = subprocess.run([sys.executable, "-m", "nwi.cli", "validate", target], cwd=REPO,
                                capture_output=True, text=True, timeout=60)  # a hang or MemoryError fails here
        assert result.returncode == 3, result.stderr
        assert f"{target}: not a regular file" in result.stderr and "Traceback" not in result.stderr


def test_properties_nested_500_deep_name_the_file_and_object(nwi: NwiRunner, state_dir: Path,
                                                              tmp_path: Path) -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(500):
        deep = {"x": deep}
    f = tmp_path / "deep.yaml"
    f.write_text("apiVersion: nwi.enc.nokia.com/v1alpha2\nkind: SRLinuxConfig\nmetadata: {name: deep}\n"
                 "spec:\n  switchID: r1\n  path: /a\n  properties: " + json.dumps(deep) + "\n")
    err = _refused(nwi, state_dir, f)
    assert "SRLinuxConfig deep: spec.properties: nested deeper than 100 levels" in err


def test_an_oversized_secret_is_refused_when_loading(nwi: NwiRunner, state_dir: Path, tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "big"},
              "stringData": {"password": "p" * (8 * 1024 * 1024)}}
    err = _refused(nwi, state_dir, _write(tmp_path / "secret.yaml", secret))
    assert "Secret default/big: data:" in err and "at most 1048576" in err
    assert "ppppppppppppppppppppp" not in err
