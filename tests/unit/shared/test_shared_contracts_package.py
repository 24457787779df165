"""The installable contracts package (packages/openrcm-contracts) is the contracts and nothing
else: its modules are links to shared/contracts, it imports without any OpenRCM code beside it,
and its version is the contracts' release."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from shared.contracts.events import CONTRACTS_VERSION, EVENT_MODELS

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "packages" / "openrcm-contracts"
MODULES = PACKAGE / "src" / "openrcm_contracts"
CONTRACTS = ROOT / "shared" / "contracts"
OWN_FILES = {"__init__.py", "py.typed"}


def test_the_package_version_is_the_contracts_release():
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    assert project["version"] == CONTRACTS_VERSION
    assert project["dependencies"] == ["pydantic>=2.14,<3"]


def test_every_module_is_a_link_to_the_contracts_the_services_use():
    for path in MODULES.iterdir():
        if path.name in OWN_FILES:
            continue
        assert path.is_symlink(), f"{path.name} is a copy: link it to shared/contracts/{path.name}"
        assert path.resolve() == (CONTRACTS / path.name).resolve()
    assert {p.name for p in MODULES.iterdir()} >= {"events.py", "topics.py", "schemas", "asyncapi.yaml", *OWN_FILES}


def test_it_imports_with_no_openrcm_code_beside_it(tmp_path):
    """A fresh interpreter that sees only the package and the installed libraries (no repository)."""
    script = f"""
import json, sys
import openrcm_contracts as c
from openrcm_contracts.examples import example
assert c.__version__ == {CONTRACTS_VERSION!r}
names = {sorted(EVENT_MODELS)!r}
assert sorted(c.EVENT_MODELS) == names
for name in names:
    example(name)  # every example reads strictly
print(json.dumps({{"schema": c.schema("payment.posted.v1"), "ours": sorted(m for m in sys.modules
      if m.split(".")[0] in ("shared", "services", "x12", "rcmctl"))}}))
"""
    site = [p for p in sys.path if p.endswith("site-packages")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(MODULES.parent), *site])}
    # -S: no .pth files, so not the editable install of the repository either
    done = subprocess.run(
        [sys.executable, "-S", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ours"] == []
    assert result["schema"] == json.loads((CONTRACTS / "schemas" / "payment.posted.v1.json").read_text())
