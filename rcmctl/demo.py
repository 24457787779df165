"""The platform's main job, end to end: start the stack and the services as processes, register
sample patients, publish their encounters as an EHR would, watch them travel through coding,
claims, the payer and payments into A/R, and print a summary that must balance to the cent.

With tokens, as production runs (local mode): Keycloak starts with the stack, the services trust
it, the EHR registers patients as the `rcm-ehr` client and the demo watches as `rcm-demo`, both by
client credentials. Elsewhere (RCM_INFRA=external or testcontainers) it calls with the API key."""

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rcmctl import sample, stack
from rcmctl.ehr import publish_encounters, register_patients
from rcmctl.processes import Platform, free_port_base
from rcmctl.provision import provision
from rcmctl.stack import keycloak
from rcmctl.stack.topics import delete_topics
from shared.auth import ClientCredentials
from shared.contracts import check

console = Console()


@dataclass
class Snapshot:
    coding: dict
    claims: dict
    encounters: dict  # coded encounters by the status of the claim that bills them
    payments: dict
    ar: dict

    @property
    def rejected(self) -> int:
        return self.coding.get("rejected", 0)

    @property
    def queued(self) -> int:
        return self.coding.get("queued", 0)  # waiting for a coder's judgement

    @property
    def held(self) -> int:
        return self.encounters.get("held", 0)

    @property
    def billed(self) -> int:
        return self.encounters.get("submitted", 0)

    @property
    def adjudicated(self) -> int:
        statuses = self.ar.get("by_status", {})
        return sum(statuses.get(s, 0) for s in ("paid", "partially_paid", "denied"))

    @property
    def finished(self) -> int:
        """Encounters at their end: rejected, with a coder, held, or on a claim the payer answered
        (a claim may bill several of a patient's encounters of one day)."""
        answered = self.billed if self.adjudicated >= self.claims.get("submitted", 0) else self.adjudicated
        return self.rejected + self.queued + self.held + answered


def snapshot(platform: Platform) -> Snapshot:
    """The services' counts, read one after another in the cycle's order: the encounters on submitted
    claims, then the claims submitted, then what A/R adjudicated, then what payments posted. Each read
    comes later than the one before it, so "A/R adjudicated every submitted claim" covers every
    encounter counted as billed (read the other way round, a batch delivered between the reads made
    a demo stop early and report open balances), and 835s posted are never fewer than A/R's payments."""

    def get(service: str, path: str) -> dict:
        with platform.client(service) as client:
            response = client.get(path)
            response.raise_for_status()
            return response.json()

    coding = get("coding", "/v1/stats")
    encounters = get("claims", "/v1/stats/encounters")
    claims = get("claims", "/v1/stats")
    ar = get("ar_followup", "/v1/summary")
    return Snapshot(coding, claims, encounters, get("payments", "/v1/stats"), ar)


async def _drop_old_demos(info: stack.StackInfo, active: set[str]) -> None:
    """Each demo runs in a namespace of its own; earlier ones' databases and topics go, except
    those of a demo still running (its namespace has a marker under .run/demos)."""

    def stale(name: str) -> bool:
        return name.startswith("demo") and not any(name.startswith(namespace) for namespace in active)

    admin = AIOKafkaAdminClient(bootstrap_servers=info.kafka_bootstrap)
    await admin.start()
    try:
        old = [t for t in await admin.list_topics() if stale(t)]
    finally:
        await admin.close()
    await delete_topics(info.kafka_bootstrap, old)
    connection = await asyncpg.connect(info.database_url("postgres").replace("+asyncpg", ""))
    try:
        for row in await connection.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'demo%'"):
            if stale(row["datname"]):
                await connection.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await connection.close()


def run_demo(patients: int, encounters: int, timeout: float, run_dir: Path) -> bool:
    was_up = _stack_answers(run_dir)
    identity = stack.mode() == "local"
    keycloak_was_up = keycloak.running_pid(keycloak.KcPaths.of(run_dir)) is not None
    with console.status("starting Kafka, PostgreSQL and Keycloak…" if identity else "starting Kafka and PostgreSQL…"):
        info = stack.up(run_dir, identity=identity)
    platform = Platform(
        stack=info, run_dir=run_dir, namespace=f"demo{int(time.time())}_", port_base=free_port_base(8100)
    )
    if identity:
        _with_tokens(platform, run_dir)
    markers = run_dir / "demos"
    markers.mkdir(parents=True, exist_ok=True)
    marker = markers / platform.namespace
    marker.touch()
    try:
        with console.status("provisioning databases and topics…"):
            asyncio.run(_drop_old_demos(info, {m.name for m in markers.iterdir()}))
            asyncio.run(provision(platform))
        with console.status("starting five services and the payer simulator…"):
            platform.start_all()
            platform.wait_ready()
        console.print(
            f"[green]platform up[/]: services on ports {platform.port('registration')}–"
            f"{platform.port('ar_followup')}, logs in {platform.log_dir}"
        )
        with console.status(f"registering {patients} patients…"):
            ehr = _client("rcm-ehr", run_dir) if identity else None
            patient_ids = asyncio.run(register_patients(platform, sample.patients(patients), auth=ehr))
        started = time.monotonic()
        visits = sample.encounters(patient_ids, encounters)
        asyncio.run(publish_encounters(platform, visits))
        final = _watch(platform, encounters, timeout)
        _report(platform, final, encounters, time.monotonic() - started)
        contracts_kept = _check_contracts(platform)
        return final.finished == encounters and _balances(final) and contracts_kept
    finally:
        marker.unlink(missing_ok=True)
        with console.status("stopping services…"):
            platform.stop_all()
        if not was_up:
            with console.status("stopping the stack…"):
                stack.down(run_dir)
        elif identity and not keycloak_was_up:
            with console.status("stopping Keycloak…"):
                keycloak.stop(run_dir)


