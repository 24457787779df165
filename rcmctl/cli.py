"""`rcm`: the one command of the project (./rcm installs the environment on first use)."""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer

from rcmctl import stack
from rcmctl.audit import audit
from rcmctl.chaos.cli import chaos
from rcmctl.kpis import kpis
from rcmctl.processes import ROOT
from rcmctl.routes import routes
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


def _enough_patients(value: int) -> int:
    from rcmctl.office import FEWEST_PATIENTS

    if value < FEWEST_PATIENTS:
        raise typer.BadParameter(f"the sample office's day needs at least {FEWEST_PATIENTS} patients")
    return value


@app.command()
def up(
    patients: int = typer.Option(
        40, help="Sample patients the first time (or with --fresh)", callback=_enough_patients
    ),
    encounters: int = typer.Option(200, help="Sample visits the first time (or with --fresh)"),
    port: int = typer.Option(8000, help="The console's port"),
    fresh: bool = typer.Option(False, "--fresh", help="Start the sample office over"),
) -> None:
    """Run the whole platform for people (stack, Keycloak, five services, payer simulator, console) with a
    sample office's day loaded, print the console's URL and the sample users, and stay up until Ctrl-C."""
    from rcmctl.up import run_up

    run_up(stack.run_dir_from_env(), patients, encounters, port, fresh)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(ctx: typer.Context) -> None:
    """Run the test suite (extra arguments go to pytest, e.g. `rcm test tests/unit`). The first
    test that needs Kafka and PostgreSQL starts them if they are not running; they are stopped
    when the run ends. Unit tests start nothing, and run on every core."""
    raise typer.Exit(subprocess.call([sys.executable, "-m", "pytest", *pytest_arguments(ctx.args)], cwd=ROOT))


def pytest_arguments(args: list[str]) -> list[str]:
    """Tests that need no stack are spread over the cores, a file per worker at a time (module
    fixtures such as the coding index are built once). A run that starts Kafka and PostgreSQL
    stays in one process: its session fixtures start the stack once."""
    paths = [arg.split("::")[0] for arg in args if not arg.startswith("-") and (ROOT / arg.split("::")[0]).exists()]
    stackless = ("tests/unit", "tests/conformance")
    spread = paths and all(path.startswith(stackless) for path in paths)
    workers = min(os.cpu_count() or 1, 4)
    if not spread or workers < 2 or any(arg.startswith(("-n", "--numprocesses")) for arg in args):
        return args
    # Hypothesis and Schemathesis serve the API fuzz tests only (tests/integration): loading their
    # plugins costs each worker 2 s.
    plugins = ["-p", "no:hypothesispytest", "-p", "no:schemathesis"]
    return ["-n", str(workers), "--dist", "loadfile", *plugins, *args]


bench_app = typer.Typer(help="Benchmarks (not tests): the whole pipeline, or one stage's work alone.")
app.add_typer(bench_app, name="bench")
STAGE_BENCH: dict[str, Any] = {
    "context_settings": {"allow_extra_args": True, "ignore_unknown_options": True},
    "add_help_option": False,
}


@bench_app.callback(invoke_without_command=True)
def bench(
    ctx: typer.Context,
    encounters: int = typer.Option(5000, help="Encounters published in one burst"),
    patients: int = typer.Option(500, help="Patients they belong to"),
    replicas: list[str] = typer.Option([], help="SERVICE=N: N processes of a service (repeatable)"),
    trickle_rate: float = typer.Option(50, help="Encounters/s of the steady trickle (0: none)"),
    trickle_seconds: float = typer.Option(20, help="How long the trickle lasts"),
    idle_seconds: float = typer.Option(10, help="Idle CPU measured this long before the burst"),
    relay: bool = typer.Option(True, help="Also run the pure-Kafka relay of the same records"),
    env: list[str] = typer.Option([], help="NAME=VALUE for every service, e.g. RCM_GROUP_ENCOUNTERS=false"),
    label: str = typer.Option("run", help="Names the result: docs/bench/<date>-<label>.json"),
    note: str = typer.Option("", help="Said with the result (e.g. what else ran on the machine)"),
    partitions: int = typer.Option(
        3, min=1, help="Partitions of every topic (N replicas share them evenly when N divides it)"
    ),
    cpu_limit: list[str] = typer.Option(
        [], help="SERVICE=CORES: each process of the service capped at CORES of CPU (a cgroup; root)"
    ),
    keep: bool = typer.Option(False, help="Keep the run's databases and topics (python -m rcmctl.bench.hops)"),
) -> None:
    """The whole platform's cost and speed, every process counted, against a pure-Kafka relay of the
    same records; `rcm bench compare|readme` for results, `rcm bench claims|coding|payments --help`
    for one stage."""
    if ctx.invoked_subcommand is None:
        from rcmctl.bench import quota
        from rcmctl.bench.pipeline import Options, parse_pairs, parse_replicas, run_bench
        from rcmctl.processes import SERVICES

        try:
            options = Options(
                encounters, patients, parse_replicas(replicas), trickle_rate, trickle_seconds, idle_seconds,
                relay, parse_pairs(env, "--env"), label, note, cpu_limits=quota.parse_limits(cpu_limit, SERVICES),
                partitions=partitions, keep=keep,
            )  # fmt: skip
        except ValueError as err:
            raise typer.BadParameter(str(err)) from None
        run_bench(options, stack.run_dir_from_env())


