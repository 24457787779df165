"""Coding's HTTP API: outcomes and counts, the coder work queue (list, view with suggestions and
edit findings, accept or amend), the coding history, and the loaded code sets. The coder is the
caller's token (subject and display name), never a name in the body; who may call each route is
PERMISSIONS, and every read and change of an encounter is in the audit trail (shared/audit.py)."""

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from services.coding import db
from services.coding.catalog import CatalogHolder
from services.coding.domain.decision import review
from services.coding.domain.lookup import search_icd
from services.coding.domain.validation import amended_findings
from services.coding.handlers import Deps, audit_entry, publish_coded
from shared.api import Cursor, Day, Offset, ServiceDep, SessionDep
from shared.audit import Action, Trail, TrailDep
from shared.auth import Principal
from shared.contracts.events import CodedServiceLine, EncounterDocumentedV1, IcdCode, Modifier, normalize_icd
from shared.security import ADMIN, ANALYTICS_READER, BILLER, CODER, OVERSIGHT, STAFF, permissions

router = APIRouter(prefix="/v1")
PERMISSIONS = permissions({
    "GET /v1/encounters/{encounter_id}": OVERSIGHT | {CODER, BILLER},
    "GET /v1/encounters/{encounter_id}/audit": OVERSIGHT | {CODER},
    "GET /v1/stats": OVERSIGHT | {CODER, ANALYTICS_READER},
    "GET /v1/work-queue": OVERSIGHT | {CODER},
    "GET /v1/work-queue/{encounter_id}": OVERSIGHT | {CODER},
    "POST /v1/work-queue/{encounter_id}/accept": {CODER},
    "POST /v1/work-queue/{encounter_id}/amend": {CODER},
    "GET /v1/code-sets": STAFF,
    "GET /v1/code-sets/icd10cm": STAFF,
    "POST /v1/code-sets/reload": {ADMIN},
})  # fmt: skip


class Accept(BaseModel):
    """The coder is who signed in: a body naming one (`coder`) is refused, as any unknown field is."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=1000)


class AmendedLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    procedure_code: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=5, max_length=5)]
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    units: int = Field(default=1, ge=1, le=999)
    diagnosis_pointers: list[int] = Field(min_length=1, max_length=4)


class Amend(Accept):
    diagnoses: list[IcdCode] = Field(min_length=1, max_length=12)
    service_lines: list[AmendedLine] = Field(min_length=1, max_length=50)


def catalog_holder(service: ServiceDep) -> CatalogHolder:
    deps: Deps = service.deps
    return deps.catalog


CatalogDep = Annotated[CatalogHolder, Depends(catalog_holder)]


@router.get("/encounters/{encounter_id}")
async def get_outcome(encounter_id: str, session: SessionDep, trail: TrailDep) -> dict:
    outcome = await db.outcome(session, encounter_id)
    if outcome is None:
        raise HTTPException(404, "no such encounter")
    await trail.read(session, "Encounter", encounter_id, outcome.patient_id)
    return outcome.model_dump(mode="json", exclude={"documented"})


@router.get("/encounters/{encounter_id}/audit")
async def get_audit(encounter_id: str, session: SessionDep, trail: TrailDep) -> list[dict]:
    """The encounter's coding history: who coded it, when, and what the codes became."""
    history = await db.audit_trail(session, encounter_id)
    outcome = await db.outcome(session, encounter_id)
    if not history or outcome is None:
        raise HTTPException(404, "no such encounter")
    await trail.read(session, "Encounter", encounter_id, outcome.patient_id)
    return [entry.model_dump(mode="json", exclude={"id"}) for entry in history]


@router.get("/stats")
async def stats(session: SessionDep) -> dict[str, int]:
    return await db.counts_by_status(session)


@router.get("/work-queue")
async def list_queue(
    session: SessionDep,
    trail: TrailDep,
    limit: int = Query(50, ge=1, le=500),
    offset: Offset = 0,
    cursor: Cursor = None,
) -> dict:
    """Oldest first; `next` is the cursor of the following page (null on the last). `total` counts the
    queue exactly up to 10,000 encounters; beyond, it is 10,000 and `total_at_least` is true."""
    items = await db.queued(session, limit + 1, offset, _queue_position(cursor) if cursor else None)
    total, more_counted = await db.count_queued(session)
    page = items[:limit]
    await trail.search(session, "Encounter", [(item.encounter_id, item.patient_id) for item in page])
    return {
        "total": total,
        "total_at_least": more_counted,
        "items": [
            {
                "encounter_id": item.encounter_id,
                "patient_id": str(item.patient_id),
                "date_of_service": item.documented["date_of_service"],
                "reasons": sorted({f["code"] for f in item.findings}),
                "queued_at": item.decided_at.isoformat(),
            }
            for item in page
        ],
        "next": f"{page[-1].decided_at.isoformat()}|{page[-1].encounter_id}" if len(items) > limit else None,
    }


def _queue_position(cursor: str) -> tuple[datetime, str]:
    moment, _, encounter_id = cursor.partition("|")
    try:
        return datetime.fromisoformat(moment), encounter_id
    except ValueError:
        raise HTTPException(422, [{"loc": ["query", "cursor"], "msg": "not a cursor this queue gave out",
                                   "type": "value_error"}]) from None  # fmt: skip


