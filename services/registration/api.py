"""Registration's HTTP API. The same person registered twice (same facility + MRN, or same name +
date of birth + member id), even by racing requests, resolves to one patient id; a changed
registration becomes a new version and a new patient.registered event. Who may call each route is
PERMISSIONS; every read and change of a patient's data is in the audit trail (shared/audit.py)."""

import base64
import json
from datetime import date
from typing import Annotated, Literal
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from services.registration import db
from services.registration.domain.fhir import IntakeInvalid, read_bundle
from services.registration.domain.patients import FieldError, Identifier, Registration
from services.registration.domain.payers import PayerDirectory
from services.registration.eligibility import CannotCheck, request_check
from services.registration.handlers import Deps
from services.registration.registry import Registered, RegistrationInvalid, accept_intake, register_patient
from services.registration.settings import RegistrationSettings
from shared.api import ServiceDep, SessionDep, SettingsDep, get_settings
from shared.audit import Action, Trail, TrailDep
from shared.security import AR_SPECIALIST, BILLER, ENCOUNTER_INTAKE, FRONT_DESK, OVERSIGHT, STAFF, permissions

# The front desk registers and checks coverage; billing and A/R read it; an EHR sends FHIR Bundles.
PATIENT_READERS = OVERSIGHT | {FRONT_DESK, BILLER, AR_SPECIALIST}
PERMISSIONS = permissions({
    "POST /v1/patients": {FRONT_DESK, ENCOUNTER_INTAKE},
    "GET /v1/patients/{patient_id}": PATIENT_READERS,
    "POST /v1/patients/search": PATIENT_READERS,
    "POST /v1/fhir/Bundle": {ENCOUNTER_INTAKE},
    "POST /v1/patients/{patient_id}/eligibility": {FRONT_DESK, BILLER, AR_SPECIALIST},
    "GET /v1/eligibility/{check_id}": PATIENT_READERS,
    "GET /v1/payers": STAFF,
    "GET /v1/payers/{payer_id}": STAFF,
})  # fmt: skip


def registered_answer(result: Registered, response: Response) -> dict:
    response.status_code = 201 if result.created else 200
    return {
        "patient_id": str(result.patient_id),
        "version": result.version,
        "changed": result.changed,
        "matched_by": result.matched_by,
    }


class BoundedBodyRoute(APIRoute):
    """Refuses a body over RCM_MAX_BODY_BYTES (413) before anything reads or parses it."""

    def get_route_handler(self):
        handle = super().get_route_handler()

        async def bounded(request: Request) -> Response:
            limit = RegistrationSettings.of(get_settings(request)).max_body_bytes
            too_large = JSONResponse({"detail": f"the body must be at most {limit} bytes"}, status_code=413)
            length = request.headers.get("content-length")
            if length is not None:
                if not length.isdigit() or int(length) > limit:
                    return too_large
            elif request.method in ("POST", "PUT", "PATCH"):
                body = bytearray()
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > limit:
                        return too_large
                request._body = bytes(body)  # what Request.body() returns from now on
            return await handle(request)

        return bounded


router = APIRouter(prefix="/v1", route_class=BoundedBodyRoute)


def payer_directory(service: ServiceDep) -> PayerDirectory:
    deps: Deps = service.deps
    return deps.payers


def registration_settings(settings: SettingsDep) -> RegistrationSettings:
    return RegistrationSettings.of(settings)


def correlation_id(request: Request) -> str:
    return (request.headers.get("x-correlation-id") or str(uuid4()))[:64]


PayersDep = Annotated[PayerDirectory, Depends(payer_directory)]
CorrelationDep = Annotated[str, Depends(correlation_id)]


class EligibilityAsk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rank: Literal["primary", "secondary", "tertiary"] = "primary"
    service_date: date | None = None


