"""`rcm up`: the whole platform for people to work in, staying up until Ctrl-C: Kafka, PostgreSQL and
Keycloak (the stack), the five services, the payer simulator and the console, with a sample office's
day loaded (rcmctl/office.py) the first time. The office lives in its own namespace (`office_`: its
databases, topics and clearinghouse folder), so what people do in it is there the next time;
`--fresh` starts it over. Tests start the same platform in a namespace of their own (`Office`).

    office = Office.start(run_dir, stack_info, namespace="office_", console_port=8000)
    ...                                  # office.console_url, office.platform.url("claims")
    office.stop()
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from rcmctl import stack
from rcmctl.processes import ROOT, Platform, free_port_base
from rcmctl.provision import provision
from rcmctl.stack import keycloak, procs
from shared.auth import ClientCredentials

console = Console()
NAMESPACE = "office_"
READY_TIMEOUT = 300.0


@dataclass
class Office:
    """The five services, the payer simulator and the console of one namespace, as processes."""

    platform: Platform
    console_port: int
    run_dir: Path

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.console_port}"

    @classmethod
    def start(cls, run_dir: Path, info: stack.StackInfo, namespace: str = NAMESPACE, console_port: int = 8000,
              contracts: Path | None = None, fresh: bool = False, extra_env: dict[str, str] | None = None) -> Office:  # fmt: skip
        """Provisions the namespace and starts everything; waits until each answers. The services trust
        the local Keycloak only; the platform's own calls go as the `rcm-demo` client."""
        platform = Platform(stack=info, run_dir=run_dir, namespace=namespace, port_base=free_port_base(8100),
                            api_key_fallback=False, oidc_env=keycloak.service_env(), auth=machine("rcm-demo", run_dir),
                            extra_env=extra_env or {})  # fmt: skip
        office = cls(platform, console_port, run_dir)
        if fresh:  # the payer remembers the interchanges it answered: a fresh office starts a fresh clearinghouse
            shutil.rmtree(platform.clearinghouse_dir, ignore_errors=True)
        procs.run_async(provision(platform, fresh=fresh))
        try:
            platform.start_all(simulator=False)
            office._start_simulator(contracts)
            office._start_console()
            platform.wait_ready(timeout=READY_TIMEOUT)  # coding loads its code sets first: slow on a busy machine
            office.wait_console(READY_TIMEOUT)
        except BaseException:
            platform.stop_all()
            raise
        return office

    def _start_simulator(self, contracts: Path | None) -> None:
        command = [sys.executable, "-m", "payer_simulator", "--root", str(self.platform.clearinghouse_dir)]
        self._spawn("payer_simulator", command + (["--contracts", str(contracts)] if contracts else []), os.environ)

    def _start_console(self) -> None:
        env = {**os.environ, **console_env(self.platform, self.console_port), "PYTHONUNBUFFERED": "1"}
        self._spawn("console", [sys.executable, "-m", "services.console"], env)

    def _spawn(self, name: str, command: list[str], env: os._Environ[str] | dict[str, str]) -> None:
        self.platform.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.platform.log_dir / f"{name}.log").open("ab")
        self.platform.processes[name] = subprocess.Popen(command, cwd=ROOT, env=dict(env), stdout=log,
                                                         stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    def wait_console(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            process = self.platform.processes["console"]
            if process.poll() is not None:
                raise RuntimeError(f"the console exited; see {self.platform.log_dir / 'console.log'}")
            try:
                if httpx.get(f"{self.console_url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the console did not answer; see {self.platform.log_dir / 'console.log'}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.platform.stop_all()


def console_env(platform: Platform, port: int) -> dict[str, str]:
    """The console's settings: the provider, where it is reached, the services it calls."""
    urls = {f"RCM_CONSOLE_{'AR' if s == 'ar_followup' else s.upper()}_URL": platform.url(s) for s in ("registration",
            "coding", "claims", "payments", "ar_followup")}  # fmt: skip
    return {"RCM_CONSOLE_ISSUER": keycloak.issuer(), "RCM_CONSOLE_AUDIENCE": keycloak.AUDIENCE,
            "RCM_CONSOLE_PUBLIC_URL": f"http://127.0.0.1:{port}", "RCM_CONSOLE_HTTP_PORT": str(port), **urls}  # fmt: skip


def machine(client_id: str, run_dir: Path) -> ClientCredentials:
    return ClientCredentials(keycloak.token_url(), client_id, keycloak.credentials(run_dir).clients[client_id])


def run_up(run_dir: Path, patients: int, encounters: int, console_port: int, fresh: bool) -> None:
    """Starts what is not running, loads the sample day once, says where to sign in, and waits for Ctrl-C;
    then stops what it started (the stack only if it was not up before)."""
    from rcmctl import office as sample_office

    stack_was_up = stack.read_info(run_dir) is not None and _answers(run_dir)
    keycloak_was_up = keycloak.running_pid(keycloak.KcPaths.of(run_dir)) is not None
    with console.status("starting Kafka, PostgreSQL and Keycloak…"):
        info = stack.up(run_dir, identity=True)
    marker = run_dir / "office.json"
    fresh = fresh or not marker.exists()
    office = None
    try:
        with console.status("starting five services, the payer simulator and the console…"):
            office = Office.start(run_dir, info, console_port=console_port, fresh=fresh)
        if fresh:
            marker.unlink(missing_ok=True)
            with console.status(f"loading a sample office's day ({patients} patients, {encounters} visits)…"):
                loaded = procs.run_async(sample_office.load(office, patients, encounters))
            marker.write_text(json.dumps(loaded, indent=2) + "\n")
        _welcome(office, run_dir)
        _wait_for_ctrl_c(office)
    finally:
        with console.status("stopping the services and the console…"):
            if office is not None:
                office.stop()
        if not stack_was_up:
            with console.status("stopping the stack…"):
                stack.down(run_dir)
        elif not keycloak_was_up:
            keycloak.stop(run_dir)


def _answers(run_dir: Path) -> bool:
    try:
        report = stack.status(run_dir)
    except Exception:
        return False
    return bool(report.get("kafka", {}).get("answers") and report.get("postgres", {}).get("answers"))


def _welcome(office: Office, run_dir: Path) -> None:
    console.print(f"\n[bold green]The console is up:[/] [link={office.console_url}]{office.console_url}[/link]")
    console.print("Sign in as any sample user below; each sees the screens of their role (README: 'The console').")
    console.print(keycloak.sign_in_help(run_dir))
    console.print(f"services: {office.platform.url('registration')} … {office.platform.url('ar_followup')}; "
                  f"logs in {office.platform.log_dir}")  # fmt: skip
    console.print("[bold]Ctrl-C stops everything `rcm up` started.[/]")


def _wait_for_ctrl_c(office: Office) -> None:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(2):
        for name, process in office.platform.processes.items():
            if process.poll() is not None:
                console.print(f"[red]{name} exited ({process.returncode}); see {office.platform.log_dir / name}.log[/]")
                return
