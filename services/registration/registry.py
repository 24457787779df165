"""Registering a patient inside the caller's transaction: match, insert or update, stage the event.
Used by the HTTP API and by FHIR intake (over HTTP and from the intake topic) alike."""

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.registration import db
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


async def register_patient(session: AsyncSession, registration: Registration, payers: PayerDirectory,
                           correlation_id: str) -> Registered:
    errors = problems(registration, payers.ids())
    if errors:
        raise RegistrationInvalid(errors)
    keys = identity_keys(registration)
    await db.lock_keys(session, keys)
    content = registration.content()
    found = await db.find_patient(session, keys)
    table = db.Patient.__table__
    if found is None:
        patient_id, version, changed_parts, matched_by = uuid4(), 1, [], None
        await session.execute(insert(table).values(patient_id=patient_id, facility=registration.facility,
                                                   mrn=registration.mrn, version=1, content=content))
    else:
        patient_id, matched_by = found
        existing = (await session.execute(select(table).where(table.c.patient_id == patient_id).with_for_update())).one()
        changed_parts = changes(existing.content, content)
        version = existing.version + (1 if changed_parts else 0)
        if changed_parts:
            await session.execute(update(table).where(table.c.patient_id == patient_id)
                                  .values(content=content, version=version, updated_at=datetime.now(UTC)))
    identifiers = db.PatientIdentifier.__table__
    await session.execute(insert(identifiers).values([{"kind": kind, "value": value, "patient_id": patient_id}
                                                      for kind, value in keys]).on_conflict_do_nothing())
    if found is None or changed_parts:
        event = PatientRegisteredV1(
            patient_id=patient_id, version=version, mrn=registration.mrn, facility=registration.facility,
            patient=registration.patient, coverages=registration.coverages, registered_at=datetime.now(UTC),
            changes=changed_parts,
        )
        outbox.stage(session, topics.PATIENT_REGISTERED, Event(event, str(patient_id), SOURCE, correlation_id))
    return Registered(patient_id, version, found is None, found is None or bool(changed_parts), matched_by)
