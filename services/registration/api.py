"""Registration's HTTP API. The same MRN registered twice, even by two racing requests, resolves
to one patient id; a changed registration becomes a new version and a new event."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from services.registration.db import Patient
from services.registration.domain.patients import Registration
from shared import outbox
from shared.contracts import topics
from shared.contracts.events import PatientRegisteredV1
from shared.envelope import Event

router = APIRouter(prefix="/v1")
SOURCE = "/openrcm/registration"


@router.post("/patients", status_code=201)
async def register(registration: Registration, request: Request, response: Response) -> dict:
    content = registration.content()
    async with request.app.state.service.sessions() as session, session.begin():
        table = Patient.__table__
        created = (
            await session.execute(
                insert(table)
                .values(patient_id=uuid4(), mrn=registration.mrn, version=1, content=content)
                .on_conflict_do_nothing(index_elements=["mrn"])
                .returning(table.c.patient_id, table.c.version)
            )
        ).first()
        if created is None:
            existing = (
                await session.execute(select(table).where(table.c.mrn == registration.mrn).with_for_update())
            ).one()
            if existing.content == content:
                response.status_code = 200
                return {"patient_id": str(existing.patient_id), "version": existing.version, "changed": False}
            version = existing.version + 1
            await session.execute(
                update(table)
                .where(table.c.patient_id == existing.patient_id)
                .values(content=content, version=version, updated_at=datetime.now(UTC))
            )
            patient_id, response.status_code = existing.patient_id, 200
        else:
            patient_id, version = created
        event = PatientRegisteredV1(
            patient_id=patient_id,
            version=version,
            mrn=registration.mrn,
            patient=registration.patient,
            coverages=registration.coverages,
            registered_at=datetime.now(UTC),
        )
        correlation = request.headers.get("x-correlation-id") or str(uuid4())
        outbox.stage(session, topics.PATIENT_REGISTERED, Event(event, str(patient_id), SOURCE, correlation[:64]))
    return {"patient_id": str(patient_id), "version": version, "changed": True}


@router.get("/patients/{patient_id}")
async def get_patient(patient_id: UUID, request: Request) -> dict:
    async with request.app.state.service.sessions() as session:
        patient = await session.get(Patient, patient_id)
    if patient is None:
        raise HTTPException(404, "no such patient")
    return {"patient_id": str(patient.patient_id), "version": patient.version, **patient.content}
