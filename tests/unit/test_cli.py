"""The standalone CLI end to end on the embedded virtual device."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nwi.cli import EXIT_INVALID, EXIT_NOT_READY
from tests.conftest import SAMPLES, NwiRunner


def device_file(state_dir: Path, name: str) -> dict:
    return json.loads((state_dir / "devices" / f"{name}.json").read_text())


def test_seed_applies_in_order_and_second_apply_writes_nothing(nwi: NwiRunner, state_dir: Path) -> None:
    first = nwi("apply", "-f", SAMPLES / "seed")
    assert first.exit_code == 0, first.stderr
    lines = [line.split() for line in first.stdout.splitlines()]
    assert [row[1] for row in lines[1:3]] == ["customer-1234", "vpls-01"]  # order of application
    assert all(row[5] == "Ready" for row in lines[1:3])
    assert "2 transaction(s) sent" in first.stdout
    mtime = (state_dir / "devices" / "172.20.20.200.json").stat().st_mtime_ns

    second = nwi("apply", "-f", SAMPLES / "seed")
    assert second.exit_code == 0
    assert "0 transaction(s) sent" in second.stdout
    assert (state_dir / "devices" / "172.20.20.200.json").stat().st_mtime_ns == mtime

    got = nwi("get", "srosconfigs")
    assert [line.split()[1] for line in got.stdout.splitlines()[1:]] == ["customer-1234", "vpls-01"]
    doc = json.loads(nwi("get", "-o", "json").stdout)
    status = {i["metadata"]["name"]: i["status"] for i in doc["items"]}
    assert status["vpls-01"]["phase"] == "Ready"
    assert status["vpls-01"]["observedGeneration"] == 1
    vpls = device_file(state_dir, "172.20.20.200")["configure"]["service"]["vpls"]["entries"]
    assert vpls == [{"admin-state": "enable", "customer": "1234", "service-id": 4321, "service-name": "vpls-01"}]


def test_changed_object_bumps_generation_and_is_rewritten(nwi: NwiRunner, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    text = (SAMPLES / "seed" / "vpls-01.yaml").read_text()
    (src / "c.yaml").write_text((SAMPLES / "seed" / "customer-1234.yaml").read_text())
    (src / "v.yaml").write_text(text)
    assert nwi("apply", "-f", src).exit_code == 0
    (src / "v.yaml").write_text(text.replace("admin-state: enable", "admin-state: disable"))
    out = nwi("apply", "-f", src, "-o", "json")
    items = {i["metadata"]["name"]: i for i in json.loads(out.stdout)["items"]}
    assert items["vpls-01"]["metadata"]["generation"] == 2
    assert items["vpls-01"]["status"]["observedGeneration"] == 2
    assert "1 transaction(s)" not in out.stdout  # json output has no summary line
    assert nwi("plan", "-f", src).stdout.count("in sync") == 2


@pytest.mark.parametrize("sample", sorted(p.name for p in (SAMPLES / "bad").glob("*.yaml")))
def test_bad_input_exits_3_and_changes_nothing(nwi: NwiRunner, state_dir: Path, sample: str) -> None:
    result = nwi("apply", "-f", SAMPLES / "bad" / sample)
    assert result.exit_code == EXIT_INVALID
    assert str(SAMPLES / "bad" / sample) in result.stderr
    assert "nothing was applied" in result.stderr
    assert not (state_dir / "devices").exists()
    assert nwi("validate", SAMPLES / "bad" / sample).exit_code == EXIT_INVALID


def test_cycle_names_every_member(nwi: NwiRunner) -> None:
    result = nwi("apply", "-f", SAMPLES / "bad" / "cycle.yaml")
    assert result.exit_code == EXIT_INVALID
    for name in ("vrf-a", "vrf-b", "vrf-c"):
        assert f"SROSConfig default/{name}: metadata.annotations[nwi.enc.nokia.com/depends_on]: dependency cycle" \
            in result.stderr
    assert "behind-the-cycle:" not in result.stderr


def test_invalid_set_applies_nothing_even_if_most_is_valid(nwi: NwiRunner, state_dir: Path) -> None:
    result = nwi("apply", "-f", SAMPLES / "seed", "-f", SAMPLES / "bad" / "missing-path.yaml")
    assert result.exit_code == EXIT_INVALID
    assert not (state_dir / "devices").exists()


def test_delete_follows_reverse_graph(nwi: NwiRunner, state_dir: Path, tmp_path: Path) -> None:
    assert nwi("apply", "-f", SAMPLES / "seed").exit_code == 0
    only_customer = tmp_path / "c.yaml"
    only_customer.write_text((SAMPLES / "seed" / "customer-1234.yaml").read_text())
    blocked = nwi("delete", "-f", only_customer)
    assert blocked.exit_code == EXIT_NOT_READY
    assert "blocked (HasDependents: still needed by vpls-01" in blocked.stdout
    assert device_file(state_dir, "172.20.20.200")["configure"]["service"]["customer"]["entries"]
    assert "Blocked" in nwi("get").stdout

    both = nwi("delete", "-f", SAMPLES / "seed")
    assert both.exit_code == 0
    assert both.stdout.splitlines() == ["SROSConfig/enc-nwi-system/vpls-01: deleted",
                                        "SROSConfig/enc-nwi-system/customer-1234: deleted"]
    service = device_file(state_dir, "172.20.20.200")["configure"]["service"]
    assert service["customer"]["entries"] == [] and service["vpls"]["entries"] == []
    assert nwi("get").stdout == ""


def test_dependency_applied_in_an_earlier_run_satisfies(nwi: NwiRunner, tmp_path: Path) -> None:
    c, v = tmp_path / "c", tmp_path / "v"
    c.mkdir()
    v.mkdir()
    (c / "c.yaml").write_text((SAMPLES / "seed" / "customer-1234.yaml").read_text())
    (v / "v.yaml").write_text((SAMPLES / "seed" / "vpls-01.yaml").read_text())
    waiting = nwi("apply", "-f", v)
    assert waiting.exit_code == EXIT_NOT_READY
    assert "customer-1234" in waiting.stdout and "Waiting" in waiting.stdout
    assert nwi("apply", "-f", c).exit_code == 0
    assert nwi("apply", "-f", v).exit_code == 0


def test_strict_refuses_unknown_switch(nwi: NwiRunner) -> None:
    result = nwi("apply", "--strict", "-f", SAMPLES / "seed")
    assert result.exit_code == EXIT_INVALID
    assert "spec.switchID: no Device '172.20.20.200'" in result.stderr


def test_l3vpn_sample_applies_over_three_devices(nwi: NwiRunner, state_dir: Path) -> None:
    result = nwi("apply", "-f", SAMPLES / "l3vpn")
    assert result.exit_code == 0, result.stdout
    assert "21 Ready" in result.stdout
    for pe in ("pe1", "pe2", "pe3"):
        vprn = device_file(state_dir, pe)["configure"]["service"]["vprn"]["entries"][0]
        assert vprn["bgp"]["neighbor"]["entries"][0]["peer-as"] == 65001
    plan = nwi("plan", "-f", SAMPLES / "l3vpn", "-o", "json")
    assert all(o["inSync"] for w in json.loads(plan.stdout)["waves"] for b in w for o in b["objects"])


def test_plan_changes_nothing_and_shows_waves_and_diffs(nwi: NwiRunner, state_dir: Path) -> None:
    out = nwi("plan", "-f", SAMPLES / "seed")
    assert out.exit_code == 0
    assert out.stdout.index("wave 1:") < out.stdout.index("customer-1234") < out.stdout.index("wave 2:") \
        < out.stdout.index("vpls-01")
    assert '+ {"admin-state": "enable"' in out.stdout
    assert not state_dir.exists()  # looking creates nothing, not even an empty state
    assert nwi("get").exit_code == 0 and nwi("graph", "-f", SAMPLES / "seed").exit_code == 0
    assert not state_dir.exists()


def test_graph_dot_and_mermaid_coloured_by_phase(nwi: NwiRunner) -> None:
    nwi("apply", "-f", SAMPLES / "seed")
    dot = nwi("graph", "-f", SAMPLES / "seed").stdout
    assert dot.startswith("digraph nwi {")
    assert "n_SROSConfig_enc_nwi_system_customer_1234 -> n_SROSConfig_enc_nwi_system_vpls_01;" in dot
    assert dot.count('fillcolor="#8fd18f"') == 2  # both Ready
    mermaid = nwi("graph", "--format", "mermaid", "-f", SAMPLES / "bad" / "cycle.yaml").stdout
    assert mermaid.startswith("graph LR")
    assert mermaid.count(":::failed") == 3


def test_get_unknown_kind_is_a_usage_error(nwi: NwiRunner) -> None:
    assert nwi("get", "junosconfigs").exit_code == 2


def test_progress_on_a_terminal_quiet_when_piped(tmp_path: Path) -> None:
    """On a terminal a progress bar goes to stderr; piped, stdout holds only the result table."""
    import os
    import pty
    import subprocess
    import sys

    env = {**os.environ, "NWI_STATE_DIR": str(tmp_path / "tty"), "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "nwi.cli", "apply", "-f", str(SAMPLES / "l3vpn")]
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(cmd, stdin=terminal, stdout=terminal, stderr=terminal, env=env)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=60) == 0
    assert b"applying" in seen and b"/21" in seen  # rich progress: "applying ━━━  n/21"

    env["NWI_STATE_DIR"] = str(tmp_path / "pipe")
    piped = subprocess.run(cmd, capture_output=True, env=env, timeout=60)
    assert piped.returncode == 0
    assert piped.stderr == b""
    assert piped.stdout.decode().splitlines()[0].split() == [
        "NAMESPACE", "NAME", "KIND", "SWITCH", "PATH", "PHASE", "WAITING-ON", "AGE"]
