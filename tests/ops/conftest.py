"""Operations tests: the Helm chart, the Compose file and Kafka security. The tools they need
(helm, composecheck) are installed by deploy/tools/install.sh (run by .ci/run); a missing tool is
a loud failure, never a skip."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "openrcm"
TOOLS = ROOT / ".run" / "tools" / "bin"
KUBE_VERSION = "1.33.0"
ISSUER = "https://login.example.org/realms/openrcm"


def tool(name: str) -> str:
    found = shutil.which(name, path=f"{TOOLS}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        pytest.fail(f"{name} is not installed: run deploy/tools/install.sh (CI runs it from .ci/run)", pytrace=False)
    return found


class HelmError(Exception):
    pass


def helm_template(*args: str, values: tuple[str, ...] = ()) -> list[dict]:
    """`helm template` of the chart; the rendered documents, or HelmError with helm's message."""
    command = [tool("helm"), "template", "rcm", str(CHART), "--kube-version", KUBE_VERSION]
    for file in values:
        command += ["-f", str(CHART / file)]
    result = subprocess.run([*command, *args], check=False, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise HelmError(result.stderr.strip())
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def default_manifests() -> list[dict]:
    return helm_template(
        "--set", f"oidc.issuer={ISSUER}", "--set", "database.external.existingSecret=rcm-databases"
    )  # fmt: skip


@pytest.fixture(scope="session")
def production_manifests() -> list[dict]:
    return helm_template(values=("values-production.yaml",))


def of_kind(manifests: list[dict], kind: str) -> list[dict]:
    return [m for m in manifests if m["kind"] == kind]