@bench_app.command("compare")
def bench_compare(first: Path, second: Path) -> None:
    """Two results side by side (docs/bench/*.json)."""
    from rich.console import Console
    from rich.table import Table

    from rcmctl.bench import results

    table = Table("measure", first.name, second.name, "change")
    for row in results.compare(results.load(first), results.load(second)):
        table.add_row(*row)
    Console().print(table)


@bench_app.command("readme")
def bench_readme(
    result: Path = typer.Argument(None, help="A result in docs/bench; default: the one the README names"),
) -> None:
    """Rewrite the README's performance table from a result."""
    from rcmctl.bench import results

    text = results.README.read_text()
    if result is not None:
        text = results.point_readme_at(text, result.resolve().relative_to(ROOT).as_posix())
    results.README.write_text(results.update_readme(text))


@bench_app.command("claims", **STAGE_BENCH)
def bench_claims(ctx: typer.Context) -> None:
    """Claims built, scrubbed and written as 837P per second (no broker, no database)."""
    from rcmctl.bench.claims import main as run

    run(ctx.args)


@bench_app.command("coding", **STAGE_BENCH)
def bench_coding(ctx: typer.Context) -> None:
    """Encounters coded per second by the coding domain (no broker, no database)."""
    from rcmctl.bench.coding import main as run

    run(ctx.args)


@bench_app.command("payments", **STAGE_BENCH)
def bench_payments(ctx: typer.Context) -> None:
    """835 claim payments posted per second (domain; with --database-url also in PostgreSQL)."""
    from rcmctl.bench.payments import main as run

    run(ctx.args)


@bench_app.command("console", **STAGE_BENCH)
def bench_console(ctx: typer.Context) -> None:
    """The console's page render times (queues, a claim's timeline, the dashboard) at 100,000 claims."""
    from rcmctl.bench.console import main as run

    run(ctx.args)


dlq_app = typer.Typer(
    help="Dead letters: what failed and why; replay once fixed. Kafka settings and the "
    "deployment's topic prefix come from RCM_KAFKA_* and RCM_TOPIC_PREFIX."
)
app.add_typer(dlq_app, name="dlq")
TopicArgument = typer.Argument(..., help="The source topic, e.g. claim.submitted")


@dlq_app.command("list")
def dlq_list(topic: str = TopicArgument) -> None:
    """Count a topic's dead letters by consumer and reason."""
    from rich.console import Console
    from rich.table import Table

    from rcmctl.dlq import reasons
    from shared.settings import ServiceSettings

    table = Table("letters", "consumer", "reason", title=f"{topic}.dlt")
    for (consumer, reason), count in asyncio.run(reasons(ServiceSettings(), topic)).most_common():
        table.add_row(str(count), consumer, reason)
    Console().print(table)


@dlq_app.command("replay")
def dlq_replay(
    topic: str = TopicArgument,
    consumer: str = typer.Option(None, help="Only the letters of this consumer, e.g. payments.claim.submitted"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count; publish and commit nothing"),
) -> None:
    """Put a topic's dead letters back on it (once the cause is fixed)."""
    from rcmctl.dlq import replay
    from shared.settings import ServiceSettings

    counts = asyncio.run(replay(ServiceSettings(), topic, consumer, dry_run))
    typer.echo(" ".join(f"{k}={v}" for k, v in counts.items()))


app.command("kpis")(kpis)
app.command("chaos")(chaos)
app.command("routes")(routes)
app.command("audit")(audit)


@app.command()
def token(
    who: str = typer.Argument(..., help="A sample user (anna.ar) or, with --client, a machine client (rcm-ehr)"),
    client: bool = typer.Option(False, "--client", help="A machine's token by client credentials"),
) -> None:
    """Print an access token of the local Keycloak's realm: a sample user's (password grant by the test
    client) or a machine client's (client credentials). For curl and scripts: -H "Authorization: Bearer …"."""
    from rcmctl.stack import keycloak

    try:
        typer.echo(keycloak.access_token(stack.run_dir_from_env(), who, machine=client))
    except (ValueError, RuntimeError) as err:
        typer.echo(f"rcm token: {err}", err=True)
        raise typer.Exit(1) from None


@app.command(context_settings={"allow_extra_args": True})
def check(ctx: typer.Context) -> None:
    """Lint (ruff check), formatting (ruff format --check) and types (mypy: strict on shared/, x12/
    and every service's domain/). Exits non-zero on any finding. Paths, if given, narrow the ruff
    steps; mypy always checks what pyproject.toml names."""
    paths = ctx.args or ["."]
    steps = {
        "ruff check": [sys.executable, "-m", "ruff", "check", *paths],
        "ruff format --check": [sys.executable, "-m", "ruff", "format", "--check", *paths],
        "mypy": [sys.executable, "-m", "mypy"],
    }
    failed = [name for name, command in steps.items() if subprocess.call(command, cwd=ROOT) != 0]
    if failed:
        typer.echo(f"rcm check: findings from {', '.join(failed)}", err=True)
        raise typer.Exit(1)
    typer.echo("rcm check: clean")


@app.command("export-schemas")
def export_schemas() -> None:
    """Write every event's JSON Schema into shared/contracts/schemas."""
    from shared.contracts.export import main as export

    export()


def main() -> None:
    # The services a command starts run in sessions of their own (a Ctrl-C in the terminal reaches
    # the command, which stops them in order). SIGTERM would end the command without its `finally`
    # and leave them running, idle but polling the broker: it unwinds like Ctrl-C instead.
    signal.signal(signal.SIGTERM, _interrupted)
    app()


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")
