"""Registering a patient inside the caller's transaction: match, insert or update, stage the event.
Used by the HTTP API and by FHIR intake (over HTTP and from the intake topic) alike."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from services.registration import db
from services.registration.domain.fhir import Intake
from services.registration.domain.patients import FieldError, Registration, changes, identity_keys, problems
from services.registration.domain.payers import PayerDirectory
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import PatientRegisteredV1
from shared.envelope import Event

SOURCE = "/openrcm/registration"


class RegistrationInvalid(Exception):
    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class Registered:
    patient_id: UUID
    version: int
    created: bool
    changed: bool
    matched_by: str | None  # "mrn", "member" or None for a new patient


async def register_patient(
    session: AsyncSession, registration: Registration, payers: PayerDirectory, correlation_id: str
) -> Registered:
    errors = problems(registration, payers.ids())
    if errors:
        raise RegistrationInvalid(errors)
    keys = identity_keys(registration)
    await db.lock_keys(session, keys)
    content = registration.content()
    found = await db.find_patient(session, keys)
    if found is None:
        patient_id, version, changed_parts, matched_by = uuid4(), 1, [], None
        await db.insert_patient(session, patient_id, registration.facility, registration.mrn, content)
    else:
        patient_id, matched_by = found
        version, changed_parts = await _update(session, patient_id, content)
    await db.add_identifiers(session, patient_id, list(keys))
    if found is None or changed_parts:
        event = PatientRegisteredV1(
            patient_id=patient_id,
            version=version,
            mrn=registration.mrn,
            facility=registration.facility,
            patient=registration.patient,
            coverages=registration.coverages,
            registered_at=datetime.now(UTC),
            changes=changed_parts,
        )
        outbox.stage(session, topics.PATIENT_REGISTERED, Event(event, str(patient_id), SOURCE, correlation_id))
    return Registered(patient_id, version, found is None, found is None or bool(changed_parts), matched_by)


async def _update(
    session: AsyncSession, patient_id: UUID, content: dict[str, Any]
) -> tuple[int, list[Literal["patient", "coverages"]]]:
    """A known patient: a new version when the registration changes what we hold."""
    existing = await db.patient_for_update(session, patient_id)
    changed_parts = changes(existing.content, content)
    if not changed_parts:
        return existing.version, []
    await db.update_content(session, patient_id, content, existing.version + 1)
    return existing.version + 1, changed_parts


@dataclass(frozen=True)
class Accepted:
    registered: Registered
    encounter_id: str | None
    encounter_forwarded: bool  # False when this encounter was already passed on

    def answer(self) -> dict:
        r = self.registered
        return {
            "patient_id": str(r.patient_id),
            "version": r.version,
            "changed": r.changed,
            "matched_by": r.matched_by,
            "encounter_id": self.encounter_id,
            "encounter_forwarded": self.encounter_forwarded,
        }


async def accept_intake(session: AsyncSession, intake: Intake, payers: PayerDirectory, correlation_id: str) -> Accepted:
    """Register the bundle's patient and pass its encounter on as encounter.documented, in the
    caller's transaction: the encounter leaves with the patient id registration resolved."""
    registered = await register_patient(session, intake.registration, payers, correlation_id)
    documented = intake.documented(registered.patient_id)
    if documented is None:
        return Accepted(registered, None, False)
    new = await db.mark_forwarded(session, documented.encounter_id, registered.patient_id)
    # A later version (a correction or a void) always goes on: coding keeps the versions in order.
    forward = new or documented.action != "original"
    if forward:
        outbox.stage(
            session, topics.ENCOUNTER_DOCUMENTED, Event(documented, documented.encounter_id, SOURCE, correlation_id)
        )
    return Accepted(registered, documented.encounter_id, forward)
