"""patient.registered -> the claims service's own patient copy; encounter.coded -> a claim, built
as soon as both the coded encounter and its patient are known (they arrive on different topics).
Each batch is handled set-wise: a few statements per batch, not per event."""

import logging

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.claims import db
from services.claims.domain.assembly import assemble, claim_id_for
from shared.contracts import topics
from shared.contracts.events import EncounterCodedV1, PatientRegisteredV1
from shared.envelope import Event
from shared.service import Service

log = logging.getLogger(__name__)


def register(service: Service, chargemaster: dict) -> None:
    async def build_claims(session: AsyncSession, waiting: list[tuple[EncounterCodedV1, str]],
                           patients: dict) -> None:
        """Claims for coded encounters whose patient is known; the rest keep waiting."""
        rows, claimed, held = [], [], []
        for coded, correlation_id in waiting:
            patient = patients.get(coded.patient_id)
            if patient is None:
                continue
            assembly = assemble(coded, patient, chargemaster)
            claim_id, claim = claim_id_for(coded.encounter_id), assembly.claim
            rows.append(dict(
                claim_id=claim_id,
                patient_control_number=claim.patient_control_number if claim else claim_id.hex[:20].upper(),
                encounter_id=coded.encounter_id,
                patient_id=coded.patient_id,
                payer_id=claim.payer.id if claim else "",
                payer_name=assembly.payer_name,
                date_of_service=coded.date_of_service,
                total_charge=claim.total_charge if claim else 0,
                status="ready" if claim else "held",
                findings=[f.model_dump() for f in assembly.findings],
                content=claim.model_dump(mode="json") if claim else None,
                correlation_id=correlation_id,
            ))
            (claimed if claim else held).append(coded.encounter_id)
            if not claim:
                log.info("claim held", extra={"claim_id": str(claim_id), "reasons": [f.code for f in assembly.findings]})
        if rows:
            await session.execute(insert(db.Claim.__table__), rows)
        for status, ids in (("claimed", claimed), ("held", held)):
            if ids:
                await session.execute(
                    update(db.CodedEncounter).where(db.CodedEncounter.encounter_id.in_(ids)).values(status=status)
                )

    @service.consumes(topics.PATIENT_REGISTERED, PatientRegisteredV1)
    async def on_patients_registered(session: AsyncSession, events: list[Event[PatientRegisteredV1]]) -> None:
        await db.lock_join(session)
        stored = {}
        for event in events:
            patient = event.data
            if await db.upsert_patient(session, patient.patient_id, patient.version, patient.model_dump(mode="json")):
                stored[patient.patient_id] = patient  # newer than what we held
        if not stored:
            return
        waiting = await session.execute(
            select(db.CodedEncounter).where(
                db.CodedEncounter.patient_id.in_(stored), db.CodedEncounter.status == "waiting"
            )
        )
        await build_claims(
            session,
            [(EncounterCodedV1.model_validate(e.content), e.correlation_id) for e in waiting.scalars()],
            stored,
        )

    @service.consumes(topics.ENCOUNTER_CODED, EncounterCodedV1)
    async def on_encounters_coded(session: AsyncSession, events: list[Event[EncounterCodedV1]]) -> None:
        await db.lock_join(session)
        table = db.CodedEncounter.__table__
        inserted = await session.execute(
            insert(table).on_conflict_do_nothing().returning(table.c.encounter_id),
            [dict(encounter_id=e.data.encounter_id, patient_id=e.data.patient_id, status="waiting",
                  content=e.data.model_dump(mode="json"), correlation_id=e.correlation_id)
             for e in {e.data.encounter_id: e for e in events}.values()],
        )
        new = set(inserted.scalars())
        if len(new) < len(events):
            log.info("encounters already received; ignored", extra={"count": len(events) - len(new)})
        fresh = list({e.data.encounter_id: (e.data, e.correlation_id) for e in events
                      if e.data.encounter_id in new}.values())
        found = await session.execute(
            select(db.ClaimPatient).where(db.ClaimPatient.patient_id.in_({coded.patient_id for coded, _ in fresh}))
        )
        patients = {p.patient_id: PatientRegisteredV1.model_validate(p.content) for p in found.scalars()}
        await build_claims(session, fresh, patients)
