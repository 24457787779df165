"""`rcm bench` runs the pipeline benchmark with its options; `rcm bench <stage>` runs one stage's
benchmark alone, its own options passed through."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

import rcmctl.bench.pipeline
from rcmctl.bench.pipeline import Options
from rcmctl.cli import app


def test_bench_without_a_stage_runs_the_pipeline_with_its_options(monkeypatch):
    runs: list[tuple[Options, Path]] = []
    monkeypatch.setattr(rcmctl.bench.pipeline, "run_bench", lambda *args: runs.append(args))
    monkeypatch.setenv("RCM_RUN_DIR", "/tmp/bench-run")
    arguments = ["--encounters", "40", "--patients", "7", "--replicas", "claims=2", "--replicas", "ar_followup=3"]
    arguments += ["--env", "RCM_GROUP_ENCOUNTERS=false", "--trickle-rate", "0", "--label", "small", "--no-relay"]
    result = CliRunner().invoke(app, ["bench", *arguments])
    assert result.exit_code == 0, result.output
    [(options, run_dir)] = runs
    assert run_dir == Path("/tmp/bench-run")
    assert (options.encounters, options.patients, options.label, options.relay) == (40, 7, "small", False)
    assert options.replicas == {"claims": 2, "ar_followup": 3}
    assert options.env == {"RCM_GROUP_ENCOUNTERS": "false"} and options.trickle_encounters == 0


def test_a_replica_of_something_that_is_not_a_service_is_refused(monkeypatch):
    monkeypatch.setattr(rcmctl.bench.pipeline, "run_bench", lambda *args: pytest.fail("must not run"))
    result = CliRunner().invoke(app, ["bench", "--replicas", "kafka=2"])
    assert result.exit_code != 0 and "not one of" in result.output


def test_a_stage_bench_runs_alone_with_its_own_options(monkeypatch):
    pipeline_runs: list[tuple[Options, Path]] = []
    monkeypatch.setattr(rcmctl.bench.pipeline, "run_bench", lambda *args: pipeline_runs.append(args))
    result = CliRunner().invoke(app, ["bench", "claims", "--claims", "30", "--batch", "10"])
    assert result.exit_code == 0, result.output
    assert "30 claims (0 held) built, scrubbed and written as 3 837P files" in result.output
    assert pipeline_runs == []