@router.get("/work-queue/{encounter_id}")
async def view_item(encounter_id: str, session: SessionDep, trail: TrailDep) -> dict:
    item = await db.outcome(session, encounter_id)
    if item is None or item.proposal is None:
        raise HTTPException(404, "no such work item")
    await trail.read(session, "Encounter", encounter_id, item.patient_id)
    return {"encounter_id": item.encounter_id, "status": item.status, "documented": item.documented, **item.proposal}


async def _locked_item(session: AsyncSession, encounter_id: str) -> db.CodingOutcome:
    item = await db.outcome_for_update(session, encounter_id)
    if item is None:
        raise HTTPException(404, "no such work item")
    if item.status != "queued":
        raise HTTPException(409, f"the encounter is {item.status}, not in the work queue")
    return item


@router.post("/work-queue/{encounter_id}/accept")
async def accept(encounter_id: str, session: SessionDep, trail: TrailDep, body: Accept | None = None) -> dict:
    """Bill the proposal as it stands (the coder has read the findings)."""
    body = body or Accept()
    async with session.begin():
        item = await _locked_item(session, encounter_id)
        diagnoses = item.proposal["diagnoses"]
        lines = [CodedServiceLine.model_validate(line) for line in item.proposal["service_lines"]]
        if not diagnoses or not lines:
            raise HTTPException(422, "the proposal has no diagnosis or no service line: amend it instead")
        await _finish(session, trail, item, diagnoses, lines, "accepted", body.note)
    return {"encounter_id": encounter_id, "status": "coded", **_coder(trail.principal)}


@router.post("/work-queue/{encounter_id}/amend")
async def amend(encounter_id: str, body: Amend, session: SessionDep, catalog: CatalogDep, trail: TrailDep) -> dict:
    """Bill the coder's codes. Codes that do not exist on the date of service are refused (422);
    judgement edits still found are returned for the record: the coder has decided."""
    current = catalog.current
    async with session.begin():
        item = await _locked_item(session, encounter_id)
        day = date.fromisoformat(item.documented["date_of_service"])
        diagnoses = [normalize_icd(code) for code in body.diagnoses]
        lines = [CodedServiceLine(line_number=n, **line.model_dump()) for n, line in enumerate(body.service_lines, 1)]
        errors = amended_findings(diagnoses, lines, day, current.codes)
        if errors:
            raise HTTPException(422, [f.model_dump() for f in errors])
        patient = await db.patient_facts(session, item.patient_id)
        remaining = review(diagnoses, lines, day, current.codes, current.tables, patient)
        await _finish(session, trail, item, diagnoses, lines, "amended", body.note)
    return {
        "encounter_id": encounter_id,
        "status": "coded",
        **_coder(trail.principal),
        "remaining_findings": [f.model_dump() for f in remaining],
    }


async def _finish(
    session: AsyncSession,
    trail: Trail,
    item: db.CodingOutcome,
    diagnoses: list[str],
    lines: list[CodedServiceLine],
    action: str,
    note: str | None,
) -> None:
    now, coder = datetime.now(UTC), trail.principal
    item.status, item.coded_by, item.coded_by_name, item.decided_at = "coded", coder.subject, coder.display_name, now
    await db.add_audit(
        session,
        [audit_entry(item.encounter_id, coder.subject, action, diagnoses, lines, now, note, coder.display_name)],
    )
    encounter = EncounterDocumentedV1.model_validate(item.documented)
    publish_coded(session, encounter, item.correlation_id, diagnoses, lines, coder.subject, now, coder.display_name)
    await trail.change(session, Action.UPDATE, action, "Encounter", item.encounter_id, item.patient_id)


def _coder(principal: Principal) -> dict[str, str]:
    return {"coded_by": principal.subject, "coded_by_name": principal.display_name}


@router.get("/code-sets")
async def code_sets(catalog: CatalogDep) -> dict:
    return catalog.current.describe()


@router.get("/code-sets/icd10cm")
async def icd10cm(
    catalog: CatalogDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="The start of a code, or words.")],
    on: Annotated[Day | None, Query(description="Codes billable on this date of service (default: today).")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> dict:
    """The code picker: ICD-10-CM codes billable on the date, by code prefix or by words."""
    current = catalog.current
    release = current.codes.icd_on(on or date.today())
    found = search_icd(release, current.indexes.diagnoses, q, limit)
    return {"release": release.name, "codes": [{"code": f.code, "description": f.description} for f in found]}


@router.post("/code-sets/reload")
async def reload_code_sets(catalog: CatalogDep) -> dict:
    """Reload the configured files (a new quarter's HCPCS, NCCI or MUE table, a new ICD release)
    without stopping: encounters are coded with the old sets until the new ones are ready."""
    try:
        fresh = await catalog.reload()
    except (OSError, ValueError) as exc:
        raise HTTPException(422, f"the code sets could not be loaded ({type(exc).__name__}); the previous ones stay")
    return fresh.describe()
