"""Who may call which route: each service's permission table, `"METHOD /path" -> roles`, checked on
every `/v1` call once the caller is known (shared/auth.py). Deny by default: a route without a rule
answers 403 to everyone, and tests/unit/shared/test_permissions.py fails for it.

    PERMISSIONS = permissions({
        "GET /v1/patients/{patient_id}": READERS | {FRONT_DESK},
        "POST /v1/fhir/Bundle": {ENCOUNTER_INTAKE},
    })

The README's route x role table is generated from these tables (`./rcm routes --write`, rcmctl/routes.py)."""

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from fastapi import HTTPException, Request

from shared.auth import ROLES, Principal, PrincipalDep

FRONT_DESK, CODER, BILLER, AR_SPECIALIST, SUPERVISOR, AUDITOR, ADMIN, ENCOUNTER_INTAKE, ANALYTICS_READER = ROLES
# The auditor reads everything (read-only); a supervisor sees what the people they supervise see.
OVERSIGHT = frozenset({SUPERVISOR, AUDITOR})
STAFF = frozenset({FRONT_DESK, CODER, BILLER, AR_SPECIALIST, SUPERVISOR, AUDITOR, ADMIN})  # the office's people

Permissions = Mapping[str, frozenset[str]]


def permissions(rules: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """The table, checked: each key is `METHOD /path` as the route declares it, each role one of ROLES."""
    table = {}
    for route, roles in rules.items():
        method, _, path = route.partition(" ")
        if method not in {"GET", "POST", "PUT", "PATCH", "DELETE"} or not path.startswith("/"):
            raise ValueError(f"{route!r} is not 'METHOD /path'")
        allowed = frozenset(roles)
        unknown = allowed - set(ROLES)
        if not allowed or unknown:
            raise ValueError(f"{route}: unknown roles {sorted(unknown)}" if unknown else f"{route}: no role")
        table[route] = allowed
    return table


def route_key(request: Request) -> str:
    """`METHOD /path` of the route that matched, as the permission tables name it."""
    route = request.scope.get("route")
    return f"{request.method} {getattr(route, 'path', request.url.path)}"


def forbidden(reason: str) -> HTTPException:
    challenge = f'Bearer realm="openrcm", error="insufficient_scope", error_description="{reason}"'
    return HTTPException(403, reason, headers={"WWW-Authenticate": challenge})


Refusal = Callable[[Request, Principal, str], Awaitable[None]]


def authorize(table: Permissions, on_refused: Refusal | None = None) -> Callable[..., Any]:
    """A router dependency: the caller (401 without a valid token) holding a role the route's rule names (403).
    `on_refused` hears of each 403 before it is answered (the audit trail records the attempt)."""

    async def dependency(request: Request, principal: PrincipalDep) -> Principal:
        allowed = table.get(route_key(request))
        reason = None
        if allowed is None:
            reason = "no permission rule for this route"
        elif not principal.has_any(allowed):
            reason = f"requires one of: {', '.join(sorted(allowed))}"
        if reason is None:
            return principal
        if on_refused is not None:
            await on_refused(request, principal, reason)
        raise forbidden(reason)

    return dependency
