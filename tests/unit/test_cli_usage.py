"""The command line as a kubectl user expects it: choices enforced and shown, --version, Devices
listed by `nwi get`, and --help without type labels or cut option names."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from nwi.cli import app
from tests.conftest import NwiRunner

# every registered command (a new one too), but `bench`, whose --help is the benchmark's own (argparse)
_ROOT = typer.main.get_command(app)
COMMANDS = [n for n in _ROOT.list_commands(_ROOT.make_context("nwi", [], resilient_parsing=True))  # type: ignore[attr-defined]
            if n != "bench"]
assert {"validate", "plan", "apply", "delete", "get", "graph", "mock-gnmi", "operator"} <= set(COMMANDS)


@pytest.mark.parametrize(("args", "choices"), [
    (["plan", "-f", "x.yaml", "-o", "yaml"], ["text", "json"]),
    (["apply", "-f", "x.yaml", "--output", "bogus"], ["table", "wide", "json", "yaml"]),
    (["get", "-o", "bogus"], ["table", "wide", "json", "yaml"]),
    (["graph", "-f", "x.yaml", "--format", "svg"], ["dot", "mermaid"]),
])
def test_an_unknown_output_format_is_a_usage_error_listing_the_choices(
    nwi: NwiRunner, args: list[str], choices: list[str],
) -> None:
    r = nwi(*args)
    assert r.exit_code == 2, r.stdout + r.stderr
    assert r.stdout == ""
    for choice in choices:
        assert f"'{choice}'" in r.stderr


@pytest.mark.parametrize(("command", "shown"), [
    ("plan", "One of: text, json."), ("apply", "One of: table, wide, json, yaml."),
    ("get", "One of: table, wide, json, yaml."), ("graph", "One of: dot, mermaid."),
])
def test_help_shows_the_choices(nwi: NwiRunner, command: str, shown: str) -> None:
    r = nwi(command, "--help")
    assert r.exit_code == 0 and shown in r.stdout


def test_version_prints_the_installed_version(nwi: NwiRunner) -> None:
    r = nwi("--version")
    assert r.exit_code == 0
    assert r.stdout == f"nwi {metadata.version('nwi')}\n"


DEVICE_AND_OBJECT = """\
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: Device
metadata: {name: lab1, namespace: default}
spec: {driver: virtual, address: 127.0.0.1}
---
apiVersion: nwi.enc.nokia.com/v1alpha2
kind: SROSConfig
metadata: {name: c1, namespace: default}
spec: {switchID: lab1, path: "/service/customer[customer-name=c1]", properties: {customer-id: 1}}
"""


@pytest.mark.parametrize("kind", ["devices", "device", "Device", "nwidev", "devices.nwi.enc.nokia.com"])
def test_get_devices_lists_the_devices_like_kubectl(nwi: NwiRunner, tmp_path: Path, kind: str) -> None:
    (tmp_path / "in.yaml").write_text(DEVICE_AND_OBJECT)
    assert nwi("apply", "-f", tmp_path / "in.yaml").exit_code == 0
    r = nwi("get", kind)
    assert r.exit_code == 0, r.stderr
    head, *rows = r.stdout.splitlines()
    assert head.split() == ["NAMESPACE", "NAME", "ADDRESS", "PORT", "DRIVER"]
    assert [row.split() for row in rows] == [["default", "lab1", "127.0.0.1", "<none>", "virtual"]]


def test_get_kind_name_shows_one_object_whole(nwi: NwiRunner, tmp_path: Path) -> None:
    (tmp_path / "in.yaml").write_text(DEVICE_AND_OBJECT)
    assert nwi("apply", "-f", tmp_path / "in.yaml").exit_code == 0
    import yaml

    doc = yaml.safe_load(nwi("get", "srosconfig", "c1", "-o", "yaml").stdout)
    assert (doc["kind"], doc["metadata"]["name"], doc["status"]["phase"]) == ("SROSConfig", "c1", "Ready")
    dev = yaml.safe_load(nwi("get", "device", "lab1", "-o", "yaml").stdout)
    assert (dev["kind"], dev["spec"]["driver"]) == ("Device", "virtual")
    missing = nwi("get", "srosconfig", "nope")
    assert missing.exit_code == 1 and "'nope' not found" in missing.stderr


def _help(*args: str) -> str:
    r = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.output
    return r.stdout


def _long_options(command: str | None) -> list[str]:
    root = typer.main.get_command(app)
    ctx = root.make_context("nwi", [command] if command else [], resilient_parsing=True)
    cmd = root.get_command(ctx, command) if command else root  # type: ignore[attr-defined]
    return [o for p in cmd.get_params(ctx) for o in [*p.opts, *p.secondary_opts] if o.startswith("--")]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_reads_like_kubectl_at_80_columns(command: str | None) -> None:
    text = _help(*([command] if command else []))
    # no type labels such as <list[Path]>, <bool>, <str>, and no boxes around them
    assert not re.search(r"<(list\[|bool|str|int|float|path)", text, re.I), text
    assert not set(text) & set("╭╮╰╯│─")
    assert all(len(line) <= 80 for line in text.splitlines()), max(text.splitlines(), key=len)
    options = _long_options(command)
    assert options
    for option in options:  # every long option's name whole, at the start of its own entry
        assert re.search(rf"^    (-\w, )?(--[\w-]+, )*{re.escape(option)}\b", text, re.M), option
    assert "Usage:" in text
