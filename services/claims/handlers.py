"""patient.registered -> the claims service's own patient copy; encounter.coded -> a claim, built
as soon as both the coded encounter and its patient are known (they arrive on different topics)."""

import logging

from sqlalchemy import select
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
    async def build_claim(session: AsyncSession, coded: EncounterCodedV1, patient: PatientRegisteredV1,
                          correlation_id: str) -> None:
        assembly = assemble(coded, patient, chargemaster)
        claim_id = claim_id_for(coded.encounter_id)
        claim = assembly.claim
        session.add(
            db.Claim(
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
            )
        )
        encounter = await session.get(db.CodedEncounter, coded.encounter_id)
        encounter.status = "claimed" if claim else "held"
        if not claim:
            log.info("claim held", extra={"claim_id": str(claim_id), "reasons": [f.code for f in assembly.findings]})

    @service.consumes(topics.PATIENT_REGISTERED, PatientRegisteredV1)
    async def on_patient_registered(session: AsyncSession, event: Event[PatientRegisteredV1]) -> None:
        patient = event.data
        await db.lock_join(session)
        if not await db.upsert_patient(session, patient.patient_id, patient.version, patient.model_dump(mode="json")):
            return  # an older version than the one we hold
        waiting = await session.execute(
            select(db.CodedEncounter).where(
                db.CodedEncounter.patient_id == patient.patient_id, db.CodedEncounter.status == "waiting"
            )
        )
        for encounter in waiting.scalars().all():
            coded = EncounterCodedV1.model_validate(encounter.content)
            await build_claim(session, coded, patient, encounter.correlation_id)

    @service.consumes(topics.ENCOUNTER_CODED, EncounterCodedV1)
    async def on_encounter_coded(session: AsyncSession, event: Event[EncounterCodedV1]) -> None:
        coded = event.data
        await db.lock_join(session)
        table = db.CodedEncounter.__table__
        inserted = await session.execute(
            insert(table)
            .values(encounter_id=coded.encounter_id, patient_id=coded.patient_id, status="waiting",
                    content=coded.model_dump(mode="json"), correlation_id=event.correlation_id)
            .on_conflict_do_nothing()
            .returning(table.c.encounter_id)
        )
        if inserted.first() is None:
            log.info("encounter already received; ignored", extra={"encounter_id": coded.encounter_id})
            return
        stored = await session.get(db.ClaimPatient, coded.patient_id)
        if stored is not None:
            await build_claim(session, coded, PatientRegisteredV1.model_validate(stored.content), event.correlation_id)

