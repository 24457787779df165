"""`rcm kpis`: the revenue-cycle KPIs of a period, asked of A/R's HTTP API (GET /v1/kpis), as a
table or as JSON. A/R owns its database; the command line only reads what A/R answers."""

import json
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table


def fetch_kpis(
    base_url: str, api_key: str, params: dict[str, str], timeout: float = 30, token: str = ""
) -> dict[str, Any]:
    """A/R's KPI report; a clear message (typer.Exit) when A/R cannot be reached or refuses."""
    headers = {"Authorization": f"Bearer {token}"} if token else {"X-API-Key": api_key}
    try:
        response = httpx.get(f"{base_url.rstrip('/')}/v1/kpis", params=params, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        typer.echo(f"A/R at {base_url} does not answer ({type(exc).__name__}); set --ar-url or RCM_AR_URL", err=True)
        raise typer.Exit(1) from exc
    if response.status_code in (401, 403):
        reason = response.json().get("detail", "") if response.headers.get("content-type") == "application/json" else ""
        typer.echo(f"A/R refused the call ({response.status_code} {reason}); set --token or RCM_TOKEN", err=True)
        raise typer.Exit(1)
    if response.status_code != 200:
        typer.echo(f"A/R answered {response.status_code}: {response.text[:500]}", err=True)
        raise typer.Exit(1)
    report: dict[str, Any] = response.json()
    return report


def kpis(
    start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day (default: end - 89 days)")
    ] = None,
    end: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (default: as of)")] = None,
    as_of: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Age balances as of this day")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    ar_url: Annotated[str, typer.Option(envvar="RCM_AR_URL", help="A/R's base URL")] = "http://127.0.0.1:8105",
    token: Annotated[
        str, typer.Option(envvar="RCM_TOKEN", help="A bearer token (supervisor, auditor or analytics_reader)")
    ] = "",
    api_key: Annotated[
        str, typer.Option(envvar="RCM_API_KEY", help="The API key, where the services accept it", show_default=False)
    ] = "",
) -> None:
    """A/R KPIs over a period, from A/R's API (GET /v1/kpis at RCM_AR_URL, as RCM_TOKEN or RCM_API_KEY)."""
    params = {name: day.date().isoformat() for name, day in (("start", start), ("end", end)) if day}
    if as_of:
        params["as_of"] = as_of.isoformat()
    result = fetch_kpis(ar_url, api_key, params, token=token)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    period = result["period"]
    table = Table(title=f"A/R KPIs {period['start']} .. {period['end']} ({period['claims']} claims)")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for name, value in result.items():
        if name != "period":
            table.add_row(name.replace("_", " "), json.dumps(value) if isinstance(value, dict) else str(value))
    Console().print(table)
