"""`replicas` starts several processes of a service: same database, topics and consumer groups, an
HTTP port of its own each, and a name of its own ("claims.2") for its log and for stopping it."""

import subprocess
from pathlib import Path

from rcmctl.processes import Platform
from rcmctl.stack import StackInfo

STACK = StackInfo("external", "127.0.0.1:19092", "postgresql+asyncpg://u:p@127.0.0.1:5432/{db}")


class Started:
    def __init__(self, command, env, **_):
        self.command, self.env, self.pid = command, env, 4242

    def poll(self):
        return None


def test_replicas_share_the_service_environment_on_ports_of_their_own(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(subprocess, "Popen", Started)
    platform = Platform(stack=STACK, run_dir=tmp_path, namespace="b1_", port_base=8200, replicas={"claims": 3})
    platform.start_all()
    claims = [platform.processes[key] for key in ("claims", "claims.2", "claims.3")]
    assert len(platform.processes) == 5 + 2 + 1  # five services, two more of claims, the simulator
    assert {p.command[-1] for p in claims} == {"services.claims"}
    assert {p.env["RCM_DATABASE_URL"] for p in claims} == {platform.database_url("claims")}
    assert {p.env["RCM_TOPIC_PREFIX"] for p in claims} == {"b1_"}
    ports = [int(p.env["RCM_HTTP_PORT"]) for p in claims]
    assert ports[0] == platform.port("claims") and len(set(ports)) == 3
    assert platform.url("claims.2").endswith(f":{ports[1]}")
    assert (tmp_path / "logs" / "b1" / "claims.3.log").exists()


def test_without_replicas_one_process_a_service(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(subprocess, "Popen", Started)
    platform = Platform(stack=STACK, run_dir=tmp_path, namespace="b1_")
    platform.start_all(simulator=False)
    assert sorted(platform.processes) == sorted(["registration", "coding", "claims", "payments", "ar_followup"])
