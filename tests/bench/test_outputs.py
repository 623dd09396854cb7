"""A benchmark run writes where it is told, outside the tree by default; the committed figures change
only when a run means to publish them (``--publish``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.run import main, parse_args

REPO = Path(__file__).resolve().parents[2]
COMMITTED = (REPO / "bench" / "results.json", REPO / "bench" / "scaling.png")


@pytest.mark.parametrize("argv", [[], ["--smoke"], ["--plan-sizes", "100"]])
def test_a_run_writes_outside_the_source_tree_by_default(argv: list[str]) -> None:
    cfg = parse_args(argv)
    assert cfg.png is not None
    for path in (cfg.out, cfg.png):
        assert not path.resolve().is_relative_to(REPO), path


def test_out_and_png_say_where_a_run_writes(tmp_path: Path) -> None:
    cfg = parse_args(["--smoke", "--out", str(tmp_path / "r.json"), "--png", str(tmp_path / "c.png")])
    assert (cfg.out, cfg.png) == (tmp_path / "r.json", tmp_path / "c.png")


def test_publish_writes_the_committed_figures() -> None:
    cfg = parse_args(["--publish"])
    assert (cfg.out, cfg.png) == COMMITTED
    assert not cfg.smoke


@pytest.mark.parametrize("extra", [["--smoke"], ["--out", "x.json"], ["--png", "x.png"], ["--no-png"]])
def test_publish_is_a_full_run_to_the_committed_place_only(
    extra: list[str], capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(["--publish", *extra])
    assert exc.value.code == 2
    assert "--publish" in capsys.readouterr().err


def test_the_committed_results_are_a_published_full_run() -> None:
    # a smoke run (the test suite's) that wrote over them would leave smoke: true and N=200
    results = json.loads(COMMITTED[0].read_text())
    assert results["smoke"] is False
    assert max(p["objects"] for p in results["plan"]) == 100_000


def test_an_operator_only_run_into_a_new_file_writes_and_prints_its_results(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "operator.json"  # no earlier figures to keep
    main(["--operator-only", "--operator", "0", "--restart-sizes", "0", "--out", str(out), "--no-png"])
    assert json.loads(out.read_text())["operator"] == [{"skipped": "disabled (--operator 0)"}]
    assert f"results: {out}" in capsys.readouterr().out
