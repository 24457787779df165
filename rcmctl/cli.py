"""`rcm`: the one command of the project (./rcm installs the environment on first use)."""

import asyncio
import os
import subprocess
import sys


import typer

from rcmctl import stack
from rcmctl.processes import ROOT
from rcmctl.stack.cli import stack_app

app = typer.Typer(help="OpenRCM: the revenue cycle on Kafka and PostgreSQL.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")


@app.command()
def demo(
    patients: int = typer.Option(40, help="Sample patients to register"),
    encounters: int = typer.Option(300, help="Encounters the sample EHR publishes"),
    timeout: float = typer.Option(300, help="Seconds to wait for every encounter to finish"),
) -> None:
    """Run the whole revenue cycle on sample data and print the balanced summary."""
    from rcmctl.demo import run_demo

    ok = run_demo(patients, encounters, timeout, stack.run_dir_from_env())
    raise typer.Exit(0 if ok else 1)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context) -> None:
    """Run the test suite (extra arguments go to pytest). Starts the stack if it is not running
    and stops it afterwards."""
    run_dir = stack.run_dir_from_env()
    started = stack.read_info(run_dir) is None
    info = stack.up(run_dir)
    env = {**os.environ, "RCM_KAFKA_BOOTSTRAP": info.kafka_bootstrap,
           "RCM_DATABASE_URL_TEMPLATE": info.database_url_template}
    try:
        code = subprocess.call([sys.executable, "-m", "pytest", *ctx.args], cwd=ROOT, env=env)
    finally:
        if started:
            stack.down(run_dir)
    raise typer.Exit(code)


@app.command()
def bench(
    encounters: int = typer.Option(5000, help="Encounters to push through the pipeline"),
    patients: int = typer.Option(500, help="Patients they belong to"),
) -> None:
    """Throughput and latency of the whole pipeline (a benchmark, not a test)."""
    from rcmctl.bench import run_bench

    run_bench(encounters, patients, stack.run_dir_from_env())


dlq_app = typer.Typer(help="Dead letters: what failed and why; replay once fixed.")
app.add_typer(dlq_app, name="dlq")


def _bootstrap() -> str:
    info = stack.read_info(stack.run_dir_from_env())
    return os.environ.get("RCM_KAFKA_BOOTSTRAP") or (info.kafka_bootstrap if info else "127.0.0.1:19092")


@dlq_app.command("list")
def dlq_list(topic: str = typer.Argument(..., help="Source topic with its deployment prefix, e.g. encounter.documented")) -> None:
    """Count the dead letters of a topic by reason."""
    from rich.console import Console
    from rich.table import Table

    from rcmctl.dlq import list_dead_letters

    reasons = asyncio.run(list_dead_letters(_bootstrap(), topic))
    table = Table("dead letters", "reason", title=f"{topic}.dlt")
    for reason, count in reasons.most_common():
        table.add_row(str(count), reason)
    Console().print(table)


@dlq_app.command("replay")
def dlq_replay(
    topic: str = typer.Argument(..., help="Source topic with its deployment prefix"),
    group: str = typer.Option("rcm-dlq-replay", help="Remembers what was replayed already"),
) -> None:
    """Put the dead letters of a topic back on it (once the cause is fixed)."""
    from rcmctl.dlq import replay

    result = asyncio.run(replay(_bootstrap(), topic, group))
    typer.echo(f"replayed {result.count} records onto {topic}")


@app.command("export-schemas")
def export_schemas() -> None:
    """Write every event's JSON Schema into shared/contracts/schemas."""
    from shared.contracts.export import main as export

    export()


def main() -> None:
    app()