@router.post("/patients", status_code=201)
async def register(
    registration: Registration,
    response: Response,
    session: SessionDep,
    payers: PayersDep,
    correlation: CorrelationDep,
    trail: TrailDep,
) -> dict:
    try:
        async with session.begin():
            result = await register_patient(session, registration, payers, correlation)
            await _record_registration(session, trail, result)
    except RegistrationInvalid as invalid:
        raise HTTPException(422, [e.as_fastapi() for e in invalid.errors]) from None
    return registered_answer(result, response)


async def _record_registration(session: AsyncSession, trail: Trail, result: Registered) -> None:
    action, subtype = (Action.CREATE, "create") if result.created else (Action.UPDATE, "update")
    await trail.change(session, action, subtype, "Patient", result.patient_id, result.patient_id)


NamePart = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]


class PatientSearch(BaseModel):
    """Who to find (a POST: names and birth dates never travel in a URL, nor land in access logs)."""

    model_config = ConfigDict(extra="forbid")
    last_name: NamePart | None = Field(default=None, description="The start of the last name, any case.")
    first_name: NamePart | None = Field(default=None, description="The start of the first name, any case.")
    birth_date: date | None = None
    mrn: Identifier | None = Field(default=None, description="A medical record number at any facility.")
    cursor: str | None = Field(default=None, max_length=400, description="`next` of the previous page.")
    limit: int = Field(default=25, ge=1, le=100)

    @model_validator(mode="after")
    def _names_someone(self) -> "PatientSearch":
        if not (self.last_name or self.first_name or self.birth_date or self.mrn):
            raise ValueError("name a last name, first name, birth date or MRN")
        return self


@router.post("/patients/search")
async def search_patients(search: PatientSearch, session: SessionDep, trail: TrailDep) -> dict:
    """Patients by name (prefixes), birth date and MRN, by last name, first name; `next` pages on."""
    after = _search_position(search.cursor) if search.cursor else None
    found = await db.search_patients(
        session, last_name=search.last_name, first_name=search.first_name, birth_date=search.birth_date,
        mrn=search.mrn, after=after, limit=search.limit + 1,
    )  # fmt: skip
    page = found[: search.limit]
    await trail.search(session, "Patient", [(p.patient_id, p.patient_id) for p in page])
    last = page[-1].content["patient"] if page else {}
    position = (
        [last.get("last_name", "").lower(), last.get("first_name", "").lower(), str(page[-1].patient_id)]
        if page
        else []
    )
    return {
        "patients": [_found(p) for p in page],
        "next": base64.urlsafe_b64encode(json.dumps(position).encode()).decode() if len(found) > search.limit else None,
    }


def _found(patient: db.Patient) -> dict:
    person = patient.content["patient"]
    return {
        "patient_id": str(patient.patient_id),
        "facility": patient.facility,
        "mrn": patient.mrn,
        **{key: person.get(key) for key in ("first_name", "last_name", "birth_date", "sex")},
        "coverages": [
            {key: c.get(key) for key in ("rank", "payer_id", "payer_name", "member_id")}
            for c in patient.content.get("coverages", [])
        ],
    }


def _search_position(cursor: str) -> db.SearchPosition:
    try:
        last, first, patient_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(last), str(first), UUID(patient_id)
    except (ValueError, TypeError):
        raise HTTPException(422, [{"loc": ["body", "cursor"], "msg": "not a cursor this search gave out",
                                   "type": "value_error"}]) from None  # fmt: skip


@router.get("/payers")
async def list_payers(payers: PayersDep) -> list[dict]:
    return [payer.model_dump(mode="json") for payer in payers.all()]


@router.get("/payers/{payer_id}")
async def get_payer(payer_id: str, payers: PayersDep) -> dict:
    payer = payers.get(payer_id)
    if payer is None:
        raise HTTPException(404, "no such payer")
    return payer.model_dump(mode="json")


