"""`rcm audit`: who read or changed which patient's data, asked of every service's audit trail
(GET /v1/audit, the auditor's route) and merged by time. Each service owns its trail; the command
line only reads what they answer, page after page."""

import json
from datetime import datetime
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from rcmctl import stack
from services import NAMES

# as `rcm up` starts them (--url when its ports moved)
DEFAULT_URLS = [f"{name}=http://127.0.0.1:{8101 + n}" for n, name in enumerate(NAMES)]


def trail(url: str, token: str, params: dict[str, str], timeout: float = 30) -> list[dict[str, Any]]:
    """Every entry of one service's trail that matches, following its cursor."""
    entries: list[dict[str, Any]] = []
    cursor: str | None = None
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout) as client:
        while True:
            page = client.get("/v1/audit", params=params | ({"cursor": cursor} if cursor else {}))
            if page.status_code != 200:
                raise RuntimeError(f"{url} answered {page.status_code}: {page.text[:300]}")
            entries += page.json()["entries"]
            cursor = page.json()["next"]
            if cursor is None:
                return entries


def merged(urls: dict[str, str], token: str, params: dict[str, str]) -> list[dict[str, Any]]:
    entries = [entry for url in urls.values() for entry in trail(url, token, params)]
    return sorted(entries, key=lambda e: (e["recorded"], e["observer"], e["id"]))


def audit(
    patient: Annotated[str | None, typer.Option(help="A patient id")] = None,
    agent: Annotated[str | None, typer.Option(help="A user's subject (the token's sub)")] = None,
    since: Annotated[datetime | None, typer.Option(help="From (ISO 8601 day or moment)")] = None,
    until: Annotated[datetime | None, typer.Option(help="Until, exclusive")] = None,
    url: Annotated[list[str] | None, typer.Option(help="service=URL, once per service (default: local ports)")] = None,
    token: Annotated[str, typer.Option(envvar="RCM_TOKEN", help="An auditor's bearer token")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """The audit trail of the five services, merged by time (default token: the local audrey.auditor's)."""
    params = {k: v for k, v in {"patient_id": patient, "agent": agent}.items() if v}
    params |= {k: v.isoformat() for k, v in {"since": since, "until": until}.items() if v}
    urls = dict(item.split("=", 1) for item in (url or DEFAULT_URLS))
    try:
        token = token or _local_auditor()
        entries = merged(urls, token, params)
    except (RuntimeError, ValueError, httpx.HTTPError) as err:
        typer.echo(f"rcm audit: {err}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    columns = ("recorded", "observer", "agent_name", "agent_client", "action", "subtype", "entity_type",
               "entity_id", "patient_id", "outcome", "purpose_of_use", "source_address")  # fmt: skip
    table = Table(title=f"audit trail ({len(entries)} entries)")
    for column in columns:
        table.add_column(column.replace("_", " "))
    for entry in entries:
        table.add_row(*(str(entry[c]) if entry[c] is not None else "" for c in columns))
    Console().print(table)


def _local_auditor() -> str:
    from rcmctl.stack import keycloak

    return keycloak.access_token(stack.run_dir_from_env(), "audrey.auditor")
