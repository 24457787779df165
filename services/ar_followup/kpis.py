"""`python -m services.ar_followup.kpis --start 2026-01-01 --end 2026-03-31`: the revenue-cycle KPIs
of a period, read from A/R's database (RCM_DATABASE_URL), as a table or as JSON (--json)."""

import asyncio
import json
from datetime import date, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.ar_followup import reports
from services.ar_followup.settings import ArSettings
from shared.db import make_engine, make_sessions

app = typer.Typer(add_completion=False, help=__doc__, pretty_exceptions_enable=False)


async def _report(start: date, end: date, today: date) -> dict:
    engine = make_engine(ArSettings().database_url.get_secret_value(), pool_size=1)
    try:
        async with make_sessions(engine)() as session:
            return await reports.kpi_report(session, start, end, today)
    finally:
        await engine.dispose()


@app.command()
def kpis(
    start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day (default: end - 89 days)")
    ] = None,
    end: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (default: as of)")] = None,
    as_of: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Age balances as of this day")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    today = as_of.date() if as_of else ArSettings().today()
    last = end.date() if end else today
    first = start.date() if start else last - timedelta(days=89)
    if first > last:
        raise typer.BadParameter("--start must not be after --end")
    result = asyncio.run(_report(first, last, today))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    table = Table(title=f"A/R KPIs {first} .. {last} ({result['period']['claims']} claims)")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for name, value in result.items():
        if name != "period":
            table.add_row(name.replace("_", " "), json.dumps(value) if isinstance(value, dict) else str(value))
    Console().print(table)


if __name__ == "__main__":
    app()
