"""Which screens each role uses, and who may call each of the console's routes. The services check
every call again with the person's token; this table only decides what the console shows and offers,
so a person never meets a screen their role cannot use."""

from collections.abc import Iterable
from dataclasses import dataclass

from shared.auth import ROLES

FRONT_DESK, CODER, BILLER, AR_SPECIALIST, SUPERVISOR, AUDITOR, ADMIN, _INTAKE, _ANALYTICS = ROLES
PEOPLE = frozenset({FRONT_DESK, CODER, BILLER, AR_SPECIALIST, SUPERVISOR, AUDITOR, ADMIN})
OVERSIGHT = frozenset({SUPERVISOR, AUDITOR})
PATIENT_FINDERS = OVERSIGHT | {FRONT_DESK, BILLER, AR_SPECIALIST}  # registration's patient readers
CLAIM_READERS = OVERSIGHT | {BILLER, AR_SPECIALIST}
ACCOUNT_READERS = OVERSIGHT | {FRONT_DESK, AR_SPECIALIST}
# Who registers patients (registration's POST /v1/patients: the front desk; the other caller is the EHR's
# machine client): the encounters waiting for theirs are their queue (home and Patients); billers and
# oversight see the same list on Claims.
REGISTRARS = frozenset({FRONT_DESK})
ROLE_NAMES = {
    FRONT_DESK: "Front desk",
    CODER: "Coder",
    BILLER: "Biller",
    AR_SPECIALIST: "A/R specialist",
    SUPERVISOR: "Supervisor",
    AUDITOR: "Auditor",
    ADMIN: "Administrator",
}


@dataclass(frozen=True)
class Screen:
    key: str
    title: str
    path: str
    roles: frozenset[str]


SCREENS = (
    Screen("home", "Home", "/", PEOPLE),
    Screen("coding", "Coder queue", "/coding", OVERSIGHT | {CODER}),
    Screen("claims", "Claims", "/claims", OVERSIGHT | {BILLER}),
    Screen("payments", "Payments", "/payments", OVERSIGHT | {BILLER, AR_SPECIALIST}),
    Screen("ar", "A/R work queue", "/ar", OVERSIGHT | {AR_SPECIALIST}),
    Screen("approvals", "Approvals", "/approvals", OVERSIGHT),
    Screen("patients", "Patients", "/patients", PATIENT_FINDERS),
    Screen("audit", "Audit", "/audit", frozenset({AUDITOR})),
)
SCREEN = {screen.key: screen for screen in SCREENS}

# "METHOD /path" of every console route (as the route declares it) -> the roles that may call it.
ROUTES: dict[str, frozenset[str]] = {
    "GET /": PEOPLE,
    "POST /search": PATIENT_FINDERS,
    "GET /coding": SCREEN["coding"].roles,
    "GET /coding/icd10": SCREEN["coding"].roles,
    "GET /coding/{encounter_id}": SCREEN["coding"].roles,
    "POST /coding/{encounter_id}/accept": frozenset({CODER}),
    "POST /coding/{encounter_id}/amend": frozenset({CODER}),
    "GET /claims": SCREEN["claims"].roles,
    "POST /claims/{claim_id}/resubmit": frozenset({BILLER}),
    "GET /claims/{claim_id}": CLAIM_READERS,
    "GET /payments": SCREEN["payments"].roles,
    "POST /payments/unmatched/{item_id}/post": frozenset({BILLER, AR_SPECIALIST}),
    "GET /ar": SCREEN["ar"].roles,
    "POST /ar/{item_id}/assign": frozenset({AR_SPECIALIST, SUPERVISOR}),
    "POST /ar/{item_id}/resolve": frozenset({AR_SPECIALIST, SUPERVISOR}),
    "POST /ar/claims/{claim_id}/write-offs": frozenset({AR_SPECIALIST, SUPERVISOR}),
    "GET /approvals": SCREEN["approvals"].roles,
    "POST /approvals/{adjustment_id}/{decision}": frozenset({SUPERVISOR}),
    "POST /approvals/refunds/{refund_id}/{decision}": frozenset({SUPERVISOR}),
    "GET /patients": PATIENT_FINDERS,
    "GET /patients/new": REGISTRARS,
    "POST /patients/new": REGISTRARS,
    "GET /patients/{patient_id}": PATIENT_FINDERS,
    "POST /patients/{patient_id}/payments": frozenset({FRONT_DESK, AR_SPECIALIST}),
    "GET /patients/{patient_id}/receipts/{payment_id}": ACCOUNT_READERS,
    "POST /patients/{patient_id}/payment-plan": frozenset({FRONT_DESK, AR_SPECIALIST, SUPERVISOR}),
    "POST /patients/{patient_id}/eligibility": frozenset({FRONT_DESK, BILLER, AR_SPECIALIST}),
    "GET /statements/{statement_id}.pdf": ACCOUNT_READERS,
    "GET /audit": SCREEN["audit"].roles,
}


def screens_for(roles: Iterable[str]) -> list[Screen]:
    """The navigation of a person with these roles, in the office's order."""
    held = frozenset(roles)
    return [screen for screen in SCREENS if held & screen.roles]


def may(roles: Iterable[str], route: str) -> bool:
    """Whether these roles may call the console route `METHOD /path` (unknown routes: nobody)."""
    return not frozenset(roles).isdisjoint(ROUTES.get(route, frozenset()))


def role_names(roles: Iterable[str]) -> list[str]:
    return [ROLE_NAMES[role] for role in ROLE_NAMES if role in set(roles)]
