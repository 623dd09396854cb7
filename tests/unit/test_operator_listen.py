"""/metrics and /healthz listen on loopback unless told otherwise (the Deployment says 0.0.0.0)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
import typer.main
import yaml

from nwi.cli import app
from nwi.operator.controller import LOOPBACK, OperatorConfig
from nwi.operator.metrics import Metrics

REPO = Path(__file__).resolve().parents[2]


def _operator_params(args: list[str]) -> dict[str, object]:
    root = typer.main.get_command(app)
    ctx = root.make_context("nwi", ["operator"])
    operator = root.get_command(ctx, "operator")  # type: ignore[attr-defined]
    sub = operator.make_context("operator", args, parent=ctx)
    return dict(sub.params)


def test_the_default_is_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NWI_LISTEN_ADDRESS", raising=False)
    assert LOOPBACK == "127.0.0.1"
    assert _operator_params([])["listen_address"] == "127.0.0.1"
    assert OperatorConfig().listen_address == "127.0.0.1"
    assert OperatorConfig().liveness_endpoint() == "http://127.0.0.1:8080/healthz"


def test_the_address_is_an_option_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _operator_params(["--listen-address", "0.0.0.0"])["listen_address"] == "0.0.0.0"
    monkeypatch.setenv("NWI_LISTEN_ADDRESS", "::1")
    assert _operator_params([])["listen_address"] == "::1"
    assert OperatorConfig(listen_address="::1", health_port=9).liveness_endpoint() == "http://[::1]:9/healthz"
    assert OperatorConfig(health_port=0).liveness_endpoint() is None


def test_metrics_listen_only_where_told() -> None:
    server = Metrics().serve(0, LOOPBACK)
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            assert b"nwi_device_transactions_total" in resp.read()
    finally:
        server.shutdown()
        server.server_close()


def test_the_deployment_sets_the_address_its_probes_need() -> None:
    docs = list(yaml.safe_load_all((REPO / "deploy" / "deployment.yaml").read_text()))
    [deployment] = [d for d in docs if d and d["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert "--listen-address=0.0.0.0" in container["args"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert f"--metrics-port={ports['metrics']}" in container["args"]
    assert f"--health-port={ports['health']}" in container["args"]