# The topics every demo writes to: a check that read none of one of them did not see the run.
CYCLE_TOPICS = ("patient.registered", "encounter.documented", "encounter.coded", "claim.submitted", "payment.posted")


def _check_contracts(platform: Platform) -> bool:
    """What an outside consumer would see: every record of every topic of the demo's namespace
    against the published schemas and AsyncAPI headers (shared.contracts.check). False on any violation."""
    with console.status("checking every record of every topic against the published contracts…"):
        found = asyncio.run(check.read_deployment(platform.stack.kafka_bootstrap, platform.namespace))
    console.print(f"contract check: {found.line()}", soft_wrap=True)  # one line, however wide the terminal
    if missing := found.without_records(CYCLE_TOPICS):
        console.print(f"[yellow]contract check: no records on {', '.join(missing)}[/]")
    if found.violations:
        console.print(
            f"[red]CONTRACTS BROKEN: {sum(found.violations.values())} violations of the published schemas "
            "(shared/contracts/schemas) or AsyncAPI headers; the demo fails:[/]"
        )
        console.print("\n".join(check.details(found.violations)), markup=False, highlight=False)
        return False
    return True


def _client(client_id: str, run_dir: Path) -> ClientCredentials:
    """A machine caller of the local Keycloak's realm, by client credentials."""
    return ClientCredentials(keycloak.token_url(), client_id, keycloak.credentials(run_dir).clients[client_id])


def _with_tokens(platform: Platform, run_dir: Path) -> None:
    """The services trust the local Keycloak only (no API key); the demo watches as `rcm-demo`."""
    platform.api_key_fallback = False
    platform.oidc_env = keycloak.service_env()
    platform.auth = _client("rcm-demo", run_dir)


def _stack_answers(run_dir: Path) -> bool:
    try:
        report = stack.status(run_dir)
    except Exception:
        return False
    return bool(report.get("kafka", {}).get("answers") and report.get("postgres", {}).get("answers"))


def _watch(platform: Platform, total: int, timeout: float) -> Snapshot:
    columns = (TextColumn("{task.description:<26}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    deadline = time.monotonic() + timeout
    with Progress(*columns, console=console) as progress:
        bars = {
            name: progress.add_task(name, total=total)
            for name in ("coded or rejected", "billed on claims (837P)", "adjudicated & posted (A/R)")
        }
        while True:
            try:
                now = snapshot(platform)
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            progress.update(bars["coded or rejected"], completed=now.coding.get("coded", 0) + now.rejected + now.queued)
            progress.update(
                bars["billed on claims (837P)"], completed=now.billed + now.held + now.rejected + now.queued
            )
            progress.update(bars["adjudicated & posted (A/R)"], completed=now.finished)
            if now.finished >= total or time.monotonic() > deadline:
                return now
            time.sleep(0.5)


def _balances(s: Snapshot) -> bool:
    ar = {k: Decimal(s.ar[k]) for k in ("charged", "paid", "adjusted", "patient_responsibility", "insurance_balance")}
    posted = Decimal(s.payments.get("total_posted", "0"))
    return (
        ar["charged"] == ar["paid"] + ar["adjusted"] + ar["patient_responsibility"] + ar["insurance_balance"]
        and ar["insurance_balance"] == 0
        and ar["paid"] == posted
    )


def _report(platform: Platform, s: Snapshot, published: int, seconds: float) -> None:
    statuses = s.ar.get("by_status", {})
    table = Table(title=f"Revenue cycle demo: {published} encounters in {seconds:.1f}s", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    rows = [
        ("Encounters published", published),
        ("Rejected at coding (bad codes)", s.rejected),
        ("Queued for a coder", s.queued),
        ("Encounters held in the claims work queue", s.held),
        ("Claims submitted (837P)", s.claims.get("submitted", 0)),
        ("  encounters they bill (a patient's day on one claim)", s.billed),
        ("Paid", statuses.get("paid", 0) + statuses.get("partially_paid", 0)),
        ("Denied", statuses.get("denied", 0)),
        ("Total charged", f"${Decimal(s.ar['charged']):,.2f}"),
        ("Total paid by payers", f"${Decimal(s.ar['paid']):,.2f}"),
        ("Total adjusted (contractual, denials)", f"${Decimal(s.ar['adjusted']):,.2f}"),
        ("Patient responsibility", f"${Decimal(s.ar['patient_responsibility']):,.2f}"),
        ("Open insurance balance", f"${Decimal(s.ar['insurance_balance']):,.2f}"),
        ("Posted from 835s (payments service)", f"${Decimal(s.payments.get('total_posted', '0')):,.2f}"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    console.print(table)
    ok = _balances(s)
    verdict = "[green]balances to the cent[/]" if ok else "[red]DOES NOT BALANCE[/]"
    console.print(
        f"charged = paid + adjusted + patient responsibility + open balance, and A/R paid = 835 posted: {verdict}"
    )
    if s.finished < published:
        console.print(f"[red]{published - s.finished} encounters had not finished when the demo stopped waiting[/]")
    root = platform.clearinghouse_dir
    console.print(
        f"837P files sent: {root / 'archive'}\n835 files posted: {root / 'processed' / '835'}\n"
        f"999 and 277CA acknowledgements read by claims: {root / 'processed'}"
    )