@router.post("/fhir/Bundle", status_code=201)
async def fhir_bundle(
    request: Request,
    response: Response,
    session: SessionDep,
    payers: PayersDep,
    correlation: CorrelationDep,
    trail: TrailDep,
) -> dict:
    """A FHIR R4 Bundle (Patient, Coverages, optionally an Encounter with its Practitioner,
    Conditions and Procedures). Refusals are FHIR OperationOutcomes naming each element."""
    try:
        document = json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return outcome(400, [FieldError((), "the body is not JSON", "invalid")])
    try:
        intake = read_bundle(document)
        async with session.begin():
            accepted = await accept_intake(session, intake, payers, correlation)
            await _record_registration(session, trail, accepted.registered)
            if accepted.encounter_forwarded:
                patient = accepted.registered.patient_id
                await trail.change(session, Action.CREATE, "create", "Encounter", accepted.encounter_id, patient)
    except (IntakeInvalid, RegistrationInvalid) as invalid:
        return outcome(422, invalid.errors)
    response.status_code = 201 if accepted.registered.created else 200
    return accepted.answer()


@router.post("/patients/{patient_id}/eligibility", status_code=202)
async def check_eligibility(
    patient_id: UUID,
    ask: EligibilityAsk,
    session: SessionDep,
    settings: Annotated[RegistrationSettings, Depends(registration_settings)],
    payers: PayersDep,
    correlation: CorrelationDep,
    trail: TrailDep,
) -> dict:
    """Sends a 270 for one coverage; the 271 arrives later (GET /v1/eligibility/{check_id})."""
    service_date = ask.service_date or date.today()
    try:
        async with session.begin():
            check = await request_check(session, settings, payers, patient_id, ask.rank, service_date, correlation)
            await trail.change(session, Action.EXECUTE, "eligibility", "CoverageEligibilityRequest",
                               check.check_id, patient_id)  # fmt: skip
    except CannotCheck as refused:
        raise HTTPException(refused.status, str(refused)) from None
    return {"check_id": str(check.check_id), "status": "pending"}


@router.get("/eligibility/{check_id}")
async def get_eligibility(check_id: UUID, session: SessionDep, trail: TrailDep) -> dict:
    check = await db.eligibility_check(session, check_id)
    if check is None:
        raise HTTPException(404, "no such eligibility check")
    await trail.read(session, "CoverageEligibilityResponse", check.check_id, check.patient_id)
    return {
        "check_id": str(check.check_id),
        "patient_id": str(check.patient_id),
        "status": check.status,
        "coverage_rank": check.coverage_rank,
        "payer_id": check.payer_id,
        "active": check.active,
        "result": check.result,
    }


@router.get("/patients/{patient_id}")
async def get_patient(patient_id: UUID, session: SessionDep, trail: TrailDep) -> dict:
    patient = await db.patient(session, patient_id)
    if patient is None:
        raise HTTPException(404, "no such patient")
    mrns = await db.mrns(session, patient_id)
    latest = {
        row.coverage_rank: {
            "active": row.active,
            "checked_at": row.answered_at.isoformat(),
            "check_id": str(row.check_id),
        }
        for row in await db.answered_checks(session, patient_id)
    }
    await trail.read(session, "Patient", patient_id, patient_id)
    return {
        "patient_id": str(patient.patient_id),
        "version": patient.version,
        "facility": patient.facility,
        "mrn": patient.mrn,
        "mrns": [dict(zip(("facility", "mrn"), v.split("|", 1))) for v in mrns],
        **patient.content,
        "eligibility": latest,
    }


def outcome(status: int, errors: list[FieldError]) -> JSONResponse:
    issues = [
        {
            "severity": "error",
            "code": "invalid" if status == 422 else "structure",
            "diagnostics": e.msg,
            "expression": [".".join(map(str, e.loc))] if e.loc else [],
        }
        for e in errors
    ]
    return JSONResponse(
        {"resourceType": "OperationOutcome", "issue": issues}, status_code=status, media_type="application/fhir+json"
    )
