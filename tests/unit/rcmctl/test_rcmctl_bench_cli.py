"""`rcm bench` runs the pipeline benchmark with its options; `rcm bench <stage>` runs one stage's
benchmark alone, its own options passed through."""

from pathlib import Path

from typer.testing import CliRunner

import rcmctl.bench.pipeline
from rcmctl.cli import app


def test_bench_without_a_stage_runs_the_pipeline_with_its_options(monkeypatch):
    runs: list[tuple[int, int, Path]] = []
    monkeypatch.setattr(rcmctl.bench.pipeline, "run_bench", lambda *args: runs.append(args))
    monkeypatch.setenv("RCM_RUN_DIR", "/tmp/bench-run")
    result = CliRunner().invoke(app, ["bench", "--encounters", "40", "--patients", "7"])
    assert result.exit_code == 0, result.output
    assert runs == [(40, 7, Path("/tmp/bench-run"))]


def test_a_stage_bench_runs_alone_with_its_own_options(monkeypatch):
    pipeline_runs: list[tuple[int, int, Path]] = []
    monkeypatch.setattr(rcmctl.bench.pipeline, "run_bench", lambda *args: pipeline_runs.append(args))
    result = CliRunner().invoke(app, ["bench", "claims", "--claims", "30", "--batch", "10"])
    assert result.exit_code == 0, result.output
    assert "30 claims (0 held) built, scrubbed and written as 3 837P files" in result.output
    assert pipeline_runs == []
