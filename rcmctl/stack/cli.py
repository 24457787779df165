"""`rcm stack up | status | down | topics`: the local infrastructure from the command line."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from rcmctl import stack

stack_app = typer.Typer(
    help="Kafka, PostgreSQL and Keycloak for development and tests (RCM_INFRA=local|external|testcontainers)."
)
console = Console()

RunDir = typer.Option(None, "--run-dir", help="State folder (default: RCM_RUN_DIR or <project>/.run)")


def _fail(err: Exception) -> None:
    console.print(f"[bold red]error:[/] {err}")
    raise typer.Exit(1)


@stack_app.command()
def up(
    run_dir: Path | None = RunDir,
    identity: bool = typer.Option(True, "--keycloak/--no-keycloak", help="Start Keycloak too (local mode)"),
) -> None:
    """Start Kafka, PostgreSQL and Keycloak unless already running (safe to repeat); print how to sign in."""
    began = time.monotonic()
    local_identity = identity and stack.mode() == "local"
    what = "the stack and Keycloak (about a minute the first time)" if local_identity else "the stack"
    try:
        with console.status(f"starting {what} ({stack.mode()})…"):
            info = stack.up(run_dir, identity=local_identity)
    except Exception as err:
        _fail(err)
    console.print(f"[green]stack up[/] in {time.monotonic() - began:.1f}s  ({info.mode})")
    console.print(f"  kafka     {info.kafka_bootstrap}")
    console.print(f"  postgres  {info.database_url_template}")
    if local_identity:
        from rcmctl.stack import keycloak

        console.print(keycloak.sign_in_help(run_dir or stack.run_dir_from_env()), markup=False, highlight=False)
    if info.mode == "testcontainers":
        console.print("[yellow]note:[/] the containers belong to this process and stop as it exits")


@stack_app.command()
def status(run_dir: Path | None = RunDir) -> None:
    """Show what runs, where, and whether it answers (exit 1 if something does not)."""
    try:
        report = stack.status(run_dir)
    except Exception as err:
        _fail(err)
    table = Table(title=f"stack ({report['mode']}, {report['run_dir']})")
    for column in ("component", "pid", "address", "answers", "log"):
        table.add_column(column)
    info = report["info"] or {}
    components = [("kafka", info.get("kafka_bootstrap")), ("postgres", info.get("database_url_template"))]
    if "keycloak" in report:
        components.append(("keycloak", report["keycloak"]["issuer"]))
    for name, address in components:
        row = report.get(name, {})
        answers = "[green]yes[/]" if row.get("answers") else "[red]no[/]"
        address = address or row.get("bootstrap") or f"127.0.0.1:{row.get('port', '?')}"
        log = os.path.relpath(row["log"]) if row.get("log") else "-"
        table.add_row(name, str(row.get("pid") or "-"), address, answers, log)
    console.print(table)
    if not all(report.get(n, {}).get("answers") for n in ("kafka", "postgres")):
        raise typer.Exit(1)


@stack_app.command()
def down(run_dir: Path | None = RunDir) -> None:
    """Stop Keycloak and Kafka (SIGTERM, SIGKILL after a grace period) and PostgreSQL (pg_ctl stop -m fast)."""
    began = time.monotonic()
    try:
        stack.down(run_dir)
    except Exception as err:
        _fail(err)
    console.print(f"[green]stack down[/] in {time.monotonic() - began:.1f}s")


@stack_app.command()
def topics(
    names: list[str] = typer.Argument(..., help="Topic names"),
    partitions: int = typer.Option(3, help="Partitions for new topics"),
    delete: bool = typer.Option(False, "--delete", help="Delete instead of create"),
    run_dir: Path | None = RunDir,
) -> None:
    """Create topics (idempotent) or delete them on the running stack's broker."""
    from rcmctl.stack import topics as topic_admin  # the Kafka client: only this command needs it

    info = stack.read_info(run_dir)
    if info is None:
        _fail(RuntimeError("the stack is not up (no stack.json); run `rcm stack up` first"))
    try:
        if delete:
            asyncio.run(topic_admin.delete_topics(info.kafka_bootstrap, names))
        else:
            asyncio.run(topic_admin.ensure_topics(info.kafka_bootstrap, names, partitions=partitions))
    except Exception as err:
        _fail(err)
    console.print(f"[green]{'deleted' if delete else 'ensured'}[/] {', '.join(names)}")


if __name__ == "__main__":
    stack_app()
