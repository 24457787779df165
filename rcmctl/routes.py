"""`rcm routes`: every service's `/v1` routes and the roles that may call each, from the permission
tables the services enforce (each service's api.py PERMISSIONS, and the kernel's GET /v1/audit).
`rcm routes --write` puts the table in README.md between its markers; a test fails when it drifts."""

from pathlib import Path

import typer

# services and shared.auth (FastAPI) are imported where a table is made: every `rcm` command loads this module.

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- route-roles:begin (rcm routes --write) -->", "<!-- route-roles:end -->"
HEADINGS = {
    "front_desk": "front desk", "coder": "coder", "biller": "biller", "ar_specialist": "A/R", "supervisor": "supervisor",
    "auditor": "auditor", "admin": "admin", "encounter_intake": "EHR intake", "analytics_reader": "analytics",
}  # fmt: skip


def rows() -> list[tuple[str, str, frozenset[str]]]:
    """(service, "METHOD /path", roles), in the services' order and each table's own."""
    import services

    return [
        (name, route, roles)
        for name in services.NAMES
        for route, roles in services.declaration(name).permissions.items()
    ]


def table() -> str:
    from shared.auth import ROLES

    lines = [
        "| service | route | " + " | ".join(HEADINGS[role] for role in ROLES) + " |",
        "|---|---|" + "|".join(":-:" for _ in ROLES) + "|",
    ]
    for service, route, roles in rows():
        marks = " | ".join("✓" if role in roles else "" for role in ROLES)
        lines.append(f"| {service} | `{route}` | {marks} |")
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str) -> str:
    before, found, rest = readme.partition(BEGIN)
    _, found_end, after = rest.partition(END)
    if not (found and found_end):
        raise ValueError(f"README.md has no {BEGIN} … {END} section")
    return f"{before}{BEGIN}\n{table()}{END}{after}"


def routes(write: bool = typer.Option(False, "--write", help="Update the table in README.md")) -> None:
    """Who may call which route (the services' permission tables); --write updates README.md."""
    if write:
        README.write_text(readme_with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
        typer.echo(f"wrote the route x role table ({len(rows())} routes) to {README}")
    else:
        typer.echo(table(), nl=False)
