"""`rcm chaos [--short] [--brokers 3]`: run the fault-injection suite and print its figures."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from rcmctl.stack import DEFAULT_RUN_DIR

if TYPE_CHECKING:
    from rcmctl.chaos.run import Report

console = Console()


def chaos(
    short: bool = typer.Option(False, "--short", help="The CI version: 200 encounters, one PostgreSQL outage of 20 s"),
    brokers: int = typer.Option(3, help="3: a cluster (a broker is killed); 1: the only broker is"),
    run_dir: Path = typer.Option(DEFAULT_RUN_DIR / "chaos", help="The suite's own stack (never the development one)"),
    kafka_port: int = typer.Option(29092, help="First Kafka port of the suite's own broker(s)"),
    pg_port: int = typer.Option(25432, help="The suite's own PostgreSQL port"),
) -> None:
    """Kill services, brokers and PostgreSQL, drop hostile 835s and poison records while the whole
    cycle runs on a stack of its own; then reconcile every ledger. Exits 1 on any broken invariant."""
    from rcmctl.chaos.run import FULL, SHORT, run  # imports every service: only when asked
    from rcmctl.chaos.stack import ChaosStack

    plan = SHORT if short else FULL
    stack = ChaosStack(run_dir, kafka_port=kafka_port, pg_port=pg_port, brokers=brokers)
    report = run(plan, stack, lambda line: console.print(f"[dim]chaos:[/] {line}"), run_dir / "chaos-report.json")
    show(report)
    console.print(f"report: {run_dir / 'chaos-report.json'}")
    raise typer.Exit(0 if report.ok else 1)


def show(report: Report) -> None:
    faults = Table("fault", "target", "down (s)", "events in flight", "ready again after (s)", title="faults")
    for f in report.faults:
        faults.add_row(f.kind, f.target, f"{f.down_seconds:.1f}", str(f.in_flight), f"{f.ready_after:.1f}")
    console.print(faults)
    checks = Table("invariant", "", "detail", title="reconciliation")
    for check in report.checks:
        checks.add_row(check.name, "[green]yes[/]" if check.ok else "[red]NO[/]", check.detail)
    console.print(checks)
    figures = Table(show_header=False, title="figures")
    for name, value in report.figures().items():
        figures.add_row(name, str(value))
    console.print(figures)
