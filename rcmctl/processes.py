"""Runs the platform as separate processes, the way production does: five services and the payer
simulator, each with its own environment (database, topic prefix, port, identity provider) and log
file.

Who may call: with `oidc_env` (RCM_OIDC_ISSUER and RCM_OIDC_AUDIENCE of a provider, e.g. the local
Keycloak's `keycloak.service_env()`) the services check bearer tokens, and `auth` (e.g.
shared.auth.ClientCredentials) is how this platform's own clients get theirs. `api_key_fallback`
also lets the API key in: for tests that are not about identity, and for local scripts."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from rcmctl.stack import StackInfo
from services import NAMES

SERVICES = NAMES  # the one list of services lives in services/__init__.py
ROOT = Path(__file__).resolve().parent.parent


def free_port_base(start: int = 8100, step: int = 10, tries: int = 50) -> int:
    """The first block of ports (base+1 … base+5) no process listens on, so two platforms on one
    machine (a demo beside a test run) never answer each other's health checks."""
    for base in range(start, start + step * tries, step):
        if all(_free(base + 1 + i) for i in range(len(SERVICES))):
            return base
    raise RuntimeError(f"no free block of {len(SERVICES)} ports from {start}")


def _any_free_port() -> int:
    """A free port below Linux's ephemeral range (32768 and up): one the kernel handed out would be
    free again once probed, and a client's outgoing connection could take it before the replica binds
    it (CI saw a second replica exit with "address already in use")."""
    for _ in range(200):
        port = secrets.randbelow(32000 - 21000) + 21000
        if _free(port):
            return port
    raise RuntimeError("no free port below the ephemeral range")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Platform:
    """One deployment of the five services. `namespace` prefixes topics and consumer groups and
    names the databases (e.g. "t1a2b_" -> t1a2b_claims), so test runs never see each other."""

    stack: StackInfo
    run_dir: Path
    namespace: str = ""
    port_base: int = 8100
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    api_key_fallback: bool = True
    oidc_env: dict[str, str] = field(default_factory=dict)  # RCM_OIDC_ISSUER, RCM_OIDC_AUDIENCE
    auth: httpx.Auth | None = None  # how this platform's clients call (default: the API key)
    extra_env: dict[str, str] = field(default_factory=dict)
    # service -> how many processes start_all starts (default 1); the second of claims is "claims.2",
    # in the same consumer groups, on a port of its own
    replicas: dict[str, int] = field(default_factory=dict)
    replica_ports: dict[str, int] = field(default_factory=dict)
    # partitions of each topic provision creates: replicas of a consumer share a topic's partitions,
    # so N replicas split the work evenly only when N divides this
    partitions: int = field(default_factory=lambda: int(os.environ.get("RCM_TOPIC_PARTITIONS", "3")))
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def clearinghouse_dir(self) -> Path:
        return self.run_dir / "clearinghouse" / (self.namespace.rstrip("_") or "default")

    @property
    def log_dir(self) -> Path:
        return self.run_dir / "logs" / (self.namespace.rstrip("_") or "default")

    def database(self, service: str) -> str:
        return f"{self.namespace}{service}"

    def database_url(self, service: str) -> str:
        return self.stack.database_url(self.database(service))

    def port(self, service: str) -> int:
        if service in self.replica_ports:
            return self.replica_ports[service]
        return self.port_base + 1 + SERVICES.index(service)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port(service)}"

    def env(self, service: str) -> dict[str, str]:
        if service not in SERVICES:
            return {**os.environ, "PYTHONUNBUFFERED": "1"}
        return {
            **os.environ,
            "RCM_SERVICE_NAME": service,
            "RCM_KAFKA_BOOTSTRAP": self.stack.kafka_bootstrap,
            "RCM_DATABASE_URL": self.database_url(service),
            "RCM_TOPIC_PREFIX": self.namespace,
            "RCM_HTTP_PORT": str(self.port(service)),
            **self.identity_env(),
            "RCM_CLEARINGHOUSE_DIR": str(self.clearinghouse_dir),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }

    def identity_env(self) -> dict[str, str]:
        """What the services need to know their callers (shared.auth.OidcSettings)."""
        fallback = {"RCM_OIDC_API_KEY_FALLBACK": "true", "RCM_API_KEY": self.api_key} if self.api_key_fallback else {}
        return {"RCM_OIDC_API_KEY_FALLBACK": "false", **self.oidc_env, **fallback}

    # -- processes ------------------------------------------------------------------------------
    def start(self, name: str, replica: int = 1) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env, key = self.env(name), name if replica == 1 else f"{name}.{replica}"
        if key != name:
            self.replica_ports[key] = _any_free_port()
            env["RCM_HTTP_PORT"] = str(self.replica_ports[key])
        if name == "payer_simulator":
            command = [sys.executable, "-m", "payer_simulator", "--root", str(self.clearinghouse_dir)]
        else:
            command = [sys.executable, "-m", f"services.{name}"]
        log = (self.log_dir / f"{key}.log").open("ab")
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes[key] = process
        return process

    def start_all(self, simulator: bool = True) -> None:
        for name in SERVICES:
            for replica in range(1, self.replicas.get(name, 1) + 1):
                self.start(name, replica)
        if simulator:
            self.start("payer_simulator")

    def wait_ready(self, names: tuple[str, ...] = SERVICES, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        pending = [*names, *(key for key in self.replica_ports if key.split(".")[0] in names)]
        while pending:
            name = pending[0]
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; {self._log_of(name)}")
            try:
                answer = httpx.get(f"{self.url(name)}/readyz", timeout=2)
                if answer.status_code == 200:
                    pending.pop(0)
                    continue
                last = f"readyz {answer.status_code} {answer.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"readyz unanswered ({type(exc).__name__})"
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} not ready after {timeout:.0f}s, {last}; {self._log_of(name)}")
            time.sleep(0.2)

    def _log_of(self, name: str, lines: int = 12) -> str:
        """Where the process logged, and its last lines (the services never log patient data)."""
        path = self.log_dir / f"{name}.log"
        try:
            last = path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            last = []
        return "\n".join([f"see {path}", *last])

    def stop(self, name: str, kill: bool = False, timeout: float = 40) -> int | None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return process.returncode if process else None
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    # -- HTTP -----------------------------------------------------------------------------------
    def client(self, service: str, timeout: float = 10) -> httpx.Client:
        return httpx.Client(base_url=self.url(service), timeout=timeout, **self.credentials())

    def async_client(self, service: str, timeout: float = 30, auth: httpx.Auth | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url(service), timeout=timeout, **self.credentials(auth))

    def credentials(self, auth: httpx.Auth | None = None) -> dict:
        """httpx client arguments: `auth` or the platform's (a token by client credentials), else its API key."""
        auth = auth or self.auth
        return {"auth": auth} if auth is not None else {"headers": {"X-API-Key": self.api_key}}
